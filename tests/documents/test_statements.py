"""Customer statements: opening balance, the period's documents and payments with a running
balance, closing balance; all derived from the journal. Figures worked out by hand below.

Customer C1 (domestic, EUR), WIDGET 12.50 at 19 %, BOOK 9.99 at 7 %, TRAINING 100.00 exempt:

    2025-12-10  invoice A   4 WIDGET   50.00 + 9.50 VAT            =  59.50   balance  59.50
    2025-12-20  payment     20.00, applied to A                    = -20.00   balance  39.50
    ---- period 2026-01-01 .. 2026-01-31, opening 39.50 ----
    2026-01-05  invoice B  10 BOOK     99.90 + 6.993 -> 6.99 VAT    = 106.89   balance 146.39
    2026-01-10  credit note for A, 1 WIDGET 12.50 + 2.375 -> 2.38   = -14.88   balance 131.51
                (applied to A: no line, it moves nothing in the balance)
    2026-01-15  payment 100.00 (A 24.62, B 75.38)                   = -100.00  balance  31.51
    2026-01-20  payment  50.00 (B 31.51, 18.49 left as credit)      = -50.00   balance -18.49
    2026-01-25  refund of the 18.49 credit                          = +18.49   balance   0.00
    2026-01-28  invoice C   1 TRAINING 100.00 exempt                = 100.00   balance 100.00
    2026-01-30  write-off of 30.00 on C                             = -30.00   balance  70.00
    ---- closing 70.00: debits 225.38, credits 194.88 ----
    2026-02-05  invoice D   1 WIDGET   12.50 + 2.38                 =  14.88   (after the period)
"""

from __future__ import annotations

from datetime import date

import pytest
from fixtures_book import ENTITY, invoice

from openbill.adapters.sql.statement_queries import for_uow
from openbill.domain.rejections import InvalidInput, NotFound
from openbill.usecases import invoices as inv
from openbill.usecases import payments as pay
from openbill.usecases import reports
from openbill.usecases.statements import Movement, build_section, customer_statement

JAN_START, JAN_END = date(2026, 1, 1), date(2026, 1, 31)


def statement(book, start=JAN_START, end=JAN_END, customer="C1"):
    return customer_statement(
        book.uow(read_only=True), ENTITY, customer, start, end, queries=for_uow
    )


@pytest.fixture
def month(book):
    a = invoice(book, "C1", date(2025, 12, 10), ("WIDGET", "4"))
    pay.record_payment(
        book.uow(), pay.RecordPayment(ENTITY, "C1", "20.00", received_on=date(2025, 12, 20))
    )
    b = invoice(book, "C1", date(2026, 1, 5), ("BOOK", "10"))
    cn = inv.credit_invoice(
        book.uow(),
        inv.CreditInvoice(ENTITY, a.number, "one widget damaged", date(2026, 1, 10), ((1, "1"),)),
    )
    pay.record_payment(
        book.uow(),
        pay.RecordPayment(
            ENTITY, "C1", "100.00", received_on=date(2026, 1, 15), reference="REF-100"
        ),
    )
    pay.record_payment(
        book.uow(),
        pay.RecordPayment(ENTITY, "C1", "50.00", received_on=date(2026, 1, 20), reference="REF-50"),
    )
    pay.refund(
        book.uow(),
        pay.Refund(ENTITY, "C1", "18.49", refunded_on=date(2026, 1, 25), reference="RF-1"),
    )
    c = invoice(book, "C1", date(2026, 1, 28), ("TRAINING", "1"))
    pay.write_off(
        book.uow(), pay.WriteOff(ENTITY, c.number, "goodwill", "30.00", date(2026, 1, 30))
    )
    d = invoice(book, "C1", date(2026, 2, 5), ("WIDGET", "1"))
    # Another customer's activity must not show.
    invoice(book, "C3", date(2026, 1, 6), ("WIDGET", "2"))
    return {"A": a, "B": b, "CN": cn, "C": c, "D": d}


def test_statement_for_january_by_hand(book, month):
    st = statement(book)
    assert st.parties.buyer.name == "Alpha GmbH"
    assert st.parties.seller.vat_id == "DE136695976"
    (eur,) = st.sections
    assert eur.currency == "EUR"
    assert eur.opening_minor == 3950
    got = [
        (ln.on, ln.kind, ln.reference, ln.debit_minor, ln.credit_minor, ln.balance_minor)
        for ln in eur.lines
    ]
    assert got == [
        (date(2026, 1, 5), "invoice", month["B"].number, 10689, 0, 14639),
        (date(2026, 1, 10), "credit_note", month["CN"].number, 0, 1488, 13151),
        (date(2026, 1, 15), "payment", "REF-100", 0, 10000, 3151),
        (date(2026, 1, 20), "payment", "REF-50", 0, 5000, -1849),
        (date(2026, 1, 25), "refund", "RF-1", 1849, 0, 0),
        (date(2026, 1, 28), "invoice", month["C"].number, 10000, 0, 10000),
        (date(2026, 1, 30), "write_off", month["C"].number, 0, 3000, 7000),
    ]
    assert (eur.debits_minor, eur.credits_minor, eur.closing_minor) == (22538, 19488, 7000)
    credit_note_line = eur.lines[1]
    assert month["A"].number in credit_note_line.description
    assert "one widget damaged" in credit_note_line.description
    assert eur.lines[0].due_date is not None


def test_closing_balance_is_the_customer_balance_at_the_end_date(book, month):
    st = statement(book)
    labels, rows = reports.aging(book.uow(read_only=True), ENTITY, JAN_END)
    (c1,) = [r for r in rows if r.customer == "C1"]
    assert c1.total_minor - c1.credit_minor == st.sections[0].closing_minor == 7000
    # To the end of February the statement includes D and ends at today's ledger balance.
    feb = statement(book, date(2026, 2, 1), date(2026, 2, 28))
    (eur,) = feb.sections
    assert eur.opening_minor == 7000
    assert [ln.reference for ln in eur.lines] == [month["D"].number]
    balances = {b.customer: b for b in reports.customer_balances(book.uow(read_only=True), ENTITY)}
    assert eur.closing_minor == balances["C1"].balance_minor == 7000 + 1488


def test_statement_of_a_quiet_period_has_only_the_opening_balance(book, month):
    st = statement(book, date(2025, 12, 21), date(2025, 12, 31))
    (eur,) = st.sections
    assert (eur.opening_minor, eur.lines, eur.closing_minor) == (3950, (), 3950)


def test_bad_periods_and_unknown_customers_are_refused(book):
    with pytest.raises(InvalidInput):
        statement(book, JAN_END, JAN_START)
    with pytest.raises(InvalidInput):
        statement(book, date(2000, 1, 1), date(2026, 1, 1))
    with pytest.raises(NotFound):
        statement(book, customer="NOPE")


def test_build_section_is_a_running_sum():
    moves = [
        Movement(date(2026, 1, 2), "invoice", "I1", "", None, "JPY", 1000),
        Movement(date(2026, 1, 3), "payment", "P1", "", None, "JPY", -1500),
    ]
    section = build_section("JPY", 200, moves)
    assert [ln.balance_minor for ln in section.lines] == [1200, -300]
    assert (section.debits_minor, section.credits_minor, section.closing_minor) == (
        1000,
        1500,
        -300,
    )
    with pytest.raises(InvalidInput):
        build_section("EUR", 0, moves)
