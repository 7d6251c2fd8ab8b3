"""An issued document's life through the API: credit notes (some lines, or all of it: void),
the files (PDF, UBL, CII, Factur-X) with their media types and names, e-invoices read from
outside, and e-mail: mail preferences with If-Match, queueing once, the outbox and a retry.

Figures by hand from tests/fixtures_book.py: WIDGET 12.50 at 19 %, BOOK 9.99 at 7 %, tax
rounded half-up once per rate."""

from __future__ import annotations

import io
from pathlib import Path

from facturx import get_xml_from_pdf
from fixtures_book import row_counts
from lxml import etree
from pypdf import PdfReader

from openbill.usecases import mailing as ml

from .conftest import ENTITY, OTHER

BASE = f"/v1/entities/{ENTITY}"
UBL_NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}
SENDER = "billing@acme.example"


def _invoice(client, *lines, on="2025-12-15", adjustments=()):
    body = {
        "customer": "C1",
        "issue_date": on,
        "lines": [{"charge_code": c, "quantity": q} for c, q in lines],
        "adjustments": list(adjustments),
    }
    reply = client.post(f"{BASE}/invoices", json=body)
    assert reply.status_code == 201, reply.text
    return reply.json()


def test_credit_notes_for_lines_and_voids(desk):
    client = desk.client("specialist")
    # 4 x 12.50 = 50.00 and 2 x 9.99 = 19.98: net 69.98; tax 9.50 + 1.40 (1.3986) = 10.90
    b = _invoice(client, ("WIDGET", "4"), ("BOOK", "2"))
    assert (b["net"], b["tax"], b["total"]) == ("69.98", "10.90", "80.88")
    assert [ln["charge_code"] for ln in b["lines"]] == ["WIDGET", "BOOK"]
    number = b["number"]
    credit = {"reason": "one widget came back broken", "lines": [{"line_no": 1, "quantity": "1"}]}
    key = {"Idempotency-Key": "cn-1"}
    made = client.post(f"{BASE}/invoices/{number}/credit-notes", json=credit, headers=key)
    assert made.status_code == 201, made.text
    note = made.json()
    # 1 x 12.50 + 2.38 (2.375 rounded half-up) = 14.88, applied to the invoice.
    assert (note["kind"], note["total"], note["credited_invoice"]) == (
        "credit_note",
        "14.88",
        number,
    )
    assert note["number"].startswith("CN-2026-")
    assert made.headers["location"] == f"{BASE}/invoices/{note['number']}"
    assert client.post(
        f"{BASE}/invoices/{number}/credit-notes", json=credit, headers=key
    ).content == (made.content)
    after = client.get(f"{BASE}/invoices/{number}").json()
    assert (after["open"], after["status"]) == ("66.00", "partially_paid")  # 80.88 - 14.88
    assert [s["amount"] for s in after["settlements"]] == ["14.88"]

    def refused(body, url=f"{BASE}/invoices/{number}/credit-notes"):
        reply = client.post(url, json=body)
        assert reply.status_code in (404, 409, 422), reply.text
        return reply.status_code, reply.json()["field"]

    assert refused({"reason": "x", "lines": [{"line_no": 2, "quantity": "3"}]}) == (422, "quantity")
    assert refused({"reason": "x", "lines": [{"line_no": 9, "quantity": "1"}]}) == (422, "lines")
    assert refused({"reason": "", "lines": []}) == (422, "reason")
    assert refused({"reason": "x", "date": "2025-12-01"}) == (422, "date")
    # Voiding now would credit 80.88 more than the 66.00 that is left to credit.
    assert refused({"reason": "wrong customer"}, f"{BASE}/invoices/{number}/void") == (422, "lines")
    assert refused({"reason": "x"}, f"{BASE}/invoices/{note['number']}/void")[0] == 409
    assert refused({"reason": "x"}, f"{BASE}/invoices/INV-1999-000001/void")[0] == 404

    long = client.post(
        f"{BASE}/invoices",
        json={"customer": "C1", "lines": [{"charge_code": "BOOK"}], "buyer_reference": "R" * 101},
    )
    assert long.status_code == 422 and long.json()["field"] == "buyer_reference"
    # 4 x 12.50 = 50.00 less a 5.00 allowance: taxable 45.00, tax 8.55, total 53.55.
    allowance = {"kind": "allowance", "amount": "5.00", "reason": "loyalty"}
    a = _invoice(client, ("WIDGET", "4"), adjustments=[allowance])
    assert (a["net"], a["tax"], a["total"]) == ("45.00", "8.55", "53.55")
    assert [(x["kind"], x["amount"], x["tax_rate"]) for x in a["adjustments"]] == [
        ("allowance", "5.00", "19")
    ]
    partly = {"reason": "x", "lines": [{"line_no": 1, "quantity": "1"}]}
    assert refused(partly, f"{BASE}/invoices/{a['number']}/credit-notes") == (422, "lines")
    voided = client.post(f"{BASE}/invoices/{a['number']}/void", json={"reason": "wrong customer"})
    assert voided.status_code == 201, voided.text
    assert voided.json()["total"] == "53.55"
    assert client.get(f"{BASE}/invoices/{a['number']}").json()["status"] == "void"
    with desk.book.uow(read_only=True) as uow:
        issued = [(e.action, e.actor) for e in uow.audit.events() if e.action.endswith(".issued")]
    assert [a for a, _ in issued] == ["invoice.issued", "credit_note.issued"] * 2
    assert {who for _, who in issued} == {"specialist"}


def test_documents_download_with_their_media_types_and_read_back(desk, corpora: Path):
    client = desk.client("clerk")
    number = _invoice(desk.client("specialist"), ("WIDGET", "4"), ("BOOK", "2"))["number"]
    url = f"{BASE}/invoices/{number}"

    pdf = client.get(f"{url}/pdf")
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == f'attachment; filename="{number}.pdf"'
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert number in text and "80.88" in text

    ubl = client.get(f"{url}/ubl")
    assert ubl.status_code == 200
    assert ubl.headers["content-type"] == "application/xml"
    assert ubl.headers["content-disposition"] == f'attachment; filename="{number}-ubl.xml"'
    root = etree.fromstring(ubl.content)
    assert root.findtext("cbc:ID", namespaces=UBL_NS) == number
    assert (
        root.findtext("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", namespaces=UBL_NS) == "80.88"
    )
    assert root.findtext("cac:TaxTotal/cbc:TaxAmount", namespaces=UBL_NS) == "10.90"
    same = client.get(f"{url}/ubl", headers={"If-None-Match": ubl.headers["etag"]})
    assert same.status_code == 304

    cii = client.get(f"{url}/cii")
    assert cii.headers["content-disposition"] == f'attachment; filename="{number}-cii.xml"'
    assert etree.QName(etree.fromstring(cii.content)).localname == "CrossIndustryInvoice"

    fx = client.get(f"{url}/facturx")
    assert fx.status_code == 200, fx.text
    assert fx.headers["content-type"] == "application/pdf"
    assert fx.headers["content-disposition"] == f'attachment; filename="{number}-facturx.pdf"'
    _name, embedded = get_xml_from_pdf(fx.content, check_xsd=False)
    assert number.encode() in embedded

    for body, media in ((ubl.content, "application/xml"), (fx.content, "application/pdf")):
        read = client.post(f"{BASE}/einvoices/read", content=body, headers={"Content-Type": media})
        assert read.status_code == 200, read.text
        got = read.json()
        assert (got["number"], got["currency"], got["kind"], got["type_code"]) == (
            number,
            "EUR",
            "invoice",
            "380",
        )
        assert (got["totals"]["tax_exclusive"], got["totals"]["tax_inclusive"]) == (
            "69.98",
            "80.88",
        )
        assert [line["item_name"] for line in got["lines"]] == ["Widget", "Book"]
    official = (corpora / "en16931" / "cen-ubl" / "ubl-tc434-example1.xml").read_bytes()
    expected = etree.fromstring(official).findtext("cbc:ID", namespaces=UBL_NS)
    read = client.post(f"{BASE}/einvoices/read", content=official)
    assert read.status_code == 200 and read.json()["number"] == expected == "12115118"
    junk = client.post(f"{BASE}/einvoices/read", content=b"<note>not an invoice</note>")
    assert junk.status_code == 422 and "not an e-invoice" in junk.json()["detail"]

    draft = desk.client("specialist").post(
        f"{BASE}/drafts", json={"customer": "C1", "lines": [{"charge_code": "BOOK"}]}
    )
    early = client.get(f"{BASE}/invoices/{draft.json()['id']}/pdf")
    assert early.status_code == 409 and "issue it" in early.json()["detail"]
    assert client.get(f"{BASE}/invoices/INV-1999-000001/ubl").status_code == 404


class _Refusing:
    """A mail server that refuses every message for good."""

    def send(self, envelope):
        return ml.SendResult(ml.Outcome.PERMANENT, 550, "550 mailbox unavailable")


def test_mail_preferences_send_once_and_retry(desk, monkeypatch):
    monkeypatch.setenv("OPENBILL_SMTP_FROM", SENDER)
    specialist, clerk = desk.client("specialist"), desk.client("clerk")
    number = _invoice(specialist, ("WIDGET", "1"))["number"]
    nowhere = specialist.post(f"{BASE}/invoices/{number}/send")
    assert nowhere.status_code == 422 and nowhere.json()["field"] == "email"

    url = f"{BASE}/customers/C1/mail-preferences"
    got = clerk.get(url)
    assert got.json() == {
        "customer": "C1",
        "email_to": "",
        "customer_email": "",
        "attach_xml": "none",
        "revision": "defaults",
    }
    change = {"email_to": "ap@alpha.example; boss@alpha.example", "attach_xml": "ubl"}
    assert clerk.patch(url, json=change).status_code == 428
    wrong = clerk.patch(
        url, json={"email_to": "not an address"}, headers={"If-Match": '"defaults"'}
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "email_to"
    set_ = clerk.patch(url, json=change, headers={"If-Match": got.headers["etag"]})
    assert set_.status_code == 200, set_.text
    assert (set_.json()["email_to"], set_.json()["attach_xml"]) == (
        "ap@alpha.example, boss@alpha.example",
        "ubl",
    )
    stale = clerk.patch(url, json={"attach_xml": "cii"}, headers={"If-Match": got.headers["etag"]})
    assert stale.status_code == 412
    assert clerk.get(url).json()["attach_xml"] == "ubl"
    listed = clerk.get(f"{BASE}/mail-preferences", params={"limit": 2}).json()
    assert [p["customer"] for p in listed["data"]] == ["C1", "C2"] and listed["next_cursor"]

    before = row_counts(desk.book)
    sent = specialist.post(f"{BASE}/invoices/{number}/send")
    assert sent.status_code == 201, sent.text
    queued = sent.json()
    assert (queued["created"], queued["status"], queued["to"]) == (
        True,
        "queued",
        "ap@alpha.example, boss@alpha.example",
    )
    assert queued["attachments"] == [f"{number}.pdf", f"{number}-ubl.xml"]
    assert sent.headers["location"] == f"{BASE}/outbox/{queued['id']}"
    again = specialist.post(f"{BASE}/invoices/{number}/send")
    assert again.status_code == 200 and (again.json()["id"], again.json()["created"]) == (
        queued["id"],
        False,
    )
    assert row_counts(desk.book)["outbox_messages"] == before["outbox_messages"] + 1
    assert clerk.post(f"{BASE}/invoices/{number}/send").status_code == 403

    message = f"{BASE}/outbox/{queued['id']}"
    shown = clerk.get(message).json()
    assert (shown["document"], shown["customer"], shown["status"], shown["attempt_log"]) == (
        number,
        "C1",
        "queued",
        [],
    )
    early = specialist.post(f"{message}/retry")
    assert early.status_code == 409 and early.json()["field"] == "status"

    report = ml.deliver_due(lambda: desk.book.uow(), _Refusing())
    assert report.failed == [queued["id"]]
    failed = clerk.get(message).json()
    assert failed["status"] == "failed" and failed["last_error"] == "550 mailbox unavailable"
    assert [(a["outcome"], a["smtp_code"]) for a in failed["attempt_log"]] == [("permanent", 550)]
    assert [
        m["id"] for m in clerk.get(f"{BASE}/outbox", params={"status": "failed"}).json()["data"]
    ] == [queued["id"]]
    foreign = desk.client("other")
    assert foreign.post(f"/v1/entities/{OTHER}/outbox/{queued['id']}/retry").status_code == 404
    assert foreign.get(f"/v1/entities/{OTHER}/outbox/{queued['id']}").status_code == 404
    retried = specialist.post(f"{message}/retry")
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "queued"
    assert clerk.get(f"{BASE}/outbox", params={"status": "failed"}).json()["data"] == []
    with desk.book.uow(read_only=True) as uow:
        events = [(e.action, e.actor) for e in uow.audit.events() if e.action.startswith("mail.")]
    assert events == [
        ("mail.preferences_set", "clerk"),
        ("mail.queued", "specialist"),
        ("mail.requeued", "specialist"),
    ]
