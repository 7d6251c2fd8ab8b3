"""Collections: dunning policies, the dunning run, promises to pay, manual and credit holds.

A run (`run_dunning`) looks at every open invoice of a legal entity on a date, decides with the
pure rules of `domain.dunning` which steps of the customer's policy are due, and takes them:
fee and interest invoices (issued with `create_invoice_in` in the same transaction), one letter
per invoice through the e-mail outbox, credit holds, hand-overs to collections. Every step taken
is a row unique per (invoice, step), written with everything the step did, so a second run on
the same date finds nothing new, and a run on an earlier date than the last one takes nothing.

Transactions: the run reads its plan in one transaction, then works customer by customer, each
customer in a transaction of its own (the customer's steps, fee invoices, letters, hold, report
lines and audit events commit together or not at all). A customer whose steps are refused (a
tax rule missing for the fee's tax class, say) is rolled back and reported; the others go on.
Each customer transaction first takes the chain heads (locked FOR UPDATE on PostgreSQL; SQLite
has one writer anyway), so two runs at the same time take turns per customer, and the second
finds the first one's steps taken.

Fee invoices are not dunned on their own (no fees on fees, no second stream of letters); the
letters about the original invoice list the fee invoices still open.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Protocol

from openbill.domain.currencies import exponent_of
from openbill.domain.dunning import (
    EMAIL_ACTIONS,
    Action,
    Charge,
    CustomerFacts,
    InvoiceFacts,
    InvoicePlan,
    Policy,
    PromiseStatus,
    Remark,
    SkipReason,
    Statutory,
    Step,
    StepPlan,
    language_for,
    parse_actions,
    plan_customer,
    promise_status,
    steps_due,
)
from openbill.domain.money import (
    Rounding,
    format_minor,
    minor_to_decimal,
    round_to_minor,
    to_decimal,
)
from openbill.domain.rejections import (
    InvalidInput,
    InvalidState,
    NotFound,
    PreconditionFailed,
    Rejection,
)
from openbill.ports import UnitOfWork
from openbill.usecases._support import (
    MAX_LIST_ROWS,
    audit,
    customer_by_code,
    document_by_number,
    entity_by_code,
    revision,
)
from openbill.usecases.invoices import CreateInvoice, LineSpec, create_invoice_in
from openbill.usecases.mailing import enqueue_message

__all__ = [
    "Letter",
    "LetterRenderer",
    "StepSpec",
    "CreatePolicy",
    "PolicyView",
    "AssignPolicy",
    "CustomerDunning",
    "SetDunningSettings",
    "SettingsView",
    "AddPromise",
    "PromiseView",
    "SetHold",
    "ReleaseHold",
    "HoldView",
    "RunDunning",
    "ReportLine",
    "RunReport",
    "HistoryRow",
    "History",
    "create_policy",
    "list_policies",
    "show_policy",
    "assign_policy",
    "customer_dunning",
    "set_settings",
    "dunning_settings",
    "settings_revision",
    "add_promise",
    "list_promises",
    "set_hold",
    "release_hold",
    "list_holds",
    "run_dunning",
    "run_report",
    "list_runs",
    "invoice_history",
    "purpose_of",
    "MAX_RUN_INVOICES",
    "MIN_REASON",
    "DEFAULT_FEE_CODE",
    "DEFAULT_INTEREST_CODE",
]

# Bounds (DESIGN.md principle 8).
MAX_RUN_INVOICES = 20_000  # invoices one run works on, oldest due first; a second run goes on
MAX_POLICIES = 200  # per legal entity
MAX_PROMISE_DAYS = 366  # how far ahead a promised date may lie
MIN_REASON = 10  # characters: a hold or its release needs a reason an auditor accepts
MAX_REASON = 500
MAX_REPORT_LINES = 100_000  # lines of one stored run report read back

DEFAULT_FEE_CODE = "LATE-FEE"
DEFAULT_INTEREST_CODE = "LATE-INTEREST"
HOLD_KINDS = ("dunning", "credit")
_TEMPLATE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")


def purpose_of(step_no: int) -> str:
    """The outbox purpose of a step's letter: one message per (invoice, step)."""
    return f"dunning-{step_no}"


# ---------------------------------------------------------------------------------------------
# The port: wording the letters is an adapter's job (templates per language).


@dataclass(frozen=True, slots=True)
class Letter:
    """What a reminder or final notice is about; the renderer words it in `language`."""

    language: str
    template: str
    step_no: int
    final: bool  # a final notice
    as_of: date
    entity_name: str
    entity_email: str
    entity_iban: str
    customer_code: str
    customer_name: str
    invoice_number: str
    invoice_date: date
    due_date: date
    currency: str
    total_minor: int
    open_minor: int
    disputed_minor: int
    dunned_minor: int  # open minus disputed: what the letter asks for
    days_overdue: int  # negative before the due date
    charges: tuple[tuple[str, int], ...] = ()  # (action, amount) charged by this run
    fee_invoice: str = ""  # the number of this run's fee invoice
    fees_open: tuple[tuple[str, int], ...] = ()  # earlier fee invoices still open


class LetterRenderer(Protocol):
    """Words a dunning letter; called inside the run's unit of work."""

    def has_template(self, template: str) -> bool:
        """Whether the template exists (in English, the language every letter falls back to)."""
        ...

    def render(self, letter: Letter) -> tuple[str, str]:
        """(subject, body) of the letter in its language, else in English."""
        ...


# ---------------------------------------------------------------------------------------------
# Commands and views.


@dataclass(frozen=True, slots=True)
class StepSpec:
    offset_days: int  # relative to the due date; negative: before it
    actions: str  # e.g. "reminder" or "reminder+late_fee"
    template: str = ""  # the e-mail template of a reminder or final notice
    fee: str = ""  # the late fee of a late_fee step, e.g. "5.00" (policy currency)


@dataclass(frozen=True, slots=True)
class CreatePolicy:
    entity: str
    code: str
    name: str
    steps: tuple[StepSpec, ...]
    currency: str = ""  # of fees and minimum; empty: the entity's base currency
    minimum: str = "0"
    fee_charge_code: str = DEFAULT_FEE_CODE
    interest_charge_code: str = DEFAULT_INTEREST_CODE
    promise_grace_days: int = 3
    default: bool = False  # the entity's default policy (the first policy always is)


@dataclass(frozen=True, slots=True)
class StepView:
    step_no: int
    offset_days: int
    actions: str
    template: str
    fee: str


@dataclass(frozen=True, slots=True)
class PolicyView:
    code: str
    name: str
    currency: str
    minimum: str
    fee_charge_code: str
    interest_charge_code: str
    promise_grace_days: int
    default: bool
    steps: tuple[StepView, ...]


@dataclass(frozen=True, slots=True)
class AssignPolicy:
    entity: str
    customer: str
    policy: str | None = None  # None: unchanged; "": the entity's default
    language: str | None = None  # None: unchanged; "": from the customer's country


@dataclass(frozen=True, slots=True)
class CustomerDunning:
    customer: str
    policy: str  # the policy in force ("" when none)
    policy_is_default: bool
    language: str
    language_chosen: bool


@dataclass(frozen=True, slots=True)
class SetDunningSettings:
    """None leaves a setting unchanged."""

    entity: str
    default_policy: str | None = None
    interest_enabled: bool | None = None
    reference_rate: str | None = None  # percent a year, e.g. "2.15"
    margin: str | None = None  # percentage points, e.g. "8" (Directive 2011/7/EU: at least 8)
    recovery_fee: str | None = None  # e.g. "40.00"
    recovery_currency: str | None = None
    if_match: str = ""  # the settings' revision (settings_revision) the change was based on


@dataclass(frozen=True, slots=True)
class SettingsView:
    default_policy: str
    interest_enabled: bool
    reference_rate: str
    margin: str
    annual_rate: str
    recovery_fee: str
    recovery_currency: str


@dataclass(frozen=True, slots=True)
class AddPromise:
    entity: str
    customer: str
    pay_by: date
    amount: str  # in the customer's currency
    note: str = ""
    made_on: date | None = None  # default: today


@dataclass(frozen=True, slots=True)
class PromiseView:
    id: int
    customer: str
    made_on: date
    pay_by: date
    amount: str
    currency: str
    status: str
    note: str
    replaced: int | None = None  # the open promise this one replaced


@dataclass(frozen=True, slots=True)
class SetHold:
    entity: str
    customer: str
    kind: str  # dunning (no letters, fees or steps) | credit (no new invoices)
    reason: str


@dataclass(frozen=True, slots=True)
class ReleaseHold:
    entity: str
    customer: str
    kind: str
    reason: str
    hold_id: int | None = None  # the hold meant (the API names it); None: the active one


@dataclass(frozen=True, slots=True)
class HoldView:
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


@dataclass(frozen=True, slots=True)
class RunDunning:
    entity: str
    as_of: date
    dry_run: bool = False  # decide and report, write nothing
    sender: str = ""  # the From address of letters; empty: the legal entity's e-mail
    customer: str = ""  # only this customer's invoices


@dataclass(frozen=True, slots=True)
class ReportLine:
    customer: str
    invoice: str  # "" for a line about the customer (a promise, a refusal)
    step_no: int | None
    outcome: str  # taken | skipped | note
    reason: str  # taken: the actions; skipped: a SkipReason; note: a Remark
    detail: str


@dataclass(frozen=True, slots=True)
class RunReport:
    run_id: int | None
    as_of: date
    dry_run: bool
    invoices_seen: int
    steps_taken: int
    fee_invoices: int
    emails: int
    lines: tuple[ReportLine, ...]
    message: str = ""  # why the run took nothing, or how many invoices are left

    @property
    def taken(self) -> tuple[ReportLine, ...]:
        return tuple(line for line in self.lines if line.outcome == "taken")

    @property
    def skipped(self) -> tuple[ReportLine, ...]:
        return tuple(line for line in self.lines if line.outcome == "skipped")

    @property
    def notes(self) -> tuple[ReportLine, ...]:
        return tuple(line for line in self.lines if line.outcome == "note")


@dataclass(frozen=True, slots=True)
class HistoryRow:
    taken_on: date
    step_no: int
    policy: str
    actions: str
    dunned: str
    fee: str
    interest: str
    fee_invoice: str
    email: str  # the outbox status of the letter, "" when none went out
    skipped: str


@dataclass(frozen=True, slots=True)
class History:
    invoice: str
    currency: str
    steps: tuple[HistoryRow, ...]
    skips: tuple[tuple[date, str, str], ...]  # (run date, reason, detail)


# ---------------------------------------------------------------------------------------------
# Helpers.


def _amount_minor(text: str, currency: str, record: str, field_name: str) -> int:
    try:
        value = to_decimal(text or "0", field=field_name)
    except Rejection as exc:
        raise InvalidInput(exc.reason, record=record, field=field_name) from None
    minor = round_to_minor(value, currency, Rounding.HALF_UP)
    if value < 0 or minor_to_decimal(minor, currency) != value:
        raise InvalidInput(
            f"a non-negative amount with at most {exponent_of(currency)} decimals ({currency})",
            record=record,
            field=field_name,
        )
    return minor


def _rate(text: str, record: str, field_name: str, low: int, high: int) -> Decimal:
    try:
        value = to_decimal(text, field=field_name)
    except Rejection as exc:
        raise InvalidInput(exc.reason, record=record, field=field_name) from None
    if not low <= value <= high:
        raise InvalidInput(f"between {low} and {high} percent", record=record, field=field_name)
    return value


def _reason(text: str, record: str) -> str:
    reason = " ".join(text.split())
    if len(reason) < MIN_REASON:
        raise InvalidInput(
            f"say why in at least {MIN_REASON} characters (it is audited)",
            record=record,
            field="reason",
        )
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"at most {MAX_REASON} characters", record=record, field="reason")
    return reason


def _kind(kind: str, record: str) -> str:
    if kind not in HOLD_KINDS:
        raise InvalidInput("a hold is 'dunning' or 'credit'", record=record, field="kind")
    return kind


def _policy_of(uow: UnitOfWork, row: Any) -> Policy:
    steps = tuple(
        Step(
            int(s.step_no),
            int(s.offset_days),
            parse_actions(s.actions),
            s.template,
            int(s.fee_minor),
        )
        for s in uow.dunning.steps(row.id)
    )
    return Policy(
        row.code, row.currency, steps, int(row.minimum_minor), int(row.promise_grace_days)
    )


def _statutory(row: Any) -> Statutory:
    if row is None:
        return Statutory()
    return Statutory(
        bool(row.interest_enabled),
        Decimal(row.reference_rate),
        Decimal(row.margin),
        int(row.recovery_fee_minor),
        row.recovery_fee_currency,
    )


def _policy_view(uow: UnitOfWork, row: Any, default_id: int | None) -> PolicyView:
    steps = tuple(
        StepView(
            int(s.step_no),
            int(s.offset_days),
            s.actions,
            s.template,
            format_minor(int(s.fee_minor), row.currency) if s.fee_minor else "",
        )
        for s in uow.dunning.steps(row.id)
    )
    return PolicyView(
        row.code,
        row.name,
        row.currency,
        format_minor(int(row.minimum_minor), row.currency),
        row.fee_charge_code,
        row.interest_charge_code,
        int(row.promise_grace_days),
        row.id == default_id,
        steps,
    )


def _default_id(uow: UnitOfWork, entity_id: int) -> int | None:
    row = uow.dunning.settings(entity_id)
    return None if row is None or row.default_policy_id is None else int(row.default_policy_id)


_SETTINGS_DEFAULTS: dict[str, Any] = {
    "default_policy_id": None,
    "interest_enabled": False,
    "reference_rate": Decimal(0),
    "margin": Decimal(8),
    "recovery_fee_minor": 4000,
    "recovery_fee_currency": "EUR",
}


def _settings_values(row: Any) -> dict[str, Any]:
    if row is None:
        return dict(_SETTINGS_DEFAULTS)
    return {k: getattr(row, k) for k in _SETTINGS_DEFAULTS}


# ---------------------------------------------------------------------------------------------
# Policies, customers, settings.


def create_policy(uow: UnitOfWork, cmd: CreatePolicy) -> PolicyView:
    """Create a policy. Policies are never changed afterwards (steps taken refer to their step
    numbers): to change the rules, create a new policy and assign it."""
    record = f"policy {cmd.code}"
    code, name = cmd.code.strip(), cmd.name.strip()
    if not code or len(code) > 32:
        raise InvalidInput("a code of 1 to 32 characters", record=record, field="code")
    if not name or len(name) > 200:
        raise InvalidInput("a name of 1 to 200 characters", record=record, field="name")
    for field_name, charge in (
        ("fee_charge_code", cmd.fee_charge_code),
        ("interest_charge_code", cmd.interest_charge_code),
    ):
        if not charge.strip() or len(charge) > 32:
            raise InvalidInput(
                "a charge code of 1 to 32 characters", record=record, field=field_name
            )
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        currency = (cmd.currency or entity.base_currency).upper()
        exponent_of(currency)
        minimum = _amount_minor(cmd.minimum, currency, record, "minimum")
        ordered = sorted(cmd.steps, key=lambda s: s.offset_days)
        steps = []
        for number, spec in enumerate(ordered, start=1):
            where = f"{record} step {number}"
            template = spec.template.strip()
            if template and not _TEMPLATE.match(template):
                raise InvalidInput(
                    "a template name has lower-case letters, digits, - and _ only",
                    record=where,
                    field="template",
                )
            steps.append(
                Step(
                    number,
                    spec.offset_days,
                    parse_actions(spec.actions, where),
                    template,
                    _amount_minor(spec.fee, currency, where, "fee") if spec.fee else 0,
                )
            )
        policy = Policy(code, currency, tuple(steps), minimum, cmd.promise_grace_days)
        policy.check()
        if uow.dunning.policy_by_code(entity.id, code) is not None:
            raise InvalidState(
                "exists already; a policy is never changed once made (steps taken refer to "
                "it): add one under a new code and assign that",
                record=record,
                field="code",
            )
        if len(uow.dunning.policies(entity.id, MAX_POLICIES + 1)) >= MAX_POLICIES:
            raise InvalidInput(f"at most {MAX_POLICIES} policies per legal entity", record=record)
        values = {
            "entity_id": entity.id,
            "code": code,
            "name": name,
            "currency": currency,
            "minimum_minor": minimum,
            "fee_charge_code": cmd.fee_charge_code.strip(),
            "interest_charge_code": cmd.interest_charge_code.strip(),
            "promise_grace_days": cmd.promise_grace_days,
            "created_at": uow.clock.now(),
        }
        step_rows = [
            {
                "step_no": s.step_no,
                "offset_days": s.offset_days,
                "actions": "+".join(a.value for a in s.actions),
                "template": s.template,
                "fee_minor": s.fee_minor,
            }
            for s in steps
        ]
        policy_id = uow.dunning.add_policy(values, step_rows)
        audit(
            uow,
            entity.id,
            "dunning.policy_created",
            "dunning_policy",
            policy_id,
            None,
            {**values, "steps": step_rows},
        )
        before = uow.dunning.settings(entity.id)
        if cmd.default or before is None or before.default_policy_id is None:
            _save_settings(uow, entity, before, {"default_policy_id": policy_id})
        row = uow.dunning.policy(policy_id)
        view = _policy_view(uow, row, _default_id(uow, entity.id))
        uow.commit()
        return view


def _save_settings(uow: UnitOfWork, entity: Any, before: Any, changes: dict[str, Any]) -> None:
    old = _settings_values(before)
    new = {**old, **changes, "updated_at": uow.clock.now()}
    uow.dunning.save_settings(entity.id, new)
    audit(
        uow,
        entity.id,
        "dunning.settings_changed",
        "legal_entity",
        entity.id,
        old if before is not None else None,
        {k: new[k] for k in _SETTINGS_DEFAULTS},
    )


def list_policies(uow: UnitOfWork, entity_code: str) -> list[PolicyView]:
    with uow:
        entity = entity_by_code(uow, entity_code)
        default_id = _default_id(uow, entity.id)
        rows = uow.dunning.policies(entity.id, MAX_POLICIES)
        return [_policy_view(uow, r, default_id) for r in rows]


def _policy_row(uow: UnitOfWork, entity: Any, code: str) -> Any:
    row = uow.dunning.policy_by_code(entity.id, code)
    if row is None:
        raise NotFound(
            f"no dunning policy {code!r}; see `openbill dunning policy list`",
            record="dunning policy",
            field="code",
        )
    return row


def show_policy(uow: UnitOfWork, entity_code: str, code: str) -> PolicyView:
    with uow:
        entity = entity_by_code(uow, entity_code)
        return _policy_view(uow, _policy_row(uow, entity, code), _default_id(uow, entity.id))


def _customer_view(uow: UnitOfWork, entity: Any, customer: Any) -> CustomerDunning:
    row = uow.dunning.customer_settings(customer.id)
    policy_id = row.policy_id if row is not None else None
    is_default = policy_id is None
    if policy_id is None:
        policy_id = _default_id(uow, entity.id)
    policy = uow.dunning.policy(policy_id) if policy_id is not None else None
    chosen = row.language if row is not None else None
    return CustomerDunning(
        customer.code,
        policy.code if policy is not None else "",
        is_default,
        language_for(customer.country, chosen),
        bool(chosen),
    )


def assign_policy(uow: UnitOfWork, cmd: AssignPolicy) -> CustomerDunning:
    """Give a customer its own policy ("" for the entity's default) and letter language ("" for
    the language of its country)."""
    record = f"customer {cmd.customer}"
    if cmd.language and not _LANGUAGE.match(cmd.language):
        raise InvalidInput(
            "a language is a two-letter code such as en, de or fr", record=record, field="language"
        )
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        customer = customer_by_code(uow, entity.id, cmd.customer)
        row = uow.dunning.customer_settings(customer.id)
        before = {"policy_id": row.policy_id, "language": row.language} if row is not None else None
        after = dict(before or {"policy_id": None, "language": None})
        if cmd.policy is not None:
            after["policy_id"] = _policy_row(uow, entity, cmd.policy).id if cmd.policy else None
        if cmd.language is not None:
            after["language"] = cmd.language or None
        uow.dunning.save_customer_settings(customer.id, {**after, "updated_at": uow.clock.now()})
        audit(uow, entity.id, "dunning.customer_set", "customer", customer.id, before, after)
        view = _customer_view(uow, entity, customer)
        uow.commit()
        return view


def customer_dunning(uow: UnitOfWork, entity_code: str, customer_code: str) -> CustomerDunning:
    with uow:
        entity = entity_by_code(uow, entity_code)
        return _customer_view(uow, entity, customer_by_code(uow, entity.id, customer_code))


def _settings_view(uow: UnitOfWork, row: Any) -> SettingsView:
    values = _settings_values(row)
    policy = (
        uow.dunning.policy(values["default_policy_id"])
        if values["default_policy_id"] is not None
        else None
    )
    reference, margin = Decimal(values["reference_rate"]), Decimal(values["margin"])
    return SettingsView(
        policy.code if policy is not None else "",
        bool(values["interest_enabled"]),
        _percent(reference),
        _percent(margin),
        _percent(reference + margin),
        format_minor(int(values["recovery_fee_minor"]), values["recovery_fee_currency"]),
        values["recovery_fee_currency"],
    )


def _percent(value: Decimal) -> str:
    text = format(value.normalize(), "f") if value else "0"
    return text


def set_settings(uow: UnitOfWork, cmd: SetDunningSettings) -> SettingsView:
    """The entity's default policy and statutory late-payment settings. The EU late payment
    directive's defaults for business customers: the reference rate plus 8 points (art. 2(6)),
    a fixed EUR 40 per invoice for recovery costs (art. 6(1))."""
    record = f"dunning settings of {cmd.entity}"
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        before = uow.dunning.settings(entity.id)
        if cmd.if_match and settings_revision(before) != cmd.if_match:
            raise PreconditionFailed(
                "the dunning settings were changed by someone else since you read them; read "
                "them again and repeat your change",
                record=record,
            )
        current = _settings_values(before)
        changes: dict[str, Any] = {}
        if cmd.default_policy is not None:
            changes["default_policy_id"] = (
                _policy_row(uow, entity, cmd.default_policy).id if cmd.default_policy else None
            )
        if cmd.interest_enabled is not None:
            changes["interest_enabled"] = cmd.interest_enabled
        if cmd.reference_rate is not None:
            changes["reference_rate"] = _rate(cmd.reference_rate, record, "reference_rate", -10, 50)
        if cmd.margin is not None:
            changes["margin"] = _rate(cmd.margin, record, "margin", 0, 50)
        currency = (cmd.recovery_currency or current["recovery_fee_currency"]).upper()
        exponent_of(currency)
        if cmd.recovery_currency is not None:
            changes["recovery_fee_currency"] = currency
        if cmd.recovery_fee is not None:
            changes["recovery_fee_minor"] = _amount_minor(
                cmd.recovery_fee, currency, record, "recovery_fee"
            )
        elif cmd.recovery_currency is not None and currency != current["recovery_fee_currency"]:
            raise InvalidInput(
                "give the recovery fee in the new currency too (--recovery-fee)",
                record=record,
                field="recovery_fee",
            )
        if changes or before is None:
            _save_settings(uow, entity, before, changes)
        view = _settings_view(uow, uow.dunning.settings(entity.id))
        uow.commit()
        return view


def settings_revision(row: Any) -> str:
    """The revision of an entity's dunning settings row (None: never set, the defaults)."""
    return "defaults" if row is None else revision(row)


def dunning_settings(uow: UnitOfWork, entity_code: str) -> SettingsView:
    with uow:
        entity = entity_by_code(uow, entity_code)
        return _settings_view(uow, uow.dunning.settings(entity.id))


# ---------------------------------------------------------------------------------------------
# Promises to pay and holds.


def _promise_view(row: Any, customer_code: str, replaced: int | None = None) -> PromiseView:
    return PromiseView(
        int(row.id),
        customer_code,
        row.made_on,
        row.pay_by,
        format_minor(int(row.amount_minor), row.currency),
        row.currency,
        row.status,
        row.note,
        replaced,
    )


def add_promise(uow: UnitOfWork, cmd: AddPromise) -> PromiseView:
    """Record a customer's promise to pay `amount` by `pay_by`. While the promised date plus
    the policy's grace days lies ahead, dunning skips the customer; payments from the day the
    promise was made up to then keep it; otherwise it is broken and dunning resumes. A new
    promise replaces an open one."""
    record = f"promise of customer {cmd.customer}"
    if len(cmd.note) > MAX_REASON:
        raise InvalidInput(f"at most {MAX_REASON} characters", record=record, field="note")
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        customer = customer_by_code(uow, entity.id, cmd.customer)
        made_on = cmd.made_on or uow.clock.today()
        if made_on > uow.clock.today():
            raise InvalidInput(
                "a promise cannot be recorded as made after today", record=record, field="made_on"
            )
        if not made_on <= cmd.pay_by <= made_on + timedelta(days=MAX_PROMISE_DAYS):
            raise InvalidInput(
                f"the promised date lies between {made_on} and {MAX_PROMISE_DAYS} days later",
                record=record,
                field="pay_by",
            )
        amount = _amount_minor(cmd.amount, customer.currency, record, "amount")
        if amount <= 0:
            raise InvalidInput("a promise is for a positive amount", record=record, field="amount")
        replaced = uow.dunning.open_promise(customer.id)
        if replaced is not None:
            uow.dunning.close_promise(replaced.id, "replaced", made_on)
            audit(
                uow,
                entity.id,
                "dunning.promise_replaced",
                "dunning_promise",
                replaced.id,
                {"status": "open"},
                {"status": "replaced"},
            )
        values = {
            "entity_id": entity.id,
            "customer_id": customer.id,
            "made_on": made_on,
            "pay_by": cmd.pay_by,
            "amount_minor": amount,
            "currency": customer.currency,
            "note": cmd.note.strip(),
            "status": PromiseStatus.PENDING.value,
            "closed_on": None,
            "created_by": uow.actor,
            "created_at": uow.clock.now(),
        }
        promise_id = uow.dunning.add_promise(values)
        audit(uow, entity.id, "dunning.promise_made", "dunning_promise", promise_id, None, values)
        row = uow.dunning.open_promise(customer.id)
        view = _promise_view(row, customer.code, int(replaced.id) if replaced else None)
        uow.commit()
        return view


def list_promises(uow: UnitOfWork, entity_code: str, limit: int = 1000) -> list[PromiseView]:
    with uow:
        entity = entity_by_code(uow, entity_code)
        rows = uow.dunning.promises(entity.id, min(limit, MAX_LIST_ROWS))
        return [_promise_view(r, r.customer_code) for r in rows]


def _hold_view(row: Any) -> HoldView:
    return HoldView(
        int(row.id),
        row.customer_code,
        row.kind,
        row.reason,
        row.source,
        row.document_number or "",
        row.set_by,
        _stamp(row.set_at),
        _stamp(row.released_at),
        row.released_by or "",
        row.release_reason or "",
    )


def _stamp(value: Any) -> str:
    if value is None:
        return ""
    return str(value.isoformat(sep=" ", timespec="seconds"))[:19]


def set_hold(uow: UnitOfWork, cmd: SetHold) -> HoldView:
    """Put a customer on a manual dunning hold (no steps are taken while it lasts) or on credit
    hold (no new invoice may be issued to it), with an audited reason."""
    record = f"customer {cmd.customer}"
    kind = _kind(cmd.kind, record)
    reason = _reason(cmd.reason, record)
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        customer = customer_by_code(uow, entity.id, cmd.customer)
        existing = uow.dunning.active_hold(customer.id, kind)
        if existing is not None:
            raise InvalidState(
                f"is on {kind} hold already since {_stamp(existing.set_at)} ({existing.reason})",
                record=record,
                field="hold",
            )
        hold_id = _add_hold(uow, entity, customer, kind, reason, "manual", None)
        view = _hold_view(_hold_row(uow, entity, hold_id))
        uow.commit()
        return view


def _add_hold(
    uow: UnitOfWork,
    entity: Any,
    customer: Any,
    kind: str,
    reason: str,
    source: str,
    document_id: int | None,
) -> int:
    values = {
        "entity_id": entity.id,
        "customer_id": customer.id,
        "kind": kind,
        "reason": reason[:MAX_REASON],
        "source": source,
        "document_id": document_id,
        "set_by": uow.actor,
        "set_at": uow.clock.now(),
    }
    hold_id = int(uow.dunning.add_hold(values))
    audit(uow, entity.id, f"dunning.{kind}_hold_set", "customer", customer.id, None, values)
    return hold_id


def _hold_row(uow: UnitOfWork, entity: Any, hold_id: int) -> Any:
    return uow.dunning.holds(entity.id, False, 1, hold_id)[0]


def release_hold(uow: UnitOfWork, cmd: ReleaseHold) -> HoldView:
    """Release a customer's manual dunning hold or credit hold, with an audited reason."""
    record = f"customer {cmd.customer}"
    kind = _kind(cmd.kind, record)
    reason = _reason(cmd.reason, record)
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        customer = customer_by_code(uow, entity.id, cmd.customer)
        hold = uow.dunning.active_hold(customer.id, kind)
        if hold is None:
            raise InvalidState(f"is not on {kind} hold", record=record, field="hold")
        if cmd.hold_id is not None and int(hold.id) != cmd.hold_id:
            raise InvalidState(
                f"hold {cmd.hold_id} is no longer active (hold {hold.id} is); look again",
                record=record,
                field="hold",
            )
        values = {
            "released_at": uow.clock.now(),
            "released_by": uow.actor,
            "release_reason": reason,
        }
        if not uow.dunning.release_hold(hold.id, values):
            raise InvalidState("the hold changed meanwhile; look again", record=record)
        audit(
            uow,
            entity.id,
            f"dunning.{kind}_hold_released",
            "customer",
            customer.id,
            {"hold_id": hold.id, "reason": hold.reason, "released_at": None},
            {"hold_id": hold.id, **values},
        )
        view = _hold_view(_hold_row(uow, entity, int(hold.id)))
        uow.commit()
        return view


def list_holds(
    uow: UnitOfWork, entity_code: str, active_only: bool = True, limit: int = 1000
) -> list[HoldView]:
    with uow:
        entity = entity_by_code(uow, entity_code)
        rows = uow.dunning.holds(entity.id, active_only, min(limit, MAX_LIST_ROWS))
        return [_hold_view(r) for r in rows]


# ---------------------------------------------------------------------------------------------
# The run.


@dataclass
class _Work:
    """What the reading phase found for one customer."""

    customer_id: int
    customer_code: str
    invoices: list[tuple[int, int]]  # (document id, open amount on the run date)


@dataclass
class _Counts:
    invoices_seen: int = 0
    steps_taken: int = 0
    fee_invoices: int = 0
    emails: int = 0
    lines: list[ReportLine] = field(default_factory=list)


Progress = Callable[[int, int], None]


def run_dunning(
    uow: UnitOfWork,
    cmd: RunDunning,
    renderer: LetterRenderer,
    progress: Progress | None = None,
) -> RunReport:
    """Take every dunning step due on `cmd.as_of`, customer by customer (see the module
    docstring). Idempotent: a second run on the same date, or a run on an earlier date than
    the last one, takes nothing new. A dry run decides and reports the same way and writes
    nothing (each customer's work is rolled back)."""
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        if cmd.as_of > uow.clock.today() and not cmd.dry_run:
            raise InvalidInput(
                f"{cmd.as_of} lies ahead of today ({uow.clock.today()}); only a dry run "
                "(--dry-run) may look ahead",
                record="dunning run",
                field="as_of",
            )
        last = uow.dunning.last_run_date(entity.id)
        if last is not None and cmd.as_of < last:
            message = (
                f"a run on {last} already took every step due until then; a run on an earlier "
                "date takes nothing new"
            )
            return _nothing(uow, entity, cmd, message)
        work, left = _candidates(uow, entity, cmd)
        _check_ready(uow, entity, cmd, work, renderer)
    run_id = None if cmd.dry_run else _start_run(uow, cmd)
    counts = _Counts()
    for done, item in enumerate(work, start=1):
        _dun_customer(uow, cmd, run_id, item, renderer, counts)
        if progress is not None:
            progress(done, len(work))
    message = f"{left} more invoice(s) have a step due: run again for the same date" if left else ""
    if run_id is not None:
        _finish_run(uow, cmd, run_id, counts, message)
    return RunReport(
        run_id,
        cmd.as_of,
        cmd.dry_run,
        counts.invoices_seen,
        counts.steps_taken,
        counts.fee_invoices,
        counts.emails,
        tuple(counts.lines),
        message,
    )


def _nothing(uow: UnitOfWork, entity: Any, cmd: RunDunning, message: str) -> RunReport:
    """A run that takes nothing: recorded (unless a dry run) with the reason."""
    run_id = None
    if not cmd.dry_run:
        now = uow.clock.now()
        run_id = uow.dunning.add_run(
            {**_run_values(uow, entity.id, cmd), "status": "finished", "message": message}
        )
        uow.dunning.finish_run(run_id, {"finished_at": now})
        audit(
            uow,
            entity.id,
            "dunning.run",
            "dunning_run",
            run_id,
            None,
            {"as_of": cmd.as_of, "message": message},
        )
        uow.commit()
    return RunReport(run_id, cmd.as_of, cmd.dry_run, 0, 0, 0, 0, (), message)


def _run_values(uow: UnitOfWork, entity_id: int, cmd: RunDunning) -> dict[str, Any]:
    return {
        "entity_id": entity_id,
        "as_of": cmd.as_of,
        "actor": uow.actor,
        "status": "running",
        "invoices_seen": 0,
        "steps_taken": 0,
        "skipped": 0,
        "fee_invoices": 0,
        "emails": 0,
        "message": "",
        "started_at": uow.clock.now(),
    }


def _candidates(uow: UnitOfWork, entity: Any, cmd: RunDunning) -> tuple[list[_Work], int]:
    """The invoices with a step due on the run date (open on that date, fee invoices left out),
    grouped by customer, oldest due first; at most MAX_RUN_INVOICES, and how many are left
    over (a second run on the same date goes on with them, because the invoices done have no
    step due any more). Customers with an open promise to pay come along even with nothing
    due, so the promise is settled."""
    if cmd.customer:
        customer_by_code(uow, entity.id, cmd.customer)
    rows = [
        r
        for r in uow.reports.open_items(entity.id, cmd.as_of)
        if r.kind == "invoice"
        and int(r.open_minor) > 0
        and r.due_date is not None
        and (not cmd.customer or r.customer_code == cmd.customer)
    ]
    fees = uow.dunning.fee_documents([int(r.id) for r in rows])
    rows = [r for r in rows if int(r.id) not in fees]
    ids = {c.code: int(c.id) for c in uow.customers.all(entity.id)}
    taken = uow.dunning.progress([int(r.id) for r in rows])
    policies: dict[int, Policy | None] = {}

    def due(row: Any) -> bool:
        customer_id = ids[row.customer_code]
        if customer_id not in policies:
            policy_row = _policy_for(uow, entity, customer_id)
            policies[customer_id] = _policy_of(uow, policy_row) if policy_row else None
        policy = policies[customer_id]
        if policy is None:
            return True  # reported: no policy
        last = taken.get(int(row.id), (0, 0, False))[0]
        return bool(steps_due(policy, row.due_date, cmd.as_of, last))

    rows = sorted((r for r in rows if due(r)), key=lambda r: (r.due_date, r.number))
    left = max(0, len(rows) - MAX_RUN_INVOICES)
    rows = rows[:MAX_RUN_INVOICES]
    grouped: dict[str, _Work] = {}
    for r in rows:
        item = grouped.setdefault(r.customer_code, _Work(ids[r.customer_code], r.customer_code, []))
        item.invoices.append((int(r.id), int(r.open_minor)))
    by_id = {v: k for k, v in ids.items()}
    for customer_id in uow.dunning.customers_with_open_promise(entity.id):
        code = by_id[customer_id]
        if not cmd.customer or code == cmd.customer:
            grouped.setdefault(code, _Work(customer_id, code, []))
    return [grouped[code] for code in sorted(grouped)], left


def _policy_for(uow: UnitOfWork, entity: Any, customer_id: int) -> Any:
    row = uow.dunning.customer_settings(customer_id)
    policy_id = row.policy_id if row is not None and row.policy_id is not None else None
    if policy_id is None:
        policy_id = _default_id(uow, entity.id)
    return uow.dunning.policy(policy_id) if policy_id is not None else None


def _check_ready(
    uow: UnitOfWork,
    entity: Any,
    cmd: RunDunning,
    work: Sequence[_Work],
    renderer: LetterRenderer,
) -> None:
    """Refuse the whole run, before anything is written, for what no single customer can fix:
    no policy at all, a charge code or letter template missing, no sender address."""
    if not work:
        return
    rows: dict[int, Any] = {}
    for item in work:
        row = _policy_for(uow, entity, item.customer_id)
        if row is not None:
            rows[int(row.id)] = row
    if not rows:
        raise InvalidInput(
            "no dunning policy applies: create one with `openbill dunning policy add` (the "
            "first becomes the default) or assign one with `openbill dunning assign`",
            record="dunning run",
            field="policy",
        )
    for row in rows.values():
        policy = _policy_of(uow, row)
        record = f"policy {row.code}"
        actions = {a for s in policy.steps for a in s.actions}
        needed = []
        if actions & {Action.LATE_FEE, Action.RECOVERY_FEE}:
            needed.append(row.fee_charge_code)
        if Action.INTEREST in actions:
            needed.append(row.interest_charge_code)
        for code in needed:
            if uow.catalog.charge_code(entity.id, code) is None:
                raise InvalidInput(
                    f"charges fees with charge code {code!r}, which is not in the catalog: "
                    f"create it with `openbill charges create {code} ...` and a tax class "
                    "outside the scope of VAT (late-payment compensation and interest are "
                    "not consideration for a supply)",
                    record=record,
                    field="charge_code",
                )
        for step in policy.steps:
            if step.email and not renderer.has_template(step.template):
                raise InvalidInput(
                    f"step {step.step_no} uses the e-mail template {step.template!r}, which "
                    "does not exist (dunning/en/" + step.template + ".txt)",
                    record=record,
                    field="template",
                )
        if policy.emails and not (cmd.sender or entity.email or ""):
            raise InvalidInput(
                "sends letters but there is no sender address: set OPENBILL_SMTP_FROM or the "
                "legal entity's e-mail",
                record=record,
                field="from",
            )


def _start_run(uow: UnitOfWork, cmd: RunDunning) -> int:
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        run_id = int(uow.dunning.add_run(_run_values(uow, entity.id, cmd)))
        audit(
            uow, entity.id, "dunning.run_started", "dunning_run", run_id, None, {"as_of": cmd.as_of}
        )
        uow.commit()
        return run_id


def _finish_run(
    uow: UnitOfWork, cmd: RunDunning, run_id: int, counts: _Counts, message: str
) -> None:
    values = {
        "status": "finished",
        "invoices_seen": counts.invoices_seen,
        "steps_taken": counts.steps_taken,
        "skipped": sum(
            1 for line in counts.lines if line.outcome == "skipped" and not line.step_no
        ),
        "fee_invoices": counts.fee_invoices,
        "emails": counts.emails,
        "message": message,
    }
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        uow.dunning.finish_run(run_id, {**values, "finished_at": uow.clock.now()})
        audit(uow, entity.id, "dunning.run_finished", "dunning_run", run_id, None, values)
        uow.commit()


@dataclass
class _Customer:
    """One customer's run: the facts read in its transaction and the lines it reports."""

    uow: UnitOfWork
    cmd: RunDunning
    run_id: int | None
    entity: Any
    customer: Any
    renderer: LetterRenderer
    lines: list[tuple[int | None, ReportLine]] = field(default_factory=list)
    steps_taken: int = 0
    fee_invoices: int = 0
    emails: int = 0

    def line(
        self,
        doc: Any,
        step_no: int | None,
        outcome: str,
        reason: str,
        detail: str,
    ) -> None:
        number = doc.number if doc is not None else ""
        self.lines.append(
            (
                int(doc.id) if doc is not None else None,
                ReportLine(self.customer.code, number, step_no, outcome, reason, detail),
            )
        )


def _dun_customer(
    uow: UnitOfWork,
    cmd: RunDunning,
    run_id: int | None,
    item: _Work,
    renderer: LetterRenderer,
    counts: _Counts,
) -> None:
    counts.invoices_seen += len(item.invoices)
    try:
        with uow:
            uow.chains.head("audit")  # take the chain heads first: concurrent runs take turns
            entity = entity_by_code(uow, cmd.entity)
            customer = uow.customers.get(item.customer_id)
            job = _Customer(uow, cmd, run_id, entity, customer, renderer)
            _dun(job, item)
            _store_lines(job)
            if cmd.dry_run:
                uow.rollback()
            else:
                uow.commit()
    except Rejection as exc:
        job = _refused(uow, cmd, run_id, item, exc)
    counts.steps_taken += job.steps_taken
    counts.fee_invoices += job.fee_invoices
    counts.emails += job.emails
    counts.lines.extend(line for _, line in job.lines)


def _refused(
    uow: UnitOfWork, cmd: RunDunning, run_id: int | None, item: _Work, exc: Rejection
) -> _Customer:
    """A customer's steps were refused: everything of it was rolled back; report why (in a
    transaction of its own) and go on with the next customer."""
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        customer = uow.customers.get(item.customer_id)
        job = _Customer(uow, cmd, run_id, entity, customer, _NoLetters())
        for doc_id, _ in item.invoices:
            doc = uow.documents.get(doc_id)
            job.line(doc, None, "skipped", SkipReason.REFUSED.value, exc.message)
        _store_lines(job)
        if not cmd.dry_run:
            uow.commit()
    return job


class _NoLetters:
    def has_template(self, template: str) -> bool:
        return False

    def render(self, letter: Letter) -> tuple[str, str]:
        raise AssertionError("a refused customer gets no letter")


def _store_lines(job: _Customer) -> None:
    if job.run_id is None or job.cmd.dry_run:
        return
    job.uow.dunning.add_run_lines(
        [
            {
                "run_id": job.run_id,
                "customer_id": job.customer.id,
                "document_id": doc_id,
                "step_no": line.step_no,
                "outcome": line.outcome,
                "reason": line.reason[:40],
                "detail": line.detail,
            }
            for doc_id, line in job.lines
        ]
    )


def _dun(job: _Customer, item: _Work) -> None:
    uow, entity, customer, as_of = job.uow, job.entity, job.customer, job.cmd.as_of
    docs = [uow.documents.get(doc_id) for doc_id, _ in item.invoices]
    policy_row = _policy_for(uow, entity, customer.id)
    if policy_row is None:
        for doc in docs:
            job.line(
                doc, None, "skipped", SkipReason.NO_POLICY.value, "assign one or set a default"
            )
        return
    policy = _policy_of(uow, policy_row)
    statutory = _statutory(uow.dunning.settings(entity.id))
    facts = _customer_facts(job, policy)
    doc_ids = [int(d.id) for d in docs]
    disputed = uow.disputes.disputed_by_document(entity.id, doc_ids)
    progress = uow.dunning.progress(doc_ids)
    open_docs, invoices = [], []
    for doc, (_, open_then) in zip(docs, item.invoices, strict=True):
        # The smaller of the open amount on the run date and now: a payment recorded since
        # (or dated after a back-dated run) is never dunned.
        open_minor = min(open_then, int(uow.ledger.document_open(doc.id)))
        if open_minor <= 0:
            continue
        last, interest, recovery = progress.get(int(doc.id), (0, 0, False))
        open_docs.append(doc)
        invoices.append(
            InvoiceFacts(
                doc.number,
                doc.due_date,
                doc.currency,
                open_minor,
                int(disputed.get(int(doc.id), 0)),
                last,
                interest,
                recovery,
            )
        )
    rounding = Rounding(entity.rounding)
    plans = plan_customer(policy, statutory, facts, invoices, as_of, rounding)
    hold_from: tuple[Any, int] | None = None
    for doc, invoice, plan in zip(open_docs, invoices, plans, strict=True):
        if plan.skip is not None:
            job.line(doc, None, "skipped", plan.skip.value, plan.skip_detail)
            continue
        if not plan.steps:
            continue
        _take(job, policy_row, doc, invoice, plan, statutory)
        for step in plan.steps:
            if step.sets_credit_hold and hold_from is None:
                hold_from = (doc, step.step.step_no)
    if hold_from is not None:
        doc, step_no = hold_from
        reason = f"dunning step {step_no} of {doc.number} (policy {policy_row.code})"
        _add_hold(uow, entity, customer, "credit", reason, "step", int(doc.id))


def _customer_facts(job: _Customer, policy: Policy) -> CustomerFacts:
    uow, customer, as_of = job.uow, job.customer, job.cmd.as_of
    manual = uow.dunning.active_hold(customer.id, "dunning")
    credit = uow.dunning.active_hold(customer.id, "credit")
    pending = None
    promise = uow.dunning.open_promise(customer.id)
    if promise is not None and promise.made_on <= as_of:
        grace_end = promise.pay_by + timedelta(days=policy.promise_grace_days)
        paid = uow.dunning.paid_between(
            customer.id, promise.currency, promise.made_on, min(as_of, grace_end)
        )
        status = promise_status(
            int(promise.amount_minor), paid, promise.pay_by, policy.promise_grace_days, as_of
        )
        amount = f"{format_minor(int(promise.amount_minor), promise.currency)} {promise.currency}"
        if status is PromiseStatus.PENDING:
            pending = f"{amount} promised by {promise.pay_by} (grace until {grace_end})"
        else:
            uow.dunning.close_promise(promise.id, status.value, as_of)
            audit(
                uow,
                job.entity.id,
                f"dunning.promise_{status.value}",
                "dunning_promise",
                promise.id,
                {"status": "open"},
                {"status": status.value, "paid_minor": paid, "as_of": as_of},
            )
            remark = Remark.PROMISE_KEPT if status is PromiseStatus.KEPT else Remark.PROMISE_BROKEN
            job.line(
                None,
                None,
                "note",
                remark.value,
                f"{amount} promised by {promise.pay_by}; paid "
                f"{format_minor(paid, promise.currency)}: dunning resumes",
            )
    prefs = uow.outbox.preferences(customer.id)
    address = ((prefs.email_to if prefs else "") or (customer.email or "")).strip()
    return CustomerFacts(
        customer.code,
        manual.reason if manual is not None else None,
        credit is not None,
        pending,
        bool(address),
    )


def _take(
    job: _Customer,
    policy_row: Any,
    doc: Any,
    invoice: InvoiceFacts,
    plan: InvoicePlan,
    statutory: Statutory,
) -> None:
    """Carry out one invoice's plan: the fee invoice, the letter, the step rows, the lines."""
    uow, entity, as_of = job.uow, job.entity, job.cmd.as_of
    if Remark.PARTLY_DISPUTED in plan.remarks:
        job.line(
            doc,
            None,
            "note",
            Remark.PARTLY_DISPUTED.value,
            f"{_money(invoice.disputed_minor, doc.currency)} in dispute; dunned for "
            f"{_money(plan.dunned_minor, doc.currency)}",
        )
    fee_doc = _charge(job, policy_row, doc, invoice, plan.charges) if plan.charges else None
    message_id: int | None = None
    letter_problem: SkipReason | None = None
    letter_detail = ""
    email = plan.email_step
    if email is not None:
        message_id, letter_detail = _send(job, doc, invoice, plan, email, fee_doc)
        if message_id is None:
            letter_problem = SkipReason.NO_EMAIL
    for step in plan.steps:
        skipped = list(step.skipped)
        if step is email and letter_problem is not None:
            skipped += [(a, letter_problem) for a in step.step.actions if a in EMAIL_ACTIONS]
        fees = sum(c.amount_minor for c in step.charges if c.action is not Action.INTEREST)
        interest = sum(c.amount_minor for c in step.charges if c.action is Action.INTEREST)
        values = {
            "entity_id": entity.id,
            "document_id": doc.id,
            "customer_id": job.customer.id,
            "step_no": step.step.step_no,
            "policy_id": policy_row.id,
            "run_id": job.run_id if job.run_id is not None else 0,
            "taken_on": as_of,
            "actions": "+".join(a.value for a in step.step.actions),
            "dunned_minor": plan.dunned_minor,
            "fee_minor": fees,
            "interest_minor": interest,
            "recovery_fee": any(c.action is Action.RECOVERY_FEE for c in step.charges),
            "fee_document_id": fee_doc[0] if fee_doc and step.charges else None,
            "outbox_message_id": message_id if step is email and message_id else None,
            "skipped": "; ".join(f"{a.value}: {r.value}" for a, r in skipped),
            "created_at": uow.clock.now(),
        }
        if job.run_id is not None:
            uow.dunning.add_step_taken(values)
            audit(
                uow,
                entity.id,
                "dunning.step_taken",
                "document",
                doc.id,
                None,
                {k: v for k, v in values.items() if k not in ("created_at", "entity_id")},
            )
        job.steps_taken += 1
        job.line(
            doc,
            step.step.step_no,
            "taken",
            values["actions"],
            _describe(
                step,
                doc,
                fee_doc,
                message_id if step is email else None,
                letter_detail,
                skipped,
                job.cmd.dry_run,
            ),
        )
        for action, reason in skipped:
            if reason in _TO_ACT_ON:
                job.line(doc, step.step.step_no, "skipped", reason.value, action.value)
        if step.collections:
            audit(
                uow,
                entity.id,
                "dunning.collections",
                "document",
                doc.id,
                None,
                {"step_no": step.step.step_no, "open_minor": invoice.open_minor},
            )


def _money(minor: int, currency: str) -> str:
    return f"{format_minor(minor, currency)} {currency}"


# Actions not done that a person may want to act on get a report line of their own; the others
# (a letter superseded by a later one, interest already charged) are said in the step's detail.
_TO_ACT_ON = frozenset(
    {
        SkipReason.NO_EMAIL,
        SkipReason.CREDIT_HOLD_ALREADY,
        SkipReason.STATUTORY_OFF,
        SkipReason.OTHER_CURRENCY,
    }
)
_CHARGE_NAMES = {
    Action.LATE_FEE: "late fee",
    Action.RECOVERY_FEE: "recovery fee",
    Action.INTEREST: "interest",
}


def _describe(
    step: StepPlan,
    doc: Any,
    fee_doc: tuple[int, str] | None,
    message_id: int | None,
    letter_detail: str,
    skipped: Sequence[tuple[Action, SkipReason]],
    dry_run: bool,
) -> str:
    """What a step did, in words, for the run report."""
    parts = []
    where = " on a new fee invoice" if dry_run else (f" on {fee_doc[1]}" if fee_doc else "")
    for charge in step.charges:
        text = f"{_CHARGE_NAMES[charge.action]} {_money(charge.amount_minor, doc.currency)}"
        if charge.action is Action.INTEREST:
            text += f" ({charge.days} days at {_percent(charge.rate)} %)"
        parts.append(text + where)
    if message_id is not None:
        kind = "final notice" if Action.FINAL_NOTICE in step.step.actions else "reminder"
        queued = "would be queued" if dry_run else f"queued ({letter_detail})"
        parts.append(f"{kind} e-mail {queued}")
    if step.sets_credit_hold:
        parts.append("credit hold set")
    if step.collections:
        parts.append("handed over to collections")
    parts += [f"{action.value}: {reason.value}" for action, reason in skipped]
    return "; ".join(parts) or "recorded"


def _charge(
    job: _Customer,
    policy_row: Any,
    doc: Any,
    invoice: InvoiceFacts,
    charges: Sequence[Charge],
) -> tuple[int, str]:
    """One fee invoice for all fees and interest an invoice's steps charge in this run."""
    uow, entity, as_of = job.uow, job.entity, job.cmd.as_of
    lines = []
    for charge in charges:
        amount = format(minor_to_decimal(charge.amount_minor, doc.currency), "f")
        if charge.action is Action.INTEREST:
            first_day = invoice.due_date + timedelta(days=1)
            text = (
                f"Late interest on {doc.number}: {_money(charge.base_minor, doc.currency)} at "
                f"{_percent(charge.rate)} % a year from {first_day} to {as_of} "
                f"({charge.days} days, actual/365)"
            )
            if invoice.interest_charged_minor:
                text += (
                    f", less {_money(invoice.interest_charged_minor, doc.currency)} charged before"
                )
            code = policy_row.interest_charge_code
        elif charge.action is Action.RECOVERY_FEE:
            text = f"Fixed compensation for recovery costs on {doc.number}"
            code = policy_row.fee_charge_code
        else:
            text = f"Late fee, dunning step {charge.step_no} on {doc.number}"
            code = policy_row.fee_charge_code
        lines.append(LineSpec(code, "1", text, amount))
    issued = create_invoice_in(
        uow,
        entity,
        CreateInvoice(
            entity.code,
            job.customer.code,
            tuple(lines),
            issue_date=as_of,
            currency=doc.currency,
            buyer_reference=doc.buyer_reference or "",
        ),
    )
    job.fee_invoices += 1
    return issued.id, issued.number


def _send(
    job: _Customer,
    doc: Any,
    invoice: InvoiceFacts,
    plan: InvoicePlan,
    email: StepPlan,
    fee_doc: tuple[int, str] | None,
) -> tuple[int | None, str]:
    """Queue the run's one letter about an invoice. A customer whose address is unusable gets
    none; the step is still taken and the report says why."""
    uow, entity, customer = job.uow, job.entity, job.customer
    settings = uow.dunning.customer_settings(customer.id)
    language = language_for(customer.country, settings.language if settings else None)
    fees_open = []
    for fee in uow.dunning.fee_documents_of(doc.id):
        open_minor = int(uow.ledger.document_open(fee.id))
        if open_minor > 0 and (fee_doc is None or fee.id != fee_doc[0]):
            fees_open.append((fee.number, open_minor))
    letter = Letter(
        language=language,
        template=email.step.template,
        step_no=email.step.step_no,
        final=Action.FINAL_NOTICE in email.step.actions,
        as_of=job.cmd.as_of,
        entity_name=entity.name,
        entity_email=entity.email or "",
        entity_iban=entity.iban or "",
        customer_code=customer.code,
        customer_name=customer.name,
        invoice_number=doc.number,
        invoice_date=doc.document_date,
        due_date=doc.due_date,
        currency=doc.currency,
        total_minor=int(doc.total_minor),
        open_minor=invoice.open_minor,
        disputed_minor=invoice.disputed_minor,
        dunned_minor=plan.dunned_minor,
        days_overdue=(job.cmd.as_of - doc.due_date).days,
        charges=tuple((c.action.value, c.amount_minor) for c in plan.charges),
        fee_invoice=fee_doc[1] if fee_doc else "",
        fees_open=tuple(fees_open),
    )
    subject, body = job.renderer.render(letter)
    try:
        queued = enqueue_message(
            uow, entity, doc, purpose_of(email.step.step_no), subject, body, (), job.cmd.sender
        )
    except InvalidInput as exc:
        if exc.field != "email":
            raise
        return None, exc.reason
    if queued.created:
        job.emails += 1
    return int(queued.id), f"message {queued.id} to {queued.to}, {language}"


# ---------------------------------------------------------------------------------------------
# Reports and history.


def run_report(uow: UnitOfWork, entity_code: str, run_id: int | None = None) -> RunReport:
    """The stored report of a run (the latest when no id is given)."""
    with uow:
        entity = entity_by_code(uow, entity_code)
        if run_id is None:
            latest = uow.dunning.runs(entity.id, 1)
            if not latest:
                raise NotFound("no dunning run yet", record="dunning run", field="id")
            run = latest[0]
        else:
            run = uow.dunning.run(run_id)
            if run is None or run.entity_id != entity.id:
                raise NotFound(f"no dunning run {run_id}", record="dunning run", field="id")
        lines = tuple(
            ReportLine(
                r.customer_code,
                r.document_number or "",
                r.step_no,
                r.outcome,
                r.reason,
                r.detail,
            )
            for r in uow.dunning.run_lines(run.id, MAX_REPORT_LINES)
        )
        return RunReport(
            int(run.id),
            run.as_of,
            False,
            int(run.invoices_seen),
            int(run.steps_taken),
            int(run.fee_invoices),
            int(run.emails),
            lines,
            run.message,
        )


def list_runs(uow: UnitOfWork, entity_code: str, limit: int = 100) -> list[dict[str, Any]]:
    with uow:
        entity = entity_by_code(uow, entity_code)
        return [dict(r._mapping) for r in uow.dunning.runs(entity.id, min(limit, MAX_LIST_ROWS))]


def invoice_history(uow: UnitOfWork, entity_code: str, number: str) -> History:
    """The dunning steps taken on an invoice, and the runs that skipped it and why."""
    with uow:
        entity = entity_by_code(uow, entity_code)
        doc = document_by_number(uow, entity.id, number)
        cur = doc.currency
        steps = tuple(
            HistoryRow(
                r.taken_on,
                int(r.step_no),
                r.policy_code,
                r.actions,
                format_minor(int(r.dunned_minor), cur),
                format_minor(int(r.fee_minor), cur) if r.fee_minor else "",
                format_minor(int(r.interest_minor), cur) if r.interest_minor else "",
                r.fee_document_number or "",
                r.message_status or "",
                r.skipped,
            )
            for r in uow.dunning.history(doc.id, MAX_LIST_ROWS)
        )
        skips = tuple(
            (r.as_of, r.reason, r.detail) for r in uow.dunning.skips_of(doc.id, MAX_LIST_ROWS)
        )
        return History(doc.number, cur, steps, skips)
