"""`openbill dunning`: policies, runs, promises to pay and holds.

    openbill dunning policy add STD --name Standard \\
        --step -3:reminder:friendly --step 7:reminder:first \\
        --step 21:reminder+late_fee=5.00:second --step 35:final_notice+interest:final \\
        --step 42:credit_hold+collections
    openbill dunning settings --interest --reference-rate 2.15 --margin 9
    openbill dunning run --as-of 2026-03-31 [--dry-run]
    openbill dunning history INV-2026-000001
    openbill dunning promise C1 --amount 500.00 --by 2026-04-15
    openbill dunning hold C1 --reason "..." [--credit];  openbill dunning release C1 --reason "..."
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from openbill.adapters.documents.dunning_mail import TemplateLetters
from openbill.adapters.mail import SmtpSettings
from openbill.interfaces.cli._common import (
    Col,
    CsvOption,
    DbOption,
    EntityOption,
    JsonOption,
    emit,
    entity_code,
    err,
    handle,
    opened,
    out,
    parse_date,
)
from openbill.usecases import dunning as dn

__all__ = ["dunning_app"]

dunning_app = typer.Typer(
    help="Collections: dunning policies, runs and holds.", no_args_is_help=True
)
policy_app = typer.Typer(help="Dunning policies and their steps.", no_args_is_help=True)
holds_app = typer.Typer(help="Manual dunning holds and credit holds.", no_args_is_help=True)
dunning_app.add_typer(policy_app, name="policy")
dunning_app.add_typer(holds_app, name="holds")

PROGRESS_FROM = 20  # customers: a run over more shows a progress bar (on stderr)


# Seams for tests and other deployments: what words the letters, who sends them.
def make_letters() -> dn.LetterRenderer:
    return TemplateLetters()


def sender_address() -> str:
    return SmtpSettings().sender


def _parse_step(text: str) -> dn.StepSpec:
    """OFFSET:ACTIONS[:TEMPLATE], ACTIONS joined by +, a late fee as late_fee=AMOUNT."""
    parts = text.split(":")
    if not 2 <= len(parts) <= 3:
        raise typer.BadParameter(
            f"{text!r} is not OFFSET:ACTIONS[:TEMPLATE], e.g. 21:reminder+late_fee=5.00:second",
            param_hint="--step",
        )
    try:
        offset = int(parts[0])
    except ValueError:
        raise typer.BadParameter(
            f"{parts[0]!r} is not a number of days (negative: before the due date)",
            param_hint="--step",
        ) from None
    actions, fee = [], ""
    for name in parts[1].split("+"):
        action, _, amount = name.partition("=")
        if amount:
            fee = amount.strip()
        actions.append(action.strip())
    return dn.StepSpec(offset, "+".join(actions), parts[2] if len(parts) == 3 else "", fee)


@policy_app.command("add")
@handle
def policy_add(
    code: str,
    name: Annotated[str, typer.Option(help="what people call the policy")],
    step: Annotated[
        list[str],
        typer.Option(
            "--step",
            help="OFFSET:ACTIONS[:TEMPLATE], repeatable; actions: reminder, late_fee=AMOUNT, "
            "recovery_fee, interest, final_notice, credit_hold, collections (join with +)",
        ),
    ],
    currency: Annotated[str, typer.Option(help="of fees and minimum [default: base]")] = "",
    minimum: Annotated[str, typer.Option(help="invoices with less open are not dunned")] = "0",
    fee_code: Annotated[str, typer.Option(help="charge code of fees")] = dn.DEFAULT_FEE_CODE,
    interest_code: Annotated[
        str, typer.Option(help="charge code of late interest")
    ] = dn.DEFAULT_INTEREST_CODE,
    grace_days: Annotated[int, typer.Option(help="days after a promised date")] = 3,
    default: Annotated[bool, typer.Option("--default", help="the entity's default")] = False,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Create a dunning policy (never changed afterwards: add a new one to change the rules)."""
    with opened(db) as book:
        view = dn.create_policy(
            book.uow(),
            dn.CreatePolicy(
                entity_code(book, entity),
                code,
                name,
                tuple(_parse_step(s) for s in step),
                currency,
                minimum,
                fee_code,
                interest_code,
                grace_days,
                default,
            ),
        )
    _print_policy(view)


def _print_policy(view: dn.PolicyView) -> None:
    flag = " (default)" if view.default else ""
    out().print(
        f"policy {view.code}{flag}: {view.name}; fees in {view.currency}, minimum "
        f"{view.minimum}, charge codes {view.fee_charge_code} / {view.interest_charge_code}, "
        f"{view.promise_grace_days} grace days after a promised date",
        markup=False,
    )
    emit(
        [asdict(s) for s in view.steps],
        [
            Col("step_no", "step", True),
            Col("offset_days", "days from due", True),
            Col("actions", "actions"),
            Col("template", "template"),
            Col("fee", "fee", True),
        ],
        title=f"Steps of {view.code}",
    )


@policy_app.command("list")
@handle
def policy_list(
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """The dunning policies of the entity."""
    with opened(db) as book:
        views = dn.list_policies(book.uow(read_only=True), entity_code(book, entity))
    rows = [
        {
            "code": v.code,
            "name": v.name,
            "default": "yes" if v.default else "",
            "currency": v.currency,
            "minimum": v.minimum,
            "steps": " | ".join(f"{s.offset_days:+d} {s.actions}" for s in v.steps),
        }
        for v in views
    ]
    cols = [
        Col("code", "code"),
        Col("name", "name", wrap=True),
        Col("default", "default"),
        Col("currency", "currency"),
        Col("minimum", "minimum", True),
        Col("steps", "steps (days from due, actions)", wrap=True),
    ]
    emit(rows, cols, as_json=as_json, as_csv=as_csv, title="Dunning policies")


@policy_app.command("show")
@handle
def policy_show(
    code: str, entity: EntityOption = None, db: DbOption = None, as_json: JsonOption = False
) -> None:
    """One policy with its steps."""
    with opened(db) as book:
        view = dn.show_policy(book.uow(read_only=True), entity_code(book, entity), code)
    if as_json:
        typer.echo(json.dumps(asdict(view)))
        return
    _print_policy(view)


@dunning_app.command("assign")
@handle
def assign(
    customer: str,
    policy: Annotated[
        str | None, typer.Option(help="policy code; '' for the entity's default")
    ] = None,
    language: Annotated[
        str | None, typer.Option(help="letter language (en, de, fr ...); '' from the country")
    ] = None,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Give a customer its own policy or letter language (without options: show them)."""
    with opened(db) as book:
        code = entity_code(book, entity)
        if policy is None and language is None:
            view = dn.customer_dunning(book.uow(read_only=True), code, customer)
        else:
            view = dn.assign_policy(book.uow(), dn.AssignPolicy(code, customer, policy, language))
    policy_text = view.policy or "none"
    if view.policy_is_default and view.policy:
        policy_text += " (the default)"
    source = "chosen" if view.language_chosen else "from the country"
    out().print(
        f"customer {view.customer}: policy {policy_text}; letters in {view.language} ({source})",
        markup=False,
    )


@dunning_app.command("settings")
@handle
def settings(
    default_policy: Annotated[str | None, typer.Option(help="the default policy code")] = None,
    interest: Annotated[
        bool | None,
        typer.Option("--interest/--no-interest", help="statutory interest and recovery fee"),
    ] = None,
    reference_rate: Annotated[
        str | None, typer.Option(help="percent a year (ECB main refinancing rate, or the base)")
    ] = None,
    margin: Annotated[str | None, typer.Option(help="percentage points over it")] = None,
    recovery_fee: Annotated[
        str | None, typer.Option(help="fixed compensation per invoice, e.g. 40.00")
    ] = None,
    recovery_currency: Annotated[str | None, typer.Option(help="its currency")] = None,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Show or set the default policy and the statutory late-payment settings."""
    with opened(db) as book:
        code = entity_code(book, entity)
        changes = (default_policy, interest, reference_rate, margin, recovery_fee)
        if all(c is None for c in changes) and recovery_currency is None:
            view = dn.dunning_settings(book.uow(read_only=True), code)
        else:
            view = dn.set_settings(
                book.uow(),
                dn.SetDunningSettings(
                    code,
                    default_policy,
                    interest,
                    reference_rate,
                    margin,
                    recovery_fee,
                    recovery_currency,
                ),
            )
    state = "enabled" if view.interest_enabled else "not enabled"
    out().print(
        f"default policy {view.default_policy or 'none'}; statutory interest {state}: "
        f"reference rate {view.reference_rate} % + margin {view.margin} points = "
        f"{view.annual_rate} % a year (actual/365); recovery fee {view.recovery_fee} "
        f"{view.recovery_currency} per invoice",
        markup=False,
    )


@contextmanager
def _progress(enabled: bool) -> Iterator[dn.Progress | None]:
    if not enabled:
        yield None
        return
    bar: Progress | None = None
    task: Any = None

    def advance(done: int, total: int) -> None:
        nonlocal bar, task
        if total < PROGRESS_FROM:
            return
        if bar is None:
            bar = Progress(
                TextColumn("dunning"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("customers"),
                console=err(),
                transient=True,
            )
            bar.start()
            task = bar.add_task("customers", total=total)
        bar.update(task, completed=done)

    try:
        yield advance
    finally:
        if bar is not None:
            bar.stop()


_LINE_COLS = [
    Col("outcome", "outcome"),
    Col("customer", "customer"),
    Col("invoice", "invoice"),
    Col("step_no", "step", True),
    Col("reason", "what"),
    Col("detail", "detail", wrap=True),
]


def _line_rows(lines: tuple[dn.ReportLine, ...]) -> list[dict[str, Any]]:
    return [
        {**asdict(line), "step_no": "" if line.step_no is None else line.step_no} for line in lines
    ]


def _print_report(report: dn.RunReport, as_json: bool, as_csv: bool) -> None:
    if as_json:
        data = asdict(report)
        data["as_of"] = report.as_of.isoformat()
        data["lines"] = [asdict(line) for line in report.lines]
        typer.echo(json.dumps(data))
        return
    if as_csv:
        emit(_line_rows(report.lines), _LINE_COLS, as_csv=True)
        return
    what = "dry run" if report.dry_run else f"run {report.run_id}"
    console = out()
    console.print(
        f"dunning {what} as of {report.as_of}: {report.invoices_seen} invoice(s) with a step "
        f"due, {report.steps_taken} step(s) taken, {report.fee_invoices} fee invoice(s), "
        f"{report.emails} e-mail(s) queued, {sum(1 for s in report.skipped if not s.step_no)} "
        "invoice(s) skipped",
        markup=False,
    )
    if report.message:
        console.print(report.message, markup=False)
    for title, lines in (
        ("Steps taken", report.taken),
        ("Skipped", report.skipped),
        ("Notes", report.notes),
    ):
        if lines:
            emit(_line_rows(lines), [c for c in _LINE_COLS if c.key != "outcome"], title=title)


@dunning_app.command("run")
@handle
def run(
    as_of: Annotated[str, typer.Option("--as-of", help="the run date YYYY-MM-DD")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="decide and report, change nothing")
    ] = False,
    customer: Annotated[str, typer.Option(help="only this customer's invoices")] = "",
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Take every dunning step due on a date. Running again on the same date (or an earlier
    one) takes nothing new."""
    day = parse_date(as_of, "--as-of")
    assert day is not None
    with opened(db) as book:
        cmd = dn.RunDunning(entity_code(book, entity), day, dry_run, sender_address(), customer)
        with _progress(not (as_json or as_csv)) as progress:
            report = dn.run_dunning(book.uow(), cmd, make_letters(), progress)
    _print_report(report, as_json, as_csv)


@dunning_app.command("report")
@handle
def report(
    run_id: Annotated[int | None, typer.Argument(help="the run [default: the latest]")] = None,
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """The report of a past run: steps taken, invoices skipped and why, notes."""
    with opened(db) as book:
        stored = dn.run_report(book.uow(read_only=True), entity_code(book, entity), run_id)
    _print_report(stored, as_json, as_csv)


@dunning_app.command("runs")
@handle
def runs(
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """The dunning runs, latest first."""
    with opened(db) as book:
        rows = dn.list_runs(book.uow(read_only=True), entity_code(book, entity))
    shown = [
        {
            **{k: r[k] for k in ("id", "status", "actor")},
            "as_of": str(r["as_of"]),
            "invoices": r["invoices_seen"],
            "steps": r["steps_taken"],
            "skipped": r["skipped"],
            "fee_invoices": r["fee_invoices"],
            "emails": r["emails"],
            "message": r["message"],
        }
        for r in rows
    ]
    cols = [
        Col("id", "run", True),
        Col("as_of", "as of"),
        Col("status", "status"),
        Col("actor", "by"),
        Col("invoices", "invoices", True),
        Col("steps", "steps", True),
        Col("skipped", "skipped", True),
        Col("fee_invoices", "fee invoices", True),
        Col("emails", "e-mails", True),
        Col("message", "message", wrap=True),
    ]
    emit(shown, cols, as_json=as_json, as_csv=as_csv, title="Dunning runs")


@dunning_app.command("history")
@handle
def history(
    invoice: str,
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """The dunning steps taken on an invoice, and the runs that skipped it."""
    with opened(db) as book:
        found = dn.invoice_history(book.uow(read_only=True), entity_code(book, entity), invoice)
    rows: list[dict[str, Any]] = [
        {**asdict(s), "taken_on": s.taken_on.isoformat(), "kind": "step"} for s in found.steps
    ]
    rows += [
        {"kind": "skipped", "taken_on": day.isoformat(), "actions": reason, "skipped": detail}
        for day, reason, detail in found.skips
    ]
    rows.sort(key=lambda r: (r["taken_on"], r["kind"] == "step"))
    cols = [
        Col("taken_on", "date"),
        Col("kind", "kind"),
        Col("step_no", "step", True),
        Col("policy", "policy"),
        Col("actions", "actions / reason"),
        Col("dunned", "dunned", True),
        Col("fee", "fee", True),
        Col("interest", "interest", True),
        Col("fee_invoice", "fee invoice"),
        Col("email", "e-mail"),
        Col("skipped", "not done / detail", wrap=True),
    ]
    emit(
        rows,
        cols,
        as_json=as_json,
        as_csv=as_csv,
        title=f"Dunning of {found.invoice} ({found.currency})",
    )


@dunning_app.command("promise")
@handle
def promise(
    customer: str,
    amount: Annotated[str, typer.Option(help="the amount promised, customer currency")],
    by: Annotated[str, typer.Option("--by", help="the promised date YYYY-MM-DD")],
    note: Annotated[str, typer.Option(help="what was agreed")] = "",
    made_on: Annotated[
        str | None, typer.Option(help="when it was made YYYY-MM-DD [default: today]")
    ] = None,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Record a promise to pay: dunning skips the customer until the date plus grace days."""
    day = parse_date(by, "--by")
    assert day is not None
    made = parse_date(made_on, "--made-on")
    with opened(db) as book:
        command = dn.AddPromise(entity_code(book, entity), customer, day, amount, note, made)
        view = dn.add_promise(book.uow(), command)
    replaced = f" (replaces promise {view.replaced})" if view.replaced else ""
    out().print(
        f"promise {view.id}: {view.customer} pays {view.amount} {view.currency} by "
        f"{view.pay_by}{replaced}",
        markup=False,
    )


@dunning_app.command("promises")
@handle
def promises(
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Promises to pay, latest first, with their status (open, kept, broken, replaced)."""
    with opened(db) as book:
        views = dn.list_promises(book.uow(read_only=True), entity_code(book, entity))
    rows = [
        {**asdict(v), "made_on": v.made_on.isoformat(), "pay_by": v.pay_by.isoformat()}
        for v in views
    ]
    cols = [
        Col("id", "id", True),
        Col("customer", "customer"),
        Col("made_on", "made on"),
        Col("pay_by", "pay by"),
        Col("amount", "amount", True),
        Col("currency", "currency"),
        Col("status", "status"),
        Col("note", "note", wrap=True),
    ]
    emit(rows, cols, as_json=as_json, as_csv=as_csv, title="Promises to pay")


CreditOption = Annotated[
    bool,
    typer.Option("--credit", help="a credit hold (no new invoices) instead of a dunning hold"),
]
ReasonOption = Annotated[str, typer.Option(help="why (audited, at least 10 characters)")]


@dunning_app.command("hold")
@handle
def hold(
    customer: str,
    reason: ReasonOption,
    credit: CreditOption = False,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Put a customer on a manual dunning hold, or with --credit on credit hold."""
    kind = "credit" if credit else "dunning"
    with opened(db) as book:
        view = dn.set_hold(
            book.uow(), dn.SetHold(entity_code(book, entity), customer, kind, reason)
        )
    effect = "no new invoices" if credit else "dunning skips the customer"
    out().print(
        f"customer {view.customer} on {view.kind} hold ({effect}) until released: {view.reason}",
        markup=False,
    )


@dunning_app.command("release")
@handle
def release(
    customer: str,
    reason: ReasonOption,
    credit: CreditOption = False,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Release a customer's manual dunning hold, or with --credit its credit hold."""
    kind = "credit" if credit else "dunning"
    with opened(db) as book:
        view = dn.release_hold(
            book.uow(), dn.ReleaseHold(entity_code(book, entity), customer, kind, reason)
        )
    out().print(
        f"customer {view.customer}: {view.kind} hold released by {view.released_by}: "
        f"{view.release_reason}",
        markup=False,
    )


@holds_app.command("list")
@handle
def holds_list(
    all_: Annotated[bool, typer.Option("--all", help="released holds too")] = False,
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Active holds (with --all, released ones too)."""
    with opened(db) as book:
        views = dn.list_holds(book.uow(read_only=True), entity_code(book, entity), not all_)
    cols = [
        Col("id", "id", True),
        Col("customer", "customer"),
        Col("kind", "kind"),
        Col("source", "set by"),
        Col("invoice", "invoice"),
        Col("set_at", "since"),
        Col("reason", "reason", wrap=True),
        Col("released_at", "released"),
        Col("release_reason", "release reason", wrap=True),
    ]
    rows = [{**asdict(v), "source": f"{v.source} ({v.set_by})"} for v in views]
    emit(rows, cols, as_json=as_json, as_csv=as_csv, title="Holds")
