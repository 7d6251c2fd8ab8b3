"""The receivables commands end to end: fx add/list, payments record by RF reference across
currencies, tolerance, reverse, and the re-bill link in `invoices show`."""

from __future__ import annotations

import json
from datetime import date

import pytest
from fixtures_book import ENTITY, START, add_price, build_book, invoice, verify_clean
from typer.testing import CliRunner

from openbill.bootstrap import open_book
from openbill.domain.reference import creditor_reference, printable
from openbill.interfaces.cli.main import app
from openbill.usecases import masterdata as m

ENV = {"COLUMNS": "200", "OPENBILL_ENTITY": ENTITY}


def run(db: str, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, [*args, "--db", db], env=ENV)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout if code == 0 else result.stderr


@pytest.fixture
def db(db_url):
    book = build_book(db_url)
    try:
        m.create_customer(book.uow(), m.CreateCustomer(ENTITY, "CUS", "Yankee Inc", "DE", "USD"))
        add_price(book, "WIDGET", "USD", START, "10.00")
        # INV-2026-000001: C1, 8 x 12.50 + 19 % = 119.00 EUR; INV-2026-000002: CUS, 10 x
        # 10.00 + 19 % = 119.00 USD, both of 2026-03-01.
        invoice(book, "C1", date(2026, 3, 1), ("WIDGET", "8"))
        invoice(book, "CUS", date(2026, 3, 1), ("WIDGET", "10"))
    finally:
        book.close()
    return db_url


def test_usd_invoice_paid_in_eur_by_rf_reference(db):
    assert (
        run(
            db,
            "fx",
            "add",
            "--date",
            "2026-03-01",
            "--from",
            "USD",
            "--to",
            "EUR",
            "--rate",
            "0.90",
        ).strip()
        == "2026-03-01: 1 USD = 0.90 EUR"
    )
    reference = printable(creditor_reference("INV-2026-000002"))
    text = run(
        db,
        "payments",
        "record",
        "CUS",
        "110.00",
        "--currency",
        "EUR",
        "--date",
        "2026-03-20",
        "--reference",
        reference,
        "--rate",
        "0.92",
    )
    # 119.00 USD x 0.92 = 109.48 EUR used, 0.52 EUR credit; carried 119.00 x 0.90 = 107.10,
    # so a gain of 109.48 - 107.10 = 2.38 EUR.
    assert text.splitlines() == [
        "recorded payment 1: 110.00 EUR from CUS; allocated 109.48 to INV-2026-000002 "
        "(reference); customer credit now 0.52",
        "realised exchange gain: 2.38 EUR",
    ]
    rates = json.loads(run(db, "fx", "list", "--json"))
    assert rates == [
        {"date": "2026-03-01", "from": "USD", "to": "EUR", "rate": "0.9", "source": "manual"}
    ]


def test_tolerance_and_reverse(db):
    assert "EUR: 0.50 EUR" in run(db, "payments", "tolerance", "EUR", "0.50")
    text = run(
        db,
        "payments",
        "record",
        "C1",
        "118.60",
        "--date",
        "2026-03-20",
        "--reference",
        "INV-2026-000001",
    )
    # 119.00 - 118.60 = 0.40 within 0.50: written off.
    assert "small difference written off: 0.40 EUR" in text
    out = run(
        db, "payments", "reverse", "1", "--reason", "returned direct debit", "--date", "2026-03-25"
    )
    assert out.strip() == "reversed payment 1: 118.60 EUR; reopened INV-2026-000001"
    shown = json.loads(run(db, "invoices", "show", "INV-2026-000001", "--json"))
    # Reopened for what the payment paid; the small difference stays written off: 118.60.
    assert shown["open"] == "118.60"
    assert shown["payment_reference"] == "RF94 INV2 0260 0000 1"
    listed = json.loads(run(db, "payments", "list", "--json"))
    assert listed[0]["status"] == "reversed 2026-03-25"
    again = run(db, "payments", "reverse", "1", "--reason", "again", code=1)
    assert "already reversed" in again
    book = open_book(db)
    try:
        verify_clean(book)
    finally:
        book.close()


def test_invoices_show_names_the_other_half_of_a_rebill(db):
    run(db, "disputes", "open", "INV-2026-000001", "--reason", "quantity", "--date", "2026-03-05")
    run(
        db,
        "disputes",
        "resolve",
        "DSP-000001",
        "--rebill",
        "--line",
        "WIDGET:6",
        "--date",
        "2026-03-06",
    )
    text = run(db, "invoices", "show", "INV-2026-000003")
    assert "DSP-000001: credit note CN-2026-000001, corrected invoice INV-2026-000003" in text
