"""The desk's small pure parts: amounts as pages write them, amounts as people type them,
masked bank accounts, and the charts' geometry (invariants, by hypothesis)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from openbill.domain.money import format_minor, minor_to_decimal
from openbill.interfaces.web import charts, fmt
from openbill.usecases.desk import amount_readings, mask_account

CURRENCIES = st.sampled_from(["EUR", "JPY", "KWD"])
MINOR = st.integers(min_value=-(10**15), max_value=10**15)


def test_amounts_written_by_hand():
    # Checked by eye: thousands grouped, the currency's places, the sign in front.
    assert fmt.money(119000, "EUR") == "1,190.00 EUR"
    assert fmt.money(-2975, "EUR") == "-29.75 EUR"
    assert fmt.money(133300, "JPY") == "133,300 JPY"
    assert fmt.money(3125, "KWD") == "3.125 KWD"
    assert fmt.money(123456789012, "EUR") == "1,234,567,890.12 EUR"
    assert fmt.money(0, "EUR") == "0.00 EUR"
    assert fmt.money(None, "EUR") == ""


@given(MINOR, CURRENCIES)
def test_a_written_amount_is_exactly_the_minor_units(minor, currency):
    written = fmt.amount(minor, currency)
    assert written.replace(",", "") == format_minor(minor, currency)
    assert Decimal(written.replace(",", "")) == minor_to_decimal(minor, currency)


# Amounts a search reads: up to the payment import's bound (domain.payment_import, 15 digits).
PLAUSIBLE = st.integers(min_value=-(10**12), max_value=10**12)


@given(PLAUSIBLE, CURRENCIES)
def test_what_a_page_writes_can_be_searched_for(minor, currency):
    assert minor_to_decimal(minor, currency) in amount_readings(fmt.amount(minor, currency))


def test_numbers_and_prices_without_stored_places():
    # What PostgreSQL gives back for NUMERIC(38,10), written by hand.
    assert fmt.number(Decimal("10.0000000000")) == "10"
    assert fmt.number(Decimal("7.0000000000")) == "7"
    assert fmt.number(Decimal("2.5000000000")) == "2.5"
    assert fmt.price(Decimal("9.9900000000"), "EUR") == "9.99"
    assert fmt.price(Decimal("12.5"), "EUR") == "12.50"
    assert fmt.price(Decimal("0.6250000000"), "EUR") == "0.625"
    assert fmt.price(Decimal("1333.0000000000"), "JPY") == "1333"
    assert fmt.price(Decimal("1000"), "EUR") == "1000.00"


def test_amounts_typed_in_a_search_box():
    assert amount_readings("1.190,00") == (Decimal("1190.00"),)
    assert amount_readings("1 190,00") == (Decimal("1190.00"),)
    assert amount_readings("1'190.00") == (Decimal("1190.00"),)
    assert amount_readings("-29.75") == (Decimal("-29.75"),)
    assert amount_readings("EUR 29.75") == (Decimal("29.75"),)
    assert amount_readings("29.75 eur") == (Decimal("29.75"),)
    for not_an_amount in ("", "C1", "PO-4711", "1.2.3", "12,34,56", "1e5", "NaN", "x" * 50):
        assert amount_readings(not_an_amount) == (), not_an_amount


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=7, max_size=34))
def test_a_masked_account_shows_only_its_country_and_last_four(iban):
    masked = mask_account(iban).replace(" ", "")
    assert len(masked) == len(iban)
    assert masked[:2] == iban[:2] and masked[-4:] == iban[-4:]
    assert set(masked[2:-4]) <= {"*"}


def test_masked_accounts_by_hand():
    assert mask_account("DE89 3704 0044 0532 0130 00") == "DE** **** **** **** **30 00"
    assert mask_account("AT12") == "****"
    assert mask_account(None) == ""


VALUES = st.lists(st.integers(min_value=-(10**12), max_value=10**12), min_size=1, max_size=8)


@given(VALUES)
def test_bars_stay_in_the_drawing_and_keep_their_order(values):
    n = len(values)
    chart = charts.bar_chart([str(i) for i in range(n)], values, [""] * n, ["#"] * n)
    plot = charts.HEIGHT - 16 - 28
    for bar, value in zip(chart.bars, values, strict=True):
        assert 0 <= bar.x and bar.x + bar.width <= charts.WIDTH + 1e-9
        assert 16 - 1e-9 <= bar.y and bar.y + bar.height <= 16 + plot + 1e-9
        assert (bar.height == 0) == (value == 0) or max(map(abs, values)) == 0
        assert bar.negative == (value < 0)
    # A larger magnitude is never drawn smaller; the largest one spans to the far edge.
    pairs = sorted(zip(map(abs, values), (b.height for b in chart.bars), strict=True))
    assert all(h1 <= h2 + 1e-9 for (_, h1), (_, h2) in zip(pairs, pairs[1:], strict=False))
    if any(values):
        top, bottom = max(0, *values), min(0, *values)
        tallest = max(b.height for b in chart.bars)
        assert abs(tallest - plot * max(map(abs, values)) / (top - bottom)) < 1e-6


def test_bars_by_hand():
    chart = charts.bar_chart(["a", "b", "c"], [15000, 13551, 0], ["", "", ""], ["#"] * 3)
    # The plot is 200 - 16 - 28 = 156 high; 13551/15000 of it is 140.9 (rounded for display).
    assert [round(b.height, 1) for b in chart.bars] == [156.0, 140.9, 0.0]
    assert chart.baseline_y == 172.0


DAYS = st.one_of(st.none(), st.decimals(min_value=0, max_value=10_000, places=1))


@given(st.lists(DAYS, min_size=1, max_size=12))
def test_a_line_stays_in_the_plot_and_breaks_where_data_is_missing(values):
    labels = [str(i) for i in range(len(values))]
    chart = charts.line_chart(labels, [("EUR", values, [""] * len(values))], "days")
    (line,) = chart.lines
    for point, value in zip(line.points, values, strict=True):
        assert (point.y is None) == (value is None)
        if point.y is not None:
            assert 16 - 1e-9 <= point.y <= chart.baseline_y + 1e-9
    runs = 0
    previous = None
    for value in values:
        if value is not None and previous is None:
            runs += 1
        previous = value
    assert len(line.segments) == runs


def test_at_most_four_lines_on_a_chart():
    series = [(c, [Decimal(1)], [""]) for c in ("EUR", "USD", "GBP", "CHF", "JPY")]
    assert [line.name for line in charts.line_chart(["x"], series).lines] == [
        "EUR",
        "USD",
        "GBP",
        "CHF",
    ]
