"""A bank account on the test book, and statements written as values (no file), for the tests
of import, matching, review, undo and reconciliation.

The book (tests/fixtures_book.py) is ACME with customers C1 (Alpha GmbH), C2, C3 (Gamma KG).
Here C1 pays from IBAN_C1, C3 from IBAN_C3 (set in master data); ACME's own account is OWN.
"""

from __future__ import annotations

from datetime import date

from fixtures_book import ENTITY
from sqlalchemy import text

from openbill.bootstrap import Book
from openbill.domain.bank import Balance, Entry, Statement
from openbill.usecases import bank as bk
from openbill.usecases import bank_matching as bm
from openbill.usecases import masterdata as md

OWN = "DE89370400440532013000"
SAVINGS = "DE02120300000000202051"
IBAN_C1 = "DE44500105175407324931"
IBAN_C3 = "DE12500105170648489890"
ACCOUNT = "Main EUR"


def with_bank(book: Book, opening: str = "", as_of: date | None = None) -> None:
    """Register ACME's main EUR account (ledger 1200) and the payers' IBANs."""
    bk.add_bank_account(
        book.uow(),
        bk.AddBankAccount(ENTITY, ACCOUNT, "EUR", OWN, opening_balance=opening, opening_on=as_of),
    )
    for code, iban in (("C1", IBAN_C1), ("C3", IBAN_C3)):
        md.update_customer(book.uow(), md.UpdateCustomer(ENTITY, code, (("iban", iban),)))


def entry(
    amount_minor: int,
    on: date,
    *,
    ref: str = "",
    name: str = "",
    iban: str = "",
    text: str = "",
    e2e: str = "",
    code: str = "PMNT/RCDT/ESCT",
    returned: str = "",
    creditor_reference: str = "",
) -> Entry:
    return Entry(
        booking_date=on,
        value_date=on,
        amount_minor=amount_minor,
        currency="EUR",
        bank_reference=ref,
        end_to_end_id=e2e,
        counterparty_name=name,
        counterparty_account=iban,
        remittance=text,
        creditor_reference=creditor_reference,
        transaction_code=code,
        return_reason=returned,
    )


def statement(
    entries: list[Entry],
    opening_minor: int,
    start: date,
    end: date,
    *,
    number: str = "1",
    closing_minor: int | None = None,
    account: str = OWN,
) -> Statement:
    closing = opening_minor + sum(e.amount_minor for e in entries)
    return Statement(
        format="camt.053",
        account=account,
        currency="EUR",
        statement_id=f"STMT-{number}",
        sequence=number,
        created=end,
        period_from=start,
        period_to=end,
        opening=Balance(opening_minor, "EUR", start),
        closing=Balance(closing if closing_minor is None else closing_minor, "EUR", end),
        entries=tuple(entries),
    )


def import_(book: Book, *statements: Statement, name: str = "bank.xml", **kw):
    return bk.import_statements(
        book.uow(),
        bk.ImportStatements(ENTITY, name, "0" * 64, tuple(statements), **kw),
    )


def match(book: Book, **kw) -> bm.MatchReport:
    return bm.match_lines(book.uow, bm.MatchLines(ENTITY, **kw))


def line_ids(book: Book) -> list[int]:
    with book.engine.connect() as conn:
        return [int(r[0]) for r in conn.execute(text("SELECT id FROM bank_lines ORDER BY id"))]


def state(book: Book, line_id: int) -> tuple[str, str]:
    with book.engine.connect() as conn:
        row = conn.execute(
            text("SELECT status, rule FROM bank_line_states WHERE line_id = :i"), {"i": line_id}
        ).one()
    return str(row[0]), str(row[1])


def balance(book: Book, account: str = "1200") -> int:
    """The book balance of a ledger account in EUR."""
    with book.engine.connect() as conn:
        value = conn.execute(
            text(
                "SELECT COALESCE(SUM(amount_minor), 0) FROM journal_lines "
                "WHERE account = :a AND currency = 'EUR'"
            ),
            {"a": account},
        ).scalar_one()
    return int(value)


def count(book: Book, table: str) -> int:
    with book.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
