"""Hash chains that make issued documents, payments, journal entries and audit events
tamper-evident.

Each chained record stores `hash = sha256(prev_hash || "\\n" || canonical(payload))`, where the
payload is the record's content as plain values. Changing any stored field, deleting a record or
reordering records breaks every hash after it, which `openbill verify` recomputes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal

from openbill.domain.rejections import InvariantError

__all__ = ["GENESIS", "canonical", "link"]

GENESIS = "0" * 64


_PASS = frozenset({str, int, bool, type(None)})


def _plain(value: object) -> object:
    if type(value) in _PASS:  # the common case first: this runs for every field hashed
        return value
    if type(value) is list or type(value) is tuple:
        return [v if type(v) in _PASS else _plain(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, Decimal):
        # 1.5, 1.50 and 1.5000000000 (PostgreSQL NUMERIC) are one number and hash alike.
        return "0" if value == 0 else format(value.normalize(), "f")
    if isinstance(value, datetime):
        # Stores differ in how they give times back (SQLite naive, PostgreSQL aware): hash the
        # UTC wall time without a zone so that both read back to the same bytes.
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    raise InvariantError(f"cannot hash a value of type {type(value).__name__}")


def canonical(payload: Mapping[str, object]) -> bytes:
    """Stable bytes for a payload: sorted keys, no whitespace, decimals and dates as text."""
    return json.dumps(_plain(payload), sort_keys=True, separators=(",", ":")).encode()


def link(prev_hash: str, payload: Mapping[str, object]) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(payload)).hexdigest()
