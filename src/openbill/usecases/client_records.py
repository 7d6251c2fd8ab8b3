"""Compare a customer's own list of open items with openbill's records (read-only)."""

from __future__ import annotations

from dataclasses import dataclass

from openbill.domain.client_records import Difference, OurInvoice, compare, parse_client_records
from openbill.ports import UnitOfWork
from openbill.usecases._support import MAX_LIST_ROWS, customer_by_code, entity_by_code

__all__ = ["ReconcileClientRecords", "ClientComparison", "reconcile_client_records"]


@dataclass(frozen=True, slots=True)
class ReconcileClientRecords:
    entity: str
    customer: str
    text: str  # the customer's CSV: their PO, our invoice number, the amount they think is open
    source: str  # the file name, for messages
    currency: str = ""


@dataclass(frozen=True, slots=True)
class ClientComparison:
    currency: str
    differences: tuple[Difference, ...]


def reconcile_client_records(uow: UnitOfWork, cmd: ReconcileClientRecords) -> ClientComparison:
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        customer = customer_by_code(uow, entity.id, cmd.customer)
        currency = (cmd.currency or customer.currency).upper()
        theirs = parse_client_records(cmd.text, cmd.source, currency)
        rows = uow.documents.listing(
            entity.id, {"customer_id": customer.id, "kind": "invoice"}, MAX_LIST_ROWS
        )
        ours = [
            OurInvoice(
                r.number,
                r.buyer_reference or "",
                int(r.total_minor),
                int(r.open_minor),
                "paid" if int(r.open_minor) == 0 else "open",
            )
            for r in rows
            if r.status == "issued" and r.currency == currency
        ]
    return ClientComparison(currency, compare(theirs, ours, currency))
