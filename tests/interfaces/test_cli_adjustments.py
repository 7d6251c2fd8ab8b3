"""`--allowance` and `--charge` on `invoices create`, shown by `invoices show --json`."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from openbill.interfaces.cli.main import app


def run(db: str, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, [*args, "--db", db], env={"COLUMNS": "200"})
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout if code == 0 else result.stderr


def test_allowance_and_charge_from_the_command_line(db_url: str, monkeypatch) -> None:
    monkeypatch.delenv("OPENBILL_ENTITY", raising=False)
    db = db_url
    run(db, "entities", "create", "ACME", "--name", "Acme", "--country", "DE", "--currency", "EUR")
    run(
        db,
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
    run(db, "customers", "create", "C1", "--name", "Kunde", "--country", "DE", "--currency", "EUR")
    run(db, "charges", "create", "W", "--name", "Widget", "--unit", "piece", "--account", "4000")
    run(
        db,
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
    # 8 x 12.50 = 100.00 - 10.00 + 5.00 = 95.00; 19 % = 18.05; total 113.05.
    out = run(
        db,
        "invoices",
        "create",
        "C1",
        "--line",
        "W:8",
        "--allowance",
        "10.00:loyalty",
        "--charge",
        "5:freight",
        "--date",
        "2026-11-20",
    )
    assert "net 95.00 + tax 18.05 = 113.05 EUR" in out
    shown = json.loads(run(db, "invoices", "show", "INV-2026-000001", "--json"))
    assert shown["allowances_charges"] == [
        {
            "kind": "allowance",
            "reason": "loyalty",
            "amount": "10.00",
            "category": "S",
            "rate": "19",
        },
        {"kind": "charge", "reason": "freight", "amount": "5.00", "category": "S", "rate": "19"},
    ]
    bad = run(db, "invoices", "create", "C1", "--line", "W:1", "--charge", "5", code=2)
    assert "AMOUNT:REASON" in bad
