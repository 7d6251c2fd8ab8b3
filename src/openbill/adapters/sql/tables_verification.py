"""Tables of draft verification (issue #3), migration 0005: the discrepancy queue, approvals
and the verification settings of each legal entity."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String, Table, Text

from openbill.adapters.sql.tables import Stamp, metadata

__all__ = ["discrepancies", "approvals", "verification_settings"]

discrepancies = Table(
    "discrepancies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("document_id", ForeignKey("documents.id"), nullable=False, index=True),
    Column("rule", String(48), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("record", String(200), nullable=False),
    Column("field", String(48), nullable=False),
    Column("message", Text, nullable=False),
    # open -> resolved (the source was fixed) | overridden (a person accepted it, with reason)
    Column("status", String(16), nullable=False),
    Column("resolution", Text, nullable=False, default=""),
    Column("resolved_by", String(100)),
    Column("resolved_at", Stamp),
    Column("created_at", Stamp, nullable=False),
)

approvals = Table(
    "approvals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("document_id", ForeignKey("documents.id"), nullable=False, unique=True),
    Column("approved_by", String(100), nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("approved_at", Stamp, nullable=False),
)

verification_settings = Table(
    "verification_settings",
    metadata,
    Column("entity_id", ForeignKey("legal_entities.id"), primary_key=True),
    Column("approval_threshold_minor", BigInteger),
    Column("duplicate_window_days", Integer, nullable=False),
    Column("price_tolerance", String(40), nullable=False),
)
