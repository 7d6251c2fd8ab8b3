"""Bank statements, their lines, matching decisions and reconciliation (issue #5).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from openbill.adapters.sql.triggers import append_only_statements

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Statements and lines are stored external input; decisions and their links are history: the
# database refuses UPDATE and DELETE on them (an undo is a new decision).
_APPEND_ONLY = (
    "bank_statements",
    "bank_lines",
    "bank_matches",
    "bank_match_entries",
    "write_off_reversals",
)
_ADVICE = "undo the decision instead (openbill bank undo)"


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _stamp(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _text(name: str, length: int | None = None) -> sa.Column:
    kind = sa.String(length=length) if length else sa.Text()
    return sa.Column(name, kind, nullable=False)


def upgrade() -> None:
    op.create_index("ix_journal_entries_source", "journal_entries", ["source_table", "source_id"])
    op.create_table(
        "bank_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        _text("name", 60),
        _text("iban", 34),
        _text("number", 60),
        _text("currency", 3),
        _text("ledger_account", 16),
        _stamp("created_at"),
        _fk("bank_accounts", "entity_id", "legal_entities"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_accounts")),
        sa.UniqueConstraint("entity_id", "name", name=op.f("uq_bank_accounts_entity_id_name")),
        sa.UniqueConstraint(
            "entity_id",
            "ledger_account",
            "currency",
            name=op.f("uq_bank_accounts_entity_id_ledger_account_currency"),
        ),
    )
    op.create_table(
        "bank_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("bank_account_id", sa.Integer(), nullable=False),
        _text("format", 10),
        _text("statement_ref", 140),
        _text("sequence", 40),
        sa.Column("created_on", sa.Date(), nullable=True),
        sa.Column("period_from", sa.Date(), nullable=True),
        sa.Column("period_to", sa.Date(), nullable=True),
        _text("currency", 3),
        sa.Column("opening_minor", sa.BigInteger(), nullable=True),
        sa.Column("opening_on", sa.Date(), nullable=True),
        sa.Column("closing_minor", sa.BigInteger(), nullable=True),
        sa.Column("closing_on", sa.Date(), nullable=True),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("new_entries", sa.Integer(), nullable=False),
        _text("content_key", 64),
        _text("source_name", 300),
        _text("source_sha256", 64),
        _text("problems"),
        _text("imported_by", 100),
        _stamp("imported_at"),
        _fk("bank_statements", "bank_account_id", "bank_accounts"),
        _fk("bank_statements", "entity_id", "legal_entities"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statements")),
        sa.UniqueConstraint(
            "bank_account_id",
            "content_key",
            name=op.f("uq_bank_statements_bank_account_id_content_key"),
        ),
    )
    op.create_table(
        "bank_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("bank_account_id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        _text("identity", 200),
        sa.Column("booking_date", sa.Date(), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        _text("currency", 3),
        _text("bank_reference", 140),
        _text("end_to_end_id", 140),
        _text("counterparty_name"),
        _text("counterparty_account", 60),
        _text("remittance"),
        _text("creditor_reference", 60),
        _text("transaction_code", 60),
        _text("return_reason", 20),
        sa.Column("instructed_minor", sa.BigInteger(), nullable=True),
        _text("instructed_currency", 3),
        sa.Column("batch_size", sa.Integer(), nullable=False),
        _stamp("created_at"),
        _fk("bank_lines", "bank_account_id", "bank_accounts"),
        _fk("bank_lines", "entity_id", "legal_entities"),
        _fk("bank_lines", "statement_id", "bank_statements"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_lines")),
        sa.UniqueConstraint(
            "bank_account_id", "identity", name=op.f("uq_bank_lines_bank_account_id_identity")
        ),
    )
    op.create_index(
        "ix_bank_lines_account_booked", "bank_lines", ["bank_account_id", "booking_date"]
    )
    op.create_index(op.f("ix_bank_lines_statement_id"), "bank_lines", ["statement_id"])
    op.create_table(
        "bank_line_states",
        sa.Column("line_id", sa.Integer(), nullable=False),
        _text("status", 12),
        sa.Column("match_id", sa.Integer(), nullable=True),
        sa.Column("confidence", sa.Integer(), nullable=False),
        _text("rule", 40),
        _text("explanation", 300),
        _stamp("updated_at"),
        _fk("bank_line_states", "line_id", "bank_lines"),
        sa.PrimaryKeyConstraint("line_id", name=op.f("pk_bank_line_states")),
    )
    op.create_index("ix_bank_line_states_status", "bank_line_states", ["status"])
    op.create_table(
        "bank_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.Integer(), nullable=False),
        _text("rule", 40),
        _text("explanation", 300),
        _text("payload"),
        _stamp("created_at"),
        _fk("bank_proposals", "line_id", "bank_lines"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_proposals")),
        sa.UniqueConstraint("line_id", "rank", name=op.f("uq_bank_proposals_line_id_rank")),
    )
    op.create_table(
        "bank_matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        _text("action", 12),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("confidence", sa.Integer(), nullable=False),
        _text("rule", 40),
        _text("explanation", 300),
        _text("detail"),
        sa.Column("undoes_id", sa.Integer(), nullable=True),
        _text("reason", 300),
        _text("actor", 100),
        _stamp("created_at"),
        _fk("bank_matches", "entity_id", "legal_entities"),
        _fk("bank_matches", "line_id", "bank_lines"),
        _fk("bank_matches", "undoes_id", "bank_matches"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_matches")),
        sa.UniqueConstraint("undoes_id", name=op.f("uq_bank_matches_undoes_id")),
    )
    op.create_index(op.f("ix_bank_matches_line_id"), "bank_matches", ["line_id"])
    op.create_table(
        "bank_match_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("match_id", sa.Integer(), nullable=False),
        sa.Column("journal_entry_id", sa.Integer(), nullable=False),
        sa.Column("created", sa.Boolean(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        _fk("bank_match_entries", "journal_entry_id", "journal_entries"),
        _fk("bank_match_entries", "match_id", "bank_matches"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_match_entries")),
    )
    op.create_index(
        op.f("ix_bank_match_entries_journal_entry_id"), "bank_match_entries", ["journal_entry_id"]
    )
    op.create_index(op.f("ix_bank_match_entries_match_id"), "bank_match_entries", ["match_id"])
    op.create_table(
        "bank_payers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        _text("iban", 34),
        _text("name", 200),
        sa.Column("match_id", sa.Integer(), nullable=True),
        _stamp("created_at"),
        _fk("bank_payers", "customer_id", "customers"),
        _fk("bank_payers", "entity_id", "legal_entities"),
        _fk("bank_payers", "match_id", "bank_matches"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_payers")),
    )
    op.create_index("ix_bank_payers_entity", "bank_payers", ["entity_id", "customer_id"])
    op.create_index(op.f("ix_bank_payers_match_id"), "bank_payers", ["match_id"])
    op.create_table(
        "bank_settings",
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("auto_threshold", sa.Integer(), nullable=False),
        _text("fees"),
        sa.Column("fx_tolerance_bps", sa.Integer(), nullable=False),
        _stamp("updated_at"),
        _fk("bank_settings", "entity_id", "legal_entities"),
        sa.PrimaryKeyConstraint("entity_id", name=op.f("pk_bank_settings")),
    )
    op.create_table(
        "write_off_reversals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("write_off_id", sa.Integer(), nullable=False),
        sa.Column("reversed_on", sa.Date(), nullable=False),
        _text("reason", 300),
        _stamp("created_at"),
        _fk("write_off_reversals", "entity_id", "legal_entities"),
        _fk("write_off_reversals", "write_off_id", "write_offs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_write_off_reversals")),
        sa.UniqueConstraint("write_off_id", name=op.f("uq_write_off_reversals_write_off_id")),
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
    op.drop_table("write_off_reversals")
    op.drop_table("bank_settings")
    op.drop_index(op.f("ix_bank_payers_match_id"), table_name="bank_payers")
    op.drop_index("ix_bank_payers_entity", table_name="bank_payers")
    op.drop_table("bank_payers")
    op.drop_index(op.f("ix_bank_match_entries_match_id"), table_name="bank_match_entries")
    op.drop_index(op.f("ix_bank_match_entries_journal_entry_id"), table_name="bank_match_entries")
    op.drop_table("bank_match_entries")
    op.drop_index(op.f("ix_bank_matches_line_id"), table_name="bank_matches")
    op.drop_table("bank_matches")
    op.drop_table("bank_proposals")
    op.drop_index("ix_bank_line_states_status", table_name="bank_line_states")
    op.drop_table("bank_line_states")
    op.drop_index(op.f("ix_bank_lines_statement_id"), table_name="bank_lines")
    op.drop_index("ix_bank_lines_account_booked", table_name="bank_lines")
    op.drop_table("bank_lines")
    op.drop_table("bank_statements")
    op.drop_table("bank_accounts")
    op.drop_index("ix_journal_entries_source", table_name="journal_entries")
