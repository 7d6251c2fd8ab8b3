"""Price models: hand-computed amounts, tier boundaries, refusals, stored params, prices by date."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from openbill.domain.pricing import (
    EffectivePrice,
    PriceModel,
    PriceSpec,
    Tier,
    check_spec,
    price_amount,
    select_price,
    spec_from_params,
    spec_to_params,
)
from openbill.domain.rejections import InvalidInput

D = Decimal

# Units 1-100 at 1.00, every unit above 100 at 0.80.
TWO_TIERS = spec_from_params(
    "graduated",
    {
        "tiers": [
            {"up_to": "100", "unit_price": "1.00"},
            {"up_to": None, "unit_price": "0.80", "flat_fee": "0"},
        ]
    },
)
# Units 1-10 free with a base fee of 5; 11-50 at 2 plus 10 on reaching the tier; above 50 at 1.
FEE_TIERS = (
    Tier(D(10), D(0), D(5)),
    Tier(D(50), D(2), D(10)),
    Tier(None, D(1), D(0)),
)


def amount(spec: PriceSpec, quantity: str, base: str = "0") -> Decimal:
    return price_amount(spec, D(quantity), D(base))


# --- amounts, by hand --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ("3", "49.00"),  # charged once, whatever the quantity
        ("0", "49.00"),
        ("1", "49.00"),
        ("-1", "-49.00"),  # a credit line takes the flat amount back
    ],
)
def test_flat(quantity: str, expected: str) -> None:
    spec = spec_from_params("flat", {"unit_price": "49.00"})
    assert amount(spec, quantity) == D(expected)


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ("3", "37.50"),  # 3 x 12.50
        ("0", "0"),
        ("2.5", "31.25"),  # 2.5 x 12.50
        ("-2", "-25.00"),  # credit line
    ],
)
def test_per_unit(quantity: str, expected: str) -> None:
    spec = spec_from_params("per_unit", {"unit_price": "12.50"})
    assert amount(spec, quantity) == D(expected)


def test_per_unit_is_exact_and_unrounded() -> None:
    # 3 units at 0.0033333333 = 0.0099999999: nothing is rounded before the invoice totals.
    spec = spec_from_params("per_unit", {"unit_price": "0.0033333333"})
    assert amount(spec, "3") == D("0.0099999999")
    # 123456789.123 units at 9.9999999999 = 123456789.123 x 10 - 123456789.123 x 0.0000000001
    # = 1234567891.23 - 0.0123456789123 = 1234567891.2176543210877, all 23 digits kept.
    spec = spec_from_params("per_unit", {"unit_price": "9.9999999999"})
    assert amount(spec, "123456789.123") == D("1234567891.2176543210877")


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ("150", "140.00"),  # 100 x 1.00 + 50 x 0.80 = 100 + 40
        ("100", "100.00"),  # exactly at the bound: all 100 units are in the first tier
        ("101", "100.80"),  # 100 x 1.00 + 1 x 0.80
        ("100.5", "100.40"),  # 100 x 1.00 + 0.5 x 0.80
        ("1", "1.00"),
        ("0", "0"),
    ],
)
def test_graduated(quantity: str, expected: str) -> None:
    assert amount(TWO_TIERS, quantity) == D(expected)


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ("0", "5"),  # the first tier's fee is a base fee, charged even without usage
        ("10", "5"),  # 10 free units + base fee; the second tier is not reached at its bound
        ("11", "17"),  # 5 + 1 x 2 + 10 (second tier reached)
        ("50", "95"),  # 5 + 40 x 2 + 10
        ("60", "105"),  # 5 + 40 x 2 + 10 + 10 x 1 + 0
    ],
)
def test_graduated_flat_fees(quantity: str, expected: str) -> None:
    spec = PriceSpec(PriceModel.GRADUATED, tiers=FEE_TIERS)
    assert amount(spec, quantity) == D(expected)


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ("150", "120.00"),  # all 150 units at the second tier's 0.80
        ("100", "100.00"),  # exactly at the bound: all at 1.00
        ("101", "80.80"),  # 101 x 0.80: volume pricing drops at the bound
        ("0", "0"),
    ],
)
def test_volume(quantity: str, expected: str) -> None:
    spec = PriceSpec(PriceModel.VOLUME, tiers=TWO_TIERS.tiers)
    assert amount(spec, quantity) == D(expected)


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ("0", "5"),  # first tier: 0 x 0 + fee 5
        ("10", "5"),  # 10 x 0 + 5
        ("11", "32"),  # 11 x 2 + 10
        ("60", "60"),  # 60 x 1 + 0
    ],
)
def test_volume_flat_fees(quantity: str, expected: str) -> None:
    spec = PriceSpec(PriceModel.VOLUME, tiers=FEE_TIERS)
    assert amount(spec, quantity) == D(expected)


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ("0", "0"),  # no block started
        ("1", "5"),  # one started block of 10
        ("10", "5"),  # exactly one full block
        ("11", "10"),  # a second block started
        ("25", "15"),  # three blocks: 10 + 10 + 5
        ("2.5", "5"),
    ],
)
def test_package(quantity: str, expected: str) -> None:
    spec = spec_from_params("package", {"block_size": "10", "unit_price": "5"})
    assert amount(spec, quantity) == D(expected)


def test_percentage() -> None:
    spec = spec_from_params("percentage", {"percent": "2.5"})
    # 1234.56 x 2.5 / 100 = 30.864 (unrounded; the quantity plays no part)
    assert amount(spec, "1", base="1234.56") == D("30.864")
    assert amount(spec, "7", base="1234.56") == D("30.864")
    assert amount(spec, "1", base="0") == 0


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ("30", "50"),  # 30 x 1 is under the minimum of 50
        ("50", "50"),
        ("75", "75"),  # 75 x 1 is above the minimum
        ("0", "50"),
    ],
)
def test_minimum(quantity: str, expected: str) -> None:
    spec = spec_from_params("minimum", {"unit_price": "1", "minimum": "50"})
    assert amount(spec, quantity) == D(expected)


# --- refusals when pricing ---------------------------------------------------------------------


@pytest.mark.parametrize("model", ["graduated", "volume", "package", "percentage", "minimum"])
def test_negative_quantity_is_refused_for_usage_models(model: str) -> None:
    spec = {
        "graduated": TWO_TIERS,
        "volume": PriceSpec(PriceModel.VOLUME, tiers=TWO_TIERS.tiers),
        "package": PriceSpec(PriceModel.PACKAGE, unit_price=D(5), block_size=D(10)),
        "percentage": PriceSpec(PriceModel.PERCENTAGE, percent=D(2)),
        "minimum": PriceSpec(PriceModel.MINIMUM, unit_price=D(1), minimum=D(50)),
    }[model]
    with pytest.raises(InvalidInput) as refused:
        amount(spec, "-1")
    assert refused.value.field == "quantity"


def test_float_quantity_is_refused() -> None:
    spec = PriceSpec(PriceModel.PER_UNIT, unit_price=D(1))
    with pytest.raises(InvalidInput) as refused:
        price_amount(spec, 1.5)  # type: ignore[arg-type]
    assert refused.value.field == "quantity"


def test_a_quantity_too_precise_to_price_exactly_is_refused() -> None:
    spec = PriceSpec(PriceModel.PER_UNIT, unit_price=D("0.1234567891"))
    with pytest.raises(InvalidInput) as refused:
        price_amount(spec, D("1." + "3" * 60))
    assert refused.value.field == "quantity"


def test_a_hand_built_spec_is_checked_too() -> None:
    with pytest.raises(InvalidInput) as refused:
        price_amount(PriceSpec(PriceModel.GRADUATED), D(1))
    assert refused.value.field == "tiers"
    with pytest.raises(InvalidInput) as refused:
        check_spec(PriceSpec(PriceModel.PER_UNIT, unit_price=D(1), percent=D(3)))
    assert refused.value.field == "percent"


# --- stored params -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "params", "field"),
    [
        ("hourly", {"unit_price": "1"}, "model"),
        ("per_unit", {"unit_price": 12.5}, "unit_price"),  # a float lost the amount already
        ("per_unit", {"unit_price": True}, "unit_price"),
        ("per_unit", {"unit_price": "abc"}, "unit_price"),
        ("per_unit", {"unit_price": "NaN"}, "unit_price"),
        ("per_unit", {}, "unit_price"),
        ("per_unit", {"unit_price": "1", "currency": "EUR"}, "currency"),
        ("per_unit", {"unit_price": "0.00000000001"}, "unit_price"),  # 11 places
        ("per_unit", {"unit_price": "1" * 16}, "unit_price"),  # 16 integer digits
        ("package", {"block_size": "0", "unit_price": "5"}, "block_size"),
        ("package", {"block_size": "10"}, "unit_price"),
        ("package", {"block_size": "10", "unit_price": "-5"}, "unit_price"),
        ("minimum", {"unit_price": "1", "minimum": "-50"}, "minimum"),
        ("minimum", {"unit_price": "1"}, "minimum"),
        ("percentage", {"percent": 2.5}, "percent"),
        ("graduated", {"tiers": []}, "tiers"),
        ("graduated", {"tiers": "100:1"}, "tiers"),
        ("graduated", {}, "tiers"),
        (
            "graduated",
            {"tiers": [{"up_to": "100", "unit_price": "1"}, {"up_to": "50", "unit_price": "2"}]},
            "tiers[1].up_to",
        ),
        (
            "graduated",
            {"tiers": [{"up_to": "100", "unit_price": "1"}, {"up_to": "200", "unit_price": "2"}]},
            "tiers[1].up_to",  # the last tier must be unbounded
        ),
        (
            "volume",
            {"tiers": [{"up_to": None, "unit_price": "1"}, {"up_to": None, "unit_price": "2"}]},
            "tiers[0].up_to",  # only the last tier may be unbounded
        ),
        (
            "volume",
            {"tiers": [{"up_to": "0", "unit_price": "1"}, {"up_to": None, "unit_price": "2"}]},
            "tiers[0].up_to",  # bounds start above zero
        ),
        ("volume", {"tiers": [{"unit_price": "1"}]}, "tiers[0].up_to"),
        ("volume", {"tiers": [{"up_to": None, "unit_price": 0.8}]}, "tiers[0].unit_price"),
        ("volume", {"tiers": [{"up_to": None, "unit_price": "-1"}]}, "tiers[0].unit_price"),
        ("volume", {"tiers": [{"up_to": None, "price": "1"}]}, "tiers[0].price"),
        (
            "volume",
            {"tiers": [{"up_to": None, "unit_price": "1", "flat_fee": "1e-11"}]},
            "tiers[0].flat_fee",
        ),
    ],
)
def test_spec_from_params_refusals_name_the_field(
    model: str, params: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        spec_from_params(model, params)
    assert refused.value.field == field
    assert refused.value.reason


def test_spec_from_params_accepts_ten_places_and_insignificant_zeros() -> None:
    assert spec_from_params("per_unit", {"unit_price": "0.0000000001"}).unit_price == D("1e-10")
    # Eleven places written, but only one matters: 1.5 is a price with one place.
    assert spec_from_params("per_unit", {"unit_price": "1.50000000000"}).unit_price == D("1.5")
    assert spec_from_params("per_unit", {"unit_price": 12}).unit_price == D(12)


def test_spec_to_params_writes_plain_decimal_strings() -> None:
    assert spec_to_params(TWO_TIERS) == {
        "tiers": [
            {"up_to": "100", "unit_price": "1.00", "flat_fee": "0"},
            {"up_to": None, "unit_price": "0.80", "flat_fee": "0"},
        ]
    }
    spec = PriceSpec(PriceModel.PER_UNIT, unit_price=D("1E+3"))
    assert spec_to_params(spec) == {"unit_price": "1000"}
    assert spec_to_params(PriceSpec(PriceModel.MINIMUM, unit_price=D(1), minimum=D(50))) == {
        "unit_price": "1",
        "minimum": "50",
    }


_price = st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False)
_signed_price = st.decimals(min_value=-(10**9), max_value=10**9, places=10, allow_nan=False)


@st.composite
def _tiers(draw: st.DrawFn) -> tuple[Tier, ...]:
    bounds = sorted(
        set(draw(st.lists(st.decimals(min_value="0.001", max_value=10**6, places=3), max_size=5)))
    )
    tiers = [Tier(b, draw(_price), draw(_price)) for b in bounds]
    return (*tiers, Tier(None, draw(_price), draw(_price)))


_specs = st.one_of(
    st.builds(PriceSpec, st.just(PriceModel.FLAT), unit_price=_signed_price),
    st.builds(PriceSpec, st.just(PriceModel.PER_UNIT), unit_price=_signed_price),
    st.builds(PriceSpec, st.just(PriceModel.GRADUATED), tiers=_tiers()),
    st.builds(PriceSpec, st.just(PriceModel.VOLUME), tiers=_tiers()),
    st.builds(
        PriceSpec,
        st.just(PriceModel.PACKAGE),
        unit_price=_price,
        block_size=st.decimals(min_value="0.5", max_value=1000, places=1),
    ),
    st.builds(PriceSpec, st.just(PriceModel.PERCENTAGE), percent=_signed_price),
    st.builds(PriceSpec, st.just(PriceModel.MINIMUM), unit_price=_price, minimum=_price),
)


@given(spec=_specs)
def test_params_round_trip(spec: PriceSpec) -> None:
    params = spec_to_params(spec)
    # What is stored is JSON: the round trip goes through JSON text, as the database does.
    stored = json.loads(json.dumps(params))
    assert spec_from_params(spec.model.value, stored) == spec
    assert spec_to_params(spec_from_params(spec.model.value, stored)) == params


@given(spec=_specs, quantity=st.decimals(min_value=0, max_value=10**5, places=3))
def test_amount_is_the_same_after_a_round_trip(spec: PriceSpec, quantity: Decimal) -> None:
    again = spec_from_params(spec.model.value, spec_to_params(spec))
    assert price_amount(again, quantity, D("100")) == price_amount(spec, quantity, D("100"))


@given(
    tiers=_tiers(),
    low=st.decimals(min_value=0, max_value=10**6, places=3),
    extra=st.decimals(min_value=0, max_value=10**3, places=3),
)
def test_graduated_never_decreases_with_quantity(
    tiers: tuple[Tier, ...], low: Decimal, extra: Decimal
) -> None:
    spec = PriceSpec(PriceModel.GRADUATED, tiers=tiers)
    assert price_amount(spec, low + extra) >= price_amount(spec, low)


# --- price in force ----------------------------------------------------------------------------

JAN = date(2024, 1, 1)
JUL = date(2024, 7, 1)
OLD = EffectivePrice("EUR", JAN, PriceSpec(PriceModel.PER_UNIT, unit_price=D("10")), price_id=1)
NEW = EffectivePrice("EUR", JUL, PriceSpec(PriceModel.PER_UNIT, unit_price=D("12")), price_id=2)
USD = EffectivePrice("USD", JAN, PriceSpec(PriceModel.PER_UNIT, unit_price=D("11")), price_id=3)


@pytest.mark.parametrize(
    ("currency", "on", "expected"),
    [
        ("EUR", date(2024, 1, 1), OLD),  # in force from its first day
        ("EUR", date(2024, 6, 30), OLD),  # the change does not reach back
        ("EUR", date(2024, 7, 1), NEW),
        ("EUR", date(2030, 1, 1), NEW),
        ("USD", date(2024, 8, 1), USD),
    ],
)
def test_select_price_by_currency_and_date(
    currency: str, on: date, expected: EffectivePrice
) -> None:
    assert select_price([NEW, USD, OLD], currency, on) == expected
    assert select_price([OLD, NEW, USD], currency, on) == expected


@pytest.mark.parametrize(("currency", "on"), [("EUR", date(2023, 12, 31)), ("GBP", JUL)])
def test_select_price_refuses_when_none_is_in_force(currency: str, on: date) -> None:
    with pytest.raises(InvalidInput) as refused:
        select_price([OLD, NEW, USD], currency, on)
    assert refused.value.field == "price"


def test_select_price_refuses_two_prices_from_the_same_day() -> None:
    twin = EffectivePrice("EUR", JUL, PriceSpec(PriceModel.FLAT, unit_price=D(1)), price_id=9)
    with pytest.raises(InvalidInput, match="ids 2, 9"):
        select_price([OLD, NEW, twin], "EUR", JUL)


@given(
    offsets=st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=8, unique=True),
    change=st.integers(min_value=0, max_value=3000),
    day=st.integers(min_value=0, max_value=3000),
)
def test_a_price_change_never_alters_earlier_dates(
    offsets: list[int], change: int, day: int
) -> None:
    base = date(2020, 1, 1)
    assume(change not in offsets and day < change)
    prices = [
        EffectivePrice(
            "EUR", base + timedelta(n), PriceSpec(PriceModel.FLAT, unit_price=D(n)), price_id=n
        )
        for n in offsets
    ]
    on = base + timedelta(day)
    added = EffectivePrice(
        "EUR",
        base + timedelta(change),
        PriceSpec(PriceModel.FLAT, unit_price=D(-1)),
        price_id=-1,
    )
    try:
        before = select_price(prices, "EUR", on)
    except InvalidInput:
        with pytest.raises(InvalidInput):
            select_price([*prices, added], "EUR", on)
        return
    assert select_price([*prices, added], "EUR", on) == before
    # And the chosen price is the latest one on or before the date.
    assert before.effective_from == base + timedelta(max(n for n in offsets if n <= day))
