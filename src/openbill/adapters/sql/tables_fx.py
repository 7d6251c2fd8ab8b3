"""Tables of receivables (issue #4), migration 0007: exchange rates, cross-currency settlements,
reversed (bounced) payments and the small-difference tolerance per currency."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from openbill.adapters.sql.tables import ExactDecimal, Stamp, metadata

__all__ = ["exchange_rates", "fx_allocations", "payment_reversals", "receivables_settings"]

# 1 `from_currency` = `rate` `to_currency`, valid from `rate_date` until the next rate.
exchange_rates = Table(
    "exchange_rates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("rate_date", Date, nullable=False),
    Column("from_currency", String(3), nullable=False),
    Column("to_currency", String(3), nullable=False),
    Column("rate", ExactDecimal(), nullable=False),
    Column("source", String(60), nullable=False, default=""),
    Column("created_at", Stamp, nullable=False),
    UniqueConstraint("entity_id", "from_currency", "to_currency", "rate_date"),
)

# The conversion of one allocation whose payment is in another currency than its invoice
# (append-only). The allocation row holds the invoice-currency amount; this row what it cost
# in the payment currency, the rate used and the realised difference in base currency.
fx_allocations = Table(
    "fx_allocations",
    metadata,
    Column("allocation_id", ForeignKey("allocations.id"), primary_key=True),
    Column("payment_id", ForeignKey("payments.id"), nullable=False, index=True),
    Column("payment_currency", String(3), nullable=False),
    Column("payment_minor", BigInteger, nullable=False),
    Column("rate", ExactDecimal(), nullable=False),  # 1 invoice currency = rate payment currency
    Column("base_currency", String(3), nullable=False),
    Column("payment_rate_to_base", ExactDecimal(), nullable=False),
    Column("invoice_rate_to_base", ExactDecimal(), nullable=False),
    Column("received_base_minor", BigInteger, nullable=False),
    Column("carried_base_minor", BigInteger, nullable=False),
    Column("difference_minor", BigInteger, nullable=False),  # received - carried: + is a gain
)

# A payment that bounced or was recalled (append-only): its allocations no longer count.
payment_reversals = Table(
    "payment_reversals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("payment_id", ForeignKey("payments.id"), nullable=False, unique=True),
    Column("reversed_on", Date, nullable=False),
    Column("reason", String(300), nullable=False),
    Column("created_at", Stamp, nullable=False),
)

receivables_settings = Table(
    "receivables_settings",
    metadata,
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    # A short payment leaving at most this much open is closed with a small-difference write-off.
    Column("tolerance_minor", BigInteger, nullable=False),
    Column("updated_at", Stamp, nullable=False),
    PrimaryKeyConstraint("entity_id", "currency"),
)

APPEND_ONLY_FX = ("fx_allocations", "payment_reversals")
