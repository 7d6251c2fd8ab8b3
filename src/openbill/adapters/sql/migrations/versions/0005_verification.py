"""Draft verification: discrepancy queue, approvals, verification settings (issue #3).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "discrepancies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=48), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("record", sa.String(length=200), nullable=False),
        sa.Column("field", sa.String(length=48), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_discrepancies_document_id_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["legal_entities.id"],
            name=op.f("fk_discrepancies_entity_id_legal_entities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discrepancies")),
    )
    op.create_index(
        op.f("ix_discrepancies_document_id"), "discrepancies", ["document_id"], unique=False
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("approved_by", sa.String(length=100), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_approvals_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["legal_entities.id"],
            name=op.f("fk_approvals_entity_id_legal_entities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
        sa.UniqueConstraint("document_id", name=op.f("uq_approvals_document_id")),
    )
    op.create_table(
        "verification_settings",
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("approval_threshold_minor", sa.BigInteger(), nullable=True),
        sa.Column("duplicate_window_days", sa.Integer(), nullable=False),
        sa.Column("price_tolerance", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["legal_entities.id"],
            name=op.f("fk_verification_settings_entity_id_legal_entities"),
        ),
        sa.PrimaryKeyConstraint("entity_id", name=op.f("pk_verification_settings")),
    )


def downgrade() -> None:
    op.drop_table("verification_settings")
    op.drop_table("approvals")
    op.drop_index(op.f("ix_discrepancies_document_id"), table_name="discrepancies")
    op.drop_table("discrepancies")
