"""`openbill verification settings`, `drafts approve`, `discrepancies list/show/resolve`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from openbill.interfaces.cli.main import app


def run(db: str, *args: str, code: int = 0, actor: str = "clerk") -> str:
    result = CliRunner().invoke(
        app, [*args, "--db", db], env={"COLUMNS": "200", "OPENBILL_ACTOR": actor}
    )
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout if code == 0 else result.stderr


@pytest.fixture
def db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("OPENBILL_ENTITY", raising=False)
    run(
        db_url,
        "entities",
        "create",
        "ACME",
        "--name",
        "Acme",
        "--country",
        "DE",
        "--currency",
        "EUR",
    )
    run(
        db_url,
        "tax",
        "add-rule",
        "--jurisdiction",
        "DE",
        "--class",
        "standard",
        "--category",
        "S",
        "--rate",
        "19",
        "--from",
        "2020-01-01",
    )
    run(
        db_url,
        "customers",
        "create",
        "C1",
        "--name",
        "Kunde",
        "--country",
        "DE",
        "--currency",
        "EUR",
        "--email",
        "ap@kunde.test",
        "--address",
        "Ring 1, Berlin",
    )
    run(db_url, "charges", "create", "W", "--name", "Widget", "--unit", "C62", "--account", "4000")
    run(
        db_url,
        "prices",
        "add",
        "W",
        "--currency",
        "EUR",
        "--from",
        "2026-01-01",
        "--model",
        "per_unit",
        "--params",
        '{"unit_price":"12.50"}',
    )
    return db_url


def test_approval_threshold_from_the_command_line(db: str) -> None:
    assert "approval threshold 100.00" in run(
        db, "verification", "settings", "--approval-threshold", "100"
    )
    # 10 x 12.50 = 125.00 + 19 % = 148.75 EUR, above 100.00.
    run(db, "invoices", "draft", "C1", "--line", "W:10", "--date", "2026-11-20")
    refused = run(db, "invoices", "issue", "1", "--date", "2026-11-20", code=1)
    assert "approval_required" in refused and "approval" in refused.split("approval_required")[1]
    [finding] = json.loads(run(db, "discrepancies", "list", "--json"))
    assert (finding["rule"], finding["severity"], finding["draft"]) == (
        "approval_required",
        "block",
        1,
    )
    assert "another person" in run(db, "drafts", "approve", "1", code=1)
    assert "approved by manager" in run(db, "drafts", "approve", "1", actor="manager")
    assert "INV-2026-000001" in run(db, "invoices", "issue", "1", "--date", "2026-11-20")
    assert json.loads(run(db, "discrepancies", "list", "--json")) == []


def test_override_needs_a_reason(db: str) -> None:
    run(db, "invoices", "create", "C1", "--line", "W:2", "--date", "2026-11-02")
    # A second invoice of the same 29.75 EUR within 30 days, same (empty) reference: a warning.
    run(db, "invoices", "draft", "C1", "--line", "W:2", "--date", "2026-11-03")
    run(db, "drafts", "verify", "2")
    [dup] = json.loads(run(db, "discrepancies", "list", "--json"))
    assert dup["rule"] == "possible_duplicate" and dup["severity"] == "warn"
    assert "reason" in run(db, "discrepancies", "resolve", str(dup["id"]), "--override", code=1)
    done = run(
        db,
        "discrepancies",
        "resolve",
        str(dup["id"]),
        "--override",
        "--reason",
        "monthly fee, billed twice on purpose",
    )
    assert "overridden" in done
    shown = run(db, "discrepancies", "show", str(dup["id"]))
    assert "monthly fee, billed twice on purpose" in shown and "clerk" in shown
