"""Verification of draft invoices before issue: pure rules over the facts of one draft.

Each rule is a small function from the facts of a draft to the findings it raises; `RULES` is
the plain list of them, read top to bottom, and `verify_draft` runs them all so one run names
every problem. A finding either blocks the issue or warns; a person resolves it by fixing the
source record or overrides it with a written reason (the use case records that, audited).

The facts are gathered by the use case from contracts, purchase orders, deliveries, master data
and the customer's history; nothing here reads a database or the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from openbill.domain.money import format_minor

__all__ = [
    "Severity",
    "Finding",
    "CustomerFacts",
    "ContractFacts",
    "PurchaseOrderFacts",
    "LineFacts",
    "PastDocument",
    "DraftFacts",
    "Settings",
    "RULES",
    "verify_draft",
    "robust_outlier",
]


class Severity(StrEnum):
    BLOCK = "block"  # the draft cannot be issued until resolved or overridden
    WARN = "warn"  # shown to the person issuing; does not stop the issue


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    record: str
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    code: str
    name: str
    address: str
    country: str
    vat_id: str
    email: str
    regime: str
    needs_vat_id: bool = False  # B2B customers and every reverse-charge or intra-EU customer


@dataclass(frozen=True, slots=True)
class ContractFacts:
    number: str
    currency: str
    po_required: bool
    tax_regime: str = ""  # empty: the customer's regime applies
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass(frozen=True, slots=True)
class PurchaseOrderFacts:
    number: str
    valid_from: date | None
    valid_to: date | None
    remaining_minor: int | None  # what is left under the PO's amount ceiling before this draft


@dataclass(frozen=True, slots=True)
class LineFacts:
    line_no: int
    charge_code: str
    quantity: Decimal
    unit_price: Decimal
    net_minor: int
    contract_price: Decimal | None = None  # the negotiated price in force, when a contract has one
    delivered: Decimal | None = None  # shipped / confirmed quantity of the deliveries billed
    accepted: Decimal | None = None  # accepted quantity, when the customer confirms acceptance
    po: PurchaseOrderFacts | None = None


@dataclass(frozen=True, slots=True)
class PastDocument:
    number: str
    document_date: date
    total_minor: int
    reference: str


@dataclass(frozen=True, slots=True)
class DraftFacts:
    draft: str  # how people name the draft, e.g. "draft 12"
    document_date: date
    currency: str
    total_minor: int
    reference: str
    customer: CustomerFacts
    lines: tuple[LineFacts, ...]
    regime: str  # the tax regime the draft was computed with
    contract: ContractFacts | None = None
    history: tuple[PastDocument, ...] = ()  # the customer's issued invoices, same currency


@dataclass(frozen=True, slots=True)
class Settings:
    duplicate_window_days: int = 30
    outlier_min_history: int = 6
    outlier_threshold: Decimal = Decimal("3.5")  # robust z-score beyond which an amount warns
    price_tolerance: Decimal = Decimal(0)  # allowed absolute difference to the contract price
    approval_threshold_minor: int | None = None  # totals above it need a second person


Rule = Callable[[DraftFacts, Settings], Iterator[Finding]]


def _line(facts: DraftFacts, line: LineFacts) -> str:
    return f"{facts.draft} line {line.line_no} ({line.charge_code})"


def price_differs_from_contract(facts: DraftFacts, s: Settings) -> Iterator[Finding]:
    for line in facts.lines:
        if line.contract_price is None:
            continue
        if abs(line.unit_price - line.contract_price) > s.price_tolerance:
            yield Finding(
                "price_differs_from_contract",
                Severity.BLOCK,
                _line(facts, line),
                "unit_price",
                f"unit price {line.unit_price} differs from the contract price "
                f"{line.contract_price}",
            )


def quantity_exceeds_delivery(facts: DraftFacts, s: Settings) -> Iterator[Finding]:
    for line in facts.lines:
        limit, what = (
            (line.accepted, "accepted")
            if line.accepted is not None
            else (line.delivered, "delivered")
        )
        if limit is not None and line.quantity > limit:
            yield Finding(
                "quantity_exceeds_delivery",
                Severity.BLOCK,
                _line(facts, line),
                "quantity",
                f"bills {line.quantity} but only {limit} were {what}",
            )


def purchase_order(facts: DraftFacts, s: Settings) -> Iterator[Finding]:
    required = facts.contract is not None and facts.contract.po_required
    used: dict[str, int] = {}
    for line in facts.lines:
        record = _line(facts, line)
        po = line.po
        if po is None:
            if required:
                yield Finding(
                    "po_missing",
                    Severity.BLOCK,
                    record,
                    "purchase_order",
                    f"contract {facts.contract.number} requires a purchase order"  # type: ignore[union-attr]
                    " and this line has none",
                )
            continue
        if (po.valid_to and facts.document_date > po.valid_to) or (
            po.valid_from and facts.document_date < po.valid_from
        ):
            yield Finding(
                "po_expired",
                Severity.BLOCK,
                record,
                "purchase_order",
                f"purchase order {po.number} is valid {po.valid_from or '…'} to "
                f"{po.valid_to or '…'}, not on {facts.document_date}",
            )
        used[po.number] = used.get(po.number, 0) + line.net_minor
        if po.remaining_minor is not None and used[po.number] > po.remaining_minor:
            yield Finding(
                "po_over_ceiling",
                Severity.BLOCK,
                record,
                "purchase_order",
                f"purchase order {po.number} has "
                f"{format_minor(po.remaining_minor, facts.currency)} {facts.currency} left; this "
                f"draft uses {format_minor(used[po.number], facts.currency)}",
            )


def contract_terms(facts: DraftFacts, s: Settings) -> Iterator[Finding]:
    contract = facts.contract
    if contract is None:
        return
    if contract.currency and contract.currency != facts.currency:
        yield Finding(
            "currency_differs_from_contract",
            Severity.BLOCK,
            facts.draft,
            "currency",
            f"billed in {facts.currency}, contract {contract.number} says {contract.currency}",
        )
    if contract.tax_regime and contract.tax_regime != facts.regime:
        yield Finding(
            "tax_differs_from_contract",
            Severity.BLOCK,
            facts.draft,
            "tax",
            f"taxed as {facts.regime}, contract {contract.number} says {contract.tax_regime}",
        )
    if (contract.valid_to and facts.document_date > contract.valid_to) or (
        contract.valid_from and facts.document_date < contract.valid_from
    ):
        yield Finding(
            "contract_not_in_force",
            Severity.WARN,
            facts.draft,
            "contract",
            f"contract {contract.number} is not in force on {facts.document_date}",
        )


def master_data(facts: DraftFacts, s: Settings) -> Iterator[Finding]:
    c = facts.customer
    record = f"customer {c.code}"
    if not c.address.strip():
        # A warning: the country alone satisfies EN 16931 (BR-10/BR-11), and many small
        # customers are billed by e-mail; a missing VAT number where the law needs it blocks.
        yield Finding(
            "master_data_incomplete", Severity.WARN, record, "address", "has no postal address"
        )
    if c.needs_vat_id and not c.vat_id:
        yield Finding(
            "master_data_incomplete",
            Severity.BLOCK,
            record,
            "vat_id",
            "has no VAT number, which this customer's tax treatment needs on the invoice",
        )
    if not c.email:
        yield Finding(
            "master_data_incomplete",
            Severity.WARN,
            record,
            "email",
            "has no e-mail or e-invoice address to send the invoice to",
        )


def possible_duplicate(facts: DraftFacts, s: Settings) -> Iterator[Finding]:
    for past in facts.history:
        days = abs((facts.document_date - past.document_date).days)
        if (
            past.total_minor == facts.total_minor
            and days <= s.duplicate_window_days
            and past.reference.strip().lower() == facts.reference.strip().lower()
        ):
            # Without a reference to compare, equal amounts are often simply a monthly fee:
            # say so, but let the issue go on.
            yield Finding(
                "possible_duplicate",
                Severity.BLOCK if facts.reference.strip() else Severity.WARN,
                facts.draft,
                "total",
                f"same customer, amount {format_minor(facts.total_minor, facts.currency)} "
                f"{facts.currency} and reference {facts.reference or '(none)'} as {past.number} "
                f"of {past.document_date}",
            )


def robust_outlier(
    value: int, history: Sequence[int], threshold: Decimal
) -> tuple[Decimal, Decimal, Decimal] | None:
    """(median, MAD, robust z) when `value` is an outlier against `history`, else None.

    Robust z = 0.6745 (x - median) / MAD (Iglewicz and Hoaglin); the median and the median
    absolute deviation are not pulled along by the outliers they are meant to find.
    """
    if not history:
        return None
    median = _median([Decimal(v) for v in history])
    mad = _median([abs(Decimal(v) - median) for v in history])
    if mad == 0:
        if Decimal(value) == median:
            return None
        return (median, mad, Decimal("Infinity"))
    z = Decimal("0.6745") * (Decimal(value) - median) / mad
    return (median, mad, z) if abs(z) > threshold else None


def _median(values: Sequence[Decimal]) -> Decimal:
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def unusual_amount(facts: DraftFacts, s: Settings) -> Iterator[Finding]:
    totals = [p.total_minor for p in facts.history]
    if len(totals) < s.outlier_min_history:
        return
    found = robust_outlier(facts.total_minor, totals, s.outlier_threshold)
    if found is None:
        return
    median, mad, z = found
    cur = facts.currency
    direction = "above" if facts.total_minor > median else "below"
    typical = format_minor(int(median.to_integral_value()), cur)
    spread = format_minor(int(mad.to_integral_value()), cur)
    how_far = (
        "while its invoices never vary"
        if mad == 0
        else f"about {abs(z / Decimal('0.6745')).quantize(Decimal(1))} typical spreads away"
    )
    yield Finding(
        "unusual_amount",
        Severity.WARN,
        facts.draft,
        "total",
        f"{format_minor(facts.total_minor, cur)} {cur} is far {direction} what "
        f"{facts.customer.code} usually owes: its last {len(totals)} invoices had a median of "
        f"{typical} {cur} (typical spread {spread} {cur}); this one is {how_far}",
    )


def needs_approval(facts: DraftFacts, s: Settings) -> Iterator[Finding]:
    if s.approval_threshold_minor is not None and facts.total_minor > s.approval_threshold_minor:
        yield Finding(
            "approval_required",
            Severity.BLOCK,
            facts.draft,
            "total",
            f"total above {format_minor(s.approval_threshold_minor, facts.currency)} "
            f"{facts.currency} needs a second person's approval",
        )


RULES: tuple[Rule, ...] = (
    price_differs_from_contract,
    quantity_exceeds_delivery,
    purchase_order,
    contract_terms,
    master_data,
    possible_duplicate,
    unusual_amount,
    needs_approval,
)


def verify_draft(facts: DraftFacts, settings: Settings = Settings()) -> tuple[Finding, ...]:
    """Every finding of every rule, in the order of RULES."""
    return tuple(finding for rule in RULES for finding in rule(facts, settings))
