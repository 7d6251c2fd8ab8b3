"""Factur-X: the printed invoice as PDF/A-3 with its CII embedded (factur-x library), checked
with the library's own reader and the official CEN EN 16931 CII schematron (saxonche)."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
import typer
from fixtures_book import invoice
from lxml import etree
from pypdf import PdfReader
from typer.testing import CliRunner

from openbill.adapters.documents import facturx as fx
from openbill.adapters.documents import pdf
from openbill.interfaces.cli import documents_cmds

app = typer.Typer()
invoices_app = typer.Typer()
invoices_app.command("export")(documents_cmds.export)
app.add_typer(invoices_app, name="invoices")

SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}


@pytest.fixture(scope="module")
def cii_schematron(corpora: Path):
    """A function: CII bytes -> the fatal findings of the CEN EN 16931 CII schematron."""
    from saxonche import PySaxonProcessor

    xslt = corpora / "en16931" / "xslt" / "EN16931-CII-validation.xslt"
    with PySaxonProcessor(license=False) as proc:
        executable = proc.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(xslt))

        def fatal(xml: bytes) -> list[str]:
            node = proc.parse_xml(xml_text=xml.decode("utf-8"))
            report = etree.fromstring(executable.transform_to_string(xdm_node=node).encode())
            return [
                f"{f.get('id')}: {' '.join(f.itertext()).strip()}"
                for f in report.findall(".//svrl:failed-assert", SVRL)
                if f.get("flag") == "fatal"
            ]

        yield fatal


def check_facturx(data: bytes, cii: bytes) -> None:
    import facturx

    assert data.startswith(b"%PDF-")
    filename, embedded = facturx.get_xml_from_pdf(data)
    assert filename == "factur-x.xml"
    assert embedded == cii
    root = etree.fromstring(embedded)
    assert facturx.get_flavor(root) == "factur-x"
    assert facturx.get_level(root) == "en16931"
    reader = PdfReader(io.BytesIO(data))
    xmp = reader.xmp_metadata.stream.get_data()
    assert b"<pdfaid:part>3</pdfaid:part>" in xmp
    assert b"<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>" in xmp


def test_corpus_cii_embeds_into_a_rendered_pdf(corpora, cii_schematron):
    # The adapter on its own, with a CEN example that passes the schematron.
    cii = (corpora / "en16931" / "cen-cii" / "CII_example1.xml").read_bytes()
    assert cii_schematron(cii) == []
    printed = pdf.render_pdf(
        "layout.html",
        {"title": "Invoice", "seller": _party("Seller"), "buyer": _party("Buyer")},
        pdf_variant=fx.PDF_VARIANT,
    )
    check_facturx(fx.embed_cii(printed, cii, number="TOSL108", seller_name="Seller"), cii)


def test_xml_that_is_not_cii_is_refused():
    printed = pdf.render_pdf(
        "layout.html", {"title": "x", "seller": _party("S"), "buyer": _party("B")}
    )
    with pytest.raises(Exception):  # noqa: B017 - the library raises plain Exception
        fx.embed_cii(printed, b"<Invoice/>", number="X", seller_name="S")


def test_invoice_exports_as_facturx_passing_the_cen_schematron(
    book, db_url, cii_schematron, tmp_path, monkeypatch
):
    monkeypatch.delenv("OPENBILL_ENTITY", raising=False)
    # WIDGET x 3 (S 19 %): 37.50 + 7.125 -> 7.13; TRAINING x 1 (E, legal note): 100.00.
    # Total 144.63 EUR.
    issued = invoice(book, "C1", date(2026, 1, 5), ("WIDGET", "3"), ("TRAINING", "1"))

    def export(fmt: str, target: str) -> bytes:
        args = ["invoices", "export", issued.number, "--format", fmt, "-o", target]
        result = CliRunner().invoke(app, [*args, "--db", db_url])
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        return result.stdout_bytes if target == "-" else (tmp_path / target).read_bytes()

    monkeypatch.chdir(tmp_path)
    cii = export("cii", "invoice-cii.xml")
    assert cii_schematron(cii) == []
    assert issued.number.encode() in cii and b"144.63" in cii
    data = export("facturx", "invoice.pdf")
    check_facturx(data, cii)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())
    assert issued.number in text and "Total due 144.63 EUR" in text
    ubl = export("ubl", "-")
    assert ubl.startswith(b"<?xml") and issued.number.encode() in ubl


def _party(name: str) -> dict[str, str]:
    return {
        "code": name[:3].upper(),
        "name": name,
        "country": "DE",
        "address": "",
        "vat_id": "",
        "tax_number": "",
        "iban": "",
        "email": "",
    }
