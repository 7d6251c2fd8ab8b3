"""Who may see a page, and protection of the pages' forms.

Every page names the least action of `domain.access` it needs through `page(action)`, which
stands on the API's own guard (`security.allowed`): the same session cookie, the same check of
the legal entity in the URL (`/desk/{entity}/...`) and of the role's actions, and the same
audit of a refusal. So one log-in serves the pages and the API, and a page and the API route
beside it can never disagree about who may read what.

What pages add:

* **Anti-forgery (CSRF) tokens.** Every request that changes something (any method but GET,
  HEAD, OPTIONS) must carry the session's token, in the form field `csrf_token` or the
  `X-CSRF-Token` header (htmx sends it: base.html puts it in `hx-headers`). The token is an
  HMAC of the session token, so it is per session, needs no storage, and another site cannot
  know it (the session cookie is HttpOnly and SameSite=Strict on top). A request without it or
  with a wrong one is refused (403) and written to the audit trail (`csrf_refused`). The
  log-in form, which comes before any session, carries a random token that must match a
  cookie set with the form (double submit).
* **A person, not a program.** A page that is refused for want of a log-in sends the browser
  to the log-in page and, after it, back where it was (only to a local /desk path).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from openbill.bootstrap import Book
from openbill.domain.access import Forbidden, Principal
from openbill.interfaces.api.routes.sessions import address_of
from openbill.interfaces.api.security import SESSION_COOKIE, Caller, allowed
from openbill.usecases import desk as desk_uc
from openbill.usecases import masterdata as md

__all__ = [
    "DESK",
    "SAFE_METHODS",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "LOGIN_COOKIE",
    "MAX_NEXT_CHARS",
    "Desk",
    "ForgedRequest",
    "page",
    "csrf_token",
    "check_csrf",
    "local_next",
    "login_url",
    "is_desk",
]

DESK = "/desk"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
LOGIN_COOKIE = "openbill_login_csrf"  # the log-in form's double-submit token
MAX_NEXT_CHARS = 500  # the page to return to after a log-in
MAX_TOKEN_CHARS = 200
_CSRF_CONTEXT = b"openbill web desk: anti-forgery token v1"


def is_desk(path: str) -> bool:
    return path == DESK or path.startswith(DESK + "/")


def csrf_token(session_token: str) -> str:
    """The anti-forgery token of a session: HMAC-SHA256 keyed with the session token."""
    return hmac.new(session_token.encode(), _CSRF_CONTEXT, hashlib.sha256).hexdigest()


def new_login_token() -> str:
    return secrets.token_urlsafe(32)


class ForgedRequest(Forbidden):
    """A change without the right anti-forgery token: not from one of openbill's pages."""

    def __init__(self) -> None:
        super().__init__(
            "this request did not come from an openbill page of your session (its anti-forgery "
            "token is missing or wrong), so nothing was changed; reload the page and try again"
        )


async def submitted_token(request: Request) -> str:
    """The anti-forgery token a request carries: its header, else its form field."""
    header = request.headers.get(CSRF_HEADER, "")
    if header:
        return header[:MAX_TOKEN_CHARS]
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD, "")
        return value[:MAX_TOKEN_CHARS] if isinstance(value, str) else ""
    return ""


async def check_csrf(request: Request, book: Book, expected: str, who: str) -> None:
    """Refuse (and audit) a change whose token is not `expected`."""
    given = await submitted_token(request)
    if expected and given and hmac.compare_digest(given, expected):
        return
    target = f"{request.method} {request.url.path}"
    await run_in_threadpool(
        desk_uc.record_forged_request, book.uow(actor=who), who, target, address_of(request)
    )
    raise ForgedRequest()


@dataclass(frozen=True, slots=True)
class Desk:
    """A page's caller: who, for which legal entity, the session's anti-forgery token, and
    the entities they may switch between (code, name); the message the last action left
    (`flash`, shown once), and the queues' counts for the navigation (read on first use)."""

    caller: Caller
    csrf: str
    entities: tuple[tuple[str, str], ...]
    htmx: bool  # the request came from htmx (a partial update)
    flash: Any = None  # actions.Flash of the action before this page, or None
    with_counts: bool = True  # False: the navigation shows no counts (error pages)
    _memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def principal(self) -> Principal:
        return self.caller.principal

    @property
    def entity(self) -> str:
        return self.caller.entity

    @property
    def book(self) -> Book:
        return self.caller.book

    def uow(self) -> Any:
        """A read-only unit of work naming the caller (pages only read; part 2's forms take
        `self.caller.uow()`)."""
        return self.caller.uow(read_only=True)

    def may(self, action: str) -> bool:
        return self.caller.principal.may(action)

    @property
    def counts(self) -> Any:
        """How many records wait in each queue (`desk_queues.QueueCounts`), one statement,
        read when a page first asks; None where no queue applies."""
        from openbill.domain.access import READ
        from openbill.usecases import desk_queues

        if "counts" not in self._memo:
            found = None
            if self.with_counts and self.entity and self.may(READ):
                found = desk_queues.queue_counts(self.uow(), self.entity)
            self._memo["counts"] = found
        return self._memo["counts"]

    def counted(self, counts: Any) -> None:
        """The queues' counts, already read by the page (the dashboard's own figures for
        today): the navigation shows them without reading them again."""
        self._memo.setdefault("counts", counts if self.with_counts else None)

    @property
    def home(self) -> str:
        return home_of(self.principal, self.entities)


def home_of(principal: Principal, entities: tuple[tuple[str, str], ...]) -> str:
    """Where a person starts: their first legal entity's dashboard; an administrator, who
    reads no billing records, the users page."""
    from openbill.domain.access import READ, USERS_ADMIN

    if principal.may(READ) and entities:
        return f"{DESK}/{entities[0][0]}"
    if principal.may(USERS_ADMIN):
        return f"{DESK}/admin"
    return f"{DESK}/nothing"


def entities_of(book: Book, principal: Principal) -> tuple[tuple[str, str], ...]:
    rows = md.list_entities(book.uow(read_only=True, actor=principal.name))
    return tuple((r.code, r.name) for r in rows if principal.may_entity(r.code))


def page(action: str) -> Any:
    """The dependency of a page that needs `action`: the API's guard (log-in, legal entity,
    role, audited refusals), then, for a change, the anti-forgery token."""

    async def dependency(request: Request, caller: Caller = allowed(action)) -> Desk:
        token = request.cookies.get(SESSION_COOKIE, "")
        expected = csrf_token(token) if token else ""
        if request.method not in SAFE_METHODS:
            await check_csrf(request, caller.book, expected, caller.principal.name)
        entities = await run_in_threadpool(entities_of, caller.book, caller.principal)
        htmx = request.headers.get("hx-request", "") == "true"
        from openbill.interfaces.web.actions import read_flash

        return Desk(caller, expected, entities, htmx, read_flash(request, expected))

    return Depends(dependency)


def local_next(text: str | None) -> str:
    """Where to go after a log-in: a path of the desk on this server, else the desk's start.
    Refuses other hosts ('//evil', 'https://...'), backslashes and control characters."""
    value = (text or "").strip()
    if not value or len(value) > MAX_NEXT_CHARS:
        return DESK
    if any(ord(ch) < 32 or ch == "\\" for ch in value):
        return DESK
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return DESK
    if not is_desk(parts.path) or parts.path.startswith(f"{DESK}/login"):
        return DESK
    return value


def login_url(next_path: str = "", why: str = "") -> str:
    query = {}
    if next_path and local_next(next_path) != DESK:
        query["next"] = next_path
    if why:
        query["why"] = why
    return f"{DESK}/login" + (f"?{urlencode(query)}" if query else "")
