"""What no request may carry is refused at the door, before any route, idempotency record or
log-in sees it.

A body larger than the server takes (LimitBody): 413 `body_too_large`. Routes read a body
whole (an upload, the Idempotency-Key's digest), so the bound is what one request may hold in
memory: 64 MB by default, OPENBILL_MAX_BODY_MB sets another.

Text no store can keep (RefuseNul): the NUL character (U+0000).

PostgreSQL refuses NUL in text (SQLite keeps it), so a NUL in a path, a query or a JSON body
would be a server error on one backend and stored data on the other. No billing record has a
use for it: every request that carries one is refused with 422 `invalid_input` before any
route, idempotency record or log-in sees it, the same on both backends.

Lone UTF-16 surrogates ("\\ud800") need nothing here: pydantic refuses them as invalid text.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openbill.interfaces.api.problems import problem

__all__ = ["LimitBody", "RefuseNul", "MAX_CHECKED_BODY_BYTES", "max_body_bytes"]

NUL = "\x00"
# A JSON body larger than this is not read here (it is passed on as it came): openbill's JSON
# requests are far smaller; the bound keeps a huge upload from being held twice in memory.
MAX_CHECKED_BODY_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_BODY_MB = 64
_REASON = "text must not contain the NUL character (U+0000)"


def _json_content(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media = value.split(b";")[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return True  # FastAPI reads a body without a Content-Type as JSON


def _has_nul(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _body_has_nul(body: bytes) -> bool:
    if b"\\u0000" not in body and b"\x00" not in body:
        return False  # the common case: no escape that could be a NUL
    try:
        return _has_nul(json.loads(body))
    except (ValueError, RecursionError):
        return False  # not JSON: the route refuses it itself


class RefuseNul:
    """ASGI middleware: 422 for a request with a NUL in its path, query or JSON body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if NUL in scope.get("path", "") or b"\x00" in unquote_to_bytes(
            scope.get("query_string", b"")
        ):
            await self._refuse(scope, receive, send, "path" if NUL in scope["path"] else "query")
            return
        if not _json_content(scope):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if not message.get("more_body", False) or size > MAX_CHECKED_BODY_BYTES:
                break
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        if size <= MAX_CHECKED_BODY_BYTES and _body_has_nul(body):
            await self._refuse(scope, receive, send, "body")
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, where: str) -> None:
        # An API-wide rule (the schema's description says it), not a field's validation: no
        # `errors` list, as for the business rules' refusals.
        detail = f"{where}: {_REASON}"
        response = problem(Request(scope, receive), 422, "invalid_input", detail, field=where)
        await response(scope, receive, send)


def max_body_bytes() -> int:
    """The largest body a request may have: OPENBILL_MAX_BODY_MB megabytes (64 by default)."""
    text = os.environ.get("OPENBILL_MAX_BODY_MB", "").strip()
    megabytes = int(text) if text.isdigit() and int(text) > 0 else DEFAULT_MAX_BODY_MB
    return megabytes * 1024 * 1024


class LimitBody:
    """ASGI middleware: 413 for a request whose body is larger than `limit` bytes, whether its
    Content-Length says so or it only turns out so as it streams in (chunked). In the second
    case the 413 is sent the moment the bound is passed, the app is told the client went away,
    and whatever it answers or raises after that is dropped: a route, FastAPI's body parser
    or an upload reader may be reading, and none of them gets to answer instead."""

    def __init__(self, app: ASGIApp, limit: int | None = None) -> None:
        self.app = app
        self.limit = max_body_bytes() if limit is None else limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.strip().isdigit():
                if int(value) > self.limit:
                    await self._refuse(scope, receive, send)
                    return
        size = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal size, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > self.limit:
                    if not started:
                        refused = True
                        await self._refuse(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        megabytes = self.limit / (1024 * 1024)
        detail = (
            f"body: the request is larger than the {megabytes:g} MB this server takes; "
            "split the file, or ask the administrator to raise OPENBILL_MAX_BODY_MB"
        )
        response = problem(Request(scope), 413, "body_too_large", detail, field="body")
        await response(scope, receive, send)
