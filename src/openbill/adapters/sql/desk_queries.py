"""Read queries behind the web desk (usecases.desk): the dashboard's sums and counts, one
customer's open items, documents and payments, and the search. SQLAlchemy Core, the same
statements on SQLite and PostgreSQL, over the connection of one unit of work (never commits).

Each method is one statement, so that a page costs a known, small number of queries
(docs/web.md). Lists are bounded by the `limit` the caller passes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, case, false, func, or_, select
from sqlalchemy.engine import Connection, Row

from openbill.adapters.sql import tables as t
from openbill.adapters.sql import tables_bank as tb
from openbill.adapters.sql import tables_commercial as tc
from openbill.adapters.sql import tables_disputes as td
from openbill.adapters.sql import tables_fx as tfx
from openbill.adapters.sql import tables_verification as tv
from openbill.adapters.sql.repositories import (
    _open_sum,
    _used_of,
    open_receivables,
    reversed_payment,
)
from openbill.domain.ledger import Account

__all__ = ["DeskQueries"]

_ACTIVE_DISPUTES = ("open", "waiting_on_customer", "waiting_on_internal")
_UNMATCHED = ("new", "review")
APPROVAL_RULE = "approval_required"  # the finding that waits for a second person


def _open_documents(entity_id: int, as_of: date) -> Any:
    """The ids of the entity's documents whose receivable is open (owed) on `as_of`."""
    j, e = t.journal_lines.c, t.journal_entries.c
    return (
        select(j.document_id)
        .join(t.journal_entries, e.id == j.entry_id)
        .where(
            e.entity_id == entity_id,
            j.account == Account.RECEIVABLE.value,
            e.entry_date <= as_of,
            j.document_id.is_not(None),
        )
        .group_by(j.document_id)
        .having(func.sum(j.amount_minor) > 0)
    )


def _documents(open_minor: Any) -> Any:
    d, c = t.documents.c, t.customers.c
    return select(
        d.id,
        d.kind,
        d.status,
        d.number,
        d.document_date,
        d.due_date,
        d.currency,
        d.total_minor,
        d.buyer_reference,
        c.code.label("customer_code"),
        c.name.label("customer_name"),
        open_minor.label("open_minor"),
    ).join(t.customers, c.id == d.customer_id)


class DeskQueries:
    """Desk reads over the connection of one unit of work."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- the dashboard ----------------------------------------------------------------------

    def cash_received(self, entity_id: int, start: date, end: date) -> dict[str, tuple[int, int]]:
        """{currency: (payments, minor units)} received start..end, reversed payments left
        out (their money went back)."""
        p = t.payments.c
        stmt = (
            select(p.currency, func.count(), func.coalesce(func.sum(p.amount_minor), 0))
            .where(
                p.entity_id == entity_id,
                p.received_on >= start,
                p.received_on <= end,
                ~reversed_payment(p.id),
            )
            .group_by(p.currency)
        )
        return {str(cur): (int(n), int(s)) for cur, n, s in self.conn.execute(stmt)}

    def receivables_at(self, entity_id: int, days: Sequence[date]) -> dict[str, list[int]]:
        """{currency: [receivables at the end of each day]}: the receivable (1100) postings
        dated on or before it, in one pass."""
        if not days:
            return {}
        e, j = t.journal_entries.c, t.journal_lines.c
        sums = [
            func.coalesce(func.sum(case((e.entry_date <= day, j.amount_minor), else_=0)), 0)
            for day in days
        ]
        stmt = (
            select(j.currency, *sums)
            .join(t.journal_entries, e.id == j.entry_id)
            .where(
                e.entity_id == entity_id,
                j.account == Account.RECEIVABLE.value,
                e.entry_date <= max(days),
            )
            .group_by(j.currency)
        )
        return {str(row[0]): [int(v) for v in row[1:]] for row in self.conn.execute(stmt)}

    def waiting(self, entity_id: int, today: date) -> dict[str, int]:
        """How much work waits, each a count, in one statement: active dispute cases, bank
        lines not matched (new or for review), drafts, open discrepancies of drafts (the
        approvals left out), drafts waiting for approval, and invoices overdue on `today`
        (receivable open, due before it)."""
        return self._waiting(entity_id, today)

    def waiting_of(self, entity_code: str, today: date) -> dict[str, int]:
        """`waiting` for the legal entity with this code (all 0 when there is none), in one
        statement: the navigation of every page shows these counts."""
        e = t.legal_entities.c
        return self._waiting(select(e.id).where(e.code == entity_code).scalar_subquery(), today)

    def _waiting(self, entity_id: Any, today: date) -> dict[str, int]:
        c, ln, st, d = td.dispute_cases.c, tb.bank_lines.c, tb.bank_line_states.c, t.documents.c
        f = tv.discrepancies.c
        disputes = (
            select(func.count())
            .where(c.entity_id == entity_id, c.status.in_(_ACTIVE_DISPUTES))
            .scalar_subquery()
        )
        bank = (
            select(func.count())
            .select_from(tb.bank_lines.join(tb.bank_line_states, st.line_id == ln.id))
            .where(ln.entity_id == entity_id, st.status.in_(_UNMATCHED))
            .scalar_subquery()
        )
        drafts = (
            select(func.count())
            .where(d.entity_id == entity_id, d.status == "draft")
            .scalar_subquery()
        )
        findings = select(func.count()).select_from(
            tv.discrepancies.join(t.documents, d.id == f.document_id)
        )
        discrepancies = findings.where(
            f.entity_id == entity_id,
            f.status == "open",
            f.rule != APPROVAL_RULE,
            d.status == "draft",
        ).scalar_subquery()
        approvals = (
            select(func.count(func.distinct(f.document_id)))
            .select_from(tv.discrepancies.join(t.documents, d.id == f.document_id))
            .where(
                f.entity_id == entity_id,
                f.status == "open",
                f.rule == APPROVAL_RULE,
                d.status == "draft",
            )
            .scalar_subquery()
        )
        overdue = (
            select(func.count())
            .where(
                d.entity_id == entity_id,
                d.kind == "invoice",
                d.status == "issued",
                d.due_date < today,
                d.id.in_(_open_documents(entity_id, today)),
            )
            .scalar_subquery()
        )
        row = self.conn.execute(
            select(disputes, bank, drafts, discrepancies, approvals, overdue)
        ).one()
        keys = ("disputes", "bank_lines", "drafts", "discrepancies", "approvals", "overdue")
        return {k: int(v) for k, v in zip(keys, row, strict=True)}

    # -- one customer -----------------------------------------------------------------------

    def open_items_of(self, customer_id: int, as_of: date) -> Sequence[Row[Any]]:
        """The customer's documents with receivable open on `as_of`, oldest due first."""
        d = t.documents.c
        docs = open_receivables(t.journal_lines.c.customer_id == customer_id, as_of)
        stmt = (
            _documents(docs.c.open_minor)
            .join(docs, docs.c.document_id == d.id)
            .order_by(d.due_date, d.document_date, d.id)
        )
        return self.conn.execute(stmt).all()

    def balances_of(self, customer_id: int) -> dict[str, tuple[int, int]]:
        """{currency: (receivable, customer credit)} of a customer; credit as a positive
        number (unapplied cash held for them)."""
        j = t.journal_lines.c
        receivable = case((j.account == Account.RECEIVABLE.value, j.amount_minor), else_=0)
        credit = case((j.account == Account.CUSTOMER_CREDIT.value, -j.amount_minor), else_=0)
        stmt = (
            select(j.currency, func.sum(receivable), func.sum(credit))
            .where(
                j.customer_id == customer_id,
                j.account.in_((Account.RECEIVABLE.value, Account.CUSTOMER_CREDIT.value)),
            )
            .group_by(j.currency)
        )
        return {str(cur): (int(r), int(c)) for cur, r, c in self.conn.execute(stmt)}

    def recent_documents(self, customer_id: int, limit: int) -> Sequence[Row[Any]]:
        """The customer's newest documents (drafts included), newest first."""
        d = t.documents.c
        stmt = _documents(_open_sum(d.id)).where(d.customer_id == customer_id)
        return self.conn.execute(stmt.order_by(d.id.desc()).limit(limit)).all()

    def recent_payments(self, customer_id: int, limit: int) -> Sequence[Row[Any]]:
        """The customer's newest payments with what they allocated and their reversal date."""
        p, r = t.payments.c, tfx.payment_reversals.c
        stmt = (
            select(
                p.id,
                p.received_on,
                p.method,
                p.reference,
                p.currency,
                p.amount_minor,
                _used_of(p.id).label("used_minor"),
                r.reversed_on,
            )
            .outerjoin(tfx.payment_reversals, r.payment_id == p.id)
            .where(p.customer_id == customer_id)
            .order_by(p.received_on.desc(), p.id.desc())
            .limit(limit)
        )
        return self.conn.execute(stmt).all()

    # -- one document -----------------------------------------------------------------------

    def credit_notes_of(self, invoice_id: int) -> Sequence[Row[Any]]:
        """The credit notes issued against an invoice (credited_document_id), oldest first."""
        d = t.documents.c
        stmt = select(d.id, d.number, d.document_date, d.total_minor, d.status).where(
            d.credited_document_id == invoice_id
        )
        return self.conn.execute(stmt.order_by(d.id)).all()

    def messages_of(self, document_id: int, limit: int) -> Sequence[Row[Any]]:
        """The e-mails of a document in the outbox (the document itself, reminders ...)."""
        from openbill.adapters.sql import tables_outbox as ob

        o = ob.outbox_messages.c
        stmt = select(
            o.id, o.purpose, o.status, o.mail_to, o.created_at, o.sent_at, o.attempts
        ).where(o.document_id == document_id)
        return self.conn.execute(stmt.order_by(o.id).limit(limit)).all()

    # -- search -----------------------------------------------------------------------------

    def documents_by_number(self, entity_id: int, text: str, limit: int) -> Sequence[Row[Any]]:
        """Issued documents whose number contains `text` (any case), newest first."""
        d = t.documents.c
        stmt = _documents(_open_sum(d.id)).where(
            d.entity_id == entity_id,
            d.number.is_not(None),
            func.lower(d.number).contains(text.lower(), autoescape=True),
        )
        return self.conn.execute(stmt.order_by(d.id.desc()).limit(limit)).all()

    def documents_by_po(self, entity_id: int, text: str, limit: int) -> Sequence[Row[Any]]:
        """Documents of a purchase order: those whose buyer reference (BT-10, where the PO
        number goes) is `text`, and those billing deliveries against lines of the entity's
        purchase order numbered `text` (any case, whole number)."""
        d, b, pl, po = (
            t.documents.c,
            tc.delivery_billings.c,
            tc.po_lines.c,
            tc.purchase_orders.c,
        )
        wanted = text.lower()
        billed = (
            select(b.document_id)
            .join(tc.po_lines, pl.id == b.po_line_id)
            .join(tc.purchase_orders, po.id == pl.po_id)
            .where(po.entity_id == entity_id, func.lower(po.number) == wanted)
        )
        stmt = _documents(_open_sum(d.id)).where(
            d.entity_id == entity_id,
            or_(func.lower(d.buyer_reference) == wanted, d.id.in_(billed)),
        )
        return self.conn.execute(stmt.order_by(d.id.desc()).limit(limit)).all()

    def purchase_orders(self, entity_id: int, text: str, limit: int) -> Sequence[Row[Any]]:
        po, c = tc.purchase_orders.c, t.customers.c
        stmt = (
            select(po.id, po.number, po.currency, po.valid_from, po.valid_to, c.code, c.name)
            .join(t.customers, c.id == po.customer_id)
            .where(po.entity_id == entity_id, func.lower(po.number) == text.lower())
        )
        return self.conn.execute(stmt.order_by(po.id).limit(limit)).all()

    def documents_by_amount(
        self, entity_id: int, amounts: Iterable[tuple[str, int]], limit: int
    ) -> Sequence[Row[Any]]:
        """Issued documents whose total or open amount is one of (currency, minor units)."""
        pairs = list(amounts)
        if not pairs:
            return []
        d = t.documents.c
        open_minor = _open_sum(d.id)
        match = or_(
            false(),
            *(
                and_(d.currency == cur, or_(d.total_minor == minor, open_minor == minor))
                for cur, minor in pairs
            ),
        )
        stmt = _documents(open_minor).where(d.entity_id == entity_id, d.status == "issued", match)
        return self.conn.execute(stmt.order_by(d.id.desc()).limit(limit)).all()

    def payments_by_amount(
        self, entity_id: int, amounts: Iterable[tuple[str, int]], limit: int
    ) -> Sequence[Row[Any]]:
        """Payments of exactly one of (currency, minor units)."""
        pairs = list(amounts)
        if not pairs:
            return []
        p, c = t.payments.c, t.customers.c
        match = or_(
            false(), *(and_(p.currency == cur, p.amount_minor == minor) for cur, minor in pairs)
        )
        stmt = (
            select(
                p.id,
                p.received_on,
                p.reference,
                p.currency,
                p.amount_minor,
                c.code.label("customer_code"),
                c.name.label("customer_name"),
            )
            .join(t.customers, c.id == p.customer_id)
            .where(p.entity_id == entity_id, match)
        )
        return self.conn.execute(stmt.order_by(p.id.desc()).limit(limit)).all()

    def currencies(self, entity_id: int) -> list[str]:
        """The currencies the entity's documents and payments are in."""
        d, p = t.documents.c, t.payments.c
        stmt = (
            select(d.currency)
            .where(d.entity_id == entity_id)
            .union(select(p.currency).where(p.entity_id == entity_id))
        )
        return sorted(str(c) for c in self.conn.execute(stmt).scalars())

    # -- the work queues --------------------------------------------------------------------

    def drafts(
        self, entity_id: int, limit: int, document_id: int | None = None
    ) -> Sequence[Row[Any]]:
        """The entity's drafts (or the one with `document_id`), oldest first, with their open
        findings counted by severity and the approval given (who, for which total)."""
        d, c, f, a = t.documents.c, t.customers.c, tv.discrepancies.c, tv.approvals.c

        def open_findings(severity: str) -> Any:
            return (
                select(func.count())
                .where(f.document_id == d.id, f.status == "open", f.severity == severity)
                .scalar_subquery()
            )

        approval_open = (
            select(func.count())
            .where(f.document_id == d.id, f.status == "open", f.rule == APPROVAL_RULE)
            .scalar_subquery()
        )
        stmt = (
            select(
                d.id,
                d.document_date,
                d.currency,
                d.net_minor,
                d.total_minor,
                d.buyer_reference,
                d.created_at,
                c.code.label("customer_code"),
                c.name.label("customer_name"),
                open_findings("block").label("blocking"),
                open_findings("warn").label("warnings"),
                approval_open.label("approval_open"),
                a.approved_by,
                a.total_minor.label("approved_total_minor"),
            )
            .join(t.customers, c.id == d.customer_id)
            .outerjoin(tv.approvals, a.document_id == d.id)
            .where(d.entity_id == entity_id, d.status == "draft")
            .order_by(d.id)
            .limit(limit)
        )
        if document_id is not None:
            stmt = stmt.where(d.id == document_id)
        return self.conn.execute(stmt).all()

    def open_findings_of(self, document_ids: Sequence[int]) -> Sequence[Row[Any]]:
        """The open findings of some drafts, by draft and in the order they were made."""
        if not document_ids:
            return []
        f = tv.discrepancies.c
        stmt = (
            select(f.id, f.document_id, f.rule, f.severity, f.record, f.field, f.message)
            .where(f.document_id.in_(list(document_ids)), f.status == "open")
            .order_by(f.document_id, f.id)
        )
        return self.conn.execute(stmt).all()

    def draft_creators(self, document_ids: Sequence[int]) -> dict[int, str]:
        """Who prepared each draft (its `invoice.draft_created` audit event)."""
        if not document_ids:
            return {}
        a = t.audit_events.c
        stmt = select(a.record_id, a.actor).where(
            a.record_type == "document",
            a.action == "invoice.draft_created",
            a.record_id.in_([str(i) for i in document_ids]),
        )
        return {int(r): str(actor) for r, actor in self.conn.execute(stmt)}

    def findings(
        self,
        entity_id: int,
        status: str,
        approvals: bool,
        limit: int,
        finding_id: int | None = None,
    ) -> Sequence[Row[Any]]:
        """Findings of draft verification with their draft and customer, oldest first:
        of one status (or any when ""), the approvals (`approvals`) or everything else;
        with `finding_id` that one only."""
        f, d, c = tv.discrepancies.c, t.documents.c, t.customers.c
        stmt = (
            select(
                tv.discrepancies,
                d.number.label("document_number"),
                d.status.label("document_status"),
                d.document_date,
                d.currency,
                d.total_minor,
                c.code.label("customer_code"),
                c.name.label("customer_name"),
            )
            .join(t.documents, d.id == f.document_id)
            .join(t.customers, c.id == d.customer_id)
            .where(f.entity_id == entity_id)
            .where(f.rule == APPROVAL_RULE if approvals else f.rule != APPROVAL_RULE)
        )
        if status:
            stmt = stmt.where(f.status == status)
        if status == "open":
            stmt = stmt.where(d.status == "draft")
        if finding_id is not None:
            stmt = stmt.where(f.id == finding_id)
        return self.conn.execute(stmt.order_by(f.id).limit(limit)).all()

    def decided_lines(self, entity_id: int, limit: int) -> Sequence[Row[Any]]:
        """Bank lines with a decision standing (matched), the latest decision first, with
        who decided and when."""
        ln, st, a, m = tb.bank_lines.c, tb.bank_line_states.c, tb.bank_accounts.c, tb.bank_matches.c
        stmt = (
            select(
                ln.id,
                ln.booking_date,
                ln.amount_minor,
                ln.currency,
                ln.counterparty_name,
                ln.remittance,
                a.name.label("account_name"),
                st.match_id,
                m.action,
                m.automatic,
                m.explanation,
                m.actor,
                m.created_at,
            )
            .join(tb.bank_line_states, st.line_id == ln.id)
            .join(tb.bank_accounts, a.id == ln.bank_account_id)
            .join(tb.bank_matches, m.id == st.match_id)
            .where(ln.entity_id == entity_id, st.status == "matched")
            .order_by(st.match_id.desc())
            .limit(limit)
        )
        return self.conn.execute(stmt).all()

    def payment_uses(self, payment_ids: Sequence[int]) -> dict[int, tuple[int, date | None]]:
        """{payment id: (minor units allocated, reversal date or None)} in one statement:
        what `reports.payment_use` reads payment by payment."""
        if not payment_ids:
            return {}
        p, r = t.payments.c, tfx.payment_reversals.c
        stmt = (
            select(p.id, _used_of(p.id).label("used_minor"), r.reversed_on)
            .outerjoin(tfx.payment_reversals, r.payment_id == p.id)
            .where(p.id.in_(list(payment_ids)))
        )
        return {int(i): (int(used), on) for i, used, on in self.conn.execute(stmt)}

    def overdue_invoices(self, entity_id: int, as_of: date, limit: int) -> Sequence[Row[Any]]:
        """Invoices with receivable open on `as_of` and due before it, the oldest due first,
        with their customer (the postings summed per document first, as the aging does)."""
        d, c = t.documents.c, t.customers.c
        entity = t.journal_entries.c.entity_id == entity_id
        docs = open_receivables(entity, as_of, owed_only=True)
        stmt = (
            select(
                d.id,
                d.number,
                d.document_date,
                d.due_date,
                d.currency,
                d.total_minor,
                c.id.label("customer_id"),
                c.code.label("customer_code"),
                c.name.label("customer_name"),
                c.email.label("customer_email"),
                docs.c.open_minor,
            )
            .join(docs, docs.c.document_id == d.id)
            .join(t.customers, c.id == d.customer_id)
            .where(d.kind == "invoice", d.status == "issued", d.due_date < as_of)
            .order_by(d.due_date, d.number)
            .limit(limit)
        )
        return self.conn.execute(stmt).all()

    def collections_of(
        self, entity_id: int, customer_ids: Sequence[int]
    ) -> tuple[Sequence[Row[Any]], Sequence[Row[Any]]]:
        """The active holds and the open promises to pay of some customers."""
        from openbill.adapters.sql import tables_dunning as tdn

        if not customer_ids:
            return [], []
        h, p = tdn.dunning_holds.c, tdn.dunning_promises.c
        wanted = list(customer_ids)
        holds = self.conn.execute(
            select(tdn.dunning_holds)
            .where(h.entity_id == entity_id, h.released_at.is_(None), h.customer_id.in_(wanted))
            .order_by(h.id)
        ).all()
        promises = self.conn.execute(
            select(tdn.dunning_promises)
            .where(p.entity_id == entity_id, p.status == "open", p.customer_id.in_(wanted))
            .order_by(p.id.desc())
        ).all()
        return holds, promises
