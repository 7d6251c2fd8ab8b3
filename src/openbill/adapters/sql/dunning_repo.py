"""Queries and writes of dunning (issue #4). Like every repository here it never commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from openbill.adapters.sql.repositories import _Repo

__all__ = ["DunningRepo"]


class DunningRepo(_Repo):
    def credit_hold(self, customer_id: int) -> Row[Any] | None:
        """The customer's active credit hold (with its `reason`), or None. While one is active
        no new invoice may be issued to the customer."""
        return None
