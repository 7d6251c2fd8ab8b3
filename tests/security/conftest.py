"""A book with a value in every sensitive field, sealed under a key the test chooses, and the
helpers that read those values back (opened) and as stored (raw)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from bank.book import IBAN_C1, IBAN_C3, entry, import_, match, statement, with_bank
from fixtures_book import ENTITY, build_book, invoice
from sqlalchemy import select, text

from openbill.adapters.clock import FixedClock
from openbill.adapters.crypto import KEYS_ENV, generate_key
from openbill.adapters.sql import tables
from openbill.bootstrap import Book, open_book
from openbill.domain.sensitive import SENSITIVE_FIELDS
from openbill.usecases import access
from openbill.usecases import masterdata as md

STRANGER = "DE75512108001245126199"
PASSWORD = "correct horse battery staple"
CLOCK = FixedClock(datetime(2026, 3, 31, 9, 0, tzinfo=UTC))


@pytest.fixture
def key_a() -> str:
    return generate_key()


@pytest.fixture
def key_b() -> str:
    return generate_key()


def reopen(url: str, monkeypatch: pytest.MonkeyPatch, *keys: str) -> Book:
    monkeypatch.setenv(KEYS_ENV, ",".join(keys))
    return open_book(url, actor="tests", clock=CLOCK)


def fill(book: Book) -> None:
    """Accounts, tax numbers, bank lines (some from the customers' IBANs), learned payers
    and a TOTP secret."""
    with_bank(book)
    for code, tax in (("C1", "181/815/08155"), ("C3", "93815/08152")):
        md.update_customer(book.uow(), md.UpdateCustomer(ENTITY, code, (("tax_number", tax),)))
    paid = invoice(book, "C1", date(2026, 3, 2), ("WIDGET", "8"))  # 119.00
    invoice(book, "C3", date(2026, 3, 2), ("WIDGET", "4"))  # 59.50
    entries = [
        entry(
            11900,
            date(2026, 3, 10),
            ref="B1",
            name="X",
            iban=STRANGER,
            text=f"Invoice {paid.number}",
        ),
        *(
            entry(
                -100 - i,
                date(2026, 3, 11),
                ref=f"S{i}",
                name=f"Supplier {i}",
                iban=f"DE{i:02d}TEST{i:012d}",
            )
            for i in range(7)
        ),
    ]
    import_(book, statement(entries, 0, date(2026, 3, 1), date(2026, 3, 31)))
    assert match(book).automatic == 1
    access.add_user(
        book.uow(), book.hasher, access.AddUser("anna", "Anna", "administrator", (), PASSWORD)
    )
    access.enrol_totp(book.uow(), book.codes, "anna")


@pytest.fixture
def filled(db_url: str, key_a: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(KEYS_ENV, key_a)
    book = build_book(db_url, CLOCK)
    fill(book)
    yield book
    book.close()


def values(book: Book) -> dict[tuple[str, int], Any]:
    """Every non-empty sensitive value, opened: {(field, row id): text}."""
    out: dict[tuple[str, int], Any] = {}
    with book.uow(read_only=True) as uow:
        conn = uow.connection
        for f in SENSITIVE_FIELDS:
            table = tables.metadata.tables.get(f.table)
            if table is None:
                continue
            for row_id, value in conn.execute(select(table.c.id, table.c[f.column])):
                if value:
                    out[(f.name, int(row_id))] = value
    return out


def stored(book: Book, table: str, column: str) -> list[Any]:
    with book.engine.connect() as conn:
        return [r[0] for r in conn.execute(text(f"SELECT {column} FROM {table} ORDER BY id"))]


__all__ = ["IBAN_C1", "IBAN_C3", "STRANGER", "fill", "reopen", "stored", "values"]
