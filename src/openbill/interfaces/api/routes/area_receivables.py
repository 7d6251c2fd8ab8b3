"""The routers of receivables: payments beyond recording (reverse, refund, write off, apply
credit), disputes, dunning, bank statements and matching, reports and verify."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = ()
