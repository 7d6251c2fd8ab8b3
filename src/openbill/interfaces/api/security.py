"""Who is calling, and may they: every route names the action it needs (domain.access), and
`allowed(action)` refuses a caller without a valid session or API key (401), without access to
the route's legal entity or without the action (403). Refusals go to the audit trail.

Callers authenticate with an API key (`Authorization: Bearer obk_...`) or with the session
cookie the log-in page sets (HttpOnly, SameSite=Strict, so another site cannot ride on it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from openbill.bootstrap import Book
from openbill.domain.access import Forbidden, Principal, Unauthenticated
from openbill.usecases import access

__all__ = [
    "SESSION_COOKIE",
    "LOG_IN_FIRST",
    "ACTION_KEY",
    "Caller",
    "allowed",
    "principal_of",
    "route_action",
    "declare_actions",
]

SESSION_COOKIE = "openbill_session"
LOG_IN_FIRST = "log in, or send an API key as `Authorization: Bearer <key>`"
ACTION_KEY = "x-openbill-action"  # the action a route needs, in its OpenAPI operation
_STATE = "openbill_principal"
_NOBODY = object()


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller of one request and the legal entity it acts for."""

    principal: Principal
    entity: str
    book: Book

    def uow(self, read_only: bool = False) -> Any:
        return self.book.uow(read_only=read_only, actor=self.principal.name)


def book_of(request: Request) -> Book:
    book: Book = request.app.state.book
    return book


def principal_of(request: Request) -> Principal | None:
    """The caller's principal (read once per request), or None for an anonymous caller."""
    cached = getattr(request.state, _STATE, _NOBODY)
    if cached is not _NOBODY:
        return cached  # type: ignore[return-value]
    book = book_of(request)
    found: Principal | None = None
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("send the API key as `Authorization: Bearer <key>`")
        # Read-only: a writable unit of work takes SQLite's write lock at once; the key's
        # last use is noted (once a minute) in one of its own.
        found = access.api_key_principal(book.uow(read_only=True), token.strip(), book.uow)
        if found is None:
            raise Unauthenticated("the API key is not valid: it was revoked or mistyped")
    else:
        token = request.cookies.get(SESSION_COOKIE, "")
        if token:
            found = access.session_principal(book.uow(read_only=True), token, writer=book.uow)
    setattr(request.state, _STATE, found)
    return found


class _Guard:
    def __init__(self, action: str) -> None:
        self.action = action

    def check(self, request: Request) -> Caller:
        principal = principal_of(request)
        if principal is None:
            raise Unauthenticated(LOG_IN_FIRST)
        entity = str(request.path_params.get("entity", ""))
        book = book_of(request)
        if entity and not principal.may_entity(entity):
            self._refused(book, principal, request)
            raise Forbidden(f"you have no access to legal entity {entity!r}")
        if not principal.may(self.action):
            self._refused(book, principal, request)
            who = f"the role {principal.role.value}" if principal.role else "this API key"
            raise Forbidden(f"{who} may not do this (it needs {self.action!r})")
        return Caller(principal, entity, book)

    def _refused(self, book: Book, principal: Principal, request: Request) -> None:
        target = f"{request.method} {request.url.path}"
        access.record_refusal(book.uow(actor=principal.name), principal.name, self.action, target)

    async def __call__(self, request: Request) -> Caller:
        return await run_in_threadpool(self.check, request)


def allowed(action: str) -> Any:
    """The dependency of a route that needs `action`: gives the route its Caller."""
    return Depends(_Guard(action))


def route_action(route: APIRoute) -> str | None:
    """The action a route declared through `allowed`, or None for a public route."""
    pending = list(route.dependant.dependencies)
    while pending:
        dep = pending.pop()
        if isinstance(dep.call, _Guard):
            return dep.call.action
        pending.extend(dep.dependencies)
    return None


def declare_actions(routes: list[Any]) -> None:
    """Write each route's action into its OpenAPI operation (`x-openbill-action`), so the
    schema tells an integrator which scope each operation needs."""
    for route in routes:
        if isinstance(route, APIRoute):
            action = route_action(route)
            if action is not None:
                route.openapi_extra = {**(route.openapi_extra or {}), ACTION_KEY: action}
