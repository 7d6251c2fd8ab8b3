"""The metric formulas of openbill.domain.metrics, worked out by hand, and their invariants."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbill.domain.metrics import (
    MonthSales,
    NotEnoughData,
    PaymentTally,
    Period,
    SettledInvoice,
    SettlementKind,
    collection_effectiveness,
    dso_countback,
    month_slices,
    months_back,
    settlement_kind,
)
from openbill.domain.rejections import InvalidInput


def months(end: date, *sales_minor: int) -> list[MonthSales]:
    """Month slices back from `end`, newest first, with the given sales."""
    slices = month_slices(end, len(sales_minor))
    return [MonthSales(p, s) for p, s in zip(slices, sales_minor, strict=True)]


# ---------------------------------------------------------------------------- month slices


def test_month_slices_cut_the_current_month_at_the_end_date():
    # 2026-03-15: March 1..15 (15 days), February (28 days, 2026 is no leap year), January (31)
    slices = month_slices(date(2026, 3, 15), 3)
    assert [(p.start, p.end, p.days) for p in slices] == [
        (date(2026, 3, 1), date(2026, 3, 15), 15),
        (date(2026, 2, 1), date(2026, 2, 28), 28),
        (date(2026, 1, 1), date(2026, 1, 31), 31),
    ]


def test_month_slices_know_leap_years():
    # 2024 is a leap year: February has 29 days; the slices cross into 2023.
    slices = month_slices(date(2024, 3, 31), 4)
    assert [p.days for p in slices] == [31, 29, 31, 31]
    assert slices[-1].start == date(2023, 12, 1)


def test_months_back_starts_on_the_first_of_the_earliest_month():
    assert months_back(date(2026, 3, 31), 3) == Period(date(2026, 1, 1), date(2026, 3, 31))
    # Mid-month: the period still starts on a first, and ends on the as-of date.
    assert months_back(date(2026, 3, 15), 1) == Period(date(2026, 3, 1), date(2026, 3, 15))


def test_a_period_cannot_end_before_it_starts():
    with pytest.raises(InvalidInput) as refused:
        Period(date(2026, 3, 2), date(2026, 3, 1))
    assert refused.value.field == "to"
    assert Period(date(2026, 3, 1), date(2026, 3, 1)).days == 1  # one day is a period


# ---------------------------------------------------------------------------- DSO countback


def test_dso_countback_textbook_example():
    # AR 1,500,000.00 on 2026-06-30. June sales 600,000.00 (30 days), May 500,000.00 (31
    # days), April 700,000.00 (30 days).
    # 1,500,000 - 600,000 = 900,000 left: June consumed, 30 days
    #   900,000 - 500,000 = 400,000 left: May consumed, 30 + 31 = 61 days
    #   400,000 / 700,000 x 30 = 17.142857 days of April
    # DSO = 61 + 17.142857 = 78.142857 -> 78.1
    got = dso_countback(150_000_000, months(date(2026, 6, 30), 60_000_000, 50_000_000, 70_000_000))
    assert got == Decimal("78.1")


def test_dso_ar_equal_to_the_latest_month_is_its_days_exactly():
    # AR = June sales: June is consumed to the last cent -> 30.0 days, no day of May.
    assert dso_countback(300_000, months(date(2026, 6, 30), 300_000, 310_000)) == Decimal("30.0")
    # Near miss: 31.00 more than June -> 30 + 3,100 / 310,000 x 31 = 30 + 0.31 = 30.31 -> 30.3
    assert dso_countback(303_100, months(date(2026, 6, 30), 300_000, 310_000)) == Decimal("30.3")


def test_dso_of_a_partial_month_uses_its_days_so_far():
    # As of 2026-03-15: March has 15 days so far. AR 50.00 of March sales 150.00:
    # 50 / 150 x 15 = 5.0 days.
    assert dso_countback(5_000, months(date(2026, 3, 15), 15_000)) == Decimal("5.0")


def test_dso_rounds_half_up_to_one_decimal():
    # AR 1.00 of June sales 400.00: 100 / 40,000 x 30 = 0.075 -> 0.1 (half-up, not 0.0)
    assert dso_countback(100, months(date(2026, 6, 30), 40_000)) == Decimal("0.1")
    # AR 0.50 of June sales 400.00: 50 / 40,000 x 30 = 0.0375 -> 0.0
    assert dso_countback(50, months(date(2026, 6, 30), 40_000)) == Decimal("0.0")


def test_dso_month_without_net_sales_adds_its_days_and_consumes_nothing():
    # June: credit notes outweigh invoices (-50.00); AR 100.00 comes from May (sales 310.00):
    # 30 days of June + 10,000 / 31,000 x 31 = 30 + 10 = 40.0
    assert dso_countback(10_000, months(date(2026, 6, 30), -5_000, 31_000)) == Decimal("40.0")
    assert dso_countback(10_000, months(date(2026, 6, 30), 0, 31_000)) == Decimal("40.0")


def test_dso_without_receivables_is_zero():
    assert dso_countback(0, months(date(2026, 6, 30), 10_000)) == Decimal("0.0")
    # More credit notes open than invoices: nothing is owed either.
    assert dso_countback(-500, months(date(2026, 6, 30), 10_000)) == Decimal("0.0")
    assert dso_countback(0, []) == Decimal("0.0")


def test_dso_beyond_the_months_counted_is_a_lower_bound():
    # AR 1,000.00, June 100.00 and May 200.00 sales: both consumed, 700.00 left over:
    # "more than 30 + 31 = 61 days".
    got = dso_countback(100_000, months(date(2026, 6, 30), 10_000, 20_000))
    assert isinstance(got, NotEnoughData)
    assert got.at_least == Decimal("61.0")
    assert str(got) == "> 61.0"
    nothing = dso_countback(100, [])
    assert isinstance(nothing, NotEnoughData) and nothing.at_least is None


# ---------------------------------------------------------------------------- CEI


def test_cei_textbook_example():
    # Beginning AR 6,200, credit sales Jan-Mar 10,890, ending AR 6,340, of which current 3,590:
    # (6,200 + 10,890 - 6,340) / (6,200 + 10,890 - 3,590) = 10,750 / 13,500 = 0.796296 -> 79.6
    assert collection_effectiveness(620_000, 1_089_000, 634_000, 359_000) == Decimal("79.6")


def test_cei_is_100_when_nothing_is_past_due():
    # Ending AR 40.00, all current: (100 + 50 - 40) / (100 + 50 - 40) = 100.0
    assert collection_effectiveness(10_000, 5_000, 4_000, 4_000) == Decimal("100.0")


def test_cei_rounds_half_up():
    # 1 / 8 = 12.5 % exactly; 1 / 16 = 6.25 % -> 6.3 (half-up), not 6.2
    assert collection_effectiveness(0, 16, 15, 0) == Decimal("6.3")


def test_cei_with_nothing_collectible_is_not_enough_data():
    # Nothing open at the start, nothing billed: 0 / 0.
    got = collection_effectiveness(0, 0, 0, 0)
    assert isinstance(got, NotEnoughData)
    assert "nothing was open or billed" in got.reason
    # Everything billed is still current: (0 + 50 - 50) / (0 + 50 - 50) = 0 / 0 as well.
    assert isinstance(collection_effectiveness(0, 5_000, 5_000, 5_000), NotEnoughData)
    # Near miss: one cent past due makes the denominator 0.01 -> (50 - 50) / 0.01 = 0.0 %
    assert collection_effectiveness(0, 5_000, 5_000, 4_999) == Decimal("0.0")


# ---------------------------------------------------------------------------- days to pay


def settled(
    issued: date,
    due: date,
    on: date,
    *,
    paid: int = 100,
    credited: int = 0,
    written_off: int = 0,
    customer: str = "C1",
) -> SettledInvoice:
    return SettledInvoice(customer, "EUR", "INV", issued, due, on, paid, credited, written_off)


JAN1, JAN31 = date(2026, 1, 1), date(2026, 1, 31)


def test_paid_on_the_due_date_is_not_late_and_a_day_after_is():
    on_time = settled(JAN1, JAN31, JAN31)
    assert (on_time.days_to_pay, on_time.days_late, on_time.late) == (30, 0, False)
    day_after = settled(JAN1, JAN31, date(2026, 2, 1))
    assert (day_after.days_to_pay, day_after.days_late, day_after.late) == (31, 1, True)
    early = settled(JAN1, JAN31, date(2026, 1, 21))
    assert (early.days_late, early.late) == (-10, False)


def test_settlement_kinds():
    assert settlement_kind(settled(JAN1, JAN31, JAN31)) is SettlementKind.PAID
    # Partly credited, the rest paid: the customer paid it.
    assert settlement_kind(settled(JAN1, JAN31, JAN31, paid=60, credited=40)) is (
        SettlementKind.PAID
    )
    # Any write-off: not paid, even with a payment on it.
    assert settlement_kind(settled(JAN1, JAN31, JAN31, paid=60, written_off=40)) is (
        SettlementKind.WRITTEN_OFF
    )
    # Cancelled in full by credit notes: never owed.
    assert settlement_kind(settled(JAN1, JAN31, JAN31, paid=0, credited=100)) is (
        SettlementKind.CREDITED
    )


def test_averages_and_late_share_by_hand():
    invoices = [
        settled(JAN1, JAN31, date(2026, 1, 21)),  # 20 days to pay, 10 early
        settled(JAN1, JAN31, JAN31),  # 30 days, on time
        settled(JAN1, JAN31, date(2026, 2, 5)),  # 35 days, 5 late
        settled(JAN1, JAN31, date(2026, 2, 10), written_off=100, paid=0),  # left out
        settled(JAN1, JAN31, date(2026, 1, 5), credited=100, paid=0),  # left out
    ]
    times = PaymentTally.of(invoices).summary()
    # (20 + 30 + 35) / 3 = 28.333 -> 28.3; (-10 + 0 + 5) / 3 = -1.667 -> -1.7; 1 of 3 late
    # = 33.333 % -> 33.3
    assert (times.paid, times.late, times.written_off, times.credited) == (3, 1, 1, 1)
    assert times.avg_days_to_pay == Decimal("28.3")
    assert times.avg_days_late == Decimal("-1.7")
    assert times.share_late_percent == Decimal("33.3")


def test_average_days_round_half_up():
    # Days late 1, 0, 0, 0 over four invoices: 0.25 -> 0.3 (half-up; half-even would say 0.2)
    invoices = [settled(JAN1, JAN31, date(2026, 2, 1))] + [settled(JAN1, JAN31, JAN31)] * 3
    times = PaymentTally.of(invoices).summary()
    assert times.avg_days_late == Decimal("0.3")
    assert times.share_late_percent == Decimal("25.0")


def test_no_invoice_paid_is_not_enough_data():
    times = PaymentTally.of([settled(JAN1, JAN31, JAN31, paid=0, written_off=100)]).summary()
    assert times.paid == 0 and times.written_off == 1
    for value in (times.avg_days_to_pay, times.avg_days_late, times.share_late_percent):
        assert isinstance(value, NotEnoughData)
        assert value.reason == "no invoice was paid in the period"


# ---------------------------------------------------------------------------- invariants

amounts = st.integers(min_value=0, max_value=10**12)


@given(
    beginning=amounts,
    sales=amounts,
    collected_share=st.fractions(min_value=0, max_value=1),
    overdue_share=st.fractions(min_value=0, max_value=1),
    unapplied_credit_notes=st.integers(min_value=0, max_value=10**9),
)
def test_cei_stays_between_0_and_100_on_a_consistent_ledger(
    beginning, sales, collected_share, overdue_share, unapplied_credit_notes
):
    # What a ledger allows: collections are payments and write-offs, never more than was open
    # or billed; what is past due at the end is never negative; credit notes left unapplied
    # count as current (negative).
    collected = int((beginning + sales) * collected_share)
    ending = beginning + sales - collected
    overdue = int(ending * overdue_share)
    current = ending - overdue - unapplied_credit_notes
    ending -= unapplied_credit_notes
    cei = collection_effectiveness(beginning, sales, ending, current)
    if isinstance(cei, NotEnoughData):
        assert beginning + sales - current <= 0
    else:
        assert Decimal(0) <= cei <= Decimal(100)


month_sales = st.lists(st.integers(min_value=-(10**6), max_value=10**9), min_size=1, max_size=24)


@given(ar=st.integers(min_value=0, max_value=10**10), sales=month_sales)
def test_dso_lies_within_the_days_counted_back(ar, sales):
    slices = months(date(2026, 6, 30), *sales)
    got = dso_countback(ar, slices)
    total_days = sum(m.period.days for m in slices)
    if isinstance(got, NotEnoughData):
        # Only when the receivables outlast every positive month.
        assert ar > sum(s for s in sales if s > 0)
        assert got.at_least == Decimal(total_days)
    else:
        assert Decimal(0) <= got <= Decimal(total_days)


@given(ar=st.integers(min_value=0, max_value=10**10), more=st.integers(0, 10**8), sales=month_sales)
def test_dso_never_falls_when_receivables_grow(ar, more, sales):
    slices = months(date(2026, 6, 30), *sales)
    low, high = dso_countback(ar, slices), dso_countback(ar + more, slices)
    if isinstance(low, NotEnoughData):
        assert isinstance(high, NotEnoughData)
    elif not isinstance(high, NotEnoughData):
        assert high >= low


days = st.integers(min_value=-30, max_value=400)


@given(st.lists(st.tuples(days, days), min_size=1, max_size=40))
def test_average_days_to_pay_lies_between_the_fastest_and_the_slowest(pairs):
    invoices = [
        settled(JAN1, JAN1 + timedelta(days=due), JAN1 + timedelta(days=paid))
        for due, paid in pairs
    ]
    times = PaymentTally.of(invoices).summary()
    to_pay = [i.days_to_pay for i in invoices]
    assert isinstance(times.avg_days_to_pay, Decimal)
    assert min(to_pay) <= times.avg_days_to_pay <= max(to_pay)
    assert isinstance(times.share_late_percent, Decimal)
    assert Decimal(0) <= times.share_late_percent <= Decimal(100)


@given(st.lists(st.tuples(days, days, st.sampled_from(["paid", "off", "cn"])), max_size=30))
def test_tallies_add_up_whatever_the_split(items):
    invoices = [
        settled(
            JAN1,
            JAN1 + timedelta(days=due),
            JAN1 + timedelta(days=paid),
            paid=100 if kind == "paid" else 0,
            written_off=100 if kind == "off" else 0,
            credited=100 if kind == "cn" else 0,
        )
        for due, paid, kind in items
    ]
    whole = PaymentTally.of(invoices)
    for cut in range(len(invoices) + 1):
        assert PaymentTally.of(invoices[:cut]) + PaymentTally.of(invoices[cut:]) == whole
    assert whole.paid + whole.written_off + whole.credited == len(invoices)
