"""The pages' templates (Jinja2, autoescaped) and how a page becomes a response."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from openbill.interfaces.web import fmt
from openbill.interfaces.web.actions import FLASH_COOKIE, form_key

__all__ = ["TEMPLATES_DIR", "STATIC_DIR", "environment", "html"]

TEMPLATES_DIR = Path(__file__).with_name("templates")
STATIC_DIR = Path(__file__).with_name("static")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,  # a misspelt name fails the page (and its test)
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        amount=fmt.amount,
        money=fmt.money,
        number=fmt.number,
        price=fmt.price,
        day=fmt.day,
        stamp=fmt.stamp,
        metric=fmt.metric,
        seg=fmt.segment,
        label=fmt.label,
        domid=fmt.dom_id,
    )
    # A fresh key for each form that records money or issues a document (actions.form_key).
    env.globals["new_key"] = form_key
    return env


_ENV: Environment | None = None


def environment() -> Environment:
    """The one template environment (made on first use, not at import time)."""
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    return _ENV


def html(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render `template` with `context`; `request` and `desk` (None for the log-in page and
    errors before a log-in) are always there."""
    values = {"request": request, "desk": None, "nav": "", "errors": {}, **context}
    body = environment().get_template(template).render(values)
    response = HTMLResponse(body, status_code=status, headers=dict(headers or {}))
    if not template.startswith("_") and request.cookies.get(FLASH_COOKIE):
        # A whole page shows the last action's message (base.html): once, then it is gone.
        response.delete_cookie(FLASH_COOKIE, path="/desk")
    return response
