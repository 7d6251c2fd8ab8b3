"""`receivables_metrics` on the small book of scenario.py (`q1`), whose figures are worked out
by hand there and here."""

from __future__ import annotations

import doctest
from datetime import date
from decimal import Decimal

import pytest
from fixtures_book import ENTITY, invoice, row_counts, verify_clean

import openbill.domain.metrics
from openbill.domain.metrics import NotEnoughData, Period
from openbill.domain.rejections import InvalidInput, NotFound
from openbill.usecases import invoices as inv
from openbill.usecases import metrics as met

from .scenario import pay_oldest


def metrics(book, **kwargs) -> met.MetricsReport:
    return met.receivables_metrics(
        book.uow(read_only=True), met.ReceivablesMetrics(ENTITY, **kwargs)
    )


def test_first_quarter_by_hand(q1):
    report = metrics(q1, as_of=date(2026, 3, 31), months=3)
    assert report.period == Period(date(2026, 1, 1), date(2026, 3, 31))
    eur, jpy = report.currencies
    assert (eur.currency, jpy.currency) == ("EUR", "JPY")
    # Credit sales EUR: 119.00 + 100.00 + 59.50 + 29.75 + 106.89 - 29.75 (credit note) = 385.39
    assert eur.credit_sales_minor == 38539
    assert eur.beginning_ar_minor == 0
    # Open on 03-31: INV5 29.75 (past due since 03-22) + INV6 106.89 (due 04-09) = 136.64
    assert (eur.ending_ar_minor, eur.ending_current_ar_minor) == (13664, 10689)
    # DSO: March sales 106.89 - 29.75 = 77.14 < 136.64 -> March's 31 days, 59.50 left;
    # February sales 59.50 + 29.75 = 89.25 -> 59.50 / 89.25 x 28 = 18.667 days.
    # 31 + 18.667 = 49.667 -> 49.7
    assert eur.dso_days == Decimal("49.7")
    # CEI: (0 + 385.39 - 136.64) / (0 + 385.39 - 106.89) = 248.75 / 278.50 = 89.318 -> 89.3
    # (248.75 = 119.00 and 29.75 paid + 100.00 written off)
    assert eur.cei_percent == Decimal("89.3")
    # Paid in the quarter: INV1 02-20 (46 days to pay, 16 late), INV4 03-25 (43 days,
    # 13 late; partly credited, the rest paid: paid). INV2 written off: counted apart.
    # (46 + 43) / 2 = 44.5; (16 + 13) / 2 = 14.5; both late: 100.0 %
    assert eur.payment.paid == 2
    assert eur.payment.avg_days_to_pay == Decimal("44.5")
    assert eur.payment.avg_days_late == Decimal("14.5")
    assert eur.payment.share_late_percent == Decimal("100.0")
    assert (eur.payment.written_off, eur.payment.credited) == (1, 0)
    # JPY apart, never added to EUR: 1586 billed and paid, nothing open.
    assert (jpy.credit_sales_minor, jpy.ending_ar_minor) == (1586, 0)
    assert jpy.dso_days == Decimal("0.0")
    assert jpy.cei_percent == Decimal("100.0")  # 1586 / 1586
    # INV3: 02-01 -> 03-01 is 28 days; due 03-03, paid 2 days early: not late.
    assert (jpy.payment.avg_days_to_pay, jpy.payment.avg_days_late) == (
        Decimal("28.0"),
        Decimal("-2.0"),
    )
    assert jpy.payment.share_late_percent == Decimal("0.0")


def test_per_customer_days_to_pay_and_the_written_off_list(q1):
    report = metrics(q1, as_of=date(2026, 3, 31), months=3)
    got = {
        (c.customer, c.currency): (
            c.payment.paid,
            c.payment.avg_days_to_pay,
            c.payment.written_off,
        )
        for c in report.customers
    }
    assert got == {
        ("C1", "EUR"): (2, Decimal("44.5"), 0),
        ("C2", "EUR"): (0, NotEnoughData("no invoice was paid in the period"), 1),
        ("CJP", "JPY"): (1, Decimal("28.0"), 0),
    }
    assert report.written_off_count == 1
    (off,) = report.written_off
    assert (off.customer, off.number, off.settled_on, off.written_off_minor) == (
        "C2",
        "INV-2026-000002",
        date(2026, 3, 1),
        10000,
    )


def test_february_alone(q1):
    report = metrics(q1, start=date(2026, 2, 1), end=date(2026, 2, 28))
    eur = report.currencies[0]
    # Open on 01-31: INV1 119.00 + INV2 100.00 = 219.00. February sales: 59.50 + 29.75 = 89.25.
    # Open on 02-28: INV2 100.00 (past due) + INV4 59.50 + INV5 29.75 (both current) = 189.25
    assert (eur.beginning_ar_minor, eur.credit_sales_minor) == (21900, 8925)
    assert (eur.ending_ar_minor, eur.ending_current_ar_minor) == (18925, 8925)
    # CEI: (219.00 + 89.25 - 189.25) / (219.00 + 89.25 - 89.25) = 119.00 / 219.00 = 54.338
    assert eur.cei_percent == Decimal("54.3")
    # DSO on 02-28: 189.25 - 89.25 (February, 28 days) = 100.00 left; January sales 219.00:
    # 100 / 219 x 31 = 14.155 -> 28 + 14.155 = 42.155 -> 42.2
    assert eur.dso_days == Decimal("42.2")
    # Settled in February: INV1 only. The write-off and INV3 on 03-01 are a day too late
    # for this period.
    assert eur.payment.paid == 1
    assert eur.payment.avg_days_to_pay == Decimal("46.0")
    assert eur.payment.written_off == 0
    jpy = report.currencies[1]
    assert jpy.payment.paid == 0


def test_one_customer(q1):
    report = metrics(q1, as_of=date(2026, 3, 31), customer="C1")
    assert [c.currency for c in report.currencies] == ["EUR"]
    eur = report.currencies[0]
    # C1's sales: 119.00 + 59.50 + 29.75 + 106.89 - 29.75 = 285.39; open 136.64, current 106.89
    # CEI: (285.39 - 136.64) / (285.39 - 106.89) = 148.75 / 178.50 = 83.333 -> 83.3
    assert eur.credit_sales_minor == 28539
    assert eur.cei_percent == Decimal("83.3")
    assert eur.dso_days == Decimal("49.7")  # C2 billed nothing in February or March
    assert [c.customer for c in report.customers] == ["C1"]
    assert report.written_off == ()


def test_an_invoice_cancelled_by_a_credit_note_is_not_paid(book):
    cancelled = invoice(book, "C1", date(2026, 1, 10), ("WIDGET", "1"))
    inv.credit_invoice(
        book.uow(), inv.CreditInvoice(ENTITY, cancelled.number, "wrong customer", date(2026, 1, 12))
    )
    report = metrics(book, as_of=date(2026, 1, 31), months=1)
    eur = report.currencies[0]
    assert (eur.payment.paid, eur.payment.credited, eur.payment.written_off) == (0, 1, 0)
    assert isinstance(eur.payment.avg_days_to_pay, NotEnoughData)
    # Invoice and credit note cancel out: no sales, nothing open, nothing to collect.
    assert (eur.credit_sales_minor, eur.ending_ar_minor) == (0, 0)
    assert isinstance(eur.cei_percent, NotEnoughData)


def test_partly_paid_is_not_settled(book):
    # 119.00 billed, 100.00 paid: still open, so in no average; the DSO sees 19.00 open.
    invoice(book, "C1", date(2026, 1, 5), ("WIDGET", "8"))
    pay_oldest(book, "C1", "100.00", date(2026, 1, 20))
    eur = metrics(book, as_of=date(2026, 1, 31), months=1).currencies[0]
    assert eur.payment.paid == 0
    # DSO: 19.00 of January sales 119.00: 19 / 119 x 31 = 4.95 -> 4.9 (4.949...)
    assert eur.dso_days == Decimal("4.9")
    # Near miss: the last 19.00 paid on 02-02 settles it in February, not January.
    pay_oldest(book, "C1", "19.00", date(2026, 2, 2))
    assert metrics(book, as_of=date(2026, 1, 31), months=1).currencies[0].payment.paid == 0
    feb = metrics(book, as_of=date(2026, 2, 28), months=1).currencies[0]
    # 01-05 -> 02-02 = 28 days; due 02-04: 2 days early
    assert (feb.payment.paid, feb.payment.avg_days_to_pay) == (1, Decimal("28.0"))
    assert feb.payment.avg_days_late == Decimal("-2.0")


def test_metrics_write_nothing_and_the_book_still_verifies(q1):
    before = row_counts(q1)
    metrics(q1, as_of=date(2026, 3, 31))
    assert row_counts(q1) == before
    verify_clean(q1)


def test_an_empty_book_has_no_rows(book):
    report = metrics(book, as_of=date(2026, 3, 31))
    assert report.currencies == () and report.customers == ()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"as_of": date(2026, 3, 31), "months": 0}, "months"),
        ({"as_of": date(2026, 3, 31), "months": met.MAX_PERIOD_MONTHS + 1}, "months"),
        ({"start": date(2026, 1, 1)}, "to"),
        ({"end": date(2026, 1, 1)}, "from"),
        ({"start": date(2026, 2, 1), "end": date(2026, 1, 31)}, "to"),
        ({"start": date(2010, 1, 1), "end": date(2026, 1, 31)}, "from"),
    ],
)
def test_refused_periods(book, kwargs, field):
    with pytest.raises(InvalidInput) as refused:
        metrics(book, **kwargs)
    assert refused.value.field == field


def test_the_longest_periods_are_accepted(book):
    # Near misses of the refusals above: exactly the maximum.
    metrics(book, as_of=date(2026, 3, 31), months=met.MAX_PERIOD_MONTHS)
    start = date(2016, 1, 1)
    end = date.fromordinal(start.toordinal() + met.MAX_PERIOD_DAYS - 1)
    assert metrics(book, start=start, end=end).period.days == met.MAX_PERIOD_DAYS


def test_unknown_customer(book):
    with pytest.raises(NotFound) as refused:
        metrics(book, as_of=date(2026, 3, 31), customer="NOPE")
    assert refused.value.record == "customer"


def test_bounded_settled_invoices_and_written_off_list(q1, monkeypatch):
    # 4 invoices settled in the quarter (INV1, INV2, INV3, INV4): a bound of 4 passes...
    monkeypatch.setattr(met, "MAX_SETTLED_INVOICES", 4)
    monkeypatch.setattr(met, "MAX_LIST_ROWS", 0)
    report = metrics(q1, as_of=date(2026, 3, 31))
    assert report.written_off == () and report.written_off_count == 1
    # ... a bound of 3 is refused with what to do next.
    monkeypatch.setattr(met, "MAX_SETTLED_INVOICES", 3)
    with pytest.raises(InvalidInput) as refused:
        metrics(q1, as_of=date(2026, 3, 31))
    assert "shorter period or one customer" in refused.value.reason


def test_the_domain_docstring_examples_hold():
    result = doctest.testmod(openbill.domain.metrics)
    assert result.attempted >= 2 and result.failed == 0
