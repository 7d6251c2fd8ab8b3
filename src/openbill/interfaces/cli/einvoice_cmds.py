"""`openbill einvoice`: EN 16931 e-invoices in and out.

    openbill einvoice read FILE [--json]
    openbill einvoice export NUMBER --syntax ubl|cii [-o FILE] [--entity CODE] [--db URL]

`read` takes a UBL invoice or credit note, a CII invoice or a Factur-X / ZUGFeRD PDF, checks
that its totals add up, and prints seller, buyer, lines, VAT breakdown and totals.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from openbill.adapters.documents.einvoice_io import WRITERS, read_any
from openbill.domain.einvoice import EInvoice, Party
from openbill.domain.rejections import InvalidInput
from openbill.interfaces.cli._common import (
    Col,
    DbOption,
    EntityOption,
    JsonOption,
    emit,
    entity_code,
    handle,
    opened,
    out,
)
from openbill.usecases.einvoicing import export_einvoice, read_einvoice

__all__ = ["einvoice_app"]

einvoice_app = typer.Typer(
    help="EN 16931 e-invoices: read UBL, CII or Factur-X; export as UBL or CII.",
    no_args_is_help=True,
)

# Files larger than this are refused before reading (the biggest real e-invoices are a few MB).
FILE_BYTES_MAX = 50_000_000


class Syntax(StrEnum):
    UBL = "ubl"
    CII = "cii"


@einvoice_app.command("read")
@handle
def read_cmd(
    file: Annotated[Path, typer.Argument(help="UBL or CII XML, or a Factur-X PDF")],
    as_json: JsonOption = False,
) -> None:
    """Read an e-invoice and print its parties, lines, VAT breakdown and totals."""
    inv = read_einvoice(_read_file(file), read_any)
    if as_json:
        typer.echo(json.dumps(_jsonable(asdict(inv)), ensure_ascii=False))
        return
    _print(inv)


@einvoice_app.command("export")
@handle
def export_cmd(
    number: Annotated[str, typer.Argument(help="the document number, e.g. INV-2026-000001")],
    syntax: Annotated[Syntax, typer.Option("--syntax", help="ubl (Peppol BIS 3.0) or cii")],
    output: Annotated[
        str | None,
        typer.Option(
            "-o",
            "--output",
            help="file to write, '-' for standard output [default: NUMBER-ubl.xml]",
        ),
    ] = None,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Write an issued invoice or credit note as an EN 16931 e-invoice."""
    with opened(db) as book:
        code = entity_code(book, entity)
        data = export_einvoice(book.uow(read_only=True), code, number, syntax.value, WRITERS)
    target = output or f"{number}-{syntax.value}.xml"
    if target == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    Path(target).write_bytes(data)
    out().print(f"wrote {number} as {syntax.value} to {target} ({len(data)} bytes)")


def _read_file(file: Path) -> bytes:
    try:
        size = file.stat().st_size
        if size > FILE_BYTES_MAX:
            raise InvalidInput(f"{file} is larger than {FILE_BYTES_MAX} bytes", record=str(file))
        return file.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {file}: {exc.strerror}", record=str(file)) from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _party_text(party: Party) -> str:
    address = party.address
    place = " ".join(p for p in (address.postcode, address.city) if p)
    parts = [party.name, address.line, place, address.country]
    if party.vat_id:
        parts.append(f"VAT {party.vat_id}")
    return ", ".join(p for p in parts if p)


def _print(inv: EInvoice) -> None:
    kind = "credit note" if inv.is_credit_note else "invoice"
    console = out()
    console.print(
        f"{kind} {inv.number} (type {inv.type_code}) of {inv.issue_date.isoformat()} "
        f"in {inv.currency}" + (f", due {inv.due_date.isoformat()}" if inv.due_date else ""),
        markup=False,
    )
    console.print(f"seller: {_party_text(inv.seller)}", markup=False)
    console.print(f"buyer:  {_party_text(inv.buyer)}", markup=False)
    if inv.preceding_invoice:
        console.print(f"credits invoice {inv.preceding_invoice}", markup=False)
    emit(
        [
            {
                "id": line.id,
                "item": line.item_name,
                "quantity": format(line.quantity, "f"),
                "unit": line.unit_code,
                "price": format(line.net_price, "f"),
                "vat": f"{line.tax_category} {_rate(line.tax_rate)}",
                "net": format(line.net_amount, "f"),
            }
            for line in inv.lines
        ],
        [
            Col("id", "line"),
            Col("item", "item", wrap=True),
            Col("quantity", "quantity", right=True),
            Col("unit", "unit"),
            Col("price", "net price", right=True),
            Col("vat", "VAT"),
            Col("net", "net amount", right=True),
        ],
        title="lines",
    )
    emit(
        [
            {
                "category": v.category,
                "rate": _rate(v.rate),
                "taxable": format(v.taxable_amount, "f"),
                "tax": format(v.tax_amount, "f"),
                "note": " ".join(p for p in (v.exemption_code, v.exemption_reason) if p),
            }
            for v in inv.vat_breakdown
        ],
        [
            Col("category", "category"),
            Col("rate", "rate", right=True),
            Col("taxable", "taxable", right=True),
            Col("tax", "VAT", right=True),
            Col("note", "exemption", wrap=True),
        ],
        title="VAT breakdown",
    )
    t = inv.totals
    rows = [
        ("lines (BT-106)", t.line_total),
        ("allowances (BT-107)", t.allowance_total),
        ("charges (BT-108)", t.charge_total),
        ("total without VAT (BT-109)", t.tax_exclusive),
        ("VAT (BT-110)", inv.tax_total),
        ("total with VAT (BT-112)", t.tax_inclusive),
        ("prepaid (BT-113)", t.prepaid),
        ("rounding (BT-114)", t.rounding),
        ("amount due (BT-115)", t.payable),
    ]
    emit(
        [{"total": name, "amount": format(v, "f")} for name, v in rows if v is not None],
        [Col("total", "total"), Col("amount", inv.currency, right=True)],
        title="totals",
    )


def _rate(rate: Decimal | None) -> str:
    return "" if rate is None else f"{format(rate, 'f')} %"
