"""How the pages write amounts, dates and times: exact, from integer minor units.

babel is not among openbill's dependencies, so amounts are grouped in thousands here from
`domain.money.format_minor` (an exact string), never through a float: "1,190.00 EUR",
"-29.75 EUR", "1,333 JPY", "3.125 KWD".
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from openbill.domain.currencies import exponent_of
from openbill.domain.metrics import NotEnoughData
from openbill.domain.money import format_minor

__all__ = [
    "amount",
    "money",
    "number",
    "price",
    "day",
    "stamp",
    "metric",
    "segment",
    "label",
    "dom_id",
]


def amount(minor: Any, currency: str) -> str:
    """Minor units as the amount people read, thousands grouped: '1,190.00' (EUR)."""
    if minor is None or minor == "":
        return ""
    text = format_minor(int(minor), currency)
    sign = "-" if text.startswith("-") else ""
    whole, dot, fraction = text.lstrip("-").partition(".")
    return f"{sign}{int(whole):,}{dot}{fraction}"


def money(minor: Any, currency: str) -> str:
    """An amount with its currency: '1,190.00 EUR'."""
    if minor is None or minor == "":
        return ""
    return f"{amount(minor, currency)} {currency}"


def number(value: Any) -> str:
    """An exact quantity or rate without trailing zeros: '10', '7', '2.5' (the databases
    give them back with their stored places, PostgreSQL '10.0000000000')."""
    if value is None or value == "":
        return ""
    return f"{Decimal(str(value)).normalize():f}"


def price(value: Any, currency: str) -> str:
    """A unit price with at least the currency's places: '9.99', '12.50', '0.6250', '1333'."""
    if value is None or value == "":
        return ""
    exact = Decimal(str(value)).normalize()
    places = exponent_of(currency)
    exponent = exact.as_tuple().exponent
    if isinstance(exponent, int) and -exponent < places:
        exact = exact.quantize(Decimal(1).scaleb(-places))
    return f"{exact:f}"


def day(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]


def stamp(value: Any) -> str:
    """A moment to the minute, in UTC as stored: '2026-12-07 09:00'."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)[:16]


def metric(value: Decimal | NotEnoughData | None, unit: str = "days") -> str:
    """A metric that may not be computable: '42.5 days', 'more than 720.0 days', 'n/a'."""
    if value is None:
        return ""
    if isinstance(value, NotEnoughData):
        if value.at_least is not None:
            return f"more than {value.at_least} {unit}"
        return "n/a"
    return f"{value} {unit}"


def segment(value: Any) -> str:
    """A value as one URL path segment ('/' and everything else reserved escaped)."""
    return quote(str(value), safe="")


def label(value: Any) -> str:
    """A stored code as words: 'partially_paid' -> 'partially paid'."""
    return str(value or "").replace("_", " ")


def dom_id(value: Any) -> str:
    """A record's code as part of an HTML id (and a CSS selector htmx targets): ASCII
    letters, digits and '-' kept, anything else written as _<hex>_, so two codes never meet.

    >>> dom_id("C1"), dom_id("A B/2")
    ('C1', 'A_20_B_2f_2')
    """
    return "".join(
        ch if ch.isascii() and (ch.isalnum() or ch == "-") else f"_{ord(ch):x}_"
        for ch in str(value)
    )
