"""Customer statements: what a customer owed at the start of a period, every document, payment,
refund and write-off in it with the running balance, and what they owe at its end.

Every figure is derived from journal postings when asked for, never stored. A customer's
balance is the sum of their receivable (1100) and customer-credit (2100) postings: invoices
raise it, credit notes, payments and write-offs lower it, refunds of unapplied cash raise it
again. Applying a payment or a credit note to an invoice moves money inside that sum and is not
a line of the statement. The closing balance therefore equals the customer's balance in
`customer_balances` as of the end date.

Amounts of different currencies are never added: a statement has one section per currency.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from openbill.domain.rejections import InvalidInput, NotFound
from openbill.ports import UnitOfWork
from openbill.usecases._support import entity_by_code

__all__ = [
    "MAX_STATEMENT_DAYS",
    "MAX_STATEMENT_LINES",
    "Movement",
    "Party",
    "Parties",
    "Statement",
    "StatementLine",
    "StatementQueries",
    "StatementSection",
    "build_section",
    "customer_statement",
    "parties",
]

# A statement covers at most about ten years and lists at most this many lines; a longer
# history is asked for in several periods.
MAX_STATEMENT_DAYS = 3_660
MAX_STATEMENT_LINES = 10_000


class StatementQueries(Protocol):
    """The reads a statement needs (adapters.sql.statement_queries implements them)."""

    def balances_before(self, entity_id: int, customer_id: int, before: date) -> dict[str, int]: ...

    def movements(
        self, entity_id: int, customer_id: int, start: date, end: date, limit: int
    ) -> Sequence[Any]: ...


QueriesFactory = Callable[[UnitOfWork], StatementQueries]


@dataclass(frozen=True, slots=True)
class Party:
    """A seller or buyer as printed on documents."""

    code: str
    name: str
    country: str
    address: str = ""
    vat_id: str = ""
    tax_number: str = ""
    iban: str = ""
    email: str = ""


@dataclass(frozen=True, slots=True)
class Parties:
    seller: Party
    buyer: Party


@dataclass(frozen=True, slots=True)
class Movement:
    """One journal entry's effect on the customer's balance (debit > 0: they owe more)."""

    on: date
    kind: str  # invoice, credit_note, payment, refund, write_off
    reference: str  # document number, payment reference, invoice written off
    description: str
    due_date: date | None
    currency: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class StatementLine:
    on: date
    kind: str
    reference: str
    description: str
    due_date: date | None
    debit_minor: int  # what the line adds to the balance
    credit_minor: int  # what the line takes off the balance, as a positive number
    balance_minor: int  # the running balance after the line


@dataclass(frozen=True, slots=True)
class StatementSection:
    currency: str
    opening_minor: int
    lines: tuple[StatementLine, ...]
    debits_minor: int
    credits_minor: int
    closing_minor: int


@dataclass(frozen=True, slots=True)
class Statement:
    parties: Parties
    start: date
    end: date
    sections: tuple[StatementSection, ...]


def build_section(currency: str, opening_minor: int, moves: Iterable[Movement]) -> StatementSection:
    """The lines of one currency with their running balance (pure)."""
    balance = opening_minor
    lines = []
    for move in moves:
        if move.currency != currency:
            raise InvalidInput(f"a {move.currency} movement in the {currency} section")
        balance += move.amount_minor
        lines.append(
            StatementLine(
                move.on,
                move.kind,
                move.reference,
                move.description,
                move.due_date,
                max(move.amount_minor, 0),
                max(-move.amount_minor, 0),
                balance,
            )
        )
    debits = sum(line.debit_minor for line in lines)
    credits = sum(line.credit_minor for line in lines)
    return StatementSection(currency, opening_minor, tuple(lines), debits, credits, balance)


def _party(row: Any) -> Party:
    return Party(
        row.code,
        row.name,
        row.country,
        row.address or "",
        row.vat_id or "",
        row.tax_number or "",
        row.iban or "",
        row.email or "",
    )


def _customer(uow: UnitOfWork, entity_id: int, code: str) -> Any:
    row = uow.customers.by_code(entity_id, code)
    if row is None:
        raise NotFound(f"no customer with code {code!r}", record="customer", field="code")
    return row


def parties(uow: UnitOfWork, entity_code: str, customer_code: str) -> Parties:
    """Seller (the legal entity) and buyer (the customer) as they are printed on documents."""
    with uow:
        entity = entity_by_code(uow, entity_code)
        return Parties(_party(entity), _party(_customer(uow, entity.id, customer_code)))


def _movement(row: Any) -> Movement:
    kind = row.document_kind or row.kind
    due = row.due_date if row.source_table == "documents" else None
    if row.source_table == "documents":
        reference = row.document_number or ""
        description = "Invoice" if kind == "invoice" else "Credit note"
        if row.credited_number:
            description += f" for {row.credited_number}"
        if row.document_reason:
            description += f": {row.document_reason}"
    elif row.source_table == "payments":
        reference = row.payment_reference or ""
        description = f"Payment ({row.payment_method.replace('_', ' ')})"
    elif row.source_table == "refunds":
        reference = row.refund_reference or ""
        description = f"Refund ({row.refund_method.replace('_', ' ')})"
    elif row.source_table == "write_offs":
        reference = row.write_off_number or ""
        description = f"Write-off: {row.write_off_reason}"
    elif kind == "payment_reversal":
        # "payment 46 from SAAS-021 reversed: returned direct debit, reason AM04 (...)"
        reference = ""
        description = "Payment returned: " + row.description.partition("reversed: ")[2]
    elif kind == "fx_allocation":
        # "payment 48 to INV-2026-000026: 1 USD = 0.9041591320 EUR", a line per currency
        target, _, rate = row.description.partition(" to ")[2].partition(": ")
        reference = target
        description = f"Payment converted at {rate}"
    else:
        reference, description = "", row.description
    return Movement(
        _as_date(row.entry_date),
        kind,
        reference,
        description,
        _as_date(due) if due else None,
        row.currency,
        int(row.amount_minor),
    )


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _shown(row: Any) -> bool:
    # Documents always show (even a zero one); other entries only when they move the balance.
    return row.source_table == "documents" or int(row.amount_minor) != 0


def customer_statement(
    uow: UnitOfWork,
    entity_code: str,
    customer_code: str,
    start: date,
    end: date,
    *,
    queries: QueriesFactory | None = None,
) -> Statement:
    """The statement of one customer for start..end (both inclusive).

    `queries` gives the statement reads of the entered unit of work; without it the unit of
    work's own `statements` repository is used.
    """
    if end < start:
        raise InvalidInput("the period ends before it starts", record="statement", field="to")
    if (end - start).days > MAX_STATEMENT_DAYS:
        raise InvalidInput(
            f"a statement covers at most {MAX_STATEMENT_DAYS} days; ask for shorter periods",
            record="statement",
            field="to",
        )
    with uow:
        entity = entity_by_code(uow, entity_code)
        customer = _customer(uow, entity.id, customer_code)
        reads: StatementQueries = queries(uow) if queries else uow.statements
        opening = reads.balances_before(entity.id, customer.id, start)
        rows = reads.movements(entity.id, customer.id, start, end, MAX_STATEMENT_LINES + 1)
        the_parties = Parties(_party(entity), _party(customer))
    if len(rows) > MAX_STATEMENT_LINES:
        raise InvalidInput(
            f"more than {MAX_STATEMENT_LINES} statement lines; ask for a shorter period",
            record="statement",
            field="from",
        )
    moves = [_movement(row) for row in rows if _shown(row)]
    return Statement(the_parties, start, end, _sections(opening, moves, customer.currency))


def _sections(
    opening: Mapping[str, int], moves: Sequence[Movement], home_currency: str
) -> tuple[StatementSection, ...]:
    # The customer's own currency always has a section, even an empty one; other currencies
    # only when they have a balance or a movement.
    currencies = (
        {home_currency} | {c for c, v in opening.items() if v} | {m.currency for m in moves}
    )
    order = sorted(currencies, key=lambda c: (c != home_currency, c))
    return tuple(
        build_section(c, opening.get(c, 0), [m for m in moves if m.currency == c]) for c in order
    )
