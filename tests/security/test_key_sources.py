"""Where a book's data keys come from (adapters/crypto.keys_for, bootstrap.open_book): the
environment first; a key file beside a local SQLite book, made with mode 0600 on first use and
announced once by the CLI; PostgreSQL without the variable refused with a message naming it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from openbill.adapters.crypto import (
    KEYS_ENV,
    KeyConfigError,
    UnknownDataKey,
    generate_key,
    key_file_for,
    keys_for,
)
from openbill.bootstrap import open_book
from openbill.interfaces.cli.main import app
from openbill.usecases import masterdata as md

IBAN = "DE89370400440532013000"
CLI_ENV = {"COLUMNS": "200", "OPENBILL_ACTOR": "tests"}


@pytest.fixture(autouse=True)
def _no_keys_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEYS_ENV, raising=False)
    monkeypatch.delenv("OPENBILL_DATABASE_URL", raising=False)
    monkeypatch.delenv("OPENBILL_ENTITY", raising=False)


def _entity(book, iban: str = IBAN) -> None:
    md.create_entity(book.uow(), md.CreateEntity("ACME", "Acme GmbH", "DE", "EUR", iban=iban))


def test_a_sqlite_book_gets_a_key_file_with_mode_0600(tmp_path: Path) -> None:
    db = tmp_path / "book.db"
    book = open_book(str(db))
    try:
        assert book.keys.origin == "key file" and book.keys.created
        assert book.keys.path == tmp_path / "book.db.keys"
        assert stat.S_IMODE(os.stat(book.keys.path).st_mode) == 0o600
        lines = [ln for ln in book.keys.path.read_text().splitlines() if not ln.startswith("#")]
        assert len(lines) == 1 and lines[0].split(":")[0] == book.ring.primary
    finally:
        book.close()
    again = open_book(str(db))
    try:
        assert not again.keys.created and again.ring.ids == book.ring.ids
    finally:
        again.close()


def test_the_cli_says_once_that_it_made_the_key_file(tmp_path: Path) -> None:
    db = str(tmp_path / "book.db")
    runner = CliRunner()
    first = runner.invoke(app, ["customers", "list", "--db", db, "--entity", "X"], env=CLI_ENV)
    assert f"made the data key file {db}.keys (mode 0600)" in first.stderr
    second = runner.invoke(app, ["customers", "list", "--db", db, "--entity", "X"], env=CLI_ENV)
    assert "data key file" not in second.stderr
    assert "data key file" not in first.stdout  # stdout stays clean for pipes


def test_keys_from_the_environment_win_and_make_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = generate_key()
    monkeypatch.setenv(KEYS_ENV, key)
    book = open_book(str(tmp_path / "book.db"))
    try:
        assert book.keys.origin == "environment" and book.ring.primary == key.split(":")[0]
        assert not key_file_for(str(tmp_path / "book.db")).exists()
    finally:
        book.close()


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "book.db"
    open_book(str(db)).close()
    key_file_for(str(db)).chmod(0o640)
    with pytest.raises(KeyConfigError, match=r"can be read by others \(mode 0640\).*chmod 600"):
        open_book(str(db))


def test_a_lost_key_file_is_not_silently_replaced(tmp_path: Path) -> None:
    db = tmp_path / "book.db"
    book = open_book(str(db))
    lost = book.ring.primary
    _entity(book)
    book.close()
    key_file_for(str(db)).unlink()
    with pytest.raises(KeyConfigError, match=f"sealed under data key\\(s\\) {lost}.*restore"):
        open_book(str(db))
    assert not key_file_for(str(db)).exists()  # the new file, with a useless key, went again


def test_a_value_under_a_key_not_given_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "book.db")
    old = generate_key()
    monkeypatch.setenv(KEYS_ENV, old)
    book = open_book(db)
    _entity(book)
    book.close()
    monkeypatch.setenv(KEYS_ENV, generate_key())
    book = open_book(db)
    try:
        with pytest.raises(UnknownDataKey) as caught, book.uow(read_only=True) as uow:
            uow.entities.by_code("ACME")
        assert f"'{old.split(':')[0]}'" in str(caught.value)
        assert IBAN not in str(caught.value)
    finally:
        book.close()
    result = CliRunner().invoke(app, ["entities", "list", "--db", db], env=CLI_ENV)
    assert result.exit_code == 1
    assert "is sealed under data key" in result.stderr and "Traceback" not in result.output


def test_an_in_memory_database_gets_a_key_of_its_own() -> None:
    source = keys_for("sqlite", None, "")
    assert source.origin == "memory" and source.path is None
    assert keys_for("sqlite", ":memory:", "").ring.primary != source.ring.primary


def test_postgresql_without_the_variable_is_refused() -> None:
    with pytest.raises(KeyConfigError, match=f"{KEYS_ENV} is not set: a postgresql book"):
        keys_for("postgresql", "openbill", "")


def test_a_postgresql_book_without_the_variable_is_refused(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEYS_ENV, raising=False)  # the pg_url fixture gives one
    with pytest.raises(KeyConfigError, match=f"{KEYS_ENV} is not set"):
        open_book(pg_url)
    result = CliRunner().invoke(app, ["entities", "list", "--db", pg_url], env=CLI_ENV)
    assert result.exit_code == 1
    assert f"error: {KEYS_ENV} is not set" in result.stderr
    # refused before anything was written: not even the schema
    from sqlalchemy import create_engine

    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            tables = conn.execute(
                text("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'")
            ).scalar_one()
        assert tables == 0
    finally:
        engine.dispose()


def test_a_postgresql_book_with_the_variable_opens(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEYS_ENV, generate_key())
    book = open_book(pg_url)
    try:
        _entity(book)
        with book.uow(read_only=True) as uow:
            assert uow.entities.by_code("ACME").iban == IBAN
    finally:
        book.close()


def test_books_opened_at_the_same_moment_share_one_new_key_file(tmp_path: Path) -> None:
    """Four threads open each new book at once: one makes the key file, all read that one
    (never a half-written file, never two keys)."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    for n in range(20):
        db = str(tmp_path / f"book{n}.db")
        start = Barrier(4)

        def source(_: int, db: str = db, start: Barrier = start) -> tuple[str, bool]:
            start.wait()
            found = keys_for("sqlite", db, "")
            return found.ring.primary, found.created

        with ThreadPoolExecutor(4) as pool:
            seen = list(pool.map(source, range(4)))
        assert len({key for key, _ in seen}) == 1
        assert sum(created for _, created in seen) == 1
        made = sorted(p.name for p in tmp_path.iterdir() if f"book{n}.db" in p.name)
        assert made == [f"book{n}.db.keys"]  # no temporary file left behind
