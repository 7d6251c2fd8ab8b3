"""Tables of the e-mail outbox (issue #3), migration 0004.

A message is queued in the transaction of the work that asks for it, at most once per
(document, purpose), with its attachments frozen as bytes. A delivery run claims one message at
a time (status `sending`, committed before the SMTP conversation starts), then records the
attempt and the outcome. Statuses:

    queued  -> sending -> sent
                       -> queued (transient refusal, next_attempt_at moved on by the back-off)
                       -> failed (permanent refusal, or the attempts of this round used up)
                       -> unknown (the outcome was never learnt: a crash or a lost connection
                                   after the message data went out; a person decides)
    failed | unknown -> queued   only by `openbill outbox retry`

No password or other SMTP secret is stored in any of these tables.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from openbill.adapters.sql.tables import Stamp, metadata

__all__ = ["mail_preferences", "outbox_messages", "outbox_attachments", "outbox_attempts"]

mail_preferences = Table(
    "mail_preferences",
    metadata,
    Column("customer_id", ForeignKey("customers.id"), primary_key=True),
    # Replaces the customer's own e-mail address for documents; comma-separated, may be empty.
    Column("email_to", String(300), nullable=False, default=""),
    # Which e-invoice XML to attach beside the PDF: none, ubl or cii.
    Column("attach_xml", String(8), nullable=False),
    Column("updated_at", Stamp, nullable=False),
)

outbox_messages = Table(
    "outbox_messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("document_id", ForeignKey("documents.id"), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("message_id", String(250), nullable=False, unique=True),
    Column("mail_from", String(200), nullable=False),
    Column("mail_to", String(300), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("attempts", Integer, nullable=False),  # every attempt ever, numbers attempt rows
    Column("attempts_left", Integer, nullable=False),  # of this round (reset by a retry)
    Column("next_attempt_at", Stamp),
    Column("claimed_at", Stamp),
    Column("sent_at", Stamp),
    Column("last_error", Text, nullable=False, default=""),
    Column("created_at", Stamp, nullable=False),
    UniqueConstraint("document_id", "purpose"),
)
Index("ix_outbox_messages_due", outbox_messages.c.status, outbox_messages.c.next_attempt_at)

outbox_attachments = Table(
    "outbox_attachments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", ForeignKey("outbox_messages.id"), nullable=False, index=True),
    Column("filename", String(200), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("content", LargeBinary, nullable=False),
)

outbox_attempts = Table(
    "outbox_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", ForeignKey("outbox_messages.id"), nullable=False),
    Column("attempt_no", Integer, nullable=False),
    Column("started_at", Stamp, nullable=False),
    Column("finished_at", Stamp, nullable=False),
    # sent | transient | permanent | unknown
    Column("outcome", String(16), nullable=False),
    Column("smtp_code", Integer),
    Column("detail", Text, nullable=False),  # the SMTP reply or the error, secrets removed
    UniqueConstraint("message_id", "attempt_no"),
)
