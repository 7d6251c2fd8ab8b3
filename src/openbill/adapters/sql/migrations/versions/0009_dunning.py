"""Dunning: policies, steps taken, promises to pay, holds (issue #4).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from openbill.adapters.sql.tables import ExactDecimal

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "dunning_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("minimum_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_charge_code", sa.String(length=32), nullable=False),
        sa.Column("interest_charge_code", sa.String(length=32), nullable=False),
        sa.Column("promise_grace_days", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("dunning_policies", "entity_id", "legal_entities"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_policies")),
        sa.UniqueConstraint("entity_id", "code", name=op.f("uq_dunning_policies_entity_id_code")),
    )
    op.create_table(
        "dunning_policy_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("step_no", sa.Integer(), nullable=False),
        sa.Column("offset_days", sa.Integer(), nullable=False),
        sa.Column("actions", sa.String(length=120), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        _fk("dunning_policy_steps", "policy_id", "dunning_policies"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_policy_steps")),
        sa.UniqueConstraint(
            "policy_id", "step_no", name=op.f("uq_dunning_policy_steps_policy_id_step_no")
        ),
    )
    op.create_table(
        "dunning_settings",
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("default_policy_id", sa.Integer(), nullable=True),
        sa.Column("interest_enabled", sa.Boolean(), nullable=False),
        sa.Column("reference_rate", ExactDecimal(), nullable=False),
        sa.Column("margin", ExactDecimal(), nullable=False),
        sa.Column("recovery_fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("recovery_fee_currency", sa.String(length=3), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _fk("dunning_settings", "default_policy_id", "dunning_policies"),
        _fk("dunning_settings", "entity_id", "legal_entities"),
        sa.PrimaryKeyConstraint("entity_id", name=op.f("pk_dunning_settings")),
    )
    op.create_table(
        "dunning_customers",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _fk("dunning_customers", "customer_id", "customers"),
        _fk("dunning_customers", "policy_id", "dunning_policies"),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_dunning_customers")),
    )
    op.create_table(
        "dunning_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("invoices_seen", sa.Integer(), nullable=False),
        sa.Column("steps_taken", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("fee_invoices", sa.Integer(), nullable=False),
        sa.Column("emails", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        _fk("dunning_runs", "entity_id", "legal_entities"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_runs")),
    )
    op.create_index(
        "ix_dunning_runs_entity_as_of", "dunning_runs", ["entity_id", "as_of"], unique=False
    )
    op.create_table(
        "dunning_steps_taken",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("step_no", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("taken_on", sa.Date(), nullable=False),
        sa.Column("actions", sa.String(length=120), nullable=False),
        sa.Column("dunned_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("interest_minor", sa.BigInteger(), nullable=False),
        sa.Column("recovery_fee", sa.Boolean(), nullable=False),
        sa.Column("fee_document_id", sa.Integer(), nullable=True),
        sa.Column("outbox_message_id", sa.Integer(), nullable=True),
        sa.Column("skipped", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("dunning_steps_taken", "customer_id", "customers"),
        _fk("dunning_steps_taken", "document_id", "documents"),
        _fk("dunning_steps_taken", "entity_id", "legal_entities"),
        _fk("dunning_steps_taken", "fee_document_id", "documents"),
        _fk("dunning_steps_taken", "outbox_message_id", "outbox_messages"),
        _fk("dunning_steps_taken", "policy_id", "dunning_policies"),
        _fk("dunning_steps_taken", "run_id", "dunning_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_steps_taken")),
        sa.UniqueConstraint(
            "document_id", "step_no", name=op.f("uq_dunning_steps_taken_document_id_step_no")
        ),
    )
    op.create_index(
        op.f("ix_dunning_steps_taken_fee_document_id"),
        "dunning_steps_taken",
        ["fee_document_id"],
        unique=False,
    )
    op.create_table(
        "dunning_run_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("step_no", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        _fk("dunning_run_lines", "customer_id", "customers"),
        _fk("dunning_run_lines", "document_id", "documents"),
        _fk("dunning_run_lines", "run_id", "dunning_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_run_lines")),
    )
    op.create_index(
        op.f("ix_dunning_run_lines_run_id"), "dunning_run_lines", ["run_id"], unique=False
    )
    op.create_index(
        op.f("ix_dunning_run_lines_document_id"),
        "dunning_run_lines",
        ["document_id"],
        unique=False,
    )
    op.create_table(
        "dunning_promises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("made_on", sa.Date(), nullable=False),
        sa.Column("pay_by", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("dunning_promises", "customer_id", "customers"),
        _fk("dunning_promises", "entity_id", "legal_entities"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_promises")),
    )
    op.create_index(
        op.f("ix_dunning_promises_customer_id"),
        "dunning_promises",
        ["customer_id"],
        unique=False,
    )
    op.create_table(
        "dunning_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=100), nullable=True),
        sa.Column("release_reason", sa.String(length=500), nullable=True),
        _fk("dunning_holds", "customer_id", "customers"),
        _fk("dunning_holds", "document_id", "documents"),
        _fk("dunning_holds", "entity_id", "legal_entities"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_holds")),
    )
    op.create_index(
        "ix_dunning_holds_active",
        "dunning_holds",
        ["customer_id", "kind", "released_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_dunning_holds_active", table_name="dunning_holds")
    op.drop_table("dunning_holds")
    op.drop_index(op.f("ix_dunning_promises_customer_id"), table_name="dunning_promises")
    op.drop_table("dunning_promises")
    op.drop_index(op.f("ix_dunning_run_lines_document_id"), table_name="dunning_run_lines")
    op.drop_index(op.f("ix_dunning_run_lines_run_id"), table_name="dunning_run_lines")
    op.drop_table("dunning_run_lines")
    op.drop_index(op.f("ix_dunning_steps_taken_fee_document_id"), table_name="dunning_steps_taken")
    op.drop_table("dunning_steps_taken")
    op.drop_index("ix_dunning_runs_entity_as_of", table_name="dunning_runs")
    op.drop_table("dunning_runs")
    op.drop_table("dunning_customers")
    op.drop_table("dunning_settings")
    op.drop_table("dunning_policy_steps")
    op.drop_table("dunning_policies")
