"""Contracts, purchase orders and deliveries (issue #3).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from openbill.adapters.sql.tables import ExactDecimal

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payment_terms", sa.String(length=32), nullable=True),
        sa.Column("grouping", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("discount_percent", ExactDecimal(), nullable=False),
        sa.Column("po_required", sa.Boolean(), nullable=False),
        sa.Column("spending_cap_minor", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_contracts_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["legal_entities.id"], name=op.f("fk_contracts_entity_id_legal_entities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("entity_id", "number", name=op.f("uq_contracts_entity_id_number")),
    )
    op.create_index(op.f("ix_contracts_customer_id"), "contracts", ["customer_id"], unique=False)
    op.create_table(
        "contract_prices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("charge_code_id", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("unit_price", ExactDecimal(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["charge_code_id"],
            ["charge_codes.id"],
            name=op.f("fk_contract_prices_charge_code_id_charge_codes"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_contract_prices_contract_id_contracts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_prices")),
        sa.UniqueConstraint(
            "contract_id",
            "charge_code_id",
            "effective_from",
            name=op.f("uq_contract_prices_contract_id_charge_code_id_effective_from"),
        ),
    )
    op.create_table(
        "purchase_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_purchase_orders_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_purchase_orders_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["legal_entities.id"],
            name=op.f("fk_purchase_orders_entity_id_legal_entities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_orders")),
        sa.UniqueConstraint(
            "customer_id", "number", name=op.f("uq_purchase_orders_customer_id_number")
        ),
    )
    op.create_table(
        "po_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("po_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("charge_code_id", sa.Integer(), nullable=False),
        sa.Column("quantity", ExactDecimal(), nullable=True),
        sa.Column("unit_price", ExactDecimal(), nullable=True),
        sa.Column("amount_ceiling_minor", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["charge_code_id"],
            ["charge_codes.id"],
            name=op.f("fk_po_lines_charge_code_id_charge_codes"),
        ),
        sa.ForeignKeyConstraint(
            ["po_id"], ["purchase_orders.id"], name=op.f("fk_po_lines_po_id_purchase_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_po_lines")),
        sa.UniqueConstraint("po_id", "line_no", name=op.f("uq_po_lines_po_id_line_no")),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=True),
        sa.Column("po_line_id", sa.Integer(), nullable=True),
        sa.Column("charge_code_id", sa.Integer(), nullable=False),
        sa.Column("delivered_on", sa.Date(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("shipped", ExactDecimal(), nullable=True),
        sa.Column("accepted", ExactDecimal(), nullable=True),
        sa.Column("hours", ExactDecimal(), nullable=True),
        sa.Column("role", sa.String(length=200), nullable=False),
        sa.Column("percent", ExactDecimal(), nullable=True),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        sa.Column("fixed_price", ExactDecimal(), nullable=True),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["charge_code_id"],
            ["charge_codes.id"],
            name=op.f("fk_deliveries_charge_code_id_charge_codes"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_deliveries_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_deliveries_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["legal_entities.id"],
            name=op.f("fk_deliveries_entity_id_legal_entities"),
        ),
        sa.ForeignKeyConstraint(
            ["po_line_id"], ["po_lines.id"], name=op.f("fk_deliveries_po_line_id_po_lines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("entity_id", "ref", name=op.f("uq_deliveries_entity_id_ref")),
    )
    op.create_index(op.f("ix_deliveries_customer_id"), "deliveries", ["customer_id"], unique=False)
    op.create_table(
        "delivery_billings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("po_line_id", sa.Integer(), nullable=True),
        sa.Column("quantity", ExactDecimal(), nullable=False),
        sa.Column("unit_price", ExactDecimal(), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_delivery_billings_delivery_id_deliveries"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_delivery_billings_document_id_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["po_line_id"], ["po_lines.id"], name=op.f("fk_delivery_billings_po_line_id_po_lines")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["delivery_billings.id"],
            name=op.f("fk_delivery_billings_reverses_id_delivery_billings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_billings")),
        sa.UniqueConstraint(
            "document_id", "line_no", name=op.f("uq_delivery_billings_document_id_line_no")
        ),
    )
    op.create_index(
        op.f("ix_delivery_billings_delivery_id"), "delivery_billings", ["delivery_id"], unique=False
    )
    op.create_index(
        op.f("ix_delivery_billings_po_line_id"), "delivery_billings", ["po_line_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_delivery_billings_po_line_id"), table_name="delivery_billings")
    op.drop_index(op.f("ix_delivery_billings_delivery_id"), table_name="delivery_billings")
    op.drop_table("delivery_billings")
    op.drop_index(op.f("ix_deliveries_customer_id"), table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("po_lines")
    op.drop_table("purchase_orders")
    op.drop_table("contract_prices")
    op.drop_index(op.f("ix_contracts_customer_id"), table_name="contracts")
    op.drop_table("contracts")
