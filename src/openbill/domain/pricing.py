"""Price models of the catalog, as pure functions of quantity (and a base amount).

CONTRACT (used by usecases; keep the names and signatures):

- PriceModel: flat, per_unit, graduated, volume, package, percentage, minimum.
- PriceSpec: a frozen description of one price (model and its parameters).
- price_amount(spec, quantity, base_amount=Decimal(0)) -> Decimal: the exact, UNROUNDED amount
  (rounding to minor units happens once, in invoice totals).
- spec_from_params(model, params) / spec_to_params(spec): to and from a JSON-safe dict whose
  numbers are decimal strings (how prices are stored).
- select_price(prices, currency, on) -> EffectivePrice: the price in force on a date.

Decisions that the names alone do not say:

- Tiers cover the units above the previous tier's `up_to` up to and including their own
  `up_to`. The first tier is always reached (its `flat_fee` is a base fee, charged even for a
  quantity of zero); a later tier is reached when the quantity is above its lower bound.
- A flat price is charged once per line whatever the quantity; a negative quantity makes the line
  a credit, so the amount is then minus the flat price.
- Only flat and per-unit prices accept a negative quantity (credit lines) or a negative price
  (a discount line); percentage prices accept a negative percent (a percentage discount).
- Every computation is exact: an amount that cannot be computed without rounding is refused.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from openbill.domain.currencies import exponent_of
from openbill.domain.money import UNIT_PRICE_PLACES, to_decimal
from openbill.domain.rejections import InvalidAmount, InvalidInput, InvariantError

__all__ = [
    "PriceModel",
    "Tier",
    "PriceSpec",
    "EffectivePrice",
    "price_amount",
    "spec_from_params",
    "spec_to_params",
    "select_price",
    "check_spec",
    "TIERS_MAX",
    "INTEGER_DIGITS_MAX",
]

# A price has at most this many tiers: catalogs with more are a data-entry mistake.
TIERS_MAX = 100
# Prices, quantities, tier bounds and percents stay below 10**15 in absolute value.
INTEGER_DIGITS_MAX = 15
_MAGNITUDE_LIMIT = Decimal(10) ** INTEGER_DIGITS_MAX
# Exact arithmetic: 15 integer digits and 10 places on both sides of a product fit in 50 digits.
# Inexact is trapped so that a result is never rounded silently.
_EXACT = decimal.Context(
    prec=60,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow, decimal.Inexact],
)
_ZERO = Decimal(0)


class PriceModel(StrEnum):
    FLAT = "flat"  # a fixed amount per line, whatever the quantity (unit_price is the amount)
    PER_UNIT = "per_unit"  # quantity x unit_price
    GRADUATED = "graduated"  # each tier prices the units that fall inside it
    VOLUME = "volume"  # the tier the whole quantity falls in prices every unit
    PACKAGE = "package"  # unit_price per started block of block_size units
    PERCENTAGE = "percentage"  # percent of base_amount (e.g. a 2.5 % handling fee)
    MINIMUM = "minimum"  # quantity x unit_price, but never less than `minimum`


@dataclass(frozen=True, slots=True)
class Tier:
    """Units up to and including `up_to` (None: no upper bound) at `unit_price`, plus a
    `flat_fee` charged once when the tier is reached."""

    up_to: Decimal | None
    unit_price: Decimal
    flat_fee: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class PriceSpec:
    model: PriceModel
    unit_price: Decimal = Decimal(0)
    tiers: tuple[Tier, ...] = ()
    block_size: Decimal = Decimal(1)
    percent: Decimal = Decimal(0)
    minimum: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class EffectivePrice:
    """A price of one charge code in one currency, in force from `effective_from` on."""

    currency: str
    effective_from: date
    spec: PriceSpec
    includes_tax: bool = False
    price_id: int = 0


# The parameters each model takes, in the order spec_to_params writes them.
_PARAMS: dict[PriceModel, tuple[str, ...]] = {
    PriceModel.FLAT: ("unit_price",),
    PriceModel.PER_UNIT: ("unit_price",),
    PriceModel.GRADUATED: ("tiers",),
    PriceModel.VOLUME: ("tiers",),
    PriceModel.PACKAGE: ("block_size", "unit_price"),
    PriceModel.PERCENTAGE: ("percent",),
    PriceModel.MINIMUM: ("unit_price", "minimum"),
}
_TIER_KEYS = ("up_to", "unit_price", "flat_fee")
_TIER_REQUIRED = ("up_to", "unit_price")
_SIGNED_MODELS = (PriceModel.FLAT, PriceModel.PER_UNIT)


# --- amounts -----------------------------------------------------------------------------------


def price_amount(spec: PriceSpec, quantity: Decimal, base_amount: Decimal = Decimal(0)) -> Decimal:
    """The exact, unrounded amount of `quantity` units at `spec` (`base_amount` for percentages).

    >>> tiers = (Tier(Decimal(100), Decimal("1.00")), Tier(None, Decimal("0.80")))
    >>> price_amount(PriceSpec(PriceModel.GRADUATED, tiers=tiers), Decimal(150))
    Decimal('140.00')
    >>> price_amount(PriceSpec(PriceModel.VOLUME, tiers=tiers), Decimal(150))
    Decimal('120.00')
    """
    check_spec(spec)
    qty = _number(quantity, "quantity")
    base = _number(base_amount, "base_amount")
    if qty < 0 and spec.model not in _SIGNED_MODELS:
        raise InvalidInput(
            f"a {spec.model.value} price cannot take a negative quantity ({qty}); "
            "credit a usage charge with a credit note instead",
            field="quantity",
        )
    try:
        with decimal.localcontext(_EXACT):
            return _AMOUNT[spec.model](spec, qty, base)
    except decimal.Inexact:
        raise InvalidInput(
            f"quantity {qty} has too many significant digits to be priced exactly",
            field="quantity",
        ) from None


def _flat(spec: PriceSpec, qty: Decimal, base: Decimal) -> Decimal:
    return -spec.unit_price if qty < 0 else spec.unit_price


def _per_unit(spec: PriceSpec, qty: Decimal, base: Decimal) -> Decimal:
    return qty * spec.unit_price


def _graduated(spec: PriceSpec, qty: Decimal, base: Decimal) -> Decimal:
    total = _ZERO
    lower = _ZERO
    for index, tier in enumerate(spec.tiers):
        if index > 0 and qty <= lower:
            break
        upper = qty if tier.up_to is None else min(qty, tier.up_to)
        units = max(upper - lower, _ZERO)
        total += units * tier.unit_price + tier.flat_fee
        if tier.up_to is None:
            break
        lower = tier.up_to
    return total


def _volume(spec: PriceSpec, qty: Decimal, base: Decimal) -> Decimal:
    for tier in spec.tiers:
        if tier.up_to is None or qty <= tier.up_to:
            return qty * tier.unit_price + tier.flat_fee
    raise InvariantError("check_spec guarantees that the last tier is unbounded")


def _package(spec: PriceSpec, qty: Decimal, base: Decimal) -> Decimal:
    blocks, rest = divmod(qty, spec.block_size)
    if rest > 0:
        blocks += 1
    return blocks * spec.unit_price


def _percentage(spec: PriceSpec, qty: Decimal, base: Decimal) -> Decimal:
    return (base * spec.percent).scaleb(-2)


def _minimum(spec: PriceSpec, qty: Decimal, base: Decimal) -> Decimal:
    return max(qty * spec.unit_price, spec.minimum)


_AMOUNT: dict[PriceModel, Callable[[PriceSpec, Decimal, Decimal], Decimal]] = {
    PriceModel.FLAT: _flat,
    PriceModel.PER_UNIT: _per_unit,
    PriceModel.GRADUATED: _graduated,
    PriceModel.VOLUME: _volume,
    PriceModel.PACKAGE: _package,
    PriceModel.PERCENTAGE: _percentage,
    PriceModel.MINIMUM: _minimum,
}


# --- validation --------------------------------------------------------------------------------


def check_spec(spec: PriceSpec) -> PriceSpec:
    """Return `spec` if it is a price that can be charged, else raise InvalidInput.

    Checked: every number is a Decimal with at most 10 places and 15 integer digits; only the
    parameters of the model are set; prices are not negative (except flat and per-unit prices,
    which may be discounts, and percentages); block sizes are positive; tiers ascend, and only
    the last one, which must exist, is unbounded.
    """
    if not isinstance(spec.model, PriceModel):
        raise InvalidInput(f"{spec.model!r} is not a price model", field="model")
    used = _PARAMS[spec.model]
    defaults = PriceSpec(spec.model)
    for name in ("unit_price", "tiers", "block_size", "percent", "minimum"):
        if name not in used and getattr(spec, name) != getattr(defaults, name):
            raise InvalidInput(
                f"a {spec.model.value} price does not take {name}; it takes {', '.join(used)}",
                field=name,
            )
    signed = spec.model in _SIGNED_MODELS
    _check_number(spec.unit_price, "unit_price", negative_ok=signed)
    _check_number(spec.percent, "percent", negative_ok=True)
    _check_number(spec.minimum, "minimum")
    _check_number(spec.block_size, "block_size")
    if spec.block_size <= 0:
        raise InvalidInput(
            f"block size must be positive, got {spec.block_size}", field="block_size"
        )
    if spec.model in (PriceModel.GRADUATED, PriceModel.VOLUME):
        _check_tiers(spec.tiers)
    return spec


def _check_tiers(tiers: tuple[Tier, ...]) -> None:
    if not tiers:
        raise InvalidInput("a tiered price needs at least one tier", field="tiers")
    if len(tiers) > TIERS_MAX:
        raise InvalidInput(f"at most {TIERS_MAX} tiers, got {len(tiers)}", field="tiers")
    previous = _ZERO
    for index, tier in enumerate(tiers):
        where = f"tiers[{index}]"
        last = index == len(tiers) - 1
        _check_number(tier.unit_price, f"{where}.unit_price")
        _check_number(tier.flat_fee, f"{where}.flat_fee")
        if tier.up_to is None:
            if not last:
                raise InvalidInput(
                    "only the last tier may be unbounded (up_to null)", field=f"{where}.up_to"
                )
            continue
        _check_number(tier.up_to, f"{where}.up_to")
        if last:
            raise InvalidInput(
                f"the last tier must be unbounded (up_to null) so that every quantity has a "
                f"price; it ends at {tier.up_to}",
                field=f"{where}.up_to",
            )
        if tier.up_to <= previous:
            raise InvalidInput(
                f"tier bounds must ascend: {tier.up_to} is not above {previous}",
                field=f"{where}.up_to",
            )
        previous = tier.up_to


def _check_number(value: object, field: str, *, negative_ok: bool = False) -> Decimal:
    number = _number(value, field)
    if number < 0 and not negative_ok:
        raise InvalidInput(f"must not be negative, got {number}", field=field)
    if _places(number) > UNIT_PRICE_PLACES:
        raise InvalidInput(
            f"{number} has more than {UNIT_PRICE_PLACES} decimal places", field=field
        )
    return number


def _number(value: object, field: str) -> Decimal:
    """A finite Decimal below the magnitude limit; floats and other types are refused."""
    try:
        number = to_decimal(value, field=field)
    except InvalidAmount as error:
        raise InvalidInput(error.reason, field=field) from None
    if abs(number) >= _MAGNITUDE_LIMIT:
        raise InvalidInput(
            f"{number} has more than {INTEGER_DIGITS_MAX} digits before the decimal point",
            field=field,
        )
    return number


def _places(number: Decimal) -> int:
    """Decimal places that matter: '1.50' has 1, '2E+3' has 0."""
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite, checked by to_decimal
    if exponent >= 0 or not any(digits):
        return 0
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(-exponent - trailing_zeros, 0)


# --- params ------------------------------------------------------------------------------------


def spec_from_params(model: str, params: Mapping[str, object]) -> PriceSpec:
    """Build a checked PriceSpec from stored parameters (numbers as decimal strings).

    >>> spec_from_params("per_unit", {"unit_price": "12.50"})
    PriceSpec(model=<PriceModel.PER_UNIT: 'per_unit'>, unit_price=Decimal('12.50'), \
tiers=(), block_size=Decimal('1'), percent=Decimal('0'), minimum=Decimal('0'))
    """
    try:
        price_model = PriceModel(model)
    except ValueError:
        known = ", ".join(m.value for m in PriceModel)
        raise InvalidInput(
            f"unknown price model {model!r}; use one of {known}", field="model"
        ) from None
    if not isinstance(params, Mapping):
        raise InvalidInput("price parameters must be an object", field="params")
    expected = _PARAMS[price_model]
    _check_keys(params, expected, expected, where="", what=f"a {price_model.value} price")

    def number(name: str, default: Decimal) -> Decimal:
        return _number(params[name], name) if name in expected else default

    spec = PriceSpec(
        price_model,
        unit_price=number("unit_price", _ZERO),
        tiers=_tiers_from_params(params["tiers"]) if "tiers" in expected else (),
        block_size=number("block_size", Decimal(1)),
        percent=number("percent", _ZERO),
        minimum=number("minimum", _ZERO),
    )
    return check_spec(spec)


def _tiers_from_params(raw: object) -> tuple[Tier, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise InvalidInput("tiers must be a list of tiers", field="tiers")
    if len(raw) > TIERS_MAX:
        raise InvalidInput(f"at most {TIERS_MAX} tiers, got {len(raw)}", field="tiers")
    tiers = []
    for index, item in enumerate(raw):
        where = f"tiers[{index}]"
        if not isinstance(item, Mapping):
            raise InvalidInput("a tier must be an object", field=where)
        _check_keys(item, _TIER_KEYS, _TIER_REQUIRED, where=f"{where}.", what="a tier")
        up_to = item["up_to"]
        tiers.append(
            Tier(
                up_to=None if up_to is None else _number(up_to, f"{where}.up_to"),
                unit_price=_number(item["unit_price"], f"{where}.unit_price"),
                flat_fee=_number(item.get("flat_fee", "0"), f"{where}.flat_fee"),
            )
        )
    return tuple(tiers)


def _check_keys(
    params: Mapping[str, object],
    allowed: tuple[str, ...],
    required: tuple[str, ...],
    *,
    where: str,
    what: str,
) -> None:
    for key in params:
        if key not in allowed:
            raise InvalidInput(
                f"{what} does not take {key!r}; it takes {', '.join(allowed)}",
                field=f"{where}{key}",
            )
    for key in required:
        if key not in params:
            raise InvalidInput(f"{what} needs {key!r}", field=f"{where}{key}")


def spec_to_params(spec: PriceSpec) -> dict[str, object]:
    """The stored form of `spec`: its model's parameters as plain decimal strings.

    >>> spec_to_params(PriceSpec(PriceModel.PACKAGE, unit_price=Decimal(5), block_size=Decimal(10)))
    {'block_size': '10', 'unit_price': '5'}
    """
    check_spec(spec)
    params: dict[str, object] = {}
    for name in _PARAMS[spec.model]:
        if name == "tiers":
            params[name] = [
                {
                    "up_to": None if t.up_to is None else _text(t.up_to),
                    "unit_price": _text(t.unit_price),
                    "flat_fee": _text(t.flat_fee),
                }
                for t in spec.tiers
            ]
        else:
            value = getattr(spec, name)
            assert isinstance(value, Decimal)
            params[name] = _text(value)
    return params


def _text(number: Decimal) -> str:
    """Fixed-point text, never exponent notation ('1E+3' is written '1000')."""
    return format(number, "f")


# --- price in force ----------------------------------------------------------------------------


def select_price(prices: Sequence[EffectivePrice], currency: str, on: date) -> EffectivePrice:
    """The price in `currency` with the latest `effective_from` on or before `on`.

    A price change takes effect on its date and never alters what earlier dates are charged.
    Two prices of the same currency taking effect on the same day are ambiguous and refused.
    """
    exponent_of(currency)
    candidates = [p for p in prices if p.currency == currency and p.effective_from <= on]
    if not candidates:
        raise InvalidInput(
            f"no price in {currency} is in effect on {on.isoformat()}", field="price"
        )
    latest = max(p.effective_from for p in candidates)
    chosen = [p for p in candidates if p.effective_from == latest]
    if len(chosen) > 1:
        ids = ", ".join(str(p.price_id) for p in chosen)
        raise InvalidInput(
            f"{len(chosen)} prices in {currency} take effect on {latest.isoformat()} "
            f"(ids {ids}); keep only one",
            field="price",
        )
    return chosen[0]
