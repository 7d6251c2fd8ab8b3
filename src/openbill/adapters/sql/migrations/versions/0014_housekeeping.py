"""Housekeeping of access control and indexes for the API's and the desk's lists: the last
two-factor code step each user spent (a code is good once), indexes by time to prune sign-in
attempts and Idempotency-Key records, and keyset indexes for the audit trail and documents.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_login_attempts_attempted_at", "login_attempts", ["attempted_at"]),
    ("ix_api_requests_created_at", "api_requests", ["created_at"]),
    ("ix_audit_events_entity_id_id", "audit_events", ["entity_id", "id"]),
    ("ix_audit_events_record", "audit_events", ["record_type", "record_id"]),
    ("ix_documents_entity_id_id", "documents", ["entity_id", "id"]),
)


def upgrade() -> None:
    op.add_column("users", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_last_step")
