"""Idempotency-Key on every POST (the IETF draft "The Idempotency-Key HTTP Header Field").

A POST that carries the header is stored before it runs, per caller and key, with a digest of
its method, path and body:
- the same key again with the same request returns the first response, byte for byte, with
  `Idempotent-Replayed: true` (nothing runs twice);
- the same key with a different request is refused with 422;
- the same key while the first request is still running is refused with 409 (retry later);
  a request that never finished (the server stopped) is taken over after IN_FLIGHT_MAX_S.
A response with a server error is not kept: the key is freed so that the client may retry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from openbill.domain.rejections import Rejection
from openbill.interfaces.api.problems import problem
from openbill.interfaces.api.security import book_of, principal_of

__all__ = ["IdempotentRoute", "HEADER", "MAX_KEY_LENGTH", "IN_FLIGHT_MAX_S", "request_digest"]

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
IN_FLIGHT_MAX_S = 300
_KEPT_HEADERS = ("content-type", "etag", "location")

Handler = Callable[[Request], Awaitable[Response]]


def request_digest(method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests the same: method, path, query and body (JSON compared by
    content, so other spacing or key order is the same request). Any JSON is digested, floats
    too (chain.canonical refuses them, rightly for money, but the body is not checked yet)."""
    try:
        content = (
            json.dumps({"json": json.loads(body)}, sort_keys=True, separators=(",", ":")).encode()
            if body
            else b""
        )
    except (ValueError, TypeError, RecursionError):  # not JSON (or nested beyond parsing)
        content = body
    return hashlib.sha256(f"{method} {path}?{query}\n".encode() + content).hexdigest()


class _Decision:
    def __init__(self, request_id: int | None = None, replay: Response | None = None) -> None:
        self.request_id = request_id
        self.replay = replay


def _begin(request: Request, who: str, key: str, digest: str) -> _Decision:
    book = book_of(request)
    now = book.clock.now()
    values = {
        "principal": who,
        "idem_key": key,
        "method": request.method,
        "path": request.url.path,
        "request_hash": digest,
        "state": "in_flight",
        "created_at": now,
    }
    with book.uow() as uow:
        seen = uow.api_requests.get(who, key)
        if seen is None:
            request_id = uow.api_requests.begin(values)
            if request_id is None:  # another request took the key a moment ago
                seen = uow.api_requests.get(who, key)
            else:
                uow.commit()
                return _Decision(request_id)
        assert seen is not None
        if seen.request_hash != digest:
            return _Decision(
                replay=problem(
                    request,
                    422,
                    "idempotency_conflict",
                    f"the {HEADER} {key!r} was already used for a different request; "
                    "use a new key for new work",
                    field=HEADER,
                )
            )
        if seen.state == "done":
            headers = json.loads(seen.headers or "{}")
            headers["Idempotent-Replayed"] = "true"
            body = (seen.body or "").encode()
            return _Decision(replay=Response(body, status_code=seen.status_code, headers=headers))
        started = seen.created_at
        if started.tzinfo is None:  # SQLite gives naive datetimes back
            started = started.replace(tzinfo=now.tzinfo)
        if now - started > timedelta(seconds=IN_FLIGHT_MAX_S):
            uow.api_requests.reclaim(seen.id, values)
            uow.commit()
            return _Decision(int(seen.id))
        return _Decision(
            replay=problem(
                request,
                409,
                "in_flight",
                f"a request with the {HEADER} {key!r} is still being processed; "
                "retry in a moment to get its response",
                field=HEADER,
                headers={"Retry-After": "1"},
            )
        )


def _finish(request: Request, request_id: int, response: Response) -> None:
    book = book_of(request)
    headers = {k: v for k, v in response.headers.items() if k in _KEPT_HEADERS}
    body = bytes(response.body).decode()
    with book.uow() as uow:
        uow.api_requests.finish(
            request_id,
            response.status_code,
            headers.get("content-type", ""),
            body,
            json.dumps(headers),
            book.clock.now(),
        )
        uow.commit()


def _release(request: Request, request_id: int) -> None:
    with book_of(request).uow() as uow:
        uow.api_requests.release(request_id)
        uow.commit()


def _key_problem(request: Request, key: str) -> Response | None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        return problem(
            request,
            422,
            "invalid_input",
            f"the {HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters",
            field=HEADER,
        )
    return None


async def run_idempotent(request: Request, key: str, handler: Handler) -> Response:
    bad = _key_problem(request, key)
    if bad is not None:
        return bad
    try:
        principal = await run_in_threadpool(principal_of, request)
    except Rejection:
        principal = None
    if principal is None:  # the route refuses the anonymous caller itself
        return await handler(request)
    who = f"{principal.kind}:{principal.id}"
    digest = request_digest(
        request.method, request.url.path, request.url.query, await request.body()
    )
    decision = await run_in_threadpool(_begin, request, who, key, digest)
    if decision.replay is not None:
        return decision.replay
    assert decision.request_id is not None
    try:
        response = await handler(request)
    except Exception:
        await run_in_threadpool(_release, request, decision.request_id)
        raise
    if response.status_code >= 500:
        await run_in_threadpool(_release, request, decision.request_id)
    else:
        await run_in_threadpool(_finish, request, decision.request_id, response)
    return response


class IdempotentRoute(APIRoute):
    """The route class of the API: a POST with an Idempotency-Key runs once."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            key = request.headers.get(HEADER)
            if request.method != "POST" or key is None:
                response: Response = await original(request)
                return response
            return await run_idempotent(request, key, original)

        return handler
