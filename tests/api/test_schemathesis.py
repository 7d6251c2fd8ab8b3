"""schemathesis against the running API: every operation of /v1/openapi.json, whatever routes
exist, with data the schema allows and data it forbids, then chains of calls (its stateful
phase, from the links it infers and the Location headers it sees).

`openbill serve` runs in its own process on this pass's database (SQLite, or PostgreSQL when
OPENBILL_TEST_DATABASE_URL is set: both passes of scripts/test.sh run it, because the backends
refuse different things, e.g. PostgreSQL refuses a NUL character in text). The caller is an API
key with every action of ACME, so that each guarded operation is exercised past its guard, and
a manager's session for the operations that need a session (log out).

Checks: all of schemathesis's (no 5xx; status codes, content types, headers and bodies as
documented; schema-violating requests refused; auth enforced; ...) except
positive_data_acceptance (see schemathesis_checks.py), plus openbill's own in
schemathesis_checks.py. Bounded: 8 to 25 cases per operation and phase, a fixed SEED
(OPENBILL_SCHEMATHESIS_SEED and OPENBILL_SCHEMATHESIS_EXAMPLES choose others; the seed is in
the output), so the run takes about two minutes per pass here with the 149 operations.

To run it by hand against a server of your own, see the command in `_schemathesis`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fixtures_book import ENTITY, build_book

from openbill.domain.access import ACTIONS
from openbill.interfaces.api.app import operations
from openbill.usecases import access

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
HERE = Path(__file__).parent
START_TIMEOUT_S = 60
RUN_TIMEOUT_S = 900  # the whole schemathesis run; it takes about two minutes here
# Test cases per operation in each phase: 25, fewer as operations are added (down to 8), so
# that the run stays within a few minutes (about 1,200 generated cases; the coverage phase
# adds its own per operation). The seed is fixed, so that a run is repeatable. Set either to
# explore further (seeds 2 and 3 found the Location header of a non-Latin-1 code).
MAX_EXAMPLES = 25
MIN_EXAMPLES = 8
CASES_BUDGET = 1_200
SEED = int(os.environ.get("OPENBILL_SCHEMATHESIS_SEED", "20261207"))


def examples_per_operation(operations: int) -> int:
    if os.environ.get("OPENBILL_SCHEMATHESIS_EXAMPLES"):
        return int(os.environ["OPENBILL_SCHEMATHESIS_EXAMPLES"])
    return max(MIN_EXAMPLES, min(MAX_EXAMPLES, CASES_BUDGET // max(operations, 1)))


# One worker: with two, hypothesis's ast.parse in threads trips CPython 3.11's "AST constructor
# recursion depth mismatch" (python/cpython#106905) and schemathesis reports a runtime error.
WORKERS = 1
PASSWORD = "correct horse battery staple"
# Left out, with the reason: schema-valid requests that the business rules refuse (unknown
# customer, an amount the currency cannot hold, a charge code without a price) are answered
# 422 naming the field, the documented contract; schemathesis would want 2xx.
# schemathesis_checks.valid_requests_pass_validation checks what matters of it instead.
EXCLUDED_CHECKS = ("positive_data_acceptance",)

CONFIG = """\
# Written by tests/api/test_schemathesis.py for one run.
[parameters]
"path.entity" = "{entity}"

[auth.openapi.apiKey]
bearer = "${{OPENBILL_ST_API_KEY}}"

[auth.openapi.session]
api_key = "${{OPENBILL_ST_SESSION}}"
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, base: str, log: Path, key: str) -> None:
        self.base = base
        self.log = log
        self.key = key  # an API key with every action of ACME

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def session(self) -> str:
        """A manager's session token, logged in over HTTP (by the server's clock)."""
        body = {"username": "manager", "password": PASSWORD}
        reply = httpx.post(f"{self.base}/v1/sessions", json=body, timeout=30)
        assert reply.status_code == 201, reply.text
        return reply.cookies["openbill_session"]


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    """`openbill serve` on a free loopback port, on the test book (tests/fixtures_book.py)
    with an API key that has every action and a manager."""
    book = build_book(db_url)
    try:
        key = access.create_api_key(
            book.uow(), access.CreateApiKey(ENTITY, "schemathesis", ACTIONS, "tests")
        ).token
        access.add_user(
            book.uow(),
            book.hasher,
            access.AddUser("manager", "Manager", "manager", (ENTITY,), PASSWORD),
        )
    finally:
        book.close()
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "OPENBILL_DATABASE_URL": db_url}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(BIN / "openbill"), "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    served = Server(f"http://127.0.0.1:{port}", log, key)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                httpx.get(f"{served.base}/v1/health", timeout=2).raise_for_status()
                break
            except httpx.TransportError:
                assert proc.poll() is None, served.log_tail()
                assert time.monotonic() < deadline, "openbill serve did not start"
                time.sleep(0.2)
        yield served
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _some_records(server: Server, key: str) -> None:
    """Invoices in three currencies and a payment, made through the API, so that the lists
    schemathesis reads hold records whose every field it checks against the schema."""
    auth = {"Authorization": f"Bearer {key}"}
    base = f"{server.base}/v1/entities/{ENTITY}"
    numbers = []
    for customer, code, quantity in (
        ("C1", "WIDGET", "2"),
        ("C3", "BOOK", "3"),
        ("CJP", "WIDGET", "1"),
        ("CKW", "WIDGET", "4"),
    ):
        body = {"customer": customer, "lines": [{"charge_code": code, "quantity": quantity}]}
        reply = httpx.post(f"{base}/invoices", json=body, headers=auth, timeout=30)
        assert reply.status_code == 201, reply.text
        numbers.append(reply.json()["number"])
    # 2 widgets at 12.50 + 19 % VAT = 29.75 (fixtures_book's prices): C1's invoice, paid.
    payment = {"customer": "C1", "amount": "29.75", "reference": numbers[0]}
    reply = httpx.post(f"{base}/payments", json=payment, headers=auth, timeout=30)
    assert reply.status_code == 201, reply.text
    assert reply.json()["invoices"] == [numbers[0]]


def _schemathesis(server: Server, key: str, session: str, folder: Path) -> tuple[int, str, dict]:
    """Run the schemathesis CLI against the server; (exit code, output, JSON report)."""
    config = folder / "schemathesis.toml"
    config.write_text(CONFIG.format(entity=ENTITY))
    report = folder / "report.json"
    command = [
        str(BIN / "st"),
        "--config-file",
        str(config),
        "run",
        f"{server.base}/v1/openapi.json",
        "--checks",
        "all",
        "--exclude-checks",
        ",".join(EXCLUDED_CHECKS),
        "--max-examples",
        str(examples_per_operation(len(list(operations())))),
        "--seed",
        str(SEED),
        "--workers",
        str(WORKERS),
        "--request-timeout",
        "30",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    env = {
        **os.environ,
        "OPENBILL_ST_API_KEY": key,
        "OPENBILL_ST_SESSION": session,
        "SCHEMATHESIS_HOOKS": str(HERE / "schemathesis_checks.py"),
    }
    # In its own folder: schemathesis keeps its example database and reports in the cwd.
    done = subprocess.run(
        command,
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    output = done.stdout + done.stderr
    (folder / "output.txt").write_text(output)
    data = json.loads(report.read_text()) if report.exists() else {}
    return done.returncode, output, data


def _failures(output: str) -> str:
    """The FAILURES and ERRORS sections of schemathesis's output, and its summary."""
    start = min(
        (i for i in (output.find("=== ERRORS"), output.find("=== FAILURES")) if i >= 0),
        default=0,
    )
    return output[max(0, start - 200) :]


def test_every_operation_keeps_to_its_schema(server, tmp_path):
    _some_records(server, server.key)
    folder = tmp_path / "schemathesis"
    folder.mkdir()

    rc, output, report = _schemathesis(server, server.key, server.session(), folder)

    assert report, f"schemathesis wrote no report (exit {rc}):\n{output[-4000:]}"
    detail = f"{_failures(output)[-20000:]}\n--- openbill serve ---\n{server.log_tail()}"
    assert report["failures"] == [] and report["errors"] == [], detail
    assert rc == 0, detail
    # Every operation of the schema was tested: what the app defines, nothing filtered out.
    expected = len(list(operations()))
    tested = report["operations"]
    assert (tested["total"], tested["selected"], tested["tested"]) == (expected,) * 3, tested
    assert report["complete"] and report["stop_reason"] == "completed", report
    # ... through every phase, with data the schema allows and data it forbids.
    assert {name for name, phase in report["phases"].items() if phase["status"] == "success"} == {
        "examples",
        "coverage",
        "fuzzing",
        "stateful",
    }, report["phases"]


def test_fewer_examples_per_operation_as_operations_are_added(monkeypatch):
    monkeypatch.delenv("OPENBILL_SCHEMATHESIS_EXAMPLES", raising=False)
    # 1,200 // 14 = 85 -> 25 at most; 1,200 // 80 = 15; 1,200 // 200 = 6 -> 8 at least.
    assert [examples_per_operation(n) for n in (14, 80, 200)] == [25, 15, 8]
