"""Tables of Dunning: policies, steps taken, promises to pay, holds (issue #4), migration 0009.

    dunning_settings       per legal entity: the default policy and the statutory late-payment
                           settings (interest on/off, reference rate, margin, recovery fee)
    dunning_policies       a named policy with its currency, minimum, charge codes, grace days
    dunning_policy_steps   its steps: day relative to the due date, actions, template, fee
    dunning_customers      per customer: the policy (else the entity's default) and language
    dunning_runs           one row per run (not for dry runs), with its counts
    dunning_steps_taken    one row per (invoice, step): unique, which makes runs idempotent
    dunning_run_lines      the run report: actions taken, invoices skipped and why, remarks
    dunning_promises       promises to pay: open -> kept | broken | replaced
    dunning_holds          manual dunning holds and credit holds, released with a reason

Amounts are integer minor units, rates exact decimals (ExactDecimal).
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

from openbill.adapters.sql.tables import ExactDecimal, Stamp, metadata

__all__ = [
    "dunning_settings",
    "dunning_policies",
    "dunning_policy_steps",
    "dunning_customers",
    "dunning_runs",
    "dunning_steps_taken",
    "dunning_run_lines",
    "dunning_promises",
    "dunning_holds",
]

dunning_policies = Table(
    "dunning_policies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("code", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("currency", String(3), nullable=False),  # of the late fees and the minimum
    Column("minimum_minor", BigInteger, nullable=False),
    Column("fee_charge_code", String(32), nullable=False),
    Column("interest_charge_code", String(32), nullable=False),
    Column("promise_grace_days", Integer, nullable=False),
    Column("created_at", Stamp, nullable=False),
    UniqueConstraint("entity_id", "code"),
)

dunning_policy_steps = Table(
    "dunning_policy_steps",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("policy_id", ForeignKey("dunning_policies.id"), nullable=False),
    Column("step_no", Integer, nullable=False),
    Column("offset_days", Integer, nullable=False),
    Column("actions", String(120), nullable=False),  # e.g. "late_fee+reminder"
    Column("template", String(64), nullable=False),
    Column("fee_minor", BigInteger, nullable=False),
    UniqueConstraint("policy_id", "step_no"),
)

dunning_settings = Table(
    "dunning_settings",
    metadata,
    Column("entity_id", ForeignKey("legal_entities.id"), primary_key=True),
    Column("default_policy_id", ForeignKey("dunning_policies.id")),
    Column("interest_enabled", Boolean, nullable=False),
    Column("reference_rate", ExactDecimal, nullable=False),  # percent a year
    Column("margin", ExactDecimal, nullable=False),  # percentage points
    Column("recovery_fee_minor", BigInteger, nullable=False),
    Column("recovery_fee_currency", String(3), nullable=False),
    Column("updated_at", Stamp, nullable=False),
)

dunning_customers = Table(
    "dunning_customers",
    metadata,
    Column("customer_id", ForeignKey("customers.id"), primary_key=True),
    Column("policy_id", ForeignKey("dunning_policies.id")),  # NULL: the entity's default
    Column("language", String(8)),  # NULL: from the customer's country
    Column("updated_at", Stamp, nullable=False),
)

dunning_runs = Table(
    "dunning_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("status", String(16), nullable=False),  # running | finished
    Column("invoices_seen", Integer, nullable=False),
    Column("steps_taken", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),
    Column("fee_invoices", Integer, nullable=False),
    Column("emails", Integer, nullable=False),
    Column("message", Text, nullable=False),
    Column("started_at", Stamp, nullable=False),
    Column("finished_at", Stamp),
)
Index("ix_dunning_runs_entity_as_of", dunning_runs.c.entity_id, dunning_runs.c.as_of)

dunning_steps_taken = Table(
    "dunning_steps_taken",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("document_id", ForeignKey("documents.id"), nullable=False),
    Column("customer_id", ForeignKey("customers.id"), nullable=False),
    Column("step_no", Integer, nullable=False),
    Column("policy_id", ForeignKey("dunning_policies.id"), nullable=False),
    Column("run_id", ForeignKey("dunning_runs.id"), nullable=False),
    Column("taken_on", Date, nullable=False),  # the run's as-of date
    Column("actions", String(120), nullable=False),
    Column("dunned_minor", BigInteger, nullable=False),  # open and undisputed at the time
    Column("fee_minor", BigInteger, nullable=False),  # late fee and recovery fee charged
    Column("interest_minor", BigInteger, nullable=False),  # late interest charged
    Column("recovery_fee", Boolean, nullable=False),  # the statutory recovery fee was charged
    Column("fee_document_id", ForeignKey("documents.id"), index=True),
    Column("outbox_message_id", ForeignKey("outbox_messages.id")),
    Column("skipped", Text, nullable=False),  # "action: reason; ..." of actions that did nothing
    Column("created_at", Stamp, nullable=False),
    UniqueConstraint("document_id", "step_no"),
)

dunning_run_lines = Table(
    "dunning_run_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("dunning_runs.id"), nullable=False, index=True),
    Column("customer_id", ForeignKey("customers.id"), nullable=False),
    Column("document_id", ForeignKey("documents.id"), index=True),
    Column("step_no", Integer),
    Column("outcome", String(8), nullable=False),  # taken | skipped | note
    Column("reason", String(40), nullable=False),  # the action(s), skip reason or remark
    Column("detail", Text, nullable=False),
)

dunning_promises = Table(
    "dunning_promises",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("customer_id", ForeignKey("customers.id"), nullable=False, index=True),
    Column("made_on", Date, nullable=False),
    Column("pay_by", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("note", String(500), nullable=False),
    Column("status", String(12), nullable=False),  # open | kept | broken | replaced
    Column("closed_on", Date),
    Column("created_by", String(100), nullable=False),
    Column("created_at", Stamp, nullable=False),
)

dunning_holds = Table(
    "dunning_holds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("legal_entities.id"), nullable=False),
    Column("customer_id", ForeignKey("customers.id"), nullable=False),
    Column("kind", String(8), nullable=False),  # dunning | credit
    Column("reason", String(500), nullable=False),
    Column("source", String(8), nullable=False),  # manual | step
    Column("document_id", ForeignKey("documents.id")),  # the invoice whose step set it
    Column("set_by", String(100), nullable=False),
    Column("set_at", Stamp, nullable=False),
    Column("released_at", Stamp),
    Column("released_by", String(100)),
    Column("release_reason", String(500)),
)
# The issuing hot path asks "is this customer on credit hold?" for every invoice: one lookup
# on this index (customer, kind, released_at IS NULL).
Index(
    "ix_dunning_holds_active",
    dunning_holds.c.customer_id,
    dunning_holds.c.kind,
    dunning_holds.c.released_at,
)
