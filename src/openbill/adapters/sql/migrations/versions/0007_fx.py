"""Exchange rates, cross-currency settlements, payment reversals and the small-difference
tolerance (issue #4).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from openbill.adapters.sql.tables import ExactDecimal
from openbill.adapters.sql.triggers import append_only_statements

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_APPEND_ONLY = ("fx_allocations", "payment_reversals")


def upgrade() -> None:
    op.create_table(
        "exchange_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("rate_date", sa.Date(), nullable=False),
        sa.Column("from_currency", sa.String(length=3), nullable=False),
        sa.Column("to_currency", sa.String(length=3), nullable=False),
        sa.Column("rate", ExactDecimal(), nullable=False),
        sa.Column("source", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["legal_entities.id"],
            name=op.f("fk_exchange_rates_entity_id_legal_entities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_rates")),
        sa.UniqueConstraint(
            "entity_id",
            "from_currency",
            "to_currency",
            "rate_date",
            name=op.f("uq_exchange_rates_entity_id_from_currency_to_currency_rate_date"),
        ),
    )
    op.create_table(
        "fx_allocations",
        sa.Column("allocation_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("payment_currency", sa.String(length=3), nullable=False),
        sa.Column("payment_minor", sa.BigInteger(), nullable=False),
        sa.Column("rate", ExactDecimal(), nullable=False),
        sa.Column("base_currency", sa.String(length=3), nullable=False),
        sa.Column("payment_rate_to_base", ExactDecimal(), nullable=False),
        sa.Column("invoice_rate_to_base", ExactDecimal(), nullable=False),
        sa.Column("received_base_minor", sa.BigInteger(), nullable=False),
        sa.Column("carried_base_minor", sa.BigInteger(), nullable=False),
        sa.Column("difference_minor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["allocation_id"],
            ["allocations.id"],
            name=op.f("fk_fx_allocations_allocation_id_allocations"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_fx_allocations_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("allocation_id", name=op.f("pk_fx_allocations")),
    )
    op.create_index(
        op.f("ix_fx_allocations_payment_id"), "fx_allocations", ["payment_id"], unique=False
    )
    op.create_table(
        "payment_reversals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("reversed_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["legal_entities.id"],
            name=op.f("fk_payment_reversals_entity_id_legal_entities"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_reversals_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_reversals")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_payment_reversals_payment_id")),
    )
    op.create_table(
        "receivables_settings",
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("tolerance_minor", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["legal_entities.id"],
            name=op.f("fk_receivables_settings_entity_id_legal_entities"),
        ),
        sa.PrimaryKeyConstraint("entity_id", "currency", name=op.f("pk_receivables_settings")),
    )
    for statement in append_only_statements(op.get_bind().dialect.name, _APPEND_ONLY):
        op.execute(statement)


def downgrade() -> None:
    for statement in append_only_statements(op.get_bind().dialect.name, _APPEND_ONLY, drop=True):
        op.execute(statement)
    op.drop_table("receivables_settings")
    op.drop_table("payment_reversals")
    op.drop_index(op.f("ix_fx_allocations_payment_id"), table_name="fx_allocations")
    op.drop_table("fx_allocations")
    op.drop_table("exchange_rates")
