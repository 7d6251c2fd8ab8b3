"""Closing dispute cases: by credit note, by re-bill (credit note and corrected invoice linked
to each other, payments carried over), by rejection with an explanation e-mailed to the
customer; `openbill verify` stays clean after each. And the report over real cases.

Amounts (fixtures_book): WIDGET 12.50 at 19 %, BOOK 9.99 at 7 %.
    WIDGET x2 = 25.00 + 4.75 = 29.75;  BOOK x3 = 29.97 + 2.10 = 32.07;  both: 61.82
    WIDGET x4 = 50.00 + 9.50 = 59.50
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from fixtures_book import ENTITY, credit_of, invoice, journal_of, open_of, row_counts, verify_clean
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbill.domain.rejections import InvalidAmount, InvalidInput, InvalidState
from openbill.usecases import disputes as ds
from openbill.usecases import invoices as inv
from openbill.usecases import mailing as ml
from openbill.usecases import masterdata as m
from openbill.usecases import payments as pay

DEC1 = date(2025, 12, 1)
SENDER = "ar@acme.example"


def _both(book, customer="C1", reference=""):
    specs = (inv.LineSpec("WIDGET", "2"), inv.LineSpec("BOOK", "3"))
    return inv.create_invoice(
        book.uow(), inv.CreateInvoice(ENTITY, customer, specs, DEC1, buyer_reference=reference)
    )


def _open(book, number, reason="price", **kw):
    return ds.open_case(book.uow(), ds.OpenCase(ENTITY, number, reason, **kw))


def _view(book, case_no="1"):
    return ds.show_case(book.uow(read_only=True), ENTITY, case_no)


def _disputed(book):
    with book.uow(read_only=True) as uow:
        return uow.disputes.disputed_by_document(uow.entities.by_code(ENTITY).id)


# ---------------------------------------------------------------------------------------------
# credit note


def test_a_line_case_is_credited_by_its_own_line(book):
    doc = _both(book)
    _open(book, doc.number, line_no=1)  # 29.75, the whole line
    result = ds.resolve_by_credit_note(
        book.uow(), ds.ResolveByCreditNote(ENTITY, "DSP-000001", note="price agreed")
    )
    assert (result.credit_note, result.credit_note_total_minor, result.adjusted_minor) == (
        "CN-2026-000001",
        2975,
        2975,
    )
    # 61.82 - 29.75 = 32.07 still open; the credit note's journal entry reverses line 1.
    assert open_of(book, doc.number) == 3207
    # Receivable down 29.75, revenue 4000 back 25.00, VAT 2200 back 4.75 (credit note id 2).
    assert journal_of(book, "documents", 2) == {"1100": -2975, "4000": 2500, "2200": 475}
    view = _view(book)
    assert (view.case["status"], view.case["resolution"], view.case["closed_on"]) == (
        "resolved",
        "credit_note",
        date(2026, 1, 1),
    )
    assert view.resolution["credit_note_number"] == "CN-2026-000001"
    assert view.resolution["rebill_number"] is None
    assert view.events[-1]["detail"] == (
        "resolved by credit note CN-2026-000001 over 29.75 EUR: price agreed"
    )
    assert _disputed(book) == {}
    verify_clean(book)


def test_crediting_more_than_is_disputed_needs_explicit_lines(book):
    doc = _both(book)
    _open(book, doc.number, line_no=1, amount="10.00")
    before = row_counts(book)
    with pytest.raises(InvalidInput) as refused:
        ds.resolve_by_credit_note(book.uow(), ds.ResolveByCreditNote(ENTITY, "1"))
    assert "disputes 10.00 EUR" in refused.value.reason
    assert "29.75 EUR" in refused.value.reason and "--line" in refused.value.reason
    with pytest.raises(InvalidInput) as other_line:
        ds.resolve_by_credit_note(book.uow(), ds.ResolveByCreditNote(ENTITY, "1", ((2, "1"),)))
    assert "about line 1" in other_line.value.reason
    assert row_counts(book) == before  # nothing issued, nothing closed
    # Explicit: one widget, 12.50 + 2.38 = 14.88.
    result = ds.resolve_by_credit_note(book.uow(), ds.ResolveByCreditNote(ENTITY, "1", ((1, "1"),)))
    assert result.credit_note_total_minor == 1488
    assert open_of(book, doc.number) == 6182 - 1488
    verify_clean(book)


def test_an_invoice_case_is_credited_whole_or_by_given_lines(book):
    a, b = _both(book), _both(book)
    _open(book, a.number, "not_delivered")
    whole = ds.resolve_by_credit_note(book.uow(), ds.ResolveByCreditNote(ENTITY, "1"))
    assert whole.credit_note_total_minor == 6182 and open_of(book, a.number) == 0
    _open(book, b.number, "quantity", amount="32.07")
    part = ds.resolve_by_credit_note(book.uow(), ds.ResolveByCreditNote(ENTITY, "2", ((2, "3"),)))
    assert part.credit_note_total_minor == 3207 and open_of(book, b.number) == 2975
    verify_clean(book)


def test_closing_dates_lie_between_opening_and_today(book, clock):
    doc = _both(book)
    _open(book, doc.number, opened_on=date(2025, 12, 10))
    for on in (date(2025, 12, 9), date(2026, 1, 2)):
        with pytest.raises(InvalidInput) as refused:
            ds.resolve_by_credit_note(book.uow(), ds.ResolveByCreditNote(ENTITY, "1", on=on))
        assert refused.value.field == "date"
    result = ds.resolve_by_credit_note(
        book.uow(), ds.ResolveByCreditNote(ENTITY, "1", on=date(2025, 12, 10))
    )
    assert result.status == "resolved"
    assert _view(book).case["closed_on"] == date(2025, 12, 10)
    with pytest.raises(InvalidState) as twice:
        ds.resolve_by_credit_note(book.uow(), ds.ResolveByCreditNote(ENTITY, "1"))
    assert "closed" in twice.value.reason


# ---------------------------------------------------------------------------------------------
# re-bill


def test_rebill_credits_all_and_issues_the_corrected_invoice_linked_both_ways(book):
    doc = _both(book, reference="PO-77")
    _open(book, doc.number, line_no=1, amount="5.00")
    result = ds.resolve_by_rebill(
        book.uow(),
        ds.ResolveByRebill(
            ENTITY,
            "1",
            (inv.LineSpec("WIDGET", "2", unit_price="10.00"), inv.LineSpec("BOOK", "3")),
            note="contract price 10.00",
        ),
    )
    # Corrected: 2 x 10.00 = 20.00 + 3.80 = 23.80; BOOK 32.07; total 55.87.
    # Net effect for the customer: 61.82 - 55.87 = 5.95 less.
    assert (result.credit_note, result.credit_note_total_minor) == ("CN-2026-000001", 6182)
    assert (result.rebill_invoice, result.rebill_total_minor) == ("INV-2026-000001", 5587)
    assert (result.adjusted_minor, result.carried_over_minor) == (595, 0)
    assert open_of(book, doc.number) == 0
    assert open_of(book, "INV-2026-000001") == 5587
    for number in ("CN-2026-000001", "INV-2026-000001"):
        link = ds.resolution_of_document(book.uow(read_only=True), ENTITY, number)
        assert (link["case_no"], link["credit_note_number"], link["rebill_number"]) == (
            "DSP-000001",
            "CN-2026-000001",
            "INV-2026-000001",
        )
    assert ds.resolution_of_document(book.uow(read_only=True), ENTITY, doc.number) is None
    with book.uow(read_only=True) as uow:
        rebill = uow.documents.by_number(uow.entities.by_code(ENTITY).id, "INV-2026-000001")
        credit = uow.documents.by_number(uow.entities.by_code(ENTITY).id, "CN-2026-000001")
    assert rebill.buyer_reference == "PO-77"
    assert credit.credited_document_id == doc.id
    assert credit.reason == "Dispute DSP-000001 (price): contract price 10.00"
    verify_clean(book)


def test_rebill_moves_what_was_paid_on_to_the_corrected_invoice(book):
    doc = invoice(book, "C1", DEC1, ("WIDGET", "4"))  # 59.50
    pay.record_payment(book.uow(), pay.RecordPayment(ENTITY, "C1", "20.00"))
    assert open_of(book, doc.number) == 3950
    _open(book, doc.number, amount="39.50")
    result = ds.resolve_by_rebill(
        book.uow(),
        ds.ResolveByRebill(ENTITY, "1", (inv.LineSpec("WIDGET", "4", unit_price="10.00"),)),
    )
    # Credit note 59.50: 39.50 settles the original, the other 20.00 (paid) goes on to the
    # corrected invoice of 40.00 + 7.60 = 47.60, leaving 27.60 open and no stray credit.
    assert result.carried_over_minor == 2000
    assert open_of(book, doc.number) == 0
    assert open_of(book, result.rebill_invoice) == 2760
    assert credit_of(book, "C1") == 0
    assert "20.00 EUR already paid moved to INV-2026-000001" in _view(book).events[-1]["detail"]
    verify_clean(book)


def test_rebill_refusals_write_nothing(book):
    doc = _both(book)
    _open(book, doc.number, amount="1.00")
    before = row_counts(book)
    with pytest.raises(InvalidInput):
        ds.resolve_by_rebill(book.uow(), ds.ResolveByRebill(ENTITY, "1", ()))
    with pytest.raises(InvalidInput) as unknown:
        ds.resolve_by_rebill(
            book.uow(), ds.ResolveByRebill(ENTITY, "1", (inv.LineSpec("NOPE", "1"),))
        )
    assert "no charge code" in unknown.value.reason
    assert row_counts(book) == before  # the credit note was rolled back with the rest
    inv.credit_invoice(
        book.uow(), inv.CreditInvoice(ENTITY, doc.number, "one book short", lines=((2, "1"),))
    )
    with pytest.raises(InvalidState) as credited:
        ds.resolve_by_rebill(
            book.uow(), ds.ResolveByRebill(ENTITY, "1", (inv.LineSpec("WIDGET", "1"),))
        )
    assert "already credited" in credited.value.reason


# ---------------------------------------------------------------------------------------------
# rejection


def _email(book, address="ap@alpha.example"):
    m.update_customer(book.uow(), m.UpdateCustomer(ENTITY, "C1", (("email", address),)))


def test_rejection_queues_the_explanation_to_the_customer(book):
    _email(book)
    doc = _both(book)
    _open(book, doc.number, "not_delivered", line_no=2)
    explanation = "Delivery note 4711 was signed by your warehouse on 2025-12-03."
    result = ds.reject_case(book.uow(), ds.RejectCase(ENTITY, "1", explanation, sender=SENDER))
    assert result.mail == "explanation queued to ap@alpha.example"
    [row] = ml.list_outbox(book.uow(read_only=True), ENTITY)
    with book.uow(read_only=True) as uow:
        message = uow.outbox.by_document(doc.id, "dispute-DSP-000001-rejected")
    assert message is not None and row.id == message.id
    assert message.subject == f"Your dispute DSP-000001 on invoice {doc.number}: not accepted"
    assert explanation in message.body
    assert f"line 2 of invoice {doc.number}" in message.body
    assert "61.82 EUR is open" in message.body  # the invoice stays payable in full
    view = _view(book)
    assert view.resolution["outbox_message_id"] == message.id
    assert view.resolution["explanation"] == explanation
    assert view.case["status"] == "rejected" and view.case["adjusted_minor"] == 0
    assert open_of(book, doc.number) == 6182 and _disputed(book) == {}
    verify_clean(book)


def test_rejection_without_an_address_is_refused_unless_no_mail(book):
    doc = _both(book)
    _open(book, doc.number)
    before = row_counts(book)
    with pytest.raises(InvalidInput) as refused:
        ds.reject_case(
            book.uow(), ds.RejectCase(ENTITY, "1", "Price is per contract 77.", sender=SENDER)
        )
    assert "no e-mail address" in refused.value.reason and "--no-mail" in refused.value.reason
    assert row_counts(book) == before
    with pytest.raises(InvalidInput) as short:
        ds.reject_case(book.uow(), ds.RejectCase(ENTITY, "1", "no", send_mail=False))
    assert short.value.field == "explanation"
    result = ds.reject_case(
        book.uow(), ds.RejectCase(ENTITY, "1", "Price is per contract 77.", send_mail=False)
    )
    assert result.mail.startswith("explanation not e-mailed")
    assert ml.list_outbox(book.uow(read_only=True), ENTITY) == []
    assert "not e-mailed" in _view(book).events[-1]["detail"]


# ---------------------------------------------------------------------------------------------
# report over real cases


def test_report_counts_time_to_resolve_and_filters_on_the_opened_date(book, clock):
    docs = [_both(book) for _ in range(3)]
    _open(book, docs[0].number, line_no=1, opened_on=DEC1)  # price on WIDGET
    _open(book, docs[1].number, "price", line_no=1, opened_on=date(2025, 12, 20))
    _open(book, docs[2].number, "tax")  # opened today, 2026-01-01, stays open
    ds.resolve_by_credit_note(book.uow(), ds.ResolveByCreditNote(ENTITY, "1", on=date(2025, 12, 5)))
    clock.advance(days=9)  # 2026-01-10
    ds.reject_case(
        book.uow(), ds.RejectCase(ENTITY, "2", "Price is per contract 77.", send_mail=False)
    )
    report = ds.dispute_report(book.uow(read_only=True), ENTITY)
    # Closed after 4 days (Dec 1 -> Dec 5) and 21 days (Dec 20 -> Jan 10): mean 12.5.
    assert (report.total.cases, report.total.active) == (3, 1)
    assert (report.total.days_mean, report.total.days_median) == (Decimal("12.5"), Decimal("12.5"))
    by_code = {g.key: g.cases for g in report.by_charge_code}
    assert by_code == {"WIDGET": 2, "(whole invoice)": 1}
    [price] = [g for g in report.by_reason if g.key == "price"]
    # 29.75 + 29.75 disputed; 29.75 credited, the rejection took nothing off.
    assert (price.disputed, price.adjusted) == ((("EUR", 5950),), (("EUR", 2975),))
    december = ds.dispute_report(
        book.uow(read_only=True), ENTITY, date(2025, 12, 2), date(2025, 12, 31)
    )
    assert december.total.cases == 1 and december.by_reason[0].key == "price"
    with pytest.raises(InvalidInput):
        ds.dispute_report(book.uow(read_only=True), ENTITY, date(2026, 1, 2), date(2026, 1, 1))


# ---------------------------------------------------------------------------------------------
# the bound, as a property


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.tuples(st.sampled_from([None, 1, 2]), st.integers(1, 4000)), min_size=1, max_size=6)
)
def test_cases_never_dispute_more_than_is_open_or_than_a_line_totals(book, attempts):
    # Invariant: whatever is asked, the active cases on an invoice dispute at most what is open,
    # and those on a line at most the line's total with tax (29.75 and 32.07, open 61.82).
    doc = _both(book)
    gross = {1: 2975, 2: 3207}
    on_line = {1: 0, 2: 0}
    total = 0
    for line_no, amount_minor in attempts:
        limit = 6182 - total
        if line_no is not None:
            limit = min(limit, gross[line_no] - on_line[line_no])
        amount = f"{amount_minor // 100}.{amount_minor % 100:02d}"
        if amount_minor <= limit:
            _open(book, doc.number, line_no=line_no, amount=amount)
            total += amount_minor
            if line_no is not None:
                on_line[line_no] += amount_minor
        else:
            with pytest.raises(InvalidAmount):
                _open(book, doc.number, line_no=line_no, amount=amount)
        assert _disputed(book).get(doc.id, 0) == total <= 6182
