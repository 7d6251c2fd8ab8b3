"""The `openbill` command line, end to end against a fresh book (the `db_url` fixture: a SQLite
file in a temporary folder, or a new PostgreSQL database on the PostgreSQL pass).

Every figure below is computed by hand in the comment next to it.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openbill.interfaces.cli.main import app


class Cli:
    def __init__(self, db: str) -> None:
        self.db = db
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0) -> str:
        result = self.runner.invoke(app, [*args, "--db", self.db], env={"COLUMNS": "200"})
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result.stdout

    def fail(self, *args: str, code: int = 1) -> str:
        result = self.runner.invoke(app, [*args, "--db", self.db], env={"COLUMNS": "200"})
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result.stderr

    def json(self, *args: str) -> object:
        return json.loads(self(*args, "--json"))

    def csv(self, *args: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(self(*args, "--csv"))))


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.delenv("OPENBILL_ENTITY", raising=False)
    monkeypatch.delenv("OPENBILL_DATABASE_URL", raising=False)
    return Cli(db_url)


@pytest.fixture
def book(cli: Cli) -> Cli:
    """An entity ACME (DE, EUR, 19 % standard VAT, 7 % reduced), customer C1, WIDGET 12.50."""
    cli(
        "entities",
        "create",
        "ACME",
        "--name",
        "Acme GmbH",
        "--country",
        "DE",
        "--currency",
        "EUR",
        "--vat-id",
        "DE136695976",
        "--iban",
        "DE89370400440532013000",
    )
    cli(
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
    cli(
        "tax",
        "add-rule",
        "--jurisdiction",
        "DE",
        "--class",
        "reduced",
        "--category",
        "S",
        "--rate",
        "7",
        "--from",
        "2020-01-01",
    )
    cli(
        "customers",
        "create",
        "C1",
        "--name",
        "Kunde Eins",
        "--country",
        "DE",
        "--currency",
        "EUR",
        "--segment",
        "manufacturing",
    )
    cli("charges", "create", "WIDGET", "--name", "Widget", "--unit", "piece", "--account", "4000")
    cli(
        "charges",
        "create",
        "BOOK",
        "--name",
        "Handbook",
        "--unit",
        "H87",
        "--account",
        "4010",
        "--tax-class",
        "reduced",
    )
    cli(
        "prices",
        "add",
        "WIDGET",
        "--currency",
        "EUR",
        "--from",
        "2026-01-01",
        "--model",
        "per_unit",
        "--params",
        '{"unit_price":"12.50"}',
    )
    cli(
        "prices",
        "add",
        "BOOK",
        "--currency",
        "EUR",
        "--from",
        "2026-01-01",
        "--model",
        "per_unit",
        "--params",
        '{"unit_price":"39.00"}',
    )
    return cli


def test_invoice_figures_by_hand(book: Cli) -> None:
    # 3 x 12.50 = 37.50 net; 19 % of 37.50 = 7.125 -> 7.13 (half up); total 44.63.
    text = book("invoices", "create", "C1", "--line", "WIDGET:3", "--date", "2026-11-02")
    assert "INV-2026-000001" in text
    assert "net 37.50 + tax 7.13 = 44.63 EUR, due 2026-12-02" in text  # net30 by default
    [row] = book.json("invoices", "list", "--as-of", "2026-11-02")
    assert row == {
        "number": "INV-2026-000001",
        "kind": "invoice",
        "status": "issued",
        "customer": "C1",
        "date": "2026-11-02",
        "due": "2026-12-02",
        "currency": "EUR",
        "total": "44.63",
        "open": "44.63",
    }
    shown = book.json("invoices", "show", "INV-2026-000001")
    assert shown["lines"][0]["unit_price"] == "12.50"
    assert shown["taxes"] == [
        {"category": "S", "rate": "19", "taxable": "37.50", "tax": "7.13", "note": ""}
    ]
    table = book("invoices", "show", "INV-2026-000001")
    assert "Tax subtotals" in table and "44.63 EUR" in table


def test_mixed_rates_and_manual_price(book: Cli) -> None:
    # WIDGET 2 x 9.99 (manual) = 19.98 at 19 % -> 3.7962 -> 3.80
    # BOOK 3 x 39.00 = 117.00 at 7 % -> 8.19; total 19.98 + 117.00 + 3.80 + 8.19 = 148.97
    text = book(
        "invoices",
        "create",
        "C1",
        "--line",
        "WIDGET:2:9.99",
        "--line",
        "BOOK:3",
        "--date",
        "2026-11-03",
    )
    assert "net 136.98 + tax 11.99 = 148.97 EUR" in text
    taxes = book.json("invoices", "show", "INV-2026-000001")["taxes"]
    assert {(t["rate"], t["taxable"], t["tax"]) for t in taxes} == {
        ("19", "19.98", "3.80"),
        ("7", "117.00", "8.19"),
    }


def test_draft_add_line_issue(book: Cli) -> None:
    assert "draft 1 for C1: 1 line(s), total 14.88 EUR" in book(
        "invoices", "draft", "C1", "--line", "WIDGET:1", "--date", "2026-11-05"
    )  # 12.50 + 2.375 -> 2.38 = 14.88
    # 12.50 + 39.00 = 51.50 net; tax 2.38 + 2.73 = 5.11; total 56.61
    assert "net 51.50 + tax 5.11 = 56.61 EUR" in book(
        "invoices", "add-line", "1", "--line", "BOOK:1"
    )
    [draft] = book.json("invoices", "list", "--status", "draft")
    assert draft["number"] == "draft 1"
    assert "issued invoice INV-2026-000001" in book(
        "invoices", "issue", "1", "--date", "2026-11-05"
    )
    err = book.fail("invoices", "add-line", "1", "--line", "BOOK:1")
    assert "already issued as INV-2026-000001" in err


def test_payment_overpayment_refund_and_balances(book: Cli) -> None:
    book("invoices", "create", "C1", "--line", "WIDGET:3", "--date", "2026-11-02")  # 44.63
    book("invoices", "create", "C1", "--line", "WIDGET:2", "--date", "2026-11-03")  # 29.75
    # 25 + 4.75 = 29.75; pay 100.00: 44.63 + 29.75 = 74.38 allocated, 25.62 left as credit.
    text = book(
        "payments",
        "record",
        "C1",
        "100.00",
        "--date",
        "2026-11-10",
        "--reference",
        "bank 42",
        "--idempotency-key",
        "p-1",
    )
    assert (
        "allocated 74.38 to INV-2026-000001, INV-2026-000002 (oldest); customer credit now 25.62"
        in text
    )
    # The same key again is a replay: nothing new.
    book(
        "payments",
        "record",
        "C1",
        "100.00",
        "--date",
        "2026-11-10",
        "--reference",
        "bank 42",
        "--idempotency-key",
        "p-1",
    )
    [payment] = book.json("payments", "list")
    assert (payment["amount"], payment["allocated"], payment["unallocated"]) == (
        "100.00",
        "74.38",
        "25.62",
    )
    [balance] = book.csv("customers", "balances")
    assert (balance["receivable"], balance["credit"], balance["balance"]) == (
        "0.00",
        "25.62",
        "-25.62",
    )
    assert {r["status"] for r in book.json("invoices", "list")} == {"paid"}
    err = book.fail("payments", "refund", "C1", "30.00")
    assert "error: refund field amount: C1 has 25.62 EUR of credit; cannot refund 30.00" in err
    assert "paid 25.62 EUR" in book("payments", "refund", "C1", "25.62", "--date", "2026-11-12")
    assert book.csv("customers", "balances")[0]["credit"] == "0.00"
    assert "all checks passed" in book("verify")


def test_explicit_allocation_credit_note_and_write_off(book: Cli) -> None:
    book("invoices", "create", "C1", "--line", "WIDGET:3", "--date", "2026-11-02")  # 44.63
    book("invoices", "create", "C1", "--line", "WIDGET:10", "--date", "2026-11-02")  # 148.75
    # 125.00 + 23.75 = 148.75; pay 20.00 to the second one only.
    book(
        "payments", "record", "C1", "20.00", "--to", "INV-2026-000002:20.00", "--date", "2026-11-04"
    )
    rows = {r["number"]: r for r in book.json("invoices", "list", "--as-of", "2026-11-04")}
    assert rows["INV-2026-000001"]["open"] == "44.63"
    assert rows["INV-2026-000002"]["open"] == "128.75"
    assert rows["INV-2026-000002"]["status"] == "partially_paid"
    # Void the first: a credit note for all of it, applied to what is open.
    text = book(
        "invoices", "void", "INV-2026-000001", "--reason", "cancelled", "--date", "2026-11-05"
    )
    assert "issued credit note CN-2026-000001" in text and "44.63 EUR" in text
    rows = {r["number"]: r for r in book.json("invoices", "list", "--as-of", "2026-11-05")}
    assert rows["INV-2026-000001"]["status"] == "void"
    assert rows["CN-2026-000001"]["kind"] == "credit_note"
    # Credit 2 of the 10 widgets of the second: 25.00 + 4.75 = 29.75; open 128.75 - 29.75 = 99.00
    book(
        "invoices",
        "credit",
        "INV-2026-000002",
        "--reason",
        "2 damaged",
        "--line",
        "1:2",
        "--date",
        "2026-11-06",
    )
    assert book.json("invoices", "show", "INV-2026-000002")["open"] == "99.00"
    assert "write-off 1: 99.00 EUR of INV-2026-000002" in book(
        "writeoffs", "create", "INV-2026-000002", "--reason", "insolvent", "--date", "2026-11-20"
    )
    shown = book.json("invoices", "show", "INV-2026-000002")
    assert shown["open"] == "0.00"
    assert any(s["source"].startswith("write-off") for s in shown["settlements"])
    assert "all checks passed" in book("verify")


def test_aging_and_ledger_check_row(book: Cli) -> None:
    book(
        "customers",
        "create",
        "C2",
        "--name",
        "Kunde Zwei",
        "--country",
        "DE",
        "--currency",
        "EUR",
        "--terms",
        "net14",
    )
    book("invoices", "create", "C1", "--line", "WIDGET:3", "--date", "2026-11-02")  # 44.63
    book("invoices", "create", "C2", "--line", "WIDGET:2", "--date", "2026-11-02")  # 29.75
    rows = book.json("ar", "aging", "--as-of", "2026-11-30")
    by = {r["customer"]: r for r in rows}
    assert by["C1"]["current"] == "44.63"  # due 2026-12-02
    assert by["C2"]["1-30"] == "29.75"  # due 2026-11-16, 14 days late
    assert by["TOTAL"]["total"] == "74.38"
    assert by["TOTAL"]["currency"] == "EUR"
    ledger = book.csv("ledger", "balances")
    check = [r for r in ledger if r["account"] == "CHECK"]
    assert check == [
        {
            "account": "CHECK",
            "name": "balanced",
            "currency": "EUR",
            "debit": "74.38",
            "credit": "74.38",
            "balance": "0.00",
        }
    ]
    revenue = next(r for r in ledger if r["account"] == "4000")
    assert revenue["balance"] == "-62.50"  # 37.50 + 25.00 of revenue, a credit balance


def test_lists_in_three_formats(book: Cli) -> None:
    assert "Kunde Eins" in book("customers", "list")
    [c] = book.json("customers", "list")
    assert (c["code"], c["segment"], c["regime"]) == ("C1", "manufacturing", "domestic")
    assert [r["code"] for r in book.csv("charges", "list")] == ["BOOK", "WIDGET"]
    prices = book.json("prices", "list", "--charge", "WIDGET")
    assert json.loads(prices[0]["params"]) == {"unit_price": "12.50"}
    assert book.json("entities", "list")[0]["vat_id"] == "DE136695976"
    assert {r["class"] for r in book.csv("tax", "list")} == {"standard", "reduced"}
    book("customers", "update", "C1", "--set", "email=ap@c1.example", "--set", "terms=net14")
    assert book.json("customers", "list")[0]["email"] == "ap@c1.example"


def test_rejections_name_record_field_reason_and_change_nothing(book: Cli) -> None:
    err = book.fail(
        "customers", "create", "C9", "--name", "X", "--country", "XX", "--currency", "EUR"
    )
    assert err.startswith("error: customer C9 field country: ")
    assert [c["code"] for c in book.json("customers", "list")] == ["C1"]

    err = book.fail(
        "customers",
        "create",
        "C9",
        "--name",
        "X",
        "--country",
        "FR",
        "--currency",
        "EUR",
        "--regime",
        "reverse_charge",
    )
    assert "error: customer C9 field vat_id: " in err

    err = book.fail(
        "invoices", "create", "C1", "--line", "WIDGET:1", "--line", "NOPE:1", "--date", "2026-11-02"
    )
    assert "error: line 2 field charge_code: no charge code 'NOPE'" in err
    assert book.json("invoices", "list") == []
    # No number was used up: the next invoice is still the first of the series.
    assert "INV-2026-000001" in book(
        "invoices", "create", "C1", "--line", "WIDGET:1", "--date", "2026-11-02"
    )

    err = book.fail(
        "prices",
        "add",
        "WIDGET",
        "--currency",
        "EUR",
        "--from",
        "2026-01-01",
        "--model",
        "per_unit",
        "--params",
        '{"unit_price":"13.00"}',
    )
    assert "field effective_from: a different price already starts on this date" in err

    err = book.fail("payments", "record", "C1", "10.001")
    assert "error: payment field amount: 10.001 has more decimals than EUR allows" in err
    assert book.json("payments", "list") == []

    err = book.fail("customers", "update", "C1", "--set", "currency=USD")
    assert "error: customer C1 field currency: cannot change currency" in err
    assert "all checks passed" in book("verify")


def test_usage_errors_exit_2(book: Cli) -> None:
    assert "CODE:QTY" in book.fail("invoices", "create", "C1", "--line", "WIDGET", code=2)
    assert "not a date" in book.fail(
        "invoices", "create", "C1", "--line", "WIDGET:1", "--date", "2026-13-01", code=2
    )
    book("entities", "create", "OTHER", "--name", "Other", "--country", "DE", "--currency", "EUR")
    err = book.fail("customers", "list", code=2)
    assert "2 legal entities (ACME, OTHER)" in err and "--entity" in err
    assert book.json("customers", "list", "--entity", "ACME")[0]["code"] == "C1"


def test_entity_from_environment(book: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    book("entities", "create", "OTHER", "--name", "Other", "--country", "DE", "--currency", "EUR")
    monkeypatch.setenv("OPENBILL_ENTITY", "OTHER")
    assert book.json("customers", "list") == []


def test_empty_book(cli: Cli) -> None:
    assert "no legal entity yet" in cli.fail("customers", "list", code=2)
    assert "all checks passed" in cli("verify")
    assert cli.json("entities", "list") == []


@pytest.mark.slow
def test_demo_twice(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "demo-output"
    first = cli("demo", "--out", str(folder))
    assert "checks passed" in first and "violation" not in first
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    before = cli.json("invoices", "list")
    payments = cli.json("payments", "list")
    second = cli("demo", "--out", str(folder))
    assert "62 invoices; nothing added" in second
    assert "checks passed" in second
    assert cli.json("invoices", "list") == before
    assert cli.json("payments", "list") == payments
    # The second run writes every file again, byte for byte the same.
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == files

    # November: 56 catalog invoices and 6 issued from deliveries; 2 drafts are left for the
    # user. (The quarter of collections after it adds fee invoices and a re-bill.)
    invoices = [
        d
        for d in before
        if d["kind"] == "invoice" and d["status"] != "draft" and d["date"] <= "2026-11-30"
    ]
    assert len(invoices) == 62
    assert [d["status"] for d in before if d["kind"] == "invoice"].count("draft") == 2
    assert {c: sum(d["currency"] == c for d in invoices) for c in ("EUR", "USD", "GBP")} == {
        "EUR": 53,
        "USD": 5,
        "GBP": 4,
    }
    assert sorted(d["number"] for d in invoices) == [f"INV-2026-{n:06d}" for n in range(1, 63)]
    # The void of INV-2026-000003 and the credit of a corrected delivery, both applied.
    november_notes = [d for d in before if d["kind"] == "credit_note" and d["date"] <= "2026-11-30"]
    assert [d["status"] for d in november_notes] == ["applied", "applied"]
    # 64 documents x (PDF, UBL, CII) + 3 Factur-X + the three delivery files, and from the
    # quarter of collections the exchange rates and the bank export, and from the bank month
    # its statement as CAMT.053 and as MT940; and the billing desk's log-ins.
    assert len(files) == 64 * 3 + 3 + 3 + 2 + 2 + 1
    logins = [ln.split() for ln in files["demo-logins.txt"].decode().splitlines()[1:]]
    assert [(r, u) for r, u, _ in logins] == [
        (r, f"demo-{r}") for r in ("clerk", "specialist", "manager", "auditor", "administrator")
    ]
    assert all(len(pw) == 16 and pw in first and pw in second for _, _, pw in logins)
    assert (folder / "demo-logins.txt").stat().st_mode & 0o077 == 0  # its owner's only
    assert {"bank-2027-03.camt053.xml", "bank-2027-03.sta"} <= set(files)
    # The overpaying customer's 250.00 of credit is refunded in the bank month (day 10), so
    # none is left.
    balances = {b["customer"]: b for b in cli.json("customers", "balances")}
    assert balances["MFG-009"]["credit"] == "0.00"
    # MED-002: 4 exams x 85.00 + 22 tests x 24.00 = 868.00 exempt (E, no VAT);
    # 4 support hours x 95.00 = 380.00 (above the 190.00 minimum) + 19 % = 72.20;
    # total 868.00 + 380.00 + 72.20 = 1320.20.
    first_invoice = cli.json("invoices", "show", "INV-2026-000001")
    assert first_invoice["customer"] == "MED-002"
    assert first_invoice["total"] == "1320.20"
    assert {t["category"]: t["note"] for t in first_invoice["taxes"]} == {
        "E": "VATEX-EU-132 Exempt medical treatment",
        "S": "",
    }
    # The MACH-PART price change on 2026-11-16: 12.50 before, 13.10 from then on.
    seen = set()
    for d in invoices:
        if d["currency"] != "EUR" or not d["customer"].startswith("MFG"):
            continue
        for line in cli.json("invoices", "show", d["number"])["lines"]:
            if line["description"].startswith("Machined part"):
                seen.add((d["date"] >= "2026-11-16", line["unit_price"]))
    assert seen == {(False, "12.50"), (True, "13.10")}
    # Reverse-charge customers pay no German VAT.
    fr = next(d for d in invoices if d["customer"] == "EU-FR-01")
    assert cli.json("invoices", "show", fr["number"])["tax"] == "0.00"
    assert "all checks passed" in cli("verify")
