"""`openbill keys generate|status|rotate` (interfaces/cli/keys_cmds.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from openbill.adapters.crypto import KEYS_ENV, key_file_for, parse_keys
from openbill.bootstrap import open_book
from openbill.interfaces.cli.main import app
from openbill.usecases import masterdata as md

ENV = {"COLUMNS": "200", "OPENBILL_ACTOR": "tests"}


def run(*args: str, code: int = 0, env: dict[str, str] | None = None):
    result = CliRunner().invoke(app, list(args), env={**ENV, **(env or {})})
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


@pytest.fixture
def sqlite_book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite book with its key file and two sealed values (the entity's IBAN and tax
    number)."""
    monkeypatch.delenv(KEYS_ENV, raising=False)
    monkeypatch.delenv("OPENBILL_ENTITY", raising=False)
    db = str(tmp_path / "book.db")
    book = open_book(db)
    md.create_entity(
        book.uow(),
        md.CreateEntity(
            "ACME", "Acme", "DE", "EUR", iban="DE89370400440532013000", tax_number="181/815/08155"
        ),
    )
    book.close()
    return db


def test_generate_prints_the_key_alone_on_stdout() -> None:
    result = run("keys", "generate")
    line = result.stdout.strip()
    assert "\n" not in line
    ring = parse_keys(line)
    assert ring.primary == line.split(":")[0]
    assert f"Put it FIRST in {KEYS_ENV}" in result.stderr and line not in result.stderr


def test_rotate_a_sqlite_book_step_by_step(sqlite_book: str) -> None:
    old = parse_keys(key_file_for(sqlite_book).read_text()).primary
    added = run("keys", "generate", "--into-key-file", "--db", sqlite_book).stdout
    ring = parse_keys(key_file_for(sqlite_book).read_text())
    new = ring.primary
    assert ring.ids == (new, old) and new != old
    assert f"put the new data key {new} first" in added
    assert ring.keys[0].secret.hex() not in added

    before = json.loads(run("keys", "status", "--json", "--db", sqlite_book).stdout)
    assert {k["key"]: k["values"] for k in before["keys"]} == {new: 0, old: 2}
    assert before["to_do"] == 2 and before["plain"] == 0

    rotated = run("keys", "rotate", "--batch-size", "1", "--db", sqlite_book).stdout
    assert f"re-sealed 2 value(s) under {new}" in rotated
    assert "in 2 batch(es) of at most 1 rows" in rotated
    assert f"key {old}: holds no value: it may leave the list" in rotated
    assert f"every value is sealed under {new}" in rotated

    after = json.loads(run("keys", "status", "--json", "--db", sqlite_book).stdout)
    assert {k["key"]: k["values"] for k in after["keys"]} == {new: 2, old: 0}
    assert after["to_do"] == 0
    assert "nothing to rotate" in run("keys", "rotate", "--db", sqlite_book).stdout

    book = open_book(sqlite_book)
    try:
        with book.engine.connect() as conn:
            event = conn.execute(
                text("SELECT record_id, after FROM audit_events WHERE action = 'data_keys_rotated'")
            ).one()
        assert event[0] == new
        assert json.loads(event[1]) == {
            "key_id": new,
            "values_resealed": 2,
            "indexes_remade": 0,
            "batches": 2,
            "complete": True,
        }
        with book.uow(read_only=True) as uow:
            entity = uow.entities.by_code("ACME")
        assert (entity.iban, entity.tax_number) == ("DE89370400440532013000", "18181508155")
    finally:
        book.close()


def test_status_names_a_missing_key_and_rotate_refuses(
    sqlite_book: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = parse_keys(key_file_for(sqlite_book).read_text()).primary
    other = run("keys", "generate").stdout.strip()
    monkeypatch.setenv(KEYS_ENV, other)  # the environment wins; it lacks the file's key
    shown = run("keys", "status", "--db", sqlite_book).stdout
    assert "MISSING" in shown and f"values under {old} cannot be opened" in shown
    refused = run("keys", "rotate", "--db", sqlite_book, code=2)
    assert f"values are sealed under {old}" in refused.stderr
    into = run("keys", "generate", "--into-key-file", "--db", sqlite_book, code=2)
    assert f"come from {KEYS_ENV}" in into.stderr
