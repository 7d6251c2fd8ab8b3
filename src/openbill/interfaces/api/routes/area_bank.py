"""The routers of the bank and the books: bank accounts, statements, matching and its review
queue, reconciliation, reports (aging, metrics, statements, ledger), verify and the audit trail."""

from __future__ import annotations

from fastapi import APIRouter

from openbill.interfaces.api.routes import audit, bank, reports

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (bank.upload_router, bank.router, reports.router, audit.router)
