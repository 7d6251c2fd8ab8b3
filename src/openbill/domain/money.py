"""Exact money: Decimal in, integer minor units out, explicit rounding, one allocation function.

Every number that enters openbill's money paths goes through `to_decimal`, which refuses floats:
a float has already lost the amount it was meant to hold. Amounts are stored and summed as
integer minor units of their currency (ISO 4217 exponent: EUR 2, JPY 0, KWD 3). Rounding happens
only in `round_to_minor`, with the rounding mode of the legal entity. Splitting an amount goes
through `allocate` (largest remainder), which never loses or invents a minor unit.
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from openbill.domain.currencies import exponent_of
from openbill.domain.rejections import InvalidAmount, InvariantError

__all__ = [
    "Money",
    "Rounding",
    "to_decimal",
    "round_to_minor",
    "minor_to_decimal",
    "format_minor",
    "allocate",
    "UNIT_PRICE_PLACES",
]

# Unit prices, quantities and rates keep up to this many decimal places.
UNIT_PRICE_PLACES = 10
# Working precision for intermediate products: far above any amount a business bills.
_CONTEXT = decimal.Context(prec=50, traps=[decimal.InvalidOperation, decimal.DivisionByZero])


class Rounding(StrEnum):
    """The rounding policy of a legal entity."""

    HALF_UP = "half_up"
    HALF_EVEN = "half_even"

    @property
    def decimal_mode(self) -> str:
        return decimal.ROUND_HALF_UP if self is Rounding.HALF_UP else decimal.ROUND_HALF_EVEN


def to_decimal(value: object, *, field: str = "amount") -> Decimal:
    """The one door numbers come in by. Accepts Decimal, int and decimal strings; refuses floats.

    >>> to_decimal("12.50")
    Decimal('12.50')
    >>> to_decimal(0.1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    openbill.domain.rejections.InvalidAmount: field amount: 0.1 is a binary float; ...
    """
    if isinstance(value, bool):
        raise InvalidAmount(f"{value!r} is not a number", field=field)
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip().replace("_", "")
        try:
            result = Decimal(text)
        except decimal.InvalidOperation:
            raise InvalidAmount(f"{value!r} is not a number", field=field) from None
    elif isinstance(value, float):
        raise InvalidAmount(
            f"{value!r} is a binary float; give the amount as text or Decimal", field=field
        )
    else:
        raise InvalidAmount(f"{value!r} is not a number", field=field)
    if not result.is_finite():
        raise InvalidAmount(f"{value!r} is not a finite number", field=field)
    return result


def round_to_minor(amount: Decimal, currency: str, rounding: Rounding) -> int:
    """Round a Decimal amount of `currency` to an integer number of minor units."""
    exponent = exponent_of(currency)
    scaled = _CONTEXT.multiply(amount, Decimal(10) ** exponent)
    return int(scaled.quantize(Decimal(1), rounding=rounding.decimal_mode, context=_CONTEXT))


def minor_to_decimal(amount_minor: int, currency: str) -> Decimal:
    """Minor units back to a Decimal with exactly the currency's number of places."""
    exponent = exponent_of(currency)
    return Decimal(amount_minor).scaleb(-exponent, context=_CONTEXT)


def format_minor(amount_minor: int, currency: str) -> str:
    """Plain text for people and files: '1234.50' for EUR, '1234' for JPY, '1.234' for KWD."""
    exponent = exponent_of(currency)
    sign = "-" if amount_minor < 0 else ""
    digits = str(abs(amount_minor)).rjust(exponent + 1, "0")
    if exponent == 0:
        return sign + digits
    return f"{sign}{digits[:-exponent]}.{digits[-exponent:]}"


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of one currency, held as integer minor units."""

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount_minor, int) or isinstance(self.amount_minor, bool):
            raise InvariantError(f"Money holds integer minor units, got {self.amount_minor!r}")
        exponent_of(self.currency)

    @classmethod
    def of(cls, value: object, currency: str, rounding: Rounding = Rounding.HALF_UP) -> Money:
        return cls(round_to_minor(to_decimal(value), currency, rounding), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @property
    def amount(self) -> Decimal:
        return minor_to_decimal(self.amount_minor, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise InvariantError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __str__(self) -> str:
        return f"{format_minor(self.amount_minor, self.currency)} {self.currency}"


def allocate(total_minor: int, weights: Sequence[int | Decimal]) -> tuple[int, ...]:
    """Split `total_minor` in proportion to `weights` by the largest-remainder method.

    The parts always add up to `total_minor` exactly. Each part is the floor (towards minus
    infinity for negative totals, mirrored) of its exact share; the units left over go one by
    one to the parts with the largest remainders, earlier parts first on ties, so the result
    is deterministic.

    >>> allocate(100, [1, 1, 1])
    (34, 33, 33)
    >>> allocate(-5, [1, 1])
    (-3, -2)
    >>> allocate(7, [0, 0])
    (4, 3)
    """
    if not weights:
        if total_minor != 0:
            raise InvariantError("cannot allocate a non-zero amount over no parts")
        return ()
    dec_weights = [to_decimal(w, field="weight") for w in weights]
    if any(w < 0 for w in dec_weights):
        raise InvariantError("allocation weights must not be negative")
    weight_sum = sum(dec_weights, Decimal(0))
    if weight_sum == 0:
        dec_weights = [Decimal(1)] * len(weights)
        weight_sum = Decimal(len(weights))
    sign = -1 if total_minor < 0 else 1
    magnitude = abs(total_minor)
    parts: list[int] = []
    remainders: list[Decimal] = []
    for weight in dec_weights:
        exact = _CONTEXT.divide(_CONTEXT.multiply(Decimal(magnitude), weight), weight_sum)
        floor = int(exact.to_integral_value(rounding=decimal.ROUND_FLOOR))
        parts.append(floor)
        remainders.append(exact - floor)
    left = magnitude - sum(parts)
    if not 0 <= left <= len(parts):
        raise InvariantError("largest remainder left an impossible residue")
    order = sorted(range(len(parts)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        parts[i] += 1
    result = tuple(sign * p for p in parts)
    if sum(result) != total_minor:
        raise InvariantError("allocation lost or invented a minor unit")
    return result
