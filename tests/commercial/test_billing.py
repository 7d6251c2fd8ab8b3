"""Contracts, purchase orders, delivery imports and the billing run, against a real book
(SQLite, or PostgreSQL on the PostgreSQL pass). Figures are computed by hand in the comments.

The book (tests/fixtures_book.py): customer C1 (EUR, domestic, 19 % VAT), WIDGET 12.50,
BOOK 9.99 (7 %), TRAINING 100.00 (exempt), all from 2020-01-01.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from fixtures_book import ENTITY, row_counts

from openbill.domain.commercial import DELIVERY_FIELDS
from openbill.domain.rejections import InvalidInput
from openbill.usecases import commercial as com
from openbill.usecases import invoices as inv

HEADER = ",".join(DELIVERY_FIELDS[:-1]) + "\n"  # every column but description


def _uow(book):
    return book.uow()


def contract(book, number="K1", customer="C1", **kw):
    kw.setdefault("valid_from", date(2026, 1, 1))
    return com.create_contract(_uow(book), com.CreateContract(ENTITY, number, customer, **kw))


def deliveries(book, body, name="d.csv", keep_good=False):
    return com.import_deliveries(
        _uow(book), com.ImportDeliveries(ENTITY, HEADER + body, name, keep_good=keep_good)
    )


def prepare(book, through=date(2026, 3, 31), on=date(2026, 3, 31)):
    return com.prepare_billing(_uow(book), com.PrepareBilling(ENTITY, through, on))


def drafts(result):
    return [d for d in result.documents if d.kind == "draft"]


def lines_of(book, document_id):
    with book.uow(read_only=True) as uow:
        return [
            (ln.description.split(" ")[1], ln.quantity, ln.unit_price, int(ln.net_minor))
            for ln in uow.documents.lines(document_id)
        ]


def test_contract_price_overrides_catalog_from_its_date(book):
    contract(book, grouping="per_delivery")
    com.add_contract_price(
        _uow(book), com.AddContractPrice(ENTITY, "K1", "WIDGET", date(2026, 2, 1), "10.00")
    )
    deliveries(
        book,
        "D-1,shipment,C1,K1,,,WIDGET,2026-01-31,,4,,,,,\n"  # before the contract price: catalog
        "D-2,shipment,C1,K1,,,WIDGET,2026-02-01,,4,3,,,,\n",  # 3 accepted at 10.00
    )
    result = prepare(book)
    assert [(d.deliveries, d.net_minor) for d in drafts(result)] == [
        (("D-1",), 5000),  # 4 x 12.50 = 50.00
        (("D-2",), 3000),  # 3 x 10.00 = 30.00
    ]
    first, second = drafts(result)
    assert lines_of(book, second.document_id) == [("D-2", Decimal(3), Decimal("10.00"), 3000)]
    with book.uow(read_only=True) as uow:
        doc = uow.documents.get(first.document_id)
        # 50.00 + 19 % = 59.50
        assert (doc.status, int(doc.tax_minor), int(doc.total_minor)) == ("draft", 950, 5950)


def test_discount_applies_to_catalog_prices_and_contract_terms_to_the_draft(book):
    contract(book, discount_percent="10", payment_terms="net14")
    deliveries(book, "D-1,shipment,C1,,,,WIDGET,2026-01-10,,2,,,,,\n")  # contract found by date
    (draft,) = drafts(prepare(book))
    # 12.50 less 10 % = 11.25; 2 x 11.25 = 22.50
    assert draft.net_minor == 2250
    with book.uow(read_only=True) as uow:
        assert uow.documents.get(draft.document_id).payment_terms == "net14"


def test_grouping_per_po_and_per_period(book):
    contract(book, "K1", "C1", grouping="per_po")
    contract(book, "K3", "C3", grouping="per_period", period="month")
    for number in ("PO-A", "PO-B"):
        com.create_purchase_order(_uow(book), com.CreatePurchaseOrder(ENTITY, "C1", number))
        com.add_po_line(_uow(book), com.AddPoLine(ENTITY, "C1", number, 1, "WIDGET"))
    deliveries(
        book,
        "A1,shipment,C1,K1,PO-A,1,WIDGET,2026-01-05,,1,,,,,\n"
        "A2,shipment,C1,K1,PO-A,,WIDGET,2026-02-05,,2,,,,,\n"
        "B1,shipment,C1,K1,PO-B,1,WIDGET,2026-01-06,,3,,,,,\n"
        "N1,shipment,C1,K1,,,WIDGET,2026-01-07,,4,,,,,\n"
        "J1,shipment,C3,K3,,,WIDGET,2026-01-01,,1,,,,,\n"
        "J2,shipment,C3,K3,,,BOOK,2026-01-31,,1,,,,,\n"
        "F1,shipment,C3,K3,,,WIDGET,2026-02-01,,1,,,,,\n",
    )
    result = drafts(prepare(book))
    got = sorted((d.customer, d.deliveries, d.net_minor) for d in result)
    assert got == [
        ("C1", ("A1", "A2"), 3750),  # PO-A: 3 x 12.50
        ("C1", ("B1",), 3750),  # PO-B: 3 x 12.50
        ("C1", ("N1",), 5000),  # no PO: 4 x 12.50
        ("C3", ("F1",), 1250),  # February
        ("C3", ("J1", "J2"), 2249),  # January: 12.50 + 9.99
    ]
    with book.uow(read_only=True) as uow:
        refs = {d.deliveries: uow.documents.get(d.document_id).buyer_reference for d in result}
    assert (refs[("A1", "A2")], refs[("B1",)], refs[("N1",)]) == ("PO-A", "PO-B", "")


def test_po_consumption_ceilings_and_nothing_billed_twice(book):
    contract(book, grouping="per_delivery", po_required=True)
    com.create_purchase_order(
        _uow(book), com.CreatePurchaseOrder(ENTITY, "C1", "PO-1", valid_to=date(2026, 6, 30))
    )
    com.add_po_line(_uow(book), com.AddPoLine(ENTITY, "C1", "PO-1", 1, "WIDGET", quantity="10"))
    deliveries(
        book,
        "D-1,shipment,C1,K1,PO-1,1,WIDGET,2026-01-05,,4,,,,,\n"
        "D-2,shipment,C1,K1,PO-1,1,WIDGET,2026-01-06,,5,,,,,\n"
        "D-3,shipment,C1,K1,PO-1,1,WIDGET,2026-01-07,,3,,,,,\n"  # 4 + 5 + 3 > 10
        "D-4,shipment,C1,K1,,,WIDGET,2026-01-08,,1,,,,,\n",  # the contract requires a PO
    )
    result = prepare(book)
    assert [d.deliveries for d in drafts(result)] == [("D-1",), ("D-2",)]
    assert [(h.delivery, h.field) for h in result.held] == [("D-3", "quantity"), ("D-4", "po")]
    (line,) = com.list_purchase_orders(_uow(book), ENTITY)
    # 9 units at 12.50 = 112.50 used of PO-1 line 1
    assert (line["used_quantity"], line["used_minor"]) == (Decimal(9), 11250)
    before = row_counts(book)
    again = prepare(book)
    assert drafts(again) == [] and row_counts(book) == before


def test_milestones_and_timesheets(book):
    contract(book, grouping="per_period")
    com.create_purchase_order(_uow(book), com.CreatePurchaseOrder(ENTITY, "C1", "PO-9"))
    com.add_po_line(
        _uow(book), com.AddPoLine(ENTITY, "C1", "PO-9", 1, "TRAINING", amount_ceiling="5000.00")
    )
    deliveries(
        book,
        "M-1,milestone,C1,,PO-9,1,TRAINING,2026-01-10,,,,,,30,\n"  # 30 % of 5000.00 = 1500.00
        "M-2,milestone,C1,,,,TRAINING,2026-01-11,,,,,,,250.00\n"  # fixed 250.00
        "T-1,timesheet,C1,,,,TRAINING,2026-01-12,,,,7.5,trainer,,\n"  # 7.5 h x 100.00 = 750.00
        "T-2,timesheet,C1,,,,TRAINING,2026-01-13,pending,,,2,trainer,,\n",  # not confirmed
    )
    (draft,) = drafts(prepare(book))
    assert draft.deliveries == ("M-1", "M-2", "T-1")
    assert draft.net_minor == 150000 + 25000 + 75000


def _issue(book, draft_id):
    return inv.issue_draft(book.uow(), inv.IssueDraft(ENTITY, draft_id, date(2026, 3, 31)))


def test_corrected_delivery_after_issue_gives_a_credit_note(book):
    deliveries(book, "D-1,shipment,C1,,,,WIDGET,2026-01-05,,10,,,,,\n")
    (draft,) = drafts(prepare(book))
    issued = _issue(book, draft.document_id)
    assert issued.total_minor == 14875  # 125.00 + 23.75 VAT
    corrected = deliveries(book, "D-1,shipment,C1,,,,WIDGET,2026-01-05,,10,7,,,,\n")
    assert (corrected.created, corrected.corrected) == (0, 1)
    result = prepare(book, on=date(2026, 4, 2))
    (credit,) = result.documents
    # 3 x 12.50 = 37.50 taken back; VAT 7.125 -> 7.13; credit note total 44.63
    assert (credit.kind, credit.net_minor, credit.deliveries) == ("credit_note", -3750, ("D-1",))
    with book.uow(read_only=True) as uow:
        note = uow.documents.by_number(uow.entities.by_code(ENTITY).id, credit.number)
        assert (note.kind, int(note.total_minor), note.credited_document_id) == (
            "credit_note",
            4463,
            issued.id,
        )
    assert prepare(book, on=date(2026, 4, 2)).documents == ()  # nothing taken back twice
    # raising the accepted quantity again bills the difference on a new draft
    deliveries(book, "D-1,shipment,C1,,,,WIDGET,2026-01-05,,10,9,,,,\n")
    (extra,) = prepare(book, on=date(2026, 4, 3)).documents
    assert (extra.kind, extra.net_minor) == ("draft", 2500)  # 2 x 12.50
    (row, billed, docs) = com.list_deliveries(_uow(book), ENTITY)[0]
    assert billed == Decimal(9) and len(docs) == 3


def test_corrected_delivery_before_issue_gives_a_correcting_line(book):
    deliveries(book, "D-1,shipment,C1,,,,WIDGET,2026-01-05,,10,,,,,\n")
    (draft,) = drafts(prepare(book))
    deliveries(book, "D-1,shipment,C1,,,,WIDGET,2026-01-05,,10,6,,,,\n")
    (fix,) = prepare(book).documents
    assert (fix.kind, fix.document_id, fix.net_minor) == (
        "correcting_line",
        draft.document_id,
        -5000,
    )
    assert lines_of(book, draft.document_id) == [
        ("D-1", Decimal(10), Decimal("12.50"), 12500),
        ("of", Decimal(-4), Decimal("12.50"), -5000),  # "Correction of D-1 (revision 2)"
    ]
    assert prepare(book).documents == ()


def test_import_errors_name_file_line_field_and_change_nothing(book):
    before = row_counts(book)
    body = (
        "D-1,shipment,C1,,,,WIDGET,2026-01-05,,10,,,,,\n"
        "D-2,shipment,C9,,,,WIDGET,2026-01-05,,10,,,,,\n"  # line 3: no such customer
        "D-3,shipment,C1,,,,WIDGET,2026-01-05,,ten,,,,,\n"  # line 4: not a number
        "D-1,shipment,C1,,,,WIDGET,2026-01-05,,10,,,,,\n"  # line 5: twice in the file
    )
    with pytest.raises(com.ImportRejected) as caught:
        deliveries(book, body, name="january.csv")
    assert [(e.source, e.line, e.field) for e in caught.value.errors] == [
        ("january.csv", 3, "customer"),
        ("january.csv", 4, "shipped"),
        ("january.csv", 5, "ref"),
    ]
    assert isinstance(caught.value, InvalidInput)
    assert row_counts(book) == before
    kept = deliveries(book, body, name="january.csv", keep_good=True)
    assert (kept.created, len(kept.errors)) == (1, 3)
    assert dict(kept.errors[0].raw)["customer"] == "C9"


def test_invoiced_delivery_cannot_change_customer_and_import_is_audited(book):
    deliveries(book, "D-1,shipment,C1,,,,WIDGET,2026-01-05,,10,,,,,\n")
    prepare(book)
    with pytest.raises(com.ImportRejected) as caught:
        deliveries(book, "D-1,shipment,C3,,,,WIDGET,2026-01-05,,10,,,,,\n")
    assert caught.value.errors[0].field == "customer"
    with book.uow(read_only=True) as uow:
        actions = [a.action for a in uow.audit.for_record("delivery", "1")]
    assert actions == ["delivery.created"]


def test_contract_refusals(book):
    with pytest.raises(InvalidInput):
        contract(book, grouping="per_week")
    contract(book)
    assert not contract(book).created  # the same contract again changes nothing
    with pytest.raises(InvalidInput):
        contract(book, discount_percent="5")
