"""Tables of outgoing webhooks (issue #6), migration 0012.

An endpoint belongs to one legal entity and lists the events it subscribes to. An event is
written in the transaction of the change that causes it (a transactional outbox), with its
body frozen as the bytes that will be sent, and one delivery per subscribed endpoint. A
delivery run claims a delivery (status `sending`, `attempts` counted up, committed) before it
sends, and records the attempt and the outcome afterwards. Statuses of a delivery:

    pending -> sending -> delivered
                       -> pending (retry: next_attempt_at moved on by the back-off)
                       -> failed  (the attempts of the round used up, or 410 Gone)
    sending -> pending  when its claim is older than the lease (the run died): sent again
    failed -> pending   only by `openbill webhooks retry`

Events and attempts are append-only. The endpoint's signing secret must stay readable (the
server computes signatures with it): it is the column `secret` (and `previous_secret` during
a rotation), never written to a log, the audit trail or an attempt's error text.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from openbill.adapters.sql.tables import Stamp, metadata

__all__ = ["webhook_endpoints", "webhook_events", "webhook_deliveries", "webhook_attempts"]

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False, index=True),
    Column("url", String(2048), nullable=False),
    Column("description", String(200), nullable=False, default=""),
    Column("events", Text, nullable=False),  # event types, separated by spaces
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", String(300), nullable=False, default=""),
    Column("secret", String(200), nullable=False),  # whsec_...; see the module docstring
    Column("previous_secret", String(200)),  # still signed with until previous_secret_until
    Column("previous_secret_until", Stamp),
    Column("secret_rotated_at", Stamp),
    Column("created_at", Stamp, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("updated_at", Stamp, nullable=False),
)

webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", String(40), nullable=False, unique=True),  # evt_...: Openbill-Delivery
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("event_type", String(40), nullable=False),
    # What makes the event once-only: the record and the cause (an invoice and its due date
    # for invoice.overdue, the allocation that closed it for invoice.paid).
    Column("dedupe_key", String(200), nullable=False),
    Column("subject", String(100), nullable=False),  # the record's number or id, for lists
    Column("payload", Text, nullable=False),  # the exact body sent (UTF-8 JSON)
    Column("created_at", Stamp, nullable=False),
    UniqueConstraint("entity_id", "event_type", "dedupe_key"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", ForeignKey("webhook_events.id"), nullable=False),
    Column("endpoint_id", ForeignKey("webhook_endpoints.id"), nullable=False, index=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),  # every attempt ever; numbers attempt rows
    Column("attempts_left", Integer, nullable=False),  # of this round (reset by a retry)
    Column("next_attempt_at", Stamp),
    Column("claimed_at", Stamp),
    Column("delivered_at", Stamp),
    Column("last_status_code", Integer),
    Column("last_error", String(500), nullable=False, default=""),
    Column("created_at", Stamp, nullable=False),
    UniqueConstraint("event_id", "endpoint_id"),
)
Index(
    "ix_webhook_deliveries_due",
    webhook_deliveries.c.status,
    webhook_deliveries.c.next_attempt_at,
)
Index("ix_webhook_deliveries_entity_id", webhook_deliveries.c.entity_id, webhook_deliveries.c.id)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("delivery_id", ForeignKey("webhook_deliveries.id"), nullable=False),
    Column("attempt_no", Integer, nullable=False),
    Column("started_at", Stamp, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("status_code", Integer),  # None: no answer (timeout, connection refused)
    # delivered | retry | failed | gone | abandoned (the run stopped before it learnt)
    Column("outcome", String(16), nullable=False),
    Column("error", String(500), nullable=False),  # shortened, secrets removed
    UniqueConstraint("delivery_id", "attempt_no"),
)
