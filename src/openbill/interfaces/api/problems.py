"""Errors as problem details (RFC 9457, `application/problem+json`).

Every refusal the API gives has the same shape: `type` (a URN naming the problem), `title`,
`status`, `detail` (the reason a billing specialist can act on), `instance` (the request path),
and openbill's members `code`, `record`, `field` and, for a request that failed validation,
`errors` (each with the field at fault and the reason).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from openbill.domain.rejections import Rejection

__all__ = ["PROBLEM_JSON", "Problem", "FieldError", "problem", "install", "STATUS_OF"]

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("openbill.api")

# The HTTP status of each named refusal; a code not named here is 422.
STATUS_OF: Mapping[str, int] = {
    "not_found": 404,
    "invalid_state": 409,
    "idempotency_conflict": 422,
    "unauthenticated": 401,
    "two_factor_required": 401,
    "forbidden": 403,
    "throttled": 429,
    "precondition_failed": 412,
    "precondition_required": 428,
    "in_flight": 409,
}


class FieldError(BaseModel):
    field: str
    reason: str


class Problem(BaseModel):
    """A problem detail (RFC 9457)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str = ""
    code: str
    record: str = ""
    field: str = ""
    errors: list[FieldError] = []


def problem(
    request: Request | None,
    status: int,
    code: str,
    detail: str,
    *,
    record: str = "",
    field: str = "",
    errors: Sequence[Mapping[str, str]] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:openbill:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path if request is not None else "",
        "code": code,
        "record": record,
        "field": field,
        "errors": [dict(e) for e in errors],
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _rejection(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Rejection)
    status = STATUS_OF.get(exc.code, 422)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="openbill"'
    retry = getattr(exc, "retry_after_s", None)
    if retry:
        headers["Retry-After"] = str(int(retry))
    return problem(
        request,
        status,
        exc.code,
        exc.reason,
        record=exc.record,
        field=exc.field,
        # A refusal of many parts (a bulk import's bad rows) names each one.
        errors=getattr(exc, "problem_errors", ()),
        headers=headers or None,
    )


def _location(loc: Sequence[Any]) -> str:
    # ("body", "lines", 0, "quantity") -> "lines[0].quantity"; query and path keep their name.
    parts = list(loc[1:]) if loc and loc[0] in ("body", "query", "path", "header") else list(loc)
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or (str(loc[0]) if loc else "")


def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if any(tuple(e.get("loc", ()))[:1] == ("path",) for e in exc.errors()):
        # GET /payments/imports reaches GET /payments/{payment_id} ("imports" is no number),
        # but the path names a resource of its own that takes no GET: 405, not a bad number.
        allowed = _allowed_methods(request)
        if allowed and request.method not in allowed.split(", "):
            return _not_allowed(request, allowed)
    errors = [
        {"field": _location(e.get("loc", ())), "reason": e.get("msg", "")} for e in exc.errors()
    ]
    first = errors[0] if errors else {"field": "", "reason": "invalid request"}
    return problem(
        request,
        422,
        "invalid_input",
        f"{first['field']}: {first['reason']}" if first["field"] else first["reason"],
        field=first["field"],
        errors=errors,
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_UNPARSED_BODY = "There was an error parsing the body"  # FastAPI's 400, fastapi/routing.py


def _allowed_methods(request: Request) -> str:
    """The methods of the resource the path names. Starlette's 405 names only those of the
    first route that matches the path (GET where PATCH is there too), and a path such as
    /deliveries/import also matches /deliveries/{delivery_id}: an API path takes the methods
    its schema lists for it, the template with the fewest parameters (the literal one) where
    several match; any other path, every method some route answers on it."""
    path = request.scope.get("path", "")
    templates = [
        (template.count("{"), item)
        for template, item in request.app.openapi().get("paths", {}).items()
        if _template(template).fullmatch(path)
    ]
    if templates:
        item = min(templates, key=lambda found: found[0])[1]
        return ", ".join(method for method in _METHODS if method.lower() in item)
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


@functools.lru_cache(maxsize=1024)
def _template(template: str) -> re.Pattern[str]:
    """/v1/customers/{code} as a pattern of the paths it names."""
    parts = re.split(r"(\{[^}/]+\})", template)
    return re.compile(
        "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
    )


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSED_BODY:
        # Bytes that are not UTF-8 text or a form: refused like any other body that is not
        # what the operation takes (FastAPI gives 422 for text that is not JSON).
        reason = "the body could not be read: send JSON in UTF-8 (Content-Type: application/json)"
        errors = [{"field": "body", "reason": reason}]
        return problem(request, 422, "invalid_input", reason, field="body", errors=errors)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    detail = str(exc.detail) if exc.detail else HTTPStatus(exc.status_code).phrase
    headers = dict(exc.headers or {})
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"there is no {request.url.path} here; the API is described at /v1/openapi.json"
    if exc.status_code == 405:
        return _not_allowed(request, _allowed_methods(request) or headers.get("Allow", ""))
    return problem(request, exc.status_code, code, detail, headers=headers or None)


def _not_allowed(request: Request, allowed: str) -> JSONResponse:
    detail = f"{request.method} is not an operation of {request.url.path}; it takes {allowed}"
    return problem(request, 405, "method_not_allowed", detail, headers={"Allow": allowed})


def _crash(request: Request, exc: Exception) -> JSONResponse:
    # The detail stays on the server: a crash message may hold data the caller must not see.
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(
        request, 500, "internal_error", "openbill could not complete this request; it is logged"
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(Rejection, _rejection)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _crash)
