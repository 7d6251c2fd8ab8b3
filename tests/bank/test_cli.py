"""`openbill bank ...` end to end through the real command line (main.py): a camt.053 file of
March 2026 for ACME's account, imported, matched, reviewed, undone and reconciled.

The book: C1 owes A 119.00 (8 widgets at 12.50 + 19 %) and pays from IBAN_C1; C3 owes
C 29.75 (2 widgets). The statement, opening 1,000.00 (the account's opening balance):

    03-09  +119.00  C1's IBAN, the RF reference of A     -> automatic (reference)
    03-16   +29.75  a private payer, "Zahlung"           -> review: the only open invoice of
                                                            29.75 is C, nothing else says so
    03-31   -12.50  transaction code CHRG                -> automatic (bank charges)
    closing 1,136.25
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from fixtures_book import ENTITY, build_book, invoice
from typer.testing import CliRunner

from openbill.adapters.bank.write import write_camt053, write_mt940
from openbill.domain.reference import creditor_reference
from openbill.interfaces.cli.main import app
from openbill.usecases import masterdata as md

from .book import IBAN_C1, OWN, entry, statement

MARCH = (date(2026, 3, 1), date(2026, 3, 31))


@pytest.fixture
def bank(db_url, monkeypatch, tmp_path):
    monkeypatch.delenv("OPENBILL_ENTITY", raising=False)
    book = build_book(db_url)
    try:
        a = invoice(book, "C1", date(2026, 2, 10), ("WIDGET", "8")).number
        c = invoice(book, "C3", date(2026, 2, 12), ("WIDGET", "2")).number
        md.update_customer(book.uow(), md.UpdateCustomer(ENTITY, "C1", (("iban", IBAN_C1),)))
    finally:
        book.close()
    march = statement(
        [
            entry(
                11900,
                date(2026, 3, 9),
                ref="B1",
                name="ALPHA GMBH",
                iban=IBAN_C1,
                creditor_reference=creditor_reference(a),
            ),
            entry(2975, date(2026, 3, 16), ref="B2", name="MAX MUSTER", text="Zahlung"),
            entry(-1250, date(2026, 3, 31), ref="B3", text="Entgelte", code="ACMT/MDOP/CHRG"),
        ],
        100000,
        *MARCH,
        number="3",
    )
    camt = tmp_path / "march.camt053.xml"
    camt.write_bytes(
        write_camt053([march], message_id="CLI-2026-03", created=datetime(2026, 4, 1, tzinfo=UTC))
    )
    mt940 = tmp_path / "march.sta"
    mt940.write_bytes(write_mt940([march]))
    runner = CliRunner()

    def call(*args, code=0):
        result = runner.invoke(app, [*args, "--db", db_url], env={"COLUMNS": "220"})
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    call(
        "bank", "accounts", "add", "Main EUR", "--currency", "EUR", "--iban", OWN,
        "--opening-balance", "1000.00", "--as-of", "2026-02-28",
    )  # fmt: skip
    call.files = {"camt": camt, "mt940": mt940, "dir": tmp_path}
    call.numbers = (a, c)
    return call


def _lines(run):
    rows = json.loads(run("bank", "lines", "--json").stdout)
    return {r["amount"]: r for r in rows}


def test_import_matches_and_a_second_import_adds_nothing(bank):
    first = bank("bank", "import", str(bank.files["camt"]))
    assert "3 new line(s)" in first.stdout
    assert "1000.00" in first.stdout and "1136.25" in first.stdout
    assert "3 line(s): 2 posted automatically (67%), 1 waiting for review" in first.stdout
    again = bank("bank", "import", str(bank.files["camt"]))
    assert "already imported" in again.stdout and "0 new line(s)" in again.stdout
    # The same month as MT940 (no bank ids in common with the XML but the same entries).
    copy = bank("bank", "import", str(bank.files["mt940"]))
    assert "0 new line(s)" in copy.stdout
    lines = _lines(bank)
    assert len(lines) == 3
    assert (lines["119.00"]["status"], lines["-12.50"]["status"], lines["29.75"]["status"]) == (
        "matched",
        "matched",
        "review",
    )


def test_review_confirm_undo_and_reconcile(bank):
    bank("bank", "import", str(bank.files["camt"]))
    _, c = bank.numbers
    queue = json.loads(bank("bank", "review", "--json").stdout)
    assert [(r["amount"], r["counterparty"]) for r in queue] == [("29.75", "MAX MUSTER")]
    line = queue[0]["id"]
    shown = bank("bank", "show", str(line))
    assert c in shown.stdout and "only open invoice" in shown.stdout

    # Before the review: 1,000.00 + 119.00 - 12.50 = 1,106.50 in the book, the statement says
    # 1,136.25; the 29.75 waiting is the whole difference.
    before = bank("bank", "reconcile", "--account", "Main EUR", "--period", "2026-03").stdout
    assert "1136.25" in before and "1106.50" in before
    assert "bank lines not in the book (1, waiting for review)" in before
    assert _row(before, "unexplained") == "0.00"

    confirmed = bank("bank", "review", "confirm", str(line))
    assert f"line {line}: payment posted" in confirmed.stdout
    assert json.loads(bank("bank", "review", "--json").stdout) == []
    after = bank("bank", "reconcile", "--account", "Main EUR", "--period", "2026-03").stdout
    assert _row(after, "difference") == "0.00" and _row(after, "unexplained") == "0.00"
    assert "matched 2 automatically and 1 by hand; 0 waiting" in after

    paid = _lines(bank)["119.00"]["id"]
    undone = bank("bank", "undo", str(paid), "--reason", "C1 paid twice; this was C2")
    assert f"line {paid}: decision undone" in undone.stdout
    assert _lines(bank)["119.00"]["status"] == "new"  # it waits to be matched again
    # The payment and its reversal cancel: 1,136.25 - 119.00 = 1,017.25 in the book.
    later = bank("bank", "reconcile", "--account", "Main EUR", "--period", "2026-03").stdout
    assert "1017.25" in later and _row(later, "difference") == "119.00"
    assert _row(later, "unexplained") == "0.00"
    # Undoing again is refused with the reason, nothing changes.
    again = bank("bank", "undo", str(paid), "--reason", "twice", code=1)
    assert f"bank line {paid}: it has no decision to undo" in again.stderr
    bank("verify")


def test_a_broken_file_is_refused_and_nothing_is_imported(bank):
    broken = bank.files["dir"] / "broken.xml"
    text = bank.files["camt"].read_text(encoding="utf-8")
    broken.write_text(text.replace('<Amt Ccy="EUR">119.00</Amt>', '<Amt Ccy="EUR">1x9</Amt>'))
    result = bank("bank", "import", str(broken), code=1)
    message = result.stdout + result.stderr
    assert "broken.xml" in message and "1x9" in message
    assert bank("bank", "lines", "--json").stdout.strip() == "[]"


def _row(report: str, label: str) -> str:
    """The amount on the reconciliation's row that starts with `label`."""
    for line in report.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if len(cells) == 2 and cells[0].startswith(label):
            return cells[1]
    raise AssertionError(f"no row {label!r} in\n{report}")
