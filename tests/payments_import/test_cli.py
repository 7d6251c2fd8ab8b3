"""`openbill payments import FILE` end to end through the real command line (main.py), on a
fresh book with the invoices of test_import: A 119.00 and B 59.50 of C1, C 29.75 of C3."""

from __future__ import annotations

import csv
import json
from datetime import date

import pytest
from fixtures_book import build_book, invoice
from typer.testing import CliRunner

from openbill.domain.reference import creditor_reference
from openbill.interfaces.cli.main import app

HEADER = "customer,amount,currency,date,reference,method,id\n"


@pytest.fixture
def run(db_url, monkeypatch):
    monkeypatch.delenv("OPENBILL_ENTITY", raising=False)
    book = build_book(db_url)
    try:
        numbers = [
            invoice(book, "C1", date(2026, 1, 10), ("WIDGET", "8")).number,
            invoice(book, "C1", date(2026, 2, 10), ("WIDGET", "4")).number,
            invoice(book, "C3", date(2026, 2, 10), ("WIDGET", "2")).number,
        ]
    finally:
        book.close()
    runner = CliRunner()

    def call(*args, code=0):
        result = runner.invoke(
            app, ["payments", "import", *args, "--db", db_url], env={"COLUMNS": "200"}
        )
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    call.numbers = numbers
    return call


def test_import_prints_a_summary_and_a_second_run_adds_nothing(run, tmp_path):
    a, b, _ = run.numbers
    file = tmp_path / "bank.csv"
    file.write_text(
        HEADER
        + f"C1,59.50,EUR,2026-03-01,{creditor_reference(b)},bank_transfer,T1\n"
        + f",120.00,EUR,2026-03-02,Rechnung {a},,T2\n"
    )
    first = run(str(file))
    assert "bank.csv (profile openbill): 2 rows read, 2 payments recorded" in first.stdout
    # 59.50 + 120.00 = 179.50 received, 59.50 + 119.00 = 178.50 allocated, 1.00 credit.
    assert "179.50" in first.stdout and "178.50" in first.stdout and "1.00" in first.stdout
    assert "allocated by reference" in first.stdout
    again = run(str(file))
    assert "0 payments recorded, 2 already imported" in again.stdout


def test_json_output(run, tmp_path):
    a, _, _ = run.numbers
    file = tmp_path / "bank.csv"
    file.write_text(HEADER + f"C1,100.00,EUR,2026-03-01,{a},,T1\n")
    data = json.loads(run(str(file), "--json").stdout)
    assert (data["recorded"], data["allocation"]["reference"]) == (1, 1)
    assert data["totals"] == [
        {
            "currency": "EUR",
            "payments": 1,
            "received": "100.00",
            "allocated": "100.00",
            "credit_left": "0.00",
            "written_off": "0.00",
        }
    ]
    assert data["payments"][0]["invoices"] == [a]


def test_a_bad_row_refuses_the_file_and_names_every_bad_row(run, tmp_path):
    _, b, c = run.numbers
    file = tmp_path / "bank.csv"
    file.write_text(
        HEADER
        + f"C1,59.50,EUR,2026-03-01,{b},,T1\n"
        + f"C1,29.75,EUR,2026-03-01,{c},,T2\n"
        + "C9,1.00,EUR,2026-03-01,,,T3\n"
    )
    result = run(str(file), code=1)
    assert "bank.csv:3: field reference" in result.stderr
    assert "bank.csv:4: field customer" in result.stderr
    assert "2 bad row(s); nothing was imported" in result.stderr
    dry = run(str(file), "--keep-good", "--dry-run")
    assert "1 payments would be recorded" in dry.stdout
    assert "nothing was recorded" in dry.stdout


def test_keep_good_writes_the_rejects_file(run, tmp_path):
    _, b, c = run.numbers
    file = tmp_path / "bank.csv"
    file.write_text(
        HEADER + f"C1,59.50,EUR,2026-03-01,{b},,T1\n" + f"C1,29.75,EUR,2026-03-01,{c},,T2\n"
    )
    rejects = tmp_path / "bad.csv"
    result = run(str(file), "--keep-good", "--rejects", str(rejects))
    assert "1 payments recorded" in result.stdout and "1 rejected" in result.stdout
    rows = list(csv.DictReader(rejects.open()))
    assert len(rows) == 1
    assert (rows[0]["id"], rows[0]["line"], rows[0]["field"]) == ("T2", "3", "reference")
    assert "an invoice of C3, not of C1" in rows[0]["reason"]
    # The rejects file, corrected, imports with the same profile (the extra columns are
    # ignored) and the good row is not recorded twice.
    rejects.write_text(rejects.read_text().replace("C1,29.75", "C3,29.75"))
    fixed = run(str(rejects))
    assert "1 payments recorded" in fixed.stdout


def test_profiles_file_and_date_format(run, tmp_path):
    a, _, _ = run.numbers
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(
        '[profiles.mybank]\ndate = "Datum"\namount = "Betrag"\ncurrency = "EUR"\n'
        'reference = "Zweck"\ncustomer = "Kunde"\ndelimiter = ";"\ndecimal = ","\n'
    )
    file = tmp_path / "mybank.csv"
    file.write_text(f"Datum;Betrag;Zweck;Kunde\n03/01/2026;119,00;{a};C1\n")
    result = run(
        str(file),
        "--profile",
        "mybank",
        "--profiles",
        str(profiles),
        "--date-format",
        "MM/DD/YYYY",
        "--json",
    )
    assert json.loads(result.stdout)["recorded"] == 1
    unknown = run(str(file), "--profile", "nope", code=1)
    assert "no profile 'nope'" in unknown.stderr


def test_a_file_of_another_layout_is_refused(run, tmp_path):
    file = tmp_path / "x.csv"
    file.write_text("Buchungstag;Betrag\n01.03.2026;1,00\n")
    result = run(str(file), code=1)
    assert "no header line" in result.stderr
    assert "de-bank" not in result.stdout
