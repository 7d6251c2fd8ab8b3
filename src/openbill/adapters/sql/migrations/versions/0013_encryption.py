"""Sensitive fields encrypted at rest: wider columns for ciphertext, and blind indexes for the
fields that are looked up by value (docs/security.md).

1. On PostgreSQL every sensitive column becomes TEXT (a sealed IBAN is about 100 characters).
   SQLite does not enforce declared lengths: its columns stay, and no table is rebuilt.
2. A blind index column `<column>_bidx` (with an index) beside each field looked up by value.
3. Bank lines stay append-only, except that an UPDATE setting only their sealed account and
   its blind index is let through, for `openbill keys rotate`: the trigger now fires on an
   UPDATE OF every other column. A migration that adds a column to bank_lines must add it
   to `_LINE_COLUMNS` below (tests/security/test_sealed_sql.py checks every column).
4. Existing rows are sealed and indexed here, in this migration's transaction, with the keys
   the book was opened with (bootstrap.open_book installs them before migrating). Run without
   keys (a bare `migrate(engine)`), it seals nothing; `openbill keys rotate` does it later, and
   until then the plain values are read as they are.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from openbill.adapters.sql.rotation import seal_existing
from openbill.adapters.sql.sealed import INDEX_LENGTH, keyring_or_none

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# (table, column, its type before, looked up by value), as domain/sensitive.py lists them.
_FIELDS = (
    ("customers", "iban", sa.String(34), True),
    ("customers", "tax_number", sa.String(32), False),
    ("legal_entities", "iban", sa.String(34), False),
    ("legal_entities", "tax_number", sa.String(32), False),
    ("bank_accounts", "iban", sa.String(34), True),
    ("bank_accounts", "number", sa.String(60), True),
    ("bank_lines", "counterparty_account", sa.String(60), True),
    ("bank_payers", "iban", sa.String(34), True),
    ("users", "totp_secret", sa.String(64), False),
    ("api_requests", "body", sa.Text(), False),
    ("webhook_endpoints", "secret", sa.String(200), False),
    ("webhook_endpoints", "previous_secret", sa.String(200), False),
)

# Every column of bank_lines but the sealed account and its index: an UPDATE of any of them
# is refused.
_LINE_COLUMNS = (
    "id",
    "entity_id",
    "bank_account_id",
    "statement_id",
    "identity",
    "booking_date",
    "value_date",
    "amount_minor",
    "currency",
    "bank_reference",
    "end_to_end_id",
    "counterparty_name",
    "remittance",
    "creditor_reference",
    "transaction_code",
    "return_reason",
    "instructed_minor",
    "instructed_currency",
    "batch_size",
    "created_at",
)
_LINES_MSG = "openbill: bank_lines is append-only; undo the decision instead (openbill bank undo)"


def _present(table: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(table)


def _line_triggers(dialect: str, guarded: bool) -> list[str]:
    """The append-only UPDATE trigger of bank_lines: on every column (as migration 0010 made
    it) or, `guarded`, on every column but the sealed account and its index."""
    of = f" OF {', '.join(_LINE_COLUMNS)}" if guarded else ""
    if dialect == "postgresql":
        return [
            "DROP TRIGGER IF EXISTS trg_bank_lines_append_only ON bank_lines",
            f"CREATE TRIGGER trg_bank_lines_append_only BEFORE UPDATE{of} OR DELETE ON "
            "bank_lines FOR EACH ROW EXECUTE FUNCTION openbill_refuse_change()",
        ]
    return [
        "DROP TRIGGER IF EXISTS trg_bank_lines_append_only_update",
        f"CREATE TRIGGER trg_bank_lines_append_only_update BEFORE UPDATE{of} ON bank_lines "
        f"BEGIN SELECT RAISE(ABORT, '{_LINES_MSG}'); END",
    ]


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    for table, column, before, indexed in _FIELDS:
        if not _present(table):
            continue
        if dialect == "postgresql" and not isinstance(before, sa.Text):
            op.alter_column(table, column, type_=sa.Text(), existing_type=before)
        if indexed:
            index = f"{column}_bidx"
            op.add_column(table, sa.Column(index, sa.String(INDEX_LENGTH), nullable=True))
            op.create_index(f"ix_{table}_{index}", table, [index])
    for statement in _line_triggers(dialect, guarded=True):
        op.execute(statement)
    ring = keyring_or_none(bind.dialect)
    if ring is not None:
        seal_existing(bind, ring)


def downgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    _open_everything(bind)
    for statement in _line_triggers(dialect, guarded=False):
        op.execute(statement)
    for table, column, before, indexed in reversed(_FIELDS):
        if not _present(table):
            continue
        if indexed:
            index = f"{column}_bidx"
            op.drop_index(f"ix_{table}_{index}", table_name=table)
            if dialect == "sqlite":  # SQLite 3.35+ drops a column without a rebuild
                op.execute(f"ALTER TABLE {table} DROP COLUMN {index}")
            else:
                op.drop_column(table, index)
        if dialect == "postgresql" and isinstance(before, sa.String) and before.length:
            op.alter_column(
                table,
                column,
                type_=before,
                existing_type=sa.Text(),
                postgresql_using=f"left({column}, {before.length})",
            )


def _open_everything(bind: sa.engine.Connection) -> None:
    """Put every sealed value back in plain text (the schema before this migration cannot
    hold ciphertext), with the keys the book was opened with."""
    ring = keyring_or_none(bind.dialect)
    for table, column, _, _ in _FIELDS:
        if not _present(table):
            continue
        rows = bind.execute(
            sa.text(f"SELECT id, {column} FROM {table} WHERE substr({column}, 1, 5) = 'enc1:'")
        ).all()
        if not rows:
            continue
        if ring is None:
            raise RuntimeError(
                f"{table}.{column} holds sealed values: downgrading needs the book's data keys "
                "(open it with openbill.bootstrap.open_book)"
            )
        context = f"{table}.{column}"
        bind.execute(
            sa.text(f"UPDATE {table} SET {column} = :plain WHERE id = :id"),
            [{"id": r[0], "plain": ring.open(r[1], context)} for r in rows],
        )
