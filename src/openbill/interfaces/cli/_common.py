"""What every command shares: the --db/--entity options, output as a table, JSON or CSV, and
turning business rejections into one red line on stderr and exit code 1."""

from __future__ import annotations

import csv
import functools
import io
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from openbill.adapters.crypto import DataKeyError
from openbill.bootstrap import Book, open_book
from openbill.domain.bank import format_amount
from openbill.domain.money import format_minor
from openbill.domain.rejections import Rejection

F = TypeVar("F", bound=Callable[..., Any])

ENTITY_ENV = "OPENBILL_ENTITY"

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="SQLite file or database URL [default: $OPENBILL_DATABASE_URL, else ./openbill.db]",
        show_default=False,
    ),
]
EntityOption = Annotated[
    str | None,
    typer.Option(
        "--entity",
        help="legal entity code [default: $OPENBILL_ENTITY, else the only entity]",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
CsvOption = Annotated[bool, typer.Option("--csv", help="print CSV instead of a table")]


# Output to a file or a pipe is not cut to 80 columns: tables stay whole.
PIPE_WIDTH = 200


def out() -> Console:
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, width=PIPE_WIDTH)
    return console


def err() -> Console:
    return Console(stderr=True, highlight=False, width=PIPE_WIDTH)


class UsageError(Exception):
    """A mistake in how the command was called (exit code 2)."""


def handle(fn: F) -> F:
    """Run a command; a Rejection becomes `error: <record> field <field>: <reason>` and exit 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Rejection as exc:
            err().print(f"error: {exc.message}", style="red", markup=False)
            raise typer.Exit(1) from None
        except UsageError as exc:
            err().print(f"error: {exc}", style="red", markup=False)
            raise typer.Exit(2) from None
        except DataKeyError as exc:  # missing, malformed or wrong data keys (docs/security.md)
            err().print(f"error: {exc}", style="red", markup=False)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def book_of(db: str | None, clock: Any = None) -> Book:
    return announced(open_book(db or None, clock=clock))


def announced(book: Book) -> Book:
    """The book, after saying (once: when it was made) that its key file is new."""
    if book.keys.created:
        err().print(
            f"openbill: made the data key file {book.keys.path} (mode 0600); it opens the "
            "book's bank accounts, tax numbers and secrets: back it up, apart from the book",
            markup=False,
        )
    return book


@contextmanager
def opened(db: str | None) -> Iterator[Book]:
    book = book_of(db)
    try:
        yield book
    finally:
        book.close()


def entity_code(book: Book, given: str | None) -> str:
    """--entity, else $OPENBILL_ENTITY, else the only legal entity of the book."""
    code = given or os.environ.get(ENTITY_ENV, "")
    if code:
        return code
    from openbill.usecases.masterdata import list_entities

    codes = [e.code for e in list_entities(book.uow(read_only=True))]
    if len(codes) == 1:
        return codes[0]
    if not codes:
        raise UsageError(
            "the book has no legal entity yet; create one with `openbill entities create`"
        )
    raise UsageError(
        f"the book has {len(codes)} legal entities ({', '.join(sorted(codes))}); "
        f"choose one with --entity or ${ENTITY_ENV}"
    )


def parse_date(text: str | None, name: str = "--date") -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)", param_hint=name) from None


def money(minor: int | None, currency: str) -> str:
    if minor is None:
        return ""
    try:
        return format_minor(int(minor), currency)
    except Rejection:  # a withdrawn currency an old bank statement still carries (DEM)
        return format_amount(int(minor), currency)


@dataclass(frozen=True)
class Col:
    key: str
    header: str
    right: bool = False
    wrap: bool = False  # names and descriptions may wrap; codes, dates and amounts never do


def _json_value(value: Any) -> Any:
    """Dates as ISO 8601 text (what a row from the book may hold besides strings and numbers)."""
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def emit(
    rows: Sequence[dict[str, Any]],
    cols: Sequence[Col],
    *,
    as_json: bool = False,
    as_csv: bool = False,
    title: str = "",
    footer: Sequence[dict[str, Any]] = (),
) -> None:
    """Print rows as a Rich table, or as JSON or CSV (every value a string or number, money as
    decimal strings). `footer` rows are printed after a line in the table and included in the
    JSON and CSV output as ordinary rows."""
    if as_json and as_csv:
        raise UsageError("choose one of --json and --csv")
    everything = [*rows, *footer]
    if as_json:
        rows_out = [{c.key: r.get(c.key, "") for c in cols} for r in everything]
        typer.echo(json.dumps(rows_out, default=_json_value))
        return
    if as_csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([c.key for c in cols])
        for r in everything:
            writer.writerow([r.get(c.key, "") for c in cols])
        typer.echo(buffer.getvalue(), nl=False)
        return
    if not everything:
        out().print(f"{title or 'list'}: nothing to show")
        return
    table = Table(title=title or None, show_lines=False)
    for c in cols:
        widest = max((len(str(r.get(c.key, ""))) for r in everything), default=0)
        table.add_column(
            c.header,
            justify="right" if c.right else "left",
            no_wrap=not c.wrap,
            min_width=min(max(widest, len(c.header)), 16 if c.wrap else 40),
        )
    for i, r in enumerate(everything):
        table.add_row(
            *(str(r.get(c.key, "")) for c in cols),
            end_section=(i == len(rows) - 1 and bool(footer)),
            style="bold" if i >= len(rows) else None,
        )
    out().print(table)


def parse_pairs(values: Sequence[str] | None, what: str, name: str) -> tuple[tuple[str, str], ...]:
    """`A:B` pairs, e.g. --to INV-2026-000001:100.00."""
    pairs = []
    for text in values or ():
        left, sep, right = text.rpartition(":")
        if not sep or not left or not right:
            raise typer.BadParameter(f"{text!r} is not {what}", param_hint=name)
        pairs.append((left.strip(), right.strip()))
    return tuple(pairs)
