"""The relational schema (SQLAlchemy Core), one set for SQLite and PostgreSQL.

Money is stored as integer minor units (BIGINT). Quantities, unit prices and rates are exact
decimals: NUMERIC(38, 10) on PostgreSQL and TEXT on SQLite, whose NUMERIC affinity would store
them as binary floating point. No column anywhere holds money in a floating type.

Migrations live in migrations/versions and must be kept in step with this file; a test compares
the migrated database with this metadata.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect

from openbill.adapters.sql.sealed import watch

__all__ = ["metadata", "ExactDecimal"]


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal: NUMERIC(38, 10) on PostgreSQL, canonical text elsewhere."""

    impl = String(60)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(38, 10, asdecimal=True))
        return dialect.type_descriptor(String(60))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"ExactDecimal takes Decimal, got {type(value).__name__}")
        if dialect.name == "postgresql":
            return value
        return format(value, "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(value)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
# Sensitive fields (domain/sensitive.py) get their sealed type, and those looked up by value a
# blind index column `<column>_bidx`, as their tables are defined (adapters/sql/sealed.py).
watch(metadata)

Money = BigInteger
Stamp = DateTime(timezone=True)


def _chain_columns() -> list[Column[Any]]:
    return [
        Column("chain_seq", BigInteger, nullable=True, unique=True),
        Column("prev_hash", String(64), nullable=True),
        Column("hash", String(64), nullable=True),
    ]


legal_entities = Table(
    "legal_entities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("country", String(2), nullable=False),
    Column("base_currency", String(3), nullable=False),
    Column("rounding", String(16), nullable=False),
    Column("vat_id", String(32)),
    Column("tax_number", String(32)),
    Column("iban", String(34)),
    Column("address", String(300)),
    Column("email", String(200)),
    Column("payment_terms", String(32), nullable=False),
    Column("created_at", Stamp, nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("code", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("segment", String(32)),
    Column("country", String(2), nullable=False),
    Column("regime", String(24), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("payment_terms", String(32)),
    Column("vat_id", String(32)),
    Column("tax_number", String(32)),
    Column("iban", String(34)),
    Column("email", String(200)),
    Column("address", String(300)),
    Column("created_at", Stamp, nullable=False),
    UniqueConstraint("entity_id", "code"),
)

tax_rules = Table(
    "tax_rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("jurisdiction", String(2), nullable=False),
    Column("tax_class", String(32), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("category", String(2), nullable=False),
    Column("rate", ExactDecimal, nullable=False),
    Column("exemption_reason", String(300), nullable=False, default=""),
    Column("exemption_code", String(32), nullable=False, default=""),
    UniqueConstraint("entity_id", "jurisdiction", "tax_class", "valid_from"),
)

charge_codes = Table(
    "charge_codes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("code", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("unit", String(16), nullable=False),
    Column("revenue_account", String(16), nullable=False),
    Column("tax_class", String(32), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", Stamp, nullable=False),
    UniqueConstraint("entity_id", "code"),
)

prices = Table(
    "prices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("charge_code_id", ForeignKey("charge_codes.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("model", String(16), nullable=False),
    Column("params", Text, nullable=False),
    Column("includes_tax", Boolean, nullable=False, default=False),
    Column("created_at", Stamp, nullable=False),
    UniqueConstraint("charge_code_id", "currency", "effective_from"),
)

documents = Table(
    "documents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("customer_id", ForeignKey("customers.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("number", String(40)),
    Column("series_year", Integer),
    Column("seq", Integer),
    Column("document_date", Date, nullable=False),
    Column("due_date", Date),
    Column("currency", String(3), nullable=False),
    Column("payment_terms", String(32), nullable=False),
    Column("prices_include_tax", Boolean, nullable=False, default=False),
    Column("net_minor", Money, nullable=False, default=0),
    Column("tax_minor", Money, nullable=False, default=0),
    Column("total_minor", Money, nullable=False, default=0),
    Column("credited_document_id", ForeignKey("documents.id")),
    Column("reason", String(500), nullable=False, default=""),
    Column("buyer_reference", String(100), nullable=False, default=""),
    Column("created_at", Stamp, nullable=False),
    Column("issued_at", Stamp),
    *_chain_columns(),
    UniqueConstraint("entity_id", "kind", "series_year", "seq"),
    UniqueConstraint("entity_id", "number"),
)
Index("ix_documents_customer", documents.c.customer_id, documents.c.status)
Index("ix_documents_entity_id_id", documents.c.entity_id, documents.c.id)  # keyset pages

document_lines = Table(
    "document_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("document_id", ForeignKey("documents.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("charge_code_id", ForeignKey("charge_codes.id"), nullable=False),
    Column("description", String(500), nullable=False),
    Column("quantity", ExactDecimal, nullable=False),
    Column("unit", String(16), nullable=False),
    Column("unit_price", ExactDecimal, nullable=False),
    Column("amount", ExactDecimal, nullable=False),
    Column("price_id", ForeignKey("prices.id")),
    Column("revenue_account", String(16), nullable=False),
    Column("tax_category", String(2), nullable=False),
    Column("tax_rate", ExactDecimal, nullable=False),
    Column("exemption_reason", String(300), nullable=False, default=""),
    Column("exemption_code", String(32), nullable=False, default=""),
    Column("net_minor", Money, nullable=False),
    UniqueConstraint("document_id", "line_no"),
)

document_taxes = Table(
    "document_taxes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("document_id", ForeignKey("documents.id"), nullable=False, index=True),
    Column("category", String(2), nullable=False),
    Column("rate", ExactDecimal, nullable=False),
    Column("taxable_minor", Money, nullable=False),
    Column("tax_minor", Money, nullable=False),
    Column("exemption_reason", String(300), nullable=False, default=""),
    Column("exemption_code", String(32), nullable=False, default=""),
)

document_adjustments = Table(
    "document_adjustments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("document_id", ForeignKey("documents.id"), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("is_charge", Boolean, nullable=False),  # EN 16931 BG-21 charge, else BG-20 allowance
    Column("amount_minor", Money, nullable=False),  # positive; the sign comes from is_charge
    Column("reason", String(200), nullable=False),
    Column("reason_code", String(8), nullable=False, default=""),
    Column("revenue_account", String(16), nullable=False),
    Column("tax_category", String(2), nullable=False),
    Column("tax_rate", ExactDecimal, nullable=False),
    Column("exemption_reason", String(300), nullable=False, default=""),
    Column("exemption_code", String(32), nullable=False, default=""),
    UniqueConstraint("document_id", "seq"),
)

number_series = Table(
    "number_series",
    metadata,
    Column("entity_id", ForeignKey("legal_entities.id"), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("next_seq", Integer, nullable=False),
)

payments = Table(
    "payments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("customer_id", ForeignKey("customers.id"), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", Money, nullable=False),
    Column("method", String(24), nullable=False),
    Column("received_on", Date, nullable=False),
    Column("reference", String(140), nullable=False, default=""),
    Column("created_at", Stamp, nullable=False),
    *_chain_columns(),
)

refunds = Table(
    "refunds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("customer_id", ForeignKey("customers.id"), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", Money, nullable=False),
    Column("method", String(24), nullable=False),
    Column("refunded_on", Date, nullable=False),
    Column("reference", String(140), nullable=False, default=""),
    Column("created_at", Stamp, nullable=False),
)

allocations = Table(
    "allocations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("customer_id", ForeignKey("customers.id"), nullable=False),
    Column("payment_id", ForeignKey("payments.id"), index=True),
    Column("credit_note_id", ForeignKey("documents.id"), index=True),
    Column("invoice_id", ForeignKey("documents.id"), nullable=False, index=True),
    Column("amount_minor", Money, nullable=False),
    Column("allocated_on", Date, nullable=False),
    Column("created_at", Stamp, nullable=False),
)

write_offs = Table(
    "write_offs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("invoice_id", ForeignKey("documents.id"), nullable=False, index=True),
    Column("amount_minor", Money, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("written_off_on", Date, nullable=False),
    Column("created_at", Stamp, nullable=False),
)

journal_entries = Table(
    "journal_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("entry_date", Date, nullable=False),
    Column("kind", String(24), nullable=False),
    Column("source_table", String(32), nullable=False),
    Column("source_id", Integer, nullable=False),
    Column("description", String(300), nullable=False),
    Column("created_at", Stamp, nullable=False),
    *_chain_columns(),
)

# Finding the entries a record posted (a payment's, to reverse it; a bank line's, to undo it).
Index("ix_journal_entries_source", journal_entries.c.source_table, journal_entries.c.source_id)

journal_lines = Table(
    "journal_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entry_id", ForeignKey("journal_entries.id"), nullable=False, index=True),
    Column("line_no", Integer, nullable=False),
    Column("account", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", Money, nullable=False),
    Column("customer_id", ForeignKey("customers.id")),
    Column("document_id", ForeignKey("documents.id")),
)
Index("ix_journal_lines_account_customer", journal_lines.c.account, journal_lines.c.customer_id)
Index("ix_journal_lines_document", journal_lines.c.document_id)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", Integer),
    Column("actor", String(100), nullable=False),
    Column("occurred_at", Stamp, nullable=False),
    Column("action", String(64), nullable=False),
    Column("record_type", String(32), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("before", Text),
    Column("after", Text),
    *_chain_columns(),
)
# The audit trail by entity in keyset pages, and a record's own trail (migration 0014).
Index("ix_audit_events_entity_id_id", audit_events.c.entity_id, audit_events.c.id)
Index("ix_audit_events_record", audit_events.c.record_type, audit_events.c.record_id)

chain_heads = Table(
    "chain_heads",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

revisions = Table(
    "revisions",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(40), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("result", Text, nullable=False),
    Column("created_at", Stamp, nullable=False),
)

# The chains and the table whose rows each one links.
CHAINS: dict[str, Table] = {
    "documents": documents,
    "payments": payments,
    "journal": journal_entries,
    "audit": audit_events,
}

# Tables of later bounded contexts live in their own modules, on the same metadata; importing
# them here keeps `metadata` complete for migrations and for the schema comparison test.
from openbill.adapters.sql import (  # noqa: E402, F401
    tables_access,
    tables_bank,
    tables_commercial,
    tables_disputes,
    tables_dunning,
    tables_fx,
    tables_outbox,
    tables_verification,
    tables_webhooks,
)
