"""Invoices, credit notes and statements as PDF (Jinja2 + WeasyPrint), read back with pypdf.

WeasyPrint takes about 0.3 s a document, so few PDFs are rendered; the rest is checked on the
HTML the templates produce.

Invoice of C1 (domestic, net30) dated 2026-01-05, figures by hand:

    1  3 WIDGET    12.50   S 19 %    37.50
    2  2 TRAINING 100.00   E  0 %   200.00    "Exempt under section 4 no. 21 UStG"
    VAT S 19 %: 37.50 x 0.19 = 7.125 -> 7.13;  E 0 %: 200.00, 0.00
    net 237.50, VAT 7.13, total 244.63, due 2026-01-05 + 30 days = 2026-02-04
"""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date

import pytest
from fixtures_book import ENTITY, EXEMPT_NOTE, invoice
from pypdf import PdfReader

from openbill.adapters.documents import pdf
from openbill.usecases import invoices as inv
from openbill.usecases import reports
from openbill.usecases.statements import parties

IBAN = "DE89370400440532013000"


def text_of(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    # Collapse whitespace: table cells come out separated by newlines or spaces.
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def printable(book, number):
    view = reports.show_document(book.uow(read_only=True), ENTITY, number)
    both = parties(book.uow(read_only=True), ENTITY, view.header["customer_code"])
    seller = replace(both.seller, address="Hauptstrasse 1\n10115 Berlin", iban=IBAN)
    return view, replace(both, seller=seller)


@pytest.fixture
def issued(book):
    return invoice(book, "C1", date(2026, 1, 5), ("WIDGET", "3"), ("TRAINING", "2"))


def test_invoice_pdf_shows_everything_a_buyer_needs(book, issued):
    view, who = printable(book, issued.number)
    text = text_of(pdf.render_document(view, who))
    for expected in (
        "Invoice",
        issued.number,
        "Acme GmbH",
        "DE136695976",  # seller VAT id
        "Hauptstrasse 1",
        IBAN,
        "Alpha GmbH",  # buyer
        "2026-01-05",
        "DUE DATE 2026-02-04",  # labels are upper case by the style sheet
        "1 Widget 3 unit 12.50 S 19 % 37.50",
        "2 Training day 2 unit 100.00 E 0 % 200.00",
        "S · Standard rate 19 % 37.50 EUR 7.13 EUR",
        "E · Exempt from VAT 0 % 200.00 EUR 0.00 EUR",
        f"{EXEMPT_NOTE} (VATEX-EU-132)",
        "Net total 237.50 EUR",
        "Total due 244.63 EUR",
        "Please pay 244.63 EUR by 2026-02-04",
        # ISO 11649 of INV-2026-000001, the same python-stdnum accepts (test_einvoice_schematron)
        "quoting the reference RF94 INV2 0260 0000 1",
    ):
        assert expected in text, (expected, text[:4000])


def test_credit_note_pdf_names_the_credited_invoice_and_why(book, issued):
    # Credit one training day: 100.00 exempt, no VAT.
    note = inv.credit_invoice(
        book.uow(),
        inv.CreditInvoice(
            ENTITY, issued.number, "training cancelled", date(2026, 1, 9), ((2, "1"),)
        ),
    )
    view, who = printable(book, note.number)
    text = text_of(pdf.render_document(view, who, credited_number=issued.number))
    assert "Credit note" in text
    assert note.number in text
    assert f"This credit note credits invoice {issued.number}" in text
    assert "Reason: training cancelled" in text
    assert "Total credited 100.00 EUR" in text
    assert EXEMPT_NOTE in text


def test_reverse_charge_note_and_buyer_vat_id_are_printed(book):
    rc = invoice(book, "C2", date(2026, 1, 5), ("WIDGET", "2"))
    view, who = printable(book, rc.number)
    html = pdf.render_html("invoice.html", pdf.document_context(view, who))
    assert "FR40303265045" in html
    assert "AE · Reverse charge" in html
    assert "Reverse charge (VATEX-EU-AE)" in html
    assert "25.00" in html


def test_zero_decimal_currency_prints_without_decimals(book):
    # 2 x 1333 JPY = 2666, VAT 19 % = 506.54 -> 507, total 3173.
    jp = invoice(book, "CJP", date(2026, 1, 5), ("WIDGET", "2"))
    view, who = printable(book, jp.number)
    html = pdf.render_html("invoice.html", pdf.document_context(view, who))
    assert "3173 JPY" in html
    assert "507 JPY" in html


def test_company_templates_override_the_built_in_ones(book, issued, tmp_path, monkeypatch):
    view, who = printable(book, issued.number)
    (tmp_path / "invoice.html").write_text(
        '{% extends "_document.html" %}'
        "{% block intro %}<p>BRANDED-MARKER by {{ seller.name }}</p>{% endblock %}",
        encoding="utf-8",
    )
    text = text_of(pdf.render_document(view, who, templates_dir=tmp_path))
    assert "BRANDED-MARKER by Acme GmbH" in text
    assert "Total 244.63 EUR" in text  # the rest is still the built-in layout
    # The folder can also come from the environment, and a base.css alone restyles.
    (tmp_path / "base.css").write_text("h1 { color: rebeccapurple; }", encoding="utf-8")
    monkeypatch.setenv(pdf.TEMPLATES_ENV, str(tmp_path))
    html = pdf.render_html("invoice.html", pdf.document_context(view, who))
    assert "rebeccapurple" in html and "BRANDED-MARKER" in html
    assert "@page" not in html  # the built-in base.css was replaced, not added to
    monkeypatch.setenv(pdf.TEMPLATES_ENV, str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError):
        pdf.render_html("invoice.html", pdf.document_context(view, who))


def test_template_text_is_escaped(book, issued):
    view, who = printable(book, issued.number)
    buyer = replace(who.buyer, name="<script>alert(1)</script>")
    html = pdf.render_html("invoice.html", pdf.document_context(view, replace(who, buyer=buyer)))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
