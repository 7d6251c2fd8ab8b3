"""Request and response bodies of invoicing's preparation and documents: legal entities, the
catalog, contracts, purchase orders, deliveries, billing, drafts, discrepancies, verification
settings, credit notes, the outbox and mail preferences.

As in `schemas`: amounts are decimal strings with the currency's places ("1190.00"), unit
prices, quantities and rates decimal strings with up to 10 places; a JSON number is refused
wherever money or a quantity belongs. Every text is bounded by the column that stores it, and
every request body refuses fields it does not know (`extra="forbid"`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from openbill.interfaces.api.schemas import InvoiceDetail, InvoiceIn, IsoDate, LineIn, UtcDateTime

__all__ = [
    "decimal_text",
    "price_text",
    "EntityOut",
    "EntityIn",
    "TaxRule",
    "TaxRuleIn",
    "TaxRulePage",
    "ChargeCode",
    "ChargeCodeIn",
    "ChargeCodePage",
    "Price",
    "PriceIn",
    "PricePage",
    "Contract",
    "ContractIn",
    "ContractPage",
    "ContractPrice",
    "ContractPriceIn",
    "PurchaseOrder",
    "PurchaseOrderIn",
    "PurchaseOrderPage",
    "PoLine",
    "PoLineIn",
    "Delivery",
    "DeliveryPage",
    "DeliveriesImported",
    "RowProblem",
    "BillingIn",
    "Prepared",
    "DraftIn",
    "LinesIn",
    "Draft",
    "IssueIn",
    "Verified",
    "Discrepancy",
    "DiscrepancyPage",
    "OverrideIn",
    "VerificationSettings",
    "VerificationSettingsChange",
    "CreditIn",
    "VoidIn",
    "InvoiceShown",
    "InvoiceCreate",
    "MailPreferences",
    "MailPreferencesChange",
    "MailPreferencesPage",
    "OutboxMessage",
    "OutboxMessageDetail",
    "OutboxPage",
    "Queued",
]


def decimal_text(value: Any) -> str | None:
    """An exact decimal as plain text without trailing zeros ("2", "0.5", "19"), whatever the
    database gave back (SQLite text, PostgreSQL NUMERIC(38,10))."""
    if value is None:
        return None
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in ("-0", "") else text


def price_text(value: Any) -> str | None:
    """A unit price with at least two places ("85.00", "0.68125")."""
    text = decimal_text(value)
    if text is None:
        return None
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


# A quantity or unit price: a decimal string, never a JSON number; at most 10 places.
Decimal10 = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,15}(\.[0-9]{1,10})?$", strip_whitespace=True),
    Field(description='a non-negative decimal as text, e.g. "12.50"', examples=["12.50"]),
]
Money = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,15}(\.[0-9]{1,10})?$", strip_whitespace=True),
    Field(description='a non-negative amount as text, e.g. "1000.00"', examples=["1000.00"]),
]


_SOMETHING = r"\S"  # at least one character that is not a blank


def _bounded(max_length: int, min_length: int = 0) -> Any:
    # Blanks at either end are dropped; a text that must be given must hold something else:
    # "\r" alone is refused by the schema too, not only by the server after stripping.
    return StringConstraints(
        min_length=min_length,
        max_length=max_length,
        strip_whitespace=True,
        pattern=_SOMETHING if min_length else None,
    )


# Texts bounded by the columns that store them.
Text8 = Annotated[str, _bounded(8)]
Text32 = Annotated[str, _bounded(32)]
Text34 = Annotated[str, _bounded(34)]
Text40 = Annotated[str, _bounded(40)]
Text100 = Annotated[str, _bounded(100)]
Text200 = Annotated[str, _bounded(200)]
Text300 = Annotated[str, _bounded(300)]
Code16 = Annotated[str, _bounded(16, 1)]
Code32 = Annotated[str, _bounded(32, 1)]
Number40 = Annotated[str, _bounded(40, 1)]
Name200 = Annotated[str, _bounded(200, 1)]
Reason200 = Annotated[str, _bounded(200, 1)]
Reason500 = Annotated[str, _bounded(500, 1)]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")]
Terms = Text32


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


# ---------------------------------------------------------------------------------------------
# legal entities


class EntityOut(BaseModel):
    code: str
    name: str
    country: str
    base_currency: str
    rounding: str
    vat_id: str | None
    tax_number: str | None
    iban: str | None
    address: str
    email: str
    payment_terms: str
    created_at: UtcDateTime


class EntityIn(_In):
    code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")]
    name: Name200
    country: Country
    base_currency: Currency
    rounding: Literal["half_up", "half_even"] = "half_up"
    vat_id: Text32 = ""
    tax_number: Text32 = ""
    iban: Text34 = ""
    address: Text300 = ""
    email: Text200 = ""
    payment_terms: Terms = "net30"


# ---------------------------------------------------------------------------------------------
# catalog


class TaxRule(BaseModel):
    id: int
    jurisdiction: str
    tax_class: str
    valid_from: IsoDate
    category: str
    rate: str = Field(description="percent, e.g. 19")
    exemption_reason: str
    exemption_code: str


class TaxRulePage(BaseModel):
    data: list[TaxRule]
    next_cursor: str | None


class TaxRuleIn(_In):
    jurisdiction: Country
    tax_class: Code32
    valid_from: IsoDate
    category: Literal["S", "Z", "E", "AE", "K", "G", "O"]
    rate: Decimal10 = Field(description='percent, e.g. "19"')
    exemption_reason: Text300 = ""
    exemption_code: Text32 = ""


class ChargeCode(BaseModel):
    code: str
    name: str
    unit: str
    revenue_account: str
    tax_class: str
    active: bool
    created_at: UtcDateTime


class ChargeCodePage(BaseModel):
    data: list[ChargeCode]
    next_cursor: str | None


class ChargeCodeIn(_In):
    code: Code32
    name: Name200
    unit: Code16 = Field(description="UN/ECE rec. 20 code or a name: C62, hour, piece")
    revenue_account: Code16
    tax_class: Code32 = "standard"


class Price(BaseModel):
    id: int
    charge_code: str
    currency: str
    effective_from: IsoDate
    model: str
    params: dict[str, Any] = Field(description="numbers as decimal strings")
    includes_tax: bool
    created_at: UtcDateTime


class PricePage(BaseModel):
    data: list[Price]
    next_cursor: str | None


class PriceIn(_In):
    charge_code: Code32
    currency: Currency
    effective_from: IsoDate
    model: Literal["flat", "per_unit", "graduated", "volume", "package", "percentage", "minimum"]
    params: dict[str, Any] = Field(
        description='the model\'s parameters, numbers as decimal strings: {"unit_price": '
        '"12.50"}; tiers as [{"up_to": "100", "unit_price": "0.10"}, {"up_to": null, ...}]',
        examples=[{"unit_price": "12.50"}],
    )
    includes_tax: bool = False


# ---------------------------------------------------------------------------------------------
# contracts and purchase orders


class ContractPrice(BaseModel):
    charge_code: str
    effective_from: IsoDate
    unit_price: str


class Contract(BaseModel):
    number: str
    customer: str
    valid_from: IsoDate
    valid_to: IsoDate | None
    currency: str
    payment_terms: str | None
    grouping: str
    period: str
    discount_percent: str
    po_required: bool
    spending_cap: str | None
    created_at: UtcDateTime
    prices: list[ContractPrice] | None = Field(
        default=None, description="the negotiated prices (on the contract itself, not in lists)"
    )


class ContractPage(BaseModel):
    data: list[Contract]
    next_cursor: str | None


class ContractIn(_In):
    number: Number40
    customer: Code32
    valid_from: IsoDate
    valid_to: IsoDate | None = None
    currency: Currency | Literal[""] = ""
    payment_terms: Terms = ""
    grouping: Literal["per_delivery", "per_po", "per_period"] = "per_period"
    period: Literal["week", "month", "quarter"] = "month"
    discount_percent: Decimal10 = "0"
    po_required: bool = False
    spending_cap: Money | Literal[""] = ""


class ContractPriceIn(_In):
    charge_code: Code32
    effective_from: IsoDate
    unit_price: Decimal10


class PoLine(BaseModel):
    line_no: int
    charge_code: str
    quantity: str | None
    unit_price: str | None
    amount_ceiling: str | None
    used_quantity: str
    used_amount: str


class PurchaseOrder(BaseModel):
    number: str
    customer: str
    contract: str | None
    valid_from: IsoDate | None
    valid_to: IsoDate | None
    currency: str
    created_at: UtcDateTime
    lines: list[PoLine]


class PurchaseOrderPage(BaseModel):
    data: list[PurchaseOrder]
    next_cursor: str | None


class PurchaseOrderIn(_In):
    customer: Code32
    number: Number40
    valid_from: IsoDate | None = None
    valid_to: IsoDate | None = None
    contract: Text40 = ""
    currency: Currency | Literal[""] = ""


class PoLineIn(_In):
    line_no: Annotated[int, Field(ge=1, le=99_999)]
    charge_code: Code32
    quantity: Decimal10 | Literal[""] = Field(default="", description="ceiling on quantity")
    unit_price: Decimal10 | Literal[""] = Field(default="", description="the ordered price")
    amount_ceiling: Money | Literal[""] = Field(default="", description="ceiling on the net")


# ---------------------------------------------------------------------------------------------
# deliveries and billing


class DeliveryBilling(BaseModel):
    document_id: int
    document_number: str = Field(description="empty while the document is a draft")
    document_kind: str
    document_status: str
    line_no: int
    quantity: str
    net: str


class Delivery(BaseModel):
    ref: str
    kind: str
    customer: str
    contract: str | None
    po: str | None
    po_line: int | None
    charge_code: str
    date: IsoDate
    status: str = Field(description="confirmed or pending")
    shipped: str | None
    accepted: str | None
    hours: str | None
    role: str
    percent: str | None
    amount: str | None = Field(description="a milestone's fixed amount")
    quantity: str = Field(description="billable: accepted (else shipped) units, hours, or 1")
    description: str
    revision: int
    source: str = Field(description="file:line it was imported from")
    billed_quantity: str
    billings: list[DeliveryBilling]


class DeliveryPage(BaseModel):
    data: list[Delivery]
    next_cursor: str | None


class RowProblem(BaseModel):
    line: int = Field(description="the line of the body the row starts on")
    field: str
    reason: str
    row: dict[str, str] = Field(default_factory=dict, description="the row's fields as given")


class DeliveriesImported(BaseModel):
    created: int
    corrected: int
    unchanged: int
    rejected: list[RowProblem] = Field(description="bad rows left out (keep_good=true only)")


class BillingIn(_In):
    through: IsoDate = Field(description="bill confirmed deliveries up to this date")
    document_date: IsoDate | None = Field(default=None, description="of the drafts [today]")


class PreparedDocument(BaseModel):
    kind: str = Field(description="draft, correcting_line (added to a draft) or credit_note")
    document_id: int
    number: str = Field(description="a credit note's number; empty for drafts")
    customer: str
    lines: int
    net: str
    currency: str
    deliveries: list[str]


class HeldDelivery(BaseModel):
    delivery: str
    field: str
    reason: str


class Prepared(BaseModel):
    documents: list[PreparedDocument]
    held: list[HeldDelivery] = Field(description="deliveries not billed now, and why")
    looked_at: int


# ---------------------------------------------------------------------------------------------
# drafts and verification


class AdjustmentIn(_In):
    kind: Literal["allowance", "charge"]
    amount: Money
    reason: Reason200
    tax_class: Code32 = "standard"
    reason_code: Text8 = ""


class DraftIn(_In):
    """A draft invoice: no number yet, lines priced from the contract or catalog unless a line
    names its price."""

    customer: Code32
    document_date: IsoDate | None = None
    currency: Currency | Literal[""] = ""
    buyer_reference: Text100 = ""
    lines: Annotated[list[LineIn], Field(max_length=1000)] = []
    adjustments: Annotated[list[AdjustmentIn], Field(max_length=100)] = []


class LinesIn(_In):
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=1000)]


class TaxSubtotal(BaseModel):
    category: str
    rate: str
    taxable: str
    tax: str
    exemption_reason: str
    exemption_code: str


class Adjustment(BaseModel):
    kind: str
    reason: str
    amount: str
    tax_category: str
    tax_rate: str


class Discrepancy(BaseModel):
    id: int
    draft_id: int
    document_number: str = Field(description="once the draft was issued")
    customer: str
    rule: str
    severity: str = Field(description="block or warn")
    record: str
    field: str
    message: str
    status: str = Field(description="open, resolved or overridden")
    resolution: str
    resolved_by: str | None
    resolved_at: UtcDateTime | None
    created_at: UtcDateTime


class DiscrepancyPage(BaseModel):
    data: list[Discrepancy]
    next_cursor: str | None


class Approval(BaseModel):
    approved_by: str
    approved_at: UtcDateTime
    total: str


class DraftLine(BaseModel):
    line_no: int
    charge_code: str | None
    description: str
    quantity: str
    unit: str
    unit_price: str
    net: str
    tax_category: str
    tax_rate: str


class Draft(BaseModel):
    id: int
    status: str = Field(description="draft, or issued once it was")
    number: str = Field(description="the number it was issued as; empty while a draft")
    customer: str
    customer_name: str
    document_date: IsoDate
    currency: str
    payment_terms: str
    buyer_reference: str
    net: str
    tax: str
    total: str
    lines: list[DraftLine]
    taxes: list[TaxSubtotal]
    adjustments: list[Adjustment]
    discrepancies: list[Discrepancy]
    approval: Approval | None


class IssueIn(_In):
    issue_date: IsoDate | None = Field(default=None, description="[today]")


class Verified(BaseModel):
    draft_id: int
    open_blocking: int
    open_warnings: int
    overridden: int
    resolved_now: int


class OverrideIn(_In):
    reason: Reason500 = Field(
        description="why the finding is accepted (at least 10 characters; audited)"
    )


class VerificationSettings(BaseModel):
    approval_threshold: str | None = Field(
        description="drafts above this total need a second person's approval; null: none"
    )
    currency: str = Field(description="the legal entity's base currency")
    duplicate_window_days: int
    price_tolerance: str
    revision: str


class VerificationSettingsChange(_In):
    """The settings to change; a field left out keeps its value."""

    approval_threshold: Money | Literal[""] | None = Field(
        default=None, description='"" removes the threshold'
    )
    duplicate_window_days: Annotated[int, Field(ge=0, le=366)] | None = None
    price_tolerance: Decimal10 | None = None


# ---------------------------------------------------------------------------------------------
# issued documents


class CreditLineIn(_In):
    line_no: Annotated[int, Field(ge=1, le=1000)]
    quantity: Decimal10


class CreditIn(_In):
    """A credit note for an invoice: all of it, or quantities of some of its lines."""

    reason: Reason500
    date: IsoDate | None = Field(default=None, description="of the credit note [today]")
    lines: Annotated[list[CreditLineIn], Field(max_length=1000)] = []


class VoidIn(_In):
    reason: Reason500
    date: IsoDate | None = Field(default=None, description="of the credit note [today]")


class WriteOff(BaseModel):
    on: IsoDate
    amount: str
    reason: str
    reversed_on: IsoDate | None


class InvoiceShown(InvoiceDetail):
    """An invoice or credit note whole: header, lines, tax subtotals, allowances and charges,
    settlements and write-offs."""

    payment_terms: str
    reason: str = Field(description="a credit note's reason")
    credited_invoice: str = Field(description="the invoice a credit note credits")
    taxes: list[TaxSubtotal]
    adjustments: list[Adjustment]
    write_offs: list[WriteOff]


class InvoiceCreate(InvoiceIn):
    """An invoice to issue at once, with document-level allowances and charges if any."""

    buyer_reference: Text100 = ""  # the column's bound (the base model allows 500)
    adjustments: Annotated[list[AdjustmentIn], Field(max_length=100)] = []


# ---------------------------------------------------------------------------------------------
# mail


class MailPreferences(BaseModel):
    customer: str
    email_to: str = Field(description="addresses for documents; empty: the customer's e-mail")
    customer_email: str
    attach_xml: str = Field(description="e-invoice XML attached beside the PDF: none, ubl, cii")
    revision: str


class MailPreferencesPage(BaseModel):
    data: list[MailPreferences]
    next_cursor: str | None


class MailPreferencesChange(_In):
    """The preferences to change; a field left out keeps its value."""

    email_to: Text300 | None = Field(
        default=None, description='comma-separated addresses; "" for the customer\'s own'
    )
    attach_xml: Literal["none", "ubl", "cii"] | None = None


class OutboxMessage(BaseModel):
    id: int
    document: str
    customer: str
    to: str
    subject: str
    status: str = Field(description="queued, sending, sent, failed or unknown")
    attempts: int
    next_attempt_at: UtcDateTime | None
    sent_at: UtcDateTime | None
    last_error: str
    created_at: UtcDateTime


class Attempt(BaseModel):
    attempt_no: int
    started_at: UtcDateTime
    finished_at: UtcDateTime
    outcome: str
    smtp_code: int | None
    detail: str


class OutboxMessageDetail(OutboxMessage):
    attempt_log: list[Attempt]


class OutboxPage(BaseModel):
    data: list[OutboxMessage]
    next_cursor: str | None


class Queued(BaseModel):
    id: int
    created: bool = Field(description="false: the document was queued before; this is that one")
    status: str
    to: str
    attachments: list[str]
