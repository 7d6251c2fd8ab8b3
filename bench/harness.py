"""The benchmark harness: issue N invoices, on SQLite and PostgreSQL, beside the floor and peers
(issue #2); prepare and verify N deliveries, and render documents, each beside its floor
(issue #3).

Run it with ``make bench`` or ``.venv/bin/python -m bench --help``. Every job runs in a fresh
interpreter against a database made for it alone (a new SQLite file under bench/.work/, a new
PostgreSQL database ``bench_<job>_<pid>``), which is removed afterwards.

Outputs (see bench/README.md): a table on the terminal, docs/benchmarks.md (the part between
the results markers), bench/results/latest.json and a line appended to
bench/results/history.jsonl.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from bench import peers
from bench.jobs import GROSS, JOB_MODULES

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work"
RESULTS = ROOT / "bench" / "results"
LATEST = RESULTS / "latest.json"
HISTORY = RESULTS / "history.jsonl"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"

BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
UNIT = "invoices/s"

# Invoices per run. Peers issue ~20-50 invoices/s, so they get a smaller N: rates compare.
N_FULL = {
    ("ours", "sqlite"): 5000,
    ("ours", "postgresql"): 2000,
    ("peer", "sqlite"): 300,
    ("peer", "postgresql"): 300,
}
N_QUICK = {key: (200 if key[0] == "ours" else 30) for key in N_FULL}
JOB_TIMEOUT_S = 3600


@dataclass(frozen=True)
class Group:
    """A measurement of issue #3: its jobs (bench.jobs modules), the first one the floor."""

    name: str  # the first part of a row's key: "prepare_verify", "render_pdf", ...
    title: str
    unit: str
    jobs: tuple[tuple[str, str], ...]  # (job name, module), the floor first
    n_full: dict[str, int]  # per backend; a backend not here is not run
    n_quick: int
    # One run of the (common) module measures every job of the group at once, and returns
    # each job's seconds, N and check (the API: every operation against one server).
    shared: bool = False


GROUPS = {
    g.name: g
    for g in (
        Group(
            "prepare_verify",
            "prepare + verify",
            "deliveries/s",
            (("floor", "bench.jobs.prepare_floor"), ("openbill", "bench.jobs.prepare_verify")),
            # PostgreSQL: about 1,100 deliveries/s and a set-up of the same length, so a
            # smaller N keeps the run short; rates compare.
            {"sqlite": 100_000, "postgresql": 20_000},
            2_000,
        ),
        Group(
            "render_pdf",
            "PDF",
            "PDFs/s",
            (
                ("floor", "bench.jobs.render_pdf_floor"),
                ("text", "bench.jobs.render_pdf_text"),
                ("openbill", "bench.jobs.render_pdf"),
            ),
            {"sqlite": 100},  # about 3 PDFs/s
            10,
        ),
        Group(
            "render_ubl",
            "UBL",
            "documents/s",
            (
                ("floor", "bench.jobs.render_ubl_floor"),
                ("writer", "bench.jobs.render_ubl_writer"),
                ("openbill", "bench.jobs.render_ubl"),
            ),
            {"sqlite": 2_000},
            200,
        ),
        Group(
            "render_cii",
            "CII",
            "documents/s",
            (
                ("floor", "bench.jobs.render_cii_floor"),
                ("writer", "bench.jobs.render_cii_writer"),
                ("openbill", "bench.jobs.render_cii"),
            ),
            {"sqlite": 2_000},
            200,
        ),
        Group(
            "aging",
            "AR aging",
            "invoices/s",
            (("floor", "bench.jobs.aging_floor"), ("openbill", "bench.jobs.aging")),
            # Each run builds its book of N invoices in bulk first (about 1.5 min per million).
            {"sqlite": 1_000_000, "postgresql": 1_000_000},
            50_000,
        ),
        Group(
            "payments_import",
            "payments import",
            "payments/s",
            (
                ("floor", "bench.jobs.payments_import_floor"),
                ("openbill", "bench.jobs.payments_import"),
            ),
            # N payments against 100,000 open invoices, built in bulk first (~30 s).
            {"sqlite": 10_000, "postgresql": 10_000},
            1_000,
        ),
        Group(
            "bank_import",
            "bank import",
            "entries/s",
            (
                ("floor", "bench.jobs.bank_import_floor"),
                ("openbill", "bench.jobs.bank_import"),
            ),
            # A camt.053 of N entries (100,000: 64 MB, ENTRIES_MAX of one file).
            {"sqlite": 100_000, "postgresql": 100_000},
            2_000,
        ),
        Group(
            "bank_match",
            "bank matching",
            "lines/s",
            (
                ("floor", "bench.jobs.bank_match_floor"),
                ("openbill", "bench.jobs.bank_match"),
            ),
            # N statement lines against the 100,000 open invoices of payments_import (10 per
            # line below N = 10,000), built in bulk first (~30 s; 2-3 min on PostgreSQL).
            {"sqlite": 10_000, "postgresql": 10_000},
            1_000,
        ),
        Group(
            "api",
            "API",
            "requests/s",
            tuple((job, "bench.api") for job in ("floor", "auth", "invoices", "payments", "desk")),
            # N: open invoices in the book the server serves. Each operation is loaded for a
            # fixed time (bench/api.py), so a row's N is the requests it answered.
            {"sqlite": 10_000, "postgresql": 10_000},
            1_000,
            shared=True,
        ),
    )
}
# --only selectors for issue #3: a group's name, these aliases, or "issue3" for all of them.
GROUP_ALIASES = {
    "prepare": ("prepare_verify",),
    "pdf": ("render_pdf",),
    "ubl": ("render_ubl",),
    "cii": ("render_cii",),
    "render": ("render_pdf", "render_ubl", "render_cii"),
    "issue3": ("prepare_verify", "render_pdf", "render_ubl", "render_cii"),
    "issue4": ("aging", "payments_import"),
    "payments": ("payments_import",),
    "issue5": ("bank_import", "bank_match"),
    "bank": ("bank_import", "bank_match"),
    "issue6": ("api",),
}

NOT_YET = "not yet available"
NO_PG = "PostgreSQL not available"


# --- what runs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    name: str  # "floor", "openbill", "python-accounting", "django-ledger"
    kind: str  # "ours" (bench.jobs module, openbill's venv) or "peer" (script, peers' venv)
    target: str  # module name or script path
    backends: tuple[str, ...]
    summary: str = ""
    group: str = "issue"  # "issue" (issue #2, with the peers) or a key of GROUPS


def all_jobs(modules: dict[str, str] | None = None) -> list[Job]:
    modules = {**JOB_MODULES, **(modules or {})}
    jobs = [
        Job("floor", "ours", modules["floor"], tuple(BACKENDS)),
        Job("openbill", "ours", modules["openbill"], tuple(BACKENDS)),
    ]
    for peer in peers.PEERS.values():
        jobs.append(Job(peer.name, "peer", str(peer.script), peer.backends, peer.summary))
    for group in GROUPS.values():
        for name, module in group.jobs:
            jobs.append(Job(name, "ours", module, tuple(group.n_full), group=group.name))
    return jobs


def group_sizes(job: Job, backend: str, quick: bool) -> int:
    """N of an issue #3 job on a backend."""
    group = GROUPS[job.group]
    return group.n_quick if quick else group.n_full[backend]


@dataclass
class Row:
    job: Job
    backend: str
    n: int
    seconds: float | None = None
    status: str | None = None  # why there is no number
    runs: list[float] = field(default_factory=list)
    check: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def rate(self) -> float | None:
        if self.seconds is None or self.seconds <= 0:
            return None
        return self.n / self.seconds

    @property
    def key(self) -> str:
        return f"{self.job.group}.{self.job.name}.{self.backend}"

    @property
    def unit(self) -> str:
        return GROUPS[self.job.group].unit if self.job.group in GROUPS else UNIT

    @property
    def label(self) -> str:
        if self.job.group in GROUPS:
            return f"{GROUPS[self.job.group].title}: {self.job.name}"
        return self.job.name


# --- databases ------------------------------------------------------------------------------


def _conninfo(url: str) -> str:
    """SQLAlchemy URL -> libpq URL for psycopg."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def _with_database(url: str, name: str) -> str:
    head, _, _ = url.rpartition("/")
    return f"{head}/{name}"


class Postgres:
    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.error: str | None = None
        self.version: str | None = None
        try:
            import psycopg

            with psycopg.connect(_conninfo(admin_url), connect_timeout=3) as conn:
                self.version = conn.execute("SHOW server_version").fetchone()[0]
        except Exception as exc:  # noqa: BLE001 - any failure means "not available"
            self.error = f"{type(exc).__name__}: {exc}".strip()

    @property
    def available(self) -> bool:
        return self.error is None

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(_conninfo(self.admin_url), autocommit=True) as conn:
            conn.execute(sql)

    @contextlib.contextmanager
    def database(self, job: str) -> Iterator[str]:
        name = re.sub(r"[^a-z0-9_]", "_", f"bench_{job}_{os.getpid()}".lower())
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{name}"')
        try:
            yield _with_database(self.admin_url, name)
        finally:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def sqlite_database(job: str) -> Iterator[str]:
    WORK.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{job}-", dir=WORK))
    try:
        yield f"sqlite:///{folder / (job + '.db')}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- running one job ------------------------------------------------------------------------


class JobFailed(RuntimeError):
    """A job that ran and failed: a one-line reason, and the detail (its stderr's tail)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.detail = detail or reason


def _failed(proc: subprocess.CompletedProcess[str]) -> JobFailed:
    detail = _tail(proc.stderr, 30) or _tail(proc.stdout, 30)
    last = [line for line in detail.splitlines() if line.strip()]
    return JobFailed(last[-1].strip() if last else f"exit {proc.returncode}", detail)


class Unavailable(RuntimeError):
    pass


def _tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _run_ours(job: Job, url: str, n: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("r", suffix=".json", dir=WORK, delete=False) as out:
        result_path = Path(out.name)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "bench.harness", "child", job.target, url, str(n), out.name],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=JOB_TIMEOUT_S,
        )
        text = result_path.read_text() if result_path.exists() else ""
    finally:
        result_path.unlink(missing_ok=True)
    if proc.returncode != 0 or not text:
        raise _failed(proc)
    result = json.loads(text)
    if "unavailable" in result:
        raise Unavailable(result["unavailable"])
    return result


def _run_peer(job: Job, url: str, n: int) -> dict[str, Any]:
    proc = subprocess.run(
        [str(peers.python()), job.target, "--url", url, "--n", str(n)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=JOB_TIMEOUT_S,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise _failed(proc)
    return json.loads(lines[-1])


def _validate(result: dict[str, Any], n: int) -> None:
    """The job did the work it claims: the right number of invoices, the right totals; for
    issue #3 jobs, `done` (deliveries billed, documents rendered) equal to N."""
    if int(result.get("invoices", n)) != n:
        raise JobFailed(f"asked for {n} invoices, job says {result.get('invoices')}")
    check = result.get("check") or {}
    if "done" in check and int(check["done"]) != n:
        raise JobFailed(f"asked for {n}, the job did {check['done']}")
    if "invoices_in_db" in check and int(check["invoices_in_db"]) != n:
        raise JobFailed(f"{n} invoices asked, {check['invoices_in_db']} in the database")
    if check.get("last_gross") is not None:
        try:
            gross = Decimal(str(check["last_gross"])).quantize(Decimal("0.01"))
        except InvalidOperation as exc:
            raise JobFailed(f"last_gross is not a number: {check['last_gross']!r}") from exc
        if gross != GROSS:
            raise JobFailed(f"last invoice gross {gross}, expected {GROSS}")


def run_row(row: Row, pg: Postgres, repeat: int) -> None:
    if row.backend == "postgresql" and not pg.available:
        row.status = NO_PG
        return
    runner = _run_ours if row.job.kind == "ours" else _run_peer
    for _ in range(repeat):
        if row.backend == "sqlite":
            database = sqlite_database(row.job.name)
        else:
            database = pg.database(f"{row.job.group}_{row.job.name}")
        try:
            with database as url:
                result = runner(row.job, url, row.n)
            _validate(result, row.n)
        except Unavailable as exc:
            row.status = f"{NOT_YET} ({_short(str(exc))})"
            return
        except subprocess.TimeoutExpired:
            row.status = f"failed: timed out after {JOB_TIMEOUT_S} s"
            return
        except Exception as exc:  # noqa: BLE001 - one failed row must not stop the run
            row.status = f"failed: {_short(str(exc))}"
            row.check = {"error": getattr(exc, "detail", None) or f"{type(exc).__name__}: {exc}"}
            return
        row.runs.append(float(result["seconds"]))
        row.check = result.get("check") or {}
        row.description = result.get("description") or row.job.summary
    row.seconds = statistics.median(row.runs)


def run_shared(rows: list[Row], pg: Postgres, repeat: int) -> None:
    """The rows of one shared group on one backend (Group.shared): each run of the group's
    module measures them all; the run whose floor (the group's first job) has the median rate
    counts for every row, so that each ratio is to the floor of the same run."""
    first = rows[0]
    if first.backend == "postgresql" and not pg.available:
        for row in rows:
            row.status = NO_PG
        return
    results: list[dict[str, Any]] = []
    for _ in range(repeat):
        if first.backend == "sqlite":
            database = sqlite_database(first.job.group)
        else:
            database = pg.database(first.job.group)
        try:
            with database as url:
                result = _run_ours(first.job, url, first.n)
            missing = [row.job.name for row in rows if row.job.name not in result.get("rows", {})]
            if missing:
                raise JobFailed(f"the run measured no {', '.join(missing)}")
            for row in rows:
                measured = result["rows"][row.job.name]
                _validate({"invoices": measured["n"], "check": measured["check"]}, measured["n"])
        except Unavailable as exc:
            for row in rows:
                row.status = f"{NOT_YET} ({_short(str(exc))})"
            return
        except subprocess.TimeoutExpired:
            for row in rows:
                row.status = f"failed: timed out after {JOB_TIMEOUT_S} s"
            return
        except Exception as exc:  # noqa: BLE001 - one failed group must not stop the run
            for row in rows:
                row.status = f"failed: {_short(str(exc))}"
                row.check = {
                    "error": getattr(exc, "detail", None) or f"{type(exc).__name__}: {exc}"
                }
            return
        results.append(result)
    floor = GROUPS[first.job.group].jobs[0][0]
    by_floor = sorted(
        results,
        key=lambda r: (
            r["rows"][floor]["n"] / r["rows"][floor]["seconds"] if floor in r["rows"] else 0.0
        ),
    )
    median = by_floor[len(by_floor) // 2]
    for row in rows:
        runs = [r["rows"][row.job.name] for r in results]
        chosen = median["rows"][row.job.name]
        row.n = int(chosen["n"])
        row.seconds = float(chosen["seconds"])
        row.runs = [float(m["seconds"]) for m in runs]
        row.check = chosen.get("check") or {}
        row.description = results[-1].get("description") or row.job.summary


def _short(text: str, width: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def child_main(argv: list[str]) -> int:
    """In a fresh interpreter: import one job module, run it, write its result as JSON."""
    module_name, url, n_text, out = argv
    n = int(n_text)
    out_path = Path(out)
    # A PostgreSQL book needs its data keys from the environment (docs/security.md); a bench
    # database lives for one run, so a key made now does, unless one is given.
    if not os.environ.get("OPENBILL_DATA_KEYS"):
        from openbill.adapters.crypto import generate_key

        os.environ["OPENBILL_DATA_KEYS"] = generate_key()
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        out_path.write_text(json.dumps({"unavailable": f"{type(exc).__name__}: {exc}"}))
        return 0
    measured = module.run(url, n)
    description = getattr(module, "DESCRIPTION", "")
    if isinstance(measured, dict):  # a shared group's module: {job: {"seconds", "n", "check"}}
        out_path.write_text(json.dumps({"rows": measured, "description": description}, default=str))
        return 0
    seconds = float(measured)
    check = module.check(url, n) if hasattr(module, "check") else {}
    out_path.write_text(
        json.dumps(
            {"invoices": n, "seconds": seconds, "check": check, "description": description},
            default=str,
        )
    )
    return 0


# --- ratios, machine, outputs ---------------------------------------------------------------


def floor_of(rows: list[Row], backend: str, group: str = "issue") -> Row | None:
    for row in rows:
        if (
            row.job.name == "floor"
            and row.job.group == group
            and row.backend == backend
            and row.rate
        ):
            return row
    return None


def best_peer(rows: list[Row], backend: str) -> Row | None:
    candidates = [
        r
        for r in rows
        if r.job.kind == "peer" and r.job.group == "issue" and r.backend == backend and r.rate
    ]
    return max(candidates, key=lambda r: r.rate or 0.0, default=None)


def _ratio(row: Row, base: Row | None) -> float | None:
    if base is None or row.rate is None or base.rate is None:
        return None
    return row.rate / base.rate


def _meminfo_gib() -> float | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return None


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _filesystem(path: Path) -> str | None:
    """Filesystem type holding ``path`` (tmpfs would flatter SQLite's fsyncs)."""
    best, fstype = "", None
    with contextlib.suppress(OSError):
        target = str(path.resolve())
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and target.startswith(parts[1]) and len(parts[1]) > len(best):
                best, fstype = parts[1], parts[2]
    return fstype


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return (commit + ("+dirty" if dirty else "")) or None
    return None


def machine_info(pg: Postgres, peer_versions: dict[str, str | None] | None) -> dict[str, Any]:
    WORK.mkdir(parents=True, exist_ok=True)
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _meminfo_gib(),
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "sqlite": sqlite3.sqlite_version,
        "sqlite_filesystem": _filesystem(WORK),
        "postgresql": pg.version,
        "openbill": _version("openbill"),
        "sqlalchemy": _version("SQLAlchemy"),
        "psycopg": _version("psycopg"),
        "peers": peer_versions or {},
        "commit": _git_commit(),
    }


def entries(rows: list[Row]) -> list[dict[str, Any]]:
    """bench/results/latest.json: one entry per measured row beside its floor, and
    openbill beside the best peer, so that two runs can be compared entry by entry."""
    out: list[dict[str, Any]] = []
    for row in rows:
        if row.rate is None:
            continue
        base = None if row.job.name == "floor" else floor_of(rows, row.backend, row.job.group)
        out.append(_entry(row.key, row.rate, base, row.unit))
        if row.job.group == API:  # the latencies beside the rate, without a baseline
            for key in ("p50_ms", "p99_ms", "server_cpu_ms"):
                if row.check.get(key) is not None:
                    out.append(_entry(f"{row.key}.{key}", float(row.check[key]), None, "ms"))
    for backend in BACKENDS:
        ours = next(
            (
                r
                for r in rows
                if r.job.name == "openbill"
                and r.job.group == "issue"
                and r.backend == backend
                and r.rate
            ),
            None,
        )
        peer = best_peer(rows, backend)
        if ours and ours.rate and peer:
            out.append(_entry(f"{ours.key}.vs_best_peer", ours.rate, peer))
    return out


def _entry(name: str, value: float, base: Row | None, unit: str = UNIT) -> dict[str, Any]:
    return {
        "name": name,
        "value": round(value, 2),
        "unit": unit,
        "baseline_name": base.key if base else None,
        "baseline_value": round(base.rate, 2) if base and base.rate else None,
        "ratio": round(value / base.rate, 4) if base and base.rate else None,
    }


def _fmt_ratio(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 0.1:
        return f"{value:.3f}×"
    return f"{value:.2f}×" if value < 10 else f"{value:.1f}×"


def _fmt_rate(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def table_rows(rows: list[Row]) -> list[list[str]]:
    out = []
    for row in issue_rows(rows):
        out.append(
            [
                row.job.name,
                BACKENDS[row.backend],
                f"{row.n:,}",
                "—" if row.seconds is None else f"{row.seconds:.2f}",
                _fmt_rate(row.rate),
                _fmt_ratio(_ratio(row, floor_of(rows, row.backend))),
                _fmt_ratio(_ratio(row, best_peer(rows, row.backend))),
            ]
        )
    return out


HEADERS = ["job", "backend", "N", "seconds", UNIT, "× floor", "× best peer"]
HEADERS3 = ["measurement", "job", "backend", "N", "seconds", "rate", "unit", "× floor"]


def issue_rows(rows: list[Row]) -> list[Row]:
    return [row for row in rows if row.job.group == "issue"]


def issue3_rows(rows: list[Row]) -> list[Row]:
    return [row for row in rows if row.job.group in GROUPS and row.job.group != API]


def api_rows(rows: list[Row]) -> list[Row]:
    return [row for row in rows if row.job.group == API]


def summaries(rows: list[Row], chosen: list[Row] | None = None) -> list[str]:
    """What a job reports besides its rate (its check's "summary", e.g. the matching's counts
    and the seconds of its dry run), one line per measured row (of `chosen`, by default the
    issue #3-#5 rows)."""
    return [
        f"{row.label} on {BACKENDS[row.backend]}, N={row.n:,}: {row.check['summary']}"
        for row in (issue3_rows(rows) if chosen is None else chosen)
        if row.rate is not None and row.check.get("summary")
    ]


# --- the API table (issue #6): requests/s with latencies, beside GET /v1/health ---------------

API = "api"
HEADERS_API = [
    "operation",
    "backend",
    "connections",
    "requests",
    "seconds",
    "requests/s",
    "p50 ms",
    "p99 ms",
    "server CPU ms",
    "× floor",
]


def _ms(row: Row, key: str) -> str:
    value = row.check.get(key) if row.rate is not None else None
    if value is None:
        return "—"
    return f"{float(value):.2f}" if float(value) < 10 else f"{float(value):,.1f}"


def table_rows_api(rows: list[Row]) -> list[list[str]]:
    return [
        [
            row.job.name,
            BACKENDS[row.backend],
            str(row.check.get("connections", "—")) if row.rate is not None else "—",
            f"{row.n:,}" if row.rate is not None else "—",
            "—" if row.seconds is None else f"{row.seconds:.2f}",
            _fmt_rate(row.rate),
            _ms(row, "p50_ms"),
            _ms(row, "p99_ms"),
            _ms(row, "server_cpu_ms"),
            _fmt_ratio(_ratio(row, floor_of(rows, row.backend, API))),
        ]
        for row in api_rows(rows)
    ]


def rich_table_api(rows: list[Row], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for i, header in enumerate(HEADERS_API):
        table.add_column(header, justify="left" if i < 2 else "right", no_wrap=True)
    chosen = api_rows(rows)
    notes = any(row.rate is None for row in chosen)
    if notes:
        table.add_column("note", overflow="fold")
    for cells, row in zip(table_rows_api(rows), chosen, strict=True):
        style = "dim" if row.rate is None else ("bold" if row.job.name != "floor" else None)
        table.add_row(*cells, *([row.status or ""] if notes else []), style=style)
    return table


def markdown_api(rows: list[Row]) -> list[str]:
    chosen = api_rows(rows)
    if not chosen:
        return []
    lines = [
        "### The API under load (issue #6)",
        "",
        "| " + " | ".join(HEADERS_API) + " |",
        "| " + " | ".join(["---"] * 2 + ["---:"] * (len(HEADERS_API) - 2)) + " |",
    ]
    lines += ["| " + " | ".join(cells) + " |" for cells in table_rows_api(rows)]
    books = sorted({int(r.check["book_invoices"]) for r in chosen if r.check.get("book_invoices")})
    lines += [
        "",
        "requests: answered in the measured window; server CPU ms: the server process's CPU "
        "time per request; × floor: requests/s divided by GET /v1/health's of the same server"
        + (f"; book: {', '.join(f'{b:,}' for b in books)} open invoices" if books else "")
        + ".",
        "",
    ]
    description = next((r.description for r in chosen if r.description), "")
    if description:
        lines += [f"Jobs: {description}.", ""]
    details = summaries(rows, chosen)
    if details:
        lines += ["Measured besides the rate:", ""]
        lines += [f"- {text}" for text in details]
        lines.append("")
    return lines


def table_rows3(rows: list[Row]) -> list[list[str]]:
    """The issue #3 rows: each measurement beside its floor (the same group and backend)."""
    out = []
    for row in issue3_rows(rows):
        out.append(
            [
                GROUPS[row.job.group].title,
                row.job.name,
                BACKENDS[row.backend],
                f"{row.n:,}",
                "—" if row.seconds is None else f"{row.seconds:.2f}",
                _fmt_rate(row.rate),
                row.unit,
                _fmt_ratio(_ratio(row, floor_of(rows, row.backend, row.job.group))),
            ]
        )
    return out


def rich_table3(rows: list[Row], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for i, header in enumerate(HEADERS3):
        table.add_column(header, justify="left" if i < 3 or i == 6 else "right", no_wrap=True)
    chosen = issue3_rows(rows)
    notes = any(row.rate is None for row in chosen)
    if notes:
        table.add_column("note", overflow="fold")
    for cells, row in zip(table_rows3(rows), chosen, strict=True):
        style = "bold" if row.job.name == "openbill" else ("dim" if row.rate is None else None)
        table.add_row(*cells, *([row.status or ""] if notes else []), style=style)
    return table


def rich_table(rows: list[Row], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for i, header in enumerate(HEADERS):
        table.add_column(header, justify="left" if i < 2 else "right", no_wrap=True)
    chosen = issue_rows(rows)
    notes = any(row.rate is None for row in chosen)
    if notes:
        table.add_column("note", overflow="fold")
    for cells, row in zip(table_rows(rows), chosen, strict=True):
        style = "bold" if row.job.name == "openbill" else ("dim" if row.rate is None else None)
        table.add_row(*cells, *([row.status or ""] if notes else []), style=style)
    return table


def _history() -> list[dict[str, Any]]:
    if not HISTORY.exists():
        return []
    return [json.loads(line) for line in HISTORY.read_text(encoding="utf-8").splitlines()]


def _rows_from(record: dict[str, Any], jobs: list[Job], skip: set[str]) -> list[Row]:
    """The rows a history record holds, as Rows of the known jobs (not those in `skip`)."""
    by_key = {f"{j.group}.{j.name}.{b}": (j, b) for j in jobs for b in j.backends}
    out = []
    for old in record["rows"]:
        if old["name"] in skip or old["name"] not in by_key:
            continue
        job, backend = by_key[old["name"]]
        description = job.summary
        if job.kind == "ours":
            try:
                module = importlib.import_module(job.target)
                description = getattr(module, "DESCRIPTION", "") or description
            except ImportError:
                pass
        out.append(
            Row(
                job,
                backend,
                int(old["n"]),
                old.get("seconds"),
                old.get("status"),
                list(old.get("runs") or []),
                dict(old.get("check") or {}),
                description,
            )
        )
    return out


def carried_rows(jobs: list[Job], measured: list[Row]) -> tuple[list[Row], str]:
    """The rows of the last full run (bench/results/history.jsonl) for the jobs a partial run
    did not measure, and that run's date."""
    history = _history()
    starts = [i for i, r in enumerate(history) if r.get("kind") == "full"]
    if not starts:
        raise SystemExit("--merge needs a full run in bench/results/history.jsonl first")
    full = history[starts[-1]]
    # The full run's rows, then what each partial run since measured (the newest wins): a
    # merge keeps the rows an earlier --merge wrote.
    carried = {row.key: row for row in _rows_from(full, jobs, set())}
    for record in history[starts[-1] + 1 :]:
        if record.get("kind") == "partial":
            for row in _rows_from(record, jobs, set()):
                if row.seconds or row.status:
                    carried[row.key] = row
    now = {row.key for row in measured}
    rows = [row for key, row in carried.items() if key not in now]
    return rows, str(full["date"]).replace("T", " ").removesuffix("Z")[:16]


def rewrite_last_merge() -> None:
    """Write docs/benchmarks.md and latest.json again from the last partial run in the history
    merged with the last full run, measuring nothing (after a change to how pages are laid
    out)."""
    jobs = all_jobs()
    last = next((r for r in reversed(_history()) if r.get("kind") == "partial"), None)
    if last is None:
        raise SystemExit("no partial run in bench/results/history.jsonl")
    measured = [r for r in _rows_from(last, jobs, set()) if r.seconds or r.status]
    _write_merged(measured, jobs, last["machine"], last)


def _write_merged(
    measured: list[Row], jobs: list[Job], machine: dict[str, Any], record: dict[str, Any]
) -> None:
    carried, when = carried_rows(jobs, measured)
    full = next((r for r in reversed(_history()) if r.get("kind") == "full"), {})
    if carried and not machine.get("peers"):
        # The carried peer rows were measured with the peers of the full run.
        machine = {**machine, "peers": (full.get("machine") or {}).get("peers")}
    date_text = str(record["date"]).replace("T", " ").removesuffix("Z")[:16]
    run = {
        "date": date_text,
        "command": record["command"],
        "repeat": record.get("repeat", 1),
        "merged": (
            f"the rows not measured now are those of the full run of {when} UTC or of the "
            "partial runs after it"
        ),
    }
    order = {job: i for i, job in enumerate(jobs)}
    merged = carried + measured
    merged.sort(
        key=lambda r: (
            ["issue", *GROUPS].index(r.job.group),
            list(BACKENDS).index(r.backend),
            order.get(r.job, 0),
        )
    )
    LATEST.write_text(json.dumps(entries(merged), indent=2) + "\n")
    write_doc(markdown_results(merged, machine, run))


def markdown_results(rows: list[Row], machine: dict[str, Any], run: dict[str, Any]) -> str:
    lines = [
        "## Results",
        "",
        f"Measured {run['date']} UTC, commit `{machine.get('commit') or 'unknown'}`, "
        f"with `{run['command']}`"
        + (f", median of {run['repeat']} runs" if run["repeat"] > 1 else "")
        + (f"; {run['merged']}" if run.get("merged") else "")
        + ".",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "| " + " | ".join(["---", "---"] + ["---:"] * (len(HEADERS) - 2)) + " |",
    ]
    for cells in table_rows(rows):
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "× floor: invoices/s divided by the floor's on the same backend. "
        "× best peer: divided by the faster peer's on the same backend.",
        "",
    ]
    described: dict[str, str] = {}
    for row in issue_rows(rows):
        if row.description and row.job.name not in described:
            described[row.job.name] = row.description
    if described:
        lines += ["Jobs:", ""]
        lines += [f"- {name}: {text}" for name, text in described.items()]
        lines.append("")
    if issue3_rows(rows):
        lines += [
            "### Preparation, verification, rendering (issue #3), reports (issue #4) and bank "
            "statements (issue #5)",
            "",
            "| " + " | ".join(HEADERS3) + " |",
            "| " + " | ".join(["---"] * 3 + ["---:"] * 3 + ["---", "---:"]) + " |",
        ]
        lines += ["| " + " | ".join(cells) + " |" for cells in table_rows3(rows)]
        lines += [
            "",
            "× floor: the rate divided by the floor's of the same measurement on the same backend.",
            "",
            "Jobs:",
            "",
        ]
        done: set[tuple[str, str]] = set()
        for row in issue3_rows(rows):
            if row.description and (row.job.group, row.job.name) not in done:
                done.add((row.job.group, row.job.name))
                lines.append(f"- {GROUPS[row.job.group].title}, {row.job.name}: {row.description}")
        lines.append("")
        details = summaries(rows)
        if details:
            lines += ["Measured besides the rate:", ""]
            lines += [f"- {text}" for text in details]
            lines.append("")
    lines += markdown_api(rows)
    lines += [
        "Machine:",
        "",
        f"- CPU: {machine['cpu']}, {machine['cores']} cores; memory: "
        f"{machine['memory_gib']} GiB; {machine['os']}",
        f"- {machine['python']}; SQLite {machine['sqlite']} (database files on "
        f"{machine['sqlite_filesystem'] or 'unknown filesystem'}); PostgreSQL "
        f"{machine['postgresql'] or 'not available'}",
        f"- openbill {machine['openbill']}, SQLAlchemy {machine['sqlalchemy']}, "
        f"psycopg {machine['psycopg']}",
    ]
    pv = machine.get("peers") or {}
    if pv:
        lines.append(
            f"- peers (bench/.peers/venv, Python {pv.get('python')}): "
            f"python-accounting {pv.get('python-accounting')} "
            f"(SQLAlchemy {pv.get('SQLAlchemy')}, python-dateutil {pv.get('python-dateutil')}); "
            f"django-ledger {pv.get('django-ledger')} (Django {pv.get('Django')}, "
            f"django-treebeard {pv.get('django-treebeard')}); psycopg {pv.get('psycopg')}"
        )
    missing = [r for r in rows if r.rate is None]
    if missing:
        lines += ["", "Not measured in this run:", ""]
        for row in missing:
            lines.append(f"- {row.label} on {BACKENDS[row.backend]}: {row.status}")
    return "\n".join(lines) + "\n"


DOC_TEMPLATE = f"""# Benchmarks

See bench/README.md for what is measured and how to run it.

{START}
{END}
"""


def write_doc(results_md: str) -> None:
    text = DOC.read_text() if DOC.exists() else DOC_TEMPLATE
    if START not in text or END not in text:
        text = text.rstrip() + f"\n\n{START}\n{END}\n"
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(f"{head}{START}\n{results_md}{END}{tail}")


def run_rows(todo: list[Row], pg: Postgres, repeat: int, console: Console) -> None:
    if not todo:
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("benchmarks", total=len(todo))
        done: set[int] = set()
        for row in todo:
            if id(row) in done:
                continue
            group = GROUPS.get(row.job.group)
            together = [row]
            if group is not None and group.shared:
                together = [
                    r for r in todo if (r.job.group, r.backend) == (row.job.group, row.backend)
                ]
            label = (
                f"{group.title} ({', '.join(r.job.name for r in together)})"
                if len(together) > 1 and group is not None
                else row.label
            )
            progress.update(
                task,
                description=f"{label} on {BACKENDS[row.backend]}, N={row.n:,}"
                + (f" ×{repeat}" if repeat > 1 else ""),
            )
            started = time.monotonic()
            if len(together) > 1 or (group is not None and group.shared):
                run_shared(together, pg, repeat)
            else:
                run_row(row, pg, repeat)
            for r in together:
                done.add(id(r))
                outcome = f"{_fmt_rate(r.rate)} {r.unit}" if r.rate else f"[yellow]{r.status}[/]"
                progress.console.print(
                    f"  {r.label} on {BACKENDS[r.backend]}: {outcome} "
                    f"[dim]({time.monotonic() - started:.1f} s with set-up)[/]"
                )
                progress.advance(task)


# --- the command ----------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    names = [job.name for job in all_jobs() if job.group == "issue"]
    groups = [*GROUPS, *GROUP_ALIASES]
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Issue N invoices per second: openbill beside the floor and the peers; "
        "prepare and verify deliveries, render PDFs and XML, beside their floors.",
    )
    parser.add_argument("--quick", action="store_true", help="small N everywhere (a smoke run)")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"run only these jobs (repeatable or comma-separated): {', '.join(names)}, "
        "or the groups 'ours' (floor + openbill) and 'peers', 'issue' (all of issue #2); "
        f"issue #3 measurements: {', '.join(groups)}",
    )
    parser.add_argument(
        "--backend", choices=sorted(BACKENDS), action="append", help="only this backend"
    )
    parser.add_argument(
        "--n", type=int, help="invoices (deliveries, documents) per run for every job"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per row; the median counts")
    parser.add_argument(
        "--module",
        action="append",
        default=[],
        metavar="JOB=MODULE",
        help="run another module as the floor or openbill job, e.g. floor=mypkg.floor_v2 "
        f"(defaults: {', '.join(f'{k}={v}' for k, v in JOB_MODULES.items())})",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL),
        help="PostgreSQL server, as a SQLAlchemy URL to an existing database "
        "(default: $BENCH_PG_URL or %(default)s)",
    )
    write = parser.add_mutually_exclusive_group()
    write.add_argument(
        "--write",
        dest="write",
        action="store_true",
        default=None,
        help="write docs/benchmarks.md and bench/results/latest.json "
        "(the default for a full run, without --only/--backend/--quick/--n)",
    )
    write.add_argument(
        "--no-write", dest="write", action="store_false", help="write nothing, not even history"
    )
    write.add_argument(
        "--merge",
        dest="merge",
        action="store_true",
        default=False,
        help="a partial run that replaces only its own rows in docs/benchmarks.md and "
        "bench/results/latest.json; the other rows stay those of the last full run, and the "
        "page says which rows were measured when",
    )
    write.add_argument(
        "--rewrite",
        dest="rewrite",
        action="store_true",
        default=False,
        help="measure nothing: write docs/benchmarks.md and latest.json again from the last "
        "partial run in the history merged with the last full run",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or (args.n is not None and args.n < 1):
        parser.error("--repeat and --n must be positive")
    selected: set[tuple[str, str]] = set()  # (group, job name); job "*": the whole group
    for item in args.only or []:
        for name in filter(None, (part.strip() for part in item.split(","))):
            if name == "peers":
                selected |= {("issue", p) for p in peers.PEERS}
            elif name == "ours":
                selected |= {("issue", "floor"), ("issue", "openbill")}
            elif name == "issue":
                selected.add(("issue", "*"))
            elif name in names:
                selected.add(("issue", name))
            elif name in GROUPS or name in GROUP_ALIASES:
                selected |= {(g, "*") for g in GROUP_ALIASES.get(name, (name,))}
            else:
                parser.error(f"unknown job {name!r}; choose from {', '.join([*names, *groups])}")
    args.selected = selected
    args.modules = {}
    for item in args.module:
        name, _, module = item.partition("=")
        if name not in JOB_MODULES or not module:
            parser.error(f"--module wants JOB=MODULE with JOB one of {', '.join(JOB_MODULES)}")
        args.modules[name] = module
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["child"]:
        return child_main(argv[1:])
    args = parse_args(argv)
    if args.rewrite:
        rewrite_last_merge()
        print(f"wrote {DOC.relative_to(ROOT)} and {LATEST.relative_to(ROOT)} from the history")
        return 0
    # A log (CI, a pipe) gets a table wide enough to read; a terminal keeps its own width.
    wide = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    console = Console(width=140 if wide else None)
    partial = bool(args.selected or args.backend or args.quick or args.n or args.modules)
    write = (not partial) if args.write is None else args.write
    if args.merge and args.quick:
        raise SystemExit("--merge keeps full-size figures only: run without --quick")
    sizes = N_QUICK if args.quick else N_FULL

    jobs = [
        j
        for j in all_jobs(args.modules)
        if not args.selected
        or (j.group, j.name) in args.selected
        or (j.group, "*") in args.selected
    ]
    backends = [b for b in BACKENDS if not args.backend or b in args.backend]
    rows = [
        Row(
            job,
            backend,
            args.n
            or (
                sizes[(job.kind, backend)]
                if job.group == "issue"
                else group_sizes(job, backend, args.quick)
            ),
        )
        for group in ["issue", *GROUPS]
        for backend in backends
        for job in jobs
        if job.group == group and backend in job.backends
    ]

    pg = Postgres(args.pg_url)
    if "postgresql" in backends:
        if pg.available:
            where = re.sub(r"^.*@|/[^/]*$", "", args.pg_url)
            console.print(f"PostgreSQL {pg.version.split()[0]} at {where}")
        else:
            console.print(f"[yellow]{NO_PG}[/] ({_short(pg.error or '')}); PG rows are skipped")

    for row in rows:
        if row.backend == "postgresql" and not pg.available:
            row.status = NO_PG
        elif row.job.kind == "ours" and importlib.util.find_spec(row.job.target) is None:
            row.status = NOT_YET

    peer_versions = None
    if any(row.job.kind == "peer" and row.status is None for row in rows):
        try:
            with console.status("peers' environment") as status:
                peer_versions = peers.ensure_env(
                    lambda text: status.update(f"peers' environment: {text}")
                )
            console.print(
                "peers' environment ready: "
                + ", ".join(
                    f"{k} {peer_versions.get(k)}" for k in ("python-accounting", "django-ledger")
                )
            )
        except peers.PeerEnvError as exc:
            console.print(f"[red]peers' environment failed:[/] {exc}")
            for row in rows:
                if row.job.kind == "peer":
                    row.status = f"failed: peers' environment ({exc})"

    WORK.mkdir(parents=True, exist_ok=True)
    run_rows([row for row in rows if row.status is None], pg, args.repeat, console)

    now = datetime.now(UTC).replace(microsecond=0)
    command = "python -m bench" + (" " + " ".join(argv) if argv else "")
    run = {"date": now.strftime("%Y-%m-%d %H:%M"), "command": command, "repeat": args.repeat}
    console.print()
    if issue_rows(rows):
        console.print(rich_table(rows, f"Issue N invoices — {run['date']} UTC"))
    if issue3_rows(rows):
        console.print(
            rich_table3(rows, f"Prepare + verify, render, aging, bank (#3-#5) — {run['date']} UTC")
        )
        for text in summaries(rows):
            console.print(f"  {text}", markup=False, highlight=False)
    if api_rows(rows):
        console.print(rich_table_api(rows, f"The API under load (#6) — {run['date']} UTC"))
        for text in summaries(rows, api_rows(rows)):
            console.print(f"  {text}", markup=False, highlight=False)
    for row in rows:
        if row.status and row.status.startswith("failed") and row.check.get("error"):
            console.print(f"[red]{row.label} on {BACKENDS[row.backend]}:[/]")
            console.print(row.check["error"], markup=False, highlight=False)

    if args.write is False:
        return 0
    machine = machine_info(pg, peer_versions)
    results = entries(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {
        "date": now.isoformat().replace("+00:00", "Z"),
        "command": command,
        "kind": "quick" if args.quick else ("partial" if partial else "full"),
        "machine": machine,
        "rows": [
            {
                "name": row.key,
                "n": row.n,
                "seconds": row.seconds,
                "runs": row.runs,
                "rate": round(row.rate, 2) if row.rate else None,
                "status": row.status,
                "check": row.check,
            }
            for row in rows
        ],
        "entries": results,
    }
    with HISTORY.open("a", encoding="utf-8") as history:
        history.write(json.dumps(record, default=str) + "\n")
    written = [HISTORY]
    if args.merge:
        measured = [row for row in rows if row.rate is not None or row.status]
        record["repeat"] = args.repeat
        _write_merged(measured, all_jobs(args.modules), machine, record)
        written += [LATEST, DOC]
    elif write:
        LATEST.write_text(json.dumps(results, indent=2) + "\n")
        write_doc(markdown_results(rows, machine, run))
        written += [LATEST, DOC]
    else:
        console.print(
            "[dim]partial or quick run: docs/benchmarks.md and bench/results/latest.json "
            "left as they were (--write to overwrite)[/]"
        )
    console.print("wrote " + ", ".join(str(p.relative_to(ROOT)) for p in written))
    failed = [row for row in rows if row.status and row.status.startswith("failed")]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
