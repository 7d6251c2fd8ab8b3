"""Price models of the catalog, as pure functions of quantity (and a base amount).

CONTRACT (used by usecases; keep the names and signatures):

- PriceModel: flat, per_unit, graduated, volume, package, percentage, minimum.
- PriceSpec: a frozen description of one price (model and its parameters).
- price_amount(spec, quantity, base_amount=Decimal(0)) -> Decimal: the exact, UNROUNDED amount
  (rounding to minor units happens once, in invoice totals).
- spec_from_params(model, params) / spec_to_params(spec): to and from a JSON-safe dict whose
  numbers are decimal strings (how prices are stored).
- select_price(prices, currency, on) -> EffectivePrice: the price in force on a date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

__all__ = [
    "PriceModel",
    "Tier",
    "PriceSpec",
    "EffectivePrice",
    "price_amount",
    "spec_from_params",
    "spec_to_params",
    "select_price",
]


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


def price_amount(spec: PriceSpec, quantity: Decimal, base_amount: Decimal = Decimal(0)) -> Decimal:
    raise NotImplementedError


def spec_from_params(model: str, params: Mapping[str, object]) -> PriceSpec:
    raise NotImplementedError


def spec_to_params(spec: PriceSpec) -> dict[str, object]:
    raise NotImplementedError


def select_price(prices: Sequence[EffectivePrice], currency: str, on: date) -> EffectivePrice:
    raise NotImplementedError
