"""Storing statements: the same statement twice adds nothing, overlapping statements add only
what is new, entries without a bank id are told apart, balances and continuity are checked, and
a refused file writes nothing. On this run's database (SQLite or PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from fixtures_book import ENTITY, row_counts

from openbill.domain.rejections import InvalidInput, NotFound
from openbill.usecases import bank as bk

from .book import OWN, SAVINGS, count, entry, import_, statement, with_bank

D1, D2, D3 = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)


def _march(book):
    return statement(
        [
            entry(11900, D1, ref="B1", text="thanks"),
            entry(-1250, D2, ref="B2", code="ACMT/MDOP/CHRG"),
            entry(5000, D3, ref="B3"),
        ],
        100000,
        date(2026, 3, 1),
        date(2026, 3, 31),
    )


def test_a_statement_is_stored_once_whatever_file_it_comes_in(book):
    with_bank(book)
    first = import_(book, _march(book), name="march.xml")
    (s,) = first.statements
    # 1,000.00 + 119.00 - 12.50 + 50.00 = 1,156.50
    assert (s.entries, s.new_entries, s.opening_minor, s.closing_minor) == (3, 3, 100000, 115650)
    assert s.problems == ()
    assert count(book, "bank_lines") == 3 and len(first.line_ids) == 3
    before = row_counts(book)
    again = import_(book, _march(book), name="march-copy.sta")
    assert again.statements[0].duplicate_of == s.statement_id
    assert again.new_entries == 0 and again.line_ids == ()
    after = row_counts(book)
    # only the audit of the second import itself was written
    assert {k: v for k, v in after.items() if v != before[k]} == {
        "audit_events": before["audit_events"] + 1
    }


def test_an_overlapping_statement_adds_only_its_new_entries(book):
    with_bank(book)
    intraday = statement([entry(11900, D1, ref="B1")], 100000, D1, D1, number="1")
    import_(book, intraday)
    day_end = statement(
        [entry(11900, D1, ref="B1"), entry(2500, D1, ref="B9")], 100000, D1, D1, number="2"
    )
    result = import_(book, day_end)
    assert (result.statements[0].entries, result.new_entries) == (2, 1)
    assert count(book, "bank_lines") == 2


def test_entries_without_a_bank_id_are_told_apart_by_their_content(book):
    with_bank(book)
    # Two identical fees on one day, no bank reference: both are real, both are kept.
    fees = [entry(-250, D1, text="Entgelt"), entry(-250, D1, text="Entgelt")]
    first = import_(book, statement(fees, 0, D1, D1))
    assert first.new_entries == 2
    again = import_(book, statement(fees, 0, D1, D1, number="1b"))
    assert again.new_entries == 0


def test_a_statement_that_does_not_add_up_is_stored_and_reported(book):
    with_bank(book)
    broken = statement([entry(11900, D1, ref="B1")], 100000, D1, D1, closing_minor=111800)
    (s,) = import_(book, broken).statements
    # 1,000.00 + 119.00 = 1,119.00 expected, the bank says 1,118.00
    assert s.problems == (
        "opening 1000.00 + entries 119.00 = 1119.00 EUR, but the closing balance is 1118.00; "
        "ask the bank for the complete statement",
    )
    (stored,) = bk.list_statements(book.uow(read_only=True), ENTITY)
    assert stored["problems"] == list(s.problems)


def test_a_gap_between_two_statements_is_reported(book):
    with_bank(book)
    import_(book, statement([entry(11900, D1, ref="B1")], 100000, D1, D1, number="4"))
    # Statement 4 closed at 1,119.00; statement 6 opens at 1,169.00: 50.00 and number 5 missing.
    later = statement([entry(100, D3, ref="B7")], 116900, D3, D3, number="6")
    (s,) = import_(book, later).statements
    assert s.problems == (
        "opens at 1169.00 but the statement before (STMT-4, closing 2026-03-02) closed at "
        "1119.00 EUR: 50.00 moved in between; a statement is missing?",
        "statement number 6 follows number 4: 5 missing?",
    )


def test_a_statement_that_continues_the_one_before_reports_nothing(book):
    with_bank(book)
    import_(book, statement([entry(11900, D1, ref="B1")], 100000, D1, D1, number="4"))
    (s,) = import_(
        book, statement([entry(100, D2, ref="B2")], 111900, D2, D2, number="5")
    ).statements
    assert s.problems == ()


def test_a_file_for_an_unknown_account_is_refused_and_changes_nothing(book):
    with_bank(book)
    before = row_counts(book)
    other = statement([entry(100, D1, ref="X")], 0, D1, D1, account=SAVINGS)
    with pytest.raises(NotFound) as caught:
        import_(book, _march(book), other, name="two.xml")
    assert "DE02120300000000202051 (EUR)" in caught.value.message
    assert "openbill bank accounts add" in caught.value.message
    assert row_counts(book) == before


def test_unknown_accounts_can_be_registered_by_the_import(book):
    with_bank(book)
    other = statement([entry(100, D1, ref="X")], 0, D1, D1, account=SAVINGS)
    result = import_(book, other, add_accounts=True)
    assert result.accounts_added == (SAVINGS,)
    views = {v.name: v for v in bk.list_bank_accounts(book.uow(read_only=True), ENTITY)}
    # the main account has 1200 for EUR, so the new one gets the next free bank account
    assert views[SAVINGS].ledger_account == "1201"
    assert views[SAVINGS].iban == SAVINGS and views[SAVINGS].lines_new == 1


def test_a_statement_in_another_currency_than_its_account_is_refused(book):
    with_bank(book)
    usd = statement([entry(100, D1, ref="X")], 0, D1, D1)
    usd = type(usd)(**{**{f: getattr(usd, f) for f in usd.__slots__}, "currency": "USD"})
    with pytest.raises(InvalidInput, match="in USD, bank account Main EUR is kept in EUR"):
        import_(book, usd)


def test_the_opening_balance_of_an_account_is_posted_against_opening_balances(book):
    with_bank(book, opening="1000.00", as_of=date(2026, 2, 28))
    (view,) = bk.list_bank_accounts(book.uow(read_only=True), ENTITY)
    assert (view.ledger_account, view.book_balance_minor) == ("1200", 100000)
    with book.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT l.account, l.amount_minor FROM journal_lines l JOIN journal_entries e "
            "ON e.id = l.entry_id WHERE e.source_table = 'bank_accounts' ORDER BY l.line_no"
        ).all()
    assert [(a, int(m)) for a, m in rows] == [("1200", 100000), ("3900", -100000)]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"iban": "DE89370400440532013001"}, "not a valid IBAN"),
        ({"iban": OWN, "currency": "XXY"}, "not an ISO 4217"),
        ({"iban": "", "number": ""}, "give the account's IBAN"),
        ({"iban": OWN, "ledger_account": "1100"}, "cannot be a bank's ledger account"),
    ],
)
def test_bank_accounts_are_checked(book, kwargs, message):
    args = {"iban": OWN, "currency": "EUR", **kwargs}
    with pytest.raises(InvalidInput, match=message):
        bk.add_bank_account(book.uow(), bk.AddBankAccount(ENTITY, "Main", **args))


def test_an_account_is_registered_once(book):
    with_bank(book)
    with pytest.raises(InvalidInput, match="registered already, as 'Main EUR'"):
        bk.add_bank_account(book.uow(), bk.AddBankAccount(ENTITY, "Again", "EUR", OWN))


def test_stored_problems_are_json(book):
    with_bank(book)
    import_(book, statement([entry(1, D1, ref="B1")], 0, D1, D1, closing_minor=5))
    with book.engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT problems FROM bank_statements").scalar_one()
    assert len(json.loads(raw)) == 1
