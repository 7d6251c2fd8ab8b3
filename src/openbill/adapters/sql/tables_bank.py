"""Tables of bank statements and their reconciliation (issue #5), migration 0010.

    bank_accounts          the entity's bank accounts: IBAN or the bank's account number,
                           currency, and the ledger account their money is booked on
    bank_statements        one row per statement (camt.053, MT940 ...) imported: balances,
                           counts, the file it came from and what its checks found
    bank_lines             every booked entry of every statement, once (unique identity per
                           account: the bank's id, else a fingerprint); append-only
    bank_line_states       where each line stands: new, review or matched, and its live match
    bank_proposals         the candidates the matcher proposed for a line waiting for review
    bank_matches           every decision on a line (automatic or by hand) and every undo of
                           one; append-only
    bank_match_entries     the journal entries a decision accounts for on the bank's ledger
                           account: those it posted and those already in the book it linked
    bank_payers            payers learned from confirmed matches: an IBAN or name -> customer
    bank_settings          per entity: the confidence for automatic posting, typical bank fees,
                           the exchange-rate tolerance
    write_off_reversals    a write-off taken back (an undone early-payment discount or small
                           difference); append-only

Amounts are integer minor units, signed as the bank signs them (+ money in, - money out).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from openbill.adapters.sql.tables import Stamp, metadata

__all__ = [
    "APPEND_ONLY_BANK",
    "bank_accounts",
    "bank_statements",
    "bank_lines",
    "bank_line_states",
    "bank_proposals",
    "bank_matches",
    "bank_match_entries",
    "bank_payers",
    "bank_settings",
    "write_off_reversals",
]

bank_accounts = Table(
    "bank_accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("name", String(60), nullable=False),
    Column("iban", String(34), nullable=False, default=""),
    Column("number", String(60), nullable=False, default=""),  # the bank's own account id
    Column("currency", String(3), nullable=False),
    Column("ledger_account", String(16), nullable=False),
    Column("created_at", Stamp, nullable=False),
    UniqueConstraint("entity_id", "name"),
    UniqueConstraint("entity_id", "ledger_account", "currency"),
)

bank_statements = Table(
    "bank_statements",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("bank_account_id", ForeignKey("bank_accounts.id"), nullable=False),
    Column("format", String(10), nullable=False),
    Column("statement_ref", String(140), nullable=False, default=""),
    Column("sequence", String(40), nullable=False, default=""),
    Column("created_on", Date, nullable=True),
    Column("period_from", Date, nullable=True),
    Column("period_to", Date, nullable=True),
    Column("currency", String(3), nullable=False),
    Column("opening_minor", BigInteger, nullable=True),
    Column("opening_on", Date, nullable=True),
    Column("closing_minor", BigInteger, nullable=True),
    Column("closing_on", Date, nullable=True),
    Column("entries", Integer, nullable=False),
    Column("new_entries", Integer, nullable=False),
    Column("content_key", String(64), nullable=False),  # same statement, same key
    Column("source_name", String(300), nullable=False),
    Column("source_sha256", String(64), nullable=False),
    Column("problems", Text, nullable=False, default="[]"),  # JSON list of plain sentences
    Column("imported_by", String(100), nullable=False),
    Column("imported_at", Stamp, nullable=False),
    UniqueConstraint("bank_account_id", "content_key"),
)

bank_lines = Table(
    "bank_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("bank_account_id", ForeignKey("bank_accounts.id"), nullable=False),
    Column("statement_id", ForeignKey("bank_statements.id"), nullable=False, index=True),
    Column("identity", String(200), nullable=False),
    Column("booking_date", Date, nullable=False),
    Column("value_date", Date, nullable=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("bank_reference", String(140), nullable=False, default=""),
    Column("end_to_end_id", String(140), nullable=False, default=""),
    Column("counterparty_name", Text, nullable=False, default=""),
    Column("counterparty_account", String(60), nullable=False, default=""),
    Column("remittance", Text, nullable=False, default=""),
    Column("creditor_reference", String(60), nullable=False, default=""),
    Column("transaction_code", String(60), nullable=False, default=""),
    Column("return_reason", String(20), nullable=False, default=""),
    Column("instructed_minor", BigInteger, nullable=True),
    Column("instructed_currency", String(3), nullable=False, default=""),
    Column("batch_size", Integer, nullable=False, default=1),
    Column("created_at", Stamp, nullable=False),
    UniqueConstraint("bank_account_id", "identity"),
    Index("ix_bank_lines_account_booked", "bank_account_id", "booking_date"),
)

# Statuses: new (not looked at yet), review (waiting for a person), matched (a live decision).
bank_line_states = Table(
    "bank_line_states",
    metadata,
    Column("line_id", ForeignKey("bank_lines.id"), primary_key=True),
    Column("status", String(12), nullable=False),
    Column("match_id", Integer, nullable=True),
    Column("confidence", Integer, nullable=False, default=0),
    Column("rule", String(40), nullable=False, default=""),
    Column("explanation", String(300), nullable=False, default=""),
    Column("updated_at", Stamp, nullable=False),
    Index("ix_bank_line_states_status", "status"),
)

bank_proposals = Table(
    "bank_proposals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("line_id", ForeignKey("bank_lines.id"), nullable=False),
    Column("rank", Integer, nullable=False),
    Column("confidence", Integer, nullable=False),
    Column("rule", String(40), nullable=False),
    Column("explanation", String(300), nullable=False),
    Column("payload", Text, nullable=False),  # the candidate as JSON
    Column("created_at", Stamp, nullable=False),
    UniqueConstraint("line_id", "rank"),
)

# action: payment | book | return | refund | other | split | undo
bank_matches = Table(
    "bank_matches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("line_id", ForeignKey("bank_lines.id"), nullable=False, index=True),
    Column("action", String(12), nullable=False),
    Column("automatic", Boolean, nullable=False),
    Column("confidence", Integer, nullable=False),
    Column("rule", String(40), nullable=False),
    Column("explanation", String(300), nullable=False),
    Column("detail", Text, nullable=False),  # JSON: what was posted (payments, write-offs ...)
    Column("undoes_id", ForeignKey("bank_matches.id"), nullable=True, unique=True),
    Column("reason", String(300), nullable=False, default=""),
    Column("actor", String(100), nullable=False),
    Column("created_at", Stamp, nullable=False),
)

bank_match_entries = Table(
    "bank_match_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("match_id", ForeignKey("bank_matches.id"), nullable=False, index=True),
    Column("journal_entry_id", ForeignKey("journal_entries.id"), nullable=False, index=True),
    Column("created", Boolean, nullable=False),  # posted by this decision, or linked
    Column("amount_minor", BigInteger, nullable=False),  # on the bank's ledger account
)

bank_payers = Table(
    "bank_payers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("customer_id", ForeignKey("customers.id"), nullable=False),
    Column("iban", String(34), nullable=False, default=""),
    Column("name", String(200), nullable=False, default=""),
    Column("match_id", ForeignKey("bank_matches.id"), nullable=True, index=True),
    Column("created_at", Stamp, nullable=False),
    Index("ix_bank_payers_entity", "entity_id", "customer_id"),
)

bank_settings = Table(
    "bank_settings",
    metadata,
    Column("entity_id", ForeignKey("legal_entities.id"), primary_key=True),
    Column("auto_threshold", Integer, nullable=False),
    Column("fees", Text, nullable=False),  # JSON {"EUR": [250, 500, ...]} in minor units
    Column("fx_tolerance_bps", Integer, nullable=False),
    Column("updated_at", Stamp, nullable=False),
)

write_off_reversals = Table(
    "write_off_reversals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("write_off_id", ForeignKey("write_offs.id"), nullable=False, unique=True),
    Column("reversed_on", Date, nullable=False),
    Column("reason", String(300), nullable=False),
    Column("created_at", Stamp, nullable=False),
)

APPEND_ONLY_BANK = (
    "bank_statements",
    "bank_lines",
    "bank_matches",
    "bank_match_entries",
    "write_off_reversals",
)
