"""Exchange rates and the realised exchange difference of a cross-currency settlement.

A rate says what one unit of a currency is worth in another: `1 USD = 0.9231 EUR` is the rate
0.9231 from USD to EUR. Rates are exact decimals (never floats) with at most 10 decimal places.

When a payment in one currency settles an invoice in another, the settlement converts at the
rate used (the bank's or the one the customer applied). The ledger keeps every currency
balanced on its own through a currency-conversion account; what the conversion gained or lost
measured in the entity's base currency is the realised exchange difference:

    received = the payment amount used, valued in base currency on the payment date
    carried  = the invoice amount settled, valued in base currency on the invoice date
    realised difference = received - carried   (positive: a gain)

Both values are rounded to minor units of the base currency once, half-even, so the same
settlement always gives the same difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from openbill.domain.money import Rounding, minor_to_decimal, round_to_minor, to_decimal
from openbill.domain.rejections import InvalidAmount

__all__ = ["RATE_PLACES", "parse_rate", "invert", "convert_minor", "Realised", "realised"]

RATE_PLACES = 10
_MAX_RATE = Decimal("1000000000")


def parse_rate(text: str | Decimal, field: str = "rate") -> Decimal:
    """A positive exact rate with at most RATE_PLACES decimals."""
    try:
        rate = to_decimal(text, field=field)
    except InvalidAmount as exc:
        raise InvalidAmount(exc.reason, field=field) from None
    if rate <= 0 or rate > _MAX_RATE:
        raise InvalidAmount(f"{text} is not a usable exchange rate", field=field)
    exponent = rate.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > RATE_PLACES:
        raise InvalidAmount(f"{text} has more than {RATE_PLACES} decimal places", field=field)
    return rate


def invert(rate: Decimal) -> Decimal:
    """The rate the other way round, to RATE_PLACES decimals (half-even)."""
    try:
        return (Decimal(1) / rate).quantize(Decimal(1).scaleb(-RATE_PLACES))
    except InvalidOperation as exc:  # pragma: no cover - parse_rate keeps rates in range
        raise InvalidAmount("the exchange rate cannot be inverted", field="rate") from exc


def convert_minor(
    amount_minor: int,
    from_currency: str,
    to_currency: str,
    rate: Decimal,
    rounding: Rounding = Rounding.HALF_EVEN,
) -> int:
    """`amount_minor` of `from_currency` in minor units of `to_currency` at `rate`.

    >>> convert_minor(100000, "USD", "JPY", Decimal("151.237"))  # 1,000.00 USD
    151237
    """
    if from_currency == to_currency:
        return amount_minor
    value = minor_to_decimal(amount_minor, from_currency) * rate
    return round_to_minor(value, to_currency, rounding)


@dataclass(frozen=True, slots=True)
class Realised:
    base_currency: str
    received_base_minor: int
    carried_base_minor: int

    @property
    def difference_minor(self) -> int:
        return self.received_base_minor - self.carried_base_minor


def realised(
    payment_minor: int,
    payment_currency: str,
    payment_rate_to_base: Decimal,
    invoice_minor: int,
    invoice_currency: str,
    invoice_rate_to_base: Decimal,
    base_currency: str,
) -> Realised:
    """The realised exchange difference of settling `invoice_minor` with `payment_minor`.

    A rate to base is ignored (and may be 1) for an amount already in the base currency."""
    received = convert_minor(payment_minor, payment_currency, base_currency, payment_rate_to_base)
    carried = convert_minor(invoice_minor, invoice_currency, base_currency, invoice_rate_to_base)
    return Realised(base_currency, received, carried)
