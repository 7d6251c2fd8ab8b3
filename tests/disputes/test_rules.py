"""The pure rules of dispute cases: statuses and their transitions, the amount bound, a line's
total with tax, case numbers, and the root-cause report (worked out by hand)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbill.domain.disputes import (
    ACTIVE,
    CLOSED,
    TRANSITIONS,
    WHOLE_INVOICE,
    CaseFacts,
    Reason,
    Status,
    build_report,
    case_number,
    check_amount,
    check_transition,
    line_gross_minor,
    mean_days,
    median_days,
)
from openbill.domain.money import Rounding
from openbill.domain.rejections import InvalidAmount, InvalidState, InvariantError

D0 = date(2026, 3, 1)


def test_case_numbers_are_per_entity_sequence_numbers():
    assert case_number(1) == "DSP-000001"
    assert case_number(123456) == "DSP-123456"
    with pytest.raises(InvariantError):
        case_number(0)


@pytest.mark.parametrize("closed", [Status.RESOLVED, Status.REJECTED])
@pytest.mark.parametrize("target", list(Status))
def test_a_closed_case_never_moves_again(closed, target):
    with pytest.raises(InvalidState) as refused:
        check_transition(closed, target, "dispute case DSP-000001", by_resolution=True)
    assert "open a new case" in refused.value.reason


@pytest.mark.parametrize("target", [Status.RESOLVED, Status.REJECTED])
def test_closing_needs_a_resolution(target):
    with pytest.raises(InvalidState) as refused:
        check_transition(Status.OPEN, target, "dispute case DSP-000001")
    assert "disputes resolve" in refused.value.reason
    # Near miss: the same move made by a resolution is allowed.
    assert check_transition(Status.OPEN, target, "x", by_resolution=True) is True


def test_moves_between_active_statuses_and_the_same_status_is_no_change():
    assert check_transition(Status.OPEN, Status.WAITING_ON_CUSTOMER, "x") is True
    assert check_transition(Status.WAITING_ON_CUSTOMER, Status.WAITING_ON_INTERNAL, "x") is True
    assert check_transition(Status.WAITING_ON_INTERNAL, Status.OPEN, "x") is True
    assert check_transition(Status.WAITING_ON_CUSTOMER, Status.WAITING_ON_CUSTOMER, "x") is False


def test_the_transition_table_covers_every_status():
    assert set(TRANSITIONS) == set(Status)
    assert ACTIVE | CLOSED == set(Status) and not ACTIVE & CLOSED
    for status in CLOSED:
        assert TRANSITIONS[status] == frozenset()


def test_the_amount_in_dispute_is_positive_and_within_the_limit():
    check_amount(2975, 2975, "EUR", "r", "29.75 EUR open")  # exactly the limit: allowed
    check_amount(1, 2975, "EUR", "r", "why")
    with pytest.raises(InvalidAmount) as above:
        check_amount(2976, 2975, "EUR", "r", "29.75 EUR open on INV-1")
    assert "at most 29.75 EUR can be disputed (29.75 EUR open on INV-1)" in above.value.reason
    for bad in (0, -1):
        with pytest.raises(InvalidAmount) as refused:
            check_amount(bad, 2975, "EUR", "r", "why")
        assert "more than zero" in refused.value.reason


def test_line_gross_adds_the_line_tax_rounded_once():
    # 25.00 net at 19 %: 4.75 tax, 29.75 gross.
    assert line_gross_minor(2500, Decimal("19"), "EUR", Rounding.HALF_UP) == 2975
    # 29.97 at 7 %: 2.0979 -> 2.10, 32.07.
    assert line_gross_minor(2997, Decimal("7"), "EUR", Rounding.HALF_UP) == 3207
    # 12.50 at 19 %: 2.375 -> 2.38 half up; 14.88.
    assert line_gross_minor(1250, Decimal("19"), "EUR", Rounding.HALF_UP) == 1488
    # 0.50 at 5 %: 0.025 -> 0.03 half up, 0.02 half even.
    assert line_gross_minor(50, Decimal("5"), "EUR", Rounding.HALF_UP) == 53
    assert line_gross_minor(50, Decimal("5"), "EUR", Rounding.HALF_EVEN) == 52
    # JPY has no minor unit: 1333 at 10 % = 133.3 -> 133.
    assert line_gross_minor(1333, Decimal("10"), "JPY", Rounding.HALF_UP) == 1466
    # Exempt lines: no tax.
    assert line_gross_minor(10000, Decimal("0"), "EUR", Rounding.HALF_UP) == 10000


def test_median_and_mean_of_days():
    assert median_days([]) is None and mean_days([]) is None
    assert median_days([5]) == Decimal("5.0")
    # 1 2 | 4 10: median (2 + 4) / 2 = 3.0; mean 17 / 4 = 4.25 -> 4.3 (half up).
    assert median_days([10, 1, 4, 2]) == Decimal("3.0")
    assert mean_days([10, 1, 4, 2]) == Decimal("4.3")
    # 1 2: median 1.5; mean 1.5.
    assert median_days([2, 1]) == Decimal("1.5") and mean_days([1, 2]) == Decimal("1.5")


def _case(no, reason, amount, status=Status.OPEN, days=None, code=None, cur="EUR", adj=0):
    closed = D0 + timedelta(days=days) if days is not None else None
    return CaseFacts(f"DSP-{no:06d}", reason, cur, amount, D0, status, closed, code, adj)


def test_report_by_reason_charge_code_and_both():
    cases = [
        # price on WIDGET lines, closed after 2 and 6 days: mean 4.0, median 4.0
        _case(1, Reason.PRICE, 1000, Status.RESOLVED, 2, "WIDGET", adj=1190),
        _case(2, Reason.PRICE, 500, Status.REJECTED, 6, "WIDGET"),
        # price on BOOK, still open
        _case(3, Reason.PRICE, 300, Status.WAITING_ON_CUSTOMER, None, "BOOK"),
        # a whole invoice, not delivered, resolved after 9 days; and one in JPY, open
        _case(4, Reason.NOT_DELIVERED, 2975, Status.RESOLVED, 9, None, adj=2975),
        _case(5, Reason.NOT_DELIVERED, 1333, Status.OPEN, None, None, cur="JPY"),
    ]
    report = build_report(cases)
    total = report.total
    assert (total.cases, total.active, total.resolved, total.rejected) == (5, 2, 2, 1)
    # EUR 1000 + 500 + 300 + 2975 = 4775; JPY 1333. Adjusted: 1190 + 2975 = 4165.
    assert total.disputed == (("EUR", 4775), ("JPY", 1333))
    assert total.adjusted == (("EUR", 4165), ("JPY", 0))
    # Closed after 2, 6, 9 days: mean 17 / 3 = 5.67 -> 5.7, median 6.
    assert (total.days_mean, total.days_median) == (Decimal("5.7"), Decimal("6.0"))

    reasons = {g.key: g for g in report.by_reason}
    assert [g.key for g in report.by_reason] == ["price", "not_delivered"]  # 3 cases, then 2
    assert reasons["price"].disputed == (("EUR", 1800),)  # 1000 + 500 + 300
    assert (reasons["price"].days_mean, reasons["price"].days_median) == (
        Decimal("4.0"),
        Decimal("4.0"),
    )
    assert reasons["not_delivered"].days_median == Decimal("9.0")

    codes = {g.key: (g.cases, g.disputed) for g in report.by_charge_code}
    assert codes == {
        "WIDGET": (2, (("EUR", 1500),)),
        WHOLE_INVOICE: (2, (("EUR", 2975), ("JPY", 1333))),
        "BOOK": (1, (("EUR", 300),)),
    }
    causes = {g.key: g.cases for g in report.by_cause}
    assert causes == {
        "price / WIDGET": 2,
        "price / BOOK": 1,
        f"not_delivered / {WHOLE_INVOICE}": 2,
    }
    # Only closed cases have a time to resolve: BOOK's only case is open.
    assert {g.key: g.days_mean for g in report.by_charge_code}["BOOK"] is None


def test_an_empty_report_has_zero_counts_and_no_times():
    report = build_report([])
    assert report.total.cases == 0 and report.total.disputed == ()
    assert report.total.days_mean is None and report.by_reason == ()


def test_a_closed_case_without_a_closing_date_is_a_bug():
    broken = CaseFacts("DSP-000001", Reason.TAX, "EUR", 100, D0, Status.RESOLVED, None)
    with pytest.raises(InvariantError):
        build_report([broken])
    early = CaseFacts("DSP-000001", Reason.TAX, "EUR", 100, D0, Status.RESOLVED, D0 - timedelta(1))
    with pytest.raises(InvariantError):
        build_report([early])


_facts = st.builds(
    lambda no, reason, amount, status, days, code, cur: CaseFacts(
        f"DSP-{no:06d}",
        reason,
        cur,
        amount,
        D0,
        status,
        D0 + timedelta(days=days) if status in CLOSED else None,
        code,
        amount if status == Status.RESOLVED else 0,
    ),
    st.integers(1, 999_999),
    st.sampled_from(list(Reason)),
    st.integers(1, 10**12),
    st.sampled_from(list(Status)),
    st.integers(0, 3650),
    st.sampled_from([None, "WIDGET", "BOOK", "TRAINING"]),
    st.sampled_from(["EUR", "JPY"]),
)


def _sum(groups, attr):
    out: dict[str, int] = {}
    for g in groups:
        for cur, minor in getattr(g, attr):
            out[cur] = out.get(cur, 0) + minor
    return tuple(sorted(out.items()))


@given(st.lists(_facts, max_size=40))
def test_every_breakdown_adds_up_to_the_totals(cases):
    # Invariant: each case counts exactly once in each breakdown (a whole-invoice case under
    # "(whole invoice)", never under several charge codes), so counts and amounts add up.
    report = build_report(cases)
    for groups in (report.by_reason, report.by_charge_code, report.by_cause):
        assert sum(g.cases for g in groups) == report.total.cases == len(cases)
        assert sum(g.active + g.resolved + g.rejected for g in groups) == len(cases)
        assert _sum(groups, "disputed") == report.total.disputed
        assert _sum(groups, "adjusted") == report.total.adjusted


@given(st.lists(st.integers(0, 3650), min_size=1, max_size=50))
def test_median_and_mean_lie_between_the_fastest_and_the_slowest(days):
    for value in (median_days(days), mean_days(days)):
        assert value is not None and min(days) <= value <= max(days)
