"""Disputes and inquiries: cases, their timeline and their resolutions (issue #4).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from openbill.adapters.sql.triggers import append_only_statements

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The timeline and the resolutions are append-only, like the ledger: the database refuses
# UPDATE and DELETE (on PostgreSQL through openbill_refuse_change() of migration 0001).
_APPEND_ONLY = ("dispute_events", "dispute_resolutions")
_ADVICE = "add a note to the case instead"


def upgrade() -> None:
    op.create_table(
        "dispute_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("case_no", sa.String(length=16), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=False),
        sa.Column("adjusted_minor", sa.BigInteger(), nullable=True),
        sa.Column("opened_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_dispute_cases_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["legal_entities.id"],
            name=op.f("fk_dispute_cases_entity_id_legal_entities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_cases")),
        sa.UniqueConstraint(
            "entity_id", "case_no", name=op.f("uq_dispute_cases_entity_id_case_no")
        ),
        sa.UniqueConstraint("entity_id", "seq", name=op.f("uq_dispute_cases_entity_id_seq")),
    )
    op.create_index(
        op.f("ix_dispute_cases_document_id"), "dispute_cases", ["document_id"], unique=False
    )
    op.create_index(
        "ix_dispute_cases_entity_status", "dispute_cases", ["entity_id", "status"], unique=False
    )
    op.create_table(
        "dispute_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["dispute_cases.id"], name=op.f("fk_dispute_events_case_id_dispute_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_events")),
    )
    op.create_index(op.f("ix_dispute_events_case_id"), "dispute_events", ["case_id"], unique=False)
    op.create_table(
        "dispute_resolutions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("credit_note_id", sa.Integer(), nullable=True),
        sa.Column("rebill_invoice_id", sa.Integer(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("outbox_message_id", sa.Integer(), nullable=True),
        sa.Column("resolved_on", sa.Date(), nullable=False),
        sa.Column("resolved_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["dispute_cases.id"],
            name=op.f("fk_dispute_resolutions_case_id_dispute_cases"),
        ),
        sa.ForeignKeyConstraint(
            ["credit_note_id"],
            ["documents.id"],
            name=op.f("fk_dispute_resolutions_credit_note_id_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["outbox_message_id"],
            ["outbox_messages.id"],
            name=op.f("fk_dispute_resolutions_outbox_message_id_outbox_messages"),
        ),
        sa.ForeignKeyConstraint(
            ["rebill_invoice_id"],
            ["documents.id"],
            name=op.f("fk_dispute_resolutions_rebill_invoice_id_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_resolutions")),
        sa.UniqueConstraint("case_id", name=op.f("uq_dispute_resolutions_case_id")),
    )
    op.create_index(
        op.f("ix_dispute_resolutions_credit_note_id"),
        "dispute_resolutions",
        ["credit_note_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_dispute_resolutions_rebill_invoice_id"),
        "dispute_resolutions",
        ["rebill_invoice_id"],
        unique=False,
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
    op.drop_index(
        op.f("ix_dispute_resolutions_rebill_invoice_id"), table_name="dispute_resolutions"
    )
    op.drop_index(op.f("ix_dispute_resolutions_credit_note_id"), table_name="dispute_resolutions")
    op.drop_table("dispute_resolutions")
    op.drop_index(op.f("ix_dispute_events_case_id"), table_name="dispute_events")
    op.drop_table("dispute_events")
    op.drop_index("ix_dispute_cases_entity_status", table_name="dispute_cases")
    op.drop_index(op.f("ix_dispute_cases_document_id"), table_name="dispute_cases")
    op.drop_table("dispute_cases")
