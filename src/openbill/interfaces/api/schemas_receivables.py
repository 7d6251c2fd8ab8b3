"""Request and response bodies of the receivables routes: payments beyond recording (show,
allocate, reverse, import), refunds, customer credit, write-offs, the small-difference
tolerance, exchange rates, dispute cases and dunning.

As in `schemas`: amounts are decimal strings with the currency's places and a JSON number
where money belongs is refused; request bodies forbid unknown fields and bound every text and
list."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from openbill.interfaces.api.schemas import (
    AllocationIn,
    Amount,
    Code,
    IsoDate,
    Payment,
    PaymentIn,
    PaymentRecorded,
    UtcDateTime,
)

__all__ = [
    "MAX_ALLOCATIONS",
    "MAX_CREDIT_LINES",
    "Rate",
    "Percent",
    "PaymentRecordIn",
    "PaymentRecordedOut",
    "PaymentDetail",
    "AllocateIn",
    "Allocated",
    "ReverseIn",
    "Reversed",
    "ImportReport",
    "ImportProfile",
    "RefundIn",
    "Refund",
    "RefundPage",
    "CreditApplyIn",
    "CreditApplied",
    "WriteOffIn",
    "WriteOff",
    "WriteOffPage",
    "ToleranceIn",
    "Tolerance",
    "FxRateIn",
    "FxRate",
    "FxRatePage",
    "RateInUse",
    "FxImported",
    "DisputeIn",
    "Dispute",
    "DisputePage",
    "DisputeDetail",
    "DisputeChange",
    "DisputeStatusIn",
    "NoteIn",
    "AttachmentIn",
    "TimelineAdded",
    "CreditNoteIn",
    "RebillIn",
    "RejectionIn",
    "Resolved",
    "DisputeReport",
    "PolicyIn",
    "Policy",
    "PolicyPage",
    "DunningSettings",
    "DunningSettingsChange",
    "CustomerDunning",
    "CustomerDunningIn",
    "RunIn",
    "RunReport",
    "Run",
    "RunPage",
    "DunningHistory",
    "PromiseIn",
    "Promise",
    "PromisePage",
    "HoldIn",
    "Hold",
    "HoldPage",
    "ReleaseIn",
]

MAX_ALLOCATIONS = 1_000  # invoices one allocation request names
MAX_CREDIT_LINES = 1_000  # lines a credit note of a dispute names (an invoice's most)

Rate = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,15}(\.[0-9]{1,10})?$", strip_whitespace=True),
    Field(description='1 unit of one currency in units of the other, as text, e.g. "0.9231"'),
]
Percent = Annotated[
    str,
    StringConstraints(pattern=r"^-?[0-9]{1,3}(\.[0-9]{1,10})?$", strip_whitespace=True),
    Field(description='percent a year or percentage points, as text, e.g. "2.15"'),
]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")]
# The same, or empty (one pattern, not a union, so that a refusal names the field alone).
MaybeRate = Annotated[
    str,
    StringConstraints(pattern=r"^([0-9]{1,15}(\.[0-9]{1,10})?)?$", strip_whitespace=True),
    Field(description='empty, or 1 unit of one currency in units of the other, e.g. "0.9231"'),
]
MaybeAmount = Annotated[
    str,
    StringConstraints(pattern=r"^(-?[0-9]{1,15}(\.[0-9]{1,10})?)?$", strip_whitespace=True),
    Field(description='empty, or a decimal amount as text, e.g. "1190.00"'),
]
MaybeCurrency = Annotated[str, StringConstraints(pattern=r"^([A-Za-z]{3})?$")]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500)]
LongText = Annotated[str, StringConstraints(max_length=4000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class CurrencyAmount(BaseModel):
    currency: str
    amount: str


# --- payments -------------------------------------------------------------------------------


class PaymentRecordIn(PaymentIn):
    """A payment received, allocated as asked; across currencies at `rate` (1 unit of the
    invoice's currency = `rate` units of the payment's), else at the stored rate of the day."""

    rate: MaybeRate = ""
    invoice_currency: MaybeCurrency = Field(
        "", description="pay the oldest invoices in this currency (oldest and auto)"
    )
    keep_difference: bool = Field(
        False, description="leave a small short payment open instead of writing it off"
    )


class PaymentRecordedOut(PaymentRecorded):
    written_off: str = Field(description="small differences closed with a write-off")
    written_off_currency: str
    fx_difference: str = Field(description="realised exchange difference, + a gain")
    base_currency: str


class PaymentAllocation(BaseModel):
    invoice: str
    currency: str = Field(description="the invoice's currency")
    amount: str = Field(description="in the invoice's currency")
    allocated_on: IsoDate
    payment_amount: str = Field(description="what it took of the payment, in its currency")
    rate: str | None = Field(description="1 invoice currency = rate payment currency; null: same")
    exchange_difference: str | None = Field(description="realised, in base currency; + a gain")


class PaymentDetail(Payment):
    reversal_reason: str
    allocations: list[PaymentAllocation]


class AllocateIn(_In):
    """What is left of a payment, to the invoices named, else by its reference, else oldest
    first."""

    to: Annotated[list[AllocationIn], Field(max_length=MAX_ALLOCATIONS)] = []
    date: IsoDate | None = None
    rate: MaybeRate = ""
    invoice_currency: MaybeCurrency = ""
    keep_difference: bool = False


class Allocated(BaseModel):
    allocated: str = Field(description="of the payment, in its currency, by this request")
    currency: str
    payment: PaymentDetail


class ReverseIn(_In):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    date: IsoDate | None = None


class Reversed(BaseModel):
    reopened: list[str] = Field(description="the invoices open again")
    payment: PaymentDetail


class ImportTotals(BaseModel):
    currency: str
    payments: int
    received: str
    allocated: str
    credit_left: str
    written_off: str


class ImportedPayment(BaseModel):
    line: int
    payment_id: int | None = Field(description="null in a dry run: nothing was recorded")
    customer: str
    currency: str
    amount: str
    allocated: str
    how: str
    invoices: list[str]
    written_off: str
    payer: str


class RejectedRow(BaseModel):
    line: int
    field: str
    reason: str
    row: dict[str, str] = Field(description="the row as the file gave it")


class ImportReport(BaseModel):
    source: str
    profile: str
    dry_run: bool
    rows_read: int
    recorded: int = Field(description="payments recorded (a dry run: would be)")
    already_imported: int
    debits_skipped: int
    not_paid_skipped: int
    refunded_skipped: int
    allocation: dict[str, int]
    totals: list[ImportTotals]
    payments: list[ImportedPayment]
    rejected: list[RejectedRow]


class ImportProfile(BaseModel):
    """How one kind of payments file is laid out (see docs/payments-import.md)."""

    name: str
    description: str
    columns: dict[str, list[str]] = Field(description="the column names each field is read from")
    currency: str
    method: str
    paid_statuses: list[str]
    date_format: str
    decimal: str
    thousands: str
    delimiter: str
    encoding: str


# --- refunds, credit, write-offs, tolerance -------------------------------------------------

Method = Literal["bank_transfer", "card", "cash", "cheque", "direct_debit", "other"]


class RefundIn(_In):
    customer: Code
    amount: Amount
    currency: MaybeCurrency = ""
    date: IsoDate | None = None
    method: Method = "bank_transfer"
    reference: Annotated[str, StringConstraints(max_length=140)] = ""


class Refund(BaseModel):
    id: int
    customer: str
    currency: str
    amount: str
    refunded_on: IsoDate
    method: str
    reference: str


class RefundPage(BaseModel):
    data: list[Refund]
    next_cursor: str | None


class CreditApplyIn(_In):
    currency: MaybeCurrency = ""
    date: IsoDate | None = None


class CreditApplied(BaseModel):
    customer: str
    currency: str
    applied: str = Field(description="credit used on open invoices, oldest first")


class WriteOffIn(_In):
    invoice: Code
    reason: Reason
    amount: MaybeAmount = Field("", description="empty: everything still open")
    date: IsoDate | None = None


class WriteOff(BaseModel):
    id: int
    invoice: str
    customer: str
    currency: str
    amount: str
    reason: str
    written_off_on: IsoDate
    small_difference: bool = Field(description="closed a small payment difference")
    reversed_on: IsoDate | None = Field(description="taken back (an undone bank match)")
    reversal_reason: str


class WriteOffPage(BaseModel):
    data: list[WriteOff]
    next_cursor: str | None


class ToleranceIn(_In):
    amount: Amount = Field(description='the most a short payment may leave open; "0" switches off')


class Tolerance(BaseModel):
    currency: str
    amount: str


# --- exchange rates -------------------------------------------------------------------------


class FxRateIn(_In):
    model_config = ConfigDict(extra="forbid", populate_by_name=False)

    date: IsoDate
    from_: Currency = Field(alias="from")
    to: Currency
    rate: Rate = Field(description="1 `from` = rate `to`")


class FxRate(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: int
    date: IsoDate
    from_: str = Field(alias="from")
    to: str
    rate: str
    source: str


class FxRatePage(BaseModel):
    data: list[FxRate]
    next_cursor: str | None


class RateInUse(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    on: IsoDate
    from_: str = Field(alias="from")
    to: str
    rate: str = Field(description="1 `from` = rate `to`")
    rate_date: IsoDate | None = Field(description="the date of the stored rate used")


class FxImported(BaseModel):
    source: str
    imported: int


# --- disputes -------------------------------------------------------------------------------

DisputeReason = Literal[
    "price", "quantity", "not_delivered", "duplicate", "tax", "contract_terms", "other"
]


class DisputeIn(_In):
    invoice: Code
    reason: DisputeReason
    amount: MaybeAmount = Field("", description="empty: all that can be disputed")
    line: Annotated[int, Field(ge=1, le=1000)] | None = None
    owner: Annotated[str, StringConstraints(max_length=100)] = ""
    due_on: IsoDate | None = None
    note: LongText = ""
    opened_on: IsoDate | None = None


class Dispute(BaseModel):
    case: str
    invoice: str
    line: int | None
    charge_code: str | None
    customer: str
    reason: str
    amount: str = Field(description="in dispute, in the invoice's currency")
    currency: str
    status: str
    owner: str
    due_on: IsoDate | None
    overdue: bool
    opened_on: IsoDate
    opened_by: str
    closed_on: IsoDate | None
    resolution: str


class DisputePage(BaseModel):
    data: list[Dispute]
    next_cursor: str | None


class TimelineEntry(BaseModel):
    at: UtcDateTime
    actor: str
    kind: str
    detail: str
    reference: str


class ResolutionOut(BaseModel):
    kind: str
    resolved_on: IsoDate
    resolved_by: str
    credit_note: str | None
    credit_note_total: str | None
    rebill_invoice: str | None
    rebill_total: str | None
    explanation: str


class DisputeDetail(Dispute):
    customer_name: str
    open: str = Field(description="still open on the invoice")
    resolution_detail: ResolutionOut | None
    timeline: list[TimelineEntry]


class DisputeChange(_In):
    """The fields to change; a field left out keeps its value."""

    owner: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    due_on: IsoDate | None = None
    amount: Amount | None = None
    note: LongText = ""


class DisputeStatusIn(_In):
    status: Literal["open", "waiting_on_customer", "waiting_on_internal"]
    note: LongText = ""


class NoteIn(_In):
    text: Annotated[str, StringConstraints(min_length=1, max_length=4000)]


class AttachmentIn(_In):
    reference: Annotated[
        str,
        StringConstraints(min_length=1, max_length=500),
        Field(description="where the file is kept: a URL, a path, a DMS id"),
    ]
    label: LongText = ""


class TimelineAdded(BaseModel):
    case: str
    entries: int = Field(description="entries on the case's timeline now")


class CreditLineIn(_In):
    line: Annotated[int, Field(ge=1, le=MAX_CREDIT_LINES)]
    quantity: Amount


class CreditNoteIn(_In):
    """Credit the disputed invoice: the lines and quantities given, else the case's line or
    the whole invoice (refused when that is more than the amount in dispute)."""

    lines: Annotated[list[CreditLineIn], Field(max_length=MAX_CREDIT_LINES)] = []
    date: IsoDate | None = None
    note: LongText = ""


class RebillLineIn(_In):
    """A line of the corrected invoice: priced from the catalog unless it names its price."""

    charge_code: Code
    quantity: Amount = "1"
    description: Annotated[str, StringConstraints(max_length=500)] = ""
    unit_price: MaybeAmount = ""


class RebillIn(_In):
    """Credit the whole invoice and issue the corrected one with these lines."""

    lines: Annotated[list[RebillLineIn], Field(min_length=1, max_length=MAX_CREDIT_LINES)]
    date: IsoDate | None = None
    note: LongText = ""


class RejectionIn(_In):
    explanation: Annotated[str, StringConstraints(min_length=10, max_length=4000)]
    send_mail: bool = Field(True, description="false: you tell the customer another way")
    date: IsoDate | None = None


class Resolved(BaseModel):
    case: str
    status: str
    resolution: str
    invoice: str
    currency: str
    credit_note: str
    credit_note_total: str
    rebill_invoice: str
    rebill_total: str
    carried_over: str = Field(description="already paid, moved to the corrected invoice")
    adjusted: str = Field(description="taken off the customer's debt")
    mail: str


class ReportGroup(BaseModel):
    key: str
    cases: int
    active: int
    resolved: int
    rejected: int
    disputed: list[CurrencyAmount]
    adjusted: list[CurrencyAmount]
    days_mean: str | None
    days_median: str | None


class DisputeReport(BaseModel):
    date_from: IsoDate | None
    date_to: IsoDate | None
    total: ReportGroup
    by_reason: list[ReportGroup]
    by_charge_code: list[ReportGroup]
    by_cause: list[ReportGroup]


# --- dunning --------------------------------------------------------------------------------

DunningAction = Literal[
    "reminder",
    "late_fee",
    "recovery_fee",
    "interest",
    "final_notice",
    "credit_hold",
    "collections",
]


class StepIn(_In):
    offset_days: int = Field(description="days from the due date; negative: before it")
    actions: Annotated[list[DunningAction], Field(min_length=1, max_length=7)]
    template: Annotated[str, StringConstraints(max_length=64)] = ""
    fee: MaybeAmount = Field("", description="the fee of a late_fee step")


class PolicyIn(_In):
    code: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    steps: Annotated[list[StepIn], Field(min_length=1, max_length=20)]
    currency: MaybeCurrency = ""
    minimum: Amount = "0"
    fee_charge_code: Annotated[str, StringConstraints(min_length=1, max_length=32)] = "LATE-FEE"
    interest_charge_code: Annotated[str, StringConstraints(min_length=1, max_length=32)] = (
        "LATE-INTEREST"
    )
    promise_grace_days: Annotated[int, Field(ge=0, le=60)] = 3
    default: bool = False


class Step(BaseModel):
    step_no: int
    offset_days: int
    actions: list[str]
    template: str
    fee: str


class Policy(BaseModel):
    code: str
    name: str
    currency: str
    minimum: str
    fee_charge_code: str
    interest_charge_code: str
    promise_grace_days: int
    default: bool
    steps: list[Step]


class PolicyPage(BaseModel):
    data: list[Policy]
    next_cursor: str | None


class DunningSettings(BaseModel):
    default_policy: str
    interest_enabled: bool
    reference_rate: str
    margin: str
    annual_rate: str
    recovery_fee: str
    recovery_currency: str


class DunningSettingsChange(_In):
    """The settings to change; a setting left out keeps its value."""

    default_policy: Annotated[str, StringConstraints(max_length=32)] | None = None
    interest_enabled: bool | None = None
    reference_rate: Percent | None = None
    margin: Percent | None = None
    recovery_fee: Amount | None = None
    recovery_currency: Currency | None = None


class CustomerDunning(BaseModel):
    customer: str
    policy: str
    policy_is_default: bool
    language: str
    language_chosen: bool


class CustomerDunningIn(_In):
    """The whole of a customer's dunning choice: "" for the entity's default policy and for
    the language of the customer's country."""

    policy: Annotated[str, StringConstraints(max_length=32)] = ""
    language: Annotated[str, StringConstraints(pattern=r"^([a-z]{2})?$")] = ""


class RunIn(_In):
    as_of: IsoDate
    dry_run: bool = False
    customer: Annotated[str, StringConstraints(max_length=64)] = ""


class ReportLine(BaseModel):
    customer: str
    invoice: str
    step_no: int | None
    outcome: str
    reason: str
    detail: str


class RunReport(BaseModel):
    run_id: int | None
    as_of: IsoDate
    dry_run: bool
    invoices_seen: int
    steps_taken: int
    fee_invoices: int
    emails: int
    message: str
    lines: list[ReportLine]


class Run(BaseModel):
    id: int
    as_of: IsoDate
    status: str
    actor: str
    invoices_seen: int
    steps_taken: int
    skipped: int
    fee_invoices: int
    emails: int
    message: str
    started_at: UtcDateTime
    finished_at: UtcDateTime | None


class RunPage(BaseModel):
    data: list[Run]
    next_cursor: str | None


class HistoryStep(BaseModel):
    taken_on: IsoDate
    step_no: int
    policy: str
    actions: str
    dunned: str
    fee: str
    interest: str
    fee_invoice: str
    email: str
    skipped: str


class HistorySkip(BaseModel):
    on: IsoDate
    reason: str
    detail: str


class DunningHistory(BaseModel):
    invoice: str
    currency: str
    steps: list[HistoryStep]
    skips: list[HistorySkip]


class PromiseIn(_In):
    customer: Code
    amount: Amount
    pay_by: IsoDate
    note: Annotated[str, StringConstraints(max_length=500)] = ""
    made_on: IsoDate | None = None


class Promise(BaseModel):
    id: int
    customer: str
    made_on: IsoDate
    pay_by: IsoDate
    amount: str
    currency: str
    status: str
    note: str
    replaced: int | None = Field(description="the open promise this one replaced")


class PromisePage(BaseModel):
    data: list[Promise]
    next_cursor: str | None


class HoldIn(_In):
    customer: Code
    kind: Literal["dunning", "credit"] = "dunning"
    reason: Annotated[str, StringConstraints(min_length=10, max_length=500)]


class Hold(BaseModel):
    id: int
    customer: str
    kind: str
    reason: str
    source: str
    invoice: str
    set_by: str
    set_at: str
    released_at: str
    released_by: str
    release_reason: str


class HoldPage(BaseModel):
    data: list[Hold]
    next_cursor: str | None


class ReleaseIn(_In):
    reason: Annotated[str, StringConstraints(min_length=10, max_length=500)]
