"""Conditional requests (RFC 9110): ETag on reads, If-None-Match for a cheap re-read, and
If-Match required on every change so that a stale write is refused (412) instead of silently
undoing someone else's change."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Path, Request, Response
from pydantic import BaseModel

from openbill.domain.rejections import InvalidInput, Rejection

__all__ = [
    "MAX_RECORD_ID",
    "RecordId",
    "etag",
    "location",
    "model_tag",
    "not_modified",
    "tagged",
    "require_if_match",
    "PreconditionRequired",
]


# Records are numbered by the database from 1; the columns are 32-bit on PostgreSQL. A larger
# number in a path names no record and is refused as input (422), never passed to the store.
MAX_RECORD_ID = 2_147_483_647
RecordId = Annotated[int, Path(ge=1, le=MAX_RECORD_ID, description="the record's number")]


class PreconditionRequired(Rejection):
    code = "precondition_required"


def location(*segments: object) -> str:
    """The API path of a record, each segment percent-encoded (RFC 3986): a header value is
    Latin-1, and a code may be written in any script or hold a slash."""
    return "/v1/" + "/".join(quote(str(segment), safe="") for segment in segments)


def etag(revision: str) -> str:
    return f'"{revision}"'


def model_tag(model: BaseModel) -> str:
    """The ETag of a representation that has no stored revision (a derived view)."""
    return etag(hashlib.sha256(model.model_dump_json().encode()).hexdigest()[:32])


def _tags(header: str) -> list[str]:
    return [t.strip().removeprefix("W/") for t in header.split(",") if t.strip()]


def not_modified(request: Request, tag: str) -> bool:
    header = request.headers.get("if-none-match", "")
    return bool(header) and (header.strip() == "*" or tag in _tags(header))


def tagged(request: Request, response: Response, tag: str, shown: Any) -> Any:
    """`shown` with its ETag, or 304 Not Modified when If-None-Match names the tag: what
    every read of a record with a revision answers."""
    if not_modified(request, tag):
        return Response(status_code=304, headers={"ETag": tag})
    response.headers["ETag"] = tag
    return shown


def require_if_match(header: str | None) -> str:
    """The revision an If-Match header names (one strong ETag)."""
    if not header:
        raise PreconditionRequired(
            "send If-Match with the ETag you read, so that a change made meanwhile is not lost",
            field="If-Match",
        )
    tags = _tags(header)
    if (
        header.strip().startswith("W/")
        or len(tags) != 1
        or not (tags[0].startswith('"') and tags[0].endswith('"'))
    ):
        raise InvalidInput("If-Match must hold one ETag, as GET gave it", field="If-Match")
    return tags[0].strip('"')
