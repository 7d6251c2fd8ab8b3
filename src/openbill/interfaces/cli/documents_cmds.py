"""`openbill invoices export` and `openbill statements`: documents as files.

    openbill invoices export NUMBER --format pdf|ubl|cii|facturx [-o FILE] [--templates DIR]
    openbill statements show CUSTOMER --from DATE --to DATE [--pdf FILE] [--csv | --json]

PDFs come from the Jinja2/WeasyPrint templates (adapters.documents.pdf; a company folder given
by --templates or $OPENBILL_TEMPLATES_DIR overrides any of them); UBL and CII from the EN 16931
e-invoice of the document; Factur-X is the PDF as PDF/A-3 with the CII embedded. Files are
written whole or not at all (a temporary file renamed into place).
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from openbill.interfaces.cli._common import (
    Col,
    CsvOption,
    DbOption,
    EntityOption,
    JsonOption,
    UsageError,
    emit,
    entity_code,
    handle,
    money,
    opened,
    out,
    parse_date,
)
from openbill.usecases import reports as rep
from openbill.usecases import statements as st

__all__ = ["ExportFormat", "export", "statements_app", "statements_show"]


class ExportFormat(StrEnum):
    PDF = "pdf"
    UBL = "ubl"
    CII = "cii"
    FACTURX = "facturx"


SUFFIXES = {
    ExportFormat.PDF: ".pdf",
    ExportFormat.UBL: "-ubl.xml",
    ExportFormat.CII: "-cii.xml",
    ExportFormat.FACTURX: "-facturx.pdf",
}

FormatOption = Annotated[
    ExportFormat, typer.Option("--format", "-f", help="pdf, ubl (Peppol BIS 3), cii or facturx")
]
OutputOption = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        help="file to write ('-' for standard output) [default: NUMBER.pdf, NUMBER-ubl.xml ...]",
        show_default=False,
    ),
]
TemplatesOption = Annotated[
    str | None,
    typer.Option(
        "--templates",
        help="folder of company templates [default: $OPENBILL_TEMPLATES_DIR, else built-in]",
        show_default=False,
    ),
]

statements_app = typer.Typer(help="Customer statements of account.", no_args_is_help=True)


def write_output(data: bytes, target: str) -> str:
    """Write `data` to `target` whole or not at all; '-' is standard output."""
    if target == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return "standard output"
    path = Path(target).expanduser()
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a file name with -o")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"folder {folder} does not exist")
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle_:
            handle_.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return str(path)


def _templates(given: str | None) -> str | None:
    if given and not Path(given).expanduser().is_dir():
        raise UsageError(f"template folder {given} does not exist")
    return given


def document_pdf(
    book: Any, entity: str, number: str, templates: str | None, pdf_variant: str | None = None
) -> tuple[bytes, dict[str, Any], st.Parties]:
    """The PDF of an issued document, with its header and parties."""
    from openbill.adapters.documents import pdf

    view = rep.show_document(book.uow(read_only=True), entity, number)
    header = view.header
    who = st.parties(book.uow(read_only=True), entity, header["customer_code"])
    credited = ""
    if header.get("credited_document_id"):
        credited_view = rep.show_document(
            book.uow(read_only=True), entity, str(header["credited_document_id"])
        )
        credited = credited_view.header["number"] or ""
    data = pdf.render_document(
        view, who, credited_number=credited, templates_dir=templates, pdf_variant=pdf_variant
    )
    return data, header, who


def einvoice_xml(book: Any, entity: str, number: str, syntax: str) -> bytes:
    """The EN 16931 e-invoice of a document in UBL or CII (usecases.einvoicing)."""
    from openbill.adapters.documents.einvoice_io import WRITERS
    from openbill.usecases.einvoicing import export_einvoice

    return export_einvoice(book.uow(read_only=True), entity, number, syntax, WRITERS)


@handle
def export(
    number: Annotated[str, typer.Argument(help="the document number, e.g. INV-2026-000001")],
    format: FormatOption = ExportFormat.PDF,
    output: OutputOption = None,
    entity: EntityOption = None,
    db: DbOption = None,
    templates: TemplatesOption = None,
) -> None:
    """Write an issued invoice or credit note as PDF, UBL, CII or Factur-X."""
    folder = _templates(templates)
    with opened(db) as book:
        code = entity_code(book, entity)
        if format is ExportFormat.PDF:
            data, header, _ = document_pdf(book, code, number, folder)
        elif format is ExportFormat.FACTURX:
            from openbill.adapters.documents import facturx

            printed, header, who = document_pdf(book, code, number, folder, facturx.PDF_VARIANT)
            cii = einvoice_xml(book, code, number, "cii")
            data = facturx.embed_cii(
                printed, cii, number=header["number"], seller_name=who.seller.name
            )
        else:
            data = einvoice_xml(book, code, number, format.value)
            header = {"number": number}
    target = output or f"{header['number']}{SUFFIXES[format]}"
    where = write_output(data, target)
    if target != "-":
        out().print(f"wrote {header['number']} as {format.value} to {where} ({len(data)} bytes)")


StatementColumns = (
    Col("currency", "Cur"),
    Col("date", "Date"),
    Col("type", "Type"),
    Col("reference", "Reference"),
    Col("description", "Details", wrap=True),
    Col("due", "Due"),
    Col("debit", "Charges", right=True),
    Col("credit", "Credits", right=True),
    Col("balance", "Balance", right=True),
)


def statement_rows(statement: st.Statement) -> list[dict[str, Any]]:
    """One row per line, framed by the opening and closing balance of each currency."""
    rows: list[dict[str, Any]] = []
    for section in statement.sections:
        cur = section.currency
        rows.append(
            {
                "currency": cur,
                "date": statement.start.isoformat(),
                "type": "opening",
                "description": "Opening balance",
                "balance": money(section.opening_minor, cur),
            }
        )
        for line in section.lines:
            rows.append(
                {
                    "currency": cur,
                    "date": line.on.isoformat(),
                    "type": line.kind,
                    "reference": line.reference,
                    "description": line.description,
                    "due": line.due_date.isoformat() if line.due_date else "",
                    "debit": money(line.debit_minor, cur) if line.debit_minor else "",
                    "credit": money(line.credit_minor, cur) if line.credit_minor else "",
                    "balance": money(line.balance_minor, cur),
                }
            )
        rows.append(
            {
                "currency": cur,
                "date": statement.end.isoformat(),
                "type": "closing",
                "description": "Closing balance",
                "debit": money(section.debits_minor, cur),
                "credit": money(section.credits_minor, cur),
                "balance": money(section.closing_minor, cur),
            }
        )
    return rows


def _period(start: str | None, end: str | None) -> tuple[date, date]:
    last = parse_date(end, "--to") or date.today()
    first = parse_date(start, "--from") or last.replace(day=1)
    return first, last


@statements_app.command("show")
@handle
def statements_show(
    customer: Annotated[str, typer.Argument(help="customer code")],
    start: Annotated[
        str | None,
        typer.Option("--from", help="first day, YYYY-MM-DD [default: first of --to's month]"),
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="last day, YYYY-MM-DD [default: today]")
    ] = None,
    pdf_file: Annotated[
        str | None, typer.Option("--pdf", help="also write the statement as PDF to this file")
    ] = None,
    templates: TemplatesOption = None,
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """A customer's statement for a period: opening balance, documents, payments, refunds and
    write-offs with the running balance, closing balance."""
    from openbill.adapters.sql.statement_queries import for_uow

    first, last = _period(start, end)
    folder = _templates(templates)
    with opened(db) as book:
        statement = st.customer_statement(
            book.uow(read_only=True),
            entity_code(book, entity),
            customer,
            first,
            last,
            queries=for_uow,
        )
    if pdf_file:
        from openbill.adapters.documents import pdf

        where = write_output(pdf.render_statement(statement, templates_dir=folder), pdf_file)
        if pdf_file == "-":
            return
        typer.echo(f"wrote the statement to {where}", err=True)
    buyer = statement.parties.buyer
    emit(
        statement_rows(statement),
        StatementColumns,
        as_json=as_json,
        as_csv=as_csv,
        title=f"Statement {buyer.code} {buyer.name}, {first.isoformat()} to {last.isoformat()}",
    )
