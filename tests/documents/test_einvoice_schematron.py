"""Every kind of document openbill issues, written as UBL (Peppol BIS 3.0) and as CII, passes the
official CEN EN 16931 schematron (the validation XSLTs of ConnectingEurope/eInvoicing-EN16931,
run with saxonche) with zero fatal findings; and write -> read -> write gives the same bytes.

One book (built once for the module on this run's database) holds a German seller with IBAN,
address and e-mail, customers for each tax case and currency, and these documents:

    standard      D1   WIDGET x 3                      S 19 %             EUR
    two_rates     D1   WIDGET x 2, BOOK x 5            S 19 %, S 7 %      EUR
    zero_rated    D1   BREAD x 4                       Z 0 %              EUR
    exempt        D1   TRAINING x 1.5 (hours)          E, with its note   EUR
    mixed         D1   WIDGET x 1, TRAINING x 2        S 19 %, E          EUR
    tax_included  D1   GIFT x 3 (price with tax)       S 19 %             EUR
    reverse       RC   WIDGET x 10                     AE, buyer VAT id   EUR
    intra_eu      IC   WIDGET x 4                      K                  EUR
    export_usd    US   WIDGET x 2                      G                  USD
    gbp           GB   WIDGET x 1, BOOK x 2            S 19 %, S 7 %      GBP
    credit_note   D1   credit of two_rates in full     381, BT-25         EUR
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from stdnum import iso11649

from openbill.adapters.clock import FixedClock
from openbill.adapters.documents import cii, ubl
from openbill.adapters.documents.einvoice_io import WRITERS
from openbill.bootstrap import Book, open_book
from openbill.domain.einvoice import EInvoice, total_mismatches
from openbill.usecases import einvoicing
from openbill.usecases import invoices as inv
from openbill.usecases import masterdata as m

SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
SELLER = "EU"
START = date(2020, 1, 1)
ON = date(2026, 3, 2)
SYNTAXES = {"ubl": ubl, "cii": cii}

Validator = Callable[[bytes], list[str]]


@pytest.fixture(scope="session")
def schematron(corpora: Path) -> Iterator[dict[str, Validator]]:
    """{"ubl": fn, "cii": fn}: XML bytes -> the fatal findings of the CEN schematron, each as
    "rule id (location): text". Both XSLTs are compiled once per session."""
    from saxonche import PySaxonProcessor

    folder = corpora / "en16931" / "xslt"
    with PySaxonProcessor(license=False) as proc:
        compiler = proc.new_xslt30_processor()
        compiled = {
            syntax: compiler.compile_stylesheet(
                stylesheet_file=str(folder / f"EN16931-{syntax.upper()}-validation.xslt")
            )
            for syntax in ("ubl", "cii")
        }

        def validator(syntax: str) -> Validator:
            def fatal(xml: bytes) -> list[str]:
                node = proc.parse_xml(xml_text=xml.decode("utf-8"))
                svrl = compiled[syntax].transform_to_string(xdm_node=node)
                report = etree.fromstring(svrl.encode("utf-8"))
                fired = report.findall(".//svrl:fired-rule", SVRL)
                assert fired, "the schematron fired no rule: the document was not recognised"
                return [
                    f"{f.get('id')} ({f.get('location')}): {' '.join(f.itertext()).split()}"
                    for f in report.findall(".//svrl:failed-assert", SVRL)
                    if f.get("flag") == "fatal"
                ]

            return fatal

        yield {syntax: validator(syntax) for syntax in ("ubl", "cii")}


def _fill(book: Book) -> dict[str, str]:
    m.create_entity(
        book.uow(),
        m.CreateEntity(
            SELLER,
            "Muster Handel GmbH",
            "DE",
            "EUR",
            vat_id="DE136695976",
            iban="DE89370400440532013000",
            address="Königstraße 1, 70173 Stuttgart, Germany",
            email="billing@muster.example",
        ),
    )
    for tax_class, category, rate, note, code in (
        ("standard", "S", "19", "", ""),
        ("reduced", "S", "7", "", ""),
        ("zero", "Z", "0", "", ""),
        ("exempt", "E", "0", "Exempt under section 4 no. 21 UStG", "VATEX-EU-132"),
    ):
        m.add_tax_rule(
            book.uow(), m.AddTaxRule(SELLER, "DE", tax_class, START, category, rate, note, code)
        )
    for code, name, country, currency, regime, vat_id, address in (
        ("D1", "Alpha GmbH", "DE", "EUR", "domestic", "", "Hauptstr. 5, 10115 Berlin"),
        ("RC", "Beta SARL", "FR", "EUR", "reverse_charge", "FR40303265045", "1 rue X, 75001 Paris"),
        ("IC", "Gamma SAS", "FR", "EUR", "intra_community", "FR40303265045", "Lyon"),
        ("US", "Delta Inc.", "US", "USD", "export", "", "1 Main St, Springfield"),
        ("GB", "Epsilon Ltd", "GB", "GBP", "domestic", "", "1 High St, London"),
    ):
        m.create_customer(
            book.uow(),
            m.CreateCustomer(
                SELLER,
                code,
                name,
                country,
                currency,
                regime=regime,
                vat_id=vat_id,
                address=address,
                email=f"ap@{code.lower()}.example",
            ),
        )
    for code, name, unit, account, tax_class in (
        ("WIDGET", "Widget", "C62", "4000", "standard"),
        ("BOOK", "Book", "C62", "4010", "reduced"),
        ("BREAD", "Bread", "KGM", "4030", "zero"),
        ("TRAINING", "Training", "HUR", "4020", "exempt"),
        ("GIFT", "Gift box", "C62", "4040", "standard"),
    ):
        m.create_charge_code(
            book.uow(), m.CreateChargeCode(SELLER, code, name, unit, account, tax_class)
        )
    for code, currency, price, inclusive in (
        ("WIDGET", "EUR", "12.50", False),
        ("WIDGET", "USD", "13.75", False),
        ("WIDGET", "GBP", "10.99", False),
        ("BOOK", "EUR", "9.99", False),
        ("BOOK", "GBP", "8.49", False),
        ("BREAD", "EUR", "2.345", False),
        ("TRAINING", "EUR", "100.00", False),
        ("GIFT", "EUR", "10.00", True),
    ):
        m.add_price(
            book.uow(),
            m.AddPrice(
                SELLER,
                code,
                currency,
                START,
                "per_unit",
                f'{{"unit_price": "{price}"}}',
                includes_tax=inclusive,
            ),
        )

    def issue(customer: str, *lines: tuple[str, str]) -> str:
        specs = tuple(inv.LineSpec(code, qty) for code, qty in lines)
        return inv.create_invoice(book.uow(), inv.CreateInvoice(SELLER, customer, specs, ON)).number

    numbers = {
        "standard": issue("D1", ("WIDGET", "3")),
        "two_rates": issue("D1", ("WIDGET", "2"), ("BOOK", "5")),
        "zero_rated": issue("D1", ("BREAD", "4")),
        "exempt": issue("D1", ("TRAINING", "1.5")),
        "mixed": issue("D1", ("WIDGET", "1"), ("TRAINING", "2")),
        "tax_included": issue("D1", ("GIFT", "3")),
        "reverse": issue("RC", ("WIDGET", "10")),
        "intra_eu": issue("IC", ("WIDGET", "4")),
        "export_usd": issue("US", ("WIDGET", "2")),
        "gbp": issue("GB", ("WIDGET", "1"), ("BOOK", "2")),
    }
    credit = inv.credit_invoice(
        book.uow(), inv.CreditInvoice(SELLER, numbers["two_rates"], "Goods returned", ON)
    )
    numbers["credit_note"] = credit.number
    return numbers


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Book, dict[str, str]]]:
    """The book above, built once for this module on this run's backend."""
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    server = os.environ.get("OPENBILL_TEST_DATABASE_URL")
    if server:
        from conftest import fresh_pg_database

        with fresh_pg_database(server) as url:
            book = open_book(url, actor="tests", clock=clock)
            try:
                yield book, _fill(book)
            finally:
                book.close()
        return
    path = tmp_path_factory.mktemp("einvoice") / "book.db"
    book = open_book(f"sqlite:///{path}", actor="tests", clock=clock)
    try:
        yield book, _fill(book)
    finally:
        book.close()


KINDS = [
    "standard",
    "two_rates",
    "zero_rated",
    "exempt",
    "mixed",
    "tax_included",
    "reverse",
    "intra_eu",
    "export_usd",
    "gbp",
    "credit_note",
]


def _export(issued: tuple[Book, dict[str, str]], kind: str, syntax: str) -> bytes:
    book, numbers = issued
    return einvoicing.export_einvoice(
        book.uow(read_only=True), SELLER, numbers[kind], syntax, WRITERS
    )


@pytest.mark.parametrize("syntax", ["ubl", "cii"])
@pytest.mark.parametrize("kind", KINDS)
def test_generated_document_passes_the_cen_schematron(
    issued: Any, schematron: dict[str, Validator], kind: str, syntax: str
) -> None:
    xml = _export(issued, kind, syntax)
    findings = schematron[syntax](xml)
    assert findings == [], "\n".join(findings)


@pytest.mark.parametrize("syntax", ["ubl", "cii"])
@pytest.mark.parametrize("kind", KINDS)
def test_write_read_write_gives_the_same_bytes(issued: Any, kind: str, syntax: str) -> None:
    first = _export(issued, kind, syntax)
    model = SYNTAXES[syntax].read(first)
    assert SYNTAXES[syntax].write(model) == first
    assert total_mismatches(model) == ()


@pytest.mark.parametrize("kind", KINDS)
def test_ubl_and_cii_carry_the_same_invoice(issued: Any, kind: str) -> None:
    from_ubl = ubl.read(_export(issued, kind, "ubl"))
    from_cii = cii.read(_export(issued, kind, "cii"))
    assert from_ubl == from_cii
    # And the model converts between syntaxes without loss.
    assert cii.write(from_ubl) == _export(issued, kind, "cii")


def _model(issued: Any, kind: str) -> EInvoice:
    book, numbers = issued
    return einvoicing.build_einvoice(book.uow(read_only=True), SELLER, numbers[kind])


def test_standard_invoice_figures_by_hand(issued: Any) -> None:
    # 3 x 12.50 = 37.50 net; 19 % of 37.50 = 7.125 -> 7.13; total 44.63.
    e = _model(issued, "standard")
    assert (e.type_code, e.currency, e.issue_date) == ("380", "EUR", ON)
    assert [(v.category, v.rate, v.taxable_amount, v.tax_amount) for v in e.vat_breakdown] == [
        ("S", Decimal(19), Decimal("37.50"), Decimal("7.13"))
    ]
    assert (e.totals.line_total, e.totals.tax_exclusive, e.tax_total) == (
        Decimal("37.50"),
        Decimal("37.50"),
        Decimal("7.13"),
    )
    assert (e.totals.tax_inclusive, e.totals.payable) == (Decimal("44.63"), Decimal("44.63"))
    line = e.lines[0]
    assert (line.quantity, line.unit_code, line.net_price, line.net_amount) == (
        Decimal(3),
        "C62",
        Decimal("12.50"),
        Decimal("37.50"),
    )
    assert e.seller.address.postcode == "70173" and e.seller.address.city == "Stuttgart"
    assert e.seller.vat_id == "DE136695976"
    assert e.payment_means is not None and e.payment_means.iban == "DE89370400440532013000"
    # BT-83 carries the ISO 11649 creditor reference of the number (checked by python-stdnum).
    assert iso11649.is_valid(e.payment_means.remittance)
    assert e.payment_means.remittance == "RF94INV2026000001" and e.payment_means.type_code == "58"
    assert e.due_date == date(2026, 4, 1) and e.payment_terms == "Payable within 30 days net"


def test_two_rates_give_two_breakdowns(issued: Any) -> None:
    # WIDGET 2 x 12.50 = 25.00 at 19 % -> 4.75; BOOK 5 x 9.99 = 49.95 at 7 % -> 3.4965 -> 3.50.
    e = _model(issued, "two_rates")
    assert sorted((v.rate, v.taxable_amount, v.tax_amount) for v in e.vat_breakdown) == [
        (Decimal(7), Decimal("49.95"), Decimal("3.50")),
        (Decimal(19), Decimal("25.00"), Decimal("4.75")),
    ]
    assert e.totals.payable == Decimal("83.20")


def test_reverse_charge_names_the_buyer_vat_id_and_says_why(issued: Any) -> None:
    e = _model(issued, "reverse")
    assert e.buyer.vat_id == "FR40303265045"
    (vat,) = e.vat_breakdown
    assert (vat.category, vat.rate, vat.tax_amount) == ("AE", Decimal(0), Decimal("0.00"))
    assert vat.exemption_code == "VATEX-EU-AE" and "Reverse charge" in e.notes
    assert e.totals.payable == Decimal("125.00")


def test_intra_community_supply_names_delivery_date_and_country(issued: Any) -> None:
    e = _model(issued, "intra_eu")
    assert e.vat_breakdown[0].category == "K"
    assert (e.delivery_date, e.delivery_country) == (ON, "FR")


def test_export_in_usd_and_sale_in_gbp(issued: Any) -> None:
    usd = _model(issued, "export_usd")
    assert (usd.currency, usd.vat_breakdown[0].category) == ("USD", "G")
    assert usd.totals.payable == Decimal("27.50")
    assert usd.payment_means is not None and usd.payment_means.type_code == "30"
    gbp = _model(issued, "gbp")
    # 10.99 at 19 % -> 2.0881 -> 2.09; 2 x 8.49 = 16.98 at 7 % -> 1.1886 -> 1.19.
    assert gbp.currency == "GBP" and gbp.tax_total == Decimal("3.28")
    assert gbp.totals.payable == Decimal("31.25")


def test_credit_note_references_its_invoice(issued: Any) -> None:
    book, numbers = issued
    e = _model(issued, "credit_note")
    assert e.type_code == "381" and e.is_credit_note
    assert (e.preceding_invoice, e.preceding_invoice_date) == (numbers["two_rates"], ON)
    assert "Goods returned" in e.notes
    assert e.totals.payable == Decimal("83.20") and e.payment_means is None
    xml = _export(issued, "credit_note", "ubl")
    assert b"<CreditNote " in xml and b"<cac:CreditNoteLine>" in xml


def test_prices_with_tax_included_give_net_prices(issued: Any) -> None:
    # 3 x 10.00 gross = 30.00; tax 30.00 x 19/119 = 4.789... -> 4.79; net 25.21.
    e = _model(issued, "tax_included")
    line = e.lines[0]
    assert line.net_amount == Decimal("25.21")
    assert line.net_price == Decimal("8.4033333333")
    assert e.tax_total == Decimal("4.79") and e.totals.payable == Decimal("30.00")


def test_exempt_line_in_hours_keeps_its_note(issued: Any) -> None:
    e = _model(issued, "exempt")
    (vat,) = e.vat_breakdown
    assert vat.category == "E" and vat.exemption_reason.startswith("Exempt under section 4")
    assert e.lines[0].unit_code == "HUR" and e.lines[0].quantity == Decimal("1.5")


def test_unknown_syntax_is_refused(issued: Any) -> None:
    from openbill.domain.rejections import InvalidInput

    with pytest.raises(InvalidInput, match="unknown e-invoice syntax 'pdf'"):
        _export(issued, "standard", "pdf")


@pytest.mark.parametrize("syntax", ["ubl", "cii"])
def test_the_schematron_does_catch_a_broken_document(
    issued: Any, schematron: dict[str, Validator], syntax: str
) -> None:
    from dataclasses import replace

    e = _model(issued, "standard")
    broken = replace(e, seller=replace(e.seller, vat_id=""))
    findings = schematron[syntax](SYNTAXES[syntax].write(broken))
    assert any(f.startswith("BR-CO-26") for f in findings), findings
    assert any(f.startswith("BR-S-02") for f in findings), findings
