"""Payments, allocations, customer credit, refunds, write-offs and credit notes."""

from __future__ import annotations

from datetime import date

import pytest
from fixtures_book import (
    ENTITY,
    credit_of,
    invoice,
    journal_of,
    open_of,
    row_counts,
    verify_clean,
)

from openbill.domain.rejections import InvalidAmount, InvalidInput
from openbill.usecases import invoices as inv
from openbill.usecases import payments as pay
from openbill.usecases import reports


def _pay(book, amount, on=date(2026, 3, 20), customer="C1", **kw):
    return pay.record_payment(
        book.uow(), pay.RecordPayment(ENTITY, customer, amount, received_on=on, **kw)
    )


def _two_invoices(book):
    # A: 8 x 12.50 = 100.00 + 19.00 = 119.00, due 2026-02-09.
    # B: 4 x 12.50 = 50.00 + 9.50 = 59.50, due 2026-03-12.
    a = invoice(book, "C1", date(2026, 1, 10), ("WIDGET", "8"))
    b = invoice(book, "C1", date(2026, 2, 10), ("WIDGET", "4"))
    assert (a.total_minor, b.total_minor) == (11900, 5950)
    return a, b


def test_oldest_first_allocation(book):
    a, b = _two_invoices(book)
    # 150.00: A (oldest due) gets 119.00, B the remaining 31.00; B keeps 28.50 open.
    paid = _pay(book, "150.00")
    assert (paid.amount_minor, paid.allocated_minor, paid.credit_minor) == (15000, 15000, 0)
    assert (open_of(book, a.number), open_of(book, b.number)) == (0, 2850)
    # Dr 1200 150.00 / Cr 2100 150.00 for the receipt
    assert journal_of(book, "payments", paid.id) == {"1200": 15000, "2100": -15000}
    verify_clean(book)


def test_explicit_allocation(book):
    a, b = _two_invoices(book)
    # 30.00 explicitly to B, although A is older: A untouched, B 59.50 - 30.00 = 29.50 open.
    paid = _pay(book, "30.00", allocate="explicit", to=((b.number, "30.00"),))
    assert paid.allocated_minor == 3000
    assert (open_of(book, a.number), open_of(book, b.number)) == (11900, 2950)
    verify_clean(book)


def test_explicit_allocation_above_open_is_refused_and_writes_nothing(book):
    _, b = _two_invoices(book)
    before = row_counts(book)
    with pytest.raises(InvalidAmount):
        _pay(book, "100.00", allocate="explicit", to=((b.number, "60.00"),))
    assert row_counts(book) == before


def test_partial_payment(book):
    a, _ = _two_invoices(book)
    # 50.00 on A (119.00): 69.00 stays open, the invoice is partially paid.
    _pay(book, "50.00", on=date(2026, 1, 20))
    assert open_of(book, a.number) == 6900
    [row] = reports.list_documents(
        book.uow(read_only=True), ENTITY, kind="invoice", as_of=date(2026, 1, 31)
    )[:1]
    assert (row.number, row.status, row.open_minor) == (a.number, "partially_paid", 6900)


def test_overpayment_becomes_credit_then_applied_then_refunded(book):
    a, b = _two_invoices(book)
    # 200.00 against 119.00 + 59.50 = 178.50: 21.50 becomes customer credit.
    paid = _pay(book, "200.00")
    assert (paid.allocated_minor, paid.credit_minor) == (17850, 2150)
    assert credit_of(book, "C1") == 2150
    # A later invoice of 1 x 12.50 + 2.38 = 14.88; applying credit pays it; 6.62 remain.
    c = invoice(book, "C1", date(2026, 3, 25), ("WIDGET", "1"))
    assert open_of(book, c.number) == 1488
    done = pay.apply_credit(book.uow(), pay.ApplyCredit(ENTITY, "C1", on=date(2026, 3, 26)))
    assert done.amount_minor == 1488
    assert (open_of(book, c.number), credit_of(book, "C1")) == (0, 662)
    # Refunding more than the 6.62 of credit is refused and writes nothing.
    before = row_counts(book)
    with pytest.raises(InvalidAmount) as refused:
        pay.refund(book.uow(), pay.Refund(ENTITY, "C1", "6.63", refunded_on=date(2026, 3, 27)))
    assert (refused.value.record, refused.value.field) == ("refund", "amount")
    assert row_counts(book) == before
    # Refunding exactly the credit: Dr 2100 6.62 / Cr 1200 6.62, credit back to zero.
    refunded = pay.refund(
        book.uow(), pay.Refund(ENTITY, "C1", "6.62", refunded_on=date(2026, 3, 27))
    )
    assert journal_of(book, "refunds", refunded.id) == {"2100": 662, "1200": -662}
    assert credit_of(book, "C1") == 0
    # Bank: 200.00 in, 6.62 out = 193.38.
    bank = {r.account: r.balance_minor for r in reports.ledger_balances(book.uow(read_only=True))}
    assert bank["1200"] == 19338
    verify_clean(book)


def test_payment_without_invoices_is_all_credit(book):
    paid = _pay(book, "40.00")
    assert (paid.allocated_minor, paid.credit_minor) == (0, 4000)
    with pytest.raises(InvalidAmount):
        pay.refund(book.uow(), pay.Refund(ENTITY, "C2", "0.01"))  # C2 has no credit at all


def test_write_off_with_reason(book):
    a, _ = _two_invoices(book)
    _pay(book, "100.00", allocate="explicit", to=((a.number, "100.00"),))
    assert open_of(book, a.number) == 1900
    # Writing off 19.01 when 19.00 is open is refused; so is a write-off without a reason.
    before = row_counts(book)
    with pytest.raises(InvalidAmount) as refused:
        pay.write_off(book.uow(), pay.WriteOff(ENTITY, a.number, "customer insolvent", "19.01"))
    assert refused.value.field == "amount"
    with pytest.raises(InvalidInput) as refused:
        pay.write_off(book.uow(), pay.WriteOff(ENTITY, a.number, "  "))
    assert refused.value.field == "reason"
    assert row_counts(book) == before
    # Dr 6900 19.00 / Cr 1100 19.00; nothing left open.
    done = pay.write_off(
        book.uow(), pay.WriteOff(ENTITY, a.number, "customer insolvent", on=date(2026, 4, 1))
    )
    assert done.amount_minor == 1900
    assert journal_of(book, "write_offs", done.id) == {"6900": 1900, "1100": -1900}
    assert open_of(book, a.number) == 0
    with pytest.raises(InvalidAmount):
        pay.write_off(book.uow(), pay.WriteOff(ENTITY, a.number, "again"))
    # Closed by a write-off, not by payment: the status says so, and the document shows it.
    view = reports.show_document(book.uow(read_only=True), ENTITY, a.number, date(2026, 4, 2))
    assert view.header["derived_status"] == "written_off"
    assert [(w["reason"], w["amount_minor"]) for w in view.write_offs] == [
        ("customer insolvent", 1900)
    ]
    verify_clean(book)


def test_credit_note_voids_an_open_invoice(book):
    a, _ = _two_invoices(book)
    note = inv.credit_invoice(
        book.uow(), inv.CreditInvoice(ENTITY, a.number, "wrong quantity", date(2026, 1, 15))
    )
    # The credit note mirrors the invoice: 100.00 + 19.00 = 119.00.
    assert (note.number, note.kind) == ("CN-2026-000001", "credit_note")
    assert (note.net_minor, note.tax_minor, note.total_minor) == (10000, 1900, 11900)
    # Dr 4000 100.00 / Dr 2200 19.00 / Cr 1100 119.00
    assert journal_of(book, "documents", note.id) == {"4000": 10000, "2200": 1900, "1100": -11900}
    docs = {
        d.number: d
        for d in reports.list_documents(book.uow(read_only=True), ENTITY, as_of=date(2026, 1, 20))
    }
    assert (docs[a.number].status, docs[a.number].open_minor) == ("void", 0)
    assert (docs[note.number].status, docs[note.number].open_minor) == ("applied", 0)
    verify_clean(book)


def test_credit_note_after_partial_payment_leaves_credit(book):
    a, _ = _two_invoices(book)
    _pay(book, "50.00", on=date(2026, 1, 20), allocate="explicit", to=((a.number, "50.00"),))
    note = inv.credit_invoice(
        book.uow(), inv.CreditInvoice(ENTITY, a.number, "cancelled", date(2026, 1, 25))
    )
    # 119.00 credited; 69.00 was open and is settled by the note; 50.00 of it is left over.
    assert note.total_minor == 11900
    assert open_of(book, a.number) == 0
    assert open_of(book, note.number) == 5000
    docs = {
        d.number: d
        for d in reports.list_documents(book.uow(read_only=True), ENTITY, as_of=date(2026, 1, 26))
    }
    assert docs[note.number].status == "issued"
    # The customer's receivable is B's 59.50 minus the 50.00 left on the note = 9.50.
    [balance] = reports.customer_balances(book.uow(read_only=True), ENTITY)
    assert (balance.customer, balance.receivable_minor, balance.credit_minor) == ("C1", 950, 0)
    verify_clean(book)


def test_partial_credit_note_by_line_quantity(book):
    a = invoice(book, "C1", date(2026, 1, 10), ("WIDGET", "8"), ("BOOK", "2"))
    # Credit 3 of the 8 widgets: 37.50 net, tax 7.125 -> 7.13, total 44.63.
    note = inv.credit_invoice(
        book.uow(), inv.CreditInvoice(ENTITY, a.number, "returned", date(2026, 1, 12), ((1, "3"),))
    )
    assert (note.net_minor, note.tax_minor, note.total_minor) == (3750, 713, 4463)
    # A: 100.00 + 19.98 net; tax 19.00 + 1.3986 -> 1.40; total 140.38, less 44.63 = 95.75.
    assert a.total_minor == 14038
    assert open_of(book, a.number) == 9575
    verify_clean(book)


def test_an_invoice_cannot_be_credited_twice_in_full(book):
    a, _ = _two_invoices(book)
    inv.credit_invoice(book.uow(), inv.CreditInvoice(ENTITY, a.number, "first", date(2026, 1, 15)))
    before = row_counts(book)
    with pytest.raises(InvalidInput):
        inv.credit_invoice(
            book.uow(), inv.CreditInvoice(ENTITY, a.number, "again", date(2026, 1, 16))
        )
    assert row_counts(book) == before


def test_credit_left_on_a_credit_note_is_applied_to_the_next_invoice(book):
    a, b = _two_invoices(book)
    # A is paid in full (119.00), then credited in full: nothing open on A to apply the note
    # to, so the whole 119.00 stays on the credit note as credit for the customer.
    _pay(book, "119.00", allocate="explicit", to=((a.number, "119.00"),))
    note = inv.credit_invoice(
        book.uow(), inv.CreditInvoice(ENTITY, a.number, "returned goods", date(2026, 3, 21))
    )
    assert open_of(book, note.number) == 11900  # credit left, shown as a positive amount
    # apply_credit uses it on B (59.50 open): B settled, 119.00 - 59.50 = 59.50 left on the note.
    done = pay.apply_credit(book.uow(), pay.ApplyCredit(ENTITY, "C1", on=date(2026, 3, 22)))
    assert done.amount_minor == 5950
    assert open_of(book, b.number) == 0
    assert open_of(book, note.number) == 5950
    # Dr 1100 (note) 59.50 / Cr 1100 (B) 59.50: receivable moves between the two documents.
    verify_clean(book)
