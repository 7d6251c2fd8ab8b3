"""The routers of integration: outgoing webhooks (endpoints, deliveries)."""

from __future__ import annotations

from fastapi import APIRouter

from openbill.interfaces.api.routes import webhooks

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (webhooks.router,)
