"""Contract, purchase-order and delivery facts for the verification of a draft.

A draft made by `billing prepare` knows, line by line, which deliveries it bills (the
delivery_billings links); a draft typed by hand still falls under the customer's contract in
force on its date. From those records this module fills in what the rules of
`domain.verification` compare: the negotiated price, the delivered and accepted quantities, the
purchase order and what is left under its ceiling, and the contract's terms.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from decimal import Decimal
from typing import Any

from openbill.domain.commercial import ContractPrice, DeliveryKind, contract_price
from openbill.domain.verification import (
    ContractFacts,
    DraftFacts,
    LineFacts,
    PurchaseOrderFacts,
)
from openbill.ports import UnitOfWork

__all__ = ["add_commercial_facts"]


def _contract_in_force(uow: UnitOfWork, customer_id: int, on: Any) -> Any:
    found = None
    for row in uow.commercial.contracts_of_customer(customer_id):
        if row.valid_from <= on and (row.valid_to is None or on <= row.valid_to):
            found = row  # the latest one starting on or before the date
    return found


def add_commercial_facts(uow: UnitOfWork, doc: Any, facts: DraftFacts) -> DraftFacts:
    repo = uow.commercial
    billings = repo.billings_of_document(doc.id)
    deliveries = repo.deliveries_by_id([b.delivery_id for b in billings])
    by_line: dict[int, list[Any]] = defaultdict(list)
    for billing in billings:
        by_line[int(billing.line_no)].append(billing)
    contract_ids = {d.contract_id for d in deliveries.values() if d.contract_id is not None}
    if len(contract_ids) == 1:
        contract = repo.contracts_by_id(list(contract_ids))[next(iter(contract_ids))]
    elif not contract_ids:
        contract = _contract_in_force(uow, doc.customer_id, doc.document_date)
    else:
        contract = None  # a draft across contracts: each line is still checked on its own
    prices = (
        [
            ContractPrice(p.charge_code, p.effective_from, p.unit_price)
            for p in repo.contract_prices([contract.id])
        ]
        if contract is not None
        else []
    )
    po_line_ids = [b.po_line_id for b in billings if b.po_line_id is not None]
    po_lines = repo.po_lines_by_id(po_line_ids)
    consumed = repo.po_consumption(po_line_ids)
    own: dict[int, int] = defaultdict(int)
    for billing in billings:
        if billing.po_line_id is not None:
            own[int(billing.po_line_id)] += int(billing.net_minor)
    lines = []
    for line in facts.lines:
        lines.append(
            _line(
                line,
                by_line.get(line.line_no, []),
                deliveries,
                prices,
                po_lines,
                consumed,
                own,
                doc.document_date,
            )
            if line.quantity > 0
            else line  # correcting lines take back what an earlier line billed
        )
    contract_facts = (
        ContractFacts(
            contract.number,
            contract.currency,
            bool(contract.po_required),
            valid_from=contract.valid_from,
            valid_to=contract.valid_to,
        )
        if contract is not None
        else facts.contract
    )
    return replace(facts, lines=tuple(lines), contract=contract_facts)


def _line(
    line: LineFacts,
    billings: list[Any],
    deliveries: dict[int, Any],
    prices: list[ContractPrice],
    po_lines: dict[int, Any],
    consumed: dict[int, tuple[Any, int]],
    own: dict[int, int],
    draft_date: Any,
) -> LineFacts:
    billed = [deliveries[b.delivery_id] for b in billings if b.delivery_id in deliveries]
    priced_by_contract = not billed or all(
        d.kind != DeliveryKind.MILESTONE and d.fixed_price is None for d in billed
    )
    # Deliveries are priced on their own date; a line typed by hand on the draft's date.
    on = max((d.delivered_on for d in billed), default=draft_date)
    negotiated = contract_price(prices, line.charge_code, on) if priced_by_contract else None
    shipped = [d.shipped if d.shipped is not None else d.quantity for d in billed]
    accepted = [d.accepted for d in billed if d.accepted is not None]
    po = None
    po_line_id = next((b.po_line_id for b in billings if b.po_line_id is not None), None)
    if po_line_id is not None and po_line_id in po_lines:
        row = po_lines[po_line_id]
        ceiling = row.amount_ceiling_minor
        used = consumed.get(po_line_id, (0, 0))[1] - own.get(po_line_id, 0)
        po = PurchaseOrderFacts(
            row.po_number,
            row.valid_from,
            row.valid_to,
            None if ceiling is None else int(ceiling) - used,
        )
    return replace(
        line,
        contract_price=negotiated,
        delivered=sum(shipped, Decimal(0)) if billed and priced_by_contract else None,
        accepted=sum(accepted, Decimal(0)) if accepted and len(accepted) == len(billed) else None,
        po=po,
    )
