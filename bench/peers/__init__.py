"""The peers: other Python libraries doing the same job, in their own virtual environment.

The peers are installed from PyPI into ``bench/.peers/venv`` (git-ignored), never into
openbill's environment: django-ledger pins its own Django, and python-accounting declares two
database drivers that are C extensions. Each peer job is a script in this folder, run with the
peers' interpreter, that prints one JSON line ``{"invoices": n, "seconds": s, "check": {...}}``.

:func:`ensure_env` is idempotent: it does nothing when the environment exists and was made
from the same requirements (a stamp file records them and the versions installed).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PEERS_DIR = ROOT / "bench" / ".peers"
VENV = PEERS_DIR / "venv"
LOG = PEERS_DIR / "install.log"
STAMP = VENV / "bench-peers.json"

# django-ledger with its Django; psycopg 3 lets Django (and python-accounting's SQLAlchemy,
# through the postgresql+psycopg dialect) reach PostgreSQL.
REQUIREMENTS = ("django-ledger==0.8.5", "Django>=5.2,<6", "psycopg[binary]>=3.1.18")
# python-accounting is installed without its declared dependencies, which are then read from
# its own metadata and installed, less those in SKIPPED_DEPENDENCIES.
NO_DEPS = ("python-accounting==2.0.0",)
SKIPPED_DEPENDENCIES = {
    "mysqlclient": "a C extension that needs the MySQL client headers; no MySQL here",
    "psycopg2": "a C extension built from source; psycopg 3 drives PostgreSQL instead",
}
# What the docs report, by distribution name.
REPORTED = (
    "python-accounting",
    "SQLAlchemy",
    "python-dateutil",
    "django-ledger",
    "Django",
    "django-treebeard",
    "psycopg",
)
SPEC_KEY = hashlib.sha256(
    json.dumps([REQUIREMENTS, NO_DEPS, sorted(SKIPPED_DEPENDENCIES)]).encode()
).hexdigest()[:16]


@dataclass(frozen=True)
class Peer:
    name: str
    script: Path
    backends: tuple[str, ...]
    summary: str


PEERS: dict[str, Peer] = {
    "python-accounting": Peer(
        name="python-accounting",
        script=HERE / "python_accounting_job.py",
        backends=("sqlite", "postgresql"),
        summary=(
            "ClientInvoice + 3 LineItem (tax_id = output VAT Tax), invoice.post(session): "
            "hash-chained Ledger rows; the library commits once per line inside post()"
        ),
    ),
    "django-ledger": Peer(
        name="django-ledger",
        script=HERE / "django_ledger_job.py",
        backends=("sqlite", "postgresql"),
        summary=(
            "entity.create_invoice (numbered in its own durable transaction), then in one "
            "atomic block: 3 service ItemTransactionModel + 1 VAT item, mark_as_review, "
            "mark_as_approved (accrual: posted JournalEntryModel)"
        ),
    ),
}

VERSIONS_SCRIPT = """
import importlib.metadata as m, json, platform, sqlite3, sys
names = %r
out = {}
for name in names:
    try:
        out[name] = m.version(name)
    except m.PackageNotFoundError:
        out[name] = None
out["python"] = platform.python_version()
out["sqlite"] = sqlite3.sqlite_version
print(json.dumps(out))
"""

REQUIRES_SCRIPT = """
import importlib.metadata as m, json
print(json.dumps(m.requires(%r) or []))
"""


class PeerEnvError(RuntimeError):
    """The peers' environment could not be made; the log says why."""


def python() -> Path:
    return VENV / "bin" / "python"


def _run(args: list[str], step: str) -> str:
    PEERS_DIR.mkdir(parents=True, exist_ok=True)
    with LOG.open("a", encoding="utf-8") as log:
        log.write(f"\n$ {' '.join(args)}\n")
        log.flush()
        proc = subprocess.run(
            args,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )
        log.write(proc.stdout)
    if proc.returncode != 0:
        raise PeerEnvError(f"{step} failed (exit {proc.returncode}); see {LOG.relative_to(ROOT)}")
    return proc.stdout


def installed_versions() -> dict[str, str | None] | None:
    """Versions in the peers' environment, or None when it does not answer."""
    if not python().exists():
        return None
    try:
        proc = subprocess.run(
            [str(python()), "-c", VERSIONS_SCRIPT % (REPORTED,)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout)


def _pinned_ok(versions: dict[str, str | None]) -> bool:
    for requirement in (*REQUIREMENTS, *NO_DEPS):
        if "==" in requirement:
            name, version = requirement.split("==")
            if versions.get(name) != version:
                return False
    return True


def is_ready() -> bool:
    if not STAMP.exists():
        return False
    try:
        stamp = json.loads(STAMP.read_text())
    except ValueError:
        return False
    if stamp.get("spec") != SPEC_KEY:
        return False
    versions = installed_versions()
    return versions is not None and _pinned_ok(versions)


def _requirement_name(requirement: str) -> str:
    name = requirement.split(";")[0].strip()
    for stop in " (<>=!~[":
        name = name.split(stop)[0]
    return name.strip().lower()


def ensure_env(step: Callable[[str], None] = lambda _: None) -> dict[str, str | None]:
    """Make the peers' environment if needed; return the versions installed in it."""
    if is_ready():
        return json.loads(STAMP.read_text())["versions"]

    if not python().exists():
        step(f"creating {VENV.relative_to(ROOT)}")
        _run([sys.executable, "-m", "venv", "--clear", str(VENV)], "creating the venv")
        step("upgrading pip in the peers' venv")
        _run([str(python()), "-m", "pip", "install", "--upgrade", "pip"], "upgrading pip")

    pip = [str(python()), "-m", "pip", "install", "--no-input"]
    step("installing " + ", ".join(REQUIREMENTS))
    _run([*pip, *REQUIREMENTS], "installing django-ledger")
    step("installing " + ", ".join(NO_DEPS) + " (--no-deps)")
    _run([*pip, "--no-deps", *NO_DEPS], "installing python-accounting")

    needed: list[str] = []
    for requirement in NO_DEPS:
        name = requirement.split("==")[0]
        declared = json.loads(_run([str(python()), "-c", REQUIRES_SCRIPT % name], "metadata"))
        for dependency in declared:
            if "extra ==" in dependency:
                continue
            if _requirement_name(dependency) in SKIPPED_DEPENDENCIES:
                continue
            needed.append(dependency.replace(" (", "").replace(")", "").split(";")[0].strip())
    if needed:
        step("installing python-accounting's pure-Python needs: " + ", ".join(needed))
        _run([*pip, *needed], "installing python-accounting's dependencies")

    step("checking that the peers import")
    _run(
        [str(python()), "-c", "import django, django_ledger, python_accounting, psycopg"],
        "importing the peers",
    )
    versions = installed_versions()
    if versions is None or not _pinned_ok(versions):
        raise PeerEnvError(f"unexpected versions in the peers' venv: {versions}")
    STAMP.write_text(json.dumps({"spec": SPEC_KEY, "versions": versions}, indent=2) + "\n")
    return versions
