"""Verification of drafts against contracts, purchase orders and deliveries.

Book: customer C1 (EUR, 19 %), WIDGET 12.50 in the catalog. Figures worked out by hand.
"""

from __future__ import annotations

from datetime import date

from fixtures_book import ENTITY

from openbill.domain.commercial import DELIVERY_FIELDS
from openbill.usecases import commercial as com
from openbill.usecases import invoices as inv
from openbill.usecases import verification as ver

HEADER = ",".join(DELIVERY_FIELDS[:-1]) + "\n"


def _setup(book, po_required=False):
    com.create_contract(
        book.uow(),
        com.CreateContract(
            ENTITY, "K1", "C1", date(2026, 1, 1), grouping="per_delivery", po_required=po_required
        ),
    )
    com.add_contract_price(
        book.uow(), com.AddContractPrice(ENTITY, "K1", "WIDGET", date(2026, 1, 1), "10.00")
    )


def _rules(book, draft_id):
    ver.verify_draft(book.uow(), ver.VerifyDraft(ENTITY, draft_id))
    return sorted(
        (d["rule"], d["severity"])
        for d in ver.list_discrepancies(book.uow(read_only=True), ENTITY)
        if d["document_id"] == draft_id and d["severity"] == "block"
    )


def test_a_hand_typed_draft_is_checked_against_the_contract_price(book):
    _setup(book)
    # The catalog says 12.50, contract K1 says 10.00 from 2026-01-01.
    draft = inv.create_draft(
        book.uow(),
        inv.CreateDraft(ENTITY, "C1", date(2026, 3, 2), lines=(inv.LineSpec("WIDGET", "2"),)),
    )
    assert _rules(book, draft.id) == [("price_differs_from_contract", "block")]
    # Typed at the contract price, the draft is clean.
    ok = inv.create_draft(
        book.uow(),
        inv.CreateDraft(
            ENTITY, "C1", date(2026, 3, 2), lines=(inv.LineSpec("WIDGET", "2", unit_price="10"),)
        ),
    )
    assert _rules(book, ok.id) == []


def test_a_contract_that_requires_a_po_blocks_a_draft_without_one(book):
    _setup(book, po_required=True)
    draft = inv.create_draft(
        book.uow(),
        inv.CreateDraft(
            ENTITY, "C1", date(2026, 3, 2), lines=(inv.LineSpec("WIDGET", "1", unit_price="10"),)
        ),
    )
    assert _rules(book, draft.id) == [("po_missing", "block")]


def test_prepared_draft_is_clean_until_its_po_expires_or_its_quantity_is_raised(book):
    _setup(book, po_required=True)
    com.create_purchase_order(
        book.uow(), com.CreatePurchaseOrder(ENTITY, "C1", "PO-1", valid_to=date(2026, 3, 31))
    )
    com.add_po_line(book.uow(), com.AddPoLine(ENTITY, "C1", "PO-1", 1, "WIDGET", quantity="10"))
    com.import_deliveries(
        book.uow(),
        com.ImportDeliveries(
            ENTITY, HEADER + "D-1,shipment,C1,K1,PO-1,1,WIDGET,2026-03-05,,4,3,,,,\n", "d.csv"
        ),
    )
    result = com.prepare_billing(
        book.uow(), com.PrepareBilling(ENTITY, date(2026, 3, 31), date(2026, 3, 31))
    )
    [draft] = [d for d in result.documents if d.kind == "draft"]
    # 3 accepted x 10.00 (contract) = 30.00: price, quantity and PO all agree.
    assert _rules(book, draft.document_id) == []
    # Raising the quantity on the draft beyond the 3 accepted is caught.
    with book.uow() as uow:
        uow.connection.exec_driver_sql(
            f"UPDATE document_lines SET quantity = '5' WHERE document_id = {int(draft.document_id)}"
        )
        uow.commit()
    assert _rules(book, draft.document_id) == [("quantity_exceeds_delivery", "block")]
    # Issued after PO-1 ran out (valid to 2026-03-31): the PO check blocks the issue.
    with book.uow() as uow:
        uow.connection.exec_driver_sql(
            f"UPDATE document_lines SET quantity = '3' WHERE document_id = {int(draft.document_id)}"
        )
        uow.connection.exec_driver_sql(
            f"UPDATE documents SET document_date = '2026-04-02' WHERE id = {int(draft.document_id)}"
        )
        uow.commit()
    assert ("po_expired", "block") in _rules(book, draft.document_id)


def test_a_billing_run_verifies_every_draft_it_makes(book):
    _setup(book)
    ver.set_settings(book.uow(), ver.SetVerificationSettings(ENTITY, approval_threshold="20.00"))
    com.import_deliveries(
        book.uow(),
        com.ImportDeliveries(
            ENTITY, HEADER + "D-1,shipment,C1,K1,,,WIDGET,2026-03-05,,3,3,,,,\n", "d.csv"
        ),
    )
    result = com.prepare_billing(
        book.uow(), com.PrepareBilling(ENTITY, date(2026, 3, 31), date(2026, 3, 31))
    )
    [draft] = [d for d in result.documents if d.kind == "draft"]
    # 3 x 10.00 = 30.00 + 5.70 = 35.70 > 20.00: in the queue without anyone asking for it.
    queued = [
        (d["document_id"], d["rule"])
        for d in ver.list_discrepancies(book.uow(read_only=True), ENTITY)
        if d["severity"] == "block"
    ]
    assert queued == [(draft.document_id, "approval_required")]
