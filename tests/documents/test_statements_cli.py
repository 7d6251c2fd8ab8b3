"""`openbill statements show` end to end: table, CSV and PDF of a hand-computed statement.

C1 in January 2026 (fixtures_book prices; figures by hand):

    opening 2026-01-01                                   0.00
    2026-01-05  invoice  2 WIDGET 25.00 + 4.75 VAT      29.75   balance 29.75
    2026-01-20  payment  REF-1                         -10.00   balance 19.75
    closing 2026-01-31  charges 29.75, credits 10.00            19.75
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
import typer
from fixtures_book import ENTITY, invoice
from pypdf import PdfReader
from typer.testing import CliRunner

from openbill.interfaces.cli import documents_cmds
from openbill.usecases import payments as pay

app = typer.Typer()
app.add_typer(documents_cmds.statements_app, name="statements")


@pytest.fixture
def cli(book, db_url, monkeypatch):
    monkeypatch.delenv("OPENBILL_ENTITY", raising=False)
    monkeypatch.delenv("OPENBILL_TEMPLATES_DIR", raising=False)
    runner = CliRunner()
    inv = invoice(book, "C1", date(2026, 1, 5), ("WIDGET", "2"))
    pay.record_payment(
        book.uow(),
        pay.RecordPayment(ENTITY, "C1", "10.00", received_on=date(2026, 1, 20), reference="REF-1"),
    )

    def run(*args, code=0):
        result = runner.invoke(app, [*args, "--db", db_url], env={"COLUMNS": "200"})
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    run.number = inv.number
    return run


PERIOD = ("--from", "2026-01-01", "--to", "2026-01-31")


def test_statement_csv_parses_with_the_hand_computed_figures(cli):
    rows = list(
        csv.DictReader(io.StringIO(cli("statements", "show", "C1", *PERIOD, "--csv").stdout))
    )
    got = [
        (r["date"], r["type"], r["reference"], r["debit"], r["credit"], r["balance"]) for r in rows
    ]
    assert got == [
        ("2026-01-01", "opening", "", "", "", "0.00"),
        ("2026-01-05", "invoice", cli.number, "29.75", "", "29.75"),
        ("2026-01-20", "payment", "REF-1", "", "10.00", "19.75"),
        ("2026-01-31", "closing", "", "29.75", "10.00", "19.75"),
    ]
    assert {r["currency"] for r in rows} == {"EUR"}
    assert rows[1]["due"] == "2026-02-04"


def test_statement_table_json_and_pdf(cli, tmp_path):
    table = cli("statements", "show", "C1", *PERIOD).stdout
    assert "Opening balance" in table and "Closing balance" in table and "19.75" in table
    data = json.loads(cli("statements", "show", "C1", *PERIOD, "--json").stdout)
    assert data[-1]["balance"] == "19.75"
    target = tmp_path / "st.pdf"
    result = cli("statements", "show", "C1", *PERIOD, "--pdf", str(target))
    assert "wrote the statement" in result.stderr
    text = " ".join(p.extract_text() for p in PdfReader(target).pages)
    text = " ".join(text.split())
    assert "Statement of account" in text
    assert "Alpha GmbH" in text
    assert "Opening balance 0.00" in text
    assert f"{cli.number}" in text
    assert "REF-1" in text
    assert "Closing balance 29.75 10.00 19.75" in text
    assert "Amount owed on 2026-01-31: 19.75 EUR" in text


def test_statement_refusals(cli):
    assert "no customer" in cli("statements", "show", "NOPE", *PERIOD, code=1).stderr
    bad = cli("statements", "show", "C1", "--from", "2026-02-01", "--to", "2026-01-01", code=1)
    assert "ends before it starts" in bad.stderr
    assert cli("statements", "show", "C1", "--from", "yesterday", code=2).exit_code == 2
