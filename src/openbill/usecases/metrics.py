"""Receivables metrics of a legal entity for a period: DSO (countback), the collection
effectiveness index, average days to pay and days late, and the share of invoices paid late.

Each figure is per currency (amounts are never added across currencies); days to pay also per
customer. With a customer given, every figure is that customer's. The formulas are in
`openbill.domain.metrics`; this module gathers their inputs:

- receivables (AR) on a date: the receivable postings up to that date; "current" AR: of
  documents not yet past due then (and credit notes), as in the aging report;
- credit sales: invoices issued less credit notes issued, by their document dates (the dates
  their journal entries post to the receivable);
- DSO: AR at the end of the period, counted back over the calendar months ending on that date
  (up to `MAX_COUNTBACK_MONTHS`, regardless of where the period starts: DSO is a figure of the
  end date);
- CEI: AR the day before the period starts, credit sales in the period, AR and current AR at
  its end;
- days to pay: over the invoices that became fully settled in the period, the date of their
  last settlement (payment allocation, credit-note application or write-off) less the issue
  date. Invoices with any write-off are not "paid": they are left out of the averages, counted
  apart and listed; so are invoices cancelled in full by credit notes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from openbill.domain.metrics import (
    MAX_COUNTBACK_MONTHS,
    Metric,
    MonthSales,
    PaymentTally,
    PaymentTimes,
    Period,
    SettledInvoice,
    SettlementKind,
    collection_effectiveness,
    dso_countback,
    month_slices,
    months_back,
    settlement_kind,
)
from openbill.domain.rejections import InvalidInput
from openbill.ports import UnitOfWork
from openbill.usecases._support import MAX_LIST_ROWS, customer_by_code, entity_by_code

__all__ = [
    "MAX_PERIOD_MONTHS",
    "MAX_PERIOD_DAYS",
    "MAX_SETTLED_INVOICES",
    "MetricsQueries",
    "ReceivablesMetrics",
    "CurrencyMetrics",
    "CustomerPaymentTimes",
    "MetricsReport",
    "receivables_metrics",
]

MAX_PERIOD_MONTHS = 36  # --months
MAX_PERIOD_DAYS = 3_660  # --from/--to: about ten years
# Settled invoices one run looks at; a longer period or a bigger book is asked per customer or
# in shorter periods.
MAX_SETTLED_INVOICES = 2_000_000


class MetricsQueries(Protocol):
    """The reads the metrics need (adapters.sql.metrics_queries implements them)."""

    def receivables(
        self, entity_id: int, start: date, end: date, customer_id: int | None = None
    ) -> dict[str, tuple[int, int, int]]: ...

    def credit_sales_by_day(
        self, entity_id: int, start: date, end: date, customer_id: int | None = None
    ) -> list[tuple[str, date, int]]: ...

    def settled_invoices(
        self, entity_id: int, start: date, end: date, customer_id: int | None = None
    ) -> Iterable[Any]: ...


QueriesFactory = Callable[[UnitOfWork], MetricsQueries]


@dataclass(frozen=True, slots=True)
class ReceivablesMetrics:
    """The period is start..end when both are given, else `months` calendar months ending on
    `as_of` (default: today)."""

    entity: str
    as_of: date | None = None
    months: int = 3
    start: date | None = None
    end: date | None = None
    customer: str = ""


@dataclass(frozen=True, slots=True)
class CurrencyMetrics:
    currency: str
    beginning_ar_minor: int  # at the end of the day before the period
    credit_sales_minor: int  # in the period
    ending_ar_minor: int
    ending_current_ar_minor: int
    dso_days: Metric
    cei_percent: Metric
    payment: PaymentTimes


@dataclass(frozen=True, slots=True)
class CustomerPaymentTimes:
    customer: str
    name: str
    currency: str
    payment: PaymentTimes


@dataclass(frozen=True, slots=True)
class MetricsReport:
    entity: str
    period: Period
    customer: str  # empty: the whole entity
    currencies: tuple[CurrencyMetrics, ...]
    customers: tuple[CustomerPaymentTimes, ...]
    written_off: tuple[SettledInvoice, ...]  # at most MAX_LIST_ROWS of them, oldest first
    written_off_count: int


def _period(cmd: ReceivablesMetrics, today: date) -> Period:
    if (cmd.start is None) != (cmd.end is None):
        raise InvalidInput(
            "give both the start and the end of the period, or neither (then --months)",
            record="metrics",
            field="from" if cmd.start is None else "to",
        )
    if cmd.start is not None and cmd.end is not None:
        period = Period(cmd.start, cmd.end)
        if period.days > MAX_PERIOD_DAYS:
            raise InvalidInput(
                f"a period covers at most {MAX_PERIOD_DAYS} days; ask for a shorter one",
                record="metrics",
                field="from",
            )
        return period
    if not 1 <= cmd.months <= MAX_PERIOD_MONTHS:
        raise InvalidInput(
            f"months is between 1 and {MAX_PERIOD_MONTHS}", record="metrics", field="months"
        )
    return months_back(cmd.as_of or today, cmd.months)


def receivables_metrics(
    uow: UnitOfWork, cmd: ReceivablesMetrics, *, queries: QueriesFactory | None = None
) -> MetricsReport:
    """The metrics of one entity (or one of its customers) for one period.

    `queries` gives the metric reads of the entered unit of work; without it the unit of work's
    own `metrics` reads are used.
    """
    with uow:
        period = _period(cmd, uow.clock.today())
        entity = entity_by_code(uow, cmd.entity)
        customer_id = customer_by_code(uow, entity.id, cmd.customer).id if cmd.customer else None
        reads: MetricsQueries = queries(uow) if queries else uow.metrics
        slices = month_slices(period.end, MAX_COUNTBACK_MONTHS)
        balances = reads.receivables(entity.id, period.start, period.end, customer_id)
        daily = reads.credit_sales_by_day(
            entity.id, min(slices[-1].start, period.start), period.end, customer_id
        )
        tallies, written_off, written_off_count = _tally(
            reads.settled_invoices(entity.id, period.start, period.end, customer_id)
        )
    currencies = sorted({*balances, *(cur for cur, _, _ in daily), *(k[2] for k in tallies)})
    by_currency: dict[str, PaymentTally] = defaultdict(PaymentTally)
    for (_, _, currency), tally in tallies.items():
        by_currency[currency] = by_currency[currency] + tally
    rows = []
    for currency in currencies:
        days = [(day, minor) for cur, day, minor in daily if cur == currency]
        sales = sum(minor for day, minor in days if day in period)
        start_total, end_total, end_current = balances.get(currency, (0, 0, 0))
        months = [MonthSales(s, sum(m for day, m in days if day in s)) for s in slices]
        rows.append(
            CurrencyMetrics(
                currency,
                start_total,
                sales,
                end_total,
                end_current,
                dso_countback(end_total, months),
                collection_effectiveness(start_total, sales, end_total, end_current),
                by_currency[currency].summary(),
            )
        )
    customers = tuple(
        CustomerPaymentTimes(code, name, currency, tally.summary())
        for (code, name, currency), tally in sorted(tallies.items())
    )
    return MetricsReport(
        cmd.entity,
        period,
        cmd.customer,
        tuple(rows),
        customers,
        tuple(written_off),
        written_off_count,
    )


def _tally(
    rows: Iterable[Any],
) -> tuple[dict[tuple[str, str, str], PaymentTally], list[SettledInvoice], int]:
    """Fold the settled invoices into tallies per (customer, name, currency); keep the
    written-off ones for the listing (at most MAX_LIST_ROWS) and count them all."""
    tallies: dict[tuple[str, str, str], PaymentTally] = {}
    written_off: list[SettledInvoice] = []
    written_off_count = 0
    for seen, row in enumerate(rows, start=1):
        if seen > MAX_SETTLED_INVOICES:
            raise InvalidInput(
                f"more than {MAX_SETTLED_INVOICES:,} invoices were settled in the period; "
                "ask for a shorter period or one customer",
                record="metrics",
                field="from",
            )
        invoice = SettledInvoice(
            row.customer_code,
            row.currency,
            row.number,
            row.document_date,
            row.due_date or row.document_date,
            row.settled_on,
            int(row.paid_minor),
            int(row.credited_minor),
            int(row.written_off_minor),
        )
        key = (row.customer_code, row.customer_name, row.currency)
        tallies[key] = tallies.get(key, PaymentTally()).add(invoice)
        if settlement_kind(invoice) is SettlementKind.WRITTEN_OFF:
            written_off_count += 1
            if len(written_off) < MAX_LIST_ROWS:
                written_off.append(invoice)
    return tallies, written_off, written_off_count
