"""How a page's action answers, the same way for every queue.

An action (a POST guarded by `guard.page(ACTION)`, which has checked the log-in, the role and
the anti-forgery token) calls one use case and then answers:

* **done, from a plain form** (no JavaScript): 303 to the page that shows the result, with
  the message in a short-lived cookie (`Flash`) that the next page shows once
  (post/redirect/get: reloading that page does not repeat the action);
* **done, from htmx**: the fragment that changed (the queue's row, now saying what was done),
  with the navigation's counts updated out of band;
* **refused** (a `Rejection`: a business rule said no): the page again, with the reason next
  to the record it is about and the status of the refusal (409, 422, 404), or, from htmx,
  the row with the reason in it. Nothing was changed: the use case's unit of work rolled
  back.

The flash cookie holds the message only (never a record's data beyond the words of the
message), is HttpOnly, SameSite=Strict, lives `FLASH_SECONDS`, and is signed with the
session's anti-forgery token so that no other session's or site's words can be shown as the
desk's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from openbill.domain.rejections import Rejection
from openbill.interfaces.api.problems import STATUS_OF
from openbill.interfaces.web.guard import DESK, Desk, local_next

__all__ = [
    "FLASH_COOKIE",
    "FLASH_SECONDS",
    "MAX_FLASH_CHARS",
    "Flash",
    "Done",
    "answer",
    "refusal_text",
    "set_flash",
    "read_flash",
    "form_key",
    "work_key",
]

FLASH_COOKIE = "openbill_flash"
FLASH_SECONDS = 120  # the next page is normally asked for at once; a stale message is dropped
MAX_FLASH_CHARS = 1_000  # a cookie stays well under the browsers' 4 KiB


@dataclass(frozen=True, slots=True)
class Flash:
    """What the last action did (kind "done") or why it was refused ("refused")."""

    text: str
    kind: str = "done"
    link: str = ""  # a page of the desk that shows the result
    link_text: str = ""


@dataclass(frozen=True, slots=True)
class Done:
    """An action's result: the message, where a plain form goes next, and a link."""

    message: str
    to: str  # a /desk path (303)
    link: str = ""
    link_text: str = ""


def _sign(payload: str, key: str) -> str:
    return hmac.new(key.encode(), payload.encode(), hashlib.sha256).hexdigest()[:32]


def set_flash(request: Request, response: Response, desk: Desk, flash: Flash) -> None:
    data = {
        "t": flash.text[:MAX_FLASH_CHARS],
        "k": flash.kind,
        "l": flash.link,
        "x": flash.link_text[:200],
    }
    payload = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    response.set_cookie(
        FLASH_COOKIE,
        f"{payload}.{_sign(payload, desk.csrf)}",
        max_age=FLASH_SECONDS,
        path=DESK,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def read_flash(request: Request, key: str) -> Flash | None:
    """The message the last action left for this session, if its signature holds."""
    value = request.cookies.get(FLASH_COOKIE, "")
    payload, _, signature = value.partition(".")
    if not value or not key or not hmac.compare_digest(signature, _sign(payload, key)):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    link = str(data.get("l", ""))
    if link and local_next(link) != link:
        link = ""
    kind = "refused" if data.get("k") == "refused" else "done"
    return Flash(str(data.get("t", ""))[:MAX_FLASH_CHARS], kind, link, str(data.get("x", "")))


def refusal_text(exc: Rejection) -> str:
    """A refusal as a sentence a billing specialist reads: the reason, and the field when it
    names one ("Write at least 10 characters (reason)")."""
    text = f"{exc.reason[:1].upper()}{exc.reason[1:]}"
    return f"{text} ({exc.field})" if exc.field else text


Again = Callable[[dict[str, str], int], Response]  # the page again, with reasons by record
Fragment = Callable[[Done | None, str], Response]  # htmx: the row, done or with the reason


def answer(
    request: Request,
    desk: Desk,
    key: str,
    run: Callable[[], Done],
    again: Again,
    fragment: Fragment | None = None,
) -> Response:
    """Run an action (`run` calls one use case) and answer as the module docstring says;
    `key` names the record on the page, where a refusal is shown."""
    try:
        done = run()
    except Rejection as exc:
        status = STATUS_OF.get(exc.code, 422)
        if status in (401, 403):
            raise  # the desk's error handling: to the log-in page, or the refusal page
        reason = refusal_text(exc)
        if desk.htmx and fragment is not None:
            return fragment(None, reason)
        return again({key: reason}, status)
    if desk.htmx and fragment is not None:
        return fragment(done, "")
    response = RedirectResponse(done.to, status_code=303)
    set_flash(request, response, desk, Flash(done.message, "done", done.link, done.link_text))
    return response


def form_key() -> str:
    """A random key a form carries (hidden field `key`): sending the same form twice (a
    double click, a reload of the POST) then records the payment or issues the draft once,
    through the use case's own idempotency key (`work_key`)."""
    return secrets.token_urlsafe(18)


def work_key(desk: Desk, key: str) -> str:
    """The use case's idempotency key for a form's `key`: per person, so that two people's
    forms never share one. Empty without a key (the form was not the desk's)."""
    text = key.strip()
    if not text:
        return ""
    who = f"{desk.principal.kind}:{desk.principal.id}\n{text}"
    return "desk:" + hashlib.sha256(who.encode()).hexdigest()[:48]
