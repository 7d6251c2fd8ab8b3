"""`openbill invoices export NUMBER --format pdf -o FILE` end to end (documents_cmds.export,
registered here the way main.py registers it)."""

from __future__ import annotations

import re
from datetime import date

import pytest
import typer
from fixtures_book import ENTITY, invoice
from pypdf import PdfReader
from typer.testing import CliRunner

from openbill.interfaces.cli import documents_cmds
from openbill.usecases import invoices as inv

app = typer.Typer()
invoices_app = typer.Typer()
invoices_app.command("export")(documents_cmds.export)
app.add_typer(invoices_app, name="invoices")


@pytest.fixture
def run(db_url, monkeypatch, tmp_path):
    monkeypatch.delenv("OPENBILL_ENTITY", raising=False)
    monkeypatch.delenv("OPENBILL_TEMPLATES_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args, code=0):
        result = runner.invoke(app, [*args, "--db", db_url], env={"COLUMNS": "200"})
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    return run


def test_export_credit_note_pdf_to_a_file(book, run, tmp_path):
    # 2 BOOK = 19.98 + 7 % = 1.3986 -> 1.40, total 21.38; the credit note credits all of it.
    issued = invoice(book, "C1", date(2026, 1, 5), ("BOOK", "2"))
    note = inv.credit_invoice(
        book.uow(), inv.CreditInvoice(ENTITY, issued.number, "wrong edition", date(2026, 1, 7))
    )
    target = tmp_path / "out" / "note.pdf"
    target.parent.mkdir()
    result = run("invoices", "export", note.number, "--format", "pdf", "-o", str(target))
    assert f"wrote {note.number} as pdf" in result.stdout
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(target).pages))
    assert note.number in text
    assert f"credits invoice {issued.number}" in text
    assert "Reason: wrong edition" in text
    assert "Total credited 21.38 EUR" in text
    assert [p.name for p in target.parent.iterdir()] == ["note.pdf"]  # no temporary left


def test_export_refusals(book, run, tmp_path):
    assert "no issued document" in run("invoices", "export", "INV-1999-000001", code=1).stderr
    run("invoices", "export", "X", "--format", "docx", code=2)
    issued = invoice(book, "C1", date(2026, 1, 5), ("BOOK", "1"))
    gone = str(tmp_path / "missing" / "x.pdf")
    assert "does not exist" in run("invoices", "export", issued.number, "-o", gone, code=2).stderr
    bad = run("invoices", "export", issued.number, "--templates", "/nonexistent", code=2)
    assert "template folder" in bad.stderr
