"""Read-only views: documents, aging, ledger balances, customer balances, one document whole.

Every number here is derived from journal postings and allocations when asked for; nothing is
read from a stored balance.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from openbill.domain.fx import convert_minor
from openbill.domain.invoice import DocumentKind, DocumentStatus, document_status
from openbill.domain.ledger import ACCOUNT_NAMES, Account
from openbill.domain.reference import creditor_reference, printable
from openbill.domain.rejections import NotFound
from openbill.ports import UnitOfWork
from openbill.usecases._support import MAX_LIST_ROWS, document_by_number, entity_by_code
from openbill.usecases.fx import rate_between

__all__ = [
    "DEFAULT_BUCKETS",
    "AgingRow",
    "aging",
    "aging_in_base",
    "BaseRate",
    "ledger_balances",
    "list_documents",
    "show_document",
    "document_view",
    "customer_balances",
    "list_payments",
]

# Upper bounds in days past due of each bucket after "current"; the last bucket is open-ended.
DEFAULT_BUCKETS = (30, 60, 90)


def bucket_labels(bounds: tuple[int, ...]) -> list[str]:
    labels = ["current"]
    low = 1
    for high in bounds:
        labels.append(f"{low}-{high}")
        low = high + 1
    labels.append(f"{bounds[-1]}+" if bounds else "overdue")
    return labels


def bucket_of(days_past_due: int, bounds: tuple[int, ...]) -> int:
    if days_past_due <= 0:
        return 0
    for index, high in enumerate(bounds, start=1):
        if days_past_due <= high:
            return index
    return len(bounds) + 1


@dataclass(frozen=True, slots=True)
class AgingRow:
    customer: str
    name: str
    currency: str
    buckets: tuple[int, ...]
    total_minor: int
    credit_minor: int = 0  # unapplied cash held for the customer (shown apart)
    base_currency: str = ""
    base_total_minor: int | None = None  # the total in base currency; None: no rate
    base_buckets: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class BaseRate:
    currency: str
    rate: Decimal | None  # 1 currency = rate base currency; None: no rate within a week
    rate_date: date | None


def aging(
    uow: UnitOfWork, entity_code: str, as_of: date, bounds: tuple[int, ...] = DEFAULT_BUCKETS
) -> tuple[list[str], list[AgingRow]]:
    """Open receivables on `as_of`, by customer and currency, in days-past-due buckets.

    A document's open amount on a date is the sum of its receivable postings dated on or before
    that date, so the report can be run for any past date. Unused credit notes count as current
    (negative); unapplied cash appears in its own column.
    """
    labels, out, _ = aging_in_base(uow, entity_code, as_of, bounds)
    return labels, out


def aging_in_base(
    uow: UnitOfWork, entity_code: str, as_of: date, bounds: tuple[int, ...] = DEFAULT_BUCKETS
) -> tuple[list[str], list[AgingRow], list[BaseRate]]:
    """The aging report with each row also valued in the entity's base currency at the rate of
    `as_of` (the latest stored rate up to a week old). A currency without a rate is listed with
    rate None and its rows carry no base value, so a missing rate is visible, never guessed."""
    with uow:
        entity = entity_by_code(uow, entity_code)
        rows = uow.reports.open_items(entity.id, as_of)
        credits = uow.reports.credit_balances(entity.id, as_of)
        base = entity.base_currency
        currencies = sorted({r.currency for r in rows} | {r.currency for r in credits})
        rates: dict[str, BaseRate] = {}
        for currency in currencies:
            try:
                found = rate_between(uow, entity, currency, base, as_of)
                rates[currency] = BaseRate(currency, found.rate, found.rate_date)
            except NotFound:
                rates[currency] = BaseRate(currency, None, None)
    width = len(bounds) + 2
    sums: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0] * width)
    for row in rows:
        days = (as_of - row.due_date).days if row.kind == DocumentKind.INVOICE else 0
        sums[(row.customer_code, row.customer_name, row.currency)][bucket_of(days, bounds)] += int(
            row.open_minor
        )
    credit_by = {(r.customer_code, r.customer_name, r.currency): -int(r.balance) for r in credits}
    keys = sorted(set(sums) | {k for k, v in credit_by.items() if v})
    out = []
    for k in keys:
        buckets = tuple(sums[k]) if k in sums else tuple([0] * width)
        rate = rates[k[2]].rate
        base_buckets = (
            tuple(convert_minor(b, k[2], base, rate) for b in buckets) if rate is not None else None
        )
        out.append(
            AgingRow(
                k[0],
                k[1],
                k[2],
                buckets,
                sum(buckets),
                credit_by.get(k, 0),
                base,
                sum(base_buckets) if base_buckets is not None else None,
                base_buckets,
            )
        )
    return bucket_labels(bounds), out, [rates[c] for c in currencies]


@dataclass(frozen=True, slots=True)
class BalanceRow:
    account: str
    name: str
    currency: str
    debit_minor: int
    credit_minor: int
    balance_minor: int


def ledger_balances(uow: UnitOfWork, entity_code: str | None = None) -> list[BalanceRow]:
    with uow:
        entity_id = entity_by_code(uow, entity_code).id if entity_code else None
        rows = uow.ledger.balances(entity_id)
        names = {
            account: "Revenue: " + ", ".join(codes)
            for account, codes in _revenue_accounts(uow).items()
        }
    return [
        BalanceRow(
            r.account,
            ACCOUNT_NAMES.get(r.account) or names.get(r.account, "Revenue"),
            r.currency,
            int(r.debit_minor),
            -int(r.credit_minor),
            int(r.balance_minor),
        )
        for r in rows
    ]


def _revenue_accounts(uow: UnitOfWork) -> dict[str, list[str]]:
    """The charge codes posting to each revenue account."""
    codes: dict[str, list[str]] = defaultdict(list)
    for entity in uow.entities.all():
        for code in uow.catalog.charge_codes(entity.id):
            codes[code.revenue_account].append(code.code)
    return codes


@dataclass(frozen=True, slots=True)
class DocumentRow:
    id: int
    number: str
    kind: str
    status: str
    customer: str
    document_date: str
    due_date: str
    currency: str
    total_minor: int
    open_minor: int


def list_documents(
    uow: UnitOfWork,
    entity_code: str,
    *,
    customer: str = "",
    kind: str = "",
    status: str = "",
    as_of: date | None = None,
    limit: int = 1000,
) -> list[DocumentRow]:
    with uow:
        entity = entity_by_code(uow, entity_code)
        today = as_of or uow.clock.today()
        filters: dict[str, Any] = {"kind": kind}
        if customer:
            row = uow.customers.by_code(entity.id, customer)
            filters["customer_id"] = row.id if row else -1
        rows = uow.documents.listing(entity.id, filters, min(limit, MAX_LIST_ROWS))
        credited = uow.reports.credited_by_invoice(entity.id)
        written_off = uow.reports.written_off_by_invoice(entity.id)
    out = []
    for r in rows:
        derived = _status(
            r, int(r.open_minor), credited.get(r.id, 0), today, written_off.get(r.id, 0)
        )
        if status and derived != status:
            continue
        out.append(
            DocumentRow(
                r.id,
                r.number or f"draft {r.id}",
                r.kind,
                derived,
                r.customer_code,
                r.document_date.isoformat(),
                r.due_date.isoformat() if r.due_date else "",
                r.currency,
                int(r.total_minor),
                _open_for_people(r.kind, int(r.open_minor)),
            )
        )
    return out


def _open_for_people(kind: str, open_minor: int) -> int:
    # A credit note's receivable is negative; people think of "credit left" as positive.
    return -open_minor if kind == DocumentKind.CREDIT_NOTE else open_minor


def _status(row: Any, open_minor: int, credited: int, today: date, written_off: int = 0) -> str:
    status = document_status(
        DocumentKind(row.kind),
        row.status == "issued",
        int(row.total_minor),
        _open_for_people(row.kind, open_minor),
        credited,
        row.due_date,
        today,
    )
    # Closed, but not by the customer paying: say so rather than "paid".
    if status is DocumentStatus.PAID and written_off > 0:
        return DocumentStatus.WRITTEN_OFF.value
    return status.value


@dataclass
class DocumentView:
    header: dict[str, Any]
    lines: list[dict[str, Any]]
    taxes: list[dict[str, Any]]
    settlements: list[dict[str, Any]] = field(default_factory=list)
    write_offs: list[dict[str, Any]] = field(default_factory=list)
    adjustments: list[dict[str, Any]] = field(default_factory=list)


def show_document(
    uow: UnitOfWork, entity_code: str, number: str, as_of: date | None = None
) -> DocumentView:
    with uow:
        return document_view(uow, entity_by_code(uow, entity_code), number, as_of)


def document_view(
    uow: UnitOfWork, entity: Any, number: str, as_of: date | None = None
) -> DocumentView:
    """`show_document` inside an entered unit of work (the web desk's invoice page reads the
    document and its history in one transaction)."""
    if number.isdigit():
        doc = uow.documents.get(int(number))
        if doc is None or doc.entity_id != entity.id:
            doc = document_by_number(uow, entity.id, number)
    else:
        doc = document_by_number(uow, entity.id, number)
    customer = uow.customers.get(doc.customer_id)
    open_minor = uow.ledger.document_open(doc.id)
    credited = uow.reports.credited_by_invoice(entity.id, [doc.id]).get(doc.id, 0)
    written_off = uow.reports.written_off_by_invoice(entity.id, [doc.id]).get(doc.id, 0)
    header = dict(doc._mapping)
    header.update(
        customer_code=customer.code,
        customer_name=customer.name,
        open_minor=_open_for_people(doc.kind, open_minor),
        derived_status=_status(doc, open_minor, credited, as_of or uow.clock.today(), written_off),
        # The ISO 11649 creditor reference a payer quotes: payments carrying it are
        # allocated to this invoice (openbill payments record / import).
        payment_reference=(
            printable(creditor_reference(doc.number))
            if doc.kind == DocumentKind.INVOICE and doc.number
            else ""
        ),
    )
    lines = [dict(r._mapping) for r in uow.documents.lines(doc.id)]
    taxes = [dict(r._mapping) for r in uow.documents.taxes(doc.id)]
    settlements = [dict(r._mapping) for r in uow.reports.settlements(doc.id)]
    write_offs = [dict(r._mapping) for r in uow.reports.write_offs_of(doc.id)]
    adjustments = [dict(r._mapping) for r in uow.documents.adjustments(doc.id)]
    return DocumentView(header, lines, taxes, settlements, write_offs, adjustments)


@dataclass(frozen=True, slots=True)
class CustomerBalance:
    customer: str
    name: str
    currency: str
    receivable_minor: int
    credit_minor: int
    balance_minor: int


def customer_balances(uow: UnitOfWork, entity_code: str) -> list[CustomerBalance]:
    with uow:
        entity = entity_by_code(uow, entity_code)
        rows = uow.reports.customer_accounts(entity.id)
    by: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        by[(r.customer_code, r.customer_name, r.currency)][r.account] += int(r.balance)
    out = []
    for (code, name, currency), accounts in sorted(by.items()):
        receivable = accounts.get(Account.RECEIVABLE.value, 0)
        credit = -accounts.get(Account.CUSTOMER_CREDIT.value, 0)
        out.append(CustomerBalance(code, name, currency, receivable, credit, receivable - credit))
    return out


def payment_use(uow: UnitOfWork, payment: Any) -> tuple[int, int, Any]:
    """(allocated, unallocated, reversal or None) of a payment row; a reversed payment has
    nothing allocated and nothing left."""
    reversal = uow.fx.reversal_of(payment.id)
    if reversal is not None:
        return 0, 0, reversal
    used = int(uow.money.payment_used(payment.id))
    return used, int(payment.amount_minor) - used, None


def list_payments(uow: UnitOfWork, entity_code: str, limit: int = 1000) -> list[dict[str, Any]]:
    with uow:
        entity = entity_by_code(uow, entity_code)
        rows = uow.money.payments(entity.id, min(limit, MAX_LIST_ROWS))
        out = []
        for r in rows:
            used, left, reversal = payment_use(uow, r)
            out.append(
                {
                    "id": r.id,
                    "customer": r.customer_code,
                    "received_on": r.received_on.isoformat(),
                    "method": r.method,
                    "reference": r.reference,
                    "currency": r.currency,
                    "amount_minor": int(r.amount_minor),
                    "allocated_minor": used,
                    "unallocated_minor": left,
                    "status": f"reversed {reversal.reversed_on}" if reversal is not None else "",
                }
            )
    return out
