"""Read queries behind the receivables metrics (DSO, CEI, days to pay): SQLAlchemy Core, the
same statements on SQLite and PostgreSQL, over the connection of one unit of work (read-only,
never commits).

Where the figures come from:

- receivables on a date: the receivable (1100) postings dated on or before it, per currency;
  "current" ones belong to documents not yet past due on that date (due date on or after it)
  and to credit notes, as in the aging report;
- credit sales: the totals of the invoices (positive) and credit notes (negative) issued, per
  currency and document date (what their journal entries post to the receivable that day);
- settled invoices: issued invoices whose allocations (payments and credit notes) and
  write-offs dated up to the end of the period add up to their total, and whose last such
  settlement falls in the period.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import case, func, literal, or_, select, union_all
from sqlalchemy.engine import Connection, Row

from openbill.adapters.sql import tables as t
from openbill.adapters.sql.repositories import (
    reversed_payment,
    reversed_write_off,
    small_difference,
)
from openbill.domain.invoice import DocumentKind
from openbill.domain.ledger import Account

__all__ = ["MetricsQueries"]

# Rows fetched at a time when streaming the settled invoices (a server-side cursor on
# PostgreSQL), so a long period does not hold every row in memory at once.
STREAM_ROWS = 10_000
_ISSUING_KINDS = ("invoice", "credit_note")


class MetricsQueries:
    """Metric reads over the connection of one unit of work."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def receivables(
        self, entity_id: int, start: date, end: date, customer_id: int | None = None
    ) -> dict[str, tuple[int, int, int]]:
        """{currency: (open before `start`, open at the end of `end`, of which current)}, in
        one pass over the receivable postings."""
        e, j, d = t.journal_entries.c, t.journal_lines.c, t.documents.c
        current = or_(d.kind == DocumentKind.CREDIT_NOTE.value, d.due_date >= end)
        stmt = (
            select(
                j.currency,
                func.sum(case((e.entry_date < start, j.amount_minor), else_=0)),
                func.sum(j.amount_minor),
                func.sum(case((current, j.amount_minor), else_=0)),
            )
            .join(t.journal_entries, e.id == j.entry_id)
            .outerjoin(t.documents, d.id == j.document_id)
            .where(
                e.entity_id == entity_id,
                j.account == Account.RECEIVABLE.value,
                e.entry_date <= end,
            )
            .group_by(j.currency)
        )
        if customer_id is not None:
            stmt = stmt.where(j.customer_id == customer_id)
        return {
            str(cur): (int(before), int(total), int(now))
            for cur, before, total, now in self.conn.execute(stmt)
        }

    def credit_sales_by_day(
        self, entity_id: int, start: date, end: date, customer_id: int | None = None
    ) -> list[tuple[str, date, int]]:
        """(currency, day, invoices less credit notes issued that day) for start..end.

        Read from the issued documents' totals rather than their journal entries: each posts
        its total to the receivable on its document date (and `verify` checks that it did), and
        the documents table answers without a join."""
        d = t.documents.c
        signed = case((d.kind == DocumentKind.INVOICE.value, d.total_minor), else_=-d.total_minor)
        stmt = (
            select(d.currency, d.document_date, func.sum(signed))
            .where(
                d.entity_id == entity_id,
                d.status == "issued",
                d.kind.in_(_ISSUING_KINDS),
                d.document_date >= start,
                d.document_date <= end,
            )
            .group_by(d.currency, d.document_date)
            .order_by(d.currency, d.document_date)
        )
        if customer_id is not None:
            stmt = stmt.where(d.customer_id == customer_id)
        return [(str(cur), day, int(total)) for cur, day, total in self.conn.execute(stmt)]

    def settled_invoices(
        self, entity_id: int, start: date, end: date, customer_id: int | None = None
    ) -> Iterable[Row[Any]]:
        """Invoices fully settled by the end of `end` whose last settlement is dated start..end:
        number, customer code and name, currency, document and due date, `settled_on`, and
        what payments (`paid_minor`), credit notes (`credited_minor`) and write-offs
        (`written_off_minor`) settled. Streamed; iterate inside the unit of work."""
        a, w, d, c = t.allocations.c, t.write_offs.c, t.documents.c, t.customers.c
        allocated = select(
            a.invoice_id.label("invoice_id"),
            a.allocated_on.label("settled_on"),
            case((a.payment_id.is_not(None), a.amount_minor), else_=0).label("paid"),
            case((a.credit_note_id.is_not(None), a.amount_minor), else_=0).label("credited"),
            literal(0).label("written_off"),
        ).where(
            a.entity_id == entity_id,
            a.allocated_on <= end,
            # A payment that bounced paid nothing: its invoices were reopened.
            ~reversed_payment(a.payment_id),
        )
        small = small_difference(w.id)  # a small payment difference is part of the payment
        written = select(
            w.invoice_id,
            w.written_off_on,
            case((small, w.amount_minor), else_=0),
            literal(0),
            case((small, 0), else_=w.amount_minor),
        ).where(w.entity_id == entity_id, w.written_off_on <= end, ~reversed_write_off(w.id))
        if customer_id is not None:
            allocated = allocated.where(a.customer_id == customer_id)
            written = written.where(
                w.invoice_id.in_(select(d.id).where(d.customer_id == customer_id))
            )
        moves = union_all(allocated, written).subquery("moves")
        m = moves.c
        settled = (
            select(
                m.invoice_id,
                func.max(m.settled_on).label("settled_on"),
                func.sum(m.paid).label("paid_minor"),
                func.sum(m.credited).label("credited_minor"),
                func.sum(m.written_off).label("written_off_minor"),
            )
            .group_by(m.invoice_id)
            .having(func.max(m.settled_on) >= start)
            .subquery("settled")
        )
        s = settled.c
        stmt = (
            select(
                d.number,
                c.code.label("customer_code"),
                c.name.label("customer_name"),
                d.currency,
                d.document_date,
                d.due_date,
                s.settled_on,
                s.paid_minor,
                s.credited_minor,
                s.written_off_minor,
            )
            .join(settled, s.invoice_id == d.id)
            .join(t.customers, c.id == d.customer_id)
            .where(
                d.entity_id == entity_id,
                d.kind == DocumentKind.INVOICE.value,
                d.status == "issued",
                d.total_minor > 0,
                s.paid_minor + s.credited_minor + s.written_off_minor == d.total_minor,
            )
            .order_by(d.id)
            .execution_options(yield_per=STREAM_ROWS)
        )
        if self.conn.dialect.name == "postgresql":
            # A server-side cursor is planned for its first tenth of rows by default, which
            # picks nested loops here and takes ten times longer; every row is wanted.
            self.conn.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1.0")
        return self.conn.execute(stmt)
