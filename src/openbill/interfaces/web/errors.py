"""Refusals and errors on pages: a page a person can act on, instead of the API's
problem+json. Installed around the API's handlers: a request under /desk gets HTML, every
other request what the API gives.

* not logged in, or the session ended: to the log-in page, and back afterwards (htmx gets an
  `HX-Redirect` so that the whole page goes, not a fragment);
* another entity's page, or an action the role lacks: 403 (the guard audited it);
* no such record: 404; a wrong filter or date: 422 naming the field; anything else: 500,
  with the detail in the server's log only.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from openbill.domain.rejections import Rejection
from openbill.interfaces.api.problems import STATUS_OF, _location
from openbill.interfaces.api.security import SESSION_COOKIE, Caller, book_of, principal_of
from openbill.interfaces.web.guard import (
    SAFE_METHODS,
    Desk,
    csrf_token,
    entities_of,
    is_desk,
    login_url,
)
from openbill.interfaces.web.render import html

__all__ = ["install"]

log = logging.getLogger("openbill.web")

_TITLES = {
    401: "Please log in",
    403: "Not for you",
    404: "Not found",
    405: "Not possible here",
    409: "Not possible now",
    411: "Request without a length",
    413: "Too much sent",
    422: "Something is not right",
    429: "Too many attempts",
    500: "Something went wrong",
}


def _page(request: Request, status: int, message: str, field: str = "") -> Response:
    context = {
        "title": _TITLES.get(status, HTTPStatus(status).phrase),
        "status": status,
        "message": message,
        "field": field,
        "desk": _desk_of(request),
    }
    return html(request, "error.html", context, status=status)


def _desk_of(request: Request) -> Desk | None:
    """The navigation of a person who is logged in, for an error page: their own legal
    entity (the one in the URL when they may act for it), never another's."""
    try:
        principal = principal_of(request)  # read once per request: no query the second time
        if principal is None or principal.kind != "user":
            return None
        book = book_of(request)
        entities = entities_of(book, principal)
    except Exception:  # an error page must not fail for want of its navigation
        return None
    wanted = str(request.path_params.get("entity", ""))
    entity = wanted if principal.may_entity(wanted) else (entities[0][0] if entities else "")
    token = request.cookies.get(SESSION_COOKIE, "")
    return Desk(
        Caller(principal, entity, book), csrf_token(token), entities, False, with_counts=False
    )


def to_login(request: Request) -> Response:
    """Send the browser to log in, and back here afterwards (a GET; a change is not
    repeated after the log-in: the person sees the page again first)."""
    had_session = bool(request.cookies.get(SESSION_COOKIE))
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = login_url(
        here if request.method in SAFE_METHODS else "", "expired" if had_session else ""
    )
    if request.headers.get("hx-request", "") == "true":
        return Response(status_code=200, headers={"HX-Redirect": target})
    response = RedirectResponse(target, status_code=303)
    if had_session:
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _rejection(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Rejection)
    status = STATUS_OF.get(exc.code, 422)
    if status == 401:
        return to_login(request)
    return _page(request, status, exc.reason, exc.field)


def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    field = _location(first.get("loc", ()))
    reason = first.get("msg", "the request is not valid")
    return _page(request, 422, f"{field}: {reason}" if field else reason, field)


def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        message = "there is no such page on the desk; use the navigation to find your way"
    else:
        message = str(exc.detail) if exc.detail else HTTPStatus(exc.status_code).phrase
    return _page(request, exc.status_code, message)


def _crash(request: Request, exc: Exception) -> Response:
    # The detail stays on the server: a crash message may hold data the person must not see.
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return _page(request, 500, "openbill could not show this page; the error is logged")


Handler = Callable[[Request, Exception], Any]


def _around(original: Handler | None, for_desk: Handler) -> Handler:
    async def handler(request: Request, exc: Exception) -> Any:
        if is_desk(request.url.path) or original is None:
            return for_desk(request, exc)
        result = original(request, exc)
        return await result if inspect.isawaitable(result) else result

    return handler


def install(app: FastAPI) -> None:
    """Put the desk's handlers in front of the API's (problems.install, already called)."""
    for exc_class, for_desk in (
        (Rejection, _rejection),
        (RequestValidationError, _invalid),
        (StarletteHTTPException, _http),
        (Exception, _crash),
    ):
        app.add_exception_handler(
            exc_class, _around(app.exception_handlers.get(exc_class), for_desk)
        )
