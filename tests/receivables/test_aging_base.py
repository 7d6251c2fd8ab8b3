"""AR aging per currency and in the base currency, with configurable buckets."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from fixtures_book import ENTITY, START, add_price, invoice
from typer.testing import CliRunner

from openbill.interfaces.cli.main import app
from openbill.usecases import fx, reports
from openbill.usecases import masterdata as m


def _book_with_usd(book):
    m.create_customer(book.uow(), m.CreateCustomer(ENTITY, "CUS", "Yankee Inc", "DE", "USD"))
    add_price(book, "WIDGET", "USD", START, "10.00")
    # EUR: 8 x 12.50 + 19 % = 119.00, issued 2026-01-10, due 2026-02-09 (net 30).
    invoice(book, "C1", date(2026, 1, 10), ("WIDGET", "8"))
    # USD: 10 x 10.00 + 19 % = 119.00, issued 2026-03-01, due 2026-03-31.
    invoice(book, "CUS", date(2026, 3, 1), ("WIDGET", "10"))


def test_rows_are_valued_in_base_currency_at_the_rate_of_the_day(book):
    _book_with_usd(book)
    fx.set_rate(book.uow(), fx.SetRate(ENTITY, date(2026, 4, 14), "USD", "EUR", "0.90"))
    labels, rows, rates = reports.aging_in_base(book.uow(read_only=True), ENTITY, date(2026, 4, 15))
    assert labels == ["current", "1-30", "31-60", "61-90", "90+"]
    by = {r.customer: r for r in rows}
    # EUR invoice due 2026-02-09: 65 days late on 2026-04-15 -> 61-90.
    assert by["C1"].buckets == (0, 0, 0, 11900, 0)
    assert by["C1"].base_total_minor == 11900
    # USD invoice due 2026-03-31: 15 days late -> 1-30; 119.00 x 0.90 = 107.10 EUR.
    assert by["CUS"].buckets == (0, 11900, 0, 0, 0)
    assert by["CUS"].base_buckets == (0, 10710, 0, 0, 0)
    assert [(r.currency, r.rate, r.rate_date) for r in rates if r.currency == "USD"] == [
        ("USD", Decimal("0.90"), date(2026, 4, 14))
    ]


def test_a_missing_rate_leaves_the_base_value_empty(book):
    _book_with_usd(book)
    # A rate of 2026-04-01 is 14 days old on 2026-04-15: too old to be used.
    fx.set_rate(book.uow(), fx.SetRate(ENTITY, date(2026, 4, 1), "USD", "EUR", "0.90"))
    _, rows, rates = reports.aging_in_base(book.uow(read_only=True), ENTITY, date(2026, 4, 15))
    by = {r.customer: r for r in rows}
    assert by["CUS"].base_total_minor is None
    assert [r.rate for r in rates if r.currency == "USD"] == [None]


def test_cli_prints_a_grand_total_in_base_currency_and_custom_buckets(book, db_url):
    _book_with_usd(book)
    fx.set_rate(book.uow(), fx.SetRate(ENTITY, date(2026, 4, 14), "USD", "EUR", "0.90"))
    result = CliRunner().invoke(
        app,
        ["ar", "aging", "--as-of", "2026-04-15", "--buckets", "15,45", "--json", "--db", db_url],
        env={"COLUMNS": "200", "OPENBILL_ENTITY": ENTITY},
    )
    assert result.exit_code == 0, result.stdout
    rows = {r["customer"]: r for r in json.loads(result.stdout)}
    # Buckets current, 1-15, 16-45, 45+: the EUR invoice is 65 days late (45+), the USD one 15.
    assert rows["C1"]["45+"] == "119.00"
    assert rows["CUS"]["1-15"] == "119.00"
    # In EUR: 119.00 + 107.10 = 226.10.
    grand = rows["TOTAL in EUR"]
    assert (grand["total EUR"], grand["45+"], grand["1-15"]) == ("226.10", "119.00", "107.10")
