"""Tables of contracts, purchase orders and deliveries (issue #3), migration 0003.

The link from a delivery to the document lines that billed it, and with it the consumption of
purchase-order lines, lives in `delivery_billings` here: existing tables are not altered
(document_lines carries immutability triggers that a SQLite batch alter would drop).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from openbill.adapters.sql.tables import ExactDecimal, Stamp, metadata

__all__ = [
    "contracts",
    "contract_prices",
    "purchase_orders",
    "po_lines",
    "deliveries",
    "delivery_billings",
]

contracts = Table(
    "contracts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("customer_id", ForeignKey("customers.id"), nullable=False, index=True),
    Column("number", String(40), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
    Column("currency", String(3), nullable=False),
    Column("payment_terms", String(32)),  # empty: the customer's terms
    Column("grouping", String(16), nullable=False),  # per_delivery | per_po | per_period
    Column("period", String(8), nullable=False),  # week | month | quarter
    Column("discount_percent", ExactDecimal, nullable=False),
    Column("po_required", Boolean, nullable=False, default=False),
    Column("spending_cap_minor", BigInteger),  # None: no cap
    Column("created_at", Stamp, nullable=False),
    UniqueConstraint("entity_id", "number"),
)

contract_prices = Table(
    "contract_prices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("contract_id", ForeignKey("contracts.id"), nullable=False),
    Column("charge_code_id", ForeignKey("charge_codes.id"), nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("unit_price", ExactDecimal, nullable=False),
    Column("created_at", Stamp, nullable=False),
    UniqueConstraint("contract_id", "charge_code_id", "effective_from"),
)

purchase_orders = Table(
    "purchase_orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("customer_id", ForeignKey("customers.id"), nullable=False),
    Column("contract_id", ForeignKey("contracts.id")),
    Column("number", String(40), nullable=False),
    Column("valid_from", Date),
    Column("valid_to", Date),
    Column("currency", String(3), nullable=False),
    Column("created_at", Stamp, nullable=False),
    UniqueConstraint("customer_id", "number"),
)

po_lines = Table(
    "po_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("po_id", ForeignKey("purchase_orders.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("charge_code_id", ForeignKey("charge_codes.id"), nullable=False),
    Column("quantity", ExactDecimal),  # ceiling on quantity; None: none
    Column("unit_price", ExactDecimal),  # the price the customer ordered at; None: contract
    Column("amount_ceiling_minor", BigInteger),  # ceiling on net amount; None: none
    Column("created_at", Stamp, nullable=False),
    UniqueConstraint("po_id", "line_no"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("ref", String(200), nullable=False),  # the sender's delivery / confirmation number
    Column("kind", String(16), nullable=False),  # shipment | timesheet | milestone
    Column("customer_id", ForeignKey("customers.id"), nullable=False, index=True),
    Column("contract_id", ForeignKey("contracts.id")),
    Column("po_line_id", ForeignKey("po_lines.id")),
    Column("charge_code_id", ForeignKey("charge_codes.id"), nullable=False),
    Column("delivered_on", Date, nullable=False),
    Column("confirmed", Boolean, nullable=False),
    Column("shipped", ExactDecimal),
    Column("accepted", ExactDecimal),
    Column("hours", ExactDecimal),
    Column("role", String(200), nullable=False, default=""),
    Column("percent", ExactDecimal),
    Column("quantity", ExactDecimal, nullable=False),  # billable: accepted/shipped, hours, 1
    Column("fixed_price", ExactDecimal),  # a milestone's amount; None: priced by contract/catalog
    Column("description", String(200), nullable=False, default=""),
    Column("revision", Integer, nullable=False),  # 1, then +1 for every correction
    Column("source", String(200), nullable=False, default=""),
    Column("created_at", Stamp, nullable=False),
    Column("updated_at", Stamp, nullable=False),
    UniqueConstraint("entity_id", "ref"),
)

delivery_billings = Table(
    "delivery_billings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("delivery_id", ForeignKey("deliveries.id"), nullable=False, index=True),
    Column("document_id", ForeignKey("documents.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("po_line_id", ForeignKey("po_lines.id"), index=True),
    # Positive on the line that billed the delivery; negative on a credit-note line or a
    # correcting line, which then names the billing it takes back (`reverses_id`).
    Column("quantity", ExactDecimal, nullable=False),
    Column("unit_price", ExactDecimal, nullable=False),
    Column("net_minor", BigInteger, nullable=False),
    Column("reverses_id", ForeignKey("delivery_billings.id")),
    Column("revision", Integer, nullable=False),  # the delivery revision this billing follows
    Column("created_at", Stamp, nullable=False),
    UniqueConstraint("document_id", "line_no"),
)
