"""Pages and single records of invoicing's preparation for the API: the catalog (tax rules,
charge codes, prices), contracts, purchase orders, deliveries, drafts, the discrepancy queue,
verification settings, mail preferences and the outbox.

Like `usecases.pages`: keyset pages in the order the records were made, a bounded page at a
time, resumed after the id the last page ended on, so that records added meanwhile never shift
a page. A lookup of one record refuses a record of another legal entity as if it did not exist
(NotFound), so an id guessed across entities tells nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from openbill.domain.rejections import InvalidInput, NotFound
from openbill.ports import UnitOfWork
from openbill.usecases import reports
from openbill.usecases._support import choice, entity_by_code, plain
from openbill.usecases.mailing import MessageStatus, _shown_status, preferences_revision
from openbill.usecases.pages import Page, _customer_id, _dates, _size
from openbill.usecases.verification import settings_revision

__all__ = [
    "ContractFilter",
    "DeliveryFilter",
    "DiscrepancyFilter",
    "OutboxFilter",
    "PriceFilter",
    "DocumentRecord",
    "DraftRecord",
    "document_record",
    "entity_record",
    "tax_rules_page",
    "tax_rule_record",
    "charge_codes_page",
    "charge_code_record",
    "prices_page",
    "price_record",
    "contracts_page",
    "contract_record",
    "purchase_orders_page",
    "purchase_order_record",
    "deliveries_page",
    "delivery_record",
    "draft_record",
    "discrepancies_page",
    "discrepancy_record",
    "verification_settings_record",
    "mail_preferences_page",
    "mail_preferences_record",
    "outbox_page",
    "outbox_record",
]

_DISCREPANCY_STATUSES = ("open", "resolved", "overridden")
_DELIVERY_STATUSES = ("confirmed", "pending", "to_bill")


def _paged(rows: Any, limit: int) -> tuple[list[Any], int | None]:
    """The first `limit` of `limit + 1` rows read, and where the next page starts."""
    more = len(rows) > limit
    kept = list(rows[:limit])
    return kept, int(kept[-1].id) if more and kept else None


def _one_of(value: str, allowed: tuple[str, ...], record: str, field_name: str) -> None:
    if value and value not in allowed:
        raise InvalidInput(
            f"{value!r} is not one of: {', '.join(allowed)}", record=record, field=field_name
        )


def _by_id(rows: Any, record: str, key: object) -> Any:
    if not rows:
        raise NotFound(f"no {record} {key}", record=record, field="id")
    return rows[0]


# ---------------------------------------------------------------------------------------------
# legal entity and catalog


def entity_record(uow: UnitOfWork, entity: str) -> dict[str, Any]:
    with uow:
        return plain(entity_by_code(uow, entity))


def tax_rules_page(uow: UnitOfWork, entity: str, after_id: int, limit: int) -> Page:
    with uow:
        entity_id = entity_by_code(uow, entity).id
        rows, after = _paged(
            uow.commercial.tax_rules_page(entity_id, after_id, _size(limit) + 1), limit
        )
    return Page(tuple(plain(r) for r in rows), after)


def tax_rule_record(uow: UnitOfWork, entity: str, rule_id: int) -> dict[str, Any]:
    with uow:
        entity_id = entity_by_code(uow, entity).id
        rows = uow.commercial.tax_rules_page(entity_id, rule_id - 1, 1)
        rows = [r for r in rows if int(r.id) == rule_id]
        return plain(_by_id(rows, "tax rule", rule_id))


def charge_codes_page(uow: UnitOfWork, entity: str, after_id: int, limit: int) -> Page:
    with uow:
        entity_id = entity_by_code(uow, entity).id
        rows = uow.commercial.charge_codes_page(entity_id, after_id, _size(limit) + 1)
        rows, after = _paged(rows, limit)
    return Page(tuple(plain(r) for r in rows), after)


def charge_code_record(uow: UnitOfWork, entity: str, code: str) -> dict[str, Any]:
    with uow:
        entity_id = entity_by_code(uow, entity).id
        row = uow.catalog.charge_code(entity_id, code)
        if row is None:
            raise NotFound(f"no charge code {code!r}", record="charge code", field="code")
        return plain(row)


@dataclass(frozen=True, slots=True)
class PriceFilter:
    charge_code: str = ""
    currency: str = ""


def prices_page(
    uow: UnitOfWork, entity: str, after_id: int, limit: int, wanted: PriceFilter = PriceFilter()
) -> Page:
    filters = {"charge_code": wanted.charge_code, "currency": wanted.currency.upper()}
    with uow:
        entity_id = entity_by_code(uow, entity).id
        rows = uow.commercial.prices_page(entity_id, filters, after_id, _size(limit) + 1)
        rows, after = _paged(rows, limit)
    return Page(tuple(plain(r) for r in rows), after)


def price_record(uow: UnitOfWork, entity: str, price_id: int) -> dict[str, Any]:
    with uow:
        entity_id = entity_by_code(uow, entity).id
        rows = uow.commercial.prices_page(entity_id, {"id": price_id}, 0, 1)
        return plain(_by_id(rows, "price", price_id))


# ---------------------------------------------------------------------------------------------
# contracts and purchase orders


@dataclass(frozen=True, slots=True)
class ContractFilter:
    customer: str = ""
    active_on: date | None = None  # in force on this date


def contracts_page(
    uow: UnitOfWork,
    entity: str,
    after_id: int,
    limit: int,
    wanted: ContractFilter = ContractFilter(),
) -> Page:
    with uow:
        entity_id = entity_by_code(uow, entity).id
        filters: dict[str, Any] = {"active_on": wanted.active_on}
        if wanted.customer:
            filters["customer_id"] = _customer_id(uow, entity_id, wanted.customer)
        rows = uow.commercial.contracts_page(entity_id, filters, after_id, _size(limit) + 1)
        rows, after = _paged(rows, limit)
    return Page(tuple(plain(r) for r in rows), after)


def contract_record(uow: UnitOfWork, entity: str, number: str) -> dict[str, Any]:
    """A contract with its negotiated prices (by charge code, then date)."""
    with uow:
        entity_id = entity_by_code(uow, entity).id
        rows = uow.commercial.contracts_page(entity_id, {"number": number}, 0, 1)
        if not rows:
            raise NotFound(f"no contract {number!r}", record="contract", field="number")
        found = plain(rows[0])
        found["prices"] = [plain(p) for p in uow.commercial.contract_prices([rows[0].id])]
        return found


def _with_lines(uow: UnitOfWork, orders: list[Any]) -> list[dict[str, Any]]:
    repo = uow.commercial
    lines = repo.po_lines_of([int(o.id) for o in orders])
    used = repo.po_consumption([int(ln.id) for ln in lines])
    by_order: dict[int, list[dict[str, Any]]] = {}
    for ln in lines:
        quantity, net_minor = used.get(int(ln.id), (Decimal(0), 0))
        by_order.setdefault(int(ln.po_id), []).append(
            {**plain(ln), "used_quantity": Decimal(quantity), "used_minor": int(net_minor)}
        )
    return [{**plain(o), "lines": by_order.get(int(o.id), [])} for o in orders]


def purchase_orders_page(
    uow: UnitOfWork, entity: str, after_id: int, limit: int, customer: str = ""
) -> Page:
    """Purchase orders, each with its lines and what invoices have used of each line."""
    with uow:
        entity_id = entity_by_code(uow, entity).id
        filters: dict[str, Any] = {}
        if customer:
            filters["customer_id"] = _customer_id(uow, entity_id, customer)
        rows = uow.commercial.purchase_orders_page(entity_id, filters, after_id, _size(limit) + 1)
        rows, after = _paged(rows, limit)
        return Page(tuple(_with_lines(uow, rows)), after)


def purchase_order_record(
    uow: UnitOfWork, entity: str, customer: str, number: str
) -> dict[str, Any]:
    with uow:
        entity_id = entity_by_code(uow, entity).id
        filters = {"customer_id": _customer_id(uow, entity_id, customer), "number": number}
        rows = uow.commercial.purchase_orders_page(entity_id, filters, 0, 1)
        if not rows:
            raise NotFound(
                f"no purchase order {number!r} of customer {customer!r}",
                record="purchase order",
                field="number",
            )
        return _with_lines(uow, list(rows))[0]


# ---------------------------------------------------------------------------------------------
# deliveries


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    customer: str = ""
    status: str = ""  # confirmed | pending | to_bill (what the next billing run looks at)
    date_from: date | None = None
    date_to: date | None = None


def _with_billings(uow: UnitOfWork, rows: list[Any]) -> list[dict[str, Any]]:
    billings: dict[int, list[Any]] = {}
    for b in uow.commercial.billings([int(r.id) for r in rows]):
        billings.setdefault(int(b.delivery_id), []).append(b)
    out = []
    for r in rows:
        mine = billings.get(int(r.id), [])
        out.append(
            {
                **plain(r),
                "billed_quantity": sum((b.quantity for b in mine), Decimal(0)),
                "billings": [
                    {
                        "document_id": int(b.document_id),
                        "document_number": b.document_number or "",
                        "document_kind": b.document_kind,
                        "document_status": b.document_status,
                        "line_no": int(b.line_no),
                        "quantity": b.quantity,
                        "net_minor": int(b.net_minor),
                        "revision": int(b.revision),
                    }
                    for b in mine
                ],
            }
        )
    return out


def deliveries_page(
    uow: UnitOfWork,
    entity: str,
    after_id: int,
    limit: int,
    wanted: DeliveryFilter = DeliveryFilter(),
) -> Page:
    """Deliveries, each with what billed it (billed quantity, documents and lines)."""
    _size(limit)
    _dates(wanted.date_from, wanted.date_to)
    _one_of(wanted.status, _DELIVERY_STATUSES, "deliveries", "status")
    filters: dict[str, Any] = {
        "date_from": wanted.date_from,
        "date_to": wanted.date_to,
        "confirmed": {"confirmed": True, "pending": False}.get(wanted.status),
        "to_bill": wanted.status == "to_bill",
    }
    with uow:
        entity_id = entity_by_code(uow, entity).id
        if wanted.customer:
            filters["customer_id"] = _customer_id(uow, entity_id, wanted.customer)
        rows = uow.commercial.deliveries_page(entity_id, filters, after_id, limit + 1)
        rows, after = _paged(rows, limit)
        return Page(tuple(_with_billings(uow, rows)), after)


def delivery_record(uow: UnitOfWork, entity: str, ref: str) -> dict[str, Any]:
    with uow:
        entity_id = entity_by_code(uow, entity).id
        rows = uow.commercial.deliveries_page(entity_id, {"ref": ref}, 0, 1)
        if not rows:
            raise NotFound(f"no delivery {ref!r}", record="delivery", field="ref")
        return _with_billings(uow, list(rows))[0]


# ---------------------------------------------------------------------------------------------
# drafts and the discrepancy queue


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """A document whole (reports.DocumentView) with the charge code of each line and, for a
    credit note, the number of the invoice it credits."""

    view: reports.DocumentView
    charge_codes: dict[int, str]  # charge_code_id -> code
    credited_number: str


def document_record(uow: UnitOfWork, entity: str, number: str) -> DocumentRecord:
    """An issued document by number (or any document of the entity by id)."""
    view = reports.show_document(uow, entity, number)
    with uow:
        codes: dict[int, str] = {}
        for line in view.lines:
            code_id = int(line["charge_code_id"])
            if code_id not in codes:
                codes[code_id] = uow.catalog.charge_code_by_id(code_id).code
        credited = ""
        if view.header.get("credited_document_id"):
            invoice = uow.documents.get(int(view.header["credited_document_id"]))
            credited = (invoice.number or "") if invoice is not None else ""
    return DocumentRecord(view, codes, credited)


@dataclass(frozen=True, slots=True)
class DraftRecord:
    document: DocumentRecord
    findings: tuple[dict[str, Any], ...]
    approval: dict[str, Any] | None


def draft_record(uow: UnitOfWork, entity: str, draft_id: int) -> DraftRecord:
    """A draft (or the document it was issued as) with its findings and its approval."""
    with uow:
        entity_id = entity_by_code(uow, entity).id
        doc = uow.documents.get(draft_id)
        if doc is None or doc.entity_id != entity_id:
            raise NotFound(f"no draft with id {draft_id}", record="draft", field="id")
    document = document_record(uow, entity, str(draft_id))
    with uow:
        findings = tuple(plain(f) for f in uow.verification.findings(draft_id))
        approval = uow.verification.approval(draft_id)
        return DraftRecord(document, findings, plain(approval) if approval is not None else None)


@dataclass(frozen=True, slots=True)
class DiscrepancyFilter:
    status: str = ""  # open, resolved or overridden; empty: all
    customer: str = ""
    draft_id: int | None = None


def discrepancies_page(
    uow: UnitOfWork,
    entity: str,
    after_id: int,
    limit: int,
    wanted: DiscrepancyFilter = DiscrepancyFilter(),
) -> Page:
    _size(limit)
    _one_of(wanted.status, _DISCREPANCY_STATUSES, "discrepancies", "status")
    filters: dict[str, Any] = {"status": wanted.status, "document_id": wanted.draft_id}
    with uow:
        entity_id = entity_by_code(uow, entity).id
        if wanted.customer:
            filters["customer_id"] = _customer_id(uow, entity_id, wanted.customer)
        rows = uow.verification.queue_page(entity_id, filters, after_id, limit + 1)
        rows, after = _paged(rows, limit)
    return Page(tuple(plain(r) for r in rows), after)


def discrepancy_record(uow: UnitOfWork, entity: str, discrepancy_id: int) -> dict[str, Any]:
    with uow:
        entity_id = entity_by_code(uow, entity).id
        rows = uow.verification.queue_page(entity_id, {"id": discrepancy_id}, 0, 1)
        if not rows:
            raise NotFound(
                f"no discrepancy with id {discrepancy_id}", record="discrepancy", field="id"
            )
        return plain(rows[0])


def verification_settings_record(uow: UnitOfWork, entity: str) -> dict[str, Any]:
    """The entity's verification settings (the defaults while none were saved), with the
    revision a change names."""
    with uow:
        found = entity_by_code(uow, entity)
        row = uow.verification.settings(found.id)
        return {
            "approval_threshold_minor": None if row is None else row.approval_threshold_minor,
            "duplicate_window_days": 30 if row is None else int(row.duplicate_window_days),
            "price_tolerance": Decimal("0" if row is None else row.price_tolerance),
            "currency": found.base_currency,
            "revision": settings_revision(row),
        }


# ---------------------------------------------------------------------------------------------
# mail preferences and the outbox


def _preferences(uow: UnitOfWork, customer: Any) -> dict[str, Any]:
    row = uow.outbox.preferences(customer.id)
    return {
        "customer": customer.code,
        "email_to": row.email_to if row is not None else "",
        "customer_email": customer.email or "",
        "attach_xml": row.attach_xml if row is not None else "none",
        "revision": preferences_revision(row),
    }


def mail_preferences_page(uow: UnitOfWork, entity: str, after_id: int, limit: int) -> Page:
    """Where each customer's documents go, customers in the order they were created."""
    with uow:
        entity_id = entity_by_code(uow, entity).id
        rows, after = _paged(uow.customers.page(entity_id, after_id, _size(limit) + 1), limit)
        return Page(tuple(_preferences(uow, c) for c in rows), after)


def mail_preferences_record(uow: UnitOfWork, entity: str, customer: str) -> dict[str, Any]:
    with uow:
        entity_id = entity_by_code(uow, entity).id
        row = uow.customers.by_code(entity_id, customer)
        if row is None:
            raise NotFound(f"no customer with code {customer!r}", record="customer", field="code")
        return _preferences(uow, row)


@dataclass(frozen=True, slots=True)
class OutboxFilter:
    status: str = ""  # queued, sending, sent, failed or unknown; empty: all


# The stored statuses a shown status can come from: a message `sending` for longer than the
# lease is shown `unknown`.
_STORED = {
    "queued": ("queued",),
    "sending": ("sending",),
    "sent": ("sent",),
    "failed": ("failed",),
    "unknown": ("sending", "unknown"),
}


def _message(row: Any, now: Any) -> dict[str, Any]:
    return {**plain(row), "status": _shown_status(row, now)}


def outbox_page(
    uow: UnitOfWork,
    entity: str,
    after_id: int,
    limit: int,
    wanted: OutboxFilter = OutboxFilter(),
) -> Page:
    """Outbox messages in the order they were queued. A page may hold fewer than `limit`
    when a status filter drops messages whose shown status differs from the stored one."""
    _size(limit)
    if wanted.status:
        choice(wanted.status, MessageStatus, "outbox", "status")
    filters = {"statuses": _STORED.get(wanted.status, ())}
    with uow:
        entity_id = entity_by_code(uow, entity).id
        now = uow.clock.now()
        rows, after = _paged(uow.outbox.page(entity_id, filters, after_id, limit + 1), limit)
    shown = [_message(r, now) for r in rows]
    return Page(tuple(m for m in shown if not wanted.status or m["status"] == wanted.status), after)


def outbox_record(uow: UnitOfWork, entity: str, message_id: int) -> dict[str, Any]:
    """One message of the entity with every delivery attempt."""
    with uow:
        entity_id = entity_by_code(uow, entity).id
        rows = uow.outbox.page(entity_id, {"id": message_id}, 0, 1)
        if not rows:
            raise NotFound(f"no outbox message {message_id}", record="outbox message", field="id")
        found = _message(rows[0], uow.clock.now())
        found["attempt_rows"] = [plain(a) for a in uow.outbox.attempts(message_id)]
        return found
