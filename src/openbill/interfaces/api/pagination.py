"""Opaque cursors for keyset pagination: a page's `next_cursor` names where it ended; the
caller passes it back as `cursor` to read on. The text is base64 of a small JSON object, which
callers must not build themselves (its shape may change)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated

from fastapi import Query

from openbill.domain.rejections import InvalidInput
from openbill.usecases.pages import MAX_PAGE_SIZE

__all__ = ["DEFAULT_PAGE_SIZE", "Limit", "encode", "decode"]

DEFAULT_PAGE_SIZE = 50
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="records per page")]
_MAX_CURSOR_LENGTH = 200


def encode(after_id: int | None) -> str | None:
    if after_id is None:
        return None
    raw = json.dumps({"after": after_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None) -> int:
    """The id a cursor continues after (0: from the start); a cursor that is not one of
    ours is refused."""
    if not cursor:
        return 0
    try:
        if len(cursor) > _MAX_CURSOR_LENGTH:
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        after = json.loads(raw)["after"]
        if type(after) is not int or after < 0:
            raise ValueError
        return after
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(
            "not a cursor this API gave out; pass back the next_cursor of the previous page",
            field="cursor",
        ) from None
