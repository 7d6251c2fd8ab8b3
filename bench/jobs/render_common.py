"""Issue #3, rendering: issued invoices as PDF (Jinja2 + WeasyPrint, `adapters.documents.pdf`)
and as EN 16931 XML (UBL 2.1 and CII, `adapters.documents.ubl` / `cii`), each beside its floor.

The book (set up untimed by :func:`issued_book`): one legal entity with an address, VAT number
and IBAN, one customer with address, VAT number and e-mail, and ``n`` issued invoices of the
issue #2 job (the three lines of :data:`bench.jobs.LINES`, 20 % VAT), each through
``create_invoice``. Rendering reads that book (SQLite).

The rows, each a job module that calls :func:`pdf_job`, :func:`xml_job` or a floor here:

- ``render_pdf.openbill``: per invoice what ``openbill invoices export --format pdf`` does
  (``interfaces.cli.documents_cmds.document_pdf``: ``show_document``, ``parties``,
  ``render_document``) without writing the file;
- ``render_pdf.floor``: an empty template (a minimal HTML page) through the same engine: a
  Jinja2 environment with the same options, compiled once, rendered, and WeasyPrint's
  ``HTML(...).write_pdf()``: the cost of a PDF that has nothing on it;
- ``render_pdf.text``: the same, with a heading and one line of text styled by the built-in
  ``base.css``: the fixed cost of a page that embeds the document fonts (WeasyPrint subsets
  every font it uses into each PDF with fontTools), between the floor and a real invoice;
- ``render_ubl.openbill`` / ``render_cii.openbill``: per invoice what ``openbill invoices
  export --format ubl|cii`` does (``documents_cmds.einvoice_xml``: ``export_einvoice``, which
  reads the document and builds the ``EInvoice``, then the writer);
- ``render_ubl.writer`` / ``render_cii.writer``: the writer alone on ``EInvoice``s built
  beforehand (untimed): the XML work without the database reads;
- ``render_ubl.floor`` / ``render_cii.floor``: ``lxml.etree.tostring`` of a fixed tree, the
  first invoice's own document parsed once (untimed), so the same elements, attributes and
  text: the cost of serialising the bytes and nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

from bench.jobs import CURRENCY, LINES, VAT_RATE

ENTITY = "REND"
DAY = date(2026, 11, 2)
EMPTY_PAGE = "<!doctype html><html><head><title>{{ title }}</title></head><body></body></html>"
TEXT_PAGE = (
    '<!doctype html><html><head><title>{{ title }}</title><link rel="stylesheet" href="base.css">'
    "</head><body><h1>{{ title }}</h1><p>Total due {{ total }} EUR</p></body></html>"
)


def issued_book(url: str, n: int) -> tuple[Any, list[str]]:
    """Open the book at `url`, issue n invoices (untimed); (book, their numbers)."""
    from openbill.bootstrap import open_book
    from openbill.usecases import masterdata as m
    from openbill.usecases.invoices import CreateInvoice, LineSpec, create_invoice

    book = open_book(url, actor="bench")
    m.create_entity(
        book.uow(),
        m.CreateEntity(
            ENTITY,
            "Rendu SARL",
            "FR",
            CURRENCY,
            vat_id="FR40303265045",
            iban="FR7630006000011234567890189",
            address="1 rue de la Paix\n75002 Paris",
            email="billing@rendu.example",
        ),
    )
    m.add_tax_rule(
        book.uow(),
        m.AddTaxRule(ENTITY, "FR", "standard", date(2020, 1, 1), "S", str(VAT_RATE * 100)),
    )
    m.create_customer(
        book.uow(),
        m.CreateCustomer(
            ENTITY,
            "C1",
            "Client Exemple SA",
            "FR",
            CURRENCY,
            vat_id="FR88100000009",
            email="ap@client.example",
            address="12 avenue des Champs\n69001 Lyon",
        ),
    )
    for i, line in enumerate(LINES):
        code = f"L{i}"
        m.create_charge_code(
            book.uow(), m.CreateChargeCode(ENTITY, code, line.description, "C62", f"70{i}0")
        )
        m.add_price(
            book.uow(),
            m.AddPrice(
                ENTITY,
                code,
                CURRENCY,
                date(2020, 1, 1),
                "per_unit",
                f'{{"unit_price": "{line.unit_price}"}}',
            ),
        )
    cmd = CreateInvoice(
        ENTITY,
        "C1",
        tuple(LineSpec(f"L{i}", str(line.quantity)) for i, line in enumerate(LINES)),
        DAY,
    )
    numbers = [create_invoice(book.uow(), cmd).number for _ in range(n)]
    return book, numbers


_SIZES: dict[str, int] = {}


def _checked(name: str) -> Callable[[str, int], dict[str, object]]:
    def check(url: str, n: int) -> dict[str, object]:
        return {"done": _SIZES.get("done", 0), **{k: v for k, v in _SIZES.items() if k != "done"}}

    check.__name__ = name
    return check


def pdf_job() -> tuple[Callable[[str, int], float], Callable[[str, int], dict[str, object]]]:
    def run(url: str, n: int) -> float:
        from openbill.interfaces.cli.documents_cmds import document_pdf

        book, numbers = issued_book(url, n)
        try:
            document_pdf(book, ENTITY, numbers[0], None)  # warm-up: fonts, imports
            total = 0
            start = time.perf_counter()
            for number in numbers:
                data, _, _ = document_pdf(book, ENTITY, number, None)
                total += len(data)
            seconds = time.perf_counter() - start
            _record(total, n, data[:5] == b"%PDF-")
            return seconds
        finally:
            book.close()

    return run, _checked("check")


def pdf_floor(
    page: str = EMPTY_PAGE,
) -> tuple[Callable[[str, int], float], Callable[[str, int], dict[str, object]]]:
    def run(url: str, n: int) -> float:
        from jinja2 import Environment, StrictUndefined, select_autoescape
        from weasyprint import HTML

        from openbill.adapters.documents.pdf import BUILTIN_TEMPLATES

        env = Environment(
            autoescape=select_autoescape(["html", "htm", "xml"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        template = env.from_string(page)
        base_url = str(BUILTIN_TEMPLATES)
        HTML(string=template.render(title="warm-up", total="1.00"), base_url=base_url).write_pdf()
        total = 0
        start = time.perf_counter()
        for i in range(n):
            html = template.render(title=f"INV-{i}", total="576.48")
            data = HTML(string=html, base_url=base_url).write_pdf()
            assert data is not None
            total += len(data)
        seconds = time.perf_counter() - start
        _record(total, n, bytes(data[:5]) == b"%PDF-")
        return seconds

    return run, _checked("check")


def xml_job(syntax: str) -> tuple[Callable[[str, int], float], Callable[[str, int], dict]]:
    def run(url: str, n: int) -> float:
        from openbill.interfaces.cli.documents_cmds import einvoice_xml

        book, numbers = issued_book(url, n)
        try:
            einvoice_xml(book, ENTITY, numbers[0], syntax)  # warm-up
            total = 0
            start = time.perf_counter()
            for number in numbers:
                data = einvoice_xml(book, ENTITY, number, syntax)
                total += len(data)
            seconds = time.perf_counter() - start
            _record(total, n, data.startswith(b"<?xml"))
            return seconds
        finally:
            book.close()

    return run, _checked("check")


def xml_writer(syntax: str) -> tuple[Callable[[str, int], float], Callable[[str, int], dict]]:
    def run(url: str, n: int) -> float:
        from openbill.adapters.documents.einvoice_io import WRITERS
        from openbill.usecases.einvoicing import build_einvoice

        book, numbers = issued_book(url, n)
        try:
            invoices = [build_einvoice(book.uow(read_only=True), ENTITY, x) for x in numbers]
        finally:
            book.close()
        write = WRITERS[syntax]
        write(invoices[0])  # warm-up
        total = 0
        start = time.perf_counter()
        for inv in invoices:
            data = write(inv)
            total += len(data)
        seconds = time.perf_counter() - start
        _record(total, n, data.startswith(b"<?xml"))
        return seconds

    return run, _checked("check")


def xml_floor(syntax: str) -> tuple[Callable[[str, int], float], Callable[[str, int], dict]]:
    def run(url: str, n: int) -> float:
        from lxml import etree

        from openbill.interfaces.cli.documents_cmds import einvoice_xml

        book, numbers = issued_book(url, 1)
        try:
            tree = etree.fromstring(einvoice_xml(book, ENTITY, numbers[0], syntax))
        finally:
            book.close()
        etree.tostring(tree, xml_declaration=True, encoding="UTF-8")  # warm-up
        total = 0
        start = time.perf_counter()
        for _ in range(n):
            data = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
            total += len(data)
        seconds = time.perf_counter() - start
        _record(total, n, data.startswith(b"<?xml"), elements=sum(1 for _ in tree.iter()))
        return seconds

    return run, _checked("check")


def _record(total_bytes: int, n: int, well_formed: bool, **more: object) -> None:
    if not well_formed:
        raise RuntimeError("the last document is not what its format starts with")
    _SIZES.update(done=n, mean_bytes=round(total_bytes / n), **more)
