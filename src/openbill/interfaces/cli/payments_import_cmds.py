"""`openbill payments import FILE`: payments from CSV files with named column profiles."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from openbill.domain.payment_import import (
    BUILTIN,
    DATE_FORMATS,
    IMPORT_CHARS_MAX,
    PROFILES_CHARS_MAX,
    Profile,
    RowError,
    by_name,
    merged,
    profiles_from_toml,
)
from openbill.interfaces.cli._common import (
    Col,
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
)
from openbill.usecases.payment_import import (
    ALLOCATE_IMPORT,
    PaymentsImported,
    PaymentsImportRefused,
    import_payments,
)
from openbill.usecases.payment_import import (
    Progress as ProgressFn,
)

__all__ = ["payments_import"]

PROGRESS_ROWS_MIN = 1_000  # files with more lines than this get a progress bar
_PHASES = {"check": "checking", "record": "recording"}


@handle
def payments_import(
    file: Annotated[Path, typer.Argument(help="CSV file of payments received")],
    profile: Annotated[
        str,
        typer.Option(
            "--profile",
            help=f"column profile: {', '.join(BUILTIN)}, or one from --profiles",
        ),
    ] = "openbill",
    profiles: Annotated[
        Path | None,
        typer.Option("--profiles", help="TOML file of your own profiles ([profiles.NAME])"),
    ] = None,
    keep_good: Annotated[
        bool,
        typer.Option(
            "--keep-good", help="import the good rows and write the bad ones to a rejects file"
        ),
    ] = False,
    rejects: Annotated[
        Path | None,
        typer.Option("--rejects", help="rejects file [default: FILE.rejects.csv]"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="check and show what would happen; record nothing")
    ] = False,
    date_format: Annotated[
        str,
        typer.Option("--date-format", help=f"override the profile's: {', '.join(DATE_FORMATS)}"),
    ] = "",
    allocate: Annotated[
        str,
        typer.Option(
            "--allocate",
            help="auto (the invoices the reference names, else oldest first), reference, "
            "oldest, or none (keep as customer credit)",
        ),
    ] = "auto",
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import payments received from a CSV file (a bank export, a lockbox file, Stripe's
    export or openbill's own layout) and allocate each one: to the invoices its reference
    names (an invoice number or the RF creditor reference printed on the invoice), else to
    the customer's oldest invoices. One bad row refuses the file (every bad row is named)
    unless --keep-good. Importing the same file again adds nothing."""
    if allocate not in ALLOCATE_IMPORT:
        raise UsageError(f"--allocate is one of {', '.join(ALLOCATE_IMPORT)}")
    chosen = merged(by_name(profile, _user_profiles(profiles)), date_format.upper())
    data = _read(file)
    with opened(db) as book:
        code = entity_code(book, entity)
        try:
            with _progress(data.count(b"\n") > PROGRESS_ROWS_MIN and not as_json) as tick:
                result = import_payments(
                    book.uow,
                    code,
                    data,
                    file.name,
                    chosen,
                    keep_good,
                    dry_run,
                    allocate=allocate,
                    progress=tick,
                )
        except PaymentsImportRefused as exc:
            for e in exc.errors:
                err().print(f"error: {e.message}", style="red", markup=False)
            if rejects is not None:
                write_rejects(rejects, exc.columns, exc.errors, chosen)
                err().print(f"rejected rows written to {rejects}", markup=False)
            err().print(
                f"{len(exc.errors)} bad row(s); nothing was imported "
                "(use --keep-good to import the good rows)",
                markup=False,
            )
            raise typer.Exit(1) from None
    target = None
    if result.rejected:
        target = rejects or file.with_name(file.name + ".rejects.csv")
        write_rejects(target, result.columns, result.rejected, chosen)
    if as_json:
        typer.echo(json.dumps(as_dict(result, target)))
        return
    _print(result, target)


def _user_profiles(path: Path | None) -> dict[str, Profile]:
    if path is None:
        return {}
    try:
        if path.stat().st_size > PROFILES_CHARS_MAX * 4:
            raise UsageError(f"{path} is larger than a profiles file can be")
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    return profiles_from_toml(text, path.name)


def _read(file: Path) -> bytes:
    try:
        if file.stat().st_size > IMPORT_CHARS_MAX * 4:
            raise UsageError(f"{file} is larger than the import limit; split it")
        return file.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc}") from None


@contextmanager
def _progress(show: bool) -> Iterator[ProgressFn | None]:
    """A Rich progress bar on stderr for long files (checking, then recording)."""
    if not show:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err(),
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def tick(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(_PHASES.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield tick


def write_rejects(
    path: Path, columns: Sequence[str], errors: Sequence[RowError], profile: Profile
) -> None:
    """The refused rows as the file gave them, in the profile's delimiter and encoding, with
    the line, field and reason added: fix them and import the rejects file with the same
    profile (it ignores the added columns)."""
    with path.open("w", newline="", encoding=profile.encoding, errors="replace") as stream:
        writer = csv.writer(stream, delimiter=profile.delimiter, lineterminator="\n")
        writer.writerow([*columns, "line", "field", "reason"])
        for e in errors:
            given = dict(e.raw)
            writer.writerow([given.get(c, "") for c in columns] + [e.line, e.field, e.reason])


_HOW_WORDS = {
    "reference": "by reference",
    "oldest": "oldest first",
    "explicit": "as the user said",
    "none": "kept as credit",
}


def _print(r: PaymentsImported, rejects: Path | None) -> None:
    done = "to record" if r.dry_run else "recorded"
    out().print(
        f"{'dry run of ' if r.dry_run else ''}{r.source} (profile {r.profile}): {r.rows_read} "
        f"rows read, {r.recorded} payments {'would be recorded' if r.dry_run else 'recorded'}, "
        f"{r.already_imported} already imported, {len(r.rejected)} rejected"
    )
    counts = [
        ("rows read", r.rows_read),
        (f"payments {done}", r.recorded),
        *((f"  allocated {_HOW_WORDS[h]}", n) for h, n in r.allocation if n),
        ("already imported", r.already_imported),
        ("debit rows skipped", r.debits_skipped),
        ("not paid (status) skipped", r.not_paid_skipped),
        ("refunded in full skipped", r.refunded_skipped),
        ("rejected", len(r.rejected)),
    ]
    emit(
        [{"what": k, "count": v} for k, v in counts if v or k in ("rows read", f"payments {done}")],
        [Col("what", "rows"), Col("count", "count", True)],
        title="Payments import",
    )
    if r.totals:
        emit(
            [
                {
                    "currency": t.currency,
                    "payments": t.payments,
                    "received": money(t.amount_minor, t.currency),
                    "allocated": money(t.allocated_minor, t.currency),
                    "credit": money(t.credit_minor, t.currency),
                    "written_off": money(t.written_off_minor, t.currency),
                }
                for t in r.totals
            ],
            [
                Col("currency", "cur"),
                Col("payments", "payments", True),
                Col("received", "received", True),
                Col("allocated", "allocated", True),
                Col("credit", "credit left", True),
                Col("written_off", "written off", True),
            ],
            title="Amounts",
        )
    if rejects is not None:
        for e in r.rejected[:20]:
            err().print(f"rejected: {e.message}", style="yellow", markup=False)
        if len(r.rejected) > 20:
            err().print(f"... and {len(r.rejected) - 20} more", markup=False)
        out().print(f"rejected rows written to {rejects}")
    if r.dry_run:
        out().print("dry run: nothing was recorded")


def as_dict(r: PaymentsImported, rejects: Path | None = None) -> dict[str, Any]:
    """The result as plain JSON values (money as decimal strings)."""
    return {
        "source": r.source,
        "profile": r.profile,
        "dry_run": r.dry_run,
        "rows_read": r.rows_read,
        "recorded": r.recorded,
        "already_imported": r.already_imported,
        "debits_skipped": r.debits_skipped,
        "not_paid_skipped": r.not_paid_skipped,
        "refunded_skipped": r.refunded_skipped,
        "allocation": dict(r.allocation),
        "totals": [
            {
                "currency": t.currency,
                "payments": t.payments,
                "received": money(t.amount_minor, t.currency),
                "allocated": money(t.allocated_minor, t.currency),
                "credit_left": money(t.credit_minor, t.currency),
                "written_off": money(t.written_off_minor, t.currency),
            }
            for t in r.totals
        ],
        "payments": [
            {
                "line": p.line,
                "payment_id": p.payment_id,
                "customer": p.customer,
                "currency": p.currency,
                "amount": money(p.amount_minor, p.currency),
                "allocated": money(p.allocated_minor, p.currency),
                "how": p.how,
                "invoices": list(p.invoices),
                "written_off": money(p.written_off_minor, p.written_off_currency or p.currency),
                "payer": p.payer,
            }
            for p in r.payments
        ],
        "rejected": [{"line": e.line, "field": e.field, "reason": e.reason} for e in r.rejected],
        "rejects_file": str(rejects) if rejects else "",
    }
