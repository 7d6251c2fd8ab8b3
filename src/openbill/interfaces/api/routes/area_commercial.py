"""The routers of invoicing's preparation and documents: catalog, contracts, purchase orders,
deliveries, drafts and verification, and the life of an issued document (void, export, send)."""

from __future__ import annotations

from fastapi import APIRouter

from openbill.interfaces.api.routes import (
    catalog,
    contracts,
    deliveries,
    documents,
    drafts,
    orders,
    outbox,
)

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    catalog.entities_router,
    catalog.router,
    contracts.router,
    orders.router,
    deliveries.router,
    drafts.router,
    documents.router,
    outbox.router,
)
