"""`openbill disputes ...`: open, list, show, status, update, note, attach, resolve in each of
the three ways, report; refusals as one line on stderr with exit code 1 (usage: 2)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from fixtures_book import ENTITY, build_book, invoice, verify_clean
from typer.testing import CliRunner

from openbill.bootstrap import open_book
from openbill.interfaces.cli.main import app
from openbill.usecases import masterdata as m

ENV = {"COLUMNS": "200", "OPENBILL_ACTOR": "clerk", "OPENBILL_SMTP_FROM": "ar@acme.example"}


def run(db: str, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, [*args, "--db", db], env=ENV)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout if code == 0 else result.stderr


@pytest.fixture
def db(db_url, monkeypatch):
    monkeypatch.delenv("OPENBILL_ENTITY", raising=False)
    book = build_book(db_url)
    try:
        m.update_customer(book.uow(), m.UpdateCustomer(ENTITY, "C1", (("email", "ap@a.example"),)))
        for _ in range(3):
            # WIDGET x2 29.75 + BOOK x3 32.07 = 61.82
            invoice(book, "C1", date(2025, 12, 1), ("WIDGET", "2"), ("BOOK", "3"))
        invoice(book, "C3", date(2025, 12, 1), ("WIDGET", "1"))  # 14.88, no e-mail
    finally:
        book.close()
    return db_url


def test_three_cases_resolved_three_ways(db):
    out = run(
        db,
        "disputes",
        "open",
        "INV-2025-000001",
        "--reason",
        "price",
        "--line",
        "1",
        "--amount",
        "10.00",
        "--owner",
        "anna",
        "--due",
        "2025-12-31",
        "--note",
        "customer says 10.00 was agreed",
        "--date",
        "2025-12-10",
    )
    assert out.strip() == (
        "opened DSP-000001 on INV-2025-000001 line 1 (price): 10.00 EUR in dispute, owner "
        "anna; dunning pauses for this amount"
    )
    run(
        db,
        "disputes",
        "open",
        "INV-2025-000002",
        "--reason",
        "not_delivered",
        "--date",
        "2025-12-10",
    )
    run(db, "disputes", "open", "INV-2025-000003", "--reason", "contract_terms", "--amount", "5")
    assert "status open -> waiting_on_customer" in run(
        db, "disputes", "status", "DSP-000001", "waiting_on_customer", "--note", "asked"
    )
    assert "already waiting_on_customer" in run(
        db, "disputes", "status", "1", "waiting_on_customer"
    )
    assert "owner anna -> ben" in run(db, "disputes", "update", "1", "--owner", "ben")
    assert "6 entries" in run(db, "disputes", "note", "1", "contract 77 received")
    assert "7 entries" in run(
        db, "disputes", "attach", "1", "dms://contracts/77", "--label", "contract 77"
    )
    listed = json.loads(run(db, "disputes", "list", "--json"))
    assert [(r["case"], r["line"], r["charge_code"], r["amount"], r["status"]) for r in listed] == [
        ("DSP-000001", 1, "WIDGET", "10.00", "waiting_on_customer"),
        ("DSP-000002", "", "", "61.82", "open"),
        ("DSP-000003", "", "", "5.00", "open"),
    ]

    out = run(
        db,
        "disputes",
        "resolve",
        "1",
        "--rebill",
        "--line",
        "WIDGET:2:10.00",
        "--line",
        "BOOK:3",
        "--note",
        "contract price",
        "--date",
        "2025-12-15",
    )
    # 2 x 10.00 + 19 % = 23.80; + 32.07 = 55.87
    assert out.strip() == (
        "DSP-000001 resolved by re-bill: credit note CN-2025-000001 over 61.82 EUR credits "
        "INV-2025-000001; corrected invoice INV-2025-000005 over 55.87 EUR"
    )
    out = run(db, "disputes", "resolve", "2", "--credit-note", "--date", "2025-12-15")
    assert out.strip() == (
        "DSP-000002 resolved: credit note CN-2025-000002 over 61.82 EUR credits INV-2025-000002"
    )
    out = run(
        db,
        "disputes",
        "resolve",
        "3",
        "--reject",
        "--explanation",
        "Clause 4 of contract 77 sets the price.",
    )
    assert out.strip() == "DSP-000003 rejected; explanation queued to ap@a.example"

    shown = run(db, "disputes", "show", "DSP-000001")
    assert "credit note: CN-2025-000001 (61.82 EUR)" in shown
    assert "corrected invoice: INV-2025-000005 (55.87 EUR)" in shown
    assert "dms://contracts/77" in shown and "contract 77 received" in shown
    as_json = json.loads(run(db, "disputes", "show", "1", "--json"))
    assert [e["what"] for e in as_json["timeline"]] == [
        "opened",
        "note",
        "status",
        "note",
        "owner",
        "note",
        "attachment",
        "resolved",
    ]
    assert "Clause 4 of contract 77" in run(db, "disputes", "show", "3")
    assert json.loads(run(db, "disputes", "list", "--json")) == []

    report = json.loads(run(db, "disputes", "report", "--json"))
    rows = {(r["dimension"], r["key"]): r for r in report}
    assert rows[("total", "total")]["cases"] == 3
    assert rows[("total", "total")]["resolved"] == 2 and rows[("total", "total")]["rejected"] == 1
    # 10.00 + 61.82 + 5.00 = 76.82 disputed; credited net 61.82 - 55.87 = 5.95, + 61.82 = 67.77
    assert rows[("total", "total")]["disputed"] == "76.82 EUR"
    assert rows[("total", "total")]["adjusted"] == "67.77 EUR"
    assert rows[("charge_code", "WIDGET")]["cases"] == 1
    assert rows[("charge_code", "(whole invoice)")]["cases"] == 2
    assert rows[("cause", "price / WIDGET")]["adjusted"] == "5.95 EUR"
    table = run(db, "disputes", "report")
    assert "By reason" in table and "By charge code" in table and "contract_terms" in table
    assert "all checks passed" in run(db, "verify")


def test_refusals_and_usage_errors(db):
    run(db, "disputes", "open", "INV-2025-000004", "--reason", "price")
    err = run(
        db, "disputes", "resolve", "1", "--reject", "--explanation", "Per contract 77.", code=1
    )
    assert err.startswith("error: dispute case DSP-000001 field email: customer C3 has no e-mail")
    assert "--no-mail" in err
    assert "not e-mailed" in run(
        db, "disputes", "resolve", "1", "--reject", "--explanation", "Per contract 77.", "--no-mail"
    )
    err = run(db, "disputes", "status", "1", "open", code=1)
    assert "open a new case" in err
    assert "exactly one of" in run(db, "disputes", "resolve", "1", code=2)
    assert "exactly one of" in run(
        db, "disputes", "resolve", "1", "--credit-note", "--reject", code=2
    )
    assert "--rebill needs" in run(db, "disputes", "resolve", "1", "--rebill", code=2)
    err = run(db, "disputes", "open", "INV-2025-000001", "--reason", "weather", code=1)
    assert "'weather' is not one of: price, quantity, not_delivered" in err
    err = run(
        db, "disputes", "open", "INV-2025-000001", "--reason", "tax", "--amount", "61.83", code=1
    )
    assert "at most 61.82 EUR can be disputed" in err
    assert "no dispute case" in run(db, "disputes", "show", "DSP-000042", code=1)
    csv_out = run(db, "disputes", "list", "--status", "all", "--csv")
    assert csv_out.splitlines()[0].startswith("case,opened,customer,invoice")
    assert csv_out.splitlines()[1].startswith("DSP-000001,")
    book = open_book(db)
    try:
        verify_clean(book)
    finally:
        book.close()
