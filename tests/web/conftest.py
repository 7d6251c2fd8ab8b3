"""The desk's test book: the book of tests/fixtures_book.py with the users of
tests/api/conftest.py (a user of each role in ACME, a specialist of OTHER, password PASSWORD),
and a first quarter of 2026 written by hand, so that every figure a page shows can be worked
out on paper. The clock stands at 2026-03-20 10:00 UTC when the tests look.

    INV-2026-000001  C1  2026-01-05  10 WIDGET   125.00 + 19 % 23.75 = 148.75 EUR, due 02-04
                     paid in full by payment 1 (148.75, 2026-02-01, reference the number)
    INV-2026-000002  C1  2026-02-10   2 TRAINING 200.00 exempt       = 200.00 EUR, due 03-12
                     50.00 paid by payment 2 (2026-03-15): 150.00 open, 8 days past due
    INV-2026-000003  C2  2026-03-02   4 WIDGET    50.00 reverse charge = 50.00 EUR, due 04-01
                     buyer reference (PO) PO-4711; dispute case on all of it, opened 03-16
    INV-2026-000004  C3  2026-03-10  10 BOOK      99.90 + 7 % 6.99  = 106.89 EUR, due 04-15
                     (eom+15); credited 2 BOOK by CN-2026-000001 on 03-12:
                     19.98 + 7 % 1.40 (1.3986 rounded) = 21.38, applied: 85.51 open
    INV-2026-000005  CJP 2026-03-11   3 WIDGET  3999 + 19 % 760 (759.81) = 4759 JPY, due 04-10
    a draft          C1  2026-03-18   1 GIFT (not issued)
    C1's bank account (IBAN) is DE89370400440532013000
    bank account "Main EUR" with a statement of two lines, not matched yet:
                     +50.00 "INV-2026-000003" from Beta SARL, -12.34 "bank fees", both 03-19
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, date, datetime
from html import unescape
from typing import Any

import pytest
from api.conftest import OTHER, PASSWORD, ROLES, Desk, build_desk
from conftest import PG_URL_ENV, fresh_pg_database
from fastapi.testclient import TestClient
from fixtures_book import ENTITY, build_book

from openbill.adapters.clock import FixedClock
from openbill.bootstrap import Book
from openbill.domain.bank import Entry, Statement
from openbill.usecases import bank, disputes, invoices, payments
from openbill.usecases import masterdata as m

__all__ = ["ENTITY", "OTHER", "PASSWORD", "ROLES", "NOW", "text_of", "log_in", "csrf_of"]

NOW = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)
IBAN = "DE89370400440532013000"


def _at(clock: FixedClock, day: date) -> None:
    clock.set(datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC))


def fill_quarter(book: Book, clock: FixedClock) -> None:
    uow = book.uow

    def issue(customer: str, on: date, lines: tuple[tuple[str, str], ...], po: str = "") -> None:
        _at(clock, on)
        specs = tuple(invoices.LineSpec(code, qty) for code, qty in lines)
        invoices.create_invoice(
            uow(), invoices.CreateInvoice(ENTITY, customer, specs, on, buyer_reference=po)
        )

    m.update_customer(uow(), m.UpdateCustomer(ENTITY, "C1", (("iban", IBAN),)))
    issue("C1", date(2026, 1, 5), (("WIDGET", "10"),))
    _at(clock, date(2026, 2, 1))
    payments.record_payment(
        uow(),
        payments.RecordPayment(
            ENTITY, "C1", "148.75", received_on=date(2026, 2, 1), reference="INV-2026-000001"
        ),
    )
    issue("C1", date(2026, 2, 10), (("TRAINING", "2"),))
    issue("C2", date(2026, 3, 2), (("WIDGET", "4"),), po="PO-4711")
    issue("C3", date(2026, 3, 10), (("BOOK", "10"),))
    issue("CJP", date(2026, 3, 11), (("WIDGET", "3"),))
    _at(clock, date(2026, 3, 12))
    invoices.credit_invoice(
        uow(),
        invoices.CreditInvoice(
            ENTITY, "INV-2026-000004", "two books damaged", date(2026, 3, 12), ((1, "2"),)
        ),
    )
    _at(clock, date(2026, 3, 15))
    payments.record_payment(
        uow(), payments.RecordPayment(ENTITY, "C1", "50.00", received_on=date(2026, 3, 15))
    )
    _at(clock, date(2026, 3, 16))
    disputes.open_case(
        uow(),
        disputes.OpenCase(ENTITY, "INV-2026-000003", "price", note="the customer says 10.00 each"),
    )
    _at(clock, date(2026, 3, 18))
    invoices.create_draft(
        uow(),
        invoices.CreateDraft(
            ENTITY, "C1", date(2026, 3, 18), lines=(invoices.LineSpec("GIFT", "1"),)
        ),
    )
    _at(clock, date(2026, 3, 19))
    bank.add_bank_account(uow(), bank.AddBankAccount(ENTITY, "Main EUR", "EUR", iban=IBAN))
    day = date(2026, 3, 19)
    entries = (
        Entry(
            day, day, 5000, "EUR", "B1", counterparty_name="Beta SARL", remittance="INV-2026-000003"
        ),
        Entry(day, day, -1234, "EUR", "B2", remittance="bank fees"),
    )
    statement = Statement("camt.053", IBAN, "EUR", "S1", "1", day, day, day, entries=entries)
    bank.import_statements(
        uow(), bank.ImportStatements(ENTITY, "march.xml", "0" * 64, (statement,), "Main EUR")
    )
    clock.set(NOW)


@pytest.fixture(scope="module")
def quarter(database_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """The desk (users, keys, the app) on the book filled with the quarter above, made once
    per test module: for tests that only read (logging in and refusals add sessions and audit
    events, which no figure of a page depends on). A test that moves the clock or changes
    records takes `fresh_quarter`."""
    clock = FixedClock(datetime(2026, 1, 1, 9, 0, tzinfo=UTC))
    where: Any
    if database_backend == "sqlite":
        where = nullcontext(f"sqlite:///{tmp_path_factory.mktemp('desk')}/book.db")
    else:
        where = fresh_pg_database(os.environ[PG_URL_ENV])
    with where as url:
        book = build_book(url, clock)
        built = build_desk(book)
        fill_quarter(book, clock)
        try:
            yield built
        finally:
            built.close()
            book.close()


@pytest.fixture
def fresh_quarter(book: Book, clock: FixedClock) -> Iterator[Desk]:
    """The same desk for one test alone (it may move the clock or change records)."""
    built = build_desk(book)
    fill_quarter(book, clock)
    try:
        yield built
    finally:
        built.close()


def text_of(html: str) -> str:
    """A page's text as a person reads it: tags out, entities decoded, spaces collapsed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    body = re.sub(r"<[^>]+>", " ", body)
    return " ".join(unescape(body).split())


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no anti-forgery token in the page"
    return found.group(1)


def log_in(desk: Desk, username: str, password: str = PASSWORD, code: str = "") -> TestClient:
    """A browser that logged in through the log-in page."""
    client = desk.anonymous()
    form = client.get("/desk/login")
    reply = client.post(
        "/desk/login",
        data={
            "username": username,
            "password": password,
            "code": code,
            "csrf_token": csrf_of(form.text),
        },
        follow_redirects=False,
    )
    assert reply.status_code == 303, reply.text
    return client


@pytest.fixture(scope="module")
def queues(database_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """The quarter with work in every queue (tests/web/queues_book.py), once per module, for
    tests that only read or refuse. A test that changes records takes `fresh_queues`."""
    from .queues_book import fill_queues

    clock = FixedClock(datetime(2026, 1, 1, 9, 0, tzinfo=UTC))
    where: Any
    if database_backend == "sqlite":
        where = nullcontext(f"sqlite:///{tmp_path_factory.mktemp('queues')}/book.db")
    else:
        where = fresh_pg_database(os.environ[PG_URL_ENV])
    with where as url:
        book = build_book(url, clock)
        built = build_desk(book)
        fill_quarter(book, clock)
        fill_queues(book, clock)
        try:
            yield built
        finally:
            built.close()
            book.close()


@pytest.fixture
def fresh_queues(book: Book, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    """The queues' book for one test alone (it changes records); letters go from SENDER."""
    from .queues_book import SENDER, fill_queues

    monkeypatch.setenv("OPENBILL_SMTP_FROM", SENDER)
    built = build_desk(book)
    fill_quarter(book, clock)
    fill_queues(book, clock)
    try:
        yield built
    finally:
        built.close()
