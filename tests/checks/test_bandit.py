"""bandit over src/: no finding of high severity. Its configuration is `[tool.bandit]` in
pyproject.toml, where a skipped test must carry its reason.

Medium and low findings are listed by `.venv/bin/bandit -c pyproject.toml -r src -ll`; those
left (B608, SQL text built from the code's own table and column names, every value a bound
parameter) are not real: see docs/architecture.md.

Database-independent: it runs in the SQLite pass of scripts/test.sh only."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from openbill.adapters.documents.dunning_mail import TemplateLetters
from openbill.usecases.dunning import Letter

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BANDIT = Path(sys.executable).parent / "bandit"
TIMEOUT_S = 600
MIN_LINES_SCANNED = 10_000  # src/ holds about 38,000: far fewer means bandit read the wrong tree


def _once(database_backend: str) -> None:
    if database_backend != "sqlite":
        pytest.skip("bandit does not depend on the database: it runs in the SQLite pass")


def test_bandit_finds_nothing_of_high_severity_in_src(database_backend, tmp_path):
    _once(database_backend)
    report = tmp_path / "bandit.json"
    done = subprocess.run(
        [str(BANDIT), "-c", "pyproject.toml", "-r", "src", "-lll", "-q", "-f", "json"]
        + ["-o", str(report)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert report.exists(), f"bandit wrote no report (exit {done.returncode}):\n{done.stderr}"
    data = json.loads(report.read_text())
    assert data["errors"] == [], data["errors"]  # files bandit could not read
    assert data["metrics"]["_totals"]["loc"] >= MIN_LINES_SCANNED, data["metrics"]["_totals"]
    found = [
        f"{r['filename']}:{r['line_number']}: {r['test_id']} ({r['issue_severity']}, "
        f"confidence {r['issue_confidence']}) {r['issue_text']}"
        for r in data["results"]
    ]
    assert not found, "bandit, high severity:\n" + "\n".join(found)
    assert done.returncode == 0, done.stderr


def test_dunning_letters_stay_plain_text_when_html_would_be_escaped():
    # The fix of bandit's B701 (autoescape=False): letters are .txt and must not be escaped;
    # an "&" or "<" in a name is written as it is.
    letter = Letter(
        language="en",
        template="first",
        step_no=1,
        final=False,
        as_of=date(2026, 2, 22),
        entity_name="Smith & Sons <Billing>",
        entity_email="ar@acme.example",
        entity_iban="",
        customer_code="C1",
        customer_name="Alpha & Omega",
        invoice_number="INV-2026-000001",
        invoice_date=date(2026, 1, 2),
        due_date=date(2026, 2, 1),
        currency="EUR",
        total_minor=2975,
        open_minor=2975,
        disputed_minor=0,
        dunned_minor=2975,
        days_overdue=21,
        charges=(),
        fee_invoice="",
        fees_open=(),
    )
    subject, body = TemplateLetters().render(letter)
    # en/first.txt: "Dear {{ customer.name }}," ... "Kind regards,\n{{ entity.name }}"
    assert "Dear Alpha & Omega," in body
    assert body.rstrip().endswith("Smith & Sons <Billing>")
    assert "&amp;" not in subject + body
