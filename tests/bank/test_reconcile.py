"""Month-end reconciliation: the difference between the statement and the book, explained
term by term, worked out by hand below. On this run's database."""

from __future__ import annotations

from datetime import date

import pytest
from fixtures_book import ENTITY, invoice, verify_clean

from openbill.domain.reference import creditor_reference
from openbill.domain.rejections import InvalidInput
from openbill.usecases import bank_matching as bm
from openbill.usecases import bank_reconcile as br
from openbill.usecases import payments as pay

from .book import ACCOUNT, IBAN_C1, entry, import_, line_ids, match, statement, with_bank


def _pay(book, customer, amount, on, allocate="none"):
    pay.record_payment(
        book.uow(),
        pay.RecordPayment(ENTITY, customer, amount, received_on=on, allocate=allocate),
    )


def _march(book):
    """The account opened with 1,000.00 on 2026-02-28. In March:

    bank statement                          book (ledger account 1200)
      opening 2026-03-01   1,000.00           opening balance (2026-02-28)   1,000.00
      03-09 C1 pays INV, RF  +119.00  <->     payment of the line            +119.00
      03-31 account fee       -12.50          (waits for review)
      03-31 C1 transfer       +20.00  <->     payment recorded 2026-04-02     (+20.00 in April)
      closing 03-31        1,126.50           03-30 C3 cheque, not banked yet  +50.00
                                              balance 03-31                  1,169.00

    difference 1,126.50 - 1,169.00 = -42.50
      = 0.00 opening (1,000.00 - 1,000.00 before the first statement)
      - 12.50 bank line not in the book
      - 50.00 book entry not on the statement
      + 20.00 line whose book entry is dated after the month
    """
    with_bank(book, opening="1000.00", as_of=date(2026, 2, 28))
    doc = invoice(book, "C1", date(2026, 3, 2), ("WIDGET", "8"))
    _pay(book, "C3", "50.00", date(2026, 3, 30))
    _pay(book, "C1", "20.00", date(2026, 4, 2))
    lines = [
        entry(11900, date(2026, 3, 9), ref="B1", text=creditor_reference(doc.number)),
        entry(
            -1250,
            date(2026, 3, 31),
            ref="B2",
            name="Servicepartner KG",
            text="Kontoführung",
            code="",
        ),
        entry(2000, date(2026, 3, 31), ref="B3", name="ALPHA GMBH", iban=IBAN_C1),
    ]
    import_(book, statement(lines, 100000, date(2026, 3, 1), date(2026, 3, 31)))
    match(book)


def _report(book, period="2026-03"):
    return br.reconcile(book.uow(read_only=True), br.Reconcile(ENTITY, ACCOUNT, period))


def test_the_difference_is_explained_term_by_term(book):
    _march(book)
    r = _report(book)
    assert (r.statement_balance_minor, r.book_balance_minor, r.difference_minor) == (
        112650,
        116900,
        -4250,
    )
    assert (r.first_opening_minor, r.brought_forward_minor, r.opening_difference_minor) == (
        100000,
        100000,
        0,
    )
    assert [(i.on, i.amount_minor) for i in r.unmatched_lines] == [(date(2026, 3, 31), -1250)]
    assert [(i.on, i.amount_minor) for i in r.unmatched_book] == [(date(2026, 3, 30), 5000)]
    assert (r.later_in_book_minor, r.later_on_statement_minor) == (2000, 0)
    assert (r.statement_gap_minor, r.undone_minor) == (0, 0)
    assert r.explained_minor == -4250 and r.unexplained_minor == 0
    assert (r.lines_in_period, r.money_in_minor, r.money_out_minor) == (3, 13900, -1250)
    assert (r.matched_automatic, r.matched_by_hand, r.waiting) == (2, 0, 1)
    assert r.problems == ()


def test_clearing_the_review_leaves_only_timing(book):
    _march(book)
    fee = line_ids(book)[1]
    bm.mark_other(book.uow(), bm.MarkOther(ENTITY, fee, "fee"))
    r = _report(book)
    # the fee is in the book now: 1,169.00 - 12.50 = 1,156.50; 1,126.50 - 1,156.50 = -30.00
    assert (r.book_balance_minor, r.difference_minor) == (115650, -3000)
    assert r.unmatched_lines == () and r.unexplained_minor == 0
    assert (r.matched_automatic, r.matched_by_hand, r.waiting) == (2, 1, 0)
    verify_clean(book)


def test_undone_decisions_cancel_out(book):
    _march(book)
    first = line_ids(book)[0]
    bm.undo(book.uow(), bm.Undo(ENTITY, first, "wrong customer"))
    r = _report(book)
    # The 119.00 line waits again, the payment and its reversal cancel (+119.00 - 119.00).
    assert r.book_balance_minor == 116900 - 11900
    assert sorted(i.amount_minor for i in r.unmatched_lines) == [-1250, 11900]
    assert r.unmatched_book_minor == 5000 and r.undone_minor == 0
    assert r.undone_in_period == 1 and r.unexplained_minor == 0


def test_a_month_without_a_statement_says_so(book):
    _march(book)
    r = _report(book, "2026-02")
    assert r.statement_balance_minor is None and r.unexplained_minor is None
    assert r.problems == ("no statement of this account closes on or before 2026-02-28",)
    assert r.book_balance_minor == 100000  # only the opening balance


def test_the_period_is_a_month(book):
    _march(book)
    with pytest.raises(InvalidInput, match="not a month"):
        _report(book, "2026-13")
