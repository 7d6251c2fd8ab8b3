"""Access control: users, their entities, sessions, sign-in attempts, API keys, access
settings, and the store of HTTP Idempotency-Keys.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _stamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, length: int | None = None, nullable: bool = False) -> sa.Column:
    kind = sa.String(length=length) if length else sa.Text()
    return sa.Column(name, kind, nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("username", 64),
        _text("display_name", 200),
        _text("role", 16),
        _text("password_hash", 255),
        _text("totp_secret", 64, nullable=True),
        sa.Column("totp_confirmed", sa.Boolean(), nullable=False),
        sa.Column("two_factor_required", sa.Boolean(), nullable=False),
        _stamp("disabled_at", nullable=True),
        _stamp("created_at"),
        _stamp("password_changed_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "user_entities",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        _fk("user_entities", "entity_id", "legal_entities"),
        _fk("user_entities", "user_id", "users"),
        sa.PrimaryKeyConstraint("user_id", "entity_id", name=op.f("pk_user_entities")),
    )
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("token_hash", 64),
        sa.Column("user_id", sa.Integer(), nullable=False),
        _text("address", 64),
        _stamp("created_at"),
        _stamp("last_seen_at"),
        _stamp("ended_at", nullable=True),
        _text("end_reason", 24, nullable=True),
        _fk("user_sessions", "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_sessions_token_hash")),
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"], unique=False)
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("username", 64),
        _text("address", 64),
        _stamp("attempted_at"),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        _text("reason", 24),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index("ix_login_attempts_username_at", "login_attempts", ["username", "attempted_at"])
    op.create_index("ix_login_attempts_address_at", "login_attempts", ["address", "attempted_at"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        _text("name", 48),
        _text("prefix", 8),
        _text("token_hash", 64),
        _text("scopes"),
        _stamp("created_at"),
        _text("created_by", 100),
        _stamp("last_used_at", nullable=True),
        _stamp("revoked_at", nullable=True),
        _fk("api_keys", "entity_id", "legal_entities"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("entity_id", "name", name=op.f("uq_api_keys_entity_id_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_keys_token_hash")),
    )
    op.create_table(
        "access_settings",
        _text("name", 64),
        _text("value"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_access_settings")),
    )
    op.create_table(
        "api_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("principal", 80),
        _text("idem_key", 200),
        _text("method", 10),
        _text("path"),
        _text("request_hash", 64),
        _text("state", 16),
        sa.Column("status_code", sa.Integer(), nullable=True),
        _text("content_type", 200, nullable=True),
        _text("body", nullable=True),
        _text("headers", nullable=True),
        _stamp("created_at"),
        _stamp("finished_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_requests")),
        sa.UniqueConstraint(
            "principal", "idem_key", name=op.f("uq_api_requests_principal_idem_key")
        ),
    )


def downgrade() -> None:
    op.drop_table("api_requests")
    op.drop_table("access_settings")
    op.drop_table("api_keys")
    op.drop_index("ix_login_attempts_address_at", table_name="login_attempts")
    op.drop_index("ix_login_attempts_username_at", table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_index(op.f("ix_user_sessions_user_id"), table_name="user_sessions")
    op.drop_table("user_sessions")
    op.drop_table("user_entities")
    op.drop_table("users")
