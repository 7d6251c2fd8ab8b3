"""Bank lines, the review queue and its decisions, matching runs, settings and accounts by API:
success paths with figures from tests/api/bank_month.py, and the refusals (404, 409, 422
naming the field) that change nothing."""

from __future__ import annotations

import pytest
from fixtures_book import ENTITY, row_counts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .bank_month import BANK, BASE, add_account, lines_by_amount, march, upload
from .conftest import OTHER

SESSION = {"login_attempts", "user_sessions"}
# Statuses right after the import (bank_month.py): the reference payment and the charges are
# posted, the 29.75 and the 150.00 wait for review.
AFTER_IMPORT = {"119.00": "matched", "29.75": "review", "150.00": "review", "-12.50": "matched"}


@pytest.fixture
def imported(desk):
    month = march(desk.book)
    api = desk.client("specialist")
    add_account(api)
    assert upload(api, month.camt).status_code == 201
    return month


@pytest.fixture
def auditor(desk, imported):
    return desk.client("auditor")


def _unchanged(desk, before):
    after = row_counts(desk.book)
    return {k for k in before if before[k] != after[k]} <= SESSION | {"audit_events", "chain_heads"}


def test_lines_filter_by_status_account_statement_and_dates(desk, imported):
    api = desk.client("clerk")  # reading needs no more than `read`
    assert {k: v["status"] for k, v in lines_by_amount(api).items()} == AFTER_IMPORT

    def amounts(**params):
        reply = api.get(f"{BANK}/lines", params=params)
        assert reply.status_code == 200, reply.text
        return [x["amount"] for x in reply.json()["data"]]

    assert amounts(status="review") == ["29.75", "150.00"]
    assert amounts(status="matched") == ["119.00", "-12.50"]
    assert amounts(account="Main EUR", date_from="2026-03-10", date_to="2026-03-20") == [
        "29.75",
        "150.00",
    ]
    assert amounts(account="DE89 3704 0044 0532 0130 00", status="new") == []
    assert amounts(statement=1) == ["119.00", "29.75", "150.00", "-12.50"]
    refused = {
        "status": ("sleeping", 422, "status"),
        "account": ("Savings", 404, "account"),
        "statement": ("99", 404, "statement"),
    }
    for name, (value, status, field) in refused.items():
        reply = api.get(f"{BANK}/lines", params={name: value})
        assert (reply.status_code, reply.json()["field"]) == (status, field), name
    reply = api.get(f"{BANK}/lines", params={"date_from": "2026-03-31", "date_to": "2026-03-01"})
    assert reply.status_code == 422 and reply.json()["field"] == "date_from"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(limit=st.integers(1, 5), status=st.sampled_from(["", "new", "review", "matched"]))
def test_pages_of_lines_hold_every_line_once_in_import_order(auditor, limit, status):
    api = auditor
    seen, cursor = [], None
    for _ in range(10):  # 4 lines: at most 4 pages and an empty one
        params = {"limit": limit, "status": status} | ({"cursor": cursor} if cursor else {})
        page = api.get(f"{BANK}/lines", params=params).json()
        assert len(page["data"]) <= limit
        seen += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    expected = [a for a, s in AFTER_IMPORT.items() if status in ("", s)]  # dict: file order
    assert [x["amount"] for x in seen] == expected
    assert [x["id"] for x in seen] == sorted(x["id"] for x in seen)


def test_statements_and_a_line_whole(desk, imported):
    api = desk.client("auditor")
    [stmt] = api.get(f"{BANK}/statements").json()["data"]
    assert (stmt["account"], stmt["format"], stmt["reference"]) == (
        "Main EUR",
        "camt.053",
        "STMT-2026-03",
    )
    assert (stmt["opening"], stmt["closing"], stmt["entries"]) == ("1000.00", "1286.25", 4)
    assert stmt["imported_by"] == "specialist" and stmt["source_name"] == "march.xml"
    assert api.get(f"{BANK}/statements/{stmt['id']}").json() == stmt
    assert api.get(f"{BANK}/statements", params={"date_from": "2026-04-01"}).json()["data"] == []
    assert api.get(f"{BANK}/statements/999").status_code == 404
    fee = lines_by_amount(api)["-12.50"]
    whole = api.get(f"{BANK}/lines/{fee['id']}").json()
    assert whole["transaction_code"] == "ACMT/MDOP/CHRG"
    [decision] = whole["decisions"]
    assert (decision["action"], decision["automatic"], decision["rule"]) == ("other", True, "fee")
    assert decision["explanation"] == "bank charges (transaction code ACMT/MDOP/CHRG)"


def test_refused_decisions_name_the_field_and_change_nothing(desk, imported):
    api = desk.client("specialist")
    lines = lines_by_amount(api)
    matched, waiting, split_me = lines["119.00"], lines["29.75"], lines["150.00"]
    before = row_counts(desk.book)

    reply = api.post(f"{BANK}/lines/{matched['id']}/confirm", json={})
    assert reply.status_code == 409 and reply.json()["code"] == "invalid_state"
    assert "undo that first" in reply.json()["detail"]
    reply = api.post(f"{BANK}/lines/{waiting['id']}/confirm", json={"candidate": 3})
    assert reply.status_code == 404 and reply.json()["field"] == "candidate"
    reply = api.post(f"{BANK}/lines/{waiting['id']}/confirm", json={"candidate": 0})
    assert reply.status_code == 422 and reply.json()["field"] == "candidate"
    reply = api.post(f"{BANK}/lines/99999/confirm", json={})
    assert reply.status_code == 404 and reply.json()["field"] == "id"

    split = f"{BANK}/lines/{split_me['id']}/split"
    d = imported.numbers["D"]
    cases = [
        # 100.00 + 40.00 is not the line's 150.00
        (
            {
                "to": [{"invoice": d, "amount": "100.00"}],
                "credit": [{"customer": "C3", "amount": "40.00"}],
            },
            422,
            "amount",
        ),  # fmt: skip
        ({"to": [{"invoice": d, "amount": 150}]}, 422, "to[0].amount"),  # a JSON number
        ({"to": [{"invoice": "INV-1999-000001", "amount": "150.00"}]}, 404, "to"),
        ({"to": [{"invoice": d, "amount": "150.00"}]}, 422, "to"),  # D has 100.00 open
        ({"credit": [{"customer": "NOBODY", "amount": "150.00"}]}, 404, "code"),
        ({"other": [{"category": "lunch", "amount": "150.00"}]}, 422, "other[0].category"),
        ({"other": [{"category": "other", "amount": "150.00"}]}, 422, "ledger_account"),
        ({"surprise": 1}, 422, "surprise"),
    ]
    for body, status, field in cases:
        reply = api.post(split, json=body)
        assert (reply.status_code, reply.json()["field"]) == (status, field), (body, reply.text)

    other = f"{BANK}/lines/{split_me['id']}/other"
    reply = api.post(other, json={"category": "other"})
    assert reply.status_code == 422 and reply.json()["field"] == "ledger_account"
    reply = api.post(other, json={"category": "refund_returned"})
    assert reply.status_code == 422 and reply.json()["field"] == "customer"
    reply = api.post(other, json={"category": "other", "ledger_account": "1200"})
    assert reply.status_code == 422 and reply.json()["field"] == "ledger_account"

    undo = f"{BANK}/lines/{waiting['id']}/undo"
    reply = api.post(undo, json={"reason": "wrong"})
    assert reply.status_code == 409 and "it waits for review" in reply.json()["detail"]
    reply = api.post(undo, json={"reason": "   "})
    assert reply.status_code == 422 and reply.json()["field"] == "reason"
    assert _unchanged(desk, before)
    assert {k: v["status"] for k, v in lines_by_amount(api).items()} == AFTER_IMPORT


def test_a_line_is_marked_as_a_transfer_and_the_split_is_undone(desk, imported):
    api = desk.client("specialist")
    lines = lines_by_amount(api)
    d = imported.numbers["D"]
    marked = api.post(
        f"{BANK}/lines/{lines['29.75']['id']}/other",
        json={"category": "transfer", "note": "from our savings account"},
    )
    assert marked.status_code == 200, marked.text
    [entry_id] = marked.json()["posted"]["entries"]
    # Money in from another own account: Dr 1200 (bank) 29.75, Cr 1280 (in transit) 29.75.
    entries = api.get(f"{BASE}/ledger/entries", params={"account": "1280"}).json()["data"]
    assert [e["id"] for e in entries] == [entry_id]
    assert {(x["account"], x["amount"]) for x in entries[0]["lines"]} == {
        ("1200", "29.75"),
        ("1280", "-29.75"),
    }

    split = api.post(
        f"{BANK}/lines/{lines['150.00']['id']}/split",
        json={
            "to": [{"invoice": d, "amount": "100.00"}],
            "credit": [{"customer": "C3", "amount": "50.00"}],
        },
    )
    assert split.status_code == 200, split.text
    balances = {b["customer"]: b for b in api.get(f"{BASE}/ar/balances").json()["data"]}
    assert balances["C3"]["credit"] == "50.00"
    undone = api.post(
        f"{BANK}/lines/{lines['150.00']['id']}/undo", json={"reason": "payer meant C only"}
    )
    assert undone.status_code == 200, undone.text
    assert api.get(f"{BASE}/invoices/{d}").json()["open"] == "100.00"
    balances = {b["customer"]: b for b in api.get(f"{BASE}/ar/balances").json()["data"]}
    assert balances["C3"]["credit"] == "0.00"
    again = api.post(f"{BANK}/lines/{lines['150.00']['id']}/undo", json={"reason": "twice"})
    assert again.status_code == 409


def test_matching_runs_dry_and_with_a_lower_threshold(desk, imported):
    api = desk.client("specialist")
    before = row_counts(desk.book)
    dry = api.post(f"{BANK}/matching-runs", json={"dry_run": True, "threshold": 60})
    assert dry.status_code == 200, dry.text
    run = dry.json()
    # The two waiting lines are considered; at 60 the 29.75 (confidence 65) would be posted.
    assert (run["dry_run"], run["considered"], run["automatic"], run["review"]) == (
        True,
        2,
        1,
        1,
    )
    assert row_counts(desk.book)["payments"] == before["payments"]
    assert lines_by_amount(api)["29.75"]["status"] == "review"

    real = api.post(f"{BANK}/matching-runs", json={"threshold": 60, "account": "Main EUR"})
    assert real.status_code == 200 and real.json()["automatic"] == 1
    assert lines_by_amount(api)["29.75"]["status"] == "matched"
    assert api.get(f"{BASE}/invoices/{imported.numbers['C']}").json()["status"] == "paid"

    for body, status, field in (
        ({"account": "Savings"}, 404, "account"),
        ({"threshold": 49}, 422, "threshold"),
        ({"dry_run": "perhaps"}, 422, "dry_run"),
    ):
        reply = api.post(f"{BANK}/matching-runs", json=body)
        assert (reply.status_code, reply.json()["field"]) == (status, field)


def test_settings_change_only_with_the_etag_they_were_read_with(desk):
    api, other = desk.client("specialist"), desk.client("manager")
    got = api.get(f"{BANK}/settings")
    assert got.status_code == 200
    assert (got.json()["auto_threshold"], got.json()["fx_tolerance_bps"]) == (90, 150)
    assert got.json()["fees"]["EUR"][:2] == ["1.00", "1.50"]
    tag = got.headers["etag"]
    assert api.get(f"{BANK}/settings", headers={"If-None-Match": tag}).status_code == 304
    change = {"auto_threshold": 95, "fees": {"EUR": ["2.50", "1.00"]}}
    assert api.patch(f"{BANK}/settings", json=change).status_code == 428
    first = other.patch(f"{BANK}/settings", json={"auto_threshold": 97}, headers={"If-Match": tag})
    assert first.status_code == 200 and first.json()["auto_threshold"] == 97
    stale = api.patch(f"{BANK}/settings", json=change, headers={"If-Match": tag})
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    fresh = api.patch(f"{BANK}/settings", json=change, headers={"If-Match": first.headers["etag"]})
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["auto_threshold"] == 95
    assert fresh.json()["fees"]["EUR"] == ["1.00", "2.50"]  # kept in order
    assert fresh.json()["fees"]["USD"][0] == "1.00"  # a currency not named keeps its list
    bad = [
        ({"auto_threshold": 40}, "auto_threshold"),
        ({"fees": {"EUR": [2.5]}}, "fees.EUR[0]"),
        ({"fees": {"EUR": ["0.00"]}}, "fees"),
        ({}, ""),
    ]
    tag = fresh.headers["etag"]
    for body, field in bad:
        reply = api.patch(f"{BANK}/settings", json=body, headers={"If-Match": tag})
        assert (reply.status_code, reply.json()["field"]) == (422, field), body
    with desk.book.uow(read_only=True) as uow:
        changed = [e for e in uow.audit.events() if e.action == "bank.settings_changed"]
    assert [e.actor for e in changed] == ["manager", "specialist"]


def test_bank_accounts_registered_and_refused(desk):
    api = desk.client("specialist")
    made = add_account(api)
    assert api.get(f"{BANK}/accounts").json()["data"] == [made]
    assert api.get(f"{BANK}/accounts/{made['id']}").json() == made
    assert api.get(f"{BANK}/accounts/99").status_code == 404
    cases = [
        ({"name": "Main EUR", "currency": "EUR", "number": "123"}, "name"),
        ({"name": "Savings", "currency": "EUR", "iban": "DE00 1234"}, "iban"),
        (
            {"name": "Savings", "currency": "EUR", "number": "1", "opening_balance": "1.005"},
            "opening_balance",
        ),  # fmt: skip
        (
            {"name": "Savings", "currency": "EUR", "number": "1", "opening_balance": 5},
            "opening_balance",
        ),
        ({"name": "Savings", "currency": "EURO", "number": "1"}, "currency"),
        ({"name": "Savings", "currency": "EUR"}, "iban"),  # neither IBAN nor number
    ]
    before = row_counts(desk.book)
    for body, field in cases:
        reply = api.post(f"{BANK}/accounts", json=body)
        assert (reply.status_code, reply.json()["field"]) == (422, field), (body, reply.text)
    assert _unchanged(desk, before)


def test_another_entitys_user_cannot_reach_a_line_through_their_own_entity(desk, imported):
    line = lines_by_amount(desk.client("specialist"))["29.75"]
    other = desk.client("other")  # a specialist of OTHER
    base = f"/v1/entities/{OTHER}/bank"
    assert other.get(f"{base}/lines/{line['id']}").status_code == 404
    reply = other.post(f"{base}/lines/{line['id']}/confirm", json={})
    assert reply.status_code == 404
    assert other.get(f"{base}/lines").json()["data"] == []
    assert other.get(f"/v1/entities/{ENTITY}/bank/lines").status_code == 403
    assert lines_by_amount(desk.client("specialist"))["29.75"]["status"] == "review"


def test_reconciliation_refusals_name_the_field(desk, imported):
    api = desk.client("auditor")
    for params, status, field in (
        ({"account": "Main EUR", "period": "2026-13"}, 422, "period"),
        ({"account": "Main EUR", "period": "March"}, 422, "period"),
        ({"account": "Savings", "period": "2026-03"}, 404, "account"),
        ({"period": "2026-03"}, 422, "account"),
    ):
        reply = api.get(f"{BANK}/reconciliation", params=params)
        assert (reply.status_code, reply.json()["field"]) == (status, field), params
