"""Engines for SQLite and PostgreSQL, and the migration runner.

SQLite: WAL journal, foreign keys on, a busy timeout, and BEGIN IMMEDIATE for every write
transaction, so that concurrent writers queue on the database lock instead of failing when a
read lock cannot be upgraded. PostgreSQL: psycopg 3, READ COMMITTED; the use cases take row
locks (number series, chain heads) where order matters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

from openbill.adapters.sql.raw import flush_before_statement

__all__ = ["normalize_url", "make_engine", "migrate", "READ_ONLY"]

READ_ONLY = "openbill_read_only"
SQLITE_BUSY_TIMEOUT_MS = 60_000


def normalize_url(path_or_url: str) -> str:
    """A database URL from what a user typed: a URL, or a path to a SQLite file."""
    text = path_or_url.strip()
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser().resolve()}"
    if text.startswith("postgresql://") or text.startswith("postgres://"):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


def make_engine(path_or_url: str, **kwargs: Any) -> Engine:
    url = normalize_url(path_or_url)
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "before_cursor_execute", flush_before_statement)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN itself (pysqlite's own handling would
        # start transactions lazily and in deferred mode).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema to `revision` with Alembic (idempotent)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
