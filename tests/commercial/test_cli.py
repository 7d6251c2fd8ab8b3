"""`openbill contracts | po | deliveries | billing` end to end on a fresh book. The sub-apps are
mounted on a local Typer app here until main.py registers them."""

from __future__ import annotations

import csv
import json

import pytest
import typer
from fixtures_book import build_book
from typer.testing import CliRunner

from openbill.domain.commercial import DELIVERY_FIELDS
from openbill.interfaces.cli import commercial_cmds as cc

app = typer.Typer()
app.add_typer(cc.contracts_app, name="contracts")
app.add_typer(cc.po_app, name="po")
app.add_typer(cc.deliveries_app, name="deliveries")
app.add_typer(cc.billing_app, name="billing")


@pytest.fixture
def run(db_url, monkeypatch):
    monkeypatch.delenv("OPENBILL_ENTITY", raising=False)
    build_book(db_url).close()
    runner = CliRunner()

    def call(*args, code=0):
        result = runner.invoke(app, [*args, "--db", db_url], env={"COLUMNS": "200"})
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    return call


GOOD = "D-1,shipment,C1,K1,PO-1,1,WIDGET,2026-01-05,,4,,,,,\n"
BAD = "D-2,shipment,C1,K1,PO-1,7,WIDGET,2026-01-05,,4,,,,,\n"  # PO-1 has no line 7
HEADER = ",".join(DELIVERY_FIELDS[:-1]) + "\n"  # every column but description


def test_cli_a_file_that_is_no_deliveries_file_is_refused_even_with_keep_good(run, tmp_path):
    file = tmp_path / "timesheet.csv"
    file.write_text("ref,colour\nX,red\n")
    refused = run("deliveries", "import", str(file), "--keep-good", code=1)
    assert "timesheet.csv:1: field colour: unknown column 'colour'" in refused.stderr
    assert "nothing was imported (timesheet.csv cannot be read as deliveries)" in refused.stderr
    assert not (tmp_path / "timesheet.csv.rejects.csv").exists()
    assert json.loads(run("deliveries", "list", "--json").stdout) == []


def test_cli_contract_po_import_and_prepare(run, tmp_path):
    run(
        "contracts",
        "create",
        "K1",
        "--customer",
        "C1",
        "--from",
        "2026-01-01",
        "--grouping",
        "per_po",
    )
    run(
        "contracts",
        "add-price",
        "K1",
        "--charge",
        "WIDGET",
        "--price",
        "11.00",
        "--from",
        "2026-01-01",
    )
    listed = json.loads(run("contracts", "list", "--json").stdout)
    assert [(c["number"], c["grouping"]) for c in listed] == [("K1", "per_po")]
    run("po", "create", "PO-1", "--customer", "C1", "--contract", "K1")
    run("po", "add-line", "PO-1", "--customer", "C1", "--line", "1", "--charge", "WIDGET",
        "--quantity", "100")  # fmt: skip
    file = tmp_path / "jan.csv"
    file.write_text(HEADER + GOOD + BAD)
    refused = run("deliveries", "import", str(file), code=1)
    assert "jan.csv:3: field po_line: purchase order PO-1 has no line 7" in refused.stderr
    assert json.loads(run("deliveries", "list", "--json").stdout) == []
    kept = run("deliveries", "import", str(file), "--keep-good")
    assert "1 new" in kept.stdout and "1 rejected" in kept.stdout
    with (tmp_path / "jan.csv.rejects.csv").open() as stream:
        (reject,) = list(csv.DictReader(stream))
    assert (reject["ref"], reject["source_line"], reject["error_field"]) == ("D-2", "3", "po_line")
    prepared = json.loads(run("billing", "prepare", "--through", "2026-01-31", "--json").stdout)
    # 4 x 11.00 (the contract price) = 44.00
    assert [(p["kind"], p["net"], p["deliveries"]) for p in prepared] == [("draft", "44.00", "D-1")]
    assert json.loads(run("billing", "prepare", "--through", "2026-01-31", "--json").stdout) == []
    (line,) = json.loads(run("po", "list", "--json").stdout)
    assert (line["used_quantity"], line["used_amount"]) == ("4", "44.00")
