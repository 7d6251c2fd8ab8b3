"""The documents the demo writes: every UBL and CII file passes the official CEN EN 16931
schematron (the validation XSLTs of ConnectingEurope/eInvoicing-EN16931, run with saxonche) with
zero fatal findings, every tax case and currency of the month is among them, the Factur-X PDFs
carry their invoice, and the outbox holds one message per document, none sent.

The demo runs once for the module, on this run's database, into a temporary folder.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import PG_URL_ENV, fresh_pg_database
from lxml import etree
from rich.console import Console

from openbill.adapters.documents.einvoice_io import read_any
from openbill.bootstrap import open_book
from openbill.interfaces.cli.demo import ENTITY, run_demo
from openbill.usecases import mailing as ml

pytestmark = pytest.mark.slow

SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
DOCUMENTS = 64  # 62 invoices (56 from the catalog, 6 from deliveries) and 2 credit notes


@dataclass(frozen=True)
class Demo:
    url: str
    folder: Path
    printed: str


@pytest.fixture(scope="module")
def demo(database_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("demo")

    def run(url: str) -> Demo:
        console = Console(file=io.StringIO(), width=200)
        assert run_demo(url, console=console, out_dir=folder / "out")
        text = console.file.getvalue()  # type: ignore[attr-defined]
        return Demo(url, folder / "out", text)

    if database_backend == "sqlite":
        yield run(f"sqlite:///{folder}/book.db")
        return
    with fresh_pg_database(os.environ[PG_URL_ENV]) as url:
        yield run(url)


Validator = Callable[[bytes], list[str]]


@pytest.fixture(scope="module")
def schematron(corpora: Path) -> Iterator[dict[str, Validator]]:
    """{"ubl": fn, "cii": fn}: XML -> its fatal findings; each XSLT compiled once."""
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
                report = etree.fromstring(
                    compiled[syntax].transform_to_string(xdm_node=node).encode("utf-8")
                )
                assert report.findall(".//svrl:fired-rule", SVRL), "no rule fired"
                return [
                    f"{f.get('id')} ({f.get('location')}): {' '.join(f.itertext()).split()}"
                    for f in report.findall(".//svrl:failed-assert", SVRL)
                    if f.get("flag") == "fatal"
                ]

            return fatal

        yield {syntax: validator(syntax) for syntax in ("ubl", "cii")}


def _files(demo: Demo, suffix: str) -> list[Path]:
    return sorted(p for p in demo.folder.iterdir() if p.name.endswith(suffix))


def test_the_folder_holds_every_document(demo: Demo) -> None:
    names = {p.name for p in demo.folder.iterdir()}
    for suffix in (".pdf", "-ubl.xml", "-cii.xml"):
        numbered = [n for n in names if n.endswith(suffix) and not n.endswith("-facturx.pdf")]
        assert len(numbered) == DOCUMENTS, suffix
    assert sorted(n for n in names if n.endswith("-facturx.pdf")) == [
        "INV-2026-000001-facturx.pdf",  # MED-002: exempt and standard-rated lines
        "INV-2026-000027-facturx.pdf",  # EU-FR-01: reverse charge
        "INV-2026-000057-facturx.pdf",  # MFG-001: the contract invoice
    ]
    assert {
        "deliveries-2026-11.csv",
        "services-2026-11.json",
        "deliveries-2026-11-corrections.csv",
    } <= names
    assert (demo.folder / "deliveries-2026-11.csv").read_text().splitlines()[0] == (
        "ref,kind,customer,contract,po,po_line,charge_code,date,status,shipped,accepted,description"
    )


def test_every_einvoice_passes_the_cen_schematron(
    demo: Demo, schematron: dict[str, Validator]
) -> None:
    checked = 0
    failures: dict[str, list[str]] = {}
    for syntax in ("ubl", "cii"):
        for path in _files(demo, f"-{syntax}.xml"):
            found = schematron[syntax](path.read_bytes())
            if found:
                failures[path.name] = found
            checked += 1
    assert failures == {}
    assert checked == 2 * DOCUMENTS


def test_every_tax_case_and_currency_is_among_them(demo: Demo) -> None:
    for syntax in ("ubl", "cii"):
        docs = [read_any(p.read_bytes()) for p in _files(demo, f"-{syntax}.xml")]
        cases: set[str] = set()
        for d in docs:
            rates = {(v.category, v.rate) for v in d.vat_breakdown}
            if len({r for c, r in rates if c == "S"}) >= 2:
                cases.add("S with two rates")
            cases |= {c for c, _ in rates}
            cases.add(d.type_code)
            cases.add(d.currency)
            cases |= {"charge" if a.is_charge else "allowance" for a in d.allowances_charges}
        assert {"S with two rates", "S", "E", "AE", "G", "380", "381"} <= cases, syntax
        # One invoice carries a document-level allowance (volume discount 50.00) and charge
        # (freight 35.00), EN 16931 BG-20 and BG-21.
        assert {"allowance", "charge"} <= cases, syntax
        assert {"EUR", "USD", "GBP"} <= cases, syntax
        assert len(docs) == DOCUMENTS


def test_facturx_files_carry_their_invoice(demo: Demo) -> None:
    for path in _files(demo, "-facturx.pdf"):
        inv = read_any(path.read_bytes())
        assert path.name == f"{inv.number}-facturx.pdf"
        cii = read_any((demo.folder / f"{inv.number}-cii.xml").read_bytes())
        assert inv == cii


def test_the_outbox_holds_one_message_per_document_none_sent(demo: Demo) -> None:
    book = open_book(demo.url, actor="tests")
    try:
        everything = ml.list_outbox(book.uow(read_only=True), ENTITY)
        with book.uow(read_only=True) as u:
            purposes = {r.id: u.outbox.get(r.id).purpose for r in everything}
            rows = [r for r in everything if purposes[r.id] == "document"]
            files = {r.id: [a.filename for a in u.outbox.attachments(r.id)] for r in rows}
    finally:
        book.close()
    # The November documents; the quarter of collections adds reminders and a dispute answer.
    assert len(rows) == DOCUMENTS
    others = sorted({p for p in purposes.values() if p != "document"})
    assert others[0].startswith("dispute-") and all(p.startswith("dunning-") for p in others[1:]), (
        others
    )
    assert {r.status for r in rows} == {"queued"}
    assert len({r.document for r in rows}) == DOCUMENTS
    by_document = {r.document: r for r in rows}
    # The new customer got its address during verification, so its invoice goes out too.
    assert by_document["INV-2026-000062"].to == "ap@mfg-015.example"
    # MFG-001 and EU-FR-01 want the UBL with the PDF; everyone else gets the PDF.
    with_ubl = sorted(r.document for r in rows if len(files[r.id]) == 2)
    assert with_ubl == ["INV-2026-000027", "INV-2026-000036", "INV-2026-000051", "INV-2026-000057"]
    assert files[by_document["INV-2026-000057"].id] == [
        "INV-2026-000057.pdf",
        "INV-2026-000057-ubl.xml",
    ]
    # The attachment is the very file in the folder.
    book = open_book(demo.url, actor="tests")
    try:
        with book.uow(read_only=True) as u:
            stored = {
                a.filename: bytes(a.content)
                for a in u.outbox.attachments(by_document["INV-2026-000057"].id)
            }
    finally:
        book.close()
    assert stored["INV-2026-000057.pdf"] == (demo.folder / "INV-2026-000057.pdf").read_bytes()
    assert f"{len(everything)} e-mail(s) wait in the outbox" in demo.printed
    assert "openbill outbox deliver" in demo.printed


def test_the_bank_month_is_matched_and_reconciled(demo: Demo) -> None:
    """March 2027's statement (interfaces/cli/demo_bank.py), counted by hand from the plan:
    8 RF references, 3 invoice numbers (one with a blank inside, one a digit off), 2 invoices
    paid together, 2 part payments (MFG-008 from its account, MFG-012's instalment quoting its
    invoice), a bank fee kept, 2 discounts, the USD invoice paid in EUR, MED-001 twice (the
    second time learned from the first), a direct debit and its return, the cheque and the
    refund already in the book, the account fee, interest and the transfer to savings: 27
    lines posted automatically. 4 wait: an unknown donor, SAAS-007 paying SAAS-008's
    invoice, a name two customers share paying 10.00 more than is open, SAAS-005 known by
    name only quoting nothing."""
    from openbill.usecases import bank_reconcile as br

    text = " ".join(demo.printed.split())
    assert "31 lines, 31 new" in text
    book = open_book(demo.url, actor="tests")
    try:
        r = br.reconcile(book.uow(read_only=True), br.Reconcile(ENTITY, "Main EUR", "2027-03"))
    finally:
        book.close()
    assert (r.lines_in_period, r.matched_automatic, r.matched_by_hand, r.waiting) == (31, 27, 0, 4)
    # The 4 lines waiting: 150.00 + 1,675.52 + 1,267.83 + 1,072.19 = 4,165.54 on the statement
    # and not in the book; the cheque of 1,814.75 in the book and not yet on the statement:
    # 4,165.54 - 1,814.75 = 2,350.79, all of the difference.
    assert sorted(i.amount_minor for i in r.unmatched_lines) == [15000, 107219, 126783, 167552]
    assert r.unmatched_lines_minor == 416554
    assert [i.amount_minor for i in r.unmatched_book] == [181475]
    assert r.difference_minor == 235079
    assert r.unexplained_minor == 0
    assert "the MT940 copy bank-2027-03.sta: 0 new lines, the statement was imported before" in text
    assert (demo.folder / "bank-2027-03.camt053.xml").exists()
    assert (demo.folder / "bank-2027-03.sta").exists()
