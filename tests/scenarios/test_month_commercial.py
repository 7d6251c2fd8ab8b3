"""A month from deliveries to sent invoices, written down as text: contracts and purchase orders,
the deliveries file, the billing run, verification, the clerk's decisions, issue, and the
e-mails that arrive at a real SMTP server on loopback (aiosmtpd). Every figure is worked out by
hand in the comments; the actual results, rendered the same way, must read exactly as written.

    ACME (DE, EUR, net30), 19 % VAT; WIDGET 12.50 a piece, SERVICE 80.00 an hour (catalog)
    C1 Alpha GmbH  contract K-1: per PO, PO required, WIDGET 10.00 from 03-01, 9.50 from 03-16
                   PO-1 (03-01 to 03-31) line 1 WIDGET up to 500; PO-2 (03-01 to 03-25) line 1
                   WIDGET up to 100; UBL attached to its e-mails
    C2 Beta GmbH   contract K-2: per month, 10 % off the catalog, net14; no e-mail address yet
    approval threshold 3,000.00 EUR
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from openbill.adapters.clock import FixedClock
from openbill.adapters.mail import DocumentsRenderer, SmtpMailer, SmtpSettings
from openbill.bootstrap import Book, open_book
from openbill.domain.money import format_minor
from openbill.usecases import commercial as com
from openbill.usecases import invoices as inv
from openbill.usecases import mailing as ml
from openbill.usecases import masterdata as md
from openbill.usecases import verification as ver
from openbill.usecases.verify import verify

pytestmark = pytest.mark.slow

E = "ACME"
ON = date(2026, 3, 31)
SENDER = "billing@acme.example"

DELIVERIES = """\
ref,kind,customer,contract,po,po_line,charge_code,date,status,shipped,accepted,hours,role
D-1,shipment,C1,K-1,PO-1,1,WIDGET,2026-03-05,confirmed,200,195,,
D-2,shipment,C1,K-1,PO-1,1,WIDGET,2026-03-20,confirmed,100,100,,
D-3,shipment,C1,K-1,PO-2,1,WIDGET,2026-03-21,confirmed,50,,,
D-4,shipment,C1,K-1,,,WIDGET,2026-03-22,confirmed,10,,,
T-1,timesheet,C2,K-2,,,SERVICE,2026-03-10,confirmed,,,4,Engineer
D-5,shipment,C2,K-2,,,WIDGET,2026-03-12,confirmed,40,,,
D-6,shipment,C2,K-2,,,WIDGET,2026-03-30,pending,5,,,
"""

# D-1: 195 accepted x 10.00 (K-1 before the 16th) = 1950.00; D-2: 100 x 9.50 = 950.00;
#   PO-1's draft: net 2900.00, VAT 19 % 551.00, total 3451.00 (above 3000.00: approval)
# D-3: 50 shipped (nothing said about acceptance) x 9.50 = 475.00, VAT 90.25, total 565.25
# D-4: no PO while K-1 requires one: held back
# T-1: 4 h x (80.00 - 10 %) 72.00 = 288.00; D-5: 40 x (12.50 - 10 %) 11.25 = 450.00;
#   C2's month: net 738.00, VAT 140.22 (738.00 x 19 % = 140.22), total 878.22
# D-6: pending, not billed
EXPECTED_DRAFTS = """
C1 PO-1 D-1 D-2 net 2900.00 tax 551.00 total 3451.00 EUR
C1 PO-2 D-3 net 475.00 tax 90.25 total 565.25 EUR
C2 - T-1 D-5 net 738.00 tax 140.22 total 878.22 EUR
held D-4 po: contract K-1 requires a purchase order
"""

EXPECTED_FINDINGS_BEFORE = """
C1 PO-1 approval_required block open: total above 3000.00 EUR needs a second person's approval
C1 PO-2 po_expired block open: purchase order PO-2 is valid 2026-03-01 to 2026-03-25, not on 2026-03-31
C2 - master_data_incomplete warn open: has no e-mail or e-invoice address to send the invoice to
"""  # noqa: E501

OVERRIDE = "Alpha extended PO-2 to 31 March by phone; confirmation letter follows"
EXPECTED_FINDINGS_AFTER = """
C1 PO-1 approval_required block resolved by manager
C1 PO-2 po_expired block overridden by clerk: Alpha extended PO-2 to 31 March by phone; confirmation letter follows
C2 - master_data_incomplete warn resolved by clerk
"""  # noqa: E501

# Issued in the order PO-1, PO-2, C2's month; due 30 days after 03-31 (ACME's net30), C2's
# after 14 days (K-2's net14).
EXPECTED_ISSUED = """
INV-2026-000001 C1 PO-1 total 3451.00 EUR due 2026-04-30
INV-2026-000002 C1 PO-2 total 565.25 EUR due 2026-04-30
INV-2026-000003 C2 - total 878.22 EUR due 2026-04-14
"""

EXPECTED_MAIL = """
ap@alpha.example | Invoice INV-2026-000001 from Acme GmbH | INV-2026-000001.pdf INV-2026-000001-ubl.xml | over 3451.00 EUR. It is due on 2026-04-30.
ap@alpha.example | Invoice INV-2026-000002 from Acme GmbH | INV-2026-000002.pdf INV-2026-000002-ubl.xml | over 565.25 EUR. It is due on 2026-04-30.
ap@beta.example | Invoice INV-2026-000003 from Acme GmbH | INV-2026-000003.pdf | over 878.22 EUR. It is due on 2026-04-14.
"""  # noqa: E501


def _text(block: str) -> list[str]:
    return [line for line in block.strip().splitlines() if line]


# -- a real SMTP server on loopback -----------------------------------------------------------


@dataclass
class Inbox:
    arrived: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.arrived.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 2.0.0 queued"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()
        asyncio.set_event_loop(None)


# -- the book -----------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 31, 16, 0, tzinfo=UTC))


@pytest.fixture
def book(db_url: str, clock: FixedClock) -> Iterator[Book]:
    book = open_book(db_url, actor="clerk", clock=clock)
    try:
        _master_data(book)
        yield book
    finally:
        book.close()


def _master_data(book: Book) -> None:
    uow = book.uow
    md.create_entity(
        uow(),
        md.CreateEntity(
            E,
            "Acme GmbH",
            "DE",
            "EUR",
            vat_id="DE136695976",
            iban="DE89370400440532013000",
            address="Königstraße 1, 70173 Stuttgart, Germany",
            email=SENDER,
            payment_terms="net30",
        ),
    )
    md.add_tax_rule(uow(), md.AddTaxRule(E, "DE", "standard", date(2020, 1, 1), "S", "19"))
    for code, name, unit, account, price in (
        ("WIDGET", "Widget", "H87", "4000", "12.50"),
        ("SERVICE", "Service hours", "HUR", "4100", "80.00"),
    ):
        md.create_charge_code(uow(), md.CreateChargeCode(E, code, name, unit, account))
        md.add_price(
            uow(),
            md.AddPrice(
                E, code, "EUR", date(2026, 1, 1), "per_unit", f'{{"unit_price":"{price}"}}'
            ),
        )
    md.create_customer(
        uow(),
        md.CreateCustomer(
            E, "C1", "Alpha GmbH", "DE", "EUR", email="ap@alpha.example", address="Berlin"
        ),
    )
    md.create_customer(uow(), md.CreateCustomer(E, "C2", "Beta GmbH", "DE", "EUR", address="Bonn"))
    com.create_contract(
        uow(),
        com.CreateContract(E, "K-1", "C1", date(2026, 1, 1), grouping="per_po", po_required=True),
    )
    com.add_contract_price(uow(), com.AddContractPrice(E, "K-1", "WIDGET", date(2026, 3, 1), "10"))
    com.add_contract_price(
        uow(), com.AddContractPrice(E, "K-1", "WIDGET", date(2026, 3, 16), "9.50")
    )
    com.create_contract(
        uow(),
        com.CreateContract(
            E, "K-2", "C2", date(2026, 1, 1), payment_terms="net14", discount_percent="10"
        ),
    )
    for po, last, quantity in (
        ("PO-1", date(2026, 3, 31), "500"),
        ("PO-2", date(2026, 3, 25), "100"),
    ):
        com.create_purchase_order(
            uow(), com.CreatePurchaseOrder(E, "C1", po, date(2026, 3, 1), last, "K-1")
        )
        com.add_po_line(uow(), com.AddPoLine(E, "C1", po, 1, "WIDGET", quantity))
    ml.set_mail_preferences(uow(), ml.SetMailPreferences(E, "C1", attach_xml="ubl"))
    ver.set_settings(uow(), ver.SetVerificationSettings(E, approval_threshold="3000.00"))


# -- rendering results as text ------------------------------------------------------------------


def _money(minor: int) -> str:
    return format_minor(minor, "EUR")


def _name(book: Book, draft_id: int) -> str:
    with book.uow(read_only=True) as u:
        doc = u.documents.get(draft_id)
        customer = u.customers.get(doc.customer_id)
    return f"{customer.code} {doc.buyer_reference or '-'}"


def _findings(book: Book, drafts: list[int], resolution: bool) -> list[str]:
    rows = []
    with book.uow(read_only=True) as u:
        found = [(d, r) for d in drafts for r in u.verification.findings(d)]
    for d, r in found:
        head = f"{_name(book, d)} {r.rule} {r.severity} {r.status}"
        if not resolution:
            rows.append(f"{head}: {r.message}")
        elif r.status == "overridden":
            rows.append(f"{head} by {r.resolved_by}: {r.resolution}")
        else:
            rows.append(f"{head} by {r.resolved_by}")
    return rows


def test_a_month_from_deliveries_to_sent_invoices(
    book: Book, clock: FixedClock, smtp: tuple[Inbox, int]
) -> None:
    imported = com.import_deliveries(
        book.uow(), com.ImportDeliveries(E, DELIVERIES, "deliveries-2026-03.csv")
    )
    assert (imported.created, imported.corrected, imported.errors) == (7, 0, ())

    prepared = com.prepare_billing(book.uow(), com.PrepareBilling(E, ON, ON))
    drafts = [d.document_id for d in prepared.documents]
    shown = []
    for d in prepared.documents:
        with book.uow(read_only=True) as u:
            doc = u.documents.get(d.document_id)
        shown.append(
            f"{_name(book, d.document_id)} {' '.join(d.deliveries)} net {_money(doc.net_minor)}"
            f" tax {_money(doc.tax_minor)} total {_money(doc.total_minor)} {doc.currency}"
        )
    shown += [f"held {h.delivery} {h.field}: {h.reason}" for h in prepared.held]
    assert shown == _text(EXPECTED_DRAFTS)

    for d in drafts:
        ver.verify_draft(book.uow(), ver.VerifyDraft(E, d))
    assert _findings(book, drafts, resolution=False) == _text(EXPECTED_FINDINGS_BEFORE)
    # Nothing with a blocking finding open is issued.
    with pytest.raises(Exception, match="blocking discrepancy"):
        inv.issue_draft(book.uow(), inv.IssueDraft(E, drafts[0], ON))

    # The clerk's decisions: a manager approves the large draft (the clerk may not: the clerk
    # prepared it), the expired PO is overridden with a reason, C2's address is added.
    po1, po2, month = drafts
    with pytest.raises(Exception, match="another person must approve"):
        ver.approve_draft(book.uow(), ver.ApproveDraft(E, po1))
    manager = open_book(book.url, actor="manager", clock=clock)
    try:
        ver.approve_draft(manager.uow(), ver.ApproveDraft(E, po1))
    finally:
        manager.close()
    with book.uow(read_only=True) as u:
        expired = next(r for r in u.verification.findings(po2) if r.rule == "po_expired")
        missing = next(r for r in u.verification.findings(month) if r.status == "open")
    ver.resolve_discrepancy(
        book.uow(), ver.ResolveDiscrepancy(E, int(expired.id), "override", OVERRIDE)
    )
    with pytest.raises(Exception, match="still found"):
        ver.resolve_discrepancy(book.uow(), ver.ResolveDiscrepancy(E, int(missing.id), "fixed"))
    md.update_customer(book.uow(), md.UpdateCustomer(E, "C2", (("email", "ap@beta.example"),)))
    ver.resolve_discrepancy(book.uow(), ver.ResolveDiscrepancy(E, int(missing.id), "fixed"))
    assert _findings(book, drafts, resolution=True) == _text(EXPECTED_FINDINGS_AFTER)

    issued = [inv.issue_draft(book.uow(), inv.IssueDraft(E, d, ON)) for d in drafts]
    assert [
        f"{r.number} {_name(book, r.id)} total {_money(r.total_minor)} {r.currency}"
        f" due {r.due_date}"
        for r in issued
    ] == _text(EXPECTED_ISSUED)

    # Send: queue each invoice, deliver through the SMTP server.
    inbox, port = smtp
    renderer = DocumentsRenderer(lambda: book.uow(read_only=True))
    for r in issued:
        ml.queue_document(book.uow(), ml.QueueDocument(E, r.number), renderer)
    settings = SmtpSettings(host="127.0.0.1", port=port, sender=SENDER, timeout_s=5.0, helo="t")
    report = ml.deliver_due(lambda: book.uow(), SmtpMailer(settings))
    assert (len(report.sent), report.retrying, report.failed, report.unknown) == (3, [], [], [])
    arrived = []
    for m in sorted(inbox.arrived, key=lambda m: str(m["Subject"])):
        body = " ".join(m.get_body(("plain",)).get_content().split())
        names = " ".join(p.get_filename() for p in m.iter_attachments())
        money = body[body.index("over ") : body.index(".", body.index("due on")) + 1]
        arrived.append(f"{m['To']} | {m['Subject']} | {names} | {money}")
    assert arrived == _text(EXPECTED_MAIL)
    assert {r.status for r in ml.list_outbox(book.uow(read_only=True), E)} == {"sent"}
    # Sending again sends nothing.
    again = ml.deliver_due(lambda: book.uow(), SmtpMailer(settings))
    assert again.sent == [] and len(inbox.arrived) == 3
    assert verify(book.uow(read_only=True)).ok
