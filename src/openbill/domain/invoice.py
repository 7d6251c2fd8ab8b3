"""Invoice arithmetic (EN 16931), payment terms, and the derived status of a document.

CONTRACT (used by usecases; keep the names and signatures):

- compute_totals(lines, currency, rounding, prices_include_tax=False) -> DocumentTotals
- PaymentTerms.parse("net30" | "eom+15" | "due_on_receipt", each optionally after a cash
  discount "2/10 "), due_date(issue_date, terms), discount_until(issue_date, terms),
  early_payment_discount(amount_minor, terms, issue_date, paid_on, exponent_or_currency, rounding)
- document_status(...) -> DocumentStatus

The arithmetic is that of EN 16931 (BR-CO-10 to BR-CO-15, BR-S-08, BR-S-09): every line amount is
rounded once to the currency's minor unit; tax is computed ONCE per VAT category and rate on the
sum of the lines of that group (never line by line), and the document totals are plain sums of
rounded amounts, so total = net + tax holds to the minor unit.
"""

from __future__ import annotations

import calendar
import decimal
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from openbill.domain.currencies import exponent_of
from openbill.domain.money import (
    Rounding,
    allocate,
    minor_to_decimal,
    round_to_minor,
    to_decimal,
)
from openbill.domain.rejections import InvalidAmount, InvalidInput, InvariantError
from openbill.domain.tax import TaxCategory, TaxTreatment, check_treatment

__all__ = [
    "DocumentKind",
    "DocumentStatus",
    "LineInput",
    "LineTotal",
    "TaxSubtotal",
    "DocumentTotals",
    "compute_totals",
    "PaymentTerms",
    "due_date",
    "discount_until",
    "early_payment_discount",
    "document_status",
    "LINES_PER_DOCUMENT_MAX",
    "TERMS_DAYS_MAX",
]

# A document has at most this many lines (lines plus document-level allowances and charges).
LINES_PER_DOCUMENT_MAX = 10_000
# Payment terms give at most this many days.
TERMS_DAYS_MAX = 365
# Products of amounts and rates are exact at this precision (Inexact is trapped); the quotient
# of tax-inclusive prices is carried to 60 digits before its one rounding to the minor unit.
_EXACT = decimal.Context(
    prec=60,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow, decimal.Inexact],
)
_QUOTIENT = decimal.Context(prec=60, traps=[decimal.InvalidOperation, decimal.DivisionByZero])
_HUNDRED = Decimal(100)


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class DocumentStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"  # open, nothing paid, not yet due
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERDUE = "overdue"
    VOID = "void"  # fully credited by credit notes
    APPLIED = "applied"  # a credit note whose whole amount has been used
    WRITTEN_OFF = "written_off"  # closed by a write-off (derived by reports, not by status)


@dataclass(frozen=True, slots=True)
class LineInput:
    amount: Decimal  # exact priced amount, unrounded; gross of tax when prices include tax
    tax: TaxTreatment


@dataclass(frozen=True, slots=True)
class LineTotal:
    net_minor: int
    category: TaxCategory
    rate: Decimal


@dataclass(frozen=True, slots=True)
class TaxSubtotal:
    category: TaxCategory
    rate: Decimal
    taxable_minor: int
    tax_minor: int
    exemption_reason: str = ""
    exemption_code: str = ""


@dataclass(frozen=True, slots=True)
class DocumentTotals:
    lines: tuple[LineTotal, ...]
    subtotals: tuple[TaxSubtotal, ...]
    net_minor: int
    tax_minor: int
    total_minor: int


def compute_totals(
    lines: Sequence[LineInput],
    currency: str,
    rounding: Rounding,
    prices_include_tax: bool = False,
) -> DocumentTotals:
    """The totals of a document whose lines are priced in `currency`.

    Prices exclusive of tax: each line net is its amount rounded to the minor unit; the taxable
    amount of a (category, rate) group is the sum of its line nets, and its tax is that sum times
    the rate, rounded once.

    Prices inclusive of tax: each line's gross amount is rounded to the minor unit; the tax of a
    group is its gross sum G times rate / (100 + rate), rounded once; the group net is G minus
    that tax, and it is shared between the lines with money.allocate in proportion to their
    gross amounts, so the line nets add up to the group net exactly. A group that mixes charges
    and credits (say a promotion line) is split in two pools: the charges get the net of their
    own gross sum, rounded once, and the credits the rest, each pool allocated over its absolute
    gross amounts. No line net then has the opposite sign of its gross amount.

    Subtotals come sorted by (category, rate) and carry the exemption note of their lines. Lines
    of one group with different notes are refused: EN 16931 prints one note per category and
    rate.

    >>> from openbill.domain.tax import TaxCategory as C, TaxTreatment as T
    >>> totals = compute_totals(
    ...     [LineInput(Decimal("10.005"), T(C.STANDARD, Decimal(19)))], "EUR", Rounding.HALF_UP
    ... )
    >>> (totals.net_minor, totals.tax_minor, totals.total_minor)
    (1001, 190, 1191)
    """
    exponent_of(currency)
    if not lines:
        raise InvalidInput("a document needs at least one line", field="lines")
    if len(lines) > LINES_PER_DOCUMENT_MAX:
        raise InvalidInput(
            f"a document has at most {LINES_PER_DOCUMENT_MAX} lines, got {len(lines)}",
            field="lines",
        )
    rounded = [_rounded_line(line, n, currency, rounding) for n, line in enumerate(lines, 1)]
    groups = _groups(lines)
    nets: list[int] = [0] * len(lines)
    subtotals: list[TaxSubtotal] = []
    for (category, rate), members in groups:
        amounts = [rounded[i] for i in members]
        if prices_include_tax:
            tax_minor, member_nets = _inclusive_group(amounts, rate, currency, rounding)
        else:
            tax_minor = _exclusive_tax(sum(amounts), rate, currency, rounding)
            member_nets = tuple(amounts)
        for i, net in zip(members, member_nets, strict=True):
            nets[i] = net
        reason, code = _note(lines, members, category, rate)
        subtotals.append(TaxSubtotal(category, rate, sum(member_nets), tax_minor, reason, code))
    rate_of = {i: (category, rate) for (category, rate), members in groups for i in members}
    totals = DocumentTotals(
        lines=tuple(LineTotal(nets[i], *rate_of[i]) for i in range(len(lines))),
        subtotals=tuple(subtotals),
        net_minor=sum(nets),
        tax_minor=sum(s.tax_minor for s in subtotals),
        total_minor=sum(nets) + sum(s.tax_minor for s in subtotals),
    )
    _check_totals(totals)
    return totals


def _rounded_line(line: LineInput, number: int, currency: str, rounding: Rounding) -> int:
    """The line amount in minor units, after checking its amount and tax treatment."""
    record = f"line {number}"
    try:
        amount = to_decimal(line.amount, field="amount")
    except InvalidAmount as error:
        raise InvalidInput(error.reason, record=record, field="amount") from None
    try:
        check_treatment(line.tax, notes=False)
    except InvalidInput as error:
        raise InvalidInput(error.reason, record=record, field=f"tax.{error.field}") from None
    return round_to_minor(amount, currency, rounding)


_GroupKey = tuple[TaxCategory, Decimal]


def _groups(lines: Sequence[LineInput]) -> list[tuple[_GroupKey, list[int]]]:
    """Line indexes per (category, rate), sorted by category code then rate.

    Rates that are equal as numbers ('19' and '19.00') form one group, shown with the rate as
    its first line wrote it.
    """
    members: dict[_GroupKey, list[int]] = {}
    shown: dict[_GroupKey, _GroupKey] = {}
    for index, line in enumerate(lines):
        key = (line.tax.category, line.tax.rate)
        shown.setdefault(key, key)
        members.setdefault(key, []).append(index)
    ordered = sorted(members, key=lambda k: (k[0].value, k[1]))
    return [(shown[key], members[key]) for key in ordered]


def _exclusive_tax(taxable_minor: int, rate: Decimal, currency: str, rounding: Rounding) -> int:
    with decimal.localcontext(_EXACT):
        exact = (minor_to_decimal(taxable_minor, currency) * rate).scaleb(-2)
    return round_to_minor(exact, currency, rounding)


def _inclusive_group(
    gross: list[int], rate: Decimal, currency: str, rounding: Rounding
) -> tuple[int, tuple[int, ...]]:
    """The tax of a tax-inclusive group and the net of each of its lines (see compute_totals)."""
    gross_minor = sum(gross)
    tax_minor = _inclusive_tax(gross_minor, rate, currency, rounding)
    net_minor = gross_minor - tax_minor
    charges = [i for i, g in enumerate(gross) if g >= 0]
    credits = [i for i, g in enumerate(gross) if g < 0]
    if not credits or not charges:
        return tax_minor, allocate(net_minor, [abs(g) for g in gross])
    charges_gross = sum(gross[i] for i in charges)
    charges_net = charges_gross - _inclusive_tax(charges_gross, rate, currency, rounding)
    credits_net = net_minor - charges_net
    if charges_net < 0 or credits_net > 0:
        raise InvariantError("a tax-inclusive pool changed sign when its tax was taken out")
    nets = [0] * len(gross)
    for pool, pool_net in ((charges, charges_net), (credits, credits_net)):
        for i, net in zip(pool, allocate(pool_net, [abs(gross[i]) for i in pool]), strict=True):
            nets[i] = net
    return tax_minor, tuple(nets)


def _inclusive_tax(gross_minor: int, rate: Decimal, currency: str, rounding: Rounding) -> int:
    gross = minor_to_decimal(gross_minor, currency)
    with decimal.localcontext(_QUOTIENT):
        exact = gross * rate / (_HUNDRED + rate)
    return round_to_minor(exact, currency, rounding)


def _note(
    lines: Sequence[LineInput], members: list[int], category: TaxCategory, rate: Decimal
) -> tuple[str, str]:
    notes = {
        (lines[i].tax.exemption_reason, lines[i].tax.exemption_code)
        for i in members
        if lines[i].tax.exemption_reason or lines[i].tax.exemption_code
    }
    if len(notes) > 1:
        shown = "; ".join(sorted(f"{r or '-'} ({c or '-'})" for r, c in notes))
        raise InvalidInput(
            f"lines of VAT category {category.value} at {rate} % carry different exemption "
            f"notes ({shown}); an EN 16931 invoice has one note per category and rate, so "
            "invoice them separately",
            field="lines",
        )
    return next(iter(notes), ("", ""))


def _check_totals(totals: DocumentTotals) -> None:
    line_sum = sum(line.net_minor for line in totals.lines)
    taxable_sum = sum(s.taxable_minor for s in totals.subtotals)
    if not totals.net_minor == line_sum == taxable_sum:
        raise InvariantError(
            f"net {totals.net_minor}, line sum {line_sum} and taxable sum {taxable_sum} differ"
        )
    if totals.total_minor != totals.net_minor + totals.tax_minor:
        raise InvariantError("total is not net plus tax")


@dataclass(frozen=True, slots=True)
class PaymentTerms:
    """When an invoice is due, and the early-payment (cash) discount it may allow.

    `end_of_month` and `days` give the due date (see `due_date`); `discount_percent` and
    `discount_days` the optional cash discount of the common "P/D" notation: "2/10 net30" is 2 %
    off when paid within 10 days of the issue date, otherwise the full amount within 30 days.
    The discount percentage is more than 0 and less than 100 with at most 2 decimals; its period
    is 1 to TERMS_DAYS_MAX days, and for netN terms ends no later than the net period. For
    eom+N terms the discount days still count from the issue date (openbill's reading, not the
    US trade usage where "2/10 EOM" counts from the end of the month), so an invoice issued late
    in a month may keep its discount past its due date ("3/10 eom" issued on 31 January).

    >>> PaymentTerms(False, 30, Decimal("2"), 10)
    PaymentTerms(end_of_month=False, days=30, discount_percent=Decimal('2'), discount_days=10)
    >>> PaymentTerms(False, 30, Decimal("2"), 31)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    openbill.domain.rejections.InvalidInput: field payment_terms: the discount period (31 days) ...
    """

    end_of_month: bool
    days: int
    discount_percent: Decimal | None = None
    discount_days: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.end_of_month, bool):
            raise InvalidInput(f"{self.end_of_month!r} is not yes or no", field="payment_terms")
        for days in (self.days, self.discount_days):
            if isinstance(days, bool) or not isinstance(days, int):
                raise InvalidInput(f"{days!r} is not a number of days", field="payment_terms")
        if not 0 <= self.days <= TERMS_DAYS_MAX:
            raise InvalidInput(
                f"payment terms give 0 to {TERMS_DAYS_MAX} days, got {self.days}",
                field="payment_terms",
            )
        if self.discount_percent is None:
            if self.discount_days:
                raise InvalidInput(
                    f"a discount period of {self.discount_days} days needs a discount percentage",
                    field="payment_terms",
                )
            return
        self._check_discount(self.discount_percent)

    def _check_discount(self, percent: object) -> None:
        if not isinstance(percent, Decimal) or not percent.is_finite():
            raise InvalidInput(
                f"{percent!r} is not a discount percentage; give it as a Decimal, e.g. 2.5",
                field="payment_terms",
            )
        if not 0 < percent < _HUNDRED:
            raise InvalidInput(
                "an early-payment discount is more than 0 % and less than 100 %, "
                f"got {_percent_text(percent)} %",
                field="payment_terms",
            )
        if percent.quantize(_CENT) != percent:
            raise InvalidInput(
                "an early-payment discount has at most 2 decimals (e.g. 2.25 %), "
                f"got {_percent_text(percent)} %",
                field="payment_terms",
            )
        if not 1 <= self.discount_days <= TERMS_DAYS_MAX:
            raise InvalidInput(
                f"the discount period is 1 to {TERMS_DAYS_MAX} days, got {self.discount_days}",
                field="payment_terms",
            )
        if not self.end_of_month and not self.days:
            raise InvalidInput(
                "terms due on receipt leave no time for an early-payment discount",
                field="payment_terms",
            )
        if not self.end_of_month and self.discount_days > self.days:
            raise InvalidInput(
                f"the discount period ({self.discount_days} days) ends after the payment is "
                f"due (within {self.days} days net); give a discount period of at most "
                f"{self.days} days",
                field="payment_terms",
            )

    @classmethod
    def parse(cls, text: str) -> PaymentTerms:
        """Read payment terms written as netN, eom+N, eom or due_on_receipt, each optionally
        after an early-payment discount "P/D " (P percent off when paid within D days).

        Case and spaces do not matter ("NET 30", "eom + 15", "2.5 / 14 net 60").

        >>> PaymentTerms.parse("NET 30") == PaymentTerms(end_of_month=False, days=30)
        True
        >>> PaymentTerms.parse("eom15") == PaymentTerms(end_of_month=True, days=15)
        True
        >>> str(PaymentTerms.parse("2.50/14  Net 60"))
        '2.5/14 net60'
        >>> PaymentTerms.parse("3/10 eom+15").discount_days
        10
        """
        normalised = " ".join(text.lower().split()) if isinstance(text, str) else ""
        match = _TERMS.fullmatch(normalised)
        if match is None:
            raise InvalidInput(
                f"{text!r} is not a payment term; write netN (N days after the issue date, "
                "e.g. net30), eom+N (N days after the end of the issue month, e.g. eom+15), "
                "eom, or due_on_receipt, optionally after an early-payment discount P/D "
                "(P % off when paid within D days, e.g. 2/10 net30)",
                field="payment_terms",
            )
        percent = Decimal(match["percent"]) if match["percent"] is not None else None
        within = int(match["within"] or 0)
        if match["net"] is not None:
            return cls(False, int(match["net"]), percent, within)
        if match["eom_form"] is not None:
            return cls(True, int(match["eom"] or 0), percent, within)
        return cls(False, 0, percent, within)

    def __str__(self) -> str:
        """The canonical text, which `parse` reads back to equal terms.

        >>> str(PaymentTerms(True, 15, Decimal("2.50"), 14)), str(PaymentTerms(False, 0))
        ('2.5/14 eom+15', 'due_on_receipt')
        """
        if self.end_of_month:
            base = f"eom+{self.days}" if self.days else "eom"
        else:
            base = f"net{self.days}" if self.days else "due_on_receipt"
        if self.discount_percent is None:
            return base
        return f"{_percent_text(self.discount_percent)}/{self.discount_days} {base}"


_TERMS = re.compile(
    r"(?:(?P<percent>[0-9]{1,3}(?:\.[0-9]{1,6})?) ?/ ?(?P<within>[0-9]{1,3}) )?"
    r"(?:net ?(?P<net>[0-9]{1,3})"
    r"|(?P<eom_form>eom)(?: ?\+? ?(?P<eom>[0-9]{1,3}))?"
    r"|due[_ ]on[_ ]receipt)"
)
_CENT = Decimal("0.01")


def _percent_text(percent: Decimal) -> str:
    """A percentage without trailing zeros or exponent: 2.50 -> '2.5', 10 -> '10'."""
    return f"{percent.normalize():f}"


def due_date(issue_date: date, terms: PaymentTerms) -> date:
    """netN: N days after the issue date; eom+N: N days after the last day of its month.

    An early-payment discount does not move the due date:

    >>> due_date(date(2026, 1, 31), PaymentTerms.parse("2/10 net30"))
    datetime.date(2026, 3, 2)
    >>> due_date(date(2026, 2, 10), PaymentTerms.parse("3/10 eom+15"))
    datetime.date(2026, 3, 15)
    """
    start = issue_date
    if terms.end_of_month:
        last_day = calendar.monthrange(issue_date.year, issue_date.month)[1]
        start = issue_date.replace(day=last_day)
    return start + timedelta(days=terms.days)


def discount_until(issue_date: date, terms: PaymentTerms) -> date | None:
    """The last day the early-payment discount may be taken: the issue date plus the discount
    days (the issue date is day 0, as for netN), whatever the net part; None without a discount.

    >>> discount_until(date(2026, 3, 10), PaymentTerms.parse("2/10 net30"))
    datetime.date(2026, 3, 20)
    >>> discount_until(date(2026, 1, 31), PaymentTerms.parse("3/10 eom"))  # after the due date
    datetime.date(2026, 2, 10)
    >>> discount_until(date(2026, 3, 10), PaymentTerms.parse("net30")) is None
    True
    """
    if terms.discount_percent is None:
        return None
    return issue_date + timedelta(days=terms.discount_days)


def early_payment_discount(
    amount_minor: int,
    terms: PaymentTerms,
    issue_date: date,
    paid_on: date,
    exponent_or_currency: int | str,
    rounding: Rounding = Rounding.HALF_UP,
) -> int:
    """The cash discount, in minor units, the terms allow on `amount_minor` (the gross open
    amount, tax included, as the discount is taken off what is paid) for a payment on `paid_on`.

    The discount is the percentage of the amount, computed exactly in minor units and rounded
    once to a whole minor unit of the currency (given by its ISO 4217 code or its exponent) with
    the entity's rounding policy (the same quantize `round_to_minor` does; half-up by default).
    It is 0 without a discount or after `discount_until`; a payment made on or before that day,
    even before the issue date, gets it. It is never negative and never more than the amount.
    Splitting the discount over the tax groups of the invoice (the VAT correction) is left to
    the posting that books it.

    >>> terms = PaymentTerms.parse("2/10 net30")
    >>> early_payment_discount(119000, terms, date(2026, 3, 10), date(2026, 3, 20), "EUR")
    2380
    >>> early_payment_discount(119000, terms, date(2026, 3, 10), date(2026, 3, 21), "EUR")
    0
    >>> half = PaymentTerms.parse("2.5/14 net30")  # 2.5 % of 333.33 = 8.33325 -> 8.33
    >>> early_payment_discount(33333, half, date(2026, 3, 10), date(2026, 3, 10), "EUR")
    833
    >>> early_payment_discount(  # 2.5 % of JPY 1,140 = 28.5 -> 28 half-even (29 half-up)
    ...     1140, half, date(2026, 3, 10), date(2026, 3, 24), 0, Rounding.HALF_EVEN
    ... )
    28
    """
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise InvalidAmount(f"{amount_minor!r} is not an amount in minor units", field="amount")
    if amount_minor < 0:
        raise InvalidAmount(
            f"an early-payment discount is taken off an open amount, never a negative one "
            f"({amount_minor})",
            field="amount",
        )
    _check_minor_unit(exponent_or_currency)
    last_day = discount_until(issue_date, terms)
    if terms.discount_percent is None or last_day is None or paid_on > last_day:
        return 0
    with decimal.localcontext(_EXACT):
        exact = (Decimal(amount_minor) * terms.discount_percent).scaleb(-2)
    discount = int(exact.quantize(Decimal(1), rounding=rounding.decimal_mode, context=_QUOTIENT))
    if not 0 <= discount <= amount_minor:
        raise InvariantError(f"a discount of {discount} on {amount_minor} is impossible")
    return discount


def _check_minor_unit(exponent_or_currency: int | str) -> None:
    """Refuse what names no minor unit: an unknown ISO 4217 code, or an exponent that is not 0
    to 4 (the exponents of ISO 4217). Rounding in minor units needs nothing more from it."""
    if isinstance(exponent_or_currency, str):
        exponent_of(exponent_or_currency)
        return
    if isinstance(exponent_or_currency, bool) or not isinstance(exponent_or_currency, int):
        raise InvalidInput(
            f"{exponent_or_currency!r} is neither a currency code nor a minor-unit exponent",
            field="currency",
        )
    if not 0 <= exponent_or_currency <= 4:
        raise InvalidInput(
            f"ISO 4217 minor units have 0 to 4 decimals, got {exponent_or_currency}",
            field="currency",
        )


def document_status(
    kind: DocumentKind,
    issued: bool,
    total_minor: int,
    open_minor: int,
    credited_minor: int,
    due: date | None,
    as_of: date,
) -> DocumentStatus:
    """The status of a document, derived from its amounts (never stored).

    An invoice with nothing open is void when credit notes cover its whole (positive) total and
    paid otherwise; with something open it is overdue after its due date, partially paid when
    part of it is settled, and issued otherwise. A credit note is applied once nothing of it is
    left to use. `open_minor` and `credited_minor` are never negative, and an invoice never has
    more open than its total.
    """
    if open_minor < 0 or credited_minor < 0:
        raise InvariantError(
            f"open ({open_minor}) and credited ({credited_minor}) amounts are never negative"
        )
    if not issued:
        return DocumentStatus.DRAFT
    if kind == DocumentKind.CREDIT_NOTE:
        return DocumentStatus.APPLIED if open_minor == 0 else DocumentStatus.ISSUED
    if total_minor >= 0 and open_minor > total_minor:
        raise InvariantError(f"invoice open amount {open_minor} exceeds its total {total_minor}")
    if open_minor == 0:
        if total_minor > 0 and credited_minor >= total_minor:
            return DocumentStatus.VOID
        return DocumentStatus.PAID
    if due is not None and as_of > due:
        return DocumentStatus.OVERDUE
    if open_minor < total_minor:
        return DocumentStatus.PARTIALLY_PAID
    return DocumentStatus.ISSUED
