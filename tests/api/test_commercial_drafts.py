"""Drafts, their verification and approval through the API: start and add lines (priced from
the catalog), verify (findings in the discrepancy queue), resolve a finding once its source is
fixed, override one with a reason (a manager), approve above the threshold (not whoever
prepared it), issue (once: a replay issues nothing twice), and the verification settings with
If-Match.

Figures by hand from tests/fixtures_book.py: WIDGET 12.50 at 19 %, BOOK 9.99 at 7 %; tax is
rounded once per rate (0.6993 -> 0.70). Customer C1 has neither a postal address nor an
e-mail address: every draft of C1 gets two warnings (master_data_incomplete)."""

from __future__ import annotations

from fixtures_book import row_counts

from .conftest import ENTITY

BASE = f"/v1/entities/{ENTITY}"


def _draft(client, *lines, customer="C1", key=None):
    body = {
        "customer": customer,
        "document_date": "2026-01-05",
        "lines": [{"charge_code": c, "quantity": q} for c, q in lines],
    }
    headers = {"Idempotency-Key": key} if key else {}
    reply = client.post(f"{BASE}/drafts", json=body, headers=headers)
    assert reply.status_code == 201, reply.text
    return reply


def _findings(client, draft_id, **params):
    reply = client.get(f"{BASE}/discrepancies", params={"draft": draft_id, **params})
    assert reply.status_code == 200, reply.text
    return {d["field"]: d for d in reply.json()["data"]}


def test_a_draft_from_start_to_issue(desk):
    client = desk.client("specialist")
    before = row_counts(desk.book)
    made = _draft(client, ("WIDGET", "2"), key="draft-1")
    draft = made.json()
    draft_id = draft["id"]
    assert made.headers["location"] == f"{BASE}/drafts/{draft_id}"
    assert (draft["status"], draft["number"], draft["customer_name"]) == ("draft", "", "Alpha GmbH")
    assert (draft["net"], draft["tax"], draft["total"]) == ("25.00", "4.75", "29.75")
    assert [
        (ln["charge_code"], ln["quantity"], ln["unit"], ln["unit_price"]) for ln in draft["lines"]
    ] == [("WIDGET", "2", "C62", "12.50")]
    replay = _draft(client, ("WIDGET", "2"), key="draft-1")
    assert replay.content == made.content and replay.headers["idempotent-replayed"] == "true"
    assert row_counts(desk.book)["documents"] == before["documents"] + 1

    grown = client.post(
        f"{BASE}/drafts/{draft_id}/lines", json={"lines": [{"charge_code": "BOOK"}]}
    )
    assert grown.status_code == 200, grown.text
    # 25.00 + 9.99 = 34.99; tax 4.75 + 0.70 = 5.45; total 40.44
    assert (grown.json()["net"], grown.json()["tax"], grown.json()["total"]) == (
        "34.99",
        "5.45",
        "40.44",
    )
    bad = client.post(
        f"{BASE}/drafts/{draft_id}/lines", json={"lines": [{"charge_code": "BOOK", "quantity": 1}]}
    )
    assert bad.status_code == 422 and bad.json()["field"] == "lines[0].quantity"
    assert (
        client.post(
            f"{BASE}/drafts/999999/lines", json={"lines": [{"charge_code": "BOOK"}]}
        ).status_code
        == 404
    )
    nobody = client.post(f"{BASE}/drafts", json={"customer": "NOBODY", "lines": []})
    assert nobody.status_code == 404

    got = client.get(f"{BASE}/drafts/{draft_id}")
    tag = got.headers["etag"]
    assert (
        client.get(f"{BASE}/drafts/{draft_id}", headers={"If-None-Match": tag}).status_code == 304
    )
    checked = client.post(f"{BASE}/drafts/{draft_id}/verify")
    assert checked.status_code == 200, checked.text
    assert (checked.json()["open_blocking"], checked.json()["open_warnings"]) == (0, 2)
    assert client.get(f"{BASE}/drafts/{draft_id}").headers["etag"] != tag  # findings came
    found = _findings(client, draft_id)
    assert sorted(found) == ["address", "email"]
    assert {d["rule"] for d in found.values()} == {"master_data_incomplete"}
    assert {d["severity"] for d in found.values()} == {"warn"}

    listed = client.get(f"{BASE}/drafts").json()["data"]
    assert [(d["id"], d["status"], d["total"]) for d in listed] == [(draft_id, "draft", "40.44")]
    assert client.get(f"{BASE}/drafts", params={"customer": "C3"}).json()["data"] == []

    issued = client.post(
        f"{BASE}/drafts/{draft_id}/issue",
        json={"issue_date": "2026-01-05"},
        headers={"Idempotency-Key": "issue-1"},
    )
    assert issued.status_code == 201, issued.text
    number = issued.json()["number"]
    assert number == "INV-2026-000001"
    assert issued.headers["location"] == f"{BASE}/invoices/{number}"
    assert (issued.json()["total"], issued.json()["status"]) == ("40.44", "issued")
    assert sorted((t["rate"], t["taxable"], t["tax"]) for t in issued.json()["taxes"]) == [
        ("19", "25.00", "4.75"),
        ("7", "9.99", "0.70"),
    ]
    again = client.post(
        f"{BASE}/drafts/{draft_id}/issue",
        json={"issue_date": "2026-01-05"},
        headers={"Idempotency-Key": "issue-1"},
    )
    assert again.content == issued.content
    twice = client.post(f"{BASE}/drafts/{draft_id}/issue", json={})
    assert twice.status_code == 409 and twice.json()["field"] == "status"
    assert row_counts(desk.book)["documents"] == before["documents"] + 1
    shown = client.get(f"{BASE}/drafts/{draft_id}").json()
    assert (shown["status"], shown["number"]) == ("issued", number)
    # Issuing accepted the open warnings, in the name of who issued.
    assert {(d["status"], d["resolved_by"]) for d in shown["discrepancies"]} == {
        ("overridden", "specialist")
    }
    assert client.post(f"{BASE}/drafts/{draft_id}/verify").status_code == 409


def test_findings_resolved_once_fixed_and_overridden_by_a_manager(desk):
    specialist, manager = desk.client("specialist"), desk.client("manager")
    draft_id = _draft(specialist, ("WIDGET", "1")).json()["id"]
    specialist.post(f"{BASE}/drafts/{draft_id}/verify")
    found = _findings(specialist, draft_id, status="open")
    email, address = found["email"]["id"], found["address"]["id"]
    assert specialist.get(f"{BASE}/discrepancies/{email}").json()["message"] == (
        "has no e-mail or e-invoice address to send the invoice to"
    )
    still = specialist.post(f"{BASE}/discrepancies/{email}/resolve")
    assert still.status_code == 409 and "still found" in still.json()["detail"]

    tag = specialist.get(f"{BASE}/customers/C1").headers["etag"]
    fixed = specialist.patch(
        f"{BASE}/customers/C1", json={"email": "ap@alpha.example"}, headers={"If-Match": tag}
    )
    assert fixed.status_code == 200
    resolved = specialist.post(f"{BASE}/discrepancies/{email}/resolve")
    assert resolved.status_code == 200, resolved.text
    assert (resolved.json()["status"], resolved.json()["resolved_by"]) == ("resolved", "specialist")

    short = manager.post(f"{BASE}/discrepancies/{address}/override", json={"reason": "ok"})
    assert short.status_code == 422 and short.json()["field"] == "reason"
    assert (
        specialist.post(
            f"{BASE}/discrepancies/{address}/override", json={"reason": "billed by e-mail only"}
        ).status_code
        == 403
    )
    reason = "billed by e-mail only; no postal address needed"
    accepted = manager.post(f"{BASE}/discrepancies/{address}/override", json={"reason": reason})
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["status"], accepted.json()["resolution"]) == ("overridden", reason)
    again = manager.post(f"{BASE}/discrepancies/{address}/override", json={"reason": reason})
    assert again.status_code == 409 and again.json()["field"] == "status"
    assert _findings(specialist, draft_id, status="open") == {}
    assert specialist.get(f"{BASE}/discrepancies", params={"status": "lost"}).status_code == 422
    with desk.book.uow(read_only=True) as uow:
        events = [(e.action, e.actor) for e in uow.audit.events() if e.record_type == "discrepancy"]
    assert events == [("discrepancy.resolved", "specialist"), ("discrepancy.overridden", "manager")]


def test_approval_above_the_threshold_by_another_person(desk):
    admin, specialist, manager = (
        desk.client("administrator"),
        desk.client("specialist"),
        desk.client("manager"),
    )
    got = admin.get(f"{BASE}/verification/settings")
    assert got.json() == {
        "approval_threshold": None,
        "currency": "EUR",
        "duplicate_window_days": 30,
        "price_tolerance": "0",
        "revision": "defaults",
    }
    tag = got.headers["etag"]
    change = {"approval_threshold": "100.00"}
    untagged = admin.patch(f"{BASE}/verification/settings", json=change)
    assert untagged.status_code == 428 and untagged.json()["field"] == "If-Match"
    changed = admin.patch(f"{BASE}/verification/settings", json=change, headers={"If-Match": tag})
    assert changed.status_code == 200, changed.text
    assert changed.json()["approval_threshold"] == "100.00"
    stale = admin.patch(
        f"{BASE}/verification/settings",
        json={"duplicate_window_days": 10},
        headers={"If-Match": tag},
    )
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    fresh = changed.headers["etag"]
    window = admin.patch(
        f"{BASE}/verification/settings",
        json={"duplicate_window_days": 10},
        headers={"If-Match": fresh},
    )
    assert (window.json()["duplicate_window_days"], window.json()["approval_threshold"]) == (
        10,
        "100.00",
    )
    floated = admin.patch(
        f"{BASE}/verification/settings",
        json={"price_tolerance": 0.01},
        headers={"If-Match": window.headers["etag"]},
    )
    assert floated.status_code == 422 and floated.json()["field"] == "price_tolerance"
    assert specialist.get(f"{BASE}/verification/settings").status_code == 403

    # 10 x 12.50 = 125.00 + 23.75 = 148.75, above 100.00: a second person must approve.
    draft_id = _draft(specialist, ("WIDGET", "10")).json()["id"]
    checked = specialist.post(f"{BASE}/drafts/{draft_id}/verify").json()
    assert checked["open_blocking"] == 1
    assert _findings(specialist, draft_id)["total"]["rule"] == "approval_required"
    refused = specialist.post(f"{BASE}/drafts/{draft_id}/issue", json={})
    assert refused.status_code == 409 and refused.json()["field"] == "discrepancies"
    own = _draft(manager, ("WIDGET", "9")).json()["id"]
    selfish = manager.post(f"{BASE}/drafts/{own}/approve")
    assert selfish.status_code == 409 and selfish.json()["field"] == "approved_by"
    approved = manager.post(f"{BASE}/drafts/{draft_id}/approve")
    assert approved.status_code == 200, approved.text
    assert (approved.json()["open_blocking"], approved.json()["resolved_now"]) == (0, 1)
    shown = specialist.get(f"{BASE}/drafts/{draft_id}").json()
    assert (shown["approval"]["approved_by"], shown["approval"]["total"]) == ("manager", "148.75")
    issued = specialist.post(f"{BASE}/drafts/{draft_id}/issue", json={})
    assert issued.status_code == 201 and issued.json()["total"] == "148.75"

    cleared = admin.patch(
        f"{BASE}/verification/settings",
        json={"approval_threshold": ""},
        headers={"If-Match": window.headers["etag"]},
    )
    assert cleared.status_code == 200 and cleared.json()["approval_threshold"] is None
    with desk.book.uow(read_only=True) as uow:
        events = [(e.action, e.actor) for e in uow.audit.events()]
    assert events.count(("verification.settings_changed", "administrator")) == 3
    assert ("invoice.approved", "manager") in events
