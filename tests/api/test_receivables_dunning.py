"""Dunning through the API: a policy and the settings (If-Match), a run on a date with an
overdue invoice, its report and the invoice's history, a promise to pay, a hold and its
release, a customer's policy and language.

The book's clock says 2026-01-01. Invoice A: C1, 2025-11-03, 2 x WIDGET = 29.75 EUR, due
2025-12-03 (30 days net): 29 days overdue. Invoice B: C3 (terms eom+15), 2025-11-03, due
2025-12-15: 17 days overdue. Policy STD (days from the due date): 1) -3 reminder, 2) +7
reminder, 3) +21 late fee 5.00 and reminder. On 2026-01-01 A has steps 1-3 due, B steps 1-2."""

from __future__ import annotations

from datetime import date

import pytest
from fixtures_book import invoice, row_counts, verify_clean

from openbill.usecases import masterdata as m

from .conftest import ENTITY

BASE = f"/v1/entities/{ENTITY}"
D = f"{BASE}/dunning"
STD = {
    "code": "STD",
    "name": "Standard",
    "steps": [
        {"offset_days": -3, "actions": ["reminder"], "template": "friendly"},
        {"offset_days": 7, "actions": ["reminder"], "template": "first"},
        {
            "offset_days": 21,
            "actions": ["reminder", "late_fee"],
            "template": "second",
            "fee": "5.00",
        },
    ],
}


@pytest.fixture
def collections(desk, monkeypatch):
    """The desk with what dunning needs besides the policy: fee charge codes outside the scope
    of VAT, e-mail addresses, a sender."""
    book = desk.book
    monkeypatch.setenv("OPENBILL_SMTP_FROM", "ar@acme.example")
    m.add_tax_rule(
        book.uow(),
        m.AddTaxRule(ENTITY, "DE", "outside", date(2020, 1, 1), "O", "0", "Late payment", "X"),
    )
    for code, account in (("LATE-FEE", "4810"), ("LATE-INTEREST", "4820")):
        m.create_charge_code(
            book.uow(), m.CreateChargeCode(ENTITY, code, code.title(), "C62", account, "outside")
        )
    for code, email in (("C1", "ap@alpha.example"), ("C3", "ap@gamma.example")):
        m.update_customer(book.uow(), m.UpdateCustomer(ENTITY, code, (("email", email),)))
    return desk


def _actors(desk, action: str) -> list[str]:
    """Who the audit trail names for each event `action`, oldest first."""
    with desk.book.uow(read_only=True) as uow:
        return [e.actor for e in uow.audit.events() if e.action == action]


def _policy(client) -> dict:
    reply = client.post(f"{D}/policies", json=STD)
    assert reply.status_code == 201, reply.text
    return reply.json()


def _taken(report: dict) -> list[tuple]:
    return [
        (r["customer"], r["invoice"], r["step_no"], r["reason"])
        for r in report["lines"]
        if r["outcome"] == "taken"
    ]


def test_a_policy_and_the_settings_kept_by_the_catalogs_keepers(collections):
    desk = collections
    specialist = desk.client("specialist")
    assert desk.client("clerk").post(f"{D}/policies", json=STD).status_code == 403
    assert desk.client("administrator").post(f"{D}/policies", json=STD).status_code == 403
    made = specialist.post(f"{D}/policies", json=STD)
    assert made.status_code == 201, made.text
    assert made.headers["location"] == f"{D}/policies/STD"
    policy = made.json()
    assert (policy["default"], policy["currency"], policy["minimum"]) == (True, "EUR", "0.00")
    assert [(s["step_no"], s["offset_days"], s["actions"], s["fee"]) for s in policy["steps"]] == [
        (1, -3, ["reminder"], ""),
        (2, 7, ["reminder"], ""),
        (3, 21, ["late_fee", "reminder"], "5.00"),  # charges first, then the letter
    ]
    assert specialist.get(f"{D}/policies/STD").json() == policy
    assert specialist.get(f"{D}/policies").json() == {"data": [policy], "next_cursor": None}
    again = specialist.post(f"{D}/policies", json=STD)
    assert again.status_code == 409 and again.json()["field"] == "code"
    no_template = STD | {"code": "X", "steps": [{"offset_days": 1, "actions": ["reminder"]}]}
    bad = specialist.post(f"{D}/policies", json=no_template)
    assert bad.status_code == 422 and bad.json()["field"] == "template"
    unknown = STD | {"code": "Y", "steps": [{"offset_days": 1, "actions": ["shout"]}]}
    assert specialist.post(f"{D}/policies", json=unknown).json()["field"] == "steps[0].actions[0]"
    assert specialist.get(f"{D}/policies/NOPE").status_code == 404

    got = specialist.get(f"{D}/settings")
    assert got.json()["default_policy"] == "STD" and got.json()["interest_enabled"] is False
    tag = got.headers["etag"]
    change = {"interest_enabled": True, "reference_rate": "2.15", "margin": "9"}
    assert specialist.patch(f"{D}/settings", json=change).status_code == 428
    changed = specialist.patch(f"{D}/settings", json=change, headers={"If-Match": tag})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["annual_rate"], changed.json()["recovery_fee"]) == ("11.15", "40.00")
    assert changed.headers["etag"] != tag
    assert _actors(desk, "dunning.policy_created") == ["specialist"]
    # Creating the first policy made it the default (one change), then the PATCH.
    assert _actors(desk, "dunning.settings_changed") == ["specialist", "specialist"]
    stale = specialist.patch(f"{D}/settings", json={"margin": "8"}, headers={"If-Match": tag})
    assert stale.status_code == 412
    assert specialist.get(f"{D}/settings").json()["margin"] == "9"
    fresh = {"If-Match": changed.headers["etag"]}
    number = specialist.patch(f"{D}/settings", json={"margin": 8}, headers=fresh)
    assert number.status_code == 422 and number.json()["field"] == "margin"
    too_high = specialist.patch(f"{D}/settings", json={"margin": "51"}, headers=fresh)
    assert too_high.status_code == 422 and too_high.json()["field"] == "margin"


def test_a_run_on_a_date_with_an_overdue_invoice(collections):
    desk = collections
    a = invoice(desk.book, "C1", date(2025, 11, 3), ("WIDGET", "2"))
    specialist = desk.client("specialist")
    _policy(specialist)
    assert desk.client("clerk").post(f"{D}/runs", json={"as_of": "2026-01-01"}).status_code == 403
    ahead = specialist.post(f"{D}/runs", json={"as_of": "2026-01-02"})
    assert ahead.status_code == 422 and ahead.json()["field"] == "as_of"
    before = row_counts(desk.book)
    dry = specialist.post(f"{D}/runs", json={"as_of": "2026-01-01", "dry_run": True})
    assert dry.status_code == 200 and "location" not in dry.headers
    assert (dry.json()["run_id"], dry.json()["steps_taken"]) == (None, 3)
    assert row_counts(desk.book)["dunning_runs"] == before["dunning_runs"]
    assert row_counts(desk.book)["documents"] == before["documents"]

    ran = specialist.post(
        f"{D}/runs", json={"as_of": "2026-01-01"}, headers={"Idempotency-Key": "run-1"}
    )
    assert ran.status_code == 201, ran.text
    report = ran.json()
    assert ran.headers["location"] == f"{D}/runs/{report['run_id']}"
    assert _taken(report) == [
        ("C1", a.number, 1, "reminder"),
        ("C1", a.number, 2, "reminder"),
        ("C1", a.number, 3, "late_fee+reminder"),
    ]
    # One letter (the latest step's) and one fee invoice of 5.00.
    assert (report["steps_taken"], report["fee_invoices"], report["emails"]) == (3, 1, 1)
    replay = specialist.post(
        f"{D}/runs", json={"as_of": "2026-01-01"}, headers={"Idempotency-Key": "run-1"}
    )
    assert replay.content == ran.content and row_counts(desk.book)["dunning_runs"] == 1
    second = specialist.post(f"{D}/runs", json={"as_of": "2026-01-01"}).json()
    assert second["steps_taken"] == 0  # the same date again takes nothing new

    runs = specialist.get(f"{D}/runs").json()["data"]
    assert [(r["id"], r["steps_taken"], r["actor"]) for r in runs] == [
        (report["run_id"], 3, "specialist"),
        (second["run_id"], 0, "specialist"),
    ]
    assert specialist.get(f"{D}/runs/latest").json()["run_id"] == second["run_id"]
    assert specialist.get(f"{D}/runs/{report['run_id']}").json()["lines"] == report["lines"]
    assert specialist.get(f"{D}/runs/999999").status_code == 404
    history = specialist.get(f"{D}/invoices/{a.number}").json()
    assert [(s["step_no"], s["fee"]) for s in history["steps"]] == [(1, ""), (2, ""), (3, "5.00")]
    fee_number = history["steps"][2]["fee_invoice"]
    fee = specialist.get(f"{BASE}/invoices/{fee_number}").json()
    assert (fee["customer"], fee["total"]) == ("C1", "5.00")  # outside the scope of VAT
    assert specialist.get(f"{D}/invoices/INV-1999-000001").status_code == 404
    verify_clean(desk.book)


def test_a_promise_to_pay_a_hold_and_its_release(collections):
    desk = collections
    a = invoice(desk.book, "C1", date(2025, 11, 3), ("WIDGET", "2"))
    b = invoice(desk.book, "C3", date(2025, 11, 3), ("WIDGET", "2"))
    specialist = desk.client("specialist")
    _policy(specialist)

    promise = {"customer": "C1", "amount": "29.75", "pay_by": "2026-01-10", "note": "by phone"}
    assert desk.client("clerk").post(f"{D}/promises", json=promise).status_code == 403
    made = specialist.post(f"{D}/promises", json=promise)
    assert made.status_code == 201, made.text
    kept = made.json()
    assert (kept["status"], kept["amount"], kept["made_on"], kept["replaced"]) == (
        "open",
        "29.75",
        "2026-01-01",
        None,
    )
    assert made.headers["location"] == f"{D}/promises/{kept['id']}"
    assert specialist.get(made.headers["location"]).json() == kept
    past = specialist.post(f"{D}/promises", json=promise | {"pay_by": "2025-12-31"})
    assert past.status_code == 422 and past.json()["field"] == "pay_by"
    zero = specialist.post(f"{D}/promises", json=promise | {"amount": "0"})
    assert zero.status_code == 422 and zero.json()["field"] == "amount"

    hold = {"customer": "C3", "kind": "dunning", "reason": "in talks with sales about a rebate"}
    held = specialist.post(f"{D}/holds", json=hold)
    assert held.status_code == 201, held.text
    hold_id = held.json()["id"]
    assert held.headers["location"] == f"{D}/holds/{hold_id}"
    assert (held.json()["set_by"], held.json()["released_at"]) == ("specialist", "")
    twice = specialist.post(f"{D}/holds", json=hold)
    assert twice.status_code == 409 and twice.json()["field"] == "hold"
    short = specialist.post(f"{D}/holds", json=hold | {"reason": "no"})
    assert short.status_code == 422 and short.json()["field"] == "reason"

    first = specialist.post(f"{D}/runs", json={"as_of": "2026-01-01"}).json()
    skipped = [
        (r["customer"], r["invoice"], r["reason"])
        for r in first["lines"]
        if r["outcome"] == "skipped"
    ]
    assert ("C1", a.number, "promise to pay") in skipped
    assert ("C3", b.number, "manual hold") in skipped
    assert first["steps_taken"] == 0

    url = f"{D}/holds/{hold_id}/release"
    released = specialist.post(url, json={"reason": "talks ended; chase the invoice again"})
    assert released.status_code == 200, released.text
    assert released.json()["released_by"] == "specialist"
    again = specialist.post(url, json={"reason": "talks ended; chase the invoice again"})
    assert again.status_code == 409
    assert specialist.get(f"{D}/holds").json()["data"] == []
    every = specialist.get(f"{D}/holds", params={"state": "all"}).json()["data"]
    assert [(h["id"], h["customer"], h["release_reason"]) for h in every] == [
        (hold_id, "C3", "talks ended; chase the invoice again")
    ]
    assert specialist.get(f"{D}/holds", params={"state": "sleeping"}).status_code == 422

    assert _actors(desk, "dunning.promise_made") == ["specialist"]
    assert _actors(desk, "dunning.dunning_hold_set") == ["specialist"]
    assert _actors(desk, "dunning.dunning_hold_released") == ["specialist"]
    # Released: the next run takes B's two steps due; A waits for the promised date.
    second = specialist.post(f"{D}/runs", json={"as_of": "2026-01-01"}).json()
    assert _taken(second) == [("C3", b.number, 1, "reminder"), ("C3", b.number, 2, "reminder")]
    promises = specialist.get(f"{D}/promises", params={"customer": "C1"}).json()["data"]
    assert [p["id"] for p in promises] == [kept["id"]]
    verify_clean(desk.book)


def test_a_customers_policy_and_letter_language(collections):
    desk = collections
    specialist = desk.client("specialist")
    _policy(specialist)
    assert specialist.get(f"{D}/customers/C1").json() == {
        "customer": "C1",
        "policy": "STD",
        "policy_is_default": True,
        "language": "de",  # from the country
        "language_chosen": False,
    }
    put = specialist.put(f"{D}/customers/C1", json={"language": "fr"})
    assert put.status_code == 200, put.text
    assert (put.json()["language"], put.json()["language_chosen"]) == ("fr", True)
    assert desk.client("clerk").put(f"{D}/customers/C1", json={}).status_code == 403
    unknown = specialist.put(f"{D}/customers/C1", json={"policy": "NOPE"})
    assert unknown.status_code == 404 and unknown.json()["field"] == "code"
    bad = specialist.put(f"{D}/customers/C1", json={"language": "deu"})
    assert bad.status_code == 422 and bad.json()["field"] == "language"
    assert specialist.get(f"{D}/customers/NOBODY").status_code == 404
