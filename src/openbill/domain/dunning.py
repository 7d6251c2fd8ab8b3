"""Dunning decisions: which steps of a policy are due for an invoice on a date, and what each of
them does. Pure: the use case gathers the facts (open and disputed amounts, steps already taken,
holds, promises, statutory settings) and carries out the plan this module returns.

A *policy* is an ordered list of *steps*; each step has a day relative to the invoice's due date
(`offset_days`, negative before it) and one or more *actions*. A step is taken at most once per
invoice, and always in order: on a run dated `as_of`, the steps due are those numbered after
the last one taken whose day is on or before `as_of`. A run on an earlier date than the steps
already taken therefore finds nothing new, and a second run on the same date neither.

When several steps fall due in one run (the first run 40 days after the due date, say), all of
them are taken and recorded in order, fees and interest included, but the customer gets one
letter: the e-mail of the highest step. The earlier e-mails are recorded as superseded.

Late interest is *simple* interest (Directive 2011/7/EU art. 2(6)) on the amount still open and
not disputed, at the annual rate (reference rate + margin) in percent, counted per day with the
actual/365 fixed convention:

    interest = open x (reference rate + margin) / 100 x days / 365

where `days` is the number of days from the due date to the run date (interest runs from the
day after the due date, art. 3(1) and 4(1), up to and including the run date; a leap year still
divides by 365). The exact product is rounded once, to minor units, with the entity's rounding
mode; what was already charged for the invoice is subtracted, so interest is never charged
twice, and never goes negative when the open amount has gone down.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from openbill.domain.money import Rounding, minor_to_decimal, round_to_minor
from openbill.domain.rejections import InvalidInput, InvariantError

__all__ = [
    "Action",
    "ACTION_ORDER",
    "EMAIL_ACTIONS",
    "CHARGE_ACTIONS",
    "SkipReason",
    "Remark",
    "Step",
    "Policy",
    "Statutory",
    "CustomerFacts",
    "InvoiceFacts",
    "Charge",
    "StepPlan",
    "InvoicePlan",
    "PromiseStatus",
    "steps_due",
    "plan_invoice",
    "plan_customer",
    "late_interest",
    "interest_to_charge",
    "promise_status",
    "language_for",
    "parse_actions",
    "MAX_STEPS",
    "OFFSET_DAYS_MIN",
    "OFFSET_DAYS_MAX",
    "DAYS_IN_YEAR",
]

# Bounds (DESIGN.md principle 8).
MAX_STEPS = 20  # steps per policy
OFFSET_DAYS_MIN = -90  # the earliest step: three months before the due date
OFFSET_DAYS_MAX = 3 * 365  # the latest step: three years after it
DAYS_IN_YEAR = 365  # actual/365 fixed


class Action(StrEnum):
    REMINDER = "reminder"  # a reminder e-mail (friendly, first, second ...)
    LATE_FEE = "late_fee"  # a fixed fee named on the step, in the policy's currency
    RECOVERY_FEE = "recovery_fee"  # the entity's statutory recovery fee, once per invoice
    INTEREST = "interest"  # statutory late interest up to the run date
    FINAL_NOTICE = "final_notice"  # the last e-mail before escalation
    CREDIT_HOLD = "credit_hold"  # no new invoices for the customer until released
    COLLECTIONS = "collections"  # hand-over to collections (recorded and audited)


# Within a step: charges first (so that the letter can name them and so that they are invoiced
# before a credit hold would block the invoice), then the letter, then the escalations.
ACTION_ORDER: tuple[Action, ...] = (
    Action.LATE_FEE,
    Action.RECOVERY_FEE,
    Action.INTEREST,
    Action.REMINDER,
    Action.FINAL_NOTICE,
    Action.CREDIT_HOLD,
    Action.COLLECTIONS,
)
EMAIL_ACTIONS = frozenset({Action.REMINDER, Action.FINAL_NOTICE})
CHARGE_ACTIONS = frozenset({Action.LATE_FEE, Action.RECOVERY_FEE, Action.INTEREST})


class SkipReason(StrEnum):
    """Why an invoice was skipped (nothing taken), or why one action of a step taken was not
    carried out. The first five apply to whole invoices, the rest to single actions."""

    DISPUTED = "disputed"  # nothing undisputed is left open
    PROMISE_TO_PAY = "promise to pay"  # the customer promised to pay; the date + grace is ahead
    MANUAL_HOLD = "manual hold"  # a person put the customer's dunning on hold
    BELOW_MINIMUM = "below minimum amount"  # less open than the policy's minimum
    NO_POLICY = "no dunning policy"  # neither the customer nor the entity has a policy
    REFUSED = "refused"  # carrying out the steps was refused (the detail says why)
    # action-level: the step is recorded, this action did nothing
    NO_EMAIL = "no e-mail address"
    SUPERSEDED = "superseded"  # a later step of the same run sends the letter
    CREDIT_HOLD_ALREADY = "credit hold already"
    STATUTORY_OFF = "statutory interest not enabled"
    NOTHING_TO_CHARGE = "nothing to charge"  # interest already charged up to this date
    OTHER_CURRENCY = "other currency"  # the fee is in another currency than the invoice


class Remark(StrEnum):
    """Notes in the run report that are neither an action nor a skip."""

    PROMISE_BROKEN = "promise broken"  # dunning resumes
    PROMISE_KEPT = "promise kept"  # dunning resumes for what is still open
    PARTLY_DISPUTED = "partly disputed"  # dunned for the undisputed part only


def parse_actions(text: str, record: str = "step") -> tuple[Action, ...]:
    """'reminder+late_fee' -> (LATE_FEE, REMINDER): known, distinct, in ACTION_ORDER."""
    names = [n.strip() for n in text.replace(",", "+").split("+") if n.strip()]
    if not names:
        raise InvalidInput("a step needs at least one action", record=record, field="actions")
    actions: set[Action] = set()
    for name in names:
        try:
            action = Action(name)
        except ValueError:
            known = ", ".join(a.value for a in ACTION_ORDER)
            raise InvalidInput(
                f"{name!r} is not an action; actions are {known}", record=record, field="actions"
            ) from None
        if action in actions:
            raise InvalidInput(f"{name} is named twice", record=record, field="actions")
        actions.add(action)
    return tuple(a for a in ACTION_ORDER if a in actions)


@dataclass(frozen=True, slots=True)
class Step:
    step_no: int
    offset_days: int  # relative to the due date; negative: before it
    actions: tuple[Action, ...]
    template: str = ""  # the e-mail template of a reminder or final notice
    fee_minor: int = 0  # the late fee of a LATE_FEE step, in the policy's currency

    def day(self, due: date) -> date:
        return due + timedelta(days=self.offset_days)

    @property
    def email(self) -> bool:
        return any(a in EMAIL_ACTIONS for a in self.actions)

    def check(self) -> None:
        record = f"step {self.step_no}"
        if not OFFSET_DAYS_MIN <= self.offset_days <= OFFSET_DAYS_MAX:
            raise InvalidInput(
                f"a step lies between {OFFSET_DAYS_MIN} and {OFFSET_DAYS_MAX} days from the due "
                "date",
                record=record,
                field="offset_days",
            )
        if tuple(a for a in ACTION_ORDER if a in self.actions) != self.actions or not self.actions:
            raise InvariantError(f"{record}: actions must be distinct and in ACTION_ORDER")
        if Action.REMINDER in self.actions and Action.FINAL_NOTICE in self.actions:
            raise InvalidInput(
                "a step sends one letter: a reminder or a final notice, not both",
                record=record,
                field="actions",
            )
        if self.email and not self.template:
            raise InvalidInput(
                "a reminder or final notice needs an e-mail template",
                record=record,
                field="template",
            )
        if not self.email and self.template:
            raise InvalidInput(
                "a template is only used by a reminder or final notice",
                record=record,
                field="template",
            )
        if (Action.LATE_FEE in self.actions) != (self.fee_minor > 0):
            raise InvalidInput(
                "a late_fee step needs a positive fee, and only a late_fee step has one",
                record=record,
                field="fee",
            )


@dataclass(frozen=True, slots=True)
class Policy:
    code: str
    currency: str  # of the fixed amounts: late fees and the minimum
    steps: tuple[Step, ...]
    minimum_minor: int = 0  # invoices with less open (and undisputed) are not dunned
    promise_grace_days: int = 3  # days after a promised date before the promise counts broken

    def check(self) -> None:
        record = f"policy {self.code}"
        if not self.steps:
            raise InvalidInput("a policy needs at least one step", record=record, field="steps")
        if len(self.steps) > MAX_STEPS:
            raise InvalidInput(f"at most {MAX_STEPS} steps", record=record, field="steps")
        if self.minimum_minor < 0:
            raise InvalidInput("must not be negative", record=record, field="minimum")
        if not 0 <= self.promise_grace_days <= 60:
            raise InvalidInput("between 0 and 60 days", record=record, field="grace_days")
        for number, step in enumerate(self.steps, start=1):
            if step.step_no != number:
                raise InvariantError(f"{record}: steps are numbered 1..n in order")
            step.check()
        offsets = [s.offset_days for s in self.steps]
        if any(b <= a for a, b in zip(offsets, offsets[1:], strict=False)):
            raise InvalidInput(
                "each step must come at least one day after the one before it (put actions "
                "of the same day into one step, e.g. reminder+late_fee)",
                record=record,
                field="steps",
            )

    @property
    def charges(self) -> bool:
        return any(a in CHARGE_ACTIONS for s in self.steps for a in s.actions)

    @property
    def emails(self) -> bool:
        return any(s.email for s in self.steps)


@dataclass(frozen=True, slots=True)
class Statutory:
    """The entity's statutory late-payment settings (Directive 2011/7/EU)."""

    enabled: bool = False
    reference_rate: Decimal = Decimal(0)  # percent a year, e.g. Decimal("2.15")
    margin: Decimal = Decimal(8)  # percentage points over the reference rate (art. 2(6): >= 8)
    recovery_fee_minor: int = 4000  # art. 6(1): at least EUR 40 per invoice
    recovery_currency: str = "EUR"

    @property
    def annual_rate(self) -> Decimal:
        return self.reference_rate + self.margin


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    code: str
    manual_hold: str | None = None  # the reason of an active manual dunning hold
    credit_hold: bool = False  # an active credit hold (before this run)
    promise_pending: str | None = None  # a promise to pay still ahead (its description)
    has_email: bool = True


@dataclass(frozen=True, slots=True)
class InvoiceFacts:
    number: str
    due_date: date
    currency: str
    open_minor: int  # receivable still open
    disputed_minor: int = 0  # in dispute cases that are not closed
    last_step_no: int = 0  # the highest step taken so far; 0: none
    interest_charged_minor: int = 0  # late interest invoiced for this invoice so far
    recovery_fee_charged: bool = False

    @property
    def undisputed_minor(self) -> int:
        return max(0, self.open_minor - max(0, self.disputed_minor))


@dataclass(frozen=True, slots=True)
class Charge:
    action: Action  # LATE_FEE, RECOVERY_FEE or INTEREST
    step_no: int
    amount_minor: int  # in the invoice's currency, positive
    days: int = 0  # interest: days from the due date to the run date
    rate: Decimal = Decimal(0)  # interest: percent a year
    base_minor: int = 0  # interest: the amount it runs on


@dataclass(frozen=True, slots=True)
class StepPlan:
    step: Step
    charges: tuple[Charge, ...] = ()
    sends_email: bool = False  # this step's letter goes out (the highest letter of the run)
    sets_credit_hold: bool = False
    collections: bool = False
    skipped: tuple[tuple[Action, SkipReason], ...] = ()  # actions that did nothing, and why


@dataclass(frozen=True, slots=True)
class InvoicePlan:
    """What to do for one invoice: nothing (skip, with the reason) or the steps to take."""

    skip: SkipReason | None = None
    skip_detail: str = ""
    steps: tuple[StepPlan, ...] = ()
    remarks: tuple[Remark, ...] = ()
    dunned_minor: int = 0  # the amount the letters ask for: open minus disputed

    @property
    def email_step(self) -> StepPlan | None:
        return next((s for s in self.steps if s.sends_email), None)

    @property
    def charges(self) -> tuple[Charge, ...]:
        return tuple(c for s in self.steps for c in s.charges)


def steps_due(policy: Policy, due: date, as_of: date, last_step_no: int) -> tuple[Step, ...]:
    """The steps to take on `as_of`: numbered after the last one taken, with their day on or
    before `as_of`, in order. Steps are never taken twice and never out of order."""
    return tuple(s for s in policy.steps if s.step_no > last_step_no and s.day(due) <= as_of)


def late_interest(
    base_minor: int,
    currency: str,
    annual_rate: Decimal,
    due: date,
    as_of: date,
    rounding: Rounding,
) -> int:
    """Simple interest on `base_minor` from the day after `due` up to and including `as_of`,
    actual/365, rounded once to minor units. Zero when not late or nothing is open.

    >>> # 1000.00 EUR at 10.15 % for 30 days: 1000 x 10.15 / 100 x 30 / 365 = 8.3424... -> 8.34
    >>> late_interest(100000, "EUR", Decimal("10.15"), date(2026, 1, 31), date(2026, 3, 2),
    ...               Rounding.HALF_UP)
    834
    """
    days = (as_of - due).days
    if days <= 0 or base_minor <= 0 or annual_rate <= 0:
        return 0
    # Exact (Decimal, 50 digits) until the one rounding at the end.
    base = minor_to_decimal(base_minor, currency)
    exact = base * annual_rate * days / (Decimal(100) * DAYS_IN_YEAR)
    return round_to_minor(exact, currency, rounding)


def interest_to_charge(
    base_minor: int,
    currency: str,
    annual_rate: Decimal,
    due: date,
    as_of: date,
    rounding: Rounding,
    already_minor: int,
) -> int:
    """Interest accrued up to `as_of` less what was already charged for the invoice, never
    below zero: charging on every interest step never charges a day twice."""
    accrued = late_interest(base_minor, currency, annual_rate, due, as_of, rounding)
    return max(0, accrued - max(0, already_minor))


class PromiseStatus(StrEnum):
    PENDING = "open"  # the promised date plus grace is still ahead and not yet paid
    KEPT = "kept"
    BROKEN = "broken"


def promise_status(
    promised_minor: int, paid_minor: int, pay_by: date, grace_days: int, as_of: date
) -> PromiseStatus:
    """A promise is kept once the customer paid at least the promised amount (counted from the
    day it was made up to the promised date plus grace), broken once that day has passed
    without it, and pending before."""
    if paid_minor >= promised_minor:
        return PromiseStatus.KEPT
    if as_of > pay_by + timedelta(days=grace_days):
        return PromiseStatus.BROKEN
    return PromiseStatus.PENDING


_LANGUAGES = {"DE": "de", "AT": "de", "CH": "de", "FR": "fr", "BE": "fr", "LU": "fr"}


def language_for(country: str, chosen: str | None = None) -> str:
    """The letter language: the customer's own choice, else from its country (DE, AT, CH:
    German; FR, BE, LU: French), else English."""
    if chosen:
        return chosen
    return _LANGUAGES.get(country.upper(), "en")


@dataclass
class _Planner:
    policy: Policy
    statutory: Statutory
    customer: CustomerFacts
    invoice: InvoiceFacts
    as_of: date
    rounding: Rounding
    hold_already: bool = False  # on credit hold, or a hold planned by an earlier invoice
    remarks: list[Remark] = field(default_factory=list)

    def skip(self, reason: SkipReason, detail: str) -> InvoicePlan:
        return InvoicePlan(reason, detail, remarks=tuple(self.remarks))

    def plan(self) -> InvoicePlan:
        inv, policy = self.invoice, self.policy
        if self.customer.manual_hold is not None:
            return self.skip(SkipReason.MANUAL_HOLD, self.customer.manual_hold)
        if self.customer.promise_pending is not None:
            return self.skip(SkipReason.PROMISE_TO_PAY, self.customer.promise_pending)
        if inv.open_minor > 0 and inv.undisputed_minor == 0:
            return self.skip(SkipReason.DISPUTED, "the whole open amount is in dispute")
        dunned = inv.undisputed_minor
        if inv.currency == policy.currency and dunned < policy.minimum_minor:
            return self.skip(SkipReason.BELOW_MINIMUM, "")
        due = steps_due(policy, inv.due_date, self.as_of, inv.last_step_no)
        if not due:
            return InvoicePlan(remarks=tuple(self.remarks), dunned_minor=dunned)
        if inv.disputed_minor > 0:
            self.remarks.append(Remark.PARTLY_DISPUTED)
        last_email = max((s.step_no for s in due if s.email), default=0)
        interest_charged = inv.interest_charged_minor
        recovery_charged = inv.recovery_fee_charged
        hold_planned = self.customer.credit_hold or self.hold_already
        plans: list[StepPlan] = []
        for step in due:
            charges: list[Charge] = []
            skipped: list[tuple[Action, SkipReason]] = []
            sends = hold = collections = False
            for action in step.actions:
                if action in CHARGE_ACTIONS:
                    charge, reason = self._charge(step, action, dunned, interest_charged)
                    if charge is not None and self.customer.credit_hold:
                        charge, reason = None, SkipReason.CREDIT_HOLD_ALREADY
                    if charge is not None and action is Action.RECOVERY_FEE and recovery_charged:
                        charge, reason = None, SkipReason.NOTHING_TO_CHARGE
                    if charge is None:
                        skipped.append((action, reason or SkipReason.NOTHING_TO_CHARGE))
                        continue
                    charges.append(charge)
                    if action is Action.INTEREST:
                        interest_charged += charge.amount_minor
                    if action is Action.RECOVERY_FEE:
                        recovery_charged = True
                elif action in EMAIL_ACTIONS:
                    if step.step_no != last_email:
                        skipped.append((action, SkipReason.SUPERSEDED))
                    elif not self.customer.has_email:
                        skipped.append((action, SkipReason.NO_EMAIL))
                    else:
                        sends = True
                elif action is Action.CREDIT_HOLD:
                    if hold_planned:
                        skipped.append((action, SkipReason.CREDIT_HOLD_ALREADY))
                    else:
                        hold = hold_planned = True
                elif action is Action.COLLECTIONS:
                    collections = True
            plans.append(StepPlan(step, tuple(charges), sends, hold, collections, tuple(skipped)))
        return InvoicePlan(None, "", tuple(plans), tuple(self.remarks), dunned)

    def _charge(
        self, step: Step, action: Action, dunned: int, interest_charged: int
    ) -> tuple[Charge | None, SkipReason | None]:
        inv, statutory = self.invoice, self.statutory
        if action is Action.LATE_FEE:
            if inv.currency != self.policy.currency:
                return None, SkipReason.OTHER_CURRENCY
            return Charge(action, step.step_no, step.fee_minor), None
        if not statutory.enabled:
            return None, SkipReason.STATUTORY_OFF
        if action is Action.RECOVERY_FEE:
            if inv.currency != statutory.recovery_currency:
                return None, SkipReason.OTHER_CURRENCY
            if statutory.recovery_fee_minor <= 0:
                return None, SkipReason.NOTHING_TO_CHARGE
            return Charge(action, step.step_no, statutory.recovery_fee_minor), None
        rate = statutory.annual_rate
        amount = interest_to_charge(
            dunned, inv.currency, rate, inv.due_date, self.as_of, self.rounding, interest_charged
        )
        if amount <= 0:
            return None, SkipReason.NOTHING_TO_CHARGE
        days = (self.as_of - inv.due_date).days
        return Charge(action, step.step_no, amount, days, rate, dunned), None


def plan_invoice(
    policy: Policy,
    statutory: Statutory,
    customer: CustomerFacts,
    invoice: InvoiceFacts,
    as_of: date,
    rounding: Rounding = Rounding.HALF_UP,
    remarks: Iterable[Remark] = (),
) -> InvoicePlan:
    """Decide what one run on `as_of` does for one invoice.

    Skips first, in this order: a manual dunning hold, a pending promise to pay, an invoice
    wholly in dispute, less open than the policy's minimum. Otherwise every step due is taken in
    order; within a run a fee and interest are charged at most as the rules allow (a recovery
    fee once per invoice ever, interest up to the run date less what was charged), only the
    highest letter is sent, and a credit hold is set once. While the customer is already on
    credit hold no fee or interest can be invoiced (the hold blocks every new invoice): those
    actions are recorded as skipped, and interest not charged is caught up by a later interest
    step.
    """
    planner = _Planner(policy, statutory, customer, invoice, as_of, rounding)
    planner.remarks.extend(remarks)
    return planner.plan()


def plan_customer(
    policy: Policy,
    statutory: Statutory,
    customer: CustomerFacts,
    invoices: Sequence[InvoiceFacts],
    as_of: date,
    rounding: Rounding = Rounding.HALF_UP,
) -> tuple[InvoicePlan, ...]:
    """`plan_invoice` for each of a customer's invoices, oldest first, with one credit hold at
    most: once one invoice's step sets it, the hold steps of the others are recorded as
    "credit hold already". Fees of the same run are still charged, because the use case sets
    the hold after the customer's charges are invoiced."""
    plans: list[InvoicePlan] = []
    hold = customer.credit_hold
    for invoice in invoices:
        planner = _Planner(policy, statutory, customer, invoice, as_of, rounding, hold)
        plan = planner.plan()
        hold = hold or any(s.sets_credit_hold for s in plan.steps)
        plans.append(plan)
    return tuple(plans)
