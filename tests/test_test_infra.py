"""The test infrastructure itself: database fixtures, skip-or-fail rules, the runner scripts."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings

try:
    from conftest import (
        CORPORA_ENV,
        PG_SERVER_ENV,
        PG_URL_ENV,
        REPO_ROOT,
        Missing,
        corpora_dir,
        fresh_pg_database,
        missing_corpora,
        missing_pg_server,
    )
except ImportError:  # tests/ became a package
    from tests.conftest import (  # type: ignore[no-redef]
        CORPORA_ENV,
        PG_SERVER_ENV,
        PG_URL_ENV,
        REPO_ROOT,
        Missing,
        corpora_dir,
        fresh_pg_database,
        missing_corpora,
        missing_pg_server,
    )

PG_SERVER_SCRIPT = REPO_ROOT / "scripts" / "pg-test-server.sh"
TEST_SCRIPT = REPO_ROOT / "scripts" / "test.sh"


def _conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _user_relations(url: str) -> list[str]:
    with psycopg.connect(_conninfo(url)) as conn:
        rows = conn.execute(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
            " AND n.nspname NOT LIKE 'pg_toast%'"
        ).fetchall()
    return [r[0] for r in rows]


def _database_exists(server_url: str, name: str) -> bool:
    with psycopg.connect(_conninfo(server_url)) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


def _server_or_give_up() -> str:
    missing = missing_pg_server()
    if missing:
        missing.act()
    return os.environ.get(PG_URL_ENV) or os.environ[PG_SERVER_ENV]


# --- the database fixtures -------------------------------------------------------------------

_seen_databases: set[str] = set()


def test_database_backend_follows_the_environment(database_backend: str) -> None:
    expected = "postgresql" if os.environ.get(PG_URL_ENV) else "sqlite"
    assert database_backend == expected


@pytest.mark.parametrize("round_", [1, 2])
def test_db_url_is_a_new_empty_database_per_test(
    db_url: str, database_backend: str, tmp_path: Path, round_: int
) -> None:
    if database_backend == "sqlite":
        assert db_url == f"sqlite:///{tmp_path}/book.db"
        assert not (tmp_path / "book.db").exists()
        name = db_url
    else:
        assert db_url.startswith("postgresql+psycopg://")
        name = db_url.rsplit("/", 1)[1]
        assert name.startswith("openbill_t_")
        with psycopg.connect(_conninfo(db_url)) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (name,)
        assert _user_relations(db_url) == []
    assert name not in _seen_databases
    _seen_databases.add(name)


@pytest.mark.parametrize("round_", [1, 2])
def test_pg_url_is_a_new_empty_postgresql_database(
    pg_url: str, request: pytest.FixtureRequest, round_: int
) -> None:
    name = pg_url.rsplit("/", 1)[1]
    assert name.startswith("openbill_t_")
    assert _user_relations(pg_url) == []
    with psycopg.connect(_conninfo(pg_url)) as conn:
        conn.execute("CREATE TABLE scratch (id integer)")  # it is ours to change
    assert name not in _seen_databases
    _seen_databases.add(name)
    assert request.node.get_closest_marker("postgres") is not None


def test_fresh_pg_database_is_dropped_afterwards() -> None:
    server = _server_or_give_up()
    with fresh_pg_database(server) as url:
        name = url.rsplit("/", 1)[1]
        # An open connection must not keep the database alive (DROP ... WITH (FORCE)).
        lingering = psycopg.connect(_conninfo(url))
        assert _database_exists(server, name)
    assert not _database_exists(server, name)
    lingering.close()


# --- skip or fail ----------------------------------------------------------------------------


def test_missing_postgresql_fails_in_ci() -> None:
    missing = missing_pg_server({"CI": "true"})
    assert missing == Missing(
        fail=True, reason="PostgreSQL tests must run in CI: OPENBILL_TEST_DATABASE_URL is not set"
    )


def test_missing_postgresql_skips_elsewhere_and_says_how_to_fix_it() -> None:
    for env in ({}, {"CI": "false"}, {"CI": ""}):
        missing = missing_pg_server(env)
        assert missing is not None and not missing.fail
        assert "OPENBILL_TEST_DATABASE_URL=postgresql+psycopg://" in missing.reason
        assert "DEVELOPERS.md" in missing.reason


def test_a_configured_server_is_not_missing() -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    assert missing_pg_server({"CI": "true", PG_URL_ENV: url}) is None
    assert missing_pg_server({"CI": "true", PG_SERVER_ENV: url}) is None


def test_missing_acts_with_pytest_fail_or_skip() -> None:
    with pytest.raises(pytest.fail.Exception, match="needed"):
        Missing(fail=True, reason="needed").act()
    with pytest.raises(pytest.skip.Exception, match="absent"):
        Missing(fail=False, reason="absent").act()


def test_corpora_are_expected_beside_the_checkout(tmp_path: Path) -> None:
    assert corpora_dir({}) == REPO_ROOT.parent / "shared" / "corpora"
    assert corpora_dir({CORPORA_ENV: str(tmp_path)}) == tmp_path
    assert missing_corpora({CORPORA_ENV: str(tmp_path), "CI": "true"}) is None


def test_missing_corpora_fail_in_ci_and_skip_elsewhere(tmp_path: Path) -> None:
    absent = tmp_path / "nowhere"
    in_ci = missing_corpora({CORPORA_ENV: str(absent), "CI": "true"})
    elsewhere = missing_corpora({CORPORA_ENV: str(absent)})
    assert in_ci is not None and in_ci.fail
    assert elsewhere is not None and not elsewhere.fail
    assert str(absent) in in_ci.reason and str(absent) in elsewhere.reason


def test_hypothesis_profile_follows_ci() -> None:
    current = settings()
    assert current.deadline is None
    ci = os.environ.get("CI", "").lower() in ("true", "1")
    assert current.max_examples == (100 if ci else 50)


# --- the runner scripts ----------------------------------------------------------------------


def _fake_pytest(tmp_path: Path, exit_codes: list[int]) -> Path:
    """A stand-in for pytest that logs its environment and exits with the next code given."""
    fake = tmp_path / "fake-pytest"
    log = tmp_path / "calls.log"
    codes = " ".join(str(c) for c in exit_codes)
    fake.write_text(
        "#!/usr/bin/env bash\n"
        f"codes=({codes})\n"
        f'n=$(wc -l < "{log}" 2>/dev/null || echo 0)\n'
        f'echo "url=${{{PG_URL_ENV}:-}} server=${{{PG_SERVER_ENV}:-}} args=$*" >> "{log}"\n'
        'exit "${codes[$n]}"\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return fake


def _run_test_sh(
    fake: Path, url: str | None, *args: str, workers: str | None = None
) -> subprocess.CompletedProcess[str]:
    unset = (PG_URL_ENV, PG_SERVER_ENV, "OPENBILL_TEST_WORKERS")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env["OPENBILL_PYTEST"] = str(fake)
    if workers is not None:
        env["OPENBILL_TEST_WORKERS"] = workers
    if url is not None:
        env[PG_URL_ENV] = url
    return subprocess.run(
        ["bash", str(TEST_SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_test_sh_runs_sqlite_then_postgresql(tmp_path: Path) -> None:
    url = "postgresql+psycopg://postgres:secret@127.0.0.1:5432/postgres"
    result = _run_test_sh(_fake_pytest(tmp_path, [0, 0]), url)
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls == [f"url= server={url} args=-q -n auto", f"url={url} server= args=-q -n auto"]
    assert "== suite on SQLite ==" in result.stdout
    assert "== suite on PostgreSQL (postgresql+psycopg://postgres@127.0.0.1:5432/postgres) ==" in (
        result.stdout
    )
    assert "secret" not in result.stdout + result.stderr


def test_test_sh_without_a_server_runs_sqlite_only(tmp_path: Path) -> None:
    result = _run_test_sh(_fake_pytest(tmp_path, [0]), None)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "calls.log").read_text().splitlines() == ["url= server= args=-q -n auto"]


def test_test_sh_takes_the_number_of_workers_and_passes_extra_arguments_on(tmp_path: Path) -> None:
    result = _run_test_sh(_fake_pytest(tmp_path, [0]), None, "-m", "not slow", workers="1")
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls == ["url= server= args=-q -n 1 -m not slow"]


@pytest.mark.parametrize(("codes", "failed"), [([1, 0], "SQLite"), ([0, 5], "PostgreSQL")])
def test_test_sh_fails_when_a_pass_fails_or_collects_nothing(
    tmp_path: Path, codes: list[int], failed: str
) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    result = _run_test_sh(_fake_pytest(tmp_path, codes), url)
    assert result.returncode != 0
    assert len((tmp_path / "calls.log").read_text().splitlines()) == 2  # both passes ran
    assert f"== FAILED: suite on {failed}" in result.stderr


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_pg_test_server_starts_and_removes_a_throwaway_cluster(tmp_path: Path) -> None:
    if not (shutil.which("pg_config") or list(Path("/usr/lib/postgresql").glob("*/bin/initdb"))):
        pytest.skip("PostgreSQL server binaries (initdb) are not installed")
    state = tmp_path / "state"
    env = dict(os.environ, PG_TEST_PORT=str(_unused_port()), PG_TEST_SERVER_STATE=str(state))
    started = subprocess.run(
        ["bash", str(PG_SERVER_SCRIPT)], env=env, capture_output=True, text=True, timeout=120
    )
    folder = Path(state.read_text().strip()) if state.exists() else None
    try:
        assert started.returncode == 0, started.stderr
        url = started.stdout.strip()
        assert url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
        assert folder is not None and folder.is_dir()
        with psycopg.connect(_conninfo(url)) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        stopped = subprocess.run(
            ["bash", str(PG_SERVER_SCRIPT), "stop", str(state)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert stopped.returncode == 0, stopped.stderr
    assert folder is not None and not folder.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(_conninfo(url), connect_timeout=2)
