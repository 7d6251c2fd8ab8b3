"""Tables of access control, migration 0011: users and the entities they act for, sessions,
sign-in attempts, API keys, access settings, and the store of HTTP Idempotency-Keys.

No secret is stored as given: passwords as argon2id hashes, session tokens and API keys as the
SHA-256 of the token (hex). A TOTP secret has to be kept as it is (the server computes the
codes from it); it never reaches a log or the audit trail.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from openbill.adapters.sql.tables import Stamp, metadata

__all__ = [
    "users",
    "user_entities",
    "user_sessions",
    "login_attempts",
    "api_keys",
    "access_settings",
    "api_requests",
]

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),  # lower case
    Column("display_name", String(200), nullable=False, default=""),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("totp_secret", String(64)),  # base32; None: not enrolled
    Column("totp_confirmed", Boolean, nullable=False, default=False),
    # The 30-second step of the last code accepted: a code is good once (migration 0014).
    Column("totp_last_step", BigInteger),
    Column("two_factor_required", Boolean, nullable=False, default=False),
    Column("disabled_at", Stamp),
    Column("created_at", Stamp, nullable=False),
    Column("password_changed_at", Stamp, nullable=False),
)

user_entities = Table(
    "user_entities",
    metadata,
    Column("user_id", ForeignKey("users.id"), nullable=False),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    PrimaryKeyConstraint("user_id", "entity_id"),
)

user_sessions = Table(
    "user_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 hex of the token
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("address", String(64), nullable=False, default=""),
    Column("created_at", Stamp, nullable=False),
    Column("last_seen_at", Stamp, nullable=False),
    Column("ended_at", Stamp),
    # logged_out, idle_expired, absolute_expired, disabled, password_changed
    Column("end_reason", String(24)),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False),  # as given (lower case, cut to 64)
    Column("address", String(64), nullable=False),
    Column("attempted_at", Stamp, nullable=False),
    Column("succeeded", Boolean, nullable=False),
    # ok, unknown_user, wrong_password, disabled, wrong_code, code_reused, not_enrolled,
    # throttled
    Column("reason", String(24), nullable=False),
)
Index("ix_login_attempts_username_at", login_attempts.c.username, login_attempts.c.attempted_at)
Index("ix_login_attempts_address_at", login_attempts.c.address, login_attempts.c.attempted_at)
Index("ix_login_attempts_attempted_at", login_attempts.c.attempted_at)  # pruning

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("name", String(48), nullable=False),
    Column("prefix", String(8), nullable=False),  # the token's first 8 characters, for lists
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 hex of the token
    Column("scopes", Text, nullable=False),  # actions, separated by spaces
    Column("created_at", Stamp, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("last_used_at", Stamp),
    Column("revoked_at", Stamp),
    UniqueConstraint("entity_id", "name"),
)

# "two_factor_required" = "true" / "false": two-factor authentication for every user.
access_settings = Table(
    "access_settings",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# The first response to each (principal, Idempotency-Key) of the HTTP API, replayed to a retry.
api_requests = Table(
    "api_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("principal", String(80), nullable=False),  # "user:3", "api_key:5"
    Column("idem_key", String(200), nullable=False),
    Column("method", String(10), nullable=False),
    Column("path", Text, nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # in_flight, done
    Column("status_code", Integer),
    Column("content_type", String(200)),
    Column("body", Text),
    Column("headers", Text),  # a JSON object
    Column("created_at", Stamp, nullable=False),
    Column("finished_at", Stamp),
    UniqueConstraint("principal", "idem_key"),
)
Index("ix_api_requests_created_at", api_requests.c.created_at)  # pruning
