"""Queries and writes of dispute cases (issue #4). Like every repository here it never commits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.sql import Select

from openbill.adapters.sql import tables as t
from openbill.adapters.sql import tables_disputes as d
from openbill.adapters.sql.repositories import _Repo

__all__ = ["DisputesRepo"]

# Statuses of a case that is not closed: dunning pauses for its amount.
_ACTIVE = ("open", "waiting_on_customer", "waiting_on_internal")
# Document ids per IN (...) list: far below SQLite's limit on bound parameters.
_IDS_PER_QUERY = 900


class DisputesRepo(_Repo):
    def disputed_by_document(
        self, entity_id: int, document_ids: Iterable[int] | None = None
    ) -> dict[int, int]:
        """The amount (minor units) in dispute per invoice, over the cases that are not closed
        (open, waiting on customer, waiting on internal team). Dunning pauses for these."""
        c = d.dispute_cases.c
        base = (
            select(c.document_id, func.sum(c.amount_minor))
            .where(c.entity_id == entity_id, c.status.in_(_ACTIVE))
            .group_by(c.document_id)
        )
        if document_ids is None:
            return {int(k): int(v) for k, v in self.conn.execute(base)}
        ids = sorted(set(document_ids))
        out: dict[int, int] = {}
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            for k, v in self.conn.execute(base.where(c.document_id.in_(chunk))):
                out[int(k)] = int(v)
        return out

    def disputed_on(
        self, document_id: int, line_no: int | None = None, exclude_case_id: int | None = None
    ) -> int:
        """In dispute on an invoice (line_no None: all its active cases) or on one of its lines
        (the active cases on that line), leaving out one case (the one being changed)."""
        c = d.dispute_cases.c
        stmt = select(func.coalesce(func.sum(c.amount_minor), 0)).where(
            c.document_id == document_id, c.status.in_(_ACTIVE)
        )
        if line_no is not None:
            stmt = stmt.where(c.line_no == line_no)
        if exclude_case_id is not None:
            stmt = stmt.where(c.id != exclude_case_id)
        return int(self.conn.execute(stmt).scalar_one())

    def next_seq(self, entity_id: int) -> int:
        """The next case sequence number of an entity. Callers take the chain-head lock first
        (it serialises writers on PostgreSQL; SQLite's write lock already does)."""
        c = d.dispute_cases.c
        stmt = select(func.coalesce(func.max(c.seq), 0)).where(c.entity_id == entity_id)
        return int(self.conn.execute(stmt).scalar_one()) + 1

    def add_case(self, values: Mapping[str, Any]) -> int:
        return self._insert(d.dispute_cases, values)

    def update_case(self, case_id: int, values: Mapping[str, Any]) -> None:
        stmt = update(d.dispute_cases).where(d.dispute_cases.c.id == case_id)
        self.conn.execute(stmt, dict(values))

    def case(self, entity_id: int, case_no: str) -> Row[Any] | None:
        c = d.dispute_cases.c
        return self._one(_cases().where(c.entity_id == entity_id, c.case_no == case_no))

    def listing(self, entity_id: int, filters: Mapping[str, Any], limit: int) -> Sequence[Row[Any]]:
        c, doc, cu = d.dispute_cases.c, t.documents.c, t.customers.c
        stmt = _cases().where(c.entity_id == entity_id)
        statuses = filters.get("statuses")
        if statuses:
            stmt = stmt.where(c.status.in_(tuple(statuses)))
        if filters.get("customer"):
            stmt = stmt.where(cu.code == filters["customer"])
        if filters.get("invoice"):
            stmt = stmt.where(doc.number == filters["invoice"])
        if filters.get("owner"):
            stmt = stmt.where(c.owner == filters["owner"])
        if filters.get("reason"):
            stmt = stmt.where(c.reason == filters["reason"])
        # For the API's keyset pages: after a case number (its seq), opened within dates.
        if filters.get("after_seq"):
            stmt = stmt.where(c.seq > filters["after_seq"])
        if filters.get("opened_from"):
            stmt = stmt.where(c.opened_on >= filters["opened_from"])
        if filters.get("opened_to"):
            stmt = stmt.where(c.opened_on <= filters["opened_to"])
        return self.conn.execute(stmt.order_by(c.seq).limit(limit)).all()

    def report_rows(
        self, entity_id: int, date_from: date | None, date_to: date | None, limit: int
    ) -> Sequence[Row[Any]]:
        """The cases opened in [date_from, date_to], with their line's charge code."""
        c = d.dispute_cases.c
        stmt = _cases().where(c.entity_id == entity_id)
        if date_from is not None:
            stmt = stmt.where(c.opened_on >= date_from)
        if date_to is not None:
            stmt = stmt.where(c.opened_on <= date_to)
        return self.conn.execute(stmt.order_by(c.seq).limit(limit)).all()

    def add_event(self, values: Mapping[str, Any]) -> int:
        return self._insert(d.dispute_events, values)

    def events(self, case_id: int, limit: int) -> Sequence[Row[Any]]:
        e = d.dispute_events.c
        stmt = select(d.dispute_events).where(e.case_id == case_id).order_by(e.id).limit(limit)
        return self.conn.execute(stmt).all()

    def event_count(self, case_id: int) -> int:
        e = d.dispute_events.c
        stmt = select(func.count()).select_from(d.dispute_events).where(e.case_id == case_id)
        return int(self.conn.execute(stmt).scalar_one())

    def add_resolution(self, values: Mapping[str, Any]) -> int:
        return int(
            self.conn.execute(
                insert(d.dispute_resolutions).returning(d.dispute_resolutions.c.id), dict(values)
            ).scalar_one()
        )

    def resolution(self, case_id: int) -> Row[Any] | None:
        r = d.dispute_resolutions.c
        return self._one(_resolutions().where(r.case_id == case_id))

    def resolution_of_document(self, document_id: int) -> Row[Any] | None:
        """The resolution that issued a document, as its credit note or its corrected invoice:
        the link between a credit note and the invoice that re-bills it, from either side."""
        r = d.dispute_resolutions.c
        stmt = _resolutions().where(
            (r.credit_note_id == document_id) | (r.rebill_invoice_id == document_id)
        )
        return self._one(stmt)


def _cases() -> Select[Any]:
    """A case with its invoice number, customer and, for a line case, the line's charge code."""
    c, doc, cu = d.dispute_cases.c, t.documents.c, t.customers.c
    line, code = t.document_lines.c, t.charge_codes.c
    return (
        select(
            d.dispute_cases,
            doc.number.label("invoice_number"),
            doc.document_date.label("invoice_date"),
            doc.due_date.label("invoice_due_date"),
            doc.total_minor.label("invoice_total_minor"),
            doc.buyer_reference.label("buyer_reference"),
            cu.code.label("customer_code"),
            cu.name.label("customer_name"),
            code.code.label("charge_code"),
        )
        .join(t.documents, doc.id == c.document_id)
        .join(t.customers, cu.id == doc.customer_id)
        .outerjoin(
            t.document_lines,
            and_(line.document_id == c.document_id, line.line_no == c.line_no),
        )
        .outerjoin(t.charge_codes, code.id == line.charge_code_id)
    )


def _resolutions() -> Select[Any]:
    r, c = d.dispute_resolutions.c, d.dispute_cases.c
    credit_note = t.documents.alias("credit_note")
    rebill = t.documents.alias("rebill")
    return (
        select(
            d.dispute_resolutions,
            c.case_no,
            credit_note.c.number.label("credit_note_number"),
            credit_note.c.total_minor.label("credit_note_total_minor"),
            rebill.c.number.label("rebill_number"),
            rebill.c.total_minor.label("rebill_total_minor"),
        )
        .join(d.dispute_cases, c.id == r.case_id)
        .outerjoin(credit_note, credit_note.c.id == r.credit_note_id)
        .outerjoin(rebill, rebill.c.id == r.rebill_invoice_id)
    )
