"""Payments allocated by reference (RF creditor reference or invoice number), small differences
closed within a tolerance, bounced payments reversed. Amounts are worked out by hand."""

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
from stdnum import iso11649

from openbill.domain.reference import (
    creditor_reference,
    is_valid_creditor_reference,
    printable,
    referenced_keys,
)
from openbill.domain.rejections import InvalidInput, InvalidState
from openbill.usecases import payments as pay


def _pay(book, amount, reference="", on=date(2026, 3, 20), customer="C1", **kw):
    return pay.record_payment(
        book.uow(),
        pay.RecordPayment(
            ENTITY, customer, amount, received_on=on, reference=reference, allocate="auto", **kw
        ),
    )


def _two_invoices(book):
    # A: 8 x 12.50 = 100.00 + 19 % = 119.00, due 2026-02-09 (the older one).
    # B: 4 x 12.50 = 50.00 + 9.50 = 59.50, due 2026-03-12.
    a = invoice(book, "C1", date(2026, 1, 10), ("WIDGET", "8"))
    b = invoice(book, "C1", date(2026, 2, 10), ("WIDGET", "4"))
    assert (a.total_minor, b.total_minor) == (11900, 5950)
    return a, b


# --- ISO 11649 --------------------------------------------------------------------------------


def test_creditor_reference_agrees_with_python_stdnum():
    # The standard's own example, and ours checked by an independent implementation.
    assert is_valid_creditor_reference("RF18 5390 0754 7034")
    assert not is_valid_creditor_reference("RF19 5390 0754 7034")
    for number in ("INV-2026-000001", "INV-2026-123456", "CN-2025-000042"):
        reference = creditor_reference(number)
        assert iso11649.is_valid(reference), reference
        assert is_valid_creditor_reference(printable(reference))


def test_referenced_keys_reads_rf_and_numbers_out_of_free_text():
    rf = printable(creditor_reference("INV-2026-000007"))
    rf_keys, numbers = referenced_keys(f"Zahlung {rf} sowie Rechnung inv 2026-12 danke")
    assert rf_keys == ["INV2026000007"]
    assert numbers == ["INV2026000012"]
    # A mistyped RF (one digit of the body changed) names nothing.
    bad = creditor_reference("INV-2026-000007").replace("7", "8")
    assert referenced_keys(bad) == ([], [])


# --- allocation by reference --------------------------------------------------------------------


def test_rf_reference_pays_the_named_invoice_not_the_oldest(book):
    a, b = _two_invoices(book)
    paid = _pay(book, "59.50", printable(creditor_reference(b.number)))
    assert (paid.how, paid.invoices) == ("reference", (b.number,))
    assert (open_of(book, a.number), open_of(book, b.number)) == (11900, 0)
    verify_clean(book)


def test_invoice_number_in_the_text_pays_that_invoice(book):
    a, b = _two_invoices(book)
    paid = _pay(book, "20.00", f"Rechnung {b.number.lower()} Teilzahlung")
    # B: 59.50 - 20.00 = 39.50 open; A untouched.
    assert paid.how == "reference"
    assert (open_of(book, a.number), open_of(book, b.number)) == (11900, 3950)


def test_mistyped_rf_falls_back_to_oldest_first(book):
    a, b = _two_invoices(book)
    reference = creditor_reference(b.number)
    mistyped = reference[:-1] + ("1" if reference[-1] != "1" else "2")
    paid = _pay(book, "59.50", mistyped)
    # Nothing named: oldest first, so A (119.00) gets all 59.50 and B stays whole.
    assert paid.how == "oldest"
    assert (open_of(book, a.number), open_of(book, b.number)) == (11900 - 5950, 5950)


def test_surplus_over_the_named_invoice_becomes_credit_not_another_invoice(book):
    a, b = _two_invoices(book)
    paid = _pay(book, "100.00", b.number)
    # 59.50 to B; 100.00 - 59.50 = 40.50 stays customer credit; A is not touched.
    assert (paid.allocated_minor, paid.credit_minor) == (5950, 4050)
    assert open_of(book, a.number) == 11900
    assert credit_of(book, "C1") == 4050
    verify_clean(book)


def test_reference_to_another_customers_invoice_is_refused_and_writes_nothing(book):
    _two_invoices(book)
    other = invoice(book, "C3", date(2026, 1, 10), ("WIDGET", "1"))
    before = row_counts(book)
    with pytest.raises(InvalidInput) as refused:
        _pay(book, "14.88", creditor_reference(other.number))
    assert refused.value.field == "reference"
    assert "C3" in refused.value.reason and "C1" in refused.value.reason
    assert row_counts(book) == before


def test_reference_strategy_keeps_everything_as_credit_when_nothing_is_named(book):
    a, _ = _two_invoices(book)
    paid = pay.record_payment(
        book.uow(),
        pay.RecordPayment(
            ENTITY,
            "C1",
            "50.00",
            received_on=date(2026, 3, 20),
            reference="thanks",
            allocate="reference",
        ),
    )
    assert (paid.allocated_minor, paid.credit_minor) == (0, 5000)
    assert open_of(book, a.number) == 11900


# --- small differences -----------------------------------------------------------------------


def test_short_payment_within_tolerance_is_closed_with_a_small_difference(book):
    a, _ = _two_invoices(book)
    pay.set_tolerance(book.uow(), pay.SetTolerance(ENTITY, "EUR", "0.50"))
    paid = _pay(book, "118.60", a.number)
    # 119.00 - 118.60 = 0.40 <= 0.50: written off to 6910, the invoice is settled.
    assert (paid.written_off_minor, paid.written_off_currency) == (40, "EUR")
    assert open_of(book, a.number) == 0
    with book.uow(read_only=True) as uow:
        write_off = uow.money.all_write_offs()[-1]
    assert journal_of(book, "write_offs", write_off.id) == {"6910": 40, "1100": -40}
    verify_clean(book)


def test_short_payment_above_tolerance_stays_open(book):
    a, _ = _two_invoices(book)
    pay.set_tolerance(book.uow(), pay.SetTolerance(ENTITY, "EUR", "0.50"))
    paid = _pay(book, "118.40", a.number)
    # 0.60 left is above the 0.50 tolerance: nothing written off.
    assert paid.written_off_minor == 0
    assert open_of(book, a.number) == 60


def test_keep_difference_leaves_it_open(book):
    a, _ = _two_invoices(book)
    pay.set_tolerance(book.uow(), pay.SetTolerance(ENTITY, "EUR", "0.50"))
    paid = _pay(book, "118.60", a.number, close_small_difference=False)
    assert paid.written_off_minor == 0
    assert open_of(book, a.number) == 40


def test_no_tolerance_means_no_write_off(book):
    a, _ = _two_invoices(book)
    _pay(book, "118.99", a.number)
    assert open_of(book, a.number) == 1


# --- reversal of a bounced payment -------------------------------------------------------------


def test_bounced_payment_reopens_its_invoices(book):
    a, b = _two_invoices(book)
    paid = _pay(book, "150.00")  # oldest first: A 119.00, B 31.00 (28.50 left open)
    assert (open_of(book, a.number), open_of(book, b.number)) == (0, 2850)
    done = pay.reverse_payment(
        book.uow(), pay.ReversePayment(ENTITY, paid.id, "returned direct debit", date(2026, 3, 25))
    )
    assert done.detail == f"{a.number}, {b.number}"
    assert (open_of(book, a.number), open_of(book, b.number)) == (11900, 5950)
    assert credit_of(book, "C1") == 0
    with book.uow(read_only=True) as uow:
        reversal = uow.fx.reversal_of(paid.id)
    # Dr 1100 150.00 (A 119.00 + B 31.00) / Cr 2100 150.00, then Dr 2100 150.00 / Cr 1200
    # 150.00: customer credit nets to zero.
    assert journal_of(book, "payment_reversals", reversal.id) == {
        "1100": 15000,
        "2100": 0,
        "1200": -15000,
    }
    verify_clean(book)
    with pytest.raises(InvalidState):
        pay.reverse_payment(book.uow(), pay.ReversePayment(ENTITY, paid.id, "again"))


def test_reversed_payment_is_not_used_for_credit(book):
    a, _ = _two_invoices(book)
    paid = pay.record_payment(
        book.uow(),
        pay.RecordPayment(ENTITY, "C1", "10.00", received_on=date(2026, 3, 20), allocate="none"),
    )
    pay.reverse_payment(
        book.uow(), pay.ReversePayment(ENTITY, paid.id, "recalled", date(2026, 3, 21))
    )
    applied = pay.apply_credit(book.uow(), pay.ApplyCredit(ENTITY, "C1"))
    assert applied.amount_minor == 0
    assert open_of(book, a.number) == 11900
    verify_clean(book)


def test_reversal_refused_when_its_credit_was_refunded(book):
    paid = pay.record_payment(
        book.uow(),
        pay.RecordPayment(ENTITY, "C1", "10.00", received_on=date(2026, 3, 20), allocate="none"),
    )
    pay.refund(book.uow(), pay.Refund(ENTITY, "C1", "10.00"))
    before = row_counts(book)
    with pytest.raises(InvalidState) as refused:
        pay.reverse_payment(
            book.uow(), pay.ReversePayment(ENTITY, paid.id, "bounced", date(2026, 3, 21))
        )
    assert "no longer held as customer credit" in refused.value.reason
    assert row_counts(book) == before
