"""Reading e-invoices written by others: every CEN example (UBL and CII) and every Factur-X /
ZUGFeRD PDF of the shared corpus reads without error, its totals add up (BR-CO-10 to BR-CO-16),
and the totals read are the ones written in the file (taken from the file again here with
plain XPath, apart from the reader). Bad input is refused with a message naming the element.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from openbill.adapters.documents import cii, ubl
from openbill.adapters.documents.einvoice_io import detect_syntax, read_any, xml_of_pdf
from openbill.domain.einvoice import EInvoice, computed_totals, total_mismatches
from openbill.domain.rejections import InvalidInput
from openbill.usecases.einvoicing import read_einvoice

CORPUS_FOLDERS = ("cen-ubl", "cen-cii", "facturx-zugferd/pdf")
# The corpus as described in its SOURCES.md: at least this many files per folder.
FILES_MIN = {"cen-ubl": 5, "cen-cii": 5, "facturx-zugferd/pdf": 7}

UBL_NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
CII_NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}


def corpus_files(corpora: Path) -> list[Path]:
    files: list[Path] = []
    for folder in CORPUS_FOLDERS:
        found = sorted(p for p in (corpora / "en16931" / folder).iterdir() if p.is_file())
        found = [p for p in found if p.suffix in (".xml", ".pdf")]
        assert len(found) >= FILES_MIN[folder], f"{folder}: only {len(found)} files"
        files.extend(found)
    return files


def declared_in_file(xml: bytes) -> dict[str, Decimal]:
    """BT-109, BT-110, BT-112 and BT-115 as the file writes them, by plain XPath."""
    root = etree.fromstring(xml)
    if root.tag.endswith("CrossIndustryInvoice"):
        s = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:"
        currency = root.xpath("string(//ram:InvoiceCurrencyCode)", namespaces=CII_NS)
        paths = {
            "tax_exclusive": f"{s}TaxBasisTotalAmount",
            "tax_total": f"{s}TaxTotalAmount[not(@currencyID) or @currencyID='{currency}']",
            "tax_inclusive": f"{s}GrandTotalAmount",
            "payable": f"{s}DuePayableAmount",
        }
        ns = CII_NS
    else:
        t = "/*/cac:LegalMonetaryTotal/cbc:"
        currency = root.xpath("string(/*/cbc:DocumentCurrencyCode)", namespaces=UBL_NS)
        paths = {
            "tax_exclusive": f"{t}TaxExclusiveAmount",
            "tax_total": f"/*/cac:TaxTotal/cbc:TaxAmount[@currencyID='{currency}']",
            "tax_inclusive": f"{t}TaxInclusiveAmount",
            "payable": f"{t}PayableAmount",
        }
        ns = UBL_NS
    return {
        name: Decimal(root.xpath(f"string(({path})[1])", namespaces=ns).strip() or "0")
        for name, path in paths.items()
    }


def xml_of(path: Path) -> bytes:
    data = path.read_bytes()
    return xml_of_pdf(data) if path.suffix == ".pdf" else data


def test_every_corpus_file_reads_and_its_totals_match_the_file(corpora: Path) -> None:
    checked = 0
    for path in corpus_files(corpora):
        inv = read_einvoice(path.read_bytes(), read_any)
        assert total_mismatches(inv) == (), path.name
        declared = declared_in_file(xml_of(path))
        got = {
            "tax_exclusive": inv.totals.tax_exclusive,
            "tax_total": inv.tax_total,
            "tax_inclusive": inv.totals.tax_inclusive,
            "payable": inv.totals.payable,
        }
        assert got == declared, path.name
        computed = computed_totals(inv)
        assert computed.tax_exclusive == declared["tax_exclusive"], path.name
        assert computed.tax_inclusive == declared["tax_inclusive"], path.name
        if computed.payable is not None:
            assert computed.payable == declared["payable"], path.name
        if inv.lines:
            assert computed.line_total == inv.totals.line_total, path.name
        checked += 1
    assert checked >= sum(FILES_MIN.values())


def test_corpus_files_read_again_after_writing_in_either_syntax(corpora: Path) -> None:
    # What the model holds survives a trip through each syntax: read(write(m)) == m.
    for path in corpus_files(corpora):
        model = read_any(path.read_bytes())
        for syntax in (ubl, cii):
            again = syntax.read(syntax.write(model))
            assert again == _comparable(model, syntax is ubl), (path.name, syntax.__name__)


def _comparable(model: EInvoice, to_ubl: bool) -> EInvoice:
    if not to_ubl:
        return model
    # UBL always writes BT-106 (mandatory there), even for a Factur-X MINIMUM without it.
    if model.totals.line_total is None:
        model = replace(model, totals=replace(model.totals, line_total=Decimal(0)))
    # A UBL CreditNote has no DueDate: BT-9 lives in PaymentMeans, so without payment means
    # (BG-16) a credit note's due date has no place in UBL.
    if model.is_credit_note and model.payment_means is None:
        model = replace(model, due_date=None)
    return model


def test_figures_of_known_examples(corpora: Path) -> None:
    cen = corpora / "en16931"
    example1 = read_any((cen / "cen-ubl" / "ubl-tc434-example1.xml").read_bytes())
    assert (example1.number, example1.currency, len(example1.lines)) == ("12115118", "EUR", 20)
    assert example1.totals.payable == Decimal("250.33")
    credit = read_any((cen / "cen-ubl" / "ubl-tc434-creditnote1.xml").read_bytes())
    assert credit.is_credit_note and credit.totals.payable == Decimal("100.11")
    minimum = read_any((cen / "facturx-zugferd/pdf/FNFE_Facture_UE_MINIMUM.pdf").read_bytes())
    assert (minimum.number, minimum.lines, minimum.totals.payable) == (
        "FA-2017-0008",
        (),
        Decimal("1453.76"),
    )
    basic_wl = read_any((cen / "facturx-zugferd/pdf/FNFE_Facture_FR_BASICWL.pdf").read_bytes())
    assert [(v.rate, v.tax_amount) for v in basic_wl.vat_breakdown] == [
        (Decimal("20.00"), Decimal("16.38")),
        (Decimal("5.50"), Decimal("29.87")),
    ]
    assert basic_wl.totals.prepaid == Decimal("201.00")


def test_detects_each_syntax(corpora: Path) -> None:
    cen = corpora / "en16931"
    assert detect_syntax((cen / "cen-ubl" / "ubl-tc434-example1.xml").read_bytes()) == "ubl"
    assert detect_syntax((cen / "cen-cii" / "CII_example1.xml").read_bytes()) == "cii"
    assert detect_syntax((cen / "facturx-zugferd/pdf/EN16931_Einfach.pdf").read_bytes()) == "pdf"
    assert not ubl.detect(b"not xml") and not cii.detect(b"<Invoice/>")


# ---------------------------------------------------------------------------------------------
# bad input


def test_not_xml_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not an e-invoice"):
        read_any(b"hello, this is not an invoice")
    with pytest.raises(InvalidInput, match="not well-formed XML"):
        ubl.read(b"<Invoice><unclosed>")
    with pytest.raises(InvalidInput, match="not well-formed XML"):
        cii.read(b"\x00\x01binary")


def test_xml_of_another_kind_is_refused() -> None:
    camt = b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><x/></Document>'
    with pytest.raises(InvalidInput, match="not an e-invoice"):
        read_any(camt)
    with pytest.raises(InvalidInput, match="root element is Document") as refused:
        ubl.read(camt)
    assert refused.value.field == "Document"
    with pytest.raises(InvalidInput, match="not a CII CrossIndustryInvoice"):
        cii.read(b'<?xml version="1.0"?>' + camt)


def test_a_pdf_without_an_embedded_invoice_is_refused() -> None:
    with pytest.raises(InvalidInput, match="Factur-X PDF"):
        read_any(b"%PDF-1.4\nnot really a pdf")


def _without(xml: bytes, xpath: str, ns: dict[str, str]) -> bytes:
    root = etree.fromstring(xml)
    (node,) = root.xpath(xpath, namespaces=ns)
    node.getparent().remove(node)
    return etree.tostring(root)


@pytest.mark.parametrize(
    ("xpath", "named"),
    [
        ("/*/cbc:IssueDate", "Invoice/cbc:IssueDate"),
        ("/*/cbc:DocumentCurrencyCode", "Invoice/cbc:DocumentCurrencyCode"),
        ("/*/cac:LegalMonetaryTotal", "Invoice/cac:LegalMonetaryTotal"),
        (
            "/*/cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName",
            "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName",
        ),
        ("/*/cac:InvoiceLine[1]/cac:Item/cbc:Name", "cac:InvoiceLine/cac:Item/cbc:Name"),
    ],
)
def test_ubl_missing_required_element_is_named(corpora: Path, xpath: str, named: str) -> None:
    good = (corpora / "en16931" / "cen-ubl" / "ubl-tc434-example1.xml").read_bytes()
    with pytest.raises(InvalidInput) as refused:
        ubl.read(_without(good, xpath, UBL_NS))
    assert named in refused.value.message
    assert refused.value.field.endswith(named.rpartition("/")[2])


@pytest.mark.parametrize(
    ("xpath", "named"),
    [
        ("//ram:InvoiceCurrencyCode", "ram:InvoiceCurrencyCode"),
        ("/*/rsm:ExchangedDocument/ram:ID", "rsm:ExchangedDocument/ram:ID"),
        ("//ram:SpecifiedTradeSettlementHeaderMonetarySummation", "MonetarySummation"),
        ("//ram:SellerTradeParty/ram:PostalTradeAddress", "ram:PostalTradeAddress"),
        ("(//ram:BilledQuantity)[1]", "ram:BilledQuantity"),
    ],
)
def test_cii_missing_required_element_is_named(corpora: Path, xpath: str, named: str) -> None:
    good = (corpora / "en16931" / "cen-cii" / "CII_example1.xml").read_bytes()
    with pytest.raises(InvalidInput) as refused:
        cii.read(_without(good, xpath, CII_NS))
    assert named in refused.value.message


def test_malformed_values_are_named(corpora: Path) -> None:
    good = (corpora / "en16931" / "cen-ubl" / "ubl-tc434-example1.xml").read_bytes()
    bad_amount = good.replace(b">250.33</cbc:PayableAmount>", b">2,50.33</cbc:PayableAmount>")
    with pytest.raises(InvalidInput, match=r"'2,50.33' in .*cbc:PayableAmount is not a decimal"):
        ubl.read(bad_amount)
    bad_date = good.replace(b"<cbc:IssueDate>2015-01-09<", b"<cbc:IssueDate>09.01.2015<")
    assert bad_date != good
    with pytest.raises(InvalidInput, match=r"'09.01.2015' in Invoice/cbc:IssueDate is not a date"):
        ubl.read(bad_date)


def test_totals_that_do_not_add_up_are_refused(corpora: Path) -> None:
    good = (corpora / "en16931" / "cen-ubl" / "ubl-tc434-example1.xml").read_bytes()
    wrong = good.replace(b">250.33</cbc:PayableAmount>", b">250.34</cbc:PayableAmount>")
    assert ubl.read(wrong).totals.payable == Decimal("250.34")
    with pytest.raises(InvalidInput, match="BT-115 declared 250.34, computed 250.33"):
        read_einvoice(wrong, read_any)
