"""Document-level allowances and charges (EN 16931 BG-20, BG-21): totals, ledger, verify,
credit notes, and e-invoices that pass the CEN schematron.

Book: ACME (DE), C1 (EUR, domestic); WIDGET 12.50 at 19 %, BOOK 9.99 at 7 %.
Invoice worked out by hand:
  8 WIDGET = 100.00 (S 19 %), 10 BOOK = 99.90 (S 7 %)
  allowance 10.00 "loyalty discount" (code 95) at 19 %, charge 5.00 "freight" (code FC) at 19 %
  S 19 %: 100.00 - 10.00 + 5.00 = 95.00 -> tax 18.05
  S 7 %:  99.90                        -> tax 6.993 -> 6.99
  line total 199.90, without VAT 194.90, VAT 25.04, total 219.94
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from fixtures_book import ENTITY, journal_of, verify_clean
from test_einvoice_schematron import schematron  # noqa: F401  (the session fixture)

from openbill.adapters.documents.einvoice_io import WRITERS, read_any
from openbill.domain.rejections import InvalidInput
from openbill.usecases import einvoicing
from openbill.usecases import invoices as inv

ADJUSTMENTS = (
    inv.AdjustmentSpec("allowance", "10.00", "loyalty discount", "standard", "95"),
    inv.AdjustmentSpec("charge", "5.00", "freight", "standard", "FC"),
)


@pytest.fixture
def issued(book):
    return inv.create_invoice(
        book.uow(),
        inv.CreateInvoice(
            ENTITY,
            "C1",
            (inv.LineSpec("WIDGET", "8"), inv.LineSpec("BOOK", "10")),
            date(2026, 3, 2),
            adjustments=ADJUSTMENTS,
        ),
    )


def test_totals_and_ledger(book, issued):
    assert (issued.net_minor, issued.tax_minor, issued.total_minor) == (19490, 2504, 21994)
    assert journal_of(book, "documents", issued.id) == {
        "1100": 21994,
        "4000": -10000,
        "4010": -9990,
        "4900": 1000,  # the allowance is a debit to allowances granted
        "4800": -500,  # the charge is revenue of its own
        "2200": -2504,
    }
    verify_clean(book)


def test_a_draft_with_adjustments_issues_the_same_totals(book):
    draft = inv.create_draft(
        book.uow(),
        inv.CreateDraft(
            ENTITY,
            "C1",
            date(2026, 3, 2),
            lines=(inv.LineSpec("WIDGET", "8"),),
            adjustments=ADJUSTMENTS,
        ),
    )
    inv.add_lines(book.uow(), inv.AddLines(ENTITY, draft.id, (inv.LineSpec("BOOK", "10"),)))
    done = inv.issue_draft(book.uow(), inv.IssueDraft(ENTITY, draft.id, date(2026, 3, 2)))
    assert (done.net_minor, done.tax_minor, done.total_minor) == (19490, 2504, 21994)
    verify_clean(book)


def test_full_credit_note_copies_them_and_partial_is_refused(book, issued):
    with pytest.raises(InvalidInput) as refused:
        inv.credit_invoice(
            book.uow(),
            inv.CreditInvoice(ENTITY, issued.number, "one line", date(2026, 3, 3), ((1, "1"),)),
        )
    assert "in full" in refused.value.reason
    note = inv.credit_invoice(
        book.uow(), inv.CreditInvoice(ENTITY, issued.number, "cancelled", date(2026, 3, 3))
    )
    assert note.total_minor == 21994
    verify_clean(book)


def test_bad_adjustments_are_refused(book):
    for spec, field in (
        (inv.AdjustmentSpec("rebate", "1.00", "x"), "kind"),
        (inv.AdjustmentSpec("allowance", "1.001", "x"), "amount"),
        (inv.AdjustmentSpec("charge", "-1", "x"), "amount"),
        (inv.AdjustmentSpec("charge", "1.00", " "), "reason"),
    ):
        with pytest.raises(InvalidInput) as refused:
            inv.create_invoice(
                book.uow(),
                inv.CreateInvoice(
                    ENTITY, "C1", (inv.LineSpec("WIDGET", "1"),), adjustments=(spec,)
                ),
            )
        assert refused.value.field == field
    too_many = (inv.AdjustmentSpec("charge", "1.00", "fee"),) * 51
    with pytest.raises(InvalidInput) as refused:
        inv.create_invoice(
            book.uow(),
            inv.CreateInvoice(ENTITY, "C1", (inv.LineSpec("WIDGET", "1"),), adjustments=too_many),
        )
    assert refused.value.field == "adjustments" and "at most 50" in refused.value.reason


@pytest.mark.parametrize("syntax", ["ubl", "cii"])
def test_e_invoices_with_allowance_and_charge_pass_the_schematron(
    book,
    issued,
    schematron,  # noqa: F811
    syntax,
):
    xml = einvoicing.export_einvoice(
        book.uow(read_only=True), ENTITY, issued.number, syntax, WRITERS
    )
    findings = schematron[syntax](xml)
    assert findings == [], "\n".join(findings)
    model = read_any(xml)
    assert [(a.is_charge, a.amount, a.reason) for a in model.allowances_charges] == [
        (False, Decimal("10.00"), "loyalty discount"),
        (True, Decimal("5.00"), "freight"),
    ]
    assert (model.totals.line_total, model.totals.tax_exclusive, model.totals.payable) == (
        Decimal("199.90"),
        Decimal("194.90"),
        Decimal("219.94"),
    )


def test_the_pdf_shows_them(book, issued):
    import io

    from pypdf import PdfReader

    from openbill.adapters.documents.pdf import render_document
    from openbill.usecases import reports
    from openbill.usecases import statements as st

    view = reports.show_document(book.uow(read_only=True), ENTITY, issued.number)
    parties = st.parties(book.uow(read_only=True), ENTITY, "C1")
    pdf = render_document(view, parties)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Allowance: loyalty discount" in text and "-10.00 EUR" in text
    assert "Charge: freight" in text and "219.94 EUR" in text
