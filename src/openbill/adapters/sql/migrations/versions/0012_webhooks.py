"""Outgoing webhooks: endpoints, the events to send, deliveries and their attempts.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from openbill.adapters.sql.triggers import append_only_statements

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_APPEND_ONLY = ("webhook_events", "webhook_attempts")
_ADVICE = "events and delivery attempts are a record of what was sent"


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _stamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, length: int | None = None, nullable: bool = False) -> sa.Column:
    kind = sa.String(length=length) if length else sa.Text()
    return sa.Column(name, kind, nullable=nullable)


def _int(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        _int("id"),
        _int("entity_id"),
        _text("url", 2048),
        _text("description", 200),
        _text("events"),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        _text("disabled_reason", 300),
        _text("secret", 200),
        _text("previous_secret", 200, nullable=True),
        _stamp("previous_secret_until", nullable=True),
        _stamp("secret_rotated_at", nullable=True),
        _stamp("created_at"),
        _text("created_by", 100),
        _stamp("updated_at"),
        _fk("webhook_endpoints", "entity_id", "legal_entities"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_index(
        op.f("ix_webhook_endpoints_entity_id"), "webhook_endpoints", ["entity_id"], unique=False
    )
    op.create_table(
        "webhook_events",
        _int("id"),
        _text("event_id", 40),
        _int("entity_id"),
        _text("event_type", 40),
        _text("dedupe_key", 200),
        _text("subject", 100),
        _text("payload"),
        _stamp("created_at"),
        _fk("webhook_events", "entity_id", "legal_entities"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_webhook_events_event_id")),
        sa.UniqueConstraint(
            "entity_id",
            "event_type",
            "dedupe_key",
            name=op.f("uq_webhook_events_entity_id_event_type_dedupe_key"),
        ),
    )
    op.create_table(
        "webhook_deliveries",
        _int("id"),
        _int("event_id"),
        _int("endpoint_id"),
        _int("entity_id"),
        _text("status", 16),
        _int("attempts"),
        _int("attempts_left"),
        _stamp("next_attempt_at", nullable=True),
        _stamp("claimed_at", nullable=True),
        _stamp("delivered_at", nullable=True),
        _int("last_status_code", nullable=True),
        _text("last_error", 500),
        _stamp("created_at"),
        _fk("webhook_deliveries", "event_id", "webhook_events"),
        _fk("webhook_deliveries", "endpoint_id", "webhook_endpoints"),
        _fk("webhook_deliveries", "entity_id", "legal_entities"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "event_id", "endpoint_id", name=op.f("uq_webhook_deliveries_event_id_endpoint_id")
        ),
    )
    op.create_index(
        op.f("ix_webhook_deliveries_endpoint_id"),
        "webhook_deliveries",
        ["endpoint_id"],
        unique=False,
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index("ix_webhook_deliveries_entity_id", "webhook_deliveries", ["entity_id", "id"])
    op.create_table(
        "webhook_attempts",
        _int("id"),
        _int("delivery_id"),
        _int("attempt_no"),
        _stamp("started_at"),
        _int("duration_ms"),
        _int("status_code", nullable=True),
        _text("outcome", 16),
        _text("error", 500),
        _fk("webhook_attempts", "delivery_id", "webhook_deliveries"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
        sa.UniqueConstraint(
            "delivery_id", "attempt_no", name=op.f("uq_webhook_attempts_delivery_id_attempt_no")
        ),
    )
    for statement in append_only_statements(
        op.get_bind().dialect.name, _APPEND_ONLY, advice=_ADVICE
    ):
        op.execute(statement)


def downgrade() -> None:
    for statement in append_only_statements(
        op.get_bind().dialect.name, _APPEND_ONLY, drop=True, advice=_ADVICE
    ):
        op.execute(statement)
    op.drop_table("webhook_attempts")
    op.drop_index("ix_webhook_deliveries_entity_id", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_index(op.f("ix_webhook_deliveries_endpoint_id"), table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_events")
    op.drop_index(op.f("ix_webhook_endpoints_entity_id"), table_name="webhook_endpoints")
    op.drop_table("webhook_endpoints")
