"""`openbill bank`: accounts, statement import, matching, review, undo and reconciliation."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from openbill.adapters.bank import BUILTIN, read_statement
from openbill.bootstrap import Book
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
    parse_pairs,
)
from openbill.usecases import bank as bk
from openbill.usecases import bank_matching as bm
from openbill.usecases import bank_reconcile as br

__all__ = ["bank_app", "print_match_report", "print_reconciliation", "print_import"]

bank_app = typer.Typer(
    help="Bank accounts, statements and their matching to invoices.", no_args_is_help=True
)
accounts_app = typer.Typer(help="The entity's bank accounts.", no_args_is_help=True)
review_app = typer.Typer(
    help="Bank lines waiting for a person: list them, confirm, split, mark as other.",
    invoke_without_command=True,
)
bank_app.add_typer(accounts_app, name="accounts")
bank_app.add_typer(review_app, name="review")

PROGRESS_LINES_MIN = 200  # matching runs over more lines than this get a progress bar

AccountOption = Annotated[
    str, typer.Option("--account", help="bank account: name, IBAN or account number")
]


# -- accounts ---------------------------------------------------------------------------------


@accounts_app.command("add")
@handle
def accounts_add(
    name: Annotated[str, typer.Argument(help="a name for the account, e.g. 'Main EUR'")],
    currency: Annotated[str, typer.Option("--currency", help="ISO 4217 code")],
    iban: Annotated[str, typer.Option("--iban")] = "",
    number: Annotated[
        str, typer.Option("--number", help="the bank's account number, when it gives no IBAN")
    ] = "",
    ledger_account: Annotated[
        str, typer.Option("--ledger-account", help="[default: 1200, else the next free 12xx]")
    ] = "",
    opening_balance: Annotated[
        str,
        typer.Option(
            "--opening-balance", help="balance before the first statement you will import"
        ),
    ] = "",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="date of the opening balance (YYYY-MM-DD)")
    ] = None,
    db: DbOption = None,
    entity: EntityOption = None,
) -> None:
    """Register a bank account, with the balance it had before openbill."""
    with opened(db) as book:
        view = bk.add_bank_account(
            book.uow(),
            bk.AddBankAccount(
                entity_code(book, entity),
                name,
                currency,
                iban,
                number,
                ledger_account,
                opening_balance,
                parse_date(as_of, "--as-of"),
            ),
        )
    out().print(
        f"bank account {view.name} ({view.iban or view.number}, {view.currency}) on ledger "
        f"account {view.ledger_account}; book balance "
        f"{money(view.book_balance_minor, view.currency)}",
        markup=False,
    )


@accounts_app.command("list")
@handle
def accounts_list(
    db: DbOption = None, entity: EntityOption = None, as_json: JsonOption = False
) -> None:
    """Bank accounts with their book balance, last statement and lines to match."""
    with opened(db) as book:
        views = bk.list_bank_accounts(book.uow(read_only=True), entity_code(book, entity))
    rows = [
        {
            "name": v.name,
            "account": v.iban or v.number,
            "currency": v.currency,
            "ledger": v.ledger_account,
            "book_balance": money(v.book_balance_minor, v.currency),
            "statements": v.statements,
            "last_closing": f"{v.last_closing_on or ''} {money(v.last_closing_minor, v.currency)}",
            "new": v.lines_new,
            "review": v.lines_review,
            "matched": v.lines_matched,
        }
        for v in views
    ]
    emit(
        rows,
        [
            Col("name", "account"),
            Col("account", "IBAN / number"),
            Col("currency", "cur"),
            Col("ledger", "ledger"),
            Col("book_balance", "book balance", right=True),
            Col("statements", "statements", right=True),
            Col("last_closing", "last closing", right=True),
            Col("new", "new", right=True),
            Col("review", "review", right=True),
            Col("matched", "matched", right=True),
        ],
        as_json=as_json,
        title="bank accounts",
    )


# -- import -------------------------------------------------------------------------------------


@bank_app.command("import")
@handle
def bank_import(
    file: Annotated[Path, typer.Argument(help="CAMT.052/053/054, MT940/942, OFX or CSV file")],
    account: Annotated[
        str, typer.Option("--account", help="book the file onto this account (name or IBAN)")
    ] = "",
    profile: Annotated[
        str | None,
        typer.Option("--profile", help=f"CSV column profile: {', '.join(sorted(BUILTIN))}"),
    ] = None,
    add_accounts: Annotated[
        bool, typer.Option("--add-accounts", help="register accounts the book does not know")
    ] = False,
    match: Annotated[
        bool, typer.Option("--match/--no-match", help="match the new lines right away")
    ] = True,
    db: DbOption = None,
    entity: EntityOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import a bank statement file; the same statement twice adds nothing."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror}") from None
    statements = read_statement(data, file.name, profile)
    with opened(db) as book:
        code = entity_code(book, entity)
        result = bk.import_statements(
            book.uow(),
            bk.ImportStatements(
                code,
                file.name,
                hashlib.sha256(data).hexdigest(),
                tuple(statements),
                account,
                add_accounts,
            ),
        )
        report = None
        if match and result.line_ids:
            report = run_match(book, bm.MatchLines(code, line_ids=result.line_ids))
    if as_json:
        import json

        typer.echo(
            json.dumps(
                {
                    "statements": [_statement_json(s) for s in result.statements],
                    "new_lines": len(result.line_ids),
                    "automatic": report.automatic if report else 0,
                    "review": report.review if report else 0,
                }
            )
        )
        return
    print_import(result)
    if report is not None:
        print_match_report(report)


def _statement_json(s: bk.StatementImported) -> dict[str, Any]:
    return {
        "id": s.statement_id,
        "account": s.account,
        "format": s.format,
        "reference": s.reference,
        "from": str(s.period_from or ""),
        "to": str(s.period_to or ""),
        "opening": money(s.opening_minor, s.currency),
        "closing": money(s.closing_minor, s.currency),
        "entries": s.entries,
        "new": s.new_entries,
        "duplicate_of": s.duplicate_of,
        "problems": list(s.problems),
    }


def print_import(result: bk.StatementsImported) -> None:
    console = out()
    for name in result.accounts_added:
        console.print(f"registered bank account {name}", markup=False)
    table = Table(title=f"{result.source}: {len(result.statements)} statement(s)")
    for header, right in (
        ("account", False),
        ("format", False),
        ("statement", False),
        ("period", False),
        ("opening", True),
        ("closing", True),
        ("entries", True),
        ("new", True),
    ):
        table.add_column(header, justify="right" if right else "left", no_wrap=True)
    for s in result.statements:
        period = f"{s.period_from or ''}..{s.period_to or ''}".strip(".")
        table.add_row(
            s.account,
            s.format,
            s.reference,
            period,
            money(s.opening_minor, s.currency),
            money(s.closing_minor, s.currency),
            str(s.entries),
            str(s.new_entries) if s.duplicate_of is None else "already imported",
        )
    console.print(table)
    for s in result.statements:
        for problem in s.problems:
            console.print(f"[yellow]check:[/] {s.account} {s.reference}: {problem}")
    dupes = sum(1 for s in result.statements if s.duplicate_of is not None)
    console.print(
        f"{result.new_entries} new line(s)"
        + (f"; {dupes} statement(s) were imported before and add nothing" if dupes else ""),
        markup=False,
    )


# -- matching -------------------------------------------------------------------------------------


@contextmanager
def _progress(total_hint: int) -> Iterator[Any]:
    if total_hint < PROGRESS_LINES_MIN:
        yield None
        return
    with Progress(
        TextColumn("[bold]matching bank lines"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err(),
        transient=True,
    ) as progress:
        task = progress.add_task("match", total=total_hint)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def run_match(book: Book, cmd: bm.MatchLines) -> bm.MatchReport:
    hint = len(cmd.line_ids) if cmd.line_ids else PROGRESS_LINES_MIN
    with _progress(hint) as update:
        return bm.match_lines(book.uow, cmd, update)


@bank_app.command("match")
@handle
def bank_match(
    account: AccountOption = "",
    threshold: Annotated[
        int | None,
        typer.Option("--threshold", help="confidence for automatic posting, this run only"),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="propose, post nothing")] = False,
    db: DbOption = None,
    entity: EntityOption = None,
) -> None:
    """Match every line that is new or waiting for review; post the sure ones."""
    with opened(db) as book:
        report = run_match(
            book, bm.MatchLines(entity_code(book, entity), account, (), threshold, dry_run)
        )
    print_match_report(report)


def print_match_report(report: bm.MatchReport) -> None:
    console = out()
    title = "bank matching" + (" (dry run: nothing posted)" if report.dry_run else "")
    table = Table(title=title)
    table.add_column("", no_wrap=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("lines", justify="right")
    table.add_column("amount", justify="right")
    currency = report.outcomes[0].currency if report.outcomes else "EUR"
    for status, rule, n, amount in report.by_rule():
        table.add_row(status, rule, str(n), money(amount, currency))
    console.print(table)
    share = f" ({100 * report.automatic / report.considered:.0f}%)" if report.considered else ""
    console.print(
        f"{report.considered} line(s): {report.automatic} posted automatically{share}, "
        f"{report.review} waiting for review (openbill bank review)",
        markup=False,
    )
    for line_id, reason in report.set_aside:
        console.print(f"[yellow]line {line_id} set aside:[/] {reason}")


# -- review ---------------------------------------------------------------------------------------


@review_app.callback()
@handle
def review(
    ctx: typer.Context,
    account: AccountOption = "",
    db: DbOption = None,
    entity: EntityOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """The lines waiting for review, with the best candidate of each."""
    if ctx.invoked_subcommand is not None:
        return
    with opened(db) as book:
        rows = bm.review_queue(book.uow(read_only=True), entity_code(book, entity), account)
    emit(
        [
            {
                **r,
                "amount": money(r["amount_minor"], r["currency"]),
                "text": (r["remittance"] or r["creditor_reference"])[:60],
            }
            for r in rows
        ],
        [
            Col("id", "line", right=True),
            Col("booked_on", "booked"),
            Col("amount", "amount", right=True),
            Col("currency", "cur"),
            Col("counterparty", "from / to", wrap=True),
            Col("text", "text", wrap=True),
            Col("confidence", "conf", right=True),
            Col("explanation", "best candidate", wrap=True),
        ],
        as_json=as_json,
        as_csv=as_csv,
        title="bank lines waiting for review",
    )


@review_app.command("confirm")
@handle
def review_confirm(
    line: Annotated[int, typer.Argument(help="bank line id")],
    candidate: Annotated[
        int, typer.Option("--candidate", help="which candidate (see openbill bank show)")
    ] = 1,
    db: DbOption = None,
    entity: EntityOption = None,
) -> None:
    """Post a proposed candidate (the best one unless --candidate says another)."""
    with opened(db) as book:
        done = bm.confirm(book.uow(), bm.Confirm(entity_code(book, entity), line, candidate))
    out().print(f"line {done.line_id}: {done.action} posted (decision {done.match_id})")


@review_app.command("split")
@handle
def review_split(
    line: Annotated[int, typer.Argument(help="bank line id")],
    to: Annotated[list[str] | None, typer.Option("--to", help="INVOICE:AMOUNT, repeatable")] = None,
    credit: Annotated[
        list[str] | None,
        typer.Option("--credit", help="CUSTOMER:AMOUNT kept as credit, repeatable"),
    ] = None,
    fee: Annotated[str, typer.Option("--fee", help="bank fee the bank kept")] = "",
    other: Annotated[
        list[str] | None,
        typer.Option("--other", help="CATEGORY:AMOUNT (fee, interest, transfer, other)"),
    ] = None,
    ledger_account: Annotated[
        str, typer.Option("--ledger-account", help="account of an 'other' part")
    ] = "",
    db: DbOption = None,
    entity: EntityOption = None,
) -> None:
    """Split a line by hand over invoices, customer credit, a fee and other money."""
    with opened(db) as book:
        done = bm.split(
            book.uow(),
            bm.Split(
                entity_code(book, entity),
                line,
                parse_pairs(to, "INVOICE:AMOUNT", "--to"),
                parse_pairs(credit, "CUSTOMER:AMOUNT", "--credit"),
                fee,
                parse_pairs(other, "CATEGORY:AMOUNT", "--other"),
                ledger_account,
            ),
        )
    payments = ", ".join(str(p) for p in done.detail.get("payments", [])) or "none"
    out().print(f"line {done.line_id} split (decision {done.match_id}); payments {payments}")


@review_app.command("other")
@handle
def review_other(
    line: Annotated[int, typer.Argument(help="bank line id")],
    category: Annotated[
        str,
        typer.Option("--category", help="fee, interest, transfer, refund_returned or other"),
    ],
    ledger_account: Annotated[
        str, typer.Option("--ledger-account", help="required for 'other'")
    ] = "",
    customer: Annotated[
        str, typer.Option("--customer", help="for refund_returned: whose credit")
    ] = "",
    note: Annotated[str, typer.Option("--note")] = "",
    db: DbOption = None,
    entity: EntityOption = None,
) -> None:
    """Mark a line as no customer's payment and book it on its category's ledger account."""
    with opened(db) as book:
        done = bm.mark_other(
            book.uow(),
            bm.MarkOther(entity_code(book, entity), line, category, ledger_account, customer, note),
        )
    out().print(f"line {done.line_id}: booked as {category} (decision {done.match_id})")


@bank_app.command("undo")
@handle
def bank_undo(
    line: Annotated[int, typer.Argument(help="bank line id")],
    reason: Annotated[str, typer.Option("--reason", help="why the decision was wrong")],
    db: DbOption = None,
    entity: EntityOption = None,
) -> None:
    """Undo the decision on a line: its postings are reversed, the line waits again."""
    with opened(db) as book:
        done = bm.undo(book.uow(), bm.Undo(entity_code(book, entity), line, reason))
    out().print(
        f"line {done.line_id}: decision undone ({len(done.detail['entries'])} reversing "
        "entries); it waits to be matched again"
    )


@bank_app.command("show")
@handle
def bank_show(
    line: Annotated[int, typer.Argument(help="bank line id")],
    db: DbOption = None,
    entity: EntityOption = None,
    as_json: JsonOption = False,
) -> None:
    """One bank line: what the bank says, the candidates and the decisions taken."""
    with opened(db) as book:
        d = bm.line_detail(book.uow(read_only=True), entity_code(book, entity), line)
    if as_json:
        import json

        typer.echo(json.dumps(d, default=str))
        return
    console = out()
    head = Table(show_header=False, title=f"bank line {d['id']} ({d['status']})")
    head.add_column("", style="bold")
    head.add_column("")
    for label, key in (
        ("account", "account"),
        ("booked", "booked_on"),
        ("from / to", "counterparty"),
        ("their account", "counterparty_account"),
        ("text", "remittance"),
        ("structured ref", "creditor_reference"),
        ("end-to-end id", "end_to_end_id"),
        ("bank reference", "bank_reference"),
        ("transaction code", "transaction_code"),
        ("return reason", "return_reason"),
    ):
        if d.get(key):
            head.add_row(label, str(d[key]))
    head.add_row("amount", f"{money(d['amount_minor'], d['currency'])} {d['currency']}")
    console.print(head)
    if d["proposals"]:
        table = Table(title="candidates (openbill bank review confirm LINE --candidate N)")
        for h in ("#", "conf", "action", "customer", "explanation"):
            table.add_column(h, no_wrap=h != "explanation")
        for p in d["proposals"]:
            table.add_row(
                str(p["rank"]), str(p["confidence"]), p["action"], p["customer"], p["explanation"]
            )
        console.print(table)
    for m in d["decisions"]:
        who = "automatically" if m["automatic"] else f"by {m['actor']}"
        console.print(
            f"decision {m['id']}: {m['action']} {who} ({m['confidence']}): {m['explanation']}",
            markup=False,
        )


@bank_app.command("lines")
@handle
def bank_lines(
    account: AccountOption = "",
    status: Annotated[str, typer.Option("--status", help="new, review or matched")] = "",
    start: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD")] = None,
    db: DbOption = None,
    entity: EntityOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Bank lines with their status and the rule that matched them."""
    with opened(db) as book:
        uow = book.uow(read_only=True)
        code = entity_code(book, entity)
        rows = _lines(uow, code, account, status, parse_date(start), parse_date(end, "--to"))
    emit(
        [{**r, "amount": money(r["amount_minor"], r["currency"])} for r in rows],
        [
            Col("id", "line", right=True),
            Col("booked_on", "booked"),
            Col("amount", "amount", right=True),
            Col("currency", "cur"),
            Col("counterparty", "from / to", wrap=True),
            Col("status", "status"),
            Col("rule", "rule"),
            Col("confidence", "conf", right=True),
            Col("explanation", "explanation", wrap=True),
        ],
        as_json=as_json,
        as_csv=as_csv,
        title="bank lines",
    )


def _lines(
    uow: Any, code: str, account: str, status: str, start: date | None, end: date | None
) -> list[dict[str, Any]]:
    from openbill.usecases._support import entity_by_code

    with uow:
        entity = entity_by_code(uow, code)
        account_id = None
        if account:
            found = bk.account_by_ref(uow, entity.id, account)
            if found is None:
                raise UsageError(f"no bank account {account!r}")
            account_id = found.id
        rows = uow.bank.lines(
            entity.id, account_id=account_id, status=status, start=start, end=end, limit=10_000
        )
        return [bm._line_dict(r) for r in rows]


@bank_app.command("statements")
@handle
def bank_statements(
    db: DbOption = None, entity: EntityOption = None, as_json: JsonOption = False
) -> None:
    """Statements imported, with their balances and what their checks found."""
    with opened(db) as book:
        rows = bk.list_statements(book.uow(read_only=True), entity_code(book, entity))
    emit(
        [
            {
                **r,
                "reference": r["statement_ref"] or r["sequence"],
                "period": f"{r['period_from'] or ''}..{r['period_to'] or ''}",
                "opening": money(r["opening_minor"], r["currency"]),
                "closing": money(r["closing_minor"], r["currency"]),
                "checks": "; ".join(r["problems"]) or "ok",
            }
            for r in rows
        ],
        [
            Col("id", "id", right=True),
            Col("account_name", "account"),
            Col("format", "format"),
            Col("reference", "statement"),
            Col("period", "period"),
            Col("opening", "opening", right=True),
            Col("closing", "closing", right=True),
            Col("entries", "entries", right=True),
            Col("new_entries", "new", right=True),
            Col("source_name", "file"),
            Col("checks", "checks", wrap=True),
        ],
        as_json=as_json,
        title="bank statements",
    )


@bank_app.command("settings")
@handle
def bank_settings_cmd(
    threshold: Annotated[
        int | None, typer.Option("--threshold", help="confidence for automatic posting")
    ] = None,
    fee: Annotated[
        list[str] | None,
        typer.Option("--fee", help="CUR:A,B,... typical bank fees, e.g. EUR:2.50,5.00"),
    ] = None,
    fx_tolerance_bps: Annotated[
        int | None,
        typer.Option("--fx-tolerance-bps", help="foreign payments within this of the day's rate"),
    ] = None,
    db: DbOption = None,
    entity: EntityOption = None,
) -> None:
    """Show or change how sure matching must be to post on its own, and what fees it knows."""
    fees = []
    for text in fee or ():
        currency, sep, amounts = text.partition(":")
        if not sep or not currency.strip():
            raise typer.BadParameter(f"{text!r} is not CUR:A,B,...", param_hint="--fee")
        fees.append((currency.strip(), tuple(a.strip() for a in amounts.split(",") if a.strip())))
    with opened(db) as book:
        s = bm.set_bank_settings(
            book.uow(),
            bm.SetBankSettings(entity_code(book, entity), threshold, tuple(fees), fx_tolerance_bps),
        )
    console = out()
    console.print(f"automatic posting at confidence {s.auto_threshold} or more", markup=False)
    console.print(f"exchange-rate tolerance {s.fx_tolerance_bps} basis points", markup=False)
    for currency, amounts in sorted(s.fees_minor.items()):
        listed = ", ".join(money(a, currency) for a in amounts)
        console.print(f"typical fees {currency}: {listed}", markup=False)


# -- reconciliation -----------------------------------------------------------------------------


@bank_app.command("reconcile")
@handle
def bank_reconcile(
    account: Annotated[str, typer.Option("--account", help="name, IBAN or account number")],
    period: Annotated[str, typer.Option("--period", help="YYYY-MM")],
    db: DbOption = None,
    entity: EntityOption = None,
    as_json: JsonOption = False,
) -> None:
    """Month-end reconciliation: statement balance, book balance, the difference explained."""
    with opened(db) as book:
        r = br.reconcile(
            book.uow(read_only=True), br.Reconcile(entity_code(book, entity), account, period)
        )
    if as_json:
        import json

        typer.echo(json.dumps(_reconciliation_json(r)))
        return
    print_reconciliation(r)


def _reconciliation_json(r: br.Reconciliation) -> dict[str, Any]:
    c = r.currency
    return {
        "account": r.account,
        "period": f"{r.start:%Y-%m}",
        "currency": c,
        "statement_balance": money(r.statement_balance_minor, c),
        "statement_on": str(r.statement_on or ""),
        "book_balance": money(r.book_balance_minor, c),
        "difference": money(r.difference_minor, c),
        "opening_difference": money(r.opening_difference_minor, c),
        "unmatched_lines": money(r.unmatched_lines_minor, c),
        "unmatched_book": money(r.unmatched_book_minor, c),
        "later_in_book": money(r.later_in_book_minor, c),
        "later_on_statement": money(r.later_on_statement_minor, c),
        "undone": money(r.undone_minor, c),
        "statement_gap": money(r.statement_gap_minor, c),
        "unexplained": money(r.unexplained_minor, c),
        "matched_automatic": r.matched_automatic,
        "matched_by_hand": r.matched_by_hand,
        "waiting": r.waiting,
        "problems": list(r.problems),
    }


def print_reconciliation(r: br.Reconciliation) -> None:
    console = out()
    c = r.currency
    table = Table(
        title=(
            f"bank reconciliation {r.start:%B %Y}: {r.account} ({r.iban}, {c}, ledger account "
            f"{r.ledger_account})"
        ),
        show_header=False,
    )
    table.add_column("", no_wrap=True)
    table.add_column(c, justify="right", no_wrap=True)
    stmt = f"statement balance on {r.statement_on}" if r.statement_on else "statement balance"
    if r.statement_ref:
        stmt += f" (statement {r.statement_ref})"
    table.add_row(stmt, money(r.statement_balance_minor, c))
    table.add_row(f"book balance of {r.ledger_account} on {r.end}", money(r.book_balance_minor, c))
    table.add_row("difference", money(r.difference_minor, c), end_section=True)
    rows = (
        (
            f"opening balance of the first statement ({r.first_opening_on}) less the book "
            "before it",
            r.opening_difference_minor,
        ),
        (
            f"bank lines not in the book ({len(r.unmatched_lines)}, waiting for review)",
            r.unmatched_lines_minor,
        ),
        (
            f"book entries not on the statement ({len(r.unmatched_book)})",
            -r.unmatched_book_minor,
        ),
        ("lines whose book entries are dated after the month", r.later_in_book_minor),
        ("book entries whose bank lines came after the month", -r.later_on_statement_minor),
        ("undone decisions (cancel out)", -r.undone_minor),
        ("not accounted for by the statements (one missing?)", r.statement_gap_minor),
    )
    for label, amount in rows:
        if amount or label.startswith(("bank lines", "book entries not")):
            table.add_row(f"  {label}", money(amount, c))
    table.add_row("unexplained", money(r.unexplained_minor, c), style="bold")
    console.print(table)
    console.print(
        f"{r.start:%B}: {r.lines_in_period} lines (in {money(r.money_in_minor, c)}, out "
        f"{money(r.money_out_minor, c)}); matched {r.matched_automatic} automatically and "
        f"{r.matched_by_hand} by hand; {r.waiting} waiting"
        + (f"; {r.undone_in_period} decision(s) undone" if r.undone_in_period else ""),
        markup=False,
    )
    if r.unmatched_lines:
        lines = Table(title="on the statement, not in the book")
        for h, right in (("line", True), ("booked", False), ("amount", True), ("what", False)):
            lines.add_column(h, justify="right" if right else "left")
        for item in r.unmatched_lines:
            lines.add_row(str(item.id), str(item.on), money(item.amount_minor, c), item.what)
        console.print(lines)
    if r.unmatched_book:
        book = Table(title="in the book, not on the statement")
        for h, right in (("entry", True), ("date", False), ("amount", True), ("what", False)):
            book.add_column(h, justify="right" if right else "left")
        for item in r.unmatched_book:
            book.add_row(str(item.id), str(item.on), money(item.amount_minor, c), item.what)
        console.print(book)
    for problem in r.problems:
        console.print(f"[yellow]check:[/] {problem}")
