"""`openbill einvoice export` and `openbill einvoice read`, on this run's database."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import typer
from fixtures_book import ENTITY, invoice
from typer.testing import CliRunner

from openbill.interfaces.cli.einvoice_cmds import einvoice_app

app = typer.Typer()
app.add_typer(einvoice_app, name="einvoice")


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.delenv("OPENBILL_ENTITY", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    return run


def test_export_then_read_both_syntaxes(book: Any, db_url: str, run: Any, tmp_path: Path) -> None:
    # WIDGET x 3 (37.50 at 19 % -> 7.13) and BOOK x 2 (19.98 at 7 % -> 1.40): total 66.01.
    issued = invoice(book, "C1", date(2026, 1, 5), ("WIDGET", "3"), ("BOOK", "2"))
    for syntax in ("ubl", "cii"):
        target = tmp_path / f"out-{syntax}.xml"
        done = run(
            "einvoice", "export", issued.number, "--syntax", syntax, "-o", str(target),
            "--entity", ENTITY, "--db", db_url,
        )  # fmt: skip
        assert f"wrote {issued.number} as {syntax}" in done.stdout
        shown = run("einvoice", "read", str(target)).stdout
        assert "Acme GmbH" in shown and "Alpha GmbH" in shown
        assert "Widget" in shown and "Book" in shown
        assert "7.13" in shown and "1.40" in shown and "66.01" in shown
        data = json.loads(run("einvoice", "read", str(target), "--json").stdout)
        assert data["number"] == issued.number and data["type_code"] == "380"
        assert data["seller"]["vat_id"] == "DE136695976"
        assert data["totals"]["payable"] == "66.01" and data["tax_total"] == "8.53"
        assert [line["net_amount"] for line in data["lines"]] == ["37.50", "19.98"]
        assert [(v["rate"], v["tax_amount"]) for v in data["vat_breakdown"]] == [
            ("7", "1.40"),
            ("19", "7.13"),
        ]


def test_export_to_standard_output(book: Any, db_url: str, run: Any) -> None:
    issued = invoice(book, "C1", date(2026, 1, 5), ("WIDGET", "1"))
    done = run("einvoice", "export", issued.number, "--syntax", "cii", "-o", "-", "--db", db_url)
    assert done.stdout.startswith("<?xml") and "CrossIndustryInvoice" in done.stdout


def test_read_a_factur_x_pdf(corpora: Path, run: Any) -> None:
    pdf = corpora / "en16931" / "facturx-zugferd" / "pdf" / "EN16931_Einfach.pdf"
    data = json.loads(run("einvoice", "read", str(pdf), "--json").stdout)
    assert data["number"] == "471102" and data["totals"]["payable"] == "529.87"


def test_refusals_are_one_line_and_exit_1(book: Any, db_url: str, run: Any, tmp_path: Path) -> None:
    junk = tmp_path / "junk.xml"
    junk.write_text("<Document/>")
    refused = run("einvoice", "read", str(junk), code=1)
    assert "error: e-invoice: not an e-invoice" in refused.stderr
    missing = run("einvoice", "read", str(tmp_path / "nothing.xml"), code=1)
    assert "cannot read" in missing.stderr
    unknown = run("einvoice", "export", "INV-X", "--syntax", "ubl", "--db", db_url, code=1)
    assert "no issued document numbered 'INV-X'" in unknown.stderr
