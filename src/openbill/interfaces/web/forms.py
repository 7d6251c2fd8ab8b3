"""What the desk's forms share: bounded text fields, dates read with a refusal that names
the field (shown next to the record, like any other refusal), plurals in messages."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Form

from openbill.domain.rejections import InvalidInput

__all__ = [
    "MAX_SHORT_CHARS",
    "MAX_TEXT_CHARS",
    "ShortText",
    "LongText",
    "day_of",
    "plural",
]

MAX_SHORT_CHARS = 64  # a date, an amount, a code, a number
MAX_TEXT_CHARS = 4_000  # a note, an explanation (disputes.MAX_NOTE_CHARS)

ShortText = Annotated[str, Form(max_length=MAX_SHORT_CHARS)]
LongText = Annotated[str, Form(max_length=MAX_TEXT_CHARS)]


def day_of(text: str, field: str, record: str = "") -> date | None:
    """A date field (YYYY-MM-DD, as the browser's date input sends it); None when empty.

    >>> day_of("2026-03-20", "as_of"), day_of(" ", "as_of")
    (datetime.date(2026, 3, 20), None)
    """
    value = text.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{value!r} is not a date: give it as YYYY-MM-DD", record=record, field=field
        ) from None


def plural(n: int, word: str, many: str = "") -> str:
    """'1 finding', '2 findings', '1 delivery', '3 deliveries' (the number is the caller's).

    >>> plural(1, "finding"), plural(2, "finding"), plural(0, "delivery", "deliveries")
    ('finding', 'findings', 'deliveries')
    """
    return word if n == 1 else (many or f"{word}s")
