"""The routers of receivables: payments beyond recording (show, allocate, reverse, the payments
file import), refunds, customer credit, write-offs, the small-difference tolerance, exchange
rates, disputes and dunning. (payments.router itself, list and record, is in app.ROUTERS.)"""

from __future__ import annotations

from fastapi import APIRouter

from openbill.interfaces.api.routes import disputes, dunning, fx, payments, receivables

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    payments.imports_router,
    receivables.router,
    fx.router,
    fx.imports_router,
    disputes.router,
    dunning.router,
)
