"""`openbill disputes`: cases on invoices, their resolution and the root-cause report."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from openbill.domain.disputes import Group
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
    parse_pairs,
)
from openbill.interfaces.cli.mail_cmds import sender_address
from openbill.usecases import disputes as ds
from openbill.usecases.invoices import LineSpec

__all__ = ["disputes_app"]

disputes_app = typer.Typer(help="Disputes and inquiries on invoices.", no_args_is_help=True)

REASONS = "price, quantity, not_delivered, duplicate, tax, contract_terms, other"
STATUSES = "open, waiting_on_customer, waiting_on_internal"

DateOpt = Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD [default: today]")]
NoteOpt = Annotated[str, typer.Option("--note", help="a note for the case's timeline")]


def _where(row: dict[str, Any]) -> str:
    if row.get("line_no") is None:
        return str(row["invoice_number"])
    return f"{row['invoice_number']} line {row['line_no']} ({row.get('charge_code') or ''})"


@disputes_app.command("open")
@handle
def disputes_open(
    invoice: str,
    reason: Annotated[str, typer.Option("--reason", help=REASONS)],
    amount: Annotated[
        str, typer.Option("--amount", help="in dispute [default: all that can be disputed]")
    ] = "",
    line: Annotated[
        int | None, typer.Option("--line", help="the disputed line's number [default: all]")
    ] = None,
    owner: Annotated[str, typer.Option("--owner", help="who works on it [default: you]")] = "",
    due: Annotated[str | None, typer.Option("--due", help="answer by YYYY-MM-DD")] = None,
    note: NoteOpt = "",
    date_: DateOpt = None,
    idempotency_key: Annotated[str, typer.Option("--idempotency-key")] = "",
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Open a case on an invoice or one of its lines; dunning pauses for its amount."""
    with opened(db) as book:
        r = ds.open_case(
            book.uow(),
            ds.OpenCase(
                entity_code(book, entity),
                invoice,
                reason,
                amount,
                line,
                owner,
                parse_date(due, "--due"),
                note,
                parse_date(date_),
                idempotency_key,
            ),
        )
    where = r.invoice if r.line_no is None else f"{r.invoice} line {r.line_no}"
    out().print(
        f"opened {r.case_no} on {where} ({r.reason}): {money(r.amount_minor, r.currency)} "
        f"{r.currency} in dispute, owner {r.owner}; dunning pauses for this amount",
        markup=False,
    )


@disputes_app.command("list")
@handle
def disputes_list(
    status: Annotated[
        str, typer.Option("--status", help=f"active, closed, all, or one of {STATUSES}, ...")
    ] = "active",
    customer: Annotated[str, typer.Option("--customer")] = "",
    invoice: Annotated[str, typer.Option("--invoice")] = "",
    owner: Annotated[str, typer.Option("--owner")] = "",
    reason: Annotated[str, typer.Option("--reason", help=REASONS)] = "",
    limit: Annotated[int, typer.Option("--limit")] = 1000,
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Dispute cases, oldest first: the active ones by default."""
    with opened(db) as book:
        rows = ds.list_cases(
            book.uow(read_only=True),
            entity_code(book, entity),
            status,
            customer,
            invoice,
            owner,
            reason,
            limit,
        )
    shown = [
        {
            "case": r["case_no"],
            "opened": r["opened_on"].isoformat(),
            "customer": r["customer_code"],
            "invoice": r["invoice_number"],
            "line": "" if r["line_no"] is None else r["line_no"],
            "charge_code": r["charge_code"] or "",
            "reason": r["reason"],
            "amount": money(r["amount_minor"], r["currency"]),
            "currency": r["currency"],
            "status": r["status"],
            "owner": r["owner"],
            "due": r["due_on"].isoformat() if r["due_on"] else "",
            "overdue": "yes" if r["overdue"] else "",
            "resolution": r["resolution"],
            "closed": r["closed_on"].isoformat() if r["closed_on"] else "",
        }
        for r in rows
    ]
    cols = [
        Col("case", "case"),
        Col("opened", "opened"),
        Col("customer", "customer"),
        Col("invoice", "invoice"),
        Col("line", "line", True),
        Col("charge_code", "charge code"),
        Col("reason", "reason"),
        Col("amount", "in dispute", True),
        Col("currency", "cur"),
        Col("status", "status"),
        Col("owner", "owner"),
        Col("due", "due"),
        Col("overdue", "overdue"),
        Col("resolution", "resolution"),
        Col("closed", "closed"),
    ]
    emit(shown, cols, as_json=as_json, as_csv=as_csv, title=f"Dispute cases ({status})")


@disputes_app.command("show")
@handle
def disputes_show(
    case: str,
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """One case whole: its invoice, amount, owner, resolution documents and timeline."""
    with opened(db) as book:
        view = ds.show_case(book.uow(read_only=True), entity_code(book, entity), case)
    c, r, cur = view.case, view.resolution, view.case["currency"]
    timeline = [
        {
            "when": e["occurred_at"].strftime("%Y-%m-%d %H:%M"),
            "who": e["actor"],
            "what": e["kind"],
            "detail": e["detail"],
            "reference": e["reference"],
        }
        for e in view.events
    ]
    cols = [
        Col("when", "when"),
        Col("who", "who"),
        Col("what", "what"),
        Col("detail", "detail", wrap=True),
        Col("reference", "reference", wrap=True),
    ]
    fields = [
        ("case", c["case_no"]),
        ("invoice", _where(c)),
        ("customer", f"{c['customer_code']} {c['customer_name']}"),
        ("reason", c["reason"]),
        ("in dispute", f"{money(c['amount_minor'], cur)} {cur}"),
        ("open on invoice", f"{money(c['open_minor'], cur)} {cur}"),
        ("status", c["status"] + (" (overdue)" if c["overdue"] else "")),
        ("owner", c["owner"]),
        ("due", c["due_on"].isoformat() if c["due_on"] else ""),
        ("opened", f"{c['opened_on'].isoformat()} by {c['opened_by']}"),
        ("closed", c["closed_on"].isoformat() if c["closed_on"] else ""),
        ("resolution", c["resolution"]),
    ]
    if r is not None:
        if r["credit_note_number"]:
            total = money(r["credit_note_total_minor"], cur)
            fields.append(("credit note", f"{r['credit_note_number']} ({total} {cur})"))
        if r["rebill_number"]:
            total = money(r["rebill_total_minor"], cur)
            fields.append(("corrected invoice", f"{r['rebill_number']} ({total} {cur})"))
        if r["explanation"]:
            fields.append(("explanation", r["explanation"]))
    if as_json:
        typer.echo(json.dumps({"case": dict(fields), "timeline": timeline}))
        return
    console = out()
    for label, value in fields:
        console.print(f"{label:>17}: {value}", markup=False)
    emit(timeline, cols, title="Timeline")


@disputes_app.command("status")
@handle
def disputes_status(
    case: str,
    status: Annotated[str, typer.Argument(help=STATUSES)],
    note: NoteOpt = "",
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Move an active case to open, waiting_on_customer or waiting_on_internal."""
    with opened(db) as book:
        r = ds.update_case(
            book.uow(), ds.UpdateCase(entity_code(book, entity), case, status=status, note=note)
        )
    done = "; ".join(r.changes) if r.changes else f"already {r.status}; nothing changed"
    out().print(f"{r.case_no}: {done}", markup=False)


@disputes_app.command("update")
@handle
def disputes_update(
    case: str,
    owner: Annotated[str, typer.Option("--owner")] = "",
    due: Annotated[str | None, typer.Option("--due", help="YYYY-MM-DD")] = None,
    amount: Annotated[str, typer.Option("--amount", help="the new amount in dispute")] = "",
    note: NoteOpt = "",
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Change an active case's owner, due date or amount in dispute."""
    with opened(db) as book:
        r = ds.update_case(
            book.uow(),
            ds.UpdateCase(
                entity_code(book, entity),
                case,
                owner=owner,
                due_on=parse_date(due, "--due"),
                amount=amount,
                note=note,
            ),
        )
    done = "; ".join(r.changes) if r.changes else "nothing changed"
    out().print(f"{r.case_no}: {done}", markup=False)


@disputes_app.command("note")
@handle
def disputes_note(
    case: str,
    text: str,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Add a note to a case's timeline (notes are never changed or removed)."""
    with opened(db) as book:
        count = ds.add_note(book.uow(), ds.AddNote(entity_code(book, entity), case, text))
    out().print(f"note added; the timeline has {count} entries")


@disputes_app.command("attach")
@handle
def disputes_attach(
    case: str,
    reference: Annotated[str, typer.Argument(help="where the file is kept: URL, path, DMS id")],
    label: Annotated[str, typer.Option("--label", help="what the file is")] = "",
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Record a reference to a file about the case (the file stays where it is)."""
    with opened(db) as book:
        count = ds.add_attachment(
            book.uow(), ds.AddAttachment(entity_code(book, entity), case, reference, label)
        )
    out().print(f"attachment reference added; the timeline has {count} entries")


def _credit_lines(values: list[str] | None) -> tuple[tuple[int, str], ...]:
    pairs = []
    for no, qty in parse_pairs(values, "LINE_NO:QTY", "--line"):
        if not no.isdigit():
            raise typer.BadParameter(f"{no!r} is not a line number", param_hint="--line")
        pairs.append((int(no), qty))
    return tuple(pairs)


def _rebill_lines(values: list[str] | None) -> tuple[LineSpec, ...]:
    specs = []
    for text in values or ():
        parts = text.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise typer.BadParameter(f"{text!r} is not CODE:QTY[:UNIT_PRICE]", param_hint="--line")
        specs.append(LineSpec(parts[0], parts[1], unit_price=parts[2] if len(parts) == 3 else ""))
    return tuple(specs)


@disputes_app.command("resolve")
@handle
def disputes_resolve(
    case: str,
    credit_note: Annotated[
        bool, typer.Option("--credit-note", help="credit the invoice (or --line LINE_NO:QTY)")
    ] = False,
    rebill: Annotated[
        bool,
        typer.Option("--rebill", help="credit it all and invoice again: --line CODE:QTY[:PRICE]"),
    ] = False,
    reject: Annotated[
        bool, typer.Option("--reject", help="reject, with --explanation sent to the customer")
    ] = False,
    line: Annotated[
        list[str] | None,
        typer.Option(
            "--line",
            help="--credit-note: LINE_NO:QTY; --rebill: CODE:QTY[:UNIT_PRICE]; repeatable",
        ),
    ] = None,
    explanation: Annotated[str, typer.Option("--explanation", help="why it is rejected")] = "",
    no_mail: Annotated[
        bool,
        typer.Option("--no-mail", help="--reject without e-mail: you tell the customer"),
    ] = False,
    note: NoteOpt = "",
    date_: DateOpt = None,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Close a case by credit note, by re-bill, or by rejection with an explanation."""
    if sum((credit_note, rebill, reject)) != 1:
        raise UsageError("give exactly one of --credit-note, --rebill and --reject")
    if reject and line:
        raise UsageError("--line goes with --credit-note or --rebill, not with --reject")
    if not reject and (explanation or no_mail):
        raise UsageError("--explanation and --no-mail go with --reject")
    if rebill and not line:
        raise UsageError("--rebill needs the corrected lines: --line CODE:QTY[:UNIT_PRICE]")
    on = parse_date(date_)
    with opened(db) as book:
        code = entity_code(book, entity)
        if credit_note:
            r = ds.resolve_by_credit_note(
                book.uow(), ds.ResolveByCreditNote(code, case, _credit_lines(line), on, note)
            )
        elif rebill:
            r = ds.resolve_by_rebill(
                book.uow(), ds.ResolveByRebill(code, case, _rebill_lines(line), on, note)
            )
        else:
            r = ds.reject_case(
                book.uow(),
                ds.RejectCase(code, case, explanation, on, not no_mail, sender_address()),
            )
    cur = r.currency
    if r.resolution == "credit_note":
        text = (
            f"{r.case_no} resolved: credit note {r.credit_note} over "
            f"{money(r.credit_note_total_minor, cur)} {cur} credits {r.invoice}"
        )
    elif r.resolution == "rebill":
        text = (
            f"{r.case_no} resolved by re-bill: credit note {r.credit_note} over "
            f"{money(r.credit_note_total_minor, cur)} {cur} credits {r.invoice}; corrected "
            f"invoice {r.rebill_invoice} over {money(r.rebill_total_minor, cur)} {cur}"
        )
        if r.carried_over_minor:
            text += f"; {money(r.carried_over_minor, cur)} {cur} already paid moved to it"
    else:
        text = f"{r.case_no} rejected; {r.mail}"
    out().print(text, markup=False)


def _amounts(pairs: tuple[tuple[str, int], ...]) -> str:
    return "; ".join(f"{money(minor, cur)} {cur}" for cur, minor in pairs)


def _report_row(dimension: str, g: Group) -> dict[str, Any]:
    return {
        "dimension": dimension,
        "key": g.key,
        "cases": g.cases,
        "active": g.active,
        "resolved": g.resolved,
        "rejected": g.rejected,
        "disputed": _amounts(g.disputed),
        "adjusted": _amounts(g.adjusted),
        "days_mean": "" if g.days_mean is None else str(g.days_mean),
        "days_median": "" if g.days_median is None else str(g.days_median),
    }


@disputes_app.command("report")
@handle
def disputes_report(
    from_: Annotated[
        str | None, typer.Option("--from", help="cases opened on or after YYYY-MM-DD")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="cases opened on or before")] = None,
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Counts, amounts and days to resolve by reason, by charge code and by both."""
    with opened(db) as book:
        report = ds.dispute_report(
            book.uow(read_only=True),
            entity_code(book, entity),
            parse_date(from_, "--from"),
            parse_date(to, "--to"),
        )
    sections = (
        ("reason", "By reason", report.by_reason),
        ("charge_code", "By charge code", report.by_charge_code),
        ("cause", "By reason and charge code", report.by_cause),
    )
    cols = [
        Col("key", "key"),
        Col("cases", "cases", True),
        Col("active", "active", True),
        Col("resolved", "resolved", True),
        Col("rejected", "rejected", True),
        Col("disputed", "disputed", True),
        Col("adjusted", "credited (net)", True),
        Col("days_mean", "days mean", True),
        Col("days_median", "days median", True),
    ]
    total = [_report_row("total", report.total)]
    if as_json or as_csv:
        rows = [_report_row(dim, g) for dim, _, groups in sections for g in groups]
        emit(
            rows,
            [Col("dimension", "dimension"), *cols],
            as_json=as_json,
            as_csv=as_csv,
            footer=total,
        )
        return
    for dim, title, groups in sections:
        emit([_report_row(dim, g) for g in groups], cols, title=title, footer=total)
