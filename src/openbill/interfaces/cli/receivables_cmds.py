"""Receivables commands: exchange rates (`openbill fx`), reversing a bounced payment and the
small-difference tolerance (`openbill payments reverse|tolerance`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from openbill.interfaces.cli._common import (
    Col,
    CsvOption,
    DbOption,
    EntityOption,
    JsonOption,
    UsageError,
    emit,
    entity_code,
    handle,
    money,
    opened,
    out,
    parse_date,
)
from openbill.usecases import fx as fxu
from openbill.usecases import payments as pay

__all__ = ["register", "fx_app"]

fx_app = typer.Typer(help="Exchange rates per day, for cross-currency payments and reports.")


def register(app: typer.Typer, payments_app: typer.Typer) -> None:
    app.add_typer(fx_app, name="fx", no_args_is_help=True)
    payments_app.command("reverse")(payments_reverse)
    payments_app.command("tolerance")(payments_tolerance)


@fx_app.command("add")
@handle
def fx_add(
    date_: Annotated[str, typer.Option("--date", help="YYYY-MM-DD")],
    from_currency: Annotated[str, typer.Option("--from", help="e.g. USD")],
    to_currency: Annotated[str, typer.Option("--to", help="e.g. EUR")],
    rate: Annotated[str, typer.Option("--rate", help="1 FROM = RATE TO, e.g. 0.9231")],
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Store the rate of a day (replacing that day's rate for the pair, with an audit event)."""
    on = parse_date(date_, "--date")
    assert on is not None
    with opened(db) as book:
        cmd = fxu.SetRate(entity_code(book, entity), on, from_currency, to_currency, rate)
        stored = fxu.set_rate(book.uow(), cmd)
    out().print(f"{on}: 1 {from_currency.upper()} = {stored} {to_currency.upper()}")


@fx_app.command("import")
@handle
def fx_import(
    file: Path,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Import rates from CSV: date,from,to,rate, or the ECB's eurofxref layout (Date,USD,...).
    All or nothing: a bad line names itself and nothing is stored."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror}") from None
    with opened(db) as book:
        count = fxu.import_rates(book.uow(), entity_code(book, entity), text, file.name)
    out().print(f"imported {count} exchange rate(s) from {file.name}")


@fx_app.command("list")
@handle
def fx_list(
    limit: Annotated[int, typer.Option("--limit")] = 200,
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """The stored rates, newest first."""
    with opened(db) as book:
        rates = fxu.list_rates(book.uow(read_only=True), entity_code(book, entity), limit)
    rows = [
        {
            "date": r.rate_date.isoformat(),
            "from": r.from_currency,
            "to": r.to_currency,
            "rate": format(r.rate.normalize(), "f"),  # the same on SQLite and PostgreSQL
            "source": r.source,
        }
        for r in rates
    ]
    cols = [Col(k, k, k == "rate") for k in ("date", "from", "to", "rate", "source")]
    emit(rows, cols, as_json=as_json, as_csv=as_csv, title="Exchange rates")


@handle
def payments_reverse(
    payment_id: int,
    reason: Annotated[str, typer.Option("--reason", help="e.g. 'returned direct debit (AC04)'")],
    date_: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD [default: today]")] = None,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Reverse a payment that bounced: the invoices it paid open again and dunning resumes."""
    with opened(db) as book:
        cmd = pay.ReversePayment(entity_code(book, entity), payment_id, reason, parse_date(date_))
        r = pay.reverse_payment(book.uow(), cmd)
    reopened = f"; reopened {r.detail}" if r.detail else ""
    out().print(
        f"reversed payment {r.id}: {money(r.amount_minor, r.currency)} {r.currency}{reopened}"
    )


@handle
def payments_tolerance(
    currency: Annotated[str, typer.Argument(help="e.g. EUR")],
    amount: Annotated[str, typer.Argument(help="e.g. 0.50; 0 switches it off")],
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Set the small-difference tolerance: a payment that leaves at most this much open on an
    invoice closes it with a write-off to 6910 (small payment differences)."""
    with opened(db) as book:
        minor = pay.set_tolerance(
            book.uow(), pay.SetTolerance(entity_code(book, entity), currency, amount)
        )
    code = currency.upper()
    out().print(f"small-difference tolerance for {code}: {money(minor, code)} {code}")
