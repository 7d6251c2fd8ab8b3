"""The routers of receivables: payments beyond recording (reverse, refund, write off, apply
credit, import), exchange rates, disputes and dunning."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = ()
