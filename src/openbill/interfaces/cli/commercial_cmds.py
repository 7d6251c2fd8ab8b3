"""`openbill contracts | po | deliveries | billing`: contracts, purchase orders, deliveries and
the billing run that turns deliveries into draft invoices. Thin: each command calls one use case.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from openbill.domain.commercial import DELIVERY_FIELDS, IMPORT_BYTES_MAX, RowError
from openbill.interfaces.cli._common import (
    Col,
    CsvOption,
    DbOption,
    EntityOption,
    JsonOption,
    UsageError,
    emit,
    entity_code,
    err,
    handle,
    money,
    opened,
    out,
    parse_date,
)
from openbill.usecases import commercial as com
from openbill.usecases.masterdata import Created

__all__ = ["contracts_app", "po_app", "deliveries_app", "billing_app"]

contracts_app = typer.Typer(
    help="Contracts: terms, negotiated prices, grouping.", no_args_is_help=True
)
po_app = typer.Typer(help="Purchase orders of customers and their lines.", no_args_is_help=True)
deliveries_app = typer.Typer(
    help="Deliveries and service confirmations (shipments, timesheets, milestones).",
    no_args_is_help=True,
)
billing_app = typer.Typer(
    help="Turn confirmed deliveries into draft invoices.", no_args_is_help=True
)


def _created(what: str, result: Created) -> None:
    if result.created:
        out().print(f"created {what} (id {result.id})")
    else:
        out().print(f"{what} already exists (id {result.id}); nothing changed")


def _dec(value: Any) -> str:
    return "" if value is None else format(value.normalize(), "f")


# --------------------------------------------------------------------------------------------
# contracts


@contracts_app.command("create")
@handle
def contracts_create(
    number: str,
    customer: Annotated[str, typer.Option("--customer")],
    valid_from: Annotated[str, typer.Option("--from", help="YYYY-MM-DD")],
    valid_to: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD")] = None,
    currency: Annotated[str, typer.Option("--currency")] = "",
    terms: Annotated[str, typer.Option("--terms", help="net30, eom+15, ...")] = "",
    grouping: Annotated[
        str, typer.Option("--grouping", help="per_delivery, per_po or per_period")
    ] = "per_period",
    period: Annotated[str, typer.Option("--period", help="week, month or quarter")] = "month",
    discount: Annotated[str, typer.Option("--discount", help="percent off catalog prices")] = "0",
    po_required: Annotated[bool, typer.Option("--po-required")] = False,
    cap: Annotated[str, typer.Option("--cap", help="spending cap, contract currency")] = "",
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Create a contract with a customer."""
    start = parse_date(valid_from, "--from")
    assert start is not None
    with opened(db) as book:
        cmd = com.CreateContract(
            entity_code(book, entity),
            number,
            customer,
            start,
            parse_date(valid_to, "--to"),
            currency,
            terms,
            grouping,
            period,
            discount,
            po_required,
            cap,
        )
        _created(f"contract {number}", com.create_contract(book.uow(), cmd))


@contracts_app.command("add-price")
@handle
def contracts_add_price(
    contract: str,
    charge_code: Annotated[str, typer.Option("--charge")],
    unit_price: Annotated[str, typer.Option("--price", help="negotiated price per unit")],
    effective_from: Annotated[str, typer.Option("--from", help="YYYY-MM-DD")],
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Add a negotiated price of a charge code, in force from a date (overrides the catalog)."""
    start = parse_date(effective_from, "--from")
    assert start is not None
    with opened(db) as book:
        cmd = com.AddContractPrice(
            entity_code(book, entity), contract, charge_code, start, unit_price
        )
        _created(
            f"price of {charge_code} on {contract} from {start}",
            com.add_contract_price(book.uow(), cmd),
        )


@contracts_app.command("list")
@handle
def contracts_list(
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """List contracts."""
    with opened(db) as book:
        rows = [
            {
                "number": c.number,
                "customer": c.customer_code,
                "from": c.valid_from.isoformat(),
                "to": c.valid_to.isoformat() if c.valid_to else "",
                "currency": c.currency,
                "terms": c.payment_terms or "",
                "grouping": c.grouping,
                "period": c.period,
                "discount": _dec(c.discount_percent),
                "po_required": "yes" if c.po_required else "no",
                "cap": money(c.spending_cap_minor, c.currency),
            }
            for c in com.list_contracts(book.uow(read_only=True), entity_code(book, entity))
        ]
    cols = [Col(k, k.replace("_", " "), k in ("discount", "cap")) for k in (
        "number", "customer", "from", "to", "currency", "terms", "grouping", "period",
        "discount", "po_required", "cap",
    )]  # fmt: skip
    emit(rows, cols, as_json=as_json, as_csv=as_csv, title="Contracts")


# --------------------------------------------------------------------------------------------
# purchase orders


@po_app.command("create")
@handle
def po_create(
    number: str,
    customer: Annotated[str, typer.Option("--customer")],
    valid_from: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD")] = None,
    valid_to: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD")] = None,
    contract: Annotated[str, typer.Option("--contract")] = "",
    currency: Annotated[str, typer.Option("--currency")] = "",
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Record a customer's purchase order."""
    with opened(db) as book:
        cmd = com.CreatePurchaseOrder(
            entity_code(book, entity),
            customer,
            number,
            parse_date(valid_from, "--from"),
            parse_date(valid_to, "--to"),
            contract,
            currency,
        )
        _created(f"purchase order {number}", com.create_purchase_order(book.uow(), cmd))


@po_app.command("add-line")
@handle
def po_add_line(
    number: str,
    customer: Annotated[str, typer.Option("--customer")],
    line_no: Annotated[int, typer.Option("--line")],
    charge_code: Annotated[str, typer.Option("--charge")],
    quantity: Annotated[str, typer.Option("--quantity", help="ordered quantity (ceiling)")] = "",
    unit_price: Annotated[str, typer.Option("--price", help="ordered unit price")] = "",
    ceiling: Annotated[str, typer.Option("--ceiling", help="amount ceiling (net)")] = "",
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Add a line to a purchase order."""
    with opened(db) as book:
        cmd = com.AddPoLine(
            entity_code(book, entity),
            customer,
            number,
            line_no,
            charge_code,
            quantity,
            unit_price,
            ceiling,
        )
        _created(f"line {line_no} of {number}", com.add_po_line(book.uow(), cmd))


@po_app.command("list")
@handle
def po_list(
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """List purchase-order lines with what invoices have used of them."""
    with opened(db) as book:
        rows = [
            {
                "po": r["number"],
                "customer": r["customer_code"],
                "from": r["valid_from"].isoformat() if r["valid_from"] else "",
                "to": r["valid_to"].isoformat() if r["valid_to"] else "",
                "line": r["line_no"] or "",
                "charge": r["charge_code"] or "",
                "quantity": _dec(r["quantity"]),
                "price": _dec(r["unit_price"]),
                "ceiling": money(r["amount_ceiling_minor"], r["currency"]),
                "used_quantity": _dec(r["used_quantity"]),
                "used_amount": money(r["used_minor"], r["currency"]),
                "currency": r["currency"],
            }
            for r in com.list_purchase_orders(book.uow(read_only=True), entity_code(book, entity))
        ]
    right = {"line", "quantity", "price", "ceiling", "used_quantity", "used_amount"}
    cols = [Col(k, k.replace("_", " "), k in right) for k in (
        "po", "customer", "from", "to", "line", "charge", "quantity", "price", "ceiling",
        "used_quantity", "used_amount", "currency",
    )]  # fmt: skip
    emit(rows, cols, as_json=as_json, as_csv=as_csv, title="Purchase orders")


# --------------------------------------------------------------------------------------------
# deliveries


@deliveries_app.command("import")
@handle
def deliveries_import(
    file: Annotated[Path, typer.Argument(help="CSV or JSON file of deliveries")],
    fmt: Annotated[str, typer.Option("--format", help="csv or json [default: from the file]")] = "",
    keep_good: Annotated[
        bool, typer.Option("--keep-good", help="import the good rows, write the bad to a file")
    ] = False,
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help="rejects file [default: FILE.rejects.csv]")
    ] = None,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Import deliveries, timesheets and milestones. One bad row refuses the file (all bad rows
    are named) unless --keep-good."""
    try:
        size = file.stat().st_size
        if size > IMPORT_BYTES_MAX * 4:
            raise UsageError(f"{file} is larger than the import limit")
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {file}: {exc}") from None
    with opened(db) as book:
        cmd = com.ImportDeliveries(entity_code(book, entity), text, file.name, fmt, keep_good)
        try:
            result = com.import_deliveries(book.uow(), cmd)
        except com.ImportRejected as exc:
            for e in exc.errors:
                err().print(f"error: {e.message}", style="red", markup=False)
            hint = (
                f"{file.name} cannot be read as deliveries"
                if any(e.whole_file for e in exc.errors)
                else "use --keep-good to import the good rows"
            )
            err().print(
                f"{len(exc.errors)} bad row(s); nothing was imported ({hint})", markup=False
            )
            raise typer.Exit(1) from None
    out().print(
        f"imported {file.name}: {result.created} new, {result.corrected} corrected, "
        f"{result.unchanged} unchanged, {len(result.errors)} rejected"
    )
    if result.errors:
        target = rejects or file.with_name(file.name + ".rejects.csv")
        write_rejects(target, result.errors)
        out().print(f"rejected rows written to {target}")


def write_rejects(path: Path, errors: Sequence[RowError]) -> None:
    """The refused rows as CSV: the delivery fields as given, then where and why."""
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow([*DELIVERY_FIELDS, "source_line", "error_field", "error_reason"])
        for e in errors:
            given = dict(e.raw)
            writer.writerow(
                [given.get(k, "") for k in DELIVERY_FIELDS] + [e.line, e.field, e.reason]
            )


@deliveries_app.command("list")
@handle
def deliveries_list(
    through: Annotated[str | None, typer.Option("--through", help="YYYY-MM-DD")] = None,
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """List deliveries with what billed them."""
    with opened(db) as book:
        listed = com.list_deliveries(
            book.uow(read_only=True), entity_code(book, entity), parse_date(through, "--through")
        )
        rows = [
            {
                "ref": r.ref,
                "kind": r.kind,
                "date": r.delivered_on.isoformat(),
                "customer": r.customer_code,
                "contract": r.contract_number or "",
                "po": f"{r.po_number}/{r.po_line_no}" if r.po_number else "",
                "charge": r.charge_code,
                "quantity": _dec(r.quantity),
                "status": "confirmed" if r.confirmed else "pending",
                "revision": r.revision,
                "billed": _dec(billed),
                "documents": " ".join(docs),
            }
            for r, billed, docs in listed
        ]
    cols = [Col(k, k, k in ("quantity", "billed", "revision"), wrap=k == "documents") for k in (
        "ref", "kind", "date", "customer", "contract", "po", "charge", "quantity", "status",
        "revision", "billed", "documents",
    )]  # fmt: skip
    emit(rows, cols, as_json=as_json, as_csv=as_csv, title="Deliveries")


# --------------------------------------------------------------------------------------------
# billing


@billing_app.command("prepare")
@handle
def billing_prepare(
    through: Annotated[str, typer.Option("--through", help="bill deliveries up to this date")],
    on: Annotated[str | None, typer.Option("--date", help="document date [default: today]")] = None,
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Turn every confirmed, not yet invoiced delivery up to --through into draft invoices;
    corrected deliveries into correcting lines or credit notes."""
    last = parse_date(through, "--through")
    assert last is not None
    with opened(db) as book:
        cmd = com.PrepareBilling(entity_code(book, entity), last, parse_date(on, "--date"))
        result = com.prepare_billing(book.uow(), cmd)
    rows = [
        {
            "kind": d.kind,
            "document": d.number or f"draft {d.document_id}",
            "customer": d.customer,
            "lines": d.lines,
            "net": money(d.net_minor, d.currency),
            "currency": d.currency,
            "deliveries": " ".join(d.deliveries),
        }
        for d in result.documents
    ]
    cols = [
        Col(k, k, k in ("lines", "net"), wrap=k == "deliveries")
        for k in ("kind", "document", "customer", "lines", "net", "currency", "deliveries")
    ]
    emit(rows, cols, as_json=as_json, as_csv=as_csv, title=f"Billing through {last}")
    for h in result.held:
        err().print(f"held: delivery {h.delivery} field {h.field}: {h.reason}", markup=False)
