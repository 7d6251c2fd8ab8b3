"""Receivables metrics as pure functions: DSO by the countback method, the collection
effectiveness index (CEI), days to pay, days late and the share of invoices paid late.

Every figure is per currency: amounts of different currencies are never added together. Money
comes in as integer minor units; ratios are computed with Decimal and rounded once, at the end,
half-up to one decimal place (`DAYS_PLACES`, `PERCENT_PLACES`). Where a figure cannot be
computed (no sales in the period, nothing collectible, no invoice settled) the function returns
a `NotEnoughData` value that says why, never a division by zero and never a made-up 0.

Formulas and sources
====================

**DSO, countback (exhaustion) method.** Start from the receivables open at the end of the
period. Take away the credit sales of the latest month (the part of the month up to the end
date), then of the month before, and so on, each month adding its calendar days, until a
month's sales are larger than what is left; that month adds only the share of its days that
the rest is of its sales::

    DSO = sum(days of the fully consumed months) + rest / sales(next month) * days(next month)

It follows the flow of sales instead of assuming flat sales over the period, which is why
credit managers prefer it to "receivables / sales * days" (described as the countback,
exhaustion or "working back" method in credit-management practice, e.g. by the Credit Research
Foundation and the UK's Institute of Credit Management). A month whose net credit sales are zero
or negative (credit notes outweigh invoices) adds its days and consumes nothing. Receivables of
zero or less give a DSO of 0. When the months given run out before the receivables do, the
result is `NotEnoughData` with `at_least` = the days counted so far.

**Collection effectiveness index** over a period::

    CEI = (beginning AR + credit sales - ending total AR)
          / (beginning AR + credit sales - ending current AR) * 100

with credit sales = invoices issued less credit notes issued in the period, and current AR =
receivables not yet past due at the end of the period. The numerator is what was collected
(payments applied and write-offs: credit notes are already netted in the sales), the
denominator what could have been collected. This is the full-period form; the variant that
divides credit sales by the number of months is not used, because it no longer equals
"collected / collectible" and can leave 0..100. With a consistent ledger (receivables never
negative past due), 0 <= CEI <= 100. A denominator of zero or less means nothing was
collectible: `NotEnoughData`.

**Days to pay** of an invoice = the date it became fully settled - its issue date; **days
late** = the date it became fully settled - its due date (negative: paid early). An invoice is
"paid late" when it became fully settled after its due date. The averages and the late share
are over the invoices *paid* in the period (see `SettlementKind`): an invoice closed by a
write-off was not paid, and an invoice cancelled in full by credit notes was never owed; both
are counted apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from openbill.domain.rejections import InvalidInput, InvariantError

__all__ = [
    "DAYS_PLACES",
    "PERCENT_PLACES",
    "MAX_COUNTBACK_MONTHS",
    "NotEnoughData",
    "Metric",
    "Period",
    "MonthSales",
    "month_slices",
    "months_back",
    "dso_countback",
    "collection_effectiveness",
    "SettlementKind",
    "SettledInvoice",
    "PaymentTally",
    "PaymentTimes",
    "settlement_kind",
    "round_days",
    "round_percent",
]

DAYS_PLACES = Decimal("0.1")
PERCENT_PLACES = Decimal("0.1")
# The countback looks back at most this many months; receivables older than that are reported
# as "more than N days" (NotEnoughData with at_least).
MAX_COUNTBACK_MONTHS = 24


@dataclass(frozen=True, slots=True)
class NotEnoughData:
    """A metric that cannot be computed from the data, and why, in plain words."""

    reason: str
    at_least: Decimal | None = None  # a lower bound, when one is known

    def __str__(self) -> str:
        return f"> {self.at_least}" if self.at_least is not None else "n/a"


Metric = Decimal | NotEnoughData


def round_days(value: Decimal) -> Decimal:
    return value.quantize(DAYS_PLACES, rounding=ROUND_HALF_UP)


def round_percent(value: Decimal) -> Decimal:
    return value.quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Period:
    """A span of calendar days, both ends included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidInput(
                f"the period ends ({self.end}) before it starts ({self.start})",
                record="metrics",
                field="to",
            )

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class MonthSales:
    """Net credit sales (invoices less credit notes, minor units) of one month slice."""

    period: Period
    sales_minor: int


def _first_of_month(day: date) -> date:
    return day.replace(day=1)


def month_slices(end: date, count: int) -> tuple[Period, ...]:
    """The calendar months counted back from `end`, newest first: the month of `end` up to and
    including `end`, then `count - 1` whole months before it.

    >>> [str(p.start) + ".." + str(p.end) for p in month_slices(date(2026, 3, 15), 3)]
    ['2026-03-01..2026-03-15', '2026-02-01..2026-02-28', '2026-01-01..2026-01-31']
    """
    if count < 1:
        raise InvariantError("month_slices needs at least one month")
    out = [Period(_first_of_month(end), end)]
    while len(out) < count:
        last_day = out[-1].start - timedelta(days=1)
        out.append(Period(_first_of_month(last_day), last_day))
    return tuple(out)


def months_back(as_of: date, months: int) -> Period:
    """The period of `months` calendar months ending on `as_of`: from the first day of the
    month `months - 1` months before the month of `as_of`, through `as_of`.

    >>> months_back(date(2026, 3, 31), 3)
    Period(start=datetime.date(2026, 1, 1), end=datetime.date(2026, 3, 31))
    """
    return Period(month_slices(as_of, months)[-1].start, as_of)


def dso_countback(ar_minor: int, months: Sequence[MonthSales]) -> Metric:
    """Days sales outstanding by the countback method; `months` newest first (see the module
    docstring). One currency."""
    if ar_minor <= 0:
        return round_days(Decimal(0))
    if not months:
        return NotEnoughData("no months of sales to count back over")
    rest = ar_minor
    days = 0
    for month in months:
        sales = month.sales_minor
        if sales > 0 and rest <= sales:
            share = Decimal(rest) / Decimal(sales) * month.period.days
            return round_days(Decimal(days) + share)
        if sales > 0:
            rest -= sales
        days += month.period.days
    return NotEnoughData(
        f"the receivables are more than the credit sales of the last {len(months)} months",
        at_least=round_days(Decimal(days)),
    )


def collection_effectiveness(
    beginning_ar_minor: int,
    credit_sales_minor: int,
    ending_ar_minor: int,
    ending_current_ar_minor: int,
) -> Metric:
    """CEI in percent (see the module docstring). One currency."""
    collectible = beginning_ar_minor + credit_sales_minor - ending_current_ar_minor
    collected = beginning_ar_minor + credit_sales_minor - ending_ar_minor
    if collectible <= 0:
        return NotEnoughData("nothing was open or billed to collect in the period")
    return round_percent(Decimal(collected) * 100 / Decimal(collectible))


class SettlementKind(StrEnum):
    """How an invoice that is no longer open was closed."""

    PAID = "paid"  # by the customer's money (possibly partly by credit notes)
    WRITTEN_OFF = "written_off"  # any part written off: not paid, counted apart
    CREDITED = "credited"  # cancelled in full by credit notes: never owed, counted apart


@dataclass(frozen=True, slots=True)
class SettledInvoice:
    """An invoice fully settled, with what settled it (minor units) and when."""

    customer: str
    currency: str
    number: str
    issued_on: date
    due_on: date
    settled_on: date  # the date of the last allocation, credit application or write-off
    paid_minor: int
    credited_minor: int
    written_off_minor: int

    @property
    def days_to_pay(self) -> int:
        return (self.settled_on - self.issued_on).days

    @property
    def days_late(self) -> int:
        return (self.settled_on - self.due_on).days

    @property
    def late(self) -> bool:
        return self.settled_on > self.due_on


def settlement_kind(invoice: SettledInvoice) -> SettlementKind:
    if invoice.written_off_minor > 0:
        return SettlementKind.WRITTEN_OFF
    if invoice.paid_minor > 0:
        return SettlementKind.PAID
    return SettlementKind.CREDITED


@dataclass(frozen=True, slots=True)
class PaymentTimes:
    """Days to pay, days late and the late share of the invoices paid in a period."""

    paid: int
    late: int
    written_off: int
    credited: int
    avg_days_to_pay: Metric
    avg_days_late: Metric
    share_late_percent: Metric


@dataclass(frozen=True, slots=True)
class PaymentTally:
    """Running sums over settled invoices of one currency (and customer), folded with `add`."""

    paid: int = 0
    days_to_pay_sum: int = 0
    days_late_sum: int = 0
    late: int = 0
    written_off: int = 0
    credited: int = 0

    def add(self, invoice: SettledInvoice) -> PaymentTally:
        kind = settlement_kind(invoice)
        if kind is SettlementKind.WRITTEN_OFF:
            return PaymentTally(
                self.paid,
                self.days_to_pay_sum,
                self.days_late_sum,
                self.late,
                self.written_off + 1,
                self.credited,
            )
        if kind is SettlementKind.CREDITED:
            return PaymentTally(
                self.paid,
                self.days_to_pay_sum,
                self.days_late_sum,
                self.late,
                self.written_off,
                self.credited + 1,
            )
        return PaymentTally(
            self.paid + 1,
            self.days_to_pay_sum + invoice.days_to_pay,
            self.days_late_sum + invoice.days_late,
            self.late + (1 if invoice.late else 0),
            self.written_off,
            self.credited,
        )

    def __add__(self, other: PaymentTally) -> PaymentTally:
        return PaymentTally(
            self.paid + other.paid,
            self.days_to_pay_sum + other.days_to_pay_sum,
            self.days_late_sum + other.days_late_sum,
            self.late + other.late,
            self.written_off + other.written_off,
            self.credited + other.credited,
        )

    @classmethod
    def of(cls, invoices: Iterable[SettledInvoice]) -> PaymentTally:
        tally = cls()
        for invoice in invoices:
            tally = tally.add(invoice)
        return tally

    def summary(self) -> PaymentTimes:
        if self.paid == 0:
            none = NotEnoughData("no invoice was paid in the period")
            return PaymentTimes(0, 0, self.written_off, self.credited, none, none, none)
        count = Decimal(self.paid)
        return PaymentTimes(
            self.paid,
            self.late,
            self.written_off,
            self.credited,
            round_days(Decimal(self.days_to_pay_sum) / count),
            round_days(Decimal(self.days_late_sum) / count),
            round_percent(Decimal(self.late) * 100 / count),
        )
