"""`openbill dunning ...` end to end through the command line (Typer's runner, the real
templates, the system clock: every date used lies in the past)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from openbill.interfaces.cli.main import app

pytestmark = pytest.mark.slow  # each builds a book through the command line: 2-6 s


def cli(db: str, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(
        app,
        [*args, "--db", db],
        env={"COLUMNS": "200", "OPENBILL_ACTOR": "clerk", "OPENBILL_SMTP_FROM": ""},
    )
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout if code == 0 else result.stderr


@pytest.fixture
def db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("OPENBILL_ENTITY", raising=False)
    monkeypatch.delenv("OPENBILL_TEMPLATES_DIR", raising=False)
    for args in (
        ("entities", "create", "ACME", "--name", "Acme GmbH", "--country", "DE", "--currency")
        + ("EUR", "--email", "ar@acme.example"),
        ("tax", "add-rule", "--jurisdiction", "DE", "--class", "standard", "--category", "S")
        + ("--rate", "19", "--from", "2020-01-01"),
        ("tax", "add-rule", "--jurisdiction", "DE", "--class", "outside", "--category", "O")
        + ("--rate", "0", "--from", "2020-01-01", "--reason", "Not subject to VAT")
        + ("--code", "VATEX-EU-O"),
        ("customers", "create", "C1", "--name", "Alpha GmbH", "--country", "DE")
        + ("--currency", "EUR", "--email", "ap@alpha.example"),
        ("charges", "create", "WIDGET", "--name", "Widget", "--unit", "piece", "--account")
        + ("4000",),
        ("prices", "add", "WIDGET", "--currency", "EUR", "--from", "2020-01-01", "--model")
        + ("per_unit", "--params", '{"unit_price":"100.00"}'),
        ("charges", "create", "LATE-FEE", "--name", "Late fee", "--unit", "piece", "--account")
        + ("4810", "--tax-class", "outside"),
        ("charges", "create", "LATE-INTEREST", "--name", "Interest", "--unit", "piece")
        + ("--account", "4820", "--tax-class", "outside"),
        # 10 x 100.00 + 19 % = 1190.00 EUR, due 2026-02-01
        ("invoices", "create", "C1", "--line", "WIDGET:10", "--date", "2026-01-02"),
        ("dunning", "policy", "add", "STD", "--name", "Standard")
        + ("--step", "-3:reminder:friendly", "--step", "7:reminder:first")
        + ("--step", "21:reminder+late_fee=5.00:second")
        + ("--step", "35:final_notice+interest+recovery_fee:final")
        + ("--step", "42:credit_hold+collections"),
    ):
        cli(db_url, *args)
    return db_url


def test_policy_list_show_and_settings(db):
    listed = json.loads(cli(db, "dunning", "policy", "list", "--json"))
    assert [(p["code"], p["default"], p["minimum"]) for p in listed] == [("STD", "yes", "0.00")]
    shown = json.loads(cli(db, "dunning", "policy", "show", "STD", "--json"))
    assert [(s["offset_days"], s["actions"], s["fee"]) for s in shown["steps"]] == [
        (-3, "reminder", ""),
        (7, "reminder", ""),
        (21, "late_fee+reminder", "5.00"),
        (35, "recovery_fee+interest+final_notice", ""),
        (42, "credit_hold+collections", ""),
    ]
    text = cli(db, "dunning", "settings", "--interest", "--reference-rate", "2.15", "--margin", "9")
    assert "enabled: reference rate 2.15 % + margin 9 points = 11.15 % a year" in text
    assert "recovery fee 40.00 EUR per invoice" in text
    error = cli(db, "dunning", "policy", "add", "BAD", "--name", "x", "--step", "7:dance:t", code=1)
    assert "'dance' is not an action" in error


def test_run_refuses_a_missing_charge_code_then_runs_once(db):
    cli(db, "dunning", "settings", "--interest", "--reference-rate", "2.15", "--margin", "9")
    odd = ("--name", "Odd", "--step", "21:late_fee=5.00", "--fee-code", "NO-SUCH", "--default")
    cli(db, "dunning", "policy", "add", "ODD", *odd)
    error = cli(db, "dunning", "run", "--as-of", "2026-03-13", code=1)
    assert "charge code 'NO-SUCH', which is not in the catalog" in error
    assert "default policy STD" in cli(db, "dunning", "settings", "--default-policy", "STD")
    out = cli(db, "dunning", "run", "--as-of", "2026-03-13")
    assert "4 step(s) taken, 1 fee invoice(s), 1 e-mail(s) queued" in out
    # 1190.00 x 11.15 / 100 x 40 / 365 = 14.5408... -> 14.54 interest
    assert "interest 14.54 EUR (40 days at 11.15 %) on INV-2026-000002" in out
    again = json.loads(cli(db, "dunning", "run", "--as-of", "2026-03-13", "--json"))
    assert (again["steps_taken"], again["lines"]) == (0, [])
    report = json.loads(cli(db, "dunning", "report", "1", "--json"))
    assert [line["step_no"] for line in report["lines"] if line["outcome"] == "taken"] == [
        1,
        2,
        3,
        4,
    ]
    history = json.loads(cli(db, "dunning", "history", "INV-2026-000001", "--json"))
    assert [(h["step_no"], h["fee"], h["interest"]) for h in history] == [
        (1, "", ""),
        (2, "", ""),
        (3, "5.00", ""),
        (4, "40.00", "14.54"),
    ]
    assert "all checks passed" in cli(db, "verify")
    runs = json.loads(cli(db, "dunning", "runs", "--json"))
    assert [(r["id"], r["steps"]) for r in runs] == [(2, 0), (1, 4)]


def test_promise_holds_and_release(db):
    when = ("--by", "2026-02-15", "--made-on", "2026-02-01")
    out = cli(db, "dunning", "promise", "C1", "--amount", "1190.00", *when)
    assert "pays 1190.00 EUR by 2026-02-15" in out
    skipped = json.loads(cli(db, "dunning", "run", "--as-of", "2026-02-10", "--json"))
    assert [(x["reason"], x["outcome"]) for x in skipped["lines"]] == [
        ("promise to pay", "skipped")
    ]
    promises = json.loads(cli(db, "dunning", "promises", "--json"))
    assert [(p["status"], p["amount"]) for p in promises] == [("open", "1190.00")]
    error = cli(db, "dunning", "hold", "C1", "--credit", "--reason", "short", code=1)
    assert "at least 10 characters" in error
    cli(db, "dunning", "hold", "C1", "--credit", "--reason", "credit limit exceeded")
    refused = cli(db, "invoices", "create", "C1", "--line", "WIDGET:1", code=1)
    assert "on credit hold (credit limit exceeded)" in refused
    held = json.loads(cli(db, "dunning", "holds", "list", "--json"))
    assert [(h["kind"], h["reason"]) for h in held] == [("credit", "credit limit exceeded")]
    cli(db, "dunning", "release", "C1", "--credit", "--reason", "limit raised by the CFO")
    assert json.loads(cli(db, "dunning", "holds", "list", "--json")) == []
    every = json.loads(cli(db, "dunning", "holds", "list", "--all", "--json"))
    assert [h["release_reason"] for h in every] == ["limit raised by the CFO"]
    cli(db, "invoices", "create", "C1", "--line", "WIDGET:1")


def test_assign_language_and_dry_run_table(db):
    out = cli(db, "dunning", "assign", "C1")
    assert "policy STD (the default); letters in de (from the country)" in out
    out = cli(db, "dunning", "assign", "C1", "--language", "en")
    assert "letters in en (chosen)" in out
    out = cli(db, "dunning", "run", "--as-of", "2026-02-10", "--dry-run")
    assert "dunning dry run as of 2026-02-10" in out
    assert "reminder e-mail would be queued" in out
    assert json.loads(cli(db, "dunning", "runs", "--json")) == []


def test_the_progress_bar_does_not_disturb_the_report(db, monkeypatch):
    from openbill.interfaces.cli import dunning_cmds

    monkeypatch.setattr(dunning_cmds, "PROGRESS_FROM", 1)
    out = cli(db, "dunning", "run", "--as-of", "2026-02-10")
    assert out.startswith("dunning run 1 as of 2026-02-10: 1 invoice(s) with a step due, 2 step(s)")
