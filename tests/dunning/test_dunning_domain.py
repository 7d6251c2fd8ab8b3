"""The pure dunning rules: steps due, late interest, skips, one letter per run, promises."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbill.domain.dunning import (
    Action,
    CustomerFacts,
    InvoiceFacts,
    Policy,
    PromiseStatus,
    Remark,
    SkipReason,
    Statutory,
    Step,
    interest_to_charge,
    language_for,
    late_interest,
    parse_actions,
    plan_customer,
    plan_invoice,
    promise_status,
    steps_due,
)
from openbill.domain.money import Rounding
from openbill.domain.rejections import InvalidInput

DUE = date(2026, 2, 1)
A = Action
STD = Policy(
    "STD",
    "EUR",
    (
        Step(1, -3, (A.REMINDER,), "friendly"),
        Step(2, 7, (A.REMINDER,), "first"),
        Step(3, 21, (A.LATE_FEE, A.REMINDER), "second", 500),
        Step(4, 35, (A.RECOVERY_FEE, A.INTEREST, A.FINAL_NOTICE), "final"),
        Step(5, 42, (A.CREDIT_HOLD, A.COLLECTIONS)),
    ),
    minimum_minor=500,
)
ON = Statutory(True, Decimal("2.15"), Decimal("9"), 4000, "EUR")  # 11.15 % a year
CUSTOMER = CustomerFacts("C1")


def _invoice(open_minor: int = 2975, **kw: object) -> InvoiceFacts:
    return InvoiceFacts("INV-1", DUE, "EUR", open_minor, **kw)  # type: ignore[arg-type]


def _numbers(steps: tuple[Step, ...]) -> list[int]:
    return [s.step_no for s in steps]


# Steps due ------------------------------------------------------------------------------------


def test_a_step_is_due_on_its_day_and_not_the_day_before():
    # step 1 lies 3 days before the due date: 2026-01-29
    assert _numbers(steps_due(STD, DUE, date(2026, 1, 28), 0)) == []
    assert _numbers(steps_due(STD, DUE, date(2026, 1, 29), 0)) == [1]
    # step 2 on 2026-02-08 (due + 7)
    assert _numbers(steps_due(STD, DUE, date(2026, 2, 8), 1)) == [2]
    assert _numbers(steps_due(STD, DUE, date(2026, 2, 7), 1)) == []


def test_a_late_first_run_takes_every_step_due_in_order():
    # 2026-03-13 is due + 40: steps 1-4 (day +35 = 03-08), not 5 (+42 = 03-15)
    assert _numbers(steps_due(STD, DUE, date(2026, 3, 13), 0)) == [1, 2, 3, 4]
    assert _numbers(steps_due(STD, DUE, date(2026, 3, 15), 0)) == [1, 2, 3, 4, 5]


def test_steps_already_taken_and_earlier_dates_give_nothing_new():
    assert _numbers(steps_due(STD, DUE, date(2026, 3, 13), 4)) == []
    # Out of order: step 4 was taken on 03-08; a run on 02-10 would have step 2 "due" by date,
    # but it lies below the last step taken: never again, never backwards.
    assert _numbers(steps_due(STD, DUE, date(2026, 2, 10), 4)) == []
    assert _numbers(steps_due(STD, DUE, date(2026, 3, 15), 4)) == [5]


@given(
    offsets=st.lists(st.integers(-60, 400), min_size=1, max_size=8, unique=True),
    runs=st.lists(st.integers(-90, 500), min_size=1, max_size=12),
)
def test_property_any_run_order_takes_each_step_once_in_order(offsets, runs):
    """Invariant: whatever the order of run dates, every step is taken at most once, the steps
    of one invoice are taken in increasing order, and after each run exactly the steps whose
    day is on or before the latest run date so far are taken (running again adds nothing)."""
    steps = tuple(
        Step(i, off, (A.REMINDER,), "t") for i, off in enumerate(sorted(offsets), start=1)
    )
    policy = Policy("P", "EUR", steps)
    taken: list[int] = []
    latest = None
    for delta in runs:
        day = DUE + timedelta(days=delta)
        new = _numbers(steps_due(policy, DUE, day, max(taken, default=0)))
        taken += new
        latest = day if latest is None else max(latest, day)
        assert taken == sorted(set(taken))
        assert taken == [s.step_no for s in steps if s.day(DUE) <= latest]
        assert _numbers(steps_due(policy, DUE, day, max(taken, default=0))) == []


# Late interest --------------------------------------------------------------------------------


def test_interest_worked_by_hand():
    half_up = Rounding.HALF_UP
    # 1000.00 EUR at 10.15 % for 30 days: 1000 x 10.15 / 100 x 30 / 365 = 8.3424... -> 8.34
    assert late_interest(100000, "EUR", Decimal("10.15"), DUE, DUE + timedelta(30), half_up) == 834
    # one day: 1000 x 10.15 / 100 / 365 = 0.27808... -> 0.28
    assert late_interest(100000, "EUR", Decimal("10.15"), DUE, DUE + timedelta(1), half_up) == 28
    # on the due date itself nothing has run yet (near miss)
    assert late_interest(100000, "EUR", Decimal("10.15"), DUE, DUE, half_up) == 0
    # JPY has no minor unit: 100000 x 11.15 / 100 x 37 / 365 = 1130.27... -> 1130 JPY
    assert late_interest(100000, "JPY", Decimal("11.15"), DUE, DUE + timedelta(37), half_up) == 1130
    # KWD has three decimals: 1000.000 x 10 / 100 / 365 = 0.273972... -> 0.274 KWD
    assert late_interest(1000000, "KWD", Decimal("10"), DUE, DUE + timedelta(1), half_up) == 274


def test_interest_rounds_once_with_the_entity_mode():
    # 36.50 EUR at 1 % for 5 days: 36.5 x 1 / 100 x 5 / 365 = 0.005 exactly: half a cent
    later = DUE + timedelta(5)
    assert late_interest(3650, "EUR", Decimal(1), DUE, later, Rounding.HALF_UP) == 1
    assert late_interest(3650, "EUR", Decimal(1), DUE, later, Rounding.HALF_EVEN) == 0


def test_interest_already_charged_is_subtracted_and_never_goes_negative():
    later = DUE + timedelta(30)
    # 8.34 accrued (above), 5.00 charged before: 3.34 now
    assert (
        interest_to_charge(100000, "EUR", Decimal("10.15"), DUE, later, Rounding.HALF_UP, 500)
        == 334
    )
    # more charged before than accrued now (the open amount went down): nothing, not negative
    assert (
        interest_to_charge(100000, "EUR", Decimal("10.15"), DUE, later, Rounding.HALF_UP, 900) == 0
    )


@given(
    base=st.integers(1, 10**9),
    rate=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(30), places=2),
    days=st.lists(st.integers(-30, 2000), min_size=1, max_size=10),
)
def test_property_interest_is_never_charged_twice(base, rate, days):
    """Invariant: charging on every interest step, in any order of run dates, the interest
    charged adds up to exactly the interest accrued up to the latest run date."""
    charged = 0
    for d in days:
        add = interest_to_charge(
            base, "EUR", rate, DUE, DUE + timedelta(d), Rounding.HALF_UP, charged
        )
        assert add >= 0
        charged += add
    latest = DUE + timedelta(max(days))
    assert charged == late_interest(base, "EUR", rate, DUE, latest, Rounding.HALF_UP)


# Skips and plans ------------------------------------------------------------------------------


def _plan(invoice=None, customer=CUSTOMER, on=date(2026, 3, 13), statutory=ON, policy=STD):
    return plan_invoice(policy, statutory, customer, invoice or _invoice(), on)


def test_skip_reasons_in_order():
    held = CustomerFacts("C1", manual_hold="customer in insolvency talks", promise_pending="x")
    assert _plan(customer=held).skip is SkipReason.MANUAL_HOLD
    promised = CustomerFacts("C1", promise_pending="29.75 EUR promised by 2026-03-20")
    plan = _plan(customer=promised)
    assert (plan.skip, plan.skip_detail) == (
        SkipReason.PROMISE_TO_PAY,
        "29.75 EUR promised by 2026-03-20",
    )
    assert _plan(_invoice(2975, disputed_minor=2975)).skip is SkipReason.DISPUTED


def test_partly_disputed_is_dunned_for_the_rest():
    # 29.75 open, 10.00 disputed: 19.75 asked for, and interest runs on 19.75 only:
    # 19.75 x 11.15 / 100 x 40 / 365 = 0.24133... -> 0.24
    plan = _plan(_invoice(2975, disputed_minor=1000))
    assert plan.skip is None
    assert plan.dunned_minor == 1975
    assert Remark.PARTLY_DISPUTED in plan.remarks
    [interest] = [c for c in plan.charges if c.action is A.INTEREST]
    assert (interest.amount_minor, interest.base_minor, interest.days) == (24, 1975, 40)


def test_minimum_amount_fires_below_and_not_at_it():
    assert _plan(_invoice(499)).skip is SkipReason.BELOW_MINIMUM  # minimum 5.00
    assert _plan(_invoice(500)).skip is None
    # the minimum is in EUR: a JPY invoice of 1 yen is not compared with it
    jpy = InvoiceFacts("INV-J", DUE, "JPY", 1)
    assert _plan(jpy).skip is None


def test_a_late_first_run_sends_one_letter_and_charges_every_fee():
    plan = _plan()  # 2026-03-13: steps 1-4
    assert [s.step.step_no for s in plan.steps] == [1, 2, 3, 4]
    assert plan.email_step is not None and plan.email_step.step.step_no == 4
    assert [(s.step.step_no, s.skipped) for s in plan.steps[:3]] == [
        (1, ((A.REMINDER, SkipReason.SUPERSEDED),)),
        (2, ((A.REMINDER, SkipReason.SUPERSEDED),)),
        (3, ((A.REMINDER, SkipReason.SUPERSEDED),)),
    ]
    # late fee 5.00 (step 3), recovery fee 40.00 and interest (step 4):
    # 29.75 x 11.15 / 100 x 40 / 365 = 0.36352... -> 0.36
    assert [(c.action, c.step_no, c.amount_minor) for c in plan.charges] == [
        (A.LATE_FEE, 3, 500),
        (A.RECOVERY_FEE, 4, 4000),
        (A.INTEREST, 4, 36),
    ]


def test_no_email_address_still_takes_the_step():
    plan = _plan(customer=CustomerFacts("C1", has_email=False), on=date(2026, 2, 8))
    assert [s.step.step_no for s in plan.steps] == [1, 2]
    assert plan.email_step is None
    assert plan.steps[1].skipped == ((A.REMINDER, SkipReason.NO_EMAIL),)


def test_credit_hold_already_blocks_charges_and_a_second_hold_but_not_letters():
    held = CustomerFacts("C1", credit_hold=True)
    plan = _plan(_invoice(last_step_no=2), customer=held, on=date(2026, 3, 15))
    assert plan.charges == ()
    assert plan.email_step is not None and plan.email_step.step.step_no == 4
    skipped = {(s.step.step_no, a, r) for s in plan.steps for a, r in s.skipped}
    assert skipped == {
        (3, A.REMINDER, SkipReason.SUPERSEDED),
        (3, A.LATE_FEE, SkipReason.CREDIT_HOLD_ALREADY),
        (4, A.RECOVERY_FEE, SkipReason.CREDIT_HOLD_ALREADY),
        (4, A.INTEREST, SkipReason.CREDIT_HOLD_ALREADY),
        (5, A.CREDIT_HOLD, SkipReason.CREDIT_HOLD_ALREADY),
    }
    assert plan.steps[-1].collections


def test_one_credit_hold_per_customer_and_the_other_fees_are_still_charged():
    first = _invoice(last_step_no=4)
    second = InvoiceFacts("INV-2", DUE, "EUR", 1000, last_step_no=2)
    one, two = plan_customer(STD, ON, CUSTOMER, (first, second), date(2026, 3, 15))
    assert one.steps[-1].sets_credit_hold
    assert not two.steps[-1].sets_credit_hold
    assert (A.CREDIT_HOLD, SkipReason.CREDIT_HOLD_ALREADY) in two.steps[-1].skipped
    # the second invoice's fees: 5.00, 40.00 and 10.00 x 11.15 / 100 x 42 / 365 = 0.1283 -> 0.13
    assert [c.amount_minor for c in two.charges] == [500, 4000, 13]


def test_statutory_charges_need_the_entity_to_enable_them():
    off = Statutory()
    plan = _plan(statutory=off)
    assert [c.action for c in plan.charges] == [A.LATE_FEE]
    assert set(plan.steps[3].skipped) >= {
        (A.RECOVERY_FEE, SkipReason.STATUTORY_OFF),
        (A.INTEREST, SkipReason.STATUTORY_OFF),
    }


def test_recovery_fee_once_per_invoice_and_fees_only_in_their_currency():
    plan = _plan(_invoice(recovery_fee_charged=True, last_step_no=3))
    assert (A.RECOVERY_FEE, SkipReason.NOTHING_TO_CHARGE) in plan.steps[0].skipped
    jpy = InvoiceFacts("INV-J", DUE, "JPY", 100000)
    plan = _plan(jpy)
    assert [c.action for c in plan.charges] == [A.INTEREST]
    assert (A.LATE_FEE, SkipReason.OTHER_CURRENCY) in plan.steps[2].skipped
    assert (A.RECOVERY_FEE, SkipReason.OTHER_CURRENCY) in plan.steps[3].skipped


@given(
    last=st.integers(0, 5),
    delta=st.integers(-10, 100),
    has_email=st.booleans(),
    hold=st.booleans(),
    open_minor=st.integers(1, 10**7),
    disputed=st.integers(0, 10**7),
)
def test_property_at_most_one_letter_per_invoice_per_run(
    last, delta, has_email, hold, open_minor, disputed
):
    """Invariant: a run sends at most one letter per invoice (the highest step's), never asks
    for more than is open and undisputed, and records every email step it does not send."""
    invoice = _invoice(open_minor, disputed_minor=disputed, last_step_no=last)
    customer = CustomerFacts("C1", credit_hold=hold, has_email=has_email)
    plan = _plan(invoice, customer, DUE + timedelta(delta))
    sending = [s for s in plan.steps if s.sends_email]
    assert len(sending) <= 1
    assert 0 <= plan.dunned_minor <= open_minor
    for s in plan.steps:
        if s.step.email and not s.sends_email:
            assert any(a in (A.REMINDER, A.FINAL_NOTICE) for a, _ in s.skipped)


# Promises, languages, policy checks -----------------------------------------------------------


def test_promise_kept_pending_and_broken():
    by = date(2026, 3, 10)
    # grace 3 days: pending up to and including 03-13, broken from 03-14
    assert promise_status(50000, 0, by, 3, date(2026, 3, 13)) is PromiseStatus.PENDING
    assert promise_status(50000, 0, by, 3, date(2026, 3, 14)) is PromiseStatus.BROKEN
    assert promise_status(50000, 49999, by, 3, date(2026, 3, 14)) is PromiseStatus.BROKEN
    assert promise_status(50000, 50000, by, 3, date(2026, 3, 1)) is PromiseStatus.KEPT


def test_language_from_country_unless_chosen():
    assert [language_for(c) for c in ("DE", "AT", "CH", "FR", "BE", "LU", "IT", "US")] == [
        "de",
        "de",
        "de",
        "fr",
        "fr",
        "fr",
        "en",
        "en",
    ]
    assert language_for("DE", "en") == "en"


def test_actions_parse_in_a_fixed_order():
    assert parse_actions("reminder+late_fee") == (A.LATE_FEE, A.REMINDER)
    with pytest.raises(InvalidInput, match="not an action"):
        parse_actions("reminder+dance")
    with pytest.raises(InvalidInput, match="named twice"):
        parse_actions("reminder+reminder")


@pytest.mark.parametrize(
    ("steps", "field"),
    [
        ((Step(1, 7, (A.REMINDER,), "a"), Step(2, 7, (A.REMINDER,), "b")), "steps"),
        ((Step(1, 7, (A.REMINDER,)),), "template"),
        ((Step(1, 7, (A.LATE_FEE,)),), "fee"),
        ((Step(1, 7, (A.CREDIT_HOLD,), "", 500),), "fee"),
        ((Step(1, 7, (A.REMINDER, A.FINAL_NOTICE), "a"),), "actions"),
        ((Step(1, -91, (A.REMINDER,), "a"),), "offset_days"),
        (tuple(Step(i, i, (A.REMINDER,), "a") for i in range(1, 22)), "steps"),
    ],
)
def test_policy_checks(steps, field):
    with pytest.raises(InvalidInput) as refused:
        Policy("P", "EUR", steps).check()
    assert refused.value.field == field


def test_a_good_policy_passes_its_check():
    STD.check()  # the near miss of the cases above
