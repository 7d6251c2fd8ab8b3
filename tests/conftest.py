"""Fixtures every test may use: the database under test, PostgreSQL scratch databases, corpora.

The suite runs twice (scripts/test.sh): on SQLite, and on PostgreSQL when
OPENBILL_TEST_DATABASE_URL names a server. `db_url` follows the run; `pg_url` is always
PostgreSQL. Resources that are missing make a test fail in CI (CI=true) and skip elsewhere,
with a message that says how to provide them (DEVELOPERS.md).
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest
from hypothesis import settings

REPO_ROOT = Path(__file__).resolve().parent.parent
PG_URL_ENV = "OPENBILL_TEST_DATABASE_URL"
# Set by scripts/test.sh during the SQLite pass, so that `pg_url` still finds the server.
PG_SERVER_ENV = "OPENBILL_TEST_PG_SERVER_URL"
CORPORA_ENV = "OPENBILL_CORPORA"
PG_CONNECT_TIMEOUT_S = 10
# A PostgreSQL book needs data keys from the environment (docs/security.md); the test
# databases get this one, made for the session, unless the caller set their own.
DATA_KEYS_ENV = "OPENBILL_DATA_KEYS"
_TEST_DATA_KEYS = f"ktest:{base64.b64encode(secrets.token_bytes(32)).decode()}"

settings.register_profile("ci", deadline=None, derandomize=False, max_examples=100)
settings.register_profile("dev", deadline=None, max_examples=50)


def in_ci(env: Mapping[str, str] = os.environ) -> bool:
    return env.get("CI", "").strip().lower() in ("true", "1")


settings.load_profile("ci" if in_ci() else "dev")

# The lead's book fixtures live in tests/fixtures_book.py; load them once that file exists.
_FIXTURES_BOOK = Path(__file__).with_name("fixtures_book.py")
_PACKAGE = __name__.rpartition(".")[0]
pytest_plugins = (
    [f"{_PACKAGE}.fixtures_book" if _PACKAGE else "fixtures_book"]
    if _FIXTURES_BOOK.exists()
    else []
)


@dataclass(frozen=True, slots=True)
class Missing:
    """A resource a test needs is absent: fail (in CI) or skip (elsewhere), saying why."""

    fail: bool
    reason: str

    def act(self) -> NoReturn:
        if self.fail:
            pytest.fail(self.reason, pytrace=False)
        pytest.skip(self.reason)


def pg_server_url(env: Mapping[str, str] = os.environ) -> str | None:
    return env.get(PG_URL_ENV) or env.get(PG_SERVER_ENV) or None


def missing_pg_server(env: Mapping[str, str] = os.environ) -> Missing | None:
    if pg_server_url(env):
        return None
    if in_ci(env):
        return Missing(True, f"PostgreSQL tests must run in CI: {PG_URL_ENV} is not set")
    return Missing(
        False,
        f"PostgreSQL not configured: set {PG_URL_ENV}="
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres (see DEVELOPERS.md) "
        "to run these tests",
    )


def corpora_dir(env: Mapping[str, str] = os.environ) -> Path:
    """Where the conformance corpora are expected: $OPENBILL_CORPORA or ../shared/corpora."""
    return (
        Path(env[CORPORA_ENV]) if env.get(CORPORA_ENV) else REPO_ROOT.parent / "shared" / "corpora"
    )


def missing_corpora(env: Mapping[str, str] = os.environ) -> Missing | None:
    where = corpora_dir(env)
    if where.is_dir():
        return None
    reason = (
        f"conformance corpora not found at {where} "
        f"(expected ../shared/corpora beside the checkout, or set {CORPORA_ENV})"
    )
    return Missing(in_ci(env), reason)


def _psycopg_conninfo(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_pg_database(server_url: str) -> Iterator[str]:
    """Create an empty database on the server, yield its SQLAlchemy URL, then drop it."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    name = f"openbill_t_{secrets.token_hex(6)}"
    admin = _psycopg_conninfo(server_url)
    with psycopg.connect(admin, autocommit=True, connect_timeout=PG_CONNECT_TIMEOUT_S) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    given_keys = os.environ.get(DATA_KEYS_ENV)
    if not given_keys:
        os.environ[DATA_KEYS_ENV] = _TEST_DATA_KEYS
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        if not given_keys:
            os.environ.pop(DATA_KEYS_ENV, None)
        with psycopg.connect(admin, autocommit=True, connect_timeout=PG_CONNECT_TIMEOUT_S) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def database_backend() -> str:
    """The backend of this run: "postgresql" when OPENBILL_TEST_DATABASE_URL is set."""
    return "postgresql" if os.environ.get(PG_URL_ENV) else "sqlite"


@pytest.fixture
def db_url(database_backend: str, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of this run's backend, for one test."""
    if database_backend == "sqlite":
        yield f"sqlite:///{tmp_path}/book.db"
        return
    with fresh_pg_database(os.environ[PG_URL_ENV]) as url:
        yield url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A new, empty PostgreSQL database, whatever this run's backend."""
    missing = missing_pg_server()
    if missing:
        missing.act()
    server = pg_server_url()
    assert server is not None
    with fresh_pg_database(server) as url:
        yield url


@pytest.fixture(scope="session")
def corpora() -> Path:
    """The conformance corpora folder (DESIGN.md section 5)."""
    missing = missing_corpora()
    if missing:
        missing.act()
    return corpora_dir()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A test that asks for pg_url needs PostgreSQL: mark it so `-m "not postgres"` leaves it out.
    for item in items:
        if "pg_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
