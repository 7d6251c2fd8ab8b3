"""Request and response bodies of the bank and the books: bank accounts, statements, lines,
matching runs, the review queue and its decisions, settings, reconciliation, AR aging and
metrics, ledger balances and entries, customer statements, verify and the audit trail.

As in `schemas`: amounts are decimal strings with the currency's places, JSON numbers are
refused where money belongs, request bodies refuse fields they do not know."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from openbill.domain.bank import format_amount
from openbill.domain.metrics import Metric, NotEnoughData
from openbill.interfaces.api.schemas import Amount, Code, IsoDate, Text, UtcDateTime, _In

__all__ = [
    "AgingReport",
    "AuditEvent",
    "AuditPage",
    "BankAccount",
    "BankAccountIn",
    "BankAccountList",
    "BankLine",
    "BankLineDetail",
    "BankLinePage",
    "BankSettings",
    "BankSettingsChange",
    "BankStatement",
    "BankStatementPage",
    "ConfirmIn",
    "CustomerBalances",
    "CustomerStatement",
    "Decided",
    "Figure",
    "JournalPage",
    "LedgerBalances",
    "MatchRun",
    "MatchRunIn",
    "MetricsReport",
    "OtherIn",
    "Reconciliation",
    "ReviewPage",
    "SplitIn",
    "StatementImport",
    "UndoIn",
    "VerifyResult",
    "bank_amount",
    "figure",
]

CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")]
# An amount or nothing, as one string type (a union would name its members in the field at
# fault: "opening_balance.constrained-str").
AmountOrEmpty = Annotated[
    str,
    StringConstraints(pattern=r"^(-?[0-9]{1,15}(\.[0-9]{1,10})?)?$", strip_whitespace=True),
    Field(description='a decimal amount as text, e.g. "1190.00", or ""', examples=["1190.00"]),
]
# Blanks at either end are dropped; "\r" alone is refused by the schema too (\S).
Reason = Annotated[
    str, StringConstraints(min_length=1, max_length=300, strip_whitespace=True, pattern=r"\S")
]
LedgerAccount = Annotated[str, StringConstraints(max_length=16, strip_whitespace=True)]


def bank_amount(minor: int | None, currency: str) -> str | None:
    """Minor units as text, also for the withdrawn currencies old statements hold (DEM ...)."""
    return None if minor is None else format_amount(int(minor), currency)


# -- bank accounts -------------------------------------------------------------------------------


class BankAccount(BaseModel):
    id: int
    name: str
    iban: str
    number: str
    currency: str
    ledger_account: str
    book_balance: str = Field(description="the balance of its ledger account in the book")
    statements: int
    last_closing_on: IsoDate | None
    last_closing: str | None = Field(description="closing balance of the latest statement")
    lines_new: int
    lines_review: int
    lines_matched: int


class BankAccountList(BaseModel):
    data: list[BankAccount]


class BankAccountIn(_In):
    """A bank account to register, with the balance it had before its first statement."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    currency: CurrencyCode
    iban: Text = ""
    number: Annotated[str, StringConstraints(max_length=60)] = Field(
        default="", description="the bank's account number, when it gives no IBAN"
    )
    ledger_account: LedgerAccount = Field(
        default="", description="default: 1200, else the next free 12xx"
    )
    opening_balance: AmountOrEmpty = ""
    opening_on: IsoDate | None = Field(default=None, description="date of the opening balance")


# -- statements ----------------------------------------------------------------------------------


class StatementImported(BaseModel):
    id: int | None = Field(description="null when the statement was imported before")
    account: str
    format: str
    reference: str
    period_from: IsoDate | None
    period_to: IsoDate | None
    currency: str
    opening: str | None
    closing: str | None
    entries: int
    new_entries: int
    duplicate_of: int | None = Field(description="the statement it repeats, if any")
    problems: list[str] = Field(description="balance and continuity checks that failed")


class RuleTotal(BaseModel):
    status: Literal["automatic", "review"]
    rule: str
    currency: str
    lines: int
    amount: str


class LineOutcome(BaseModel):
    line: int
    account: str
    booked_on: IsoDate
    amount: str
    currency: str
    counterparty: str
    status: Literal["matched", "review"]
    automatic: bool
    action: str
    rule: str
    confidence: int
    explanation: str
    customer: str
    candidates: int


class SetAside(BaseModel):
    line: int
    reason: str


class MatchRun(BaseModel):
    dry_run: bool
    considered: int
    automatic: int
    review: int
    rules: list[RuleTotal] = Field(description="lines and amount per rule and currency")
    outcomes: list[LineOutcome] = Field(description="the first lines of the run, in its order")
    outcomes_total: int
    set_aside: list[SetAside] = Field(description="lines whose posting was refused, and why")


class MatchRunIn(_In):
    account: Annotated[str, StringConstraints(max_length=100)] = Field(
        default="", description="name, IBAN or number; empty: every bank account"
    )
    threshold: Annotated[int, Field(ge=50, le=101)] | None = Field(
        default=None,
        description="confidence for automatic posting in this run only (101: none)",
    )
    dry_run: bool = Field(default=False, description="propose only, post nothing")


class StatementImport(BaseModel):
    source: str
    accounts_added: list[str]
    statements: list[StatementImported]
    new_lines: int
    matching: MatchRun | None = Field(description="the matching run over the new lines")


class BankStatement(BaseModel):
    id: int
    account: str
    format: str
    reference: str
    sequence: str
    created_on: IsoDate | None
    period_from: IsoDate | None
    period_to: IsoDate | None
    currency: str
    opening: str | None
    opening_on: IsoDate | None
    closing: str | None
    closing_on: IsoDate | None
    entries: int
    new_entries: int
    source_name: str
    source_sha256: str
    problems: list[str]
    imported_by: str
    imported_at: UtcDateTime


class BankStatementPage(BaseModel):
    data: list[BankStatement]
    next_cursor: str | None


# -- lines, review, decisions --------------------------------------------------------------------


class BankLine(BaseModel):
    id: int
    account: str
    booked_on: IsoDate
    value_date: IsoDate | None
    amount: str
    currency: str
    counterparty: str
    counterparty_account: str
    remittance: str
    creditor_reference: str
    end_to_end_id: str
    bank_reference: str
    transaction_code: str
    return_reason: str
    status: Literal["new", "review", "matched"]
    confidence: int
    rule: str
    explanation: str
    decision: int | None = Field(description="the live decision on a matched line")


class BankLinePage(BaseModel):
    data: list[BankLine]
    next_cursor: str | None


class CandidateAllocation(BaseModel):
    invoice: str
    amount: str
    discount: str


class Candidate(BaseModel):
    rank: int = Field(description="what POST .../confirm takes as `candidate`")
    confidence: int
    rule: str
    action: str
    customer: str
    explanation: str
    allocations: list[CandidateAllocation]
    fee: str
    credit: str
    category: str


class ReviewItem(BankLine):
    candidates: list[Candidate]


class ReviewPage(BaseModel):
    data: list[ReviewItem]
    next_cursor: str | None


class Decision(BaseModel):
    id: int
    action: str
    automatic: bool
    confidence: int
    rule: str
    explanation: str
    actor: str
    at: UtcDateTime
    undoes: int | None
    posted: dict[str, Any] = Field(description="the records it posted: payments, entries ...")


class BankLineDetail(BankLine):
    candidates: list[Candidate]
    decisions: list[Decision]


class Decided(BaseModel):
    line: int
    decision: int
    action: str
    posted: dict[str, list[int]] = Field(description="ids of what was posted, by kind")
    status: str = Field(description="the line's status now")


class ConfirmIn(_In):
    candidate: Annotated[int, Field(ge=1, le=100)] = Field(
        default=1, description="the rank of the candidate to post (1: the best)"
    )


class InvoicePart(_In):
    invoice: Code
    amount: Amount


class CreditPart(_In):
    customer: Code
    amount: Amount


class OtherPart(_In):
    category: Literal["fee", "interest", "transfer", "other"]
    amount: Amount


class SplitIn(_In):
    """A line split by hand; the parts (less the fee) add up to the line's amount."""

    to: Annotated[list[InvoicePart], Field(max_length=50)] = []
    credit: Annotated[list[CreditPart], Field(max_length=50)] = []
    fee: AmountOrEmpty = Field(default="", description="a fee the bank kept from the payment")
    other: Annotated[list[OtherPart], Field(max_length=50)] = []
    ledger_account: LedgerAccount = Field(
        default="", description="the account of an `other` part of category other"
    )


class OtherIn(_In):
    category: Literal["fee", "interest", "transfer", "refund_returned", "other"]
    ledger_account: LedgerAccount = Field(default="", description="required for `other`")
    customer: Annotated[str, StringConstraints(max_length=64)] = Field(
        default="", description="for refund_returned: whose credit it becomes again"
    )
    note: Annotated[str, StringConstraints(max_length=200)] = ""


class UndoIn(_In):
    reason: Reason = Field(description="why the decision was wrong")


# -- settings ------------------------------------------------------------------------------------


class BankSettings(BaseModel):
    auto_threshold: int = Field(description="confidence at which matching posts on its own")
    fx_tolerance_bps: int = Field(description="foreign payments within this of the day's rate")
    fees: dict[str, list[str]] = Field(description="typical bank fees per currency")


class BankSettingsChange(_In):
    """The settings to change; a field left out keeps its value. `fees` replaces the list of
    each currency it names."""

    auto_threshold: Annotated[int, Field(ge=50, le=101)] | None = None
    fx_tolerance_bps: Annotated[int, Field(ge=0, le=1000)] | None = None
    fees: (
        Annotated[
            dict[CurrencyCode, Annotated[list[Amount], Field(max_length=30)]],
            # Only currency codes: a key the pattern does not fit is refused by the schema too.
            Field(max_length=50, json_schema_extra={"additionalProperties": False}),
        ]
        | None
    ) = None


# -- reconciliation ------------------------------------------------------------------------------


class ReconciliationItem(BaseModel):
    id: int = Field(description="bank line or journal entry id")
    on: IsoDate
    amount: str
    what: str


class Reconciliation(BaseModel):
    account: str
    iban: str
    ledger_account: str
    period: str
    currency: str
    statement_balance: str | None
    statement_on: IsoDate | None
    statement_reference: str
    book_balance: str
    difference: str | None = Field(description="statement balance - book balance")
    opening_difference: str = Field(
        description="first statement's opening balance less the book before it"
    )
    unmatched_lines: str = Field(description="bank lines not in the book (waiting)")
    unmatched_book: str = Field(description="book entries on no statement, subtracted")
    later_in_book: str
    later_on_statement: str = Field(description="subtracted")
    undone: str = Field(description="subtracted; undone decisions cancel out")
    statement_gap: str = Field(description="what the statements do not account for")
    unexplained: str | None = Field(description="the difference less all of the above: 0")
    lines_in_period: int
    money_in: str
    money_out: str
    matched_automatic: int
    matched_by_hand: int
    waiting: int
    undone_in_period: int
    lines_not_in_book: list[ReconciliationItem]
    book_not_on_statement: list[ReconciliationItem]
    problems: list[str]


# -- AR ------------------------------------------------------------------------------------------


class AgingRow(BaseModel):
    customer: str
    name: str
    currency: str
    buckets: dict[str, str] = Field(description="open amount per bucket label")
    total: str
    credit: str = Field(description="unapplied cash held for the customer (not in total)")
    total_in_base: str | None = Field(description="total at the day's rate; null: no rate")


class AgingTotal(BaseModel):
    currency: str
    buckets: dict[str, str]
    total: str
    credit: str


class BaseRate(BaseModel):
    currency: str
    rate: str | None = Field(description="1 currency = rate base currency; null: no rate")
    rate_date: IsoDate | None


class AgingReport(BaseModel):
    as_of: IsoDate
    labels: list[str]
    base_currency: str
    rows: list[AgingRow]
    totals: list[AgingTotal] = Field(description="per currency")
    total_in_base: dict[str, str] | None = Field(
        description="buckets and total over every currency in the base currency; null when a "
        "currency has no rate"
    )
    rates: list[BaseRate]


class Figure(BaseModel):
    """A metric, or why it cannot be computed."""

    value: str | None
    note: str = ""
    at_least: str | None = None


def figure(metric: Metric) -> Figure:
    if isinstance(metric, NotEnoughData):
        at_least = str(metric.at_least) if metric.at_least is not None else None
        return Figure(value=None, note=metric.reason, at_least=at_least)
    return Figure(value=str(metric))


class PaymentFigures(BaseModel):
    paid: int
    late: int
    written_off: int
    credited: int
    avg_days_to_pay: Figure
    avg_days_late: Figure
    paid_late_percent: Figure


class CurrencyMetrics(PaymentFigures):
    currency: str
    beginning_receivables: str
    receivables: str
    current: str
    credit_sales: str
    dso_days: Figure
    cei_percent: Figure


class CustomerMetrics(PaymentFigures):
    customer: str
    name: str
    currency: str


class WrittenOff(BaseModel):
    number: str
    customer: str
    currency: str
    issued: IsoDate
    due: IsoDate
    closed: IsoDate
    paid: str
    written_off: str


class MetricsReport(BaseModel):
    customer: str
    date_from: IsoDate
    date_to: IsoDate
    currencies: list[CurrencyMetrics]
    customers: list[CustomerMetrics]
    written_off: list[WrittenOff]
    written_off_count: int


class CustomerBalance(BaseModel):
    customer: str
    name: str
    currency: str
    receivable: str
    credit: str
    balance: str


class CustomerBalances(BaseModel):
    data: list[CustomerBalance]


# -- ledger --------------------------------------------------------------------------------------


class LedgerBalance(BaseModel):
    account: str
    name: str
    currency: str
    debit: str
    credit: str
    balance: str


class LedgerCheck(BaseModel):
    currency: str
    debit: str
    credit: str
    balance: str
    balanced: bool


class LedgerBalances(BaseModel):
    data: list[LedgerBalance]
    checks: list[LedgerCheck] = Field(description="per currency: debits and credits sum to 0")


class JournalLine(BaseModel):
    line_no: int
    account: str
    currency: str
    amount: str = Field(description="debit positive, credit negative")
    customer: str
    document: str


class JournalEntry(BaseModel):
    id: int
    entry_date: IsoDate
    kind: str
    description: str
    source_table: str
    source_id: int
    created_at: UtcDateTime
    chain_seq: int | None
    lines: list[JournalLine]


class JournalPage(BaseModel):
    data: list[JournalEntry]
    next_cursor: str | None


# -- customer statements -------------------------------------------------------------------------


class StatementLine(BaseModel):
    on: IsoDate
    kind: str
    reference: str
    description: str
    due_date: IsoDate | None
    debit: str
    credit: str
    balance: str


class StatementSection(BaseModel):
    currency: str
    opening: str
    lines: list[StatementLine]
    debits: str
    credits: str
    closing: str


class CustomerStatement(BaseModel):
    customer: str
    name: str
    date_from: IsoDate
    date_to: IsoDate
    sections: list[StatementSection] = Field(description="one per currency")


# -- verify and the audit trail ------------------------------------------------------------------


class VerifyCheck(BaseModel):
    check: str
    passed: bool
    violations: int


class VerifyViolation(BaseModel):
    check: str
    record: str
    message: str


class VerifyResult(BaseModel):
    ok: bool
    checks: list[VerifyCheck]
    violations: list[VerifyViolation]
    violations_total: int
    details_withheld: str = Field(description="why violations are not described, or empty")


class AuditEvent(BaseModel):
    id: int
    chain_seq: int | None
    occurred_at: UtcDateTime
    actor: str
    action: str
    record_type: str
    record_id: str
    before: Any
    after: Any


class AuditPage(BaseModel):
    data: list[AuditEvent]
    next_cursor: str | None
