"""`openbill keys`: the data keys that seal bank accounts, tax numbers and secrets at rest
(docs/security.md).

    keys generate            a new key, alone on stdout, for OPENBILL_DATA_KEYS
    keys generate --into-key-file   the same, put first in a SQLite book's key file
    keys status              values per key id, plain values left, blind indexes to remake
    keys rotate              re-seal everything under the first key, in batches

A secret is printed only by `keys generate` without --into-key-file, and only on stdout.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from openbill.adapters.crypto import KEYS_ENV, add_to_key_file, generate_key, parse_keys
from openbill.adapters.sql import rotation
from openbill.bootstrap import Book
from openbill.domain.sensitive import SensitiveField
from openbill.interfaces.cli._common import (
    Col,
    DbOption,
    JsonOption,
    UsageError,
    emit,
    err,
    handle,
    opened,
    out,
)
from openbill.usecases import data_keys

__all__ = ["keys_app"]

keys_app = typer.Typer(
    help="Data keys: bank accounts, tax numbers and secrets are sealed at rest with them.",
    no_args_is_help=True,
)


def _origin(book: Book) -> str:
    if book.keys.origin == "key file":
        return f"the key file {book.keys.path}"
    if book.keys.origin == "environment":
        return KEYS_ENV
    return "a key in memory (this database lives in memory)"


@keys_app.command("generate")
@handle
def generate(
    db: DbOption = None,
    into_key_file: Annotated[
        bool,
        typer.Option(
            "--into-key-file",
            help="put the new key first in the book's key file (SQLite books without "
            f"{KEYS_ENV}) instead of printing it",
        ),
    ] = False,
) -> None:
    """A new data key. Put it first, keep the old ones after it, then run `keys rotate`."""
    key = generate_key()
    key_id = parse_keys(key, "the new key").primary
    if not into_key_file:
        typer.echo(key)
        err().print(
            f"a new data key, id {key_id}. Put it FIRST in {KEYS_ENV} (ID:SECRET entries "
            "separated by commas), keep the old keys after it, give the new list to every "
            "openbill process of the book, then run `openbill keys rotate`.\n"
            "Keep it secret: it opens the book's bank accounts, tax numbers and secrets.",
            markup=False,
        )
        return
    with opened(db) as book:
        if book.keys.origin != "key file" or book.keys.path is None:
            raise UsageError(
                f"this book's keys come from {_origin(book)}: put the new key first there "
                "(run `openbill keys generate` without --into-key-file)"
            )
        add_to_key_file(book.keys.path, key)
        out().print(
            f"put the new data key {key_id} first in {book.keys.path}; "
            "now run `openbill keys rotate`",
            markup=False,
        )


@keys_app.command("status")
@handle
def status(db: DbOption = None, as_json: JsonOption = False) -> None:
    """How many values each key holds, what is still plain text, what a rotation would do."""
    with opened(db) as book:
        found = rotation.status(book.engine, book.ring)
        keys = _key_rows(found)
        fields = [_field_row(s) for s in found.fields if s.present]
        if as_json:
            import json

            typer.echo(
                json.dumps(
                    {
                        "first_key": found.primary,
                        "keys_from": book.keys.origin,
                        "keys": keys,
                        "fields": fields,
                        "plain": found.plain,
                        "stale_indexes": found.stale_indexes,
                        "to_do": found.to_do,
                    }
                )
            )
            return
        out().print(f"data keys from {_origin(book)}", markup=False)
        emit(
            keys,
            [
                Col("key", "key"),
                Col("role", "role"),
                Col("values", "values", right=True),
                Col("note", "note", wrap=True),
            ],
            title="data keys",
        )
        emit(
            fields,
            [
                Col("field", "field"),
                Col("sealed", "sealed", right=True),
                Col("by_key", "by key"),
                Col("plain", "plain", right=True),
                Col("stale_indexes", "indexes to remake", right=True),
                Col("to_do", "rows to rotate", right=True),
            ],
            title="sensitive fields",
        )
        for line in _advice(found):
            out().print(line, markup=False)


def _key_rows(found: rotation.KeyStatus) -> list[dict[str, Any]]:
    rows = []
    for key_id, n in found.by_key().items():
        if key_id == found.primary:
            role, note = "seals and opens", "the first key: new values are sealed under it"
        elif key_id in found.ring:
            role = "opens"
            note = (
                f"holds {n} value(s): keep it until `keys rotate` has moved them"
                if n
                else "holds no value: it may leave the list (keep it while backups sealed "
                "under it are kept)"
            )
        else:
            role, note = "MISSING", f"{n} value(s) under it cannot be opened: add the key back"
        rows.append({"key": key_id, "role": role, "values": n, "note": note})
    return rows


def _field_row(state: rotation.FieldState) -> dict[str, Any]:
    return {
        "field": state.field.name,
        "sealed": sum(state.by_key.values()),
        "by_key": ", ".join(f"{k}: {n}" for k, n in sorted(state.by_key.items())),
        "plain": state.plain,
        "stale_indexes": state.stale_indexes if state.field.indexed else "",
        "to_do": state.to_do,
    }


def _advice(found: rotation.KeyStatus) -> list[str]:
    lines = []
    if found.unknown:
        lines.append(
            f"values under {', '.join(found.unknown)} cannot be opened: add those keys to "
            f"{KEYS_ENV} (or the key file) after the first one"
        )
    if found.to_do:
        lines.append(
            f"{found.to_do} row(s) are not sealed and indexed under {found.primary} yet "
            f"({found.plain} plain value(s)): run `openbill keys rotate`"
        )
    else:
        lines.append(f"every value is sealed under {found.primary}")
    return lines


@keys_app.command("rotate")
@handle
def rotate(
    db: DbOption = None,
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size",
            min=1,
            max=rotation.BATCH_MAX,
            help="rows re-sealed per transaction",
        ),
    ] = rotation.BATCH_DEFAULT,
) -> None:
    """Re-seal every value under the first key and remake blind indexes made under another,
    in batches, each its own transaction. Interrupted, run it again: it goes on."""
    with opened(db) as book:
        before = rotation.status(book.engine, book.ring)
        if before.unknown:
            raise UsageError(
                f"values are sealed under {', '.join(before.unknown)}, which {_origin(book)} "
                "lacks: add those keys after the first one and run `keys rotate` again"
            )
        if not before.to_do:
            out().print(f"nothing to rotate: every value is sealed under {before.primary}")
            return
        with Progress(
            TextColumn("[bold]re-sealing {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err(),
        ) as bar:
            task = bar.add_task("values", total=before.to_do)

            def moved(field: SensitiveField, rows: int) -> None:
                bar.update(task, advance=rows, description=field.name)

            done = rotation.rotate(book.engine, book.ring, batch_size, moved)
        data_keys.record_rotation(
            book.uow(),
            data_keys.KeysRotated(
                done.key_id, done.values_resealed, done.indexes_remade, done.batches, done.complete
            ),
        )
        after = rotation.status(book.engine, book.ring)
        out().print(
            f"re-sealed {done.values_resealed} value(s) under {done.key_id} and remade "
            f"{done.indexes_remade} blind index(es), in {done.batches} batch(es) of at most "
            f"{batch_size} rows",
            markup=False,
        )
        for row in _key_rows(after):
            if row["key"] != after.primary:
                out().print(f"key {row['key']}: {row['note']}", markup=False)
        for line in _advice(after):
            out().print(line, markup=False)
