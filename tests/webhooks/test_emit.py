"""Each cause writes its event exactly once, in the transaction of the change: a refused or
rolled-back use case writes none, and nothing is written without an enabled endpoint of the
entity subscribed to the event.

Amounts (fixtures_book): WIDGET 12.50 at 19 %, BOOK 9.99 at 7 %.
    WIDGET x2 = 25.00 + 4.75 = 29.75;  BOOK x3 = 29.97 + 2.10 (2.0979) = 32.07
C1 pays net 30: an invoice of 2026-01-01 is due on 2026-01-31.
"""

from __future__ import annotations

from datetime import date

import pytest
from fixtures_book import ENTITY, invoice, row_counts
from sqlalchemy import text

from openbill.domain.rejections import InvalidInput, InvalidState
from openbill.usecases import disputes as ds
from openbill.usecases import invoices as inv
from openbill.usecases import masterdata as m
from openbill.usecases import payments as pay
from openbill.usecases import webhooks as wh

from .conftest import add_endpoint, events, types

JAN1 = date(2026, 1, 1)
WEBHOOK_TABLES = ("webhook_events", "webhook_deliveries", "webhook_attempts")


def _widgets(book, customer="C1", on=JAN1, qty="2", key=""):
    return invoice(book, customer, on, ("WIDGET", qty), key=key)


def _pay(book, amount, reference="", customer="C1", **kw):
    kw.setdefault("allocate", "auto")  # by the reference when there is one, else oldest first
    cmd = pay.RecordPayment(ENTITY, customer, amount, reference=reference, **kw)
    return pay.record_payment(book.uow(), cmd)


def _webhook_rows(book):
    counts = row_counts(book)
    return {t: counts[t] for t in WEBHOOK_TABLES}


def test_nothing_is_written_without_an_endpoint(book):
    doc = _widgets(book)
    _pay(book, "29.75", doc.number)
    ds.open_case(book.uow(), ds.OpenCase(ENTITY, _widgets(book).number, "price"))
    assert _webhook_rows(book) == dict.fromkeys(WEBHOOK_TABLES, 0)


def test_nothing_is_written_for_events_nobody_subscribed_to(book):
    add_endpoint(book, "dispute.opened")
    doc = _widgets(book)
    _pay(book, "29.75", doc.number)
    assert events(book) == []


def test_nothing_is_written_for_a_disabled_endpoint_or_another_entity(book):
    made = add_endpoint(book, "invoice.issued")
    wh.change_endpoint(book.uow(), wh.ChangeEndpoint(ENTITY, made.endpoint.id, enabled=False))
    m.create_entity(book.uow(), m.CreateEntity("BETA", "Beta AG", "DE", "EUR"))
    add_endpoint(book, "invoice.issued", entity="BETA")
    _widgets(book)
    assert events(book) == []
    wh.change_endpoint(book.uow(), wh.ChangeEndpoint(ENTITY, made.endpoint.id, enabled=True))
    _widgets(book)
    [issued] = events(book)
    assert issued.endpoints == (made.endpoint.id,)


def test_invoice_issued_once_with_the_record(hooked):
    book, made = hooked
    doc = _widgets(book, key="bill-run-1")
    again = _widgets(book, key="bill-run-1")  # a replay of the same bill run step
    assert again.number == doc.number
    [event] = events(book)
    assert (event.type, event.subject, event.endpoints) == (
        "invoice.issued",
        doc.number,
        (made.endpoint.id,),
    )
    body = event.body
    assert body["id"] == event.event_id and body["id"].startswith("evt_")
    assert (body["type"], body["entity"], body["created"]) == (
        "invoice.issued",
        ENTITY,
        "2026-01-01T09:00:00Z",  # the book's clock
    )
    assert body["data"] == {
        "invoice": {
            "number": "INV-2026-000001",
            "kind": "invoice",
            "customer": {"code": "C1", "name": "Alpha GmbH"},
            "currency": "EUR",
            "issue_date": "2026-01-01",
            "due_date": "2026-01-31",
            "net": "25.00",
            "tax": "4.75",
            "total": "29.75",
            "open": "29.75",
            "buyer_reference": "",
        }
    }


def test_every_subscribed_endpoint_gets_a_delivery_of_the_one_event(book):
    first = add_endpoint(book, "invoice.issued")
    second = add_endpoint(book, "all", url="https://other.example/in")
    add_endpoint(book, "payment.received", url="https://third.example/in")
    _widgets(book)
    [event] = events(book)
    assert event.endpoints == (first.endpoint.id, second.endpoint.id)


def test_a_draft_issued_emits_invoice_issued_once(hooked):
    book, _ = hooked
    draft = inv.create_draft(
        book.uow(), inv.CreateDraft(ENTITY, "C1", JAN1, lines=(inv.LineSpec("BOOK", "3"),))
    )
    assert events(book) == []  # a draft is not an invoice yet
    issued = inv.issue_draft(book.uow(), inv.IssueDraft(ENTITY, draft.id, JAN1, "k1"))
    inv.issue_draft(book.uow(), inv.IssueDraft(ENTITY, draft.id, JAN1, "k1"))  # replayed
    [event] = events(book)
    assert (event.type, event.subject) == ("invoice.issued", issued.number)
    assert event.body["data"]["invoice"]["total"] == "32.07"


def test_a_refused_use_case_writes_no_event_even_after_it_issued_a_document(hooked):
    """Crediting more than is left is refused after the credit note was numbered and its
    event written in the same transaction: the refusal rolls all of it back."""
    book, _ = hooked
    doc = _widgets(book)
    inv.credit_invoice(
        book.uow(), inv.CreditInvoice(ENTITY, doc.number, "one widget", lines=((1, "1"),))
    )
    before = types(book)
    counts = row_counts(book)
    with pytest.raises(InvalidInput, match="already credited"):
        inv.credit_invoice(book.uow(), inv.CreditInvoice(ENTITY, doc.number, "all of it"))
    assert types(book) == before
    assert row_counts(book) == counts


def test_a_rolled_back_unit_of_work_writes_no_event(hooked):
    book, _ = hooked
    uow = book.uow()
    with uow:
        entity = uow.entities.by_code(ENTITY)
        inv.create_invoice_in(
            uow, entity, inv.CreateInvoice(ENTITY, "C1", (inv.LineSpec("WIDGET", "1"),))
        )
        assert uow.connection.execute(text("SELECT COUNT(*) FROM webhook_events")).scalar_one() == 1
        # leaving without commit rolls back
    assert events(book) == []


def test_a_refused_issue_writes_nothing(hooked):
    book, _ = hooked
    with pytest.raises(InvalidInput):
        invoice(book, "C1", JAN1, ("NO-SUCH-CODE", "1"))
    assert events(book) == []


def test_invoice_paid_once_when_the_open_amount_reaches_zero(hooked):
    book, _ = hooked
    doc = _widgets(book)
    _pay(book, "10.00", doc.number)
    assert [t for t, _ in types(book)] == ["invoice.issued", "payment.received"]
    _pay(book, "19.75", doc.number)
    assert [t for t, _ in types(book)] == [
        "invoice.issued",
        "payment.received",
        "invoice.paid",  # written while the second payment is allocated, before its own event
        "payment.received",
    ]
    [paid] = events(book, "invoice.paid")
    assert paid.subject == doc.number
    assert (paid.body["data"]["invoice"]["open"], paid.body["data"]["invoice"]["total"]) == (
        "0.00",
        "29.75",
    )
    _pay(book, "5.00")  # more money: credit, the invoice was paid already
    assert len(events(book, "invoice.paid")) == 1


def test_payment_received_with_what_it_paid(hooked):
    book, _ = hooked
    first, second = _widgets(book), _widgets(book, qty="1")  # 29.75 and 14.88 (12.50 + 2.375)
    done = _pay(book, "50.00", method="card")  # oldest first: both, 5.37 left as credit
    [event] = events(book, "payment.received")
    assert event.subject == f"payment {done.id}"
    assert event.body["data"]["payment"] == {
        "id": done.id,
        "customer": "C1",
        "currency": "EUR",
        "amount": "50.00",
        "allocated": "44.63",
        "unapplied": "5.37",
        "received_on": "2026-01-01",
        "method": "card",
        "reference": "",
        "invoices": [first.number, second.number],
    }
    assert [e.subject for e in events(book, "invoice.paid")] == [first.number, second.number]


def test_customer_credit_applied_pays_an_invoice(hooked):
    book, _ = hooked
    _pay(book, "40.00")  # nothing open: all credit
    doc = _widgets(book)
    pay.apply_credit(book.uow(), pay.ApplyCredit(ENTITY, "C1"))
    assert [e.subject for e in events(book, "invoice.paid")] == [doc.number]


def test_a_small_difference_closed_by_a_payment_counts_as_paid(hooked):
    book, _ = hooked
    pay.set_tolerance(book.uow(), pay.SetTolerance(ENTITY, "EUR", "0.05"))
    doc = _widgets(book)
    done = _pay(book, "29.72", doc.number)  # 0.03 short, within the tolerance
    assert done.written_off_minor == 3
    [paid] = events(book, "invoice.paid")
    assert (paid.subject, paid.body["data"]["invoice"]["open"]) == (doc.number, "0.00")


def test_a_credit_note_for_all_of_an_invoice_voids_it_not_paid(hooked):
    book, _ = hooked
    doc = _widgets(book)
    note = inv.credit_invoice(book.uow(), inv.CreditInvoice(ENTITY, doc.number, "wrong"))
    assert types(book) == [("invoice.issued", doc.number), ("credit_note.issued", note.number)]
    [credit] = events(book, "credit_note.issued")
    assert credit.body["data"] == {
        "credit_note": {
            "number": "CN-2026-000001",
            "kind": "credit_note",
            "customer": {"code": "C1", "name": "Alpha GmbH"},
            "currency": "EUR",
            "issue_date": "2026-01-01",
            "due_date": None,
            "net": "25.00",
            "tax": "4.75",
            "total": "29.75",
            "buyer_reference": "",
            "credited_invoice": doc.number,
        }
    }


def test_a_partial_credit_note_and_a_payment_pay_the_rest(hooked):
    book, _ = hooked
    doc = _widgets(book)  # 29.75
    inv.credit_invoice(
        book.uow(), inv.CreditInvoice(ENTITY, doc.number, "one broken", lines=((1, "1"),))
    )  # 12.50 + 2.38 = 14.88 credited; 14.87 open
    assert events(book, "invoice.paid") == []
    _pay(book, "14.87", doc.number)
    assert [e.subject for e in events(book, "invoice.paid")] == [doc.number]


def test_disputes_opened_and_resolved(hooked):
    book, _ = hooked
    doc = _widgets(book)
    ds.open_case(book.uow(), ds.OpenCase(ENTITY, doc.number, "price", amount="10.00", owner="anna"))
    [opened] = events(book, "dispute.opened")
    assert opened.subject == "DSP-000001"
    assert opened.body["data"]["dispute"] == {
        "case": "DSP-000001",
        "invoice": doc.number,
        "line": None,
        "customer": "C1",
        "reason": "price",
        "status": "open",
        "currency": "EUR",
        "amount": "10.00",
        "owner": "anna",
        "opened_on": "2026-01-01",
        "due_on": None,
        "closed_on": None,
        "resolution": None,
        "credit_note": None,
        "rebill_invoice": None,
        "adjusted": None,
    }
    ds.resolve_by_credit_note(
        book.uow(), ds.ResolveByCreditNote(ENTITY, "DSP-000001", lines=((1, "0.5"),))
    )  # half a widget: 6.25 + 1.19 (1.1875) = 7.44
    [resolved] = events(book, "dispute.resolved")
    data = resolved.body["data"]["dispute"]
    assert (data["status"], data["resolution"], data["credit_note"], data["adjusted"]) == (
        "resolved",
        "credit_note",
        "CN-2026-000001",
        "7.44",
    )
    assert data["closed_on"] == "2026-01-01"
    assert [t for t, _ in types(book)] == [
        "invoice.issued",
        "dispute.opened",
        "credit_note.issued",
        "dispute.resolved",
    ]


def test_a_rejected_dispute_is_resolved_too_and_a_refused_rejection_writes_nothing(hooked):
    book, _ = hooked
    doc = _widgets(book)
    ds.open_case(book.uow(), ds.OpenCase(ENTITY, doc.number, "quantity"))
    with pytest.raises(InvalidInput):  # C1 has no e-mail address to send the explanation to
        ds.reject_case(book.uow(), ds.RejectCase(ENTITY, "DSP-000001", "we delivered all of it"))
    assert events(book, "dispute.resolved") == []
    ds.reject_case(
        book.uow(),
        ds.RejectCase(ENTITY, "DSP-000001", "we delivered all of it", send_mail=False),
    )
    [resolved] = events(book, "dispute.resolved")
    data = resolved.body["data"]["dispute"]
    assert (data["status"], data["resolution"], data["adjusted"]) == (
        "rejected",
        "rejected",
        "0.00",
    )
    with pytest.raises(InvalidState):  # closed cases never reopen: once per case
        ds.reject_case(
            book.uow(),
            ds.RejectCase(ENTITY, "DSP-000001", "we delivered all of it", send_mail=False),
        )
    assert len(events(book, "dispute.resolved")) == 1


def test_a_rebill_emits_the_credit_note_the_new_invoice_and_the_resolution(hooked):
    book, _ = hooked
    doc = _widgets(book)
    ds.open_case(book.uow(), ds.OpenCase(ENTITY, doc.number, "price"))
    ds.resolve_by_rebill(
        book.uow(),
        ds.ResolveByRebill(
            ENTITY, "DSP-000001", (inv.LineSpec("WIDGET", "2", unit_price="10.00"),)
        ),
    )
    assert types(book) == [
        ("invoice.issued", doc.number),
        ("dispute.opened", "DSP-000001"),
        ("credit_note.issued", "CN-2026-000001"),
        ("invoice.issued", "INV-2026-000002"),
        ("dispute.resolved", "DSP-000001"),
    ]
    data = events(book, "dispute.resolved")[0].body["data"]["dispute"]
    # 29.75 credited, 20.00 + 3.80 re-billed: 5.95 off the debt.
    assert (data["rebill_invoice"], data["adjusted"]) == ("INV-2026-000002", "5.95")


class TestOverdue:
    def test_once_per_invoice_and_due_date_from_the_day_after(self, book):
        add_endpoint(book, "invoice.overdue")
        due_31 = _widgets(book)  # due 2026-01-31
        paid = _widgets(book)
        _pay(book, "29.75", paid.number)
        book.clock.set(book.clock.now().replace(month=1, day=31))
        assert wh.scan_overdue(book.uow()) == 0  # due today is not overdue yet
        book.clock.set(book.clock.now().replace(month=2, day=1))
        assert wh.scan_overdue(book.uow()) == 1
        assert wh.scan_overdue(book.uow()) == 0  # idempotent
        book.clock.set(book.clock.now().replace(month=2, day=5))
        assert wh.scan_overdue(book.uow()) == 0
        [event] = events(book, "invoice.overdue")
        assert event.subject == due_31.number
        assert event.body["data"]["days_overdue"] == 1
        assert event.body["data"]["invoice"]["open"] == "29.75"

    def test_only_invoices_due_in_the_last_week_are_announced(self, book):
        old = _widgets(book, on=date(2025, 11, 1))  # due 2025-12-01
        recent = _widgets(book, on=date(2025, 12, 26))  # due 2026-01-25
        add_endpoint(book, "invoice.overdue")
        # 2026-01-01: 'old' fell due 31 days ago (not announced), 'recent' is not due yet.
        assert wh.scan_overdue(book.uow()) == 0
        book.clock.set(book.clock.now().replace(day=26))  # 'recent' due yesterday
        assert wh.scan_overdue(book.uow()) == 1
        assert [e.subject for e in events(book)] == [recent.number]
        assert old.number != recent.number

    def test_nothing_without_a_subscription_and_a_bounded_scan(self, book):
        for _ in range(3):
            _widgets(book)
        book.clock.set(book.clock.now().replace(month=2, day=1))
        assert wh.scan_overdue(book.uow()) == 0
        add_endpoint(book, "invoice.overdue")
        assert wh.scan_overdue(book.uow(), limit=2) == 2
        assert wh.scan_overdue(book.uow(), limit=2) == 1
        assert len(events(book, "invoice.overdue")) == 3
