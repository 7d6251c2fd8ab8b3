"""The routers of invoicing's preparation and documents: catalog, contracts, purchase orders,
deliveries, drafts and verification, and the life of an issued document (void, export, send)."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = ()
