"""Pages of records for the API and the web pages: customers, invoices and payments in the
order they were made, a bounded page at a time, resumed from where the last page ended.

Keyset pagination: a page ends at the id of its last record and the next one starts after it,
so records added meanwhile never shift a page or show twice. A filter on the derived status of
an invoice (paid, overdue ...) is applied after reading; a page then reads at most
MAX_SCAN_ROWS records and may hold fewer than asked, with the place to continue from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from openbill.domain.invoice import DocumentKind, DocumentStatus
from openbill.domain.rejections import InvalidInput, NotFound
from openbill.ports import UnitOfWork
from openbill.usecases._support import choice, entity_by_code, revision
from openbill.usecases.reports import _open_for_people, _status

__all__ = [
    "MAX_PAGE_SIZE",
    "MAX_SCAN_ROWS",
    "Page",
    "InvoiceFilter",
    "PaymentFilter",
    "customers_page",
    "customer_record",
    "invoices_page",
    "payments_page",
]

MAX_PAGE_SIZE = 200
MAX_SCAN_ROWS = 5_000  # records read for one page when a derived-status filter drops most
_SCAN_BATCH = 500


@dataclass(frozen=True, slots=True)
class Page:
    rows: tuple[dict[str, Any], ...]
    after_id: int | None  # where the next page starts; None: this was the last page


@dataclass(frozen=True, slots=True)
class InvoiceFilter:
    customer: str = ""
    kind: str = ""  # invoice or credit_note
    status: str = ""  # a derived status: draft, issued, partially_paid, paid, overdue ...
    date_from: date | None = None
    date_to: date | None = None
    number: str = ""


@dataclass(frozen=True, slots=True)
class PaymentFilter:
    customer: str = ""
    date_from: date | None = None
    date_to: date | None = None


def _size(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"a page holds 1 to {MAX_PAGE_SIZE} records", field="limit")
    return limit


def _customer_id(uow: UnitOfWork, entity_id: int, code: str) -> int:
    row = uow.customers.by_code(entity_id, code)
    return int(row.id) if row is not None else -1  # no such customer: an empty page


def _dates(date_from: date | None, date_to: date | None) -> None:
    if date_from and date_to and date_from > date_to:
        raise InvalidInput("date_from is after date_to", field="date_from")


def customer_view(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    data["revision"] = revision(row)
    return data


def customers_page(
    uow: UnitOfWork, entity: str, after_id: int, limit: int, search: str = ""
) -> Page:
    with uow:
        entity_id = entity_by_code(uow, entity).id
        rows = uow.customers.page(entity_id, after_id, _size(limit) + 1, search)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(tuple(customer_view(r) for r in rows), int(rows[-1].id) if more and rows else None)


def customer_record(uow: UnitOfWork, entity: str, code: str) -> dict[str, Any]:
    with uow:
        entity_id = entity_by_code(uow, entity).id
        row = uow.customers.by_code(entity_id, code)
        if row is None:
            raise NotFound(f"no customer with code {code!r}", record="customer", field="code")
        return customer_view(uow.customers.locked(row.id))


def invoices_page(
    uow: UnitOfWork,
    entity: str,
    after_id: int,
    limit: int,
    wanted: InvoiceFilter = InvoiceFilter(),
    as_of: date | None = None,
) -> Page:
    _size(limit)
    _dates(wanted.date_from, wanted.date_to)
    if wanted.kind:
        choice(wanted.kind, DocumentKind, "invoices", "kind")
    if wanted.status:
        choice(wanted.status, DocumentStatus, "invoices", "status")
    found: list[dict[str, Any]] = []
    with uow:
        entity_id = entity_by_code(uow, entity).id
        today = as_of or uow.clock.today()
        filters: dict[str, Any] = {
            "kind": wanted.kind,
            "number": wanted.number,
            "date_from": wanted.date_from,
            "date_to": wanted.date_to,
        }
        if wanted.customer:
            filters["customer_id"] = _customer_id(uow, entity_id, wanted.customer)
        if wanted.status:
            # Drafts are stored as such; every other status is derived from an issued one.
            filters["status"] = "draft" if wanted.status == "draft" else "issued"
        # Without a derived-status filter every record read is on the page: read no more.
        size = _SCAN_BATCH if wanted.status else limit
        cursor, scanned = after_id, 0
        while len(found) < limit and scanned < MAX_SCAN_ROWS:
            batch = uow.documents.page(entity_id, filters, cursor, size)
            if not batch:
                return Page(tuple(found), None)
            ids = [int(r.id) for r in batch]
            credited = uow.reports.credited_by_invoice(entity_id, ids)
            written_off = uow.reports.written_off_by_invoice(entity_id, ids)
            for r in batch:
                scanned += 1
                cursor = int(r.id)
                open_minor = int(r.open_minor)
                derived = _status(
                    r, open_minor, credited.get(r.id, 0), today, written_off.get(r.id, 0)
                )
                if wanted.status and derived != wanted.status:
                    continue
                found.append(_invoice_row(r, derived, open_minor))
                if len(found) == limit:
                    break
            if len(batch) < size and cursor == ids[-1] and len(found) < limit:
                return Page(tuple(found), None)
        more = uow.documents.page(entity_id, filters, cursor, 1)
    return Page(tuple(found), cursor if more else None)


def _invoice_row(r: Any, derived: str, open_minor: int) -> dict[str, Any]:
    return {
        "id": int(r.id),
        "number": r.number or "",
        "kind": r.kind,
        "status": derived,
        "customer": r.customer_code,
        "document_date": r.document_date,
        "due_date": r.due_date,
        "currency": r.currency,
        "total_minor": int(r.total_minor),
        "open_minor": _open_for_people(r.kind, open_minor),
    }


def payments_page(
    uow: UnitOfWork,
    entity: str,
    after_id: int,
    limit: int,
    wanted: PaymentFilter = PaymentFilter(),
) -> Page:
    _size(limit)
    _dates(wanted.date_from, wanted.date_to)
    with uow:
        entity_id = entity_by_code(uow, entity).id
        filters: dict[str, Any] = {"date_from": wanted.date_from, "date_to": wanted.date_to}
        if wanted.customer:
            filters["customer_id"] = _customer_id(uow, entity_id, wanted.customer)
        rows = uow.money.payments_page(entity_id, filters, after_id, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        # What each payment allocated and its reversal, for the whole page in one statement
        # (as `reports.payment_use` says it: a reversed payment has nothing allocated and
        # nothing left).
        uses = uow.desk.payment_uses([int(r.id) for r in rows])
        out = []
        for r in rows:
            used, reversed_on = uses.get(int(r.id), (0, None))
            if reversed_on is not None:
                used = left = 0
            else:
                left = int(r.amount_minor) - used
            out.append(
                {
                    "id": int(r.id),
                    "customer": r.customer_code,
                    "received_on": r.received_on,
                    "method": r.method,
                    "reference": r.reference,
                    "currency": r.currency,
                    "amount_minor": int(r.amount_minor),
                    "allocated_minor": used,
                    "unallocated_minor": left,
                    "reversed_on": reversed_on,
                }
            )
    return Page(tuple(out), int(rows[-1].id) if more and rows else None)
