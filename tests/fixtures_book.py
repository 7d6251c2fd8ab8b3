"""A small book for use-case tests: one German entity, three tax rules, five customers (one of
them reverse charge, one with eom+15 terms, one in JPY, one in KWD), four charge codes and
their prices.

`build_book(url)` returns an opened, migrated and filled Book; the `book` fixture builds one on
this run's database (`db_url`: SQLite, or PostgreSQL when OPENBILL_TEST_DATABASE_URL is set).

Prices (all from 2020-01-01, tax excluded unless said):

    WIDGET   4000  standard 19 %   EUR 12.50   JPY 1333   KWD 3.125
    BOOK     4010  reduced   7 %   EUR  9.99   JPY  999
    TRAINING 4020  exempt    0 %   EUR 100.00
    GIFT     4030  standard 19 %   EUR 10.00 tax included
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import text

from openbill.adapters.clock import FixedClock
from openbill.adapters.sql import tables
from openbill.bootstrap import Book, open_book
from openbill.usecases import masterdata as m

ENTITY = "ACME"
START = date(2020, 1, 1)
EXEMPT_NOTE = "Exempt under section 4 no. 21 UStG"

CUSTOMERS = {
    # code: (name, country, currency, regime, terms, vat id)
    "C1": ("Alpha GmbH", "DE", "EUR", "domestic", "", ""),
    "C2": ("Beta SARL", "FR", "EUR", "reverse_charge", "", "FR40303265045"),
    "C3": ("Gamma KG", "DE", "EUR", "domestic", "eom+15", ""),
    "CJP": ("Nippon KK", "DE", "JPY", "domestic", "", ""),
    "CKW": ("Kuwait Trading", "DE", "KWD", "domestic", "", ""),
}


def build_book(url: str, clock: FixedClock | None = None) -> Book:
    """Open (and migrate) the database at `url` and fill in the master data above."""
    clock = clock or FixedClock(datetime(2026, 1, 1, 9, 0, tzinfo=UTC))
    book = open_book(url, actor="tests", clock=clock)
    m.create_entity(
        book.uow(), m.CreateEntity(ENTITY, "Acme GmbH", "DE", "EUR", vat_id="DE136695976")
    )
    for tax_class, category, rate, note, code in (
        ("standard", "S", "19", "", ""),
        ("reduced", "S", "7", "", ""),
        ("exempt", "E", "0", EXEMPT_NOTE, "VATEX-EU-132"),
    ):
        m.add_tax_rule(
            book.uow(), m.AddTaxRule(ENTITY, "DE", tax_class, START, category, rate, note, code)
        )
    for code, (name, country, currency, regime, terms, vat_id) in CUSTOMERS.items():
        m.create_customer(
            book.uow(),
            m.CreateCustomer(
                ENTITY,
                code,
                name,
                country,
                currency,
                regime=regime,
                payment_terms=terms,
                vat_id=vat_id,
            ),
        )
    for code, name, account, tax_class in (
        ("WIDGET", "Widget", "4000", "standard"),
        ("BOOK", "Book", "4010", "reduced"),
        ("TRAINING", "Training day", "4020", "exempt"),
        ("GIFT", "Gift box", "4030", "standard"),
    ):
        m.create_charge_code(
            book.uow(), m.CreateChargeCode(ENTITY, code, name, "C62", account, tax_class)
        )
    for code, currency, price, inclusive in (
        ("WIDGET", "EUR", "12.50", False),
        ("WIDGET", "JPY", "1333", False),
        ("WIDGET", "KWD", "3.125", False),
        ("BOOK", "EUR", "9.99", False),
        ("BOOK", "JPY", "999", False),
        ("TRAINING", "EUR", "100.00", False),
        ("GIFT", "EUR", "10.00", True),
    ):
        add_price(book, code, currency, START, price, inclusive)
    return book


def add_price(
    book: Book, code: str, currency: str, start: date, unit_price: str, inclusive: bool = False
) -> Any:
    return m.add_price(
        book.uow(),
        m.AddPrice(
            ENTITY,
            code,
            currency,
            start,
            "per_unit",
            f'{{"unit_price": "{unit_price}"}}',
            includes_tax=inclusive,
        ),
    )


def row_counts(book: Book) -> dict[str, int]:
    """Rows in every table: compare before and after a refused command."""
    with book.engine.connect() as conn:
        return {
            name: int(conn.execute(text(f"SELECT COUNT(*) FROM {name}")).scalar_one())
            for name in tables.metadata.tables
        }


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 1, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def book(db_url: str, clock: FixedClock) -> Iterator[Book]:
    built = build_book(db_url, clock)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def pg_book(pg_url: str, clock: FixedClock) -> Iterator[Book]:
    """The test book on PostgreSQL, whatever this run's backend (skipped without a server)."""
    built = build_book(pg_url, clock)
    try:
        yield built
    finally:
        built.close()


def invoice(book: Book, customer: str, on: date, *lines: tuple[str, str], key: str = "") -> Any:
    """Create and issue an invoice of (charge code, quantity) lines dated `on`."""
    from openbill.usecases import invoices as inv

    specs = tuple(inv.LineSpec(code, qty) for code, qty in lines)
    return inv.create_invoice(
        book.uow(), inv.CreateInvoice(ENTITY, customer, specs, on, idempotency_key=key)
    )


def journal_of(book: Book, source_table: str, source_id: int) -> dict[str, int]:
    """The postings of the journal entry a record posted: {account: amount_minor}."""
    sql = text(
        "SELECT l.account, SUM(l.amount_minor) FROM journal_lines l "
        "JOIN journal_entries e ON e.id = l.entry_id "
        "WHERE e.source_table = :t AND e.source_id = :i GROUP BY l.account"
    )
    with book.engine.connect() as conn:
        return {a: int(s) for a, s in conn.execute(sql, {"t": source_table, "i": source_id})}


def open_of(book: Book, number: str) -> int:
    from openbill.usecases import reports

    view = reports.show_document(book.uow(read_only=True), ENTITY, number)
    return int(view.header["open_minor"])


def credit_of(book: Book, customer: str, currency: str = "EUR") -> int:
    with book.uow(read_only=True) as uow:
        row = uow.customers.by_code(uow.entities.by_code(ENTITY).id, customer)
        return int(uow.ledger.customer_credit(row.id, currency))


def verify_clean(book: Book) -> None:
    from openbill.usecases.verify import verify

    report = verify(book.uow(read_only=True))
    assert report.violations == (), report.violations


def tamper(book: Book, *statements: Any) -> None:
    """Run statements (SQL text or SQLAlchemy statements) past the immutability triggers, as
    someone with direct database access would: on PostgreSQL with
    session_replication_role = replica for this one transaction, on SQLite by dropping the
    triggers and creating them again afterwards."""
    from openbill.adapters.sql.triggers import drop_statements, sqlite_statements

    with book.engine.begin() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            for stmt in drop_statements("sqlite"):
                conn.exec_driver_sql(stmt)
        else:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for stmt in statements:
            conn.execute(text(stmt) if isinstance(stmt, str) else stmt)
        if sqlite:
            for stmt in sqlite_statements():
                conn.exec_driver_sql(stmt)
