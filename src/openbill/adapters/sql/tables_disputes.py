"""Tables of disputes and inquiries (issue #4), migration 0008.

A case (`dispute_cases`) is on an issued invoice, or on one line of it (`line_no`). Its status,
owner, due date and amount change over its life; every change, note and attachment reference
is a row of `dispute_events`, so `openbill disputes show` prints the whole timeline. A closed
case has exactly one `dispute_resolutions` row: the credit note, or the credit note and the
corrected invoice of a re-bill (the link between the two documents, readable from either
side), or the explanation of a rejection and the outbox message that carries it to the
customer. Events and resolutions are append-only: triggers of migration 0008 refuse UPDATE and
DELETE.

    open <-> waiting_on_customer <-> waiting_on_internal     (any of them: active)
    active -> resolved (credit note or re-bill) | rejected (explanation)   (closed for good)
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from openbill.adapters.sql.tables import Stamp, metadata

__all__ = ["dispute_cases", "dispute_events", "dispute_resolutions"]

dispute_cases = Table(
    "dispute_cases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("case_no", String(16), nullable=False),
    Column("document_id", ForeignKey("documents.id"), nullable=False, index=True),
    Column("line_no", Integer),  # None: the case is on the whole invoice
    Column("reason", String(24), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("status", String(24), nullable=False),
    Column("owner", String(100), nullable=False, default=""),
    Column("due_on", Date),
    Column("opened_on", Date, nullable=False),
    Column("closed_on", Date),
    Column("resolution", String(16), nullable=False, default=""),
    # What the resolution took off the customer's debt (credit note total; for a re-bill the
    # credit note less the corrected invoice; 0 for a rejection). None while active.
    Column("adjusted_minor", BigInteger),
    Column("opened_by", String(100), nullable=False),
    Column("created_at", Stamp, nullable=False),
    Column("updated_at", Stamp, nullable=False),
    UniqueConstraint("entity_id", "seq"),
    UniqueConstraint("entity_id", "case_no"),
)
Index("ix_dispute_cases_entity_status", dispute_cases.c.entity_id, dispute_cases.c.status)

dispute_events = Table(
    "dispute_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", ForeignKey("dispute_cases.id"), nullable=False, index=True),
    # opened, status, owner, due_date, amount, note, attachment, resolved, rejected
    Column("kind", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    Column("reference", String(500), nullable=False, default=""),  # attachments only
    Column("actor", String(100), nullable=False),
    Column("occurred_at", Stamp, nullable=False),
)

dispute_resolutions = Table(
    "dispute_resolutions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", ForeignKey("dispute_cases.id"), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # credit_note, rebill, rejected
    Column("credit_note_id", ForeignKey("documents.id"), index=True),
    Column("rebill_invoice_id", ForeignKey("documents.id"), index=True),
    Column("explanation", Text, nullable=False, default=""),
    # The e-mail that carries a rejection's explanation, when one was queued.
    Column("outbox_message_id", ForeignKey("outbox_messages.id")),
    Column("resolved_on", Date, nullable=False),
    Column("resolved_by", String(100), nullable=False),
    Column("created_at", Stamp, nullable=False),
)
