"""`openbill ar metrics`: DSO, collection effectiveness, days to pay, late share."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Annotated, Any

import typer

from openbill.domain.metrics import Metric, NotEnoughData, PaymentTimes
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
from openbill.usecases import metrics as met

__all__ = ["register"]

_PAYMENT_COLS = [
    Col("paid", "paid", True),
    Col("avg_days_to_pay", "avg days to pay", True),
    Col("avg_days_late", "avg days late", True),
    Col("paid_late_percent", "paid late %", True),
    Col("written_off", "written off", True),
    Col("credited", "credited", True),
]
_CURRENCY_COLS = [
    Col("currency", "cur"),
    Col("receivables", "AR at end", True),
    Col("current", "of which current", True),
    Col("credit_sales", "credit sales", True),
    Col("dso_days", "DSO days", True),
    Col("cei_percent", "CEI %", True),
    *_PAYMENT_COLS,
]
_CUSTOMER_COLS = [
    Col("customer", "customer"),
    Col("name", "name", wrap=True),
    Col("currency", "cur"),
    *_PAYMENT_COLS,
]
_WRITTEN_OFF_COLS = [
    Col("number", "invoice"),
    Col("customer", "customer"),
    Col("currency", "cur"),
    Col("issued", "issued"),
    Col("due", "due"),
    Col("closed", "closed on"),
    Col("paid", "paid", True),
    Col("written_off", "written off", True),
]
# CSV: one table, a `level` column telling currency rows from customer rows.
_CSV_KEYS = [
    "level",
    "customer",
    "name",
    "currency",
    "receivables",
    "current",
    "credit_sales",
    "dso_days",
    "cei_percent",
    *(c.key for c in _PAYMENT_COLS),
]


def _cell(value: Metric) -> str:
    return str(value)


def _json_metric(row: dict[str, Any], key: str, value: Metric) -> None:
    if isinstance(value, NotEnoughData):
        row[key] = None
        row[f"{key}_note"] = value.reason
        if value.at_least is not None:
            row[f"{key}_at_least"] = str(value.at_least)
    else:
        row[key] = str(value)


def _payment(times: PaymentTimes) -> dict[str, Any]:
    return {
        "paid": times.paid,
        "late": times.late,
        "written_off": times.written_off,
        "credited": times.credited,
        "avg_days_to_pay": times.avg_days_to_pay,
        "avg_days_late": times.avg_days_late,
        "paid_late_percent": times.share_late_percent,
    }


def _currency_row(m: met.CurrencyMetrics) -> dict[str, Any]:
    return {
        "currency": m.currency,
        "beginning_receivables": money(m.beginning_ar_minor, m.currency),
        "receivables": money(m.ending_ar_minor, m.currency),
        "current": money(m.ending_current_ar_minor, m.currency),
        "credit_sales": money(m.credit_sales_minor, m.currency),
        "dso_days": m.dso_days,
        "cei_percent": m.cei_percent,
        **_payment(m.payment),
    }


def _customer_row(c: met.CustomerPaymentTimes) -> dict[str, Any]:
    return {"customer": c.customer, "name": c.name, "currency": c.currency, **_payment(c.payment)}


def _as_text(row: dict[str, Any]) -> dict[str, Any]:
    return {k: _cell(v) if isinstance(v, Decimal | NotEnoughData) else v for k, v in row.items()}


def _as_json(row: dict[str, Any]) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, Decimal | NotEnoughData):
            _json_metric(shown, key, value)
        else:
            shown[key] = value
    return shown


def _written_off_rows(report: met.MetricsReport) -> list[dict[str, Any]]:
    return [
        {
            "number": i.number,
            "customer": i.customer,
            "currency": i.currency,
            "issued": i.issued_on.isoformat(),
            "due": i.due_on.isoformat(),
            "closed": i.settled_on.isoformat(),
            "paid": money(i.paid_minor, i.currency),
            "written_off": money(i.written_off_minor, i.currency),
        }
        for i in report.written_off
    ]


def _notes(rows: list[dict[str, Any]]) -> list[str]:
    """The distinct reasons behind the "n/a" and "> N" cells, to print under the tables."""
    seen: dict[str, None] = {}
    for row in rows:
        for value in row.values():
            if isinstance(value, NotEnoughData):
                seen.setdefault(f"{value}: {value.reason}", None)
    return list(seen)


def metrics(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="end of the period, YYYY-MM-DD [default: today]"),
    ] = None,
    months: Annotated[int, typer.Option("--months", help="calendar months ending on --as-of")] = 3,
    start: Annotated[
        str | None, typer.Option("--from", help="first day of the period (with --to)")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="last day of the period")] = None,
    customer: Annotated[str, typer.Option("--customer", help="only this customer's figures")] = "",
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """DSO (countback), collection effectiveness (CEI), days to pay and the share paid late,
    per currency, and days to pay per customer."""
    if as_json and as_csv:
        raise UsageError("choose one of --json and --csv")
    if as_of and (start or end):
        raise UsageError("give either --as-of (with --months) or --from and --to")
    on, first, last = (
        parse_date(as_of, "--as-of"),
        parse_date(start, "--from"),
        parse_date(end, "--to"),
    )
    with opened(db) as book:
        report = met.receivables_metrics(
            book.uow(read_only=True),
            met.ReceivablesMetrics(entity_code(book, entity), on, months, first, last, customer),
        )
    currencies = [_currency_row(m) for m in report.currencies]
    customers = [_customer_row(c) for c in report.customers]
    written_off = _written_off_rows(report)
    period = f"{report.period.start}..{report.period.end}"
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "entity": report.entity,
                    "customer": report.customer,
                    "from": report.period.start.isoformat(),
                    "to": report.period.end.isoformat(),
                    "currencies": [_as_json(r) for r in currencies],
                    "customers": [_as_json(r) for r in customers],
                    "written_off": written_off,
                    "written_off_count": report.written_off_count,
                }
            )
        )
        return
    if as_csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(_CSV_KEYS)
        for level, rows in (("currency", currencies), ("customer", customers)):
            for r in rows:
                text = _as_text({**r, "level": level})
                writer.writerow([text.get(k, "") for k in _CSV_KEYS])
        typer.echo(buffer.getvalue(), nl=False)
        return
    who = f" customer {report.customer}" if report.customer else ""
    emit(
        [_as_text(r) for r in currencies],
        _CURRENCY_COLS,
        title=f"Receivables metrics {report.entity}{who}, {period}",
    )
    emit(
        [_as_text(r) for r in customers],
        _CUSTOMER_COLS,
        title=f"Days to pay per customer, invoices settled {period}",
    )
    if written_off:
        shown = f"{len(written_off)} of {report.written_off_count}"
        emit(
            written_off,
            _WRITTEN_OFF_COLS,
            title=f"Written off, not counted as paid ({shown})",
        )
    console = out()
    for note in _notes(currencies + customers):
        console.print(note, markup=False)


def register(ar_app: typer.Typer) -> None:
    """Add the metrics commands to `openbill ar`."""
    ar_app.command("metrics")(handle(metrics))
