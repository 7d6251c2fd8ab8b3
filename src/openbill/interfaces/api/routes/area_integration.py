"""The routers of integration: outgoing webhooks (endpoints, deliveries)."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = ()
