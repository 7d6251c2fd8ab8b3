"""Opening and working dispute cases: the amount bound (open amount, line total, other cases),
dates, status changes, notes and attachments (append-only), audit events, and the amounts
dunning pauses for (`DisputesRepo.disputed_by_document`).

Amounts (fixtures_book): WIDGET 12.50 at 19 %, BOOK 9.99 at 7 %.
    WIDGET x2 = 25.00 + 4.75 = 29.75;  BOOK x3 = 29.97 + 2.10 = 32.07
    an invoice of both: net 54.97 + tax 6.85 = 61.82
"""

from __future__ import annotations

from datetime import date

import pytest
from fixtures_book import ENTITY, invoice, row_counts
from sqlalchemy import text

from openbill.domain.rejections import InvalidAmount, InvalidInput, InvalidState, NotFound
from openbill.usecases import disputes as ds
from openbill.usecases import invoices as inv
from openbill.usecases import payments as pay

DEC1 = date(2025, 12, 1)


def _both(book, customer="C1", on=DEC1):
    return invoice(book, customer, on, ("WIDGET", "2"), ("BOOK", "3"))


def _open(book, number, reason="price", **kw):
    return ds.open_case(book.uow(), ds.OpenCase(ENTITY, number, reason, **kw))


def _disputed(book, ids=None):
    with book.uow(read_only=True) as uow:
        return uow.disputes.disputed_by_document(uow.entities.by_code(ENTITY).id, ids)


def test_open_on_an_invoice_defaults_to_all_that_is_open(book):
    doc = _both(book)
    case = _open(book, doc.number, "not_delivered", note="nothing arrived")
    assert (case.case_no, case.amount_minor, case.status, case.owner) == (
        "DSP-000001",
        6182,
        "open",
        "tests",  # the person opening it
    )
    assert _disputed(book) == {doc.id: 6182}
    view = ds.show_case(book.uow(read_only=True), ENTITY, "DSP-000001")
    assert [e["kind"] for e in view.events] == ["opened", "note"]
    assert view.events[1]["detail"] == "nothing arrived"


def test_a_line_case_is_bounded_by_the_line_total_with_tax(book):
    doc = _both(book)
    # Line 2 is BOOK x3: 32.07 with tax.
    assert _open(book, doc.number, "quantity", line_no=2).amount_minor == 3207
    with pytest.raises(InvalidAmount) as refused:
        _open(book, doc.number, "price", line_no=1, amount="29.76")
    assert "at most 29.75 EUR" in refused.value.reason and "line 1" in refused.value.reason
    # Near miss: exactly the line's total is allowed.
    assert _open(book, doc.number, "price", line_no=1, amount="29.75").amount_minor == 2975
    view = ds.show_case(book.uow(read_only=True), ENTITY, "2")
    assert (view.case["line_no"], view.case["charge_code"]) == (1, "WIDGET")


def test_cases_together_never_dispute_more_than_is_open(book):
    doc = _both(book)
    _open(book, doc.number, amount="60.00")
    # 61.82 open - 60.00 in dispute = 1.82 left.
    before = row_counts(book)
    with pytest.raises(InvalidAmount) as refused:
        _open(book, doc.number, "tax", amount="1.83")
    assert "at most 1.82 EUR" in refused.value.reason
    assert "60.00 EUR already in dispute" in refused.value.reason
    assert row_counts(book) == before
    assert _open(book, doc.number, "tax", amount="1.82").amount_minor == 182
    assert _disputed(book) == {doc.id: 6182}


def test_the_bound_follows_payments(book):
    doc = _both(book)
    pay.record_payment(
        book.uow(),
        pay.RecordPayment(ENTITY, "C1", "50.00", allocate="explicit", to=((doc.number, "50.00"),)),
    )
    # 61.82 - 50.00 = 11.82 open.
    with pytest.raises(InvalidAmount) as refused:
        _open(book, doc.number, amount="11.83")
    assert "at most 11.82 EUR" in refused.value.reason
    assert _open(book, doc.number).amount_minor == 1182


def test_refusals_when_opening(book):
    doc = _both(book)
    credit = inv.credit_invoice(book.uow(), inv.CreditInvoice(ENTITY, doc.number, "void"))
    paid = invoice(book, "C1", DEC1, ("WIDGET", "1"))
    pay.record_payment(book.uow(), pay.RecordPayment(ENTITY, "C1", "14.88"))
    other = invoice(book, "C1", DEC1, ("WIDGET", "1"))
    before = row_counts(book)
    cases = [
        (dict(number=credit.number), InvalidState, "credit note"),
        (dict(number=doc.number), InvalidState, "nothing left to pay"),  # credited in full
        (dict(number=paid.number), InvalidState, "nothing left to pay"),
        (dict(number="INV-2099-000001"), NotFound, "no issued document"),
        (dict(number=other.number, reason="weather"), InvalidInput, "not one of"),
        (dict(number=other.number, line_no=2), InvalidInput, "has no line 2"),
        (dict(number=other.number, amount="0"), InvalidAmount, "more than zero"),
        (dict(number=other.number, amount="1.001"), InvalidInput, "more decimals"),
        (dict(number=other.number, opened_on=date(2025, 11, 30)), InvalidInput, "invoice date"),
        (dict(number=other.number, opened_on=date(2026, 1, 2)), InvalidInput, "today"),
        (dict(number=other.number, due_on=date(2025, 12, 31)), InvalidInput, "due date"),
    ]
    for kw, error, words in cases:
        number = kw.pop("number")
        with pytest.raises(error) as refused:
            _open(book, number, **kw)
        assert words in refused.value.reason, (kw, refused.value.reason)
    assert row_counts(book) == before
    # Near misses: opened on the invoice date, due on the day it was opened.
    near = _open(book, other.number, opened_on=DEC1, due_on=DEC1)
    assert near.opened_on == "2025-12-01"


def test_status_owner_due_and_amount_changes_write_events_and_audit(book):
    doc = _both(book)
    _open(book, doc.number, line_no=1)
    result = ds.update_case(
        book.uow(),
        ds.UpdateCase(
            ENTITY,
            "DSP-000001",
            status="waiting_on_customer",
            owner="anna",
            due_on=date(2026, 1, 15),
            amount="10.00",
            note="asked for the contract",
        ),
    )
    assert result.changes == (
        "status open -> waiting_on_customer",
        "owner tests -> anna",
        "due (none) -> 2026-01-15",
        "amount in dispute 29.75 EUR -> 10.00 EUR",
    )
    assert _disputed(book) == {doc.id: 1000}
    view = ds.show_case(book.uow(read_only=True), ENTITY, "DSP-000001")
    assert [e["kind"] for e in view.events] == [
        "opened",
        "status",
        "owner",
        "due_date",
        "amount",
        "note",
    ]
    with book.uow(read_only=True) as uow:
        actions = [a.action for a in uow.audit.for_record("dispute_case", "1")]
    assert actions == ["dispute.opened", "dispute.updated"]
    # The same status again changes nothing and writes nothing.
    counts = row_counts(book)
    same = ds.update_case(book.uow(), ds.UpdateCase(ENTITY, "1", status="waiting_on_customer"))
    assert same.changes == () and row_counts(book) == counts


def test_changing_the_amount_rechecks_the_bound_without_counting_the_case_itself(book):
    doc = _both(book)
    _open(book, doc.number, line_no=1, amount="10.00")
    # Raising its own amount to the line total is allowed: its old 10.00 does not count.
    ds.update_case(book.uow(), ds.UpdateCase(ENTITY, "1", amount="29.75"))
    with pytest.raises(InvalidAmount):
        ds.update_case(book.uow(), ds.UpdateCase(ENTITY, "1", amount="29.76"))


def test_status_changes_that_are_refused(book):
    doc = _both(book)
    _open(book, doc.number)
    with pytest.raises(InvalidState) as by_hand:
        ds.update_case(book.uow(), ds.UpdateCase(ENTITY, "1", status="resolved"))
    assert "disputes resolve" in by_hand.value.reason
    with pytest.raises(InvalidInput):
        ds.update_case(book.uow(), ds.UpdateCase(ENTITY, "1", status="closed"))
    with pytest.raises(InvalidInput) as nothing:
        ds.update_case(book.uow(), ds.UpdateCase(ENTITY, "1"))
    assert "say what changes" in nothing.value.reason
    with pytest.raises(NotFound):
        ds.update_case(book.uow(), ds.UpdateCase(ENTITY, "DSP-000009", owner="x"))
    ds.reject_case(
        book.uow(), ds.RejectCase(ENTITY, "1", "Delivery note 4711 is signed.", send_mail=False)
    )
    for change in (
        ds.UpdateCase(ENTITY, "1", status="open"),
        ds.UpdateCase(ENTITY, "1", owner="anna"),
    ):
        with pytest.raises(InvalidState) as closed:
            ds.update_case(book.uow(), change)
        assert "open a new case" in closed.value.reason
    with pytest.raises(InvalidState):
        ds.add_note(book.uow(), ds.AddNote(ENTITY, "1", "too late"))
    # A closed case no longer pauses dunning; a new case can be opened on the same invoice.
    assert _disputed(book) == {}
    assert _open(book, doc.number, "other").case_no == "DSP-000002"


def test_notes_and_attachment_references_are_append_only(book):
    doc = _both(book)
    _open(book, doc.number)
    assert ds.add_note(book.uow(), ds.AddNote(ENTITY, "1", "called the buyer")) == 2
    count = ds.add_attachment(
        book.uow(), ds.AddAttachment(ENTITY, "1", "dms://contracts/77", "contract 77")
    )
    assert count == 3
    view = ds.show_case(book.uow(read_only=True), ENTITY, "1")
    assert (view.events[2]["kind"], view.events[2]["detail"], view.events[2]["reference"]) == (
        "attachment",
        "contract 77",
        "dms://contracts/77",
    )
    with pytest.raises(InvalidInput):
        ds.add_note(book.uow(), ds.AddNote(ENTITY, "1", "   "))
    with pytest.raises(InvalidInput):
        ds.add_attachment(book.uow(), ds.AddAttachment(ENTITY, "1", "x" * 501))
    # The database itself refuses to change or delete the timeline.
    for statement in (
        "UPDATE dispute_events SET detail = 'rewritten'",
        "DELETE FROM dispute_events",
    ):
        with pytest.raises(Exception, match="append-only"):
            with book.engine.begin() as conn:
                conn.execute(text(statement))
    assert ds.show_case(book.uow(read_only=True), ENTITY, "1").events[1]["detail"] == (
        "called the buyer"
    )


def test_the_timeline_is_bounded(book, monkeypatch):
    doc = _both(book)
    _open(book, doc.number)
    monkeypatch.setattr(ds, "MAX_EVENTS_PER_CASE", 3)
    ds.add_note(book.uow(), ds.AddNote(ENTITY, "1", "two"))
    ds.add_note(book.uow(), ds.AddNote(ENTITY, "1", "three"))
    with pytest.raises(InvalidState) as full:
        ds.add_note(book.uow(), ds.AddNote(ENTITY, "1", "four"))
    assert "3 entries" in full.value.reason
    # Closing is still possible on a full timeline.
    ds.reject_case(
        book.uow(), ds.RejectCase(ENTITY, "1", "Price is per contract 77.", send_mail=False)
    )


def test_disputed_by_document_counts_only_active_cases_of_the_entity(book):
    a, b, c = _both(book), _both(book), _both(book)
    _open(book, a.number, amount="10.00")
    _open(book, a.number, "tax", amount="5.00")
    _open(book, b.number, amount="1.00")
    _open(book, c.number, amount="2.00")
    ds.update_case(book.uow(), ds.UpdateCase(ENTITY, "4", status="waiting_on_internal"))
    ds.reject_case(
        book.uow(), ds.RejectCase(ENTITY, "3", "Price is per contract.", send_mail=False)
    )
    # a: 10.00 + 5.00; b rejected: gone; c waiting: still paused.
    assert _disputed(book) == {a.id: 1500, c.id: 200}
    assert _disputed(book, [a.id, b.id]) == {a.id: 1500}
    assert _disputed(book, []) == {}
    with book.uow(read_only=True) as uow:
        assert ds.disputed_amounts(uow, uow.entities.by_code(ENTITY).id, [c.id]) == {c.id: 200}
        assert uow.disputes.disputed_by_document(9999) == {}


def test_list_filters(book):
    a, b = _both(book), _both(book, "C3")
    _open(book, a.number, line_no=1, owner="anna", due_on=date(2025, 12, 20), opened_on=DEC1)
    _open(book, b.number, "tax")
    ds.reject_case(book.uow(), ds.RejectCase(ENTITY, "2", "Tax is 19 % by law.", send_mail=False))

    def nos(**kw):
        return [r["case_no"] for r in ds.list_cases(book.uow(read_only=True), ENTITY, **kw)]

    assert nos() == ["DSP-000001"]
    assert nos(status="all") == ["DSP-000001", "DSP-000002"]
    assert nos(status="closed") == nos(status="rejected") == ["DSP-000002"]
    assert nos(status="all", customer="C3") == ["DSP-000002"]
    assert nos(status="all", owner="anna") == nos(invoice=a.number) == ["DSP-000001"]
    assert nos(status="all", reason="tax") == ["DSP-000002"]
    [row] = ds.list_cases(book.uow(read_only=True), ENTITY)
    assert row["overdue"] is True  # due 2025-12-20, today 2026-01-01
    with pytest.raises(InvalidInput):
        nos(status="pending")


def test_opening_with_an_idempotency_key_once(book):
    doc = _both(book)
    first = _open(book, doc.number, amount="5.00", idempotency_key="k1")
    again = _open(book, doc.number, amount="5.00", idempotency_key="k1")
    assert again == first and _disputed(book) == {doc.id: 500}
