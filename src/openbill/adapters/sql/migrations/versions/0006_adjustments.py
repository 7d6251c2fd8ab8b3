"""Document-level allowances and charges (EN 16931 BG-20, BG-21), frozen with their document.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from openbill.adapters.sql.tables import ExactDecimal

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_MSG = "openbill: an issued document cannot be changed or deleted; issue a credit note"


def upgrade() -> None:
    op.create_table(
        "document_adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("is_charge", sa.Boolean(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("reason_code", sa.String(length=8), nullable=False),
        sa.Column("revenue_account", sa.String(length=16), nullable=False),
        sa.Column("tax_category", sa.String(length=2), nullable=False),
        sa.Column("tax_rate", ExactDecimal(), nullable=False),
        sa.Column("exemption_reason", sa.String(length=300), nullable=False),
        sa.Column("exemption_code", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_adjustments_document_id_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_adjustments")),
        sa.UniqueConstraint(
            "document_id", "seq", name=op.f("uq_document_adjustments_document_id_seq")
        ),
    )
    op.create_index(
        op.f("ix_document_adjustments_document_id"),
        "document_adjustments",
        ["document_id"],
        unique=False,
    )
    if op.get_bind().dialect.name == "postgresql":
        # openbill_refuse_issued() from migration 0001 handles any child of documents.
        op.execute(
            "CREATE TRIGGER trg_document_adjustments_frozen BEFORE INSERT OR UPDATE OR DELETE "
            "ON document_adjustments FOR EACH ROW EXECUTE FUNCTION openbill_refuse_issued()"
        )
    else:
        for operation, row in (("INSERT", "NEW"), ("UPDATE", "OLD"), ("DELETE", "OLD")):
            op.execute(
                f"CREATE TRIGGER trg_document_adjustments_frozen_{operation.lower()} "
                f"BEFORE {operation} ON document_adjustments "
                f"WHEN (SELECT status FROM documents WHERE id = {row}.document_id) = 'issued' "
                f"BEGIN SELECT RAISE(ABORT, '{_MSG}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_document_adjustments_frozen ON document_adjustments")
    else:
        for operation in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_document_adjustments_frozen_{operation}")
    op.drop_index(op.f("ix_document_adjustments_document_id"), table_name="document_adjustments")
    op.drop_table("document_adjustments")
