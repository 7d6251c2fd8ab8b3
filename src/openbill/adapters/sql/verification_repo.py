"""Queries and writes of draft verification: findings, approvals, settings, history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row

from openbill.adapters.sql import tables as t
from openbill.adapters.sql import tables_verification as v
from openbill.adapters.sql.repositories import _Repo

__all__ = ["VerificationRepo"]


class VerificationRepo(_Repo):
    def settings(self, entity_id: int) -> Row[Any] | None:
        s = v.verification_settings.c
        return self._one(select(v.verification_settings).where(s.entity_id == entity_id))

    def save_settings(self, entity_id: int, values: Mapping[str, Any]) -> None:
        s = v.verification_settings.c
        if self.settings(entity_id) is None:
            self.conn.execute(insert(v.verification_settings), {**values, "entity_id": entity_id})
        else:
            stmt = update(v.verification_settings).where(s.entity_id == entity_id)
            self.conn.execute(stmt, dict(values))

    def findings(self, document_id: int) -> Sequence[Row[Any]]:
        d = v.discrepancies.c
        stmt = select(v.discrepancies).where(d.document_id == document_id).order_by(d.id)
        return self.conn.execute(stmt).all()

    def finding(self, finding_id: int) -> Row[Any] | None:
        return self._one(select(v.discrepancies).where(v.discrepancies.c.id == finding_id))

    def add_finding(self, values: Mapping[str, Any]) -> int:
        return self._insert(v.discrepancies, values)

    def update_finding(self, finding_id: int, values: Mapping[str, Any]) -> None:
        stmt = update(v.discrepancies).where(v.discrepancies.c.id == finding_id)
        self.conn.execute(stmt, dict(values))

    def queue(self, entity_id: int, status: str, limit: int) -> Sequence[Row[Any]]:
        d, doc, c = v.discrepancies.c, t.documents.c, t.customers.c
        stmt = (
            select(
                v.discrepancies,
                doc.number.label("document_number"),
                doc.status.label("document_status"),
                c.code.label("customer_code"),
            )
            .join(t.documents, doc.id == d.document_id)
            .join(t.customers, c.id == doc.customer_id)
            .where(d.entity_id == entity_id)
            .order_by(d.id)
            .limit(limit)
        )
        if status:
            stmt = stmt.where(d.status == status)
        return self.conn.execute(stmt).all()

    def approval(self, document_id: int) -> Row[Any] | None:
        return self._one(select(v.approvals).where(v.approvals.c.document_id == document_id))

    def add_approval(self, values: Mapping[str, Any]) -> None:
        self.conn.execute(
            v.approvals.delete().where(v.approvals.c.document_id == values["document_id"])
        )
        self.conn.execute(insert(v.approvals), dict(values))

    def history(
        self, customer_id: int, currency: str, before: date, limit: int
    ) -> Sequence[Row[Any]]:
        """The customer's latest issued invoices in a currency, newest first."""
        d = t.documents.c
        stmt = (
            select(d.number, d.document_date, d.total_minor, d.buyer_reference)
            .where(
                d.customer_id == customer_id,
                d.currency == currency,
                d.kind == "invoice",
                d.status == "issued",
                d.document_date <= before,
            )
            .order_by(d.document_date.desc(), d.id.desc())
            .limit(limit)
        )
        return self.conn.execute(stmt).all()

    def draft_creator(self, document_id: int) -> str | None:
        self.raw.flush_deferred()  # a draft created in this transaction
        a = t.audit_events.c
        stmt = select(a.actor).where(
            a.record_type == "document",
            a.record_id == str(document_id),
            a.action == "invoice.draft_created",
        )
        return self.conn.execute(stmt.limit(1)).scalar()

    def queue_page(
        self, entity_id: int, filters: Mapping[str, Any], after_id: int, limit: int
    ) -> Sequence[Row[Any]]:
        """The discrepancy queue in the order findings were made, after `after_id` (keyset
        pagination). Filters: status, customer_id, document_id, id."""
        d, doc, c = v.discrepancies.c, t.documents.c, t.customers.c
        stmt = (
            select(
                v.discrepancies,
                doc.number.label("document_number"),
                doc.status.label("document_status"),
                c.code.label("customer_code"),
            )
            .join(t.documents, doc.id == d.document_id)
            .join(t.customers, c.id == doc.customer_id)
            .where(d.entity_id == entity_id, d.id > after_id)
        )
        for key, column in (("status", d.status), ("customer_id", doc.customer_id)):
            if filters.get(key):
                stmt = stmt.where(column == filters[key])
        for key, column in (("document_id", d.document_id), ("id", d.id)):
            if filters.get(key) is not None:
                stmt = stmt.where(column == filters[key])
        return self.conn.execute(stmt.order_by(d.id).limit(limit)).all()
