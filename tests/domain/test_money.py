"""Exact money: the door numbers come in by, rounding to minor units, formatting, allocation."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbill.domain.money import (
    Money,
    Rounding,
    allocate,
    format_minor,
    minor_to_decimal,
    round_to_minor,
    to_decimal,
)
from openbill.domain.rejections import InvalidAmount, InvariantError, UnknownCurrency

# --- to_decimal --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.50", Decimal("12.50")),
        (" 1_000.5 ", Decimal("1000.5")),
        (7, Decimal(7)),
        (Decimal("-0.001"), Decimal("-0.001")),
    ],
)
def test_to_decimal_accepts_text_int_and_decimal(value: object, expected: Decimal) -> None:
    assert to_decimal(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        0.1,
        1.0,
        float("nan"),
        float("inf"),
        True,
        False,
        "NaN",
        "Infinity",
        "-inf",
        "12,50",
        "",
        None,
        [1],
    ],
)
def test_to_decimal_refuses_floats_non_finite_bools_and_junk(value: object) -> None:
    with pytest.raises(InvalidAmount) as refused:
        to_decimal(value, field="unit_price")
    assert refused.value.field == "unit_price"


def test_to_decimal_says_why_a_float_is_refused() -> None:
    with pytest.raises(InvalidAmount, match="binary float"):
        to_decimal(0.1)


# --- round_to_minor ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "half_up", "half_even"),
    [
        # EUR has 2 places: 2.345 is a tie between 2.34 and 2.35; half-even keeps the even 4.
        ("2.345", "EUR", 235, 234),
        # 2.355: both modes go to 2.36 (6 is even).
        ("2.355", "EUR", 236, 236),
        # Not a tie: 2.3451 is above the half, both round up.
        ("2.3451", "EUR", 235, 235),
        # Negative ties: half-up rounds away from zero, half-even to the even digit.
        ("-2.345", "EUR", -235, -234),
        # JPY has no places: 2.5 is a tie between 2 and 3; 3.5 between 3 and 4.
        ("2.5", "JPY", 3, 2),
        ("3.5", "JPY", 4, 4),
        ("-0.5", "JPY", -1, 0),
        # KWD has 3 places: 1.2345 is a tie between 1.234 and 1.235.
        ("1.2345", "KWD", 1235, 1234),
        ("1.2355", "KWD", 1236, 1236),
        ("0.0005", "KWD", 1, 0),
    ],
)
def test_round_to_minor_on_ties(amount: str, currency: str, half_up: int, half_even: int) -> None:
    assert round_to_minor(Decimal(amount), currency, Rounding.HALF_UP) == half_up
    assert round_to_minor(Decimal(amount), currency, Rounding.HALF_EVEN) == half_even


def test_round_to_minor_refuses_unknown_currency() -> None:
    with pytest.raises(UnknownCurrency):
        round_to_minor(Decimal(1), "XYZ", Rounding.HALF_UP)


@pytest.mark.parametrize(
    ("amount_minor", "currency", "text"),
    [
        (123450, "EUR", "1234.50"),
        (5, "EUR", "0.05"),
        (-5, "EUR", "-0.05"),
        (0, "EUR", "0.00"),
        (1234, "JPY", "1234"),
        (-7, "JPY", "-7"),
        (1234, "KWD", "1.234"),
        (7, "KWD", "0.007"),
        (-1000, "KWD", "-1.000"),
    ],
)
def test_format_minor(amount_minor: int, currency: str, text: str) -> None:
    assert format_minor(amount_minor, currency) == text
    assert minor_to_decimal(amount_minor, currency) == Decimal(text)


def test_money_refuses_mixed_currencies_and_non_integers() -> None:
    assert str(Money(150, "EUR") + Money(-25, "EUR")) == "1.25 EUR"
    with pytest.raises(InvariantError):
        Money(1, "EUR") + Money(1, "USD")
    with pytest.raises(InvariantError):
        Money(Decimal("1.5"), "EUR")  # type: ignore[arg-type]


# --- allocate ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        # 100 over three equal weights: 33 each and 1 left, to the first part on the tie.
        (100, [1, 1, 1], (34, 33, 33)),
        # 10 over 1:2:3 = 1.666, 3.333, 5 -> floors 1, 3, 5, one left to the largest remainder.
        (10, [1, 2, 3], (2, 3, 5)),
        # Negative totals mirror positive ones.
        (-10, [1, 2, 3], (-2, -3, -5)),
        # Zero weights everywhere: split evenly.
        (7, [0, 0], (4, 3)),
        # A zero weight among others gets nothing.
        (5, [0, 3, 2], (0, 3, 2)),
        (0, [4, 5], (0, 0)),
    ],
)
def test_allocate_examples(total: int, weights: list[int], parts: tuple[int, ...]) -> None:
    assert allocate(total, weights) == parts


def test_allocate_refuses_negative_weights_and_no_parts() -> None:
    with pytest.raises(InvariantError):
        allocate(10, [1, -1])
    with pytest.raises(InvariantError):
        allocate(10, [])
    assert allocate(0, []) == ()


# Totals in minor units of currencies with 0 (JPY), 2 (EUR) and 3 (KWD) places: a JPY total of
# a few hundred thousand yen, EUR and KWD totals written with their places, negative ones too.
_currency_totals = st.sampled_from(["JPY", "EUR", "KWD"]).flatmap(
    lambda currency: st.tuples(st.just(currency), st.integers(min_value=-(10**9), max_value=10**9))
)
_weights = st.lists(
    st.one_of(
        st.integers(min_value=0, max_value=10**6),
        st.decimals(min_value=0, max_value=10**4, places=4, allow_nan=False),
    ),
    min_size=1,
    max_size=12,
)


@given(currency_total=_currency_totals, weights=_weights)
def test_allocate_never_loses_or_invents_a_minor_unit(
    currency_total: tuple[str, int], weights: list[int | Decimal]
) -> None:
    currency, total = currency_total
    parts = allocate(total, weights)
    assert len(parts) == len(weights)
    assert sum(parts) == total
    weight_sum = sum(Fraction(w) for w in weights)
    for part, weight in zip(parts, weights, strict=True):
        # The exact share, computed with fractions and not by the code under test.
        share = (
            Fraction(total) * Fraction(weight) / weight_sum
            if weight_sum
            else Fraction(total, len(weights))
        )
        assert abs(part - share) < 1
        if total >= 0:
            assert part >= 0
        else:
            assert part <= 0
    # Deterministic: the same input always gives the same split.
    assert allocate(total, weights) == parts
    # The parts are amounts of the currency: formatting them back gives the same total.
    assert sum(minor_to_decimal(p, currency) for p in parts) == minor_to_decimal(total, currency)
