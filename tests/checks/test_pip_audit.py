"""pip-audit over the installed environment (.venv: openbill's dependencies and the test
tools): no known vulnerability.

It needs an answer from the vulnerability service (PyPI's JSON API by default;
OPENBILL_PIP_AUDIT_SERVICE=osv asks api.osv.dev). In CI (CI=true) it runs and fails on a
finding, and also on no answer: a service that cannot be reached, or packages it could not
audit. Elsewhere no answer skips it, saying how to run it by hand.

Database-independent: it runs in the SQLite pass of scripts/test.sh only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import in_ci

pytestmark = pytest.mark.slow

PIP_AUDIT = Path(sys.executable).parent / "pip-audit"
SERVICE = os.environ.get("OPENBILL_PIP_AUDIT_SERVICE", "pypi")
REQUEST_TIMEOUT_S = 15  # each request to the service
TIMEOUT_S = 600  # the whole audit (about 130 packages)
BY_HAND = (
    f"run `{PIP_AUDIT} --local --skip-editable` where https://pypi.org answers "
    "(or `-s osv` for https://api.osv.dev; OPENBILL_PIP_AUDIT_SERVICE=osv here)"
)


def _no_answer(reason: str) -> None:
    message = f"pip-audit got no answer: {reason}; {BY_HAND}"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def test_no_installed_package_has_a_known_vulnerability(database_backend, tmp_path):
    if database_backend != "sqlite":
        pytest.skip("pip-audit does not depend on the database: it runs in the SQLite pass")
    report = tmp_path / "audit.json"
    command = [str(PIP_AUDIT), "--local", "--skip-editable", "--progress-spinner", "off"]
    command += ["-s", SERVICE, "--timeout", str(REQUEST_TIMEOUT_S), "-f", "json"]
    command += ["-o", str(report)]
    try:
        done = subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        _no_answer(f"the audit took more than {TIMEOUT_S} s")
    if not report.exists():
        last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        _no_answer(last[:300])
    found, unaudited, total = read_report(json.loads(report.read_text()))
    assert total, "pip-audit listed no installed package"
    assert not found, "known vulnerabilities:\n" + "\n".join(found)
    if unaudited:
        # pip-audit says "No known vulnerabilities found" even when it audited nothing.
        _no_answer(f"{len(unaudited)} of {total} packages not audited, e.g. {unaudited[0]}")
    assert done.returncode == 0, done.stderr


def read_report(report: dict) -> tuple[list[str], list[str], int]:
    """pip-audit's JSON: (the vulnerabilities found, the packages it could not audit, the
    packages listed)."""
    dependencies = report["dependencies"]
    found = [
        f"{d['name']} {d['version']}: {v['id']} "
        f"(fixed in {', '.join(v.get('fix_versions') or []) or 'no release yet'})"
        for d in dependencies
        for v in d.get("vulns", [])
    ]
    unaudited = [f"{d['name']}: {d['skip_reason']}" for d in dependencies if "skip_reason" in d]
    return found, unaudited, len(dependencies)


def test_a_report_is_read_into_findings_and_packages_left_unaudited():
    # pip-audit 2.x's JSON, written by hand: one vulnerable package, one clean, one skipped.
    report = {
        "dependencies": [
            {
                "name": "jinja2",
                "version": "3.1.2",
                "vulns": [{"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"], "aliases": []}],
            },
            {"name": "lxml", "version": "5.2.0", "vulns": []},
            {"name": "private", "skip_reason": "Dependency not found on PyPI"},
        ],
        "fixes": [],
    }
    found, unaudited, total = read_report(report)
    assert found == ["jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in 3.1.3)"]
    assert unaudited == ["private: Dependency not found on PyPI"]
    assert total == 3
