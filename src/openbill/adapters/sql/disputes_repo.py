"""Queries and writes of dispute cases (issue #4). Like every repository here it never commits."""

from __future__ import annotations

from collections.abc import Iterable

from openbill.adapters.sql.repositories import _Repo

__all__ = ["DisputesRepo"]


class DisputesRepo(_Repo):
    def disputed_by_document(
        self, entity_id: int, document_ids: Iterable[int] | None = None
    ) -> dict[int, int]:
        """The amount (minor units) in dispute per invoice, over the cases that are not closed
        (open, waiting on customer, waiting on internal team). Dunning pauses for these."""
        return {}
