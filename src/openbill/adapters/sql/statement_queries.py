"""Read queries behind customer statements: the customer's balance before a date and the
journal entries that moved it in a period, with what each entry came from.

A customer's balance is what they owe less the cash we hold for them: the sum of their
receivable (1100) and customer-credit (2100) postings. Applying a payment or a credit note
moves amounts between those two accounts or between two documents and so changes nothing in
the sum; those entries come back with a zero amount and the use case leaves them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, func, literal, select
from sqlalchemy.engine import Connection, Row

from openbill.adapters.sql import tables as t
from openbill.domain.ledger import Account

__all__ = ["StatementQueries", "for_uow"]

_CUSTOMER_ACCOUNTS = (Account.RECEIVABLE.value, Account.CUSTOMER_CREDIT.value)


class StatementQueries:
    """Statement reads over the connection of one unit of work (read-only, never commits)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def balances_before(self, entity_id: int, customer_id: int, before: date) -> dict[str, int]:
        """{currency: balance} of the customer from every entry dated before `before`."""
        e, j = t.journal_entries.c, t.journal_lines.c
        stmt = (
            select(j.currency, func.sum(j.amount_minor))
            .join(t.journal_entries, e.id == j.entry_id)
            .where(
                e.entity_id == entity_id,
                j.customer_id == customer_id,
                j.account.in_(_CUSTOMER_ACCOUNTS),
                e.entry_date < before,
            )
            .group_by(j.currency)
        )
        return {str(cur): int(total) for cur, total in self.conn.execute(stmt)}

    def movements(
        self, entity_id: int, customer_id: int, start: date, end: date, limit: int
    ) -> Sequence[Row[Any]]:
        """Journal entries dated start..end (inclusive) touching the customer's balance, oldest
        first, each with its net effect (`amount_minor`, per currency) and its source record:
        the document's number, due date and credited invoice; the payment's or refund's method
        and reference; the write-off's reason and invoice number."""
        e, j = t.journal_entries.c, t.journal_lines.c
        d, p, r, w = t.documents.c, t.payments.c, t.refunds.c, t.write_offs.c
        credited = t.documents.alias("credited")
        written = t.documents.alias("written")
        net = (
            select(
                j.entry_id.label("entry_id"),
                j.currency.label("currency"),
                func.sum(j.amount_minor).label("amount_minor"),
            )
            .join(t.journal_entries, e.id == j.entry_id)
            .where(
                e.entity_id == entity_id,
                j.customer_id == customer_id,
                j.account.in_(_CUSTOMER_ACCOUNTS),
                e.entry_date >= start,
                e.entry_date <= end,
            )
            .group_by(j.entry_id, j.currency)
            .subquery("net")
        )

        def source(table: Any, name: str) -> Any:
            return and_(e.source_table == literal(name), e.source_id == table.c.id)

        stmt = (
            select(
                e.id.label("entry_id"),
                e.entry_date,
                e.kind,
                e.source_table,
                e.source_id,
                e.description,
                net.c.currency,
                net.c.amount_minor,
                d.number.label("document_number"),
                d.kind.label("document_kind"),
                d.due_date.label("due_date"),
                d.reason.label("document_reason"),
                credited.c.number.label("credited_number"),
                p.method.label("payment_method"),
                p.reference.label("payment_reference"),
                r.method.label("refund_method"),
                r.reference.label("refund_reference"),
                w.reason.label("write_off_reason"),
                written.c.number.label("write_off_number"),
            )
            .select_from(t.journal_entries)
            .join(net, net.c.entry_id == e.id)
            .outerjoin(t.documents, source(t.documents, "documents"))
            .outerjoin(credited, credited.c.id == d.credited_document_id)
            .outerjoin(t.payments, source(t.payments, "payments"))
            .outerjoin(t.refunds, source(t.refunds, "refunds"))
            .outerjoin(t.write_offs, source(t.write_offs, "write_offs"))
            .outerjoin(written, written.c.id == w.invoice_id)
            .order_by(e.entry_date, e.id, net.c.currency)
            .limit(limit)
        )
        return self.conn.execute(stmt).all()


def for_uow(uow: Any) -> StatementQueries:
    """The statement queries of an entered SQL unit of work (the wiring the use case takes)."""
    return StatementQueries(uow.connection)
