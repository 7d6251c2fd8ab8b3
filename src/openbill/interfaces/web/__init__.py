"""The web pages of the billing desk (server-rendered, Jinja2 + htmx), served beside the API.

`mount(app, book)` adds them to the application `openbill serve` runs: the pages under
/desk (guard: `guard.page(action)` on the API's own `security.allowed`), their static files
under /desk/static (hand-written CSS, a small script for the keyboard, vendored htmx), the
security headers and the bound on form bodies (`middleware`), and HTML error pages in front
of the API's problem+json for requests under /desk (`errors`). See docs/web.md.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from openbill.bootstrap import Book

__all__ = ["mount", "DESK"]

DESK = "/desk"


def mount(app: FastAPI, book: Book) -> None:
    """Add the web pages to the application `openbill serve` runs."""
    from openbill.interfaces.web import (
        errors,
        pages,
        queues_bank,
        queues_billing,
        queues_receivables,
    )
    from openbill.interfaces.web.middleware import DeskMiddleware
    from openbill.interfaces.web.render import STATIC_DIR

    app.add_middleware(DeskMiddleware)
    app.mount(f"{DESK}/static", StaticFiles(directory=STATIC_DIR), name="desk-static")
    app.include_router(pages.router)
    for queues in (queues_billing, queues_receivables, queues_bank):
        app.include_router(queues.router)
    errors.install(app)

    @app.get("/", include_in_schema=False)
    def front_door() -> RedirectResponse:
        """People who open the server's address land on the desk."""
        return RedirectResponse(DESK, status_code=307)
