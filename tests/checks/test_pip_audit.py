"""pip-audit over the installed environment (.venv: openbill's dependencies and the test
tools): no known vulnerability.

It needs an answer from the vulnerability service (PyPI's JSON API per release by default;
OPENBILL_PIP_AUDIT_SERVICE=osv asks api.osv.dev). Where neither answers but PyPI's project
pages do (this project's CI machines reach pypi.org only through a proxy that serves
`/pypi/<name>/json` and not `/pypi/<name>/<version>/json`), the same question is asked of the
project pages: they carry the known vulnerabilities of a project's newest release, so every
package installed at its newest release is audited, and the others are named as not audited
(a warning). In CI (CI=true) it fails on a finding and on no answer at all; elsewhere no
answer skips it, saying how to run it by hand.

Database-independent: it runs in the SQLite pass of scripts/test.sh only."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import warnings
from concurrent.futures import ThreadPoolExecutor
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
        _audit_newest_releases(f"pip-audit: {last[:300]}")
        return
    found, unaudited, total = read_report(json.loads(report.read_text()))
    assert total, "pip-audit listed no installed package"
    assert not found, "known vulnerabilities:\n" + "\n".join(found)
    if unaudited:
        # pip-audit says "No known vulnerabilities found" even when it audited nothing.
        _audit_newest_releases(
            f"pip-audit: {len(unaudited)} of {total} packages not audited, e.g. {unaudited[0]}"
        )
        return
    assert done.returncode == 0, done.stderr


# --- the project pages of PyPI, where pip-audit's services cannot be reached ------------------

PYPI_PROJECT = "https://pypi.org/pypi/{name}/json"


def installed() -> dict[str, str]:
    """name -> version of every installed distribution but openbill itself (not on PyPI)."""
    found = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"].lower().replace("_", "-")
        if name != "openbill":
            found[name] = dist.version
    return found


def _project(name: str) -> dict | None:
    try:
        with urllib.request.urlopen(  # noqa: S310 (a fixed https URL)
            PYPI_PROJECT.format(name=name), timeout=REQUEST_TIMEOUT_S
        ) as answer:
            return json.load(answer)
    except (urllib.error.URLError, TimeoutError, ValueError):
        return None


def judge(
    versions: dict[str, str], projects: dict[str, dict | None]
) -> tuple[list[str], list[str], list[str]]:
    """(vulnerabilities found, packages audited, packages not audited with the reason), from
    the installed versions and the project pages (None: no answer). A page's vulnerabilities
    are those of the newest release, so they judge only a package installed at that release."""
    found, audited, not_audited = [], [], []
    for name, version in sorted(versions.items()):
        page = projects.get(name)
        if page is None:
            not_audited.append(f"{name} {version}: no answer from PyPI")
            continue
        newest = page["info"]["version"]
        if newest != version:
            not_audited.append(f"{name} {version}: PyPI's page speaks of {newest}")
            continue
        audited.append(name)
        for vuln in page.get("vulnerabilities") or []:
            if not vuln.get("withdrawn"):
                fixed = ", ".join(vuln.get("fixed_in") or []) or "no release yet"
                found.append(f"{name} {version}: {vuln['id']} (fixed in {fixed})")
    return found, audited, not_audited


def _audit_newest_releases(why: str) -> None:
    versions = installed()
    with ThreadPoolExecutor(max_workers=8) as pool:
        projects = dict(zip(versions, pool.map(_project, versions), strict=True))
    found, audited, not_audited = judge(versions, projects)
    if not audited:
        _no_answer(f"{why}; and PyPI's project pages did not answer either")
    assert not found, "known vulnerabilities:\n" + "\n".join(found)
    if not_audited:
        warnings.warn(
            f"{why}; PyPI's project pages audited {len(audited)} of {len(versions)} packages; "
            "not audited: " + "; ".join(not_audited),
            stacklevel=1,
        )


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


def test_project_pages_judge_only_packages_at_their_newest_release():
    # Pages written by hand in the shape of https://pypi.org/pypi/<name>/json.
    def page(version, *vulns):
        return {"info": {"version": version}, "vulnerabilities": list(vulns)}

    vuln = {"id": "PYSEC-2022-43012", "fixed_in": ["65.5.1"], "withdrawn": None}
    withdrawn = {"id": "GHSA-xxxx", "fixed_in": [], "withdrawn": "2024-01-01T00:00:00Z"}
    versions = {"setuptools": "65.5.0", "jinja2": "3.1.6", "lxml": "6.0.0", "gone": "1.0"}
    projects = {
        "setuptools": page("65.5.0", vuln),  # installed at the newest: judged, found
        "jinja2": page("3.1.6", withdrawn),  # a withdrawn advisory is no finding
        "lxml": page("6.1.0", vuln),  # behind the newest: the page does not speak of 6.0.0
        "gone": None,
    }
    found, audited, not_audited = judge(versions, projects)
    assert found == ["setuptools 65.5.0: PYSEC-2022-43012 (fixed in 65.5.1)"]
    assert audited == ["jinja2", "setuptools"]
    assert not_audited == [
        "gone 1.0: no answer from PyPI",
        "lxml 6.0.0: PyPI's page speaks of 6.1.0",
    ]
