"""Payments beyond recording, refunds, customer credit, write-offs and the tolerance through
the API: the success paths with amounts worked out by hand, the refusals by field, replays of
the POSTs that move money, and the ledger behind each.

Amounts from the test book's prices (tests/fixtures_book.py): 2 x WIDGET = 25.00 + 19 % 4.75 =
29.75 EUR; 1 x BOOK = 9.99 + 7 % 0.70 (0.6993) = 10.69 EUR. The book's clock says 2026-01-01;
invoices are on 30 days net."""

from __future__ import annotations

from datetime import date

from fixtures_book import credit_of, invoice, journal_of, open_of, row_counts, verify_clean

from .conftest import ENTITY

BASE = f"/v1/entities/{ENTITY}"
LEDGER = ("journal_entries", "journal_lines", "payments", "allocations", "refunds", "write_offs")


def _ledger(desk) -> dict[str, int]:
    counts = row_counts(desk.book)
    return {k: counts[k] for k in (*LEDGER, "payment_reversals")}


def _actors(desk, action: str) -> list[str]:
    """Who the audit trail names for each event `action`, oldest first."""
    with desk.book.uow(read_only=True) as uow:
        return [e.actor for e in uow.audit.events() if e.action == action]


def _widgets(desk, customer="C1", on=date(2025, 11, 3)):
    return invoice(desk.book, customer, on, ("WIDGET", "2"))  # 29.75 EUR


def test_a_partial_payment_a_refund_of_the_surplus_and_a_reversal(desk):
    a = _widgets(desk)
    client = desk.client("specialist")
    first = client.post(
        f"{BASE}/payments", json={"customer": "C1", "amount": "20.00", "reference": a.number}
    )
    assert first.status_code == 201, first.text
    paid = first.json()
    assert (paid["allocated"], paid["credit"], paid["invoices"], paid["how"]) == (
        "20.00",
        "0.00",
        [a.number],
        "reference",
    )
    assert first.headers["location"] == f"{BASE}/payments/{paid['id']}"
    assert open_of(desk.book, a.number) == 975  # 29.75 - 20.00

    # 50.00 pays the 9.75 left; 40.25 stays customer credit.
    second = client.post(
        f"{BASE}/payments", json={"customer": "C1", "amount": "50.00", "reference": a.number}
    ).json()
    assert (second["allocated"], second["credit"]) == ("9.75", "40.25")
    shown = client.get(f"{BASE}/payments/{second['id']}")
    assert shown.status_code == 200 and shown.headers["etag"]
    body = shown.json()
    assert (body["allocated"], body["unallocated"], body["reversed_on"]) == ("9.75", "40.25", None)
    assert body["allocations"] == [
        {
            "invoice": a.number,
            "currency": "EUR",
            "amount": "9.75",
            "allocated_on": "2026-01-01",
            "payment_amount": "9.75",
            "rate": None,
            "exchange_difference": None,
        }
    ]

    refund = client.post(
        f"{BASE}/refunds", json={"customer": "C1", "amount": "40.25", "reference": "surplus"}
    )
    assert refund.status_code == 201, refund.text
    made = refund.json()
    assert (made["amount"], made["customer"], made["refunded_on"]) == ("40.25", "C1", "2026-01-01")
    assert refund.headers["location"] == f"{BASE}/refunds/{made['id']}"
    assert client.get(refund.headers["location"]).json() == made
    # Dr 2100 customer credit / Cr 1200 bank.
    assert journal_of(desk.book, "refunds", made["id"]) == {"2100": 4025, "1200": -4025}
    assert credit_of(desk.book, "C1") == 0

    # The first payment bounces: A is open again for what it had paid.
    reversal = client.post(
        f"{BASE}/payments/{paid['id']}/reversal",
        json={"reason": "returned direct debit (AC04)"},
    )
    assert reversal.status_code == 200, reversal.text
    undone = reversal.json()
    assert undone["reopened"] == [a.number]
    assert undone["payment"]["reversed_on"] == "2026-01-01"
    assert undone["payment"]["reversal_reason"] == "returned direct debit (AC04)"
    assert open_of(desk.book, a.number) == 2000
    # Its allocation of 20.00 undone (Dr 1100 / Cr 2100) and the money gone (Dr 2100 / Cr 1200):
    # 2100 nets to zero.
    assert journal_of(desk.book, "payment_reversals", 1) == {
        "1100": 2000,
        "2100": 0,
        "1200": -2000,
    }
    # The audit trail names the user behind each API call.
    assert _actors(desk, "payment.recorded") == ["specialist", "specialist"]
    assert _actors(desk, "refund.paid") == ["specialist"]
    assert _actors(desk, "payment.reversed") == ["specialist"]
    verify_clean(desk.book)


def test_refusals_of_refunds_and_reversals_name_the_field(desk):
    _widgets(desk)
    client = desk.client("specialist")
    paid = client.post(f"{BASE}/payments", json={"customer": "C1", "amount": "40.00"}).json()
    assert paid["credit"] == "10.25"  # 40.00 - 29.75, oldest first
    before = _ledger(desk)
    too_much = client.post(f"{BASE}/refunds", json={"customer": "C1", "amount": "10.26"})
    assert too_much.status_code == 422 and too_much.json()["field"] == "amount"
    assert "10.25" in too_much.json()["detail"]
    as_number = client.post(f"{BASE}/refunds", json={"customer": "C1", "amount": 5})
    assert as_number.status_code == 422 and as_number.json()["field"] == "amount"
    nobody = client.post(f"{BASE}/refunds", json={"customer": "NOBODY", "amount": "1.00"})
    assert nobody.status_code == 404
    missing = client.post(f"{BASE}/payments/999999/reversal", json={"reason": "bounced"})
    assert missing.status_code == 404 and missing.json()["field"] == "id"
    no_reason = client.post(f"{BASE}/payments/{paid['id']}/reversal", json={"reason": ""})
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    assert _ledger(desk) == before
    assert (
        client.post(
            f"{BASE}/payments/{paid['id']}/reversal", json={"reason": "recalled"}
        ).status_code
        == 200
    )
    again = client.post(f"{BASE}/payments/{paid['id']}/reversal", json={"reason": "recalled"})
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"
    assert client.get(f"{BASE}/payments/999999").status_code == 404
    assert client.get(f"{BASE}/refunds/999999").status_code == 404


def test_a_payment_kept_as_credit_is_allocated_later_by_hand_then_oldest_first(desk):
    a = _widgets(desk, on=date(2025, 11, 3))
    b = invoice(desk.book, "C1", date(2025, 12, 1), ("BOOK", "1"))  # 10.69
    client = desk.client("specialist")
    paid = client.post(
        f"{BASE}/payments", json={"customer": "C1", "amount": "35.00", "allocate": "none"}
    ).json()
    assert (paid["allocated"], paid["credit"], paid["how"]) == ("0.00", "35.00", "none")
    url = f"{BASE}/payments/{paid['id']}/allocations"
    too_much = client.post(url, json={"to": [{"invoice": b.number, "amount": "10.70"}]})
    assert too_much.status_code == 422 and too_much.json()["field"] == "amount"
    unknown = client.post(url, json={"to": [{"invoice": "INV-1999-000009", "amount": "1.00"}]})
    assert unknown.status_code == 404
    number = client.post(url, json={"to": [{"invoice": b.number, "amount": 1}]})
    assert number.status_code == 422 and number.json()["field"] == "to[0].amount"

    by_hand = client.post(url, json={"to": [{"invoice": b.number, "amount": "10.69"}]})
    assert by_hand.status_code == 200, by_hand.text
    assert by_hand.json()["allocated"] == "10.69"
    assert by_hand.json()["payment"]["unallocated"] == "24.31"  # 35.00 - 10.69
    # The rest, oldest first: 24.31 of A's 29.75, leaving 5.44 open.
    rest = client.post(url, json={})
    assert rest.json()["allocated"] == "24.31"
    assert [x["invoice"] for x in rest.json()["payment"]["allocations"]] == [b.number, a.number]
    assert (open_of(desk.book, a.number), open_of(desk.book, b.number)) == (544, 0)
    empty = client.post(url, json={})
    assert empty.status_code == 422 and "nothing left" in empty.json()["detail"]
    assert client.post(f"{BASE}/payments/999999/allocations", json={}).status_code == 404
    verify_clean(desk.book)


def test_credit_is_applied_to_open_invoices_oldest_first(desk):
    a = _widgets(desk)
    client = desk.client("specialist")
    client.post(f"{BASE}/payments", json={"customer": "C1", "amount": "12.00", "allocate": "none"})
    applied = client.post(f"{BASE}/customers/C1/apply-credit", json={})
    assert applied.status_code == 200, applied.text
    assert applied.json() == {"customer": "C1", "currency": "EUR", "applied": "12.00"}
    assert open_of(desk.book, a.number) == 1775  # 29.75 - 12.00
    nothing = client.post(f"{BASE}/customers/C1/apply-credit", json={})
    assert nothing.json()["applied"] == "0.00"
    assert client.post(f"{BASE}/customers/NOBODY/apply-credit", json={}).status_code == 404


def test_replays_of_money_posts_return_the_first_response_and_post_nothing_twice(desk):
    a = _widgets(desk)
    client = desk.client("specialist")

    def twice(url, body, key):
        first = client.post(url, json=body, headers={"Idempotency-Key": key})
        assert first.status_code in (200, 201), first.text
        counts = _ledger(desk)
        again = client.post(url, json=body, headers={"Idempotency-Key": key})
        assert again.content == first.content and again.status_code == first.status_code
        assert again.headers["idempotent-replayed"] == "true"
        assert again.headers.get("location") == first.headers.get("location")
        assert _ledger(desk) == counts  # nothing posted the second time
        return first.json()

    paid = twice(
        f"{BASE}/payments",
        {"customer": "C1", "amount": "50.00", "allocate": "none"},
        "pay-1",
    )
    twice(
        f"{BASE}/payments/{paid['id']}/allocations",
        {"to": [{"invoice": a.number, "amount": "10.00"}]},
        "alloc-1",
    )
    twice(f"{BASE}/refunds", {"customer": "C1", "amount": "15.00"}, "refund-1")
    twice(f"{BASE}/customers/C1/apply-credit", {}, "credit-1")
    # 50.00 - 10.00 allocated - 15.00 refunded - 19.75 applied (the rest of A).
    assert credit_of(desk.book, "C1") == 525
    small = twice(
        f"{BASE}/payments", {"customer": "C1", "amount": "5.00", "allocate": "none"}, "pay-2"
    )
    twice(f"{BASE}/payments/{small['id']}/reversal", {"reason": "bounced"}, "reverse-1")
    assert row_counts(desk.book)["payment_reversals"] == 1
    assert credit_of(desk.book, "C1") == 525


def test_a_manager_writes_off_what_a_specialist_may_not(desk):
    b = invoice(desk.book, "C1", date(2025, 12, 1), ("BOOK", "1"))  # 10.69
    body = {"invoice": b.number, "reason": "goodwill: rounding dispute", "amount": "0.69"}
    refused = desk.client("specialist").post(f"{BASE}/writeoffs", json=body)
    assert refused.status_code == 403
    manager = desk.client("manager")
    made = manager.post(f"{BASE}/writeoffs", json=body, headers={"Idempotency-Key": "wo-1"})
    assert made.status_code == 201, made.text
    off = made.json()
    assert (off["invoice"], off["customer"], off["amount"], off["small_difference"]) == (
        b.number,
        "C1",
        "0.69",
        False,
    )
    assert made.headers["location"] == f"{BASE}/writeoffs/{off['id']}"
    replay = manager.post(f"{BASE}/writeoffs", json=body, headers={"Idempotency-Key": "wo-1"})
    assert replay.content == made.content and row_counts(desk.book)["write_offs"] == 1
    assert open_of(desk.book, b.number) == 1000
    # Dr 6900 bad debt / Cr 1100 receivable.
    assert journal_of(desk.book, "write_offs", off["id"]) == {"6900": 69, "1100": -69}
    assert _actors(desk, "invoice.written_off") == ["manager"]
    too_much = manager.post(f"{BASE}/writeoffs", json=body | {"amount": "10.01"})
    assert too_much.status_code == 422 and too_much.json()["field"] == "amount"
    nothing = manager.post(f"{BASE}/writeoffs", json=body | {"invoice": "INV-1999-000001"})
    assert nothing.status_code == 404 and nothing.json()["field"] == "number"
    no_reason = manager.post(f"{BASE}/writeoffs", json=body | {"reason": ""})
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    rest = manager.post(f"{BASE}/writeoffs", json={"invoice": b.number, "reason": "insolvent"})
    assert rest.json()["amount"] == "10.00"  # everything still open
    listed = manager.get(f"{BASE}/writeoffs", params={"customer": "C1", "limit": 1}).json()
    assert [w["amount"] for w in listed["data"]] == ["0.69"] and listed["next_cursor"]
    more = manager.get(f"{BASE}/writeoffs", params={"cursor": listed["next_cursor"]}).json()
    assert [w["amount"] for w in more["data"]] == ["10.00"] and more["next_cursor"] is None
    assert manager.get(f"{BASE}/writeoffs", params={"customer": "C3"}).json()["data"] == []
    assert manager.get(f"{BASE}/writeoffs/999999").status_code == 404
    verify_clean(desk.book)


def test_the_tolerance_closes_a_small_short_payment(desk):
    a = _widgets(desk)
    manager, specialist = desk.client("manager"), desk.client("specialist")
    assert specialist.put(
        f"{BASE}/payment-tolerances/EUR", json={"amount": "0.50"}
    ).status_code == (403)
    bad = manager.put(f"{BASE}/payment-tolerances/EUR", json={"amount": "0.505"})
    assert bad.status_code == 422 and bad.json()["field"] == "amount"
    bad_currency = manager.put(f"{BASE}/payment-tolerances/EURO", json={"amount": "0.50"})
    assert bad_currency.status_code == 422 and bad_currency.json()["field"] == "currency"
    put = manager.put(f"{BASE}/payment-tolerances/eur", json={"amount": "0.50"})
    assert put.json() == {"currency": "EUR", "amount": "0.50"}
    assert _actors(desk, "receivables.tolerance_set") == ["manager"]
    assert specialist.get(f"{BASE}/payment-tolerances").json() == [
        {"currency": "EUR", "amount": "0.50"}
    ]
    # 29.50 on 29.75 leaves 0.25, within 0.50: written off to 6910, A is settled.
    paid = specialist.post(
        f"{BASE}/payments", json={"customer": "C1", "amount": "29.50", "reference": a.number}
    ).json()
    assert (paid["allocated"], paid["written_off"], paid["written_off_currency"]) == (
        "29.50",
        "0.25",
        "EUR",
    )
    assert open_of(desk.book, a.number) == 0
    offs = specialist.get(f"{BASE}/writeoffs").json()["data"]
    assert [(w["amount"], w["small_difference"]) for w in offs] == [("0.25", True)]
    # keep_difference leaves the remainder open for once.
    b = _widgets(desk, on=date(2025, 11, 4))
    kept = specialist.post(
        f"{BASE}/payments",
        json={"customer": "C1", "amount": "29.50", "reference": b.number, "keep_difference": True},
    ).json()
    assert kept["written_off"] == "0.00" and open_of(desk.book, b.number) == 25


def test_a_payment_in_euro_settles_an_invoice_in_yen_at_the_rate_given(desk):
    # 1 x WIDGET in JPY: 1333 + 19 % (253.27 -> 253) = 1586 JPY.
    inv = invoice(desk.book, "CJP", date(2025, 11, 3), ("WIDGET", "1"))
    client = desk.client("specialist")
    rate = client.post(
        f"{BASE}/fx-rates", json={"date": "2025-11-03", "from": "JPY", "to": "EUR", "rate": "0.006"}
    )
    assert rate.status_code == 201, rate.text
    paid = client.post(
        f"{BASE}/payments",
        json={
            "customer": "CJP",
            "amount": "10.31",
            "currency": "EUR",
            "reference": inv.number,
            "rate": "0.0065",
        },
    )
    assert paid.status_code == 201, paid.text
    # Used: 1586 x 0.0065 = 10.309 -> 10.31 EUR. Carried: 1586 x 0.006 = 9.516 -> 9.52 EUR.
    # Realised: 10.31 - 9.52 = 0.79 EUR, a gain.
    body = paid.json()
    assert (body["allocated"], body["fx_difference"], body["base_currency"]) == (
        "10.31",
        "0.79",
        "EUR",
    )
    shown = client.get(f"{BASE}/payments/{body['id']}").json()
    assert shown["allocations"][0] | {"allocated_on": None} == {
        "invoice": inv.number,
        "currency": "JPY",
        "amount": "1586",
        "allocated_on": None,
        "payment_amount": "10.31",
        "rate": "0.0065",
        "exchange_difference": "0.79",
    }
    as_float = client.post(
        f"{BASE}/payments", json={"customer": "CJP", "amount": "1.00", "rate": 0.0065}
    )
    assert as_float.status_code == 422 and as_float.json()["field"] == "rate"
    verify_clean(desk.book)
