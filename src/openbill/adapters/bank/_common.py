"""What the statement parsers share: the refusal with file and place, bounds, text cleaning."""

from __future__ import annotations

from openbill.domain.bank import ENTRIES_MAX, STATEMENTS_MAX, TEXT_CHARS_MAX
from openbill.domain.rejections import InvalidInput

FILE_BYTES_MAX = 150_000_000  # a bank file larger than this is not a statement we import (a
# camt.053 takes about 700 bytes per entry: 100,000 entries, ENTRIES_MAX, are 70 MB)


def refuse(source: str, where: str, reason: str, *, field: str = "") -> InvalidInput:
    """An InvalidInput that names the file and the line or element at fault.

    The message reads "camt053.xml: element /Document/.../Amt: 'abc' is not an amount".
    """
    record = f"{source}: {where}" if where else source
    return InvalidInput(reason, record=record, field=field)


def clean(text: str | None, limit: int = TEXT_CHARS_MAX) -> str:
    """Blanks folded to single spaces, cut at the bound."""
    return " ".join((text or "").split())[:limit]


def check_counts(source: str, statements: int, entries: int) -> None:
    if statements > STATEMENTS_MAX:
        raise refuse(source, "", f"more than {STATEMENTS_MAX} statements in one file; split it")
    if entries > ENTRIES_MAX:
        raise refuse(source, "", f"more than {ENTRIES_MAX} entries in one file; split it")
