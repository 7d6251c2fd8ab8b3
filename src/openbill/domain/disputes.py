"""Disputes and inquiries: pure rules of a dispute case and the root-cause report.

A customer disputes an invoice, or one line of it, for a reason (`Reason`). The case moves
through the statuses of `TRANSITIONS`; it is closed by a resolution (a credit note, a re-bill,
or a rejection with an explanation) and a closed case never opens again: a new inquiry is a new
case. While a case is active (open or waiting), dunning pauses for its amount.

`build_report` turns the facts of many cases into counts, amounts and time to resolve, by
reason, by charge code and by the pair of both, so a team sees which prices or contract terms
cause disputes. A case on a line counts under that line's charge code; a case on a whole
invoice counts once, under `WHOLE_INVOICE`, so that every breakdown adds up to the same
totals (counting it under each of the invoice's charge codes would count its amount several
times). Nothing here reads a database or the clock.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from openbill.domain.money import Rounding, format_minor, minor_to_decimal, round_to_minor
from openbill.domain.rejections import InvalidAmount, InvalidState, InvariantError

__all__ = [
    "Reason",
    "Status",
    "Resolution",
    "ACTIVE",
    "CLOSED",
    "TRANSITIONS",
    "WHOLE_INVOICE",
    "CaseFacts",
    "Group",
    "Report",
    "case_number",
    "check_transition",
    "check_amount",
    "line_gross_minor",
    "build_report",
    "median_days",
    "mean_days",
]

CASE_PREFIX = "DSP"
WHOLE_INVOICE = "(whole invoice)"
_DAYS_QUANTUM = Decimal("0.1")


class Reason(StrEnum):
    """Why the customer disputes: the root cause the report counts."""

    PRICE = "price"
    QUANTITY = "quantity"
    NOT_DELIVERED = "not_delivered"
    DUPLICATE = "duplicate"
    TAX = "tax"
    CONTRACT_TERMS = "contract_terms"
    OTHER = "other"


class Status(StrEnum):
    OPEN = "open"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    WAITING_ON_INTERNAL = "waiting_on_internal"
    RESOLVED = "resolved"  # closed by a credit note or a re-bill
    REJECTED = "rejected"  # closed by a rejection, explained to the customer


class Resolution(StrEnum):
    CREDIT_NOTE = "credit_note"
    REBILL = "rebill"
    REJECTED = "rejected"


ACTIVE = frozenset({Status.OPEN, Status.WAITING_ON_CUSTOMER, Status.WAITING_ON_INTERNAL})
CLOSED = frozenset({Status.RESOLVED, Status.REJECTED})

# Which status may follow which. Resolved and rejected are reached only by a resolution (the
# use case issues the documents or queues the explanation); nothing follows them.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.OPEN: frozenset(
        {Status.WAITING_ON_CUSTOMER, Status.WAITING_ON_INTERNAL, Status.RESOLVED, Status.REJECTED}
    ),
    Status.WAITING_ON_CUSTOMER: frozenset(
        {Status.OPEN, Status.WAITING_ON_INTERNAL, Status.RESOLVED, Status.REJECTED}
    ),
    Status.WAITING_ON_INTERNAL: frozenset(
        {Status.OPEN, Status.WAITING_ON_CUSTOMER, Status.RESOLVED, Status.REJECTED}
    ),
    Status.RESOLVED: frozenset(),
    Status.REJECTED: frozenset(),
}


def case_number(seq: int) -> str:
    """The number people use for a case, per legal entity: DSP-000001."""
    if seq <= 0:
        raise InvariantError(f"case sequence numbers start at 1, got {seq}")
    return f"{CASE_PREFIX}-{seq:06d}"


def check_transition(
    current: Status, new: Status, record: str, *, by_resolution: bool = False
) -> bool:
    """Refuse a move the case may not make. Returns False when `new` is the status the case
    already has (nothing to do), True when the status changes."""
    if current in CLOSED:
        raise InvalidState(
            f"the case is {current.value} and closed; a closed case is not reopened: open a new "
            "case on the invoice (openbill disputes open)",
            record=record,
            field="status",
        )
    if new in CLOSED and not by_resolution:
        raise InvalidState(
            f"a case becomes {new.value} only by its resolution: use openbill disputes resolve "
            "with --credit-note, --rebill or --reject",
            record=record,
            field="status",
        )
    if new == current:
        return False
    if new not in TRANSITIONS[current]:
        raise InvariantError(f"no transition {current.value} -> {new.value} is defined")
    return True


def check_amount(amount_minor: int, limit_minor: int, currency: str, record: str, why: str) -> None:
    """The amount in dispute is positive and at most `limit_minor` (what can still be
    disputed: `why` says what that limit is, in words)."""
    if amount_minor <= 0:
        raise InvalidAmount(
            "the amount in dispute must be more than zero", record=record, field="amount"
        )
    if amount_minor > limit_minor:
        raise InvalidAmount(
            f"at most {format_minor(max(limit_minor, 0), currency)} {currency} can be disputed "
            f"({why}); give a smaller --amount",
            record=record,
            field="amount",
        )


def line_gross_minor(net_minor: int, tax_rate: Decimal, currency: str, rounding: Rounding) -> int:
    """A line's total with its tax, the most a case on that line can dispute. The invoice
    rounds tax once per tax group, so this can differ from the line's share of the invoice
    tax by a minor unit; as a bound that does not matter."""
    tax = minor_to_decimal(net_minor, currency) * tax_rate / Decimal(100)
    return net_minor + round_to_minor(tax, currency, rounding)


# ---------------------------------------------------------------------------------------------
# the report


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the report needs of one case."""

    case_no: str
    reason: Reason
    currency: str
    amount_minor: int  # in dispute (the last amount set on the case)
    opened_on: date
    status: Status
    closed_on: date | None = None
    charge_code: str | None = None  # the disputed line's charge code; None: the whole invoice
    adjusted_minor: int = 0  # how much the resolution took off the customer's debt

    def days_to_close(self) -> int | None:
        if self.status not in CLOSED:
            return None
        if self.closed_on is None or self.closed_on < self.opened_on:
            raise InvariantError(f"{self.case_no} is closed without a closing date on or after")
        return (self.closed_on - self.opened_on).days


@dataclass(frozen=True, slots=True)
class Group:
    """One row of the report: the cases sharing a reason, a charge code, or both."""

    key: str
    cases: int
    active: int
    resolved: int
    rejected: int
    disputed: tuple[tuple[str, int], ...]  # (currency, minor units), by currency
    adjusted: tuple[tuple[str, int], ...]
    days_mean: Decimal | None  # over closed cases; None when none is closed
    days_median: Decimal | None


@dataclass(frozen=True, slots=True)
class Report:
    total: Group
    by_reason: tuple[Group, ...]
    by_charge_code: tuple[Group, ...]
    by_cause: tuple[Group, ...]  # reason and charge code together, e.g. "price / WIDGET"


def median_days(days: Sequence[int]) -> Decimal | None:
    if not days:
        return None
    ordered = sorted(days)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        value = Decimal(ordered[mid])
    else:
        value = Decimal(ordered[mid - 1] + ordered[mid]) / 2
    return value.quantize(_DAYS_QUANTUM, rounding=decimal.ROUND_HALF_UP)


def mean_days(days: Sequence[int]) -> Decimal | None:
    if not days:
        return None
    value = Decimal(sum(days)) / Decimal(len(days))
    return value.quantize(_DAYS_QUANTUM, rounding=decimal.ROUND_HALF_UP)


def _by_currency(pairs: Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    sums: dict[str, int] = {}
    for currency, minor in pairs:
        sums[currency] = sums.get(currency, 0) + minor
    return tuple(sorted(sums.items()))


def _group(key: str, cases: Sequence[CaseFacts]) -> Group:
    days = [d for d in (c.days_to_close() for c in cases) if d is not None]
    return Group(
        key=key,
        cases=len(cases),
        active=sum(1 for c in cases if c.status in ACTIVE),
        resolved=sum(1 for c in cases if c.status == Status.RESOLVED),
        rejected=sum(1 for c in cases if c.status == Status.REJECTED),
        disputed=_by_currency((c.currency, c.amount_minor) for c in cases),
        adjusted=_by_currency((c.currency, c.adjusted_minor) for c in cases),
        days_mean=mean_days(days),
        days_median=median_days(days),
    )


def _code(case: CaseFacts) -> str:
    return case.charge_code if case.charge_code is not None else WHOLE_INVOICE


def _groups(cases: Sequence[CaseFacts], key: Callable[[CaseFacts], str]) -> tuple[Group, ...]:
    buckets: dict[str, list[CaseFacts]] = {}
    for case in cases:
        buckets.setdefault(key(case), []).append(case)
    groups = [_group(k, v) for k, v in buckets.items()]
    # The most frequent causes first: that is what the team works on.
    return tuple(sorted(groups, key=lambda g: (-g.cases, g.key)))


def build_report(cases: Iterable[CaseFacts]) -> Report:
    """Counts, amounts and time to resolve, in total and by reason, charge code and both."""
    facts = tuple(cases)
    return Report(
        total=_group("total", facts),
        by_reason=_groups(facts, lambda c: c.reason.value),
        by_charge_code=_groups(facts, _code),
        by_cause=_groups(facts, lambda c: f"{c.reason.value} / {_code(c)}"),
    )
