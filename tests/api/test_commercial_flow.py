"""A billing month as a billing desk does it through the API, each step by the role whose work
it is: contract and purchase order, deliveries imported, drafts prepared, verified, a finding
resolved at its source, approval by a manager, issue, the PDF and the UBL e-invoice downloaded
(the UBL read back), the invoice queued for e-mail, and a credit note. Then the book still
verifies (chains, ledger, numbering) and the audit trail names who did what.

Figures by hand: the contract prices WIDGET at 11.00 (catalog 12.50); TRAINING has no contract
price, so the catalog's 100.00 (exempt). S-1: 40 x 11.00 = 440.00; S-2: 48 accepted of 50 x
11.00 = 528.00; T-1: 8 h x 100.00 = 800.00. One draft for PO-77 (grouped per purchase order):
net 1768.00; tax 19 % of 968.00 = 183.92 and 0 on 800.00; total 1951.92, above the 1000.00
approval threshold."""

from __future__ import annotations

from fixtures_book import verify_clean
from lxml import etree

from openbill.interfaces.api.routes.documents import MEDIA_TYPES

from .conftest import ENTITY
from .test_commercial_deliveries import HEADER

BASE = f"/v1/entities/{ENTITY}"
UBL_NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}


def _ok(reply, status=200):
    assert reply.status_code == status, reply.text
    return reply.json()


def _etag(client, url):
    reply = client.get(url)
    assert reply.status_code == 200, reply.text
    return reply.headers["etag"]


def test_a_billing_month_through_the_api(desk, monkeypatch):
    monkeypatch.setenv("OPENBILL_SMTP_FROM", "billing@acme.example")
    admin, clerk = desk.client("administrator"), desk.client("clerk")
    specialist, manager = desk.client("specialist"), desk.client("manager")
    settings = f"{BASE}/verification/settings"
    _ok(
        admin.patch(
            settings,
            json={"approval_threshold": "1000.00"},
            headers={"If-Match": _etag(admin, settings)},
        )
    )

    # Contract, negotiated price, purchase order with two lines.
    _ok(
        specialist.post(
            f"{BASE}/contracts",
            json={
                "number": "K-2026",
                "customer": "C1",
                "valid_from": "2026-01-01",
                "grouping": "per_po",
                "po_required": True,
            },
        ),
        201,
    )
    price = {"charge_code": "WIDGET", "effective_from": "2026-01-01", "unit_price": "11.00"}
    _ok(specialist.post(f"{BASE}/contracts/K-2026/prices", json=price), 201)
    _ok(
        specialist.post(
            f"{BASE}/purchase-orders",
            json={"customer": "C1", "number": "PO-77", "contract": "K-2026"},
        ),
        201,
    )
    for line in (
        {"line_no": 1, "charge_code": "WIDGET", "quantity": "100"},
        {"line_no": 2, "charge_code": "TRAINING", "amount_ceiling": "2000.00"},
    ):
        _ok(specialist.post(f"{BASE}/purchase-orders/C1/PO-77/lines", json=line), 201)

    # Deliveries, then the billing run.
    deliveries = HEADER + (
        "S-1,shipment,C1,K-2026,PO-77,1,WIDGET,2026-01-05,,40,40,,,,,\n"
        "S-2,shipment,C1,K-2026,PO-77,1,WIDGET,2026-01-12,,50,48,,,,,\n"
        "T-1,timesheet,C1,K-2026,PO-77,2,TRAINING,2026-01-14,,,,8,trainer,,,\n"
    )
    imported = clerk.post(
        f"{BASE}/deliveries/import",
        content=deliveries.encode(),
        headers={"Content-Type": "text/csv", "Idempotency-Key": "jan-deliveries"},
    )
    assert _ok(imported)["created"] == 3
    run = _ok(
        clerk.post(
            f"{BASE}/billing/prepare", json={"through": "2026-01-31", "document_date": "2026-01-31"}
        )
    )
    assert run["held"] == []
    (prepared,) = run["documents"]
    assert (prepared["kind"], prepared["net"], prepared["deliveries"]) == (
        "draft",
        "1768.00",
        ["S-1", "S-2", "T-1"],
    )
    draft_id = prepared["document_id"]
    draft = _ok(clerk.get(f"{BASE}/drafts/{draft_id}"))
    assert (draft["tax"], draft["total"], draft["buyer_reference"]) == (
        "183.92",
        "1951.92",
        "PO-77",
    )
    assert sorted(
        (ln["charge_code"], ln["quantity"], ln["unit_price"]) for ln in draft["lines"]
    ) == [
        ("TRAINING", "8", "100.00"),
        ("WIDGET", "40", "11.00"),
        ("WIDGET", "48", "11.00"),
    ]

    # Verify: the approval blocks; C1's missing address and e-mail are warnings.
    checked = _ok(clerk.post(f"{BASE}/drafts/{draft_id}/verify"))
    assert (checked["open_blocking"], checked["open_warnings"]) == (1, 2)
    found = {
        d["field"]: d
        for d in _ok(clerk.get(f"{BASE}/discrepancies", params={"draft": draft_id}))["data"]
    }
    assert (found["total"]["rule"], found["total"]["severity"]) == ("approval_required", "block")
    refused = specialist.post(f"{BASE}/drafts/{draft_id}/issue", json={"issue_date": "2026-01-31"})
    assert refused.status_code == 409 and refused.json()["field"] == "discrepancies"

    # The source is fixed (the customer's e-mail address), then the finding resolved.
    customer = f"{BASE}/customers/C1"
    _ok(
        specialist.patch(
            customer,
            json={"email": "ap@alpha.example", "address": "Hauptstr. 1, 10115 Berlin"},
            headers={"If-Match": _etag(specialist, customer)},
        )
    )
    resolved = _ok(clerk.post(f"{BASE}/discrepancies/{found['email']['id']}/resolve"))
    assert (resolved["status"], resolved["resolved_by"]) == ("resolved", "clerk")
    approved = _ok(manager.post(f"{BASE}/drafts/{draft_id}/approve"))
    assert approved["open_blocking"] == 0

    issued = _ok(
        specialist.post(f"{BASE}/drafts/{draft_id}/issue", json={"issue_date": "2026-01-31"}),
        201,
    )
    number = issued["number"]
    # net30 from 2026-01-31: 28 days of February and 2 of March.
    assert (number, issued["total"], issued["due_date"]) == (
        "INV-2026-000001",
        "1951.92",
        "2026-03-02",
    )
    po = _ok(clerk.get(f"{BASE}/purchase-orders/C1/PO-77"))
    assert [(ln["used_quantity"], ln["used_amount"]) for ln in po["lines"]] == [
        ("88", "968.00"),
        ("8", "800.00"),
    ]

    # The files: the PDF, and the UBL read back.
    pdf = clerk.get(f"{BASE}/invoices/{number}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-type"] == MEDIA_TYPES["pdf"]
    ubl = clerk.get(f"{BASE}/invoices/{number}/ubl")
    assert ubl.status_code == 200 and ubl.headers["content-type"] == MEDIA_TYPES["ubl"]
    root = etree.fromstring(ubl.content)
    assert root.findtext("cbc:ID", namespaces=UBL_NS) == number
    assert root.findtext("cbc:BuyerReference", namespaces=UBL_NS) == "PO-77"
    assert root.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=UBL_NS) == "1951.92"
    assert len(root.findall("cac:InvoiceLine", namespaces=UBL_NS)) == 3
    read = _ok(clerk.post(f"{BASE}/einvoices/read", content=ubl.content))
    assert (read["number"], read["totals"]["payable"], read["buyer"]["name"]) == (
        number,
        "1951.92",
        "Alpha GmbH",
    )

    # Sent: queued once for the customer's address.
    queued = _ok(specialist.post(f"{BASE}/invoices/{number}/send"), 201)
    assert (queued["to"], queued["attachments"]) == ("ap@alpha.example", [f"{number}.pdf"])
    outbox = _ok(clerk.get(f"{BASE}/outbox", params={"status": "queued"}))["data"]
    assert [(m["document"], m["to"]) for m in outbox] == [(number, "ap@alpha.example")]

    # Eight of S-2's widgets came back: 8 x 11.00 = 88.00 + 16.72 tax = 104.72.
    lines = {ln["description"].split(" ")[1]: ln["line_no"] for ln in issued["lines"]}
    note = _ok(
        specialist.post(
            f"{BASE}/invoices/{number}/credit-notes",
            json={
                "reason": "8 widgets of S-2 returned",
                "date": "2026-02-10",
                "lines": [{"line_no": lines["S-2"], "quantity": "8"}],
            },
            headers={"Idempotency-Key": "returns-s2"},
        ),
        201,
    )
    assert (note["number"], note["total"], note["credited_invoice"]) == (
        "CN-2026-000001",
        "104.72",
        number,
    )
    after = _ok(clerk.get(f"{BASE}/invoices/{number}"))
    assert (after["open"], after["status"]) == ("1847.20", "partially_paid")  # 1951.92 - 104.72

    verify_clean(desk.book)
    with desk.book.uow(read_only=True) as uow:
        trail = [(e.action, e.actor) for e in uow.audit.events()]
    for step in (
        ("verification.settings_changed", "administrator"),
        ("contract.created", "specialist"),
        ("purchase_order.created", "specialist"),
        ("delivery.created", "clerk"),
        ("billing.prepared", "clerk"),
        ("invoice.draft_created", "clerk"),
        ("customer.updated", "specialist"),
        ("discrepancy.resolved", "clerk"),
        ("invoice.approved", "manager"),
        ("invoice.issued", "specialist"),
        ("mail.queued", "specialist"),
        ("credit_note.issued", "specialist"),
    ):
        assert step in trail, step
    assert trail.index(("invoice.approved", "manager")) < trail.index(
        ("invoice.issued", "specialist")
    )


def test_no_invoicing_route_fails_on_an_empty_request(desk):
    """Every route, called with nothing useful by a role that may call it, answers with a
    problem it names (4xx) or its empty answer, never a server error."""
    from . import walk_commercial
    from .test_walk import _url

    clients = {role: desk.client(role) for role in ("manager", "administrator")}
    for (method, path), action in walk_commercial.EXPECTED.items():
        role = "administrator" if action == "settings.admin" else "manager"
        reply = clients[role].request(method, _url(path, ENTITY), json={})
        assert reply.status_code < 500, (method, path, reply.text)
        if reply.status_code >= 400:
            assert reply.headers["content-type"] == "application/problem+json", (method, path)
