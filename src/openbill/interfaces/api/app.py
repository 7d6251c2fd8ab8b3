"""The API application: FastAPI with every /v1 route, problem+json errors and the OpenAPI 3.1
schema at /v1/openapi.json (interactive documentation at /v1/docs)."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import version

from fastapi import FastAPI
from fastapi.routing import APIRoute

from openbill.bootstrap import Book
from openbill.interfaces.api import inputs, openapi, problems
from openbill.interfaces.api.routes import (
    area_bank,
    area_commercial,
    area_integration,
    area_receivables,
    customers,
    invoices,
    meta,
    payments,
    sessions,
)
from openbill.interfaces.api.security import declare_actions
from openbill.interfaces.web import mount as mount_web

__all__ = ["create_app", "operations", "API_PREFIX", "ROUTERS"]

API_PREFIX = "/v1"
ROUTERS = (
    meta.router,
    sessions.router,
    customers.router,
    invoices.router,
    payments.router,
    *area_commercial.ROUTERS,
    *area_receivables.ROUTERS,
    *area_bank.ROUTERS,
    *area_integration.ROUTERS,
)

_DESCRIPTION = """\
The billing desk of openbill as an API: customers, invoices, payments and more, exact to the
cent (amounts are decimal strings).

* **Authentication**: an API key as `Authorization: Bearer obk_...` (`openbill apikeys
  create`), or the session cookie of the web pages. Each operation names the action it needs
  in `x-openbill-action`; an API key carries the actions it was given as scopes.
* **Errors** are problem details (RFC 9457, `application/problem+json`) naming the field at
  fault.
* **Lists** are pages: pass a page's `next_cursor` back as `cursor` for the next one.
* **Every POST** takes an `Idempotency-Key`: a replay returns the first response, the same key
  with other content gets 422, and one still running gets 409.
* **Changes** (PATCH) need `If-Match` with the ETag you read; a stale one gets 412.
* **Bodies** are at most 64 MB (the server's OPENBILL_MAX_BODY_MB): a larger one gets 413.
* **Text** never holds the NUL character (U+0000): a path, query or body with one gets 422.
"""


def create_app(book: Book) -> FastAPI:
    app = FastAPI(
        title="openbill",
        version=version("openbill"),
        description=_DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.book = book
    problems.install(app)
    app.add_middleware(inputs.RefuseNul)
    for router in ROUTERS:
        declare_actions(router.routes)  # before inclusion, which may copy the routes
        app.include_router(router, prefix=API_PREFIX)
    mount_web(app, book)
    app.add_middleware(inputs.LimitBody)  # the outermost: a body too large is never read
    # The schema with every refusal each operation can give (problem+json), its path
    # parameters, Idempotency-Key and log-in (interfaces/api/openapi.py).
    app.openapi = openapi.documented(app, operations)  # type: ignore[method-assign]
    return app


def operations() -> Iterator[tuple[str, str, APIRoute]]:
    """(method, path, route) of every operation of the API, e.g. ("GET", "/v1/me", ...)."""
    for router in ROUTERS:
        for route in router.routes:
            if isinstance(route, APIRoute):
                for method in sorted(route.methods - {"HEAD"}):
                    yield method, API_PREFIX + route.path, route
