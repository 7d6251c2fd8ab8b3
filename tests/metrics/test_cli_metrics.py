"""`openbill ar metrics` on the `q1` book (scenario.py): table, JSON, CSV and refusals.

The figures are the hand-computed ones of test_receivables_metrics.py: EUR DSO 49.7 days,
CEI 89.3 %, two invoices paid in 44.5 days on average, 14.5 days late, both late; JPY paid in
28.0 days, 2.0 days early; INV-2026-000002 (C2) written off.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from openbill.interfaces.cli.main import app


def run(db: str, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["ar", "metrics", *args, "--db", db], env={"COLUMNS": "220"})
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout if code == 0 else result.stderr


@pytest.fixture
def db(q1, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("OPENBILL_ENTITY", raising=False)
    return q1.url


def cells(text: str, first: str) -> list[str]:
    """The cells of the table row whose first cell is `first`."""
    for line in text.splitlines():
        parts = [p.strip() for p in line.strip().strip("│┃").split("│")]
        if parts and parts[0] == first:
            return parts
    raise AssertionError(f"no row {first!r} in:\n{text}")


def test_table(db):
    text = run(db, "--as-of", "2026-03-31")
    assert "Receivables metrics ACME, 2026-01-01..2026-03-31" in text
    # cur | AR at end | current | credit sales | DSO | CEI | paid | to pay | late | late % | off
    assert cells(text, "EUR")[:11] == [
        "EUR",
        "136.64",
        "106.89",
        "385.39",
        "49.7",
        "89.3",
        "2",
        "44.5",
        "14.5",
        "100.0",
        "1",
    ]
    assert cells(text, "JPY")[:10] == [
        "JPY",
        "0",
        "0",
        "1586",
        "0.0",
        "100.0",
        "1",
        "28.0",
        "-2.0",
        "0.0",
    ]
    assert cells(text, "C1")[2:6] == ["EUR", "2", "44.5", "14.5"]
    # C2 paid nothing: "n/a", and the reason is printed under the tables.
    assert cells(text, "C2")[3:7] == ["0", "n/a", "n/a", "n/a"]
    assert "n/a: no invoice was paid in the period" in text
    assert "Written off, not counted as paid (1 of 1)" in text
    assert cells(text, "INV-2026-000002")[1:] == [
        "C2",
        "EUR",
        "2026-01-20",
        "2026-02-19",
        "2026-03-01",
        "0.00",
        "100.00",
    ]


def test_json(db):
    data = json.loads(run(db, "--from", "2026-01-01", "--to", "2026-03-31", "--json"))
    assert (data["from"], data["to"], data["customer"]) == ("2026-01-01", "2026-03-31", "")
    eur = data["currencies"][0]
    assert eur["currency"] == "EUR"
    assert (eur["receivables"], eur["current"], eur["credit_sales"]) == (
        "136.64",
        "106.89",
        "385.39",
    )
    assert (eur["dso_days"], eur["cei_percent"]) == ("49.7", "89.3")
    assert (eur["avg_days_to_pay"], eur["avg_days_late"], eur["paid_late_percent"]) == (
        "44.5",
        "14.5",
        "100.0",
    )
    c2 = next(c for c in data["customers"] if c["customer"] == "C2")
    assert c2["avg_days_to_pay"] is None
    assert c2["avg_days_to_pay_note"] == "no invoice was paid in the period"
    assert data["written_off_count"] == 1
    assert data["written_off"][0]["number"] == "INV-2026-000002"


def test_csv_one_customer(db):
    rows = list(
        csv.DictReader(io.StringIO(run(db, "--as-of", "2026-03-31", "--customer", "C1", "--csv")))
    )
    assert [(r["level"], r["customer"], r["currency"]) for r in rows] == [
        ("currency", "", "EUR"),
        ("customer", "C1", "EUR"),
    ]
    # C1 alone: CEI (285.39 - 136.64) / (285.39 - 106.89) = 83.3
    assert (rows[0]["credit_sales"], rows[0]["cei_percent"], rows[0]["dso_days"]) == (
        "285.39",
        "83.3",
        "49.7",
    )
    assert (rows[1]["paid"], rows[1]["avg_days_to_pay"]) == ("2", "44.5")


def test_months_back_from_the_as_of_date(db):
    # One month: March only. Settled in March: INV4 (C1, 43 days) and INV3 (CJP); the write-off.
    data = json.loads(run(db, "--as-of", "2026-03-31", "--months", "1", "--json"))
    assert data["from"] == "2026-03-01"
    eur = data["currencies"][0]
    assert (eur["paid"], eur["avg_days_to_pay"], eur["written_off"]) == (1, "43.0", 1)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--from", "2026-01-01"), 1, "give both the start and the end of the period"),
        (("--as-of", "2026-03-31", "--months", "0"), 1, "months is between 1 and 36"),
        (("--as-of", "2026-03-31", "--from", "2026-01-01"), 2, "either --as-of"),
        (("--as-of", "2026-03-31", "--json", "--csv"), 2, "choose one of --json and --csv"),
        (("--as-of", "2026-03-31", "--customer", "NOPE"), 1, "no customer with code 'NOPE'"),
        (
            (
                "--as-of",
                "31.03.2026",
            ),
            2,
            "is not a date",
        ),
    ],
)
def test_refusals(db, args, code, message):
    assert message in run(db, *args, code=code)
