"""Dispute cases through the API: opened, noted, changed with If-Match, moved, resolved by
credit note, by re-bill and by rejection, listed in pages and reported.

The invoice of most tests (worked out by hand from tests/fixtures_book.py):
line 1: 2 x WIDGET 25.00 + 19 % = 29.75; line 2: 1 x BOOK 9.99 + 7 % (0.6993 -> 0.70) = 10.69;
total 40.44 EUR. One widget: 12.50 + 19 % (2.375 -> 2.38) = 14.88 EUR."""

from __future__ import annotations

from datetime import date

from fixtures_book import invoice, open_of, row_counts, verify_clean

from .conftest import ENTITY

BASE = f"/v1/entities/{ENTITY}"


def _actors(desk, action: str) -> list[str]:
    """Who the audit trail names for each event `action`, oldest first."""
    with desk.book.uow(read_only=True) as uow:
        return [e.actor for e in uow.audit.events() if e.action == action]


def _invoice(desk):
    return invoice(desk.book, "C1", date(2025, 11, 3), ("WIDGET", "2"), ("BOOK", "1"))


def _open(client, number, **fields):
    body = {"invoice": number, "reason": "price"} | fields
    reply = client.post(f"{BASE}/disputes", json=body)
    assert reply.status_code == 201, reply.text
    return reply


def test_a_dispute_opened_noted_changed_and_resolved_by_credit_note(desk):
    inv = _invoice(desk)
    clerk, specialist = desk.client("clerk"), desk.client("specialist")
    opened = _open(
        clerk,
        inv.number,
        line=1,
        amount="14.88",
        owner="anna",
        due_on="2026-01-15",
        note="one widget arrived broken",
    )
    case = opened.json()
    assert opened.headers["location"] == f"{BASE}/disputes/DSP-000001"
    assert {k: case[k] for k in ("case", "invoice", "line", "charge_code", "customer")} == {
        "case": "DSP-000001",
        "invoice": inv.number,
        "line": 1,
        "charge_code": "WIDGET",
        "customer": "C1",
    }
    assert (case["amount"], case["status"], case["owner"], case["opened_by"]) == (
        "14.88",
        "open",
        "anna",
        "clerk",
    )
    assert (case["due_on"], case["overdue"], case["open"]) == ("2026-01-15", False, "40.44")
    assert [e["kind"] for e in case["timeline"]] == ["opened", "note"]
    url = opened.headers["location"]

    noted = clerk.post(f"{url}/notes", json={"text": "customer sent photos"})
    assert noted.status_code == 201 and noted.json() == {"case": "DSP-000001", "entries": 3}
    attached = clerk.post(
        f"{url}/attachments",
        json={"reference": "https://dms.example/claims/77", "label": "photos of the widget"},
    )
    assert attached.json()["entries"] == 4

    tag = clerk.get(url).headers["etag"]
    no_tag = clerk.patch(url, json={"owner": "ben"})
    assert no_tag.status_code == 428 and no_tag.json()["field"] == "If-Match"
    changed = clerk.patch(
        url, json={"owner": "ben", "due_on": "2026-01-20"}, headers={"If-Match": tag}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["owner"], changed.json()["due_on"]) == ("ben", "2026-01-20")
    assert changed.headers["etag"] != tag
    stale = clerk.patch(url, json={"owner": "carl"}, headers={"If-Match": tag})
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    assert clerk.get(url).json()["owner"] == "ben"
    fresh = {"If-Match": changed.headers["etag"]}
    too_much = clerk.patch(url, json={"amount": "29.76"}, headers=fresh)  # line 1 is 29.75
    assert too_much.status_code == 422 and too_much.json()["field"] == "amount"
    nothing = clerk.patch(url, json={}, headers=fresh)
    assert nothing.status_code == 422
    assert clerk.get(url, headers={"If-None-Match": fresh["If-Match"]}).status_code == 304

    assert clerk.post(f"{url}/status", json={"status": "waiting_on_customer"}).status_code == 403
    moved = specialist.post(f"{url}/status", json={"status": "waiting_on_customer"})
    assert moved.status_code == 200 and moved.json()["status"] == "waiting_on_customer"
    wrong = specialist.post(f"{url}/status", json={"status": "resolved"})
    assert wrong.status_code == 422 and wrong.json()["field"] == "status"

    assert clerk.post(f"{url}/credit-note", json={}).status_code == 403
    resolved = specialist.post(
        f"{url}/credit-note",
        json={"lines": [{"line": 1, "quantity": "1"}], "note": "one widget credited"},
    )
    assert resolved.status_code == 201, resolved.text
    done = resolved.json()
    assert (done["status"], done["resolution"], done["invoice"]) == (
        "resolved",
        "credit_note",
        inv.number,
    )
    assert (done["credit_note_total"], done["adjusted"]) == ("14.88", "14.88")
    assert resolved.headers["location"] == f"{BASE}/invoices/{done['credit_note']}"
    note = specialist.get(resolved.headers["location"]).json()
    assert (note["kind"], note["total"]) == ("credit_note", "14.88")
    assert open_of(desk.book, inv.number) == 2556  # 40.44 - 14.88
    shown = clerk.get(url).json()
    assert shown["resolution_detail"]["credit_note"] == done["credit_note"]
    assert (shown["status"], shown["closed_on"]) == ("resolved", "2026-01-01")
    assert _actors(desk, "dispute.opened") == ["clerk"]
    assert _actors(desk, "dispute.updated") == ["clerk", "specialist"]  # owner/due, status
    assert _actors(desk, "dispute.resolved") == ["specialist"]
    closed = clerk.post(f"{url}/notes", json={"text": "one more thing"})
    assert closed.status_code == 409 and closed.json()["field"] == "status"
    verify_clean(desk.book)


def test_opening_refusals_name_the_field_and_a_replay_opens_one_case(desk):
    inv = _invoice(desk)
    clerk = desk.client("clerk")
    url = f"{BASE}/disputes"
    body = {"invoice": inv.number, "reason": "price", "amount": "40.45"}
    assert clerk.post(url, json=body).json()["field"] == "amount"  # 40.44 is open
    assert clerk.post(url, json=body | {"reason": "mood"}).json()["field"] == "reason"
    assert clerk.post(url, json=body | {"amount": 40}).json()["field"] == "amount"
    assert clerk.post(url, json=body | {"line": 3}).json()["field"] == "line"
    missing = clerk.post(url, json=body | {"invoice": "INV-1999-000001"})
    assert missing.status_code == 404
    assert row_counts(desk.book)["dispute_cases"] == 0
    key = {"Idempotency-Key": "case-1"}
    first = clerk.post(url, json=body | {"amount": "10.00"}, headers=key)
    again = clerk.post(url, json=body | {"amount": "10.00"}, headers=key)
    assert first.status_code == 201 and again.content == first.content
    assert row_counts(desk.book)["dispute_cases"] == 1
    # The rest can still be disputed, not more: 40.44 - 10.00 = 30.44.
    beyond = clerk.post(url, json=body | {"amount": "30.45"})
    assert beyond.status_code == 422 and beyond.json()["field"] == "amount"
    assert clerk.post(url, json=body | {"amount": "30.44"}).status_code == 201
    assert clerk.get(f"{url}/DSP-000009").status_code == 404


def test_a_rebill_and_a_rejection(desk):
    b = invoice(desk.book, "C1", date(2025, 12, 1), ("BOOK", "1"))  # 10.69
    c = invoice(desk.book, "C1", date(2025, 12, 2), ("WIDGET", "1"))  # 14.88
    clerk, specialist = desk.client("clerk"), desk.client("specialist")
    first = _open(clerk, b.number, reason="price").json()["case"]
    second = _open(clerk, c.number, reason="quantity").json()["case"]
    rebill = specialist.post(
        f"{BASE}/disputes/{first}/rebill",
        json={"lines": [{"charge_code": "BOOK", "quantity": "1", "unit_price": "8.99"}]},
    )
    assert rebill.status_code == 201, rebill.text
    done = rebill.json()
    # Corrected: 8.99 + 7 % (0.6293 -> 0.63) = 9.62; taken off the debt: 10.69 - 9.62 = 1.07.
    assert (done["credit_note_total"], done["rebill_total"], done["adjusted"]) == (
        "10.69",
        "9.62",
        "1.07",
    )
    assert rebill.headers["location"] == f"{BASE}/invoices/{done['rebill_invoice']}"
    as_number = specialist.post(
        f"{BASE}/disputes/{second}/rebill",
        json={"lines": [{"charge_code": "BOOK", "unit_price": 8.99}]},
    )
    assert as_number.status_code == 422 and as_number.json()["field"] == "lines[0].unit_price"
    empty = specialist.post(f"{BASE}/disputes/{second}/rebill", json={"lines": []})
    assert empty.status_code == 422 and empty.json()["field"] == "lines"
    # C1 has no e-mail address: the explanation must go another way, and say so.
    reason = "the delivery note signed by your warehouse shows one widget"
    url = f"{BASE}/disputes/{second}/rejection"
    no_mail = specialist.post(url, json={"explanation": reason})
    assert no_mail.status_code == 422 and no_mail.json()["field"] == "email"
    short = specialist.post(url, json={"explanation": "no", "send_mail": False})
    assert short.status_code == 422 and short.json()["field"] == "explanation"
    rejected = specialist.post(url, json={"explanation": reason, "send_mail": False})
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["adjusted"]) == ("rejected", "0.00")
    assert "not e-mailed" in rejected.json()["mail"]
    assert open_of(desk.book, c.number) == 1488  # a rejection leaves the invoice payable
    verify_clean(desk.book)


def test_cases_come_in_pages_with_filters_and_the_report_counts_them(desk):
    inv = _invoice(desk)
    b = invoice(desk.book, "C3", date(2025, 12, 1), ("BOOK", "1"))
    clerk, specialist = desk.client("clerk"), desk.client("specialist")
    _open(clerk, inv.number, line=1, amount="5.00", reason="price")
    _open(clerk, inv.number, line=2, amount="1.00", reason="quantity")
    _open(clerk, b.number, amount="2.00", reason="price")
    specialist.post(
        f"{BASE}/disputes/DSP-000002/rejection",
        json={"explanation": "counted twice in the warehouse", "send_mail": False},
    )

    def cases(**params):
        reply = clerk.get(f"{BASE}/disputes", params=params)
        assert reply.status_code == 200, reply.text
        return [c["case"] for c in reply.json()["data"]]

    assert cases() == ["DSP-000001", "DSP-000003"]  # active by default
    assert cases(status="all") == ["DSP-000001", "DSP-000002", "DSP-000003"]
    assert cases(status="closed") == ["DSP-000002"]
    assert cases(status="all", reason="price") == ["DSP-000001", "DSP-000003"]
    assert cases(status="all", customer="C3") == ["DSP-000003"]
    assert cases(status="all", invoice=inv.number) == ["DSP-000001", "DSP-000002"]
    assert cases(status="all", opened_from="2026-01-02") == []
    page = clerk.get(f"{BASE}/disputes", params={"status": "all", "limit": 2}).json()
    assert [c["case"] for c in page["data"]] == ["DSP-000001", "DSP-000002"]
    rest = clerk.get(
        f"{BASE}/disputes", params={"status": "all", "cursor": page["next_cursor"]}
    ).json()
    assert [c["case"] for c in rest["data"]] == ["DSP-000003"] and rest["next_cursor"] is None
    bad = clerk.get(f"{BASE}/disputes", params={"status": "sleeping"})
    assert bad.status_code == 422 and bad.json()["field"] == "status"
    assert clerk.get(f"{BASE}/disputes", params={"reason": "mood"}).json()["field"] == "reason"

    report = clerk.get(f"{BASE}/disputes/report").json()
    total = report["total"]
    assert (total["cases"], total["active"], total["resolved"], total["rejected"]) == (3, 2, 0, 1)
    assert total["disputed"] == [{"currency": "EUR", "amount": "8.00"}]  # 5.00 + 1.00 + 2.00
    assert {g["key"]: g["cases"] for g in report["by_reason"]} == {"price": 2, "quantity": 1}
    later = clerk.get(f"{BASE}/disputes/report", params={"date_from": "2026-01-02"}).json()
    assert later["total"]["cases"] == 0
    reversed_dates = clerk.get(
        f"{BASE}/disputes/report", params={"date_from": "2026-01-02", "date_to": "2026-01-01"}
    )
    assert reversed_dates.status_code == 422 and reversed_dates.json()["field"] == "date_from"
