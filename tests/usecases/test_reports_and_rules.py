"""Idempotency, aging, derived statuses, and bad input that is refused without a trace."""

from __future__ import annotations

from datetime import date

import pytest
from fixtures_book import ENTITY, invoice, row_counts, verify_clean

from openbill.domain.rejections import IdempotencyConflict, InvalidAmount, NotFound, Rejection
from openbill.usecases import invoices as inv
from openbill.usecases import payments as pay
from openbill.usecases import reports

# ---------------------------------------------------------------------------- idempotency


def test_same_key_same_request_returns_the_first_result_and_writes_nothing(book):
    first = invoice(book, "C1", date(2026, 3, 10), ("WIDGET", "2"), key="order-17")
    before = row_counts(book)
    again = invoice(book, "C1", date(2026, 3, 10), ("WIDGET", "2"), key="order-17")
    assert again == first
    assert row_counts(book) == before
    # A new key is new work: the next number.
    other = invoice(book, "C1", date(2026, 3, 10), ("WIDGET", "2"), key="order-18")
    assert other.number == "INV-2026-000002"


def test_same_key_different_request_is_a_conflict(book):
    invoice(book, "C1", date(2026, 3, 10), ("WIDGET", "2"), key="order-17")
    before = row_counts(book)
    with pytest.raises(IdempotencyConflict) as refused:
        invoice(book, "C1", date(2026, 3, 10), ("WIDGET", "3"), key="order-17")
    assert refused.value.field == "idempotency_key"
    assert row_counts(book) == before


def test_payment_replay_is_idempotent(book):
    invoice(book, "C1", date(2026, 3, 10), ("WIDGET", "2"))
    cmd = pay.RecordPayment(
        ENTITY, "C1", "10.00", received_on=date(2026, 3, 11), idempotency_key="bank-1"
    )
    first = pay.record_payment(book.uow(), cmd)
    before = row_counts(book)
    assert pay.record_payment(book.uow(), cmd) == first
    assert row_counts(book) == before
    with pytest.raises(IdempotencyConflict):
        pay.record_payment(
            book.uow(),
            pay.RecordPayment(
                ENTITY, "C1", "11.00", received_on=date(2026, 3, 11), idempotency_key="bank-1"
            ),
        )
    assert row_counts(book) == before


# ---------------------------------------------------------------------------- aging


def test_aging_buckets_by_hand(book):
    # as of 2026-05-15, buckets: current | 1-30 | 31-60 | 61-90 | 90+ days past due.
    # I1 C1 2026-01-10 net30 due 02-09: 8 x 12.50 + 19 % = 119.00; 95 days past due -> 90+
    invoice(book, "C1", date(2026, 1, 10), ("WIDGET", "8"))
    # I2 C1 2026-02-01 due 03-03: 14.88, 4.88 paid -> 10.00 open; 73 days -> 61-90
    i2 = invoice(book, "C1", date(2026, 2, 1), ("WIDGET", "1"))
    # I3 C1 2026-03-01 due 03-31: 2 x 12.50 + 4.75 = 29.75; 45 days -> 31-60
    invoice(book, "C1", date(2026, 3, 1), ("WIDGET", "2"))
    # I4 C1 2026-04-01 due 05-01: 14.88; 14 days -> 1-30
    invoice(book, "C1", date(2026, 4, 1), ("WIDGET", "1"))
    # I5 C1 2026-05-10 due 06-09: 9.99 + 0.70 = 10.69; not due -> current
    invoice(book, "C1", date(2026, 5, 10), ("BOOK", "1"))
    # I6 C1 2026-05-20: after the as-of date, not in the report
    invoice(book, "C1", date(2026, 5, 20), ("BOOK", "1"))
    # C3 (eom+15) 2026-03-05 due 03-31 + 15 = 04-15: 4 x 12.50 + 9.50 = 59.50; exactly 30 days
    # past due -> 1-30
    invoice(book, "C3", date(2026, 3, 5), ("WIDGET", "4"))
    pay.record_payment(
        book.uow(),
        pay.RecordPayment(
            ENTITY,
            "C1",
            "4.88",
            received_on=date(2026, 4, 20),
            allocate="explicit",
            to=((i2.number, "4.88"),),
        ),
    )
    labels, rows = reports.aging(book.uow(read_only=True), ENTITY, date(2026, 5, 15))
    assert labels == ["current", "1-30", "31-60", "61-90", "90+"]
    got = {r.customer: (r.buckets, r.total_minor, r.credit_minor) for r in rows}
    assert got == {
        # 10.69 + 14.88 + 29.75 + 10.00 + 119.00 = 184.32
        "C1": ((1069, 1488, 2975, 1000, 11900), 18432, 0),
        "C3": ((0, 5950, 0, 0, 0), 5950, 0),
    }
    # The same report a day before the payment: I2 still 14.88 open, 46 days past due on
    # 2026-04-18 -> 31-60; I1 68 days -> 61-90; I3 18 days -> 1-30; I4 not due yet; C3 3 days.
    _, rows = reports.aging(book.uow(read_only=True), ENTITY, date(2026, 4, 18))
    got = {r.customer: (r.buckets, r.total_minor) for r in rows}
    assert got == {
        "C1": ((1488, 2975, 1488, 11900, 0), 17851),
        "C3": ((0, 5950, 0, 0, 0), 5950),
    }


# ---------------------------------------------------------------------------- statuses


def test_list_documents_derives_statuses(book):
    as_of = date(2026, 3, 20)
    issued = invoice(book, "C1", date(2026, 3, 1), ("WIDGET", "1"))  # due 03-31, untouched
    partly = invoice(book, "C1", date(2026, 3, 1), ("WIDGET", "2"))  # due 03-31, 10.00 paid
    paid = invoice(book, "C1", date(2026, 3, 2), ("BOOK", "1"))  # 10.69, paid in full
    late = invoice(book, "C1", date(2026, 1, 10), ("WIDGET", "1"))  # due 02-09, unpaid
    voided = invoice(book, "C1", date(2026, 3, 3), ("BOOK", "2"))  # credited in full
    pay.record_payment(
        book.uow(),
        pay.RecordPayment(
            ENTITY,
            "C1",
            "20.69",
            received_on=date(2026, 3, 5),
            allocate="explicit",
            to=((partly.number, "10.00"), (paid.number, "10.69")),
        ),
    )
    note = inv.credit_invoice(
        book.uow(), inv.CreditInvoice(ENTITY, voided.number, "not delivered", date(2026, 3, 4))
    )
    rows = {
        r.number: r for r in reports.list_documents(book.uow(read_only=True), ENTITY, as_of=as_of)
    }
    assert {n: (r.status, r.open_minor) for n, r in rows.items()} == {
        issued.number: ("issued", 1488),
        partly.number: ("partially_paid", 1975),  # 29.75 - 10.00
        paid.number: ("paid", 0),
        late.number: ("overdue", 1488),
        voided.number: ("void", 0),
        note.number: ("applied", 0),
    }
    overdue = reports.list_documents(
        book.uow(read_only=True), ENTITY, status="overdue", as_of=as_of
    )
    assert [r.number for r in overdue] == [late.number]
    # After 03-31 the untouched and the partly paid invoice are overdue too.
    later = reports.list_documents(
        book.uow(read_only=True), ENTITY, status="overdue", as_of=date(2026, 4, 1)
    )
    assert {r.number for r in later} == {issued.number, partly.number, late.number}
    verify_clean(book)


# ---------------------------------------------------------------------------- bad input


def _refused(book, call, kind=Rejection):
    before = row_counts(book)
    with pytest.raises(kind) as refused:
        call()
    assert row_counts(book) == before, "a refused command wrote rows"
    return refused.value


def test_unknown_customer(book):
    err = _refused(book, lambda: invoice(book, "NOPE", date(2026, 3, 1), ("WIDGET", "1")), NotFound)
    assert (err.record, err.field) == ("customer", "code")
    assert "NOPE" in err.reason


def test_unknown_charge_code_names_the_line(book):
    # The second line is bad: nothing of the first one may stay behind either.
    err = _refused(
        book, lambda: invoice(book, "C1", date(2026, 3, 1), ("WIDGET", "1"), ("NOPE", "1"))
    )
    assert (err.record, err.field) == ("line 2", "charge_code")
    # ... and the number was not used up.
    assert invoice(book, "C1", date(2026, 3, 1), ("WIDGET", "1")).number == "INV-2026-000001"


def test_junk_quantity_names_the_line(book):
    err = _refused(book, lambda: invoice(book, "C1", date(2026, 3, 1), ("WIDGET", "12,5x")))
    assert (err.record, err.field) == ("line 1", "quantity")


@pytest.mark.parametrize("amount", ["12,5x", "-10.00", "0", "0.001", "NaN", "1e400x"])
def test_bad_payment_amount(book, amount):
    invoice(book, "C1", date(2026, 3, 1), ("WIDGET", "1"))
    err = _refused(
        book,
        lambda: pay.record_payment(
            book.uow(), pay.RecordPayment(ENTITY, "C1", amount, received_on=date(2026, 3, 2))
        ),
        InvalidAmount,
    )
    assert (err.record, err.field) == ("payment", "amount")
    verify_clean(book)


def test_payment_for_unknown_customer(book):
    err = _refused(
        book,
        lambda: pay.record_payment(book.uow(), pay.RecordPayment(ENTITY, "NOPE", "10.00")),
        NotFound,
    )
    assert (err.record, err.field) == ("customer", "code")
