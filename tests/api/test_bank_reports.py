"""Reports by API: AR aging (buckets, as-of date, base currency), metrics, ledger balances and
entries, a customer's statement as JSON and PDF. Every figure worked out by hand from the test
book's prices (tests/fixtures_book.py: WIDGET 12.50 EUR / 1333 JPY at 19 %, BOOK 9.99 at 7 %;
net 30 days)."""

from __future__ import annotations

from datetime import date

import pytest
from fixtures_book import ENTITY, invoice

from openbill.usecases import fx
from openbill.usecases import payments as pay

BASE = f"/v1/entities/{ENTITY}"


@pytest.fixture
def books(desk):
    """Three open invoices and one paid in December:

    inv1  C1   2025-10-01  2 WIDGET  25.00 + 4.75 = 29.75   due 2025-10-31
    inv2  C1   2025-12-15  1 BOOK     9.99 + 0.70 = 10.69   due 2026-01-14
    inv3  CJP  2025-11-20  1 WIDGET  1333 + 253 = 1586 JPY  due 2025-12-20 (253.27 rounded)
    inv4  C1   2025-12-01  2 WIDGET  29.75, paid in full on 2025-12-11
    """
    book = desk.book
    made = {
        "inv1": invoice(book, "C1", date(2025, 10, 1), ("WIDGET", "2")).number,
        "inv2": invoice(book, "C1", date(2025, 12, 15), ("BOOK", "1")).number,
        "inv3": invoice(book, "CJP", date(2025, 11, 20), ("WIDGET", "1")).number,
        "inv4": invoice(book, "C1", date(2025, 12, 1), ("WIDGET", "2")).number,
    }
    pay.record_payment(
        book.uow(),
        pay.RecordPayment(
            entity=ENTITY,
            customer="C1",
            amount="29.75",
            received_on=date(2025, 12, 11),
            allocate="explicit",
            to=((made["inv4"], "29.75"),),
        ),
    )
    return made


def test_aging_with_its_buckets_on_a_day(desk, books):
    api = desk.client("auditor")
    reply = api.get(f"{BASE}/ar/aging", params={"as_of": "2026-01-01", "buckets": "15,45"})
    assert reply.status_code == 200, reply.text
    aging = reply.json()
    assert aging["labels"] == ["current", "1-15", "16-45", "45+"]
    rows = {r["customer"]: r for r in aging["rows"]}
    # On 2026-01-01 inv1 is 62 days past due (30 + 31 + 1), inv3 12 days, inv2 not yet due.
    assert rows["C1"]["buckets"] == {
        "current": "10.69",
        "1-15": "0.00",
        "16-45": "0.00",
        "45+": "29.75",
    }
    assert rows["C1"]["total"] == "40.44" and rows["C1"]["total_in_base"] == "40.44"
    assert rows["CJP"]["buckets"]["1-15"] == "1586" and rows["CJP"]["total_in_base"] is None
    assert aging["total_in_base"] is None  # no JPY rate: the sum in EUR would be a guess
    assert {r["currency"]: r["rate"] for r in aging["rates"]} == {"EUR": "1", "JPY": None}
    assert {t["currency"]: t["total"] for t in aging["totals"]} == {"EUR": "40.44", "JPY": "1586"}

    # With a rate of the day before: 1586 JPY * 0.0062 = 9.8332 EUR -> 9.83; in all
    # 29.75 + 10.69 + 9.83 = 50.27 EUR.
    fx.set_rate(desk.book.uow(), fx.SetRate(ENTITY, date(2025, 12, 31), "JPY", "EUR", "0.0062"))
    aging = api.get(f"{BASE}/ar/aging", params={"as_of": "2026-01-01"}).json()
    rows = {r["customer"]: r for r in aging["rows"]}
    assert rows["CJP"]["total_in_base"] == "9.83"
    assert aging["total_in_base"]["total"] == "50.27"
    # Default buckets 30,60,90: inv1 (62 days) in 61-90, inv3 (12) in 1-30.
    assert aging["total_in_base"]["61-90"] == "29.75"
    assert aging["total_in_base"]["1-30"] == "9.83"

    # On 2025-10-31, the due day itself, inv1 is current and the others do not exist yet.
    early = api.get(f"{BASE}/ar/aging", params={"as_of": "2025-10-31"}).json()
    assert [(r["customer"], r["buckets"]["current"]) for r in early["rows"]] == [("C1", "29.75")]


@pytest.mark.parametrize(
    "buckets", ["30,x", "60,30", "0,30", "30,30", ",".join(str(i) for i in range(1, 14))]
)
def test_aging_buckets_that_are_no_buckets_are_refused(desk, buckets):
    reply = desk.client("clerk").get(
        f"{BASE}/ar/aging", params={"as_of": "2026-01-01", "buckets": buckets}
    )
    assert reply.status_code == 422 and reply.json()["field"] == "buckets"


def test_aging_needs_its_day(desk):
    reply = desk.client("clerk").get(f"{BASE}/ar/aging")
    assert reply.status_code == 422 and reply.json()["field"] == "as_of"


def test_metrics_of_december(desk, books):
    api = desk.client("manager")
    reply = api.get(
        f"{BASE}/ar/metrics", params={"date_from": "2025-12-01", "date_to": "2025-12-31"}
    )
    assert reply.status_code == 200, reply.text
    m = reply.json()
    eur = next(c for c in m["currencies"] if c["currency"] == "EUR")
    # Credit sales in December: inv2 10.69 + inv4 29.75 = 40.44. AR on 2025-11-30: inv1
    # 29.75; on 2025-12-31: inv1 29.75 + inv2 10.69 = 40.44, of which current (not due):
    # inv2 10.69. CEI = (29.75 + 40.44 - 40.44) / (29.75 + 40.44 - 10.69) = 29.75 / 59.50
    # = 50.0 %.
    assert (eur["beginning_receivables"], eur["credit_sales"]) == ("29.75", "40.44")
    assert (eur["receivables"], eur["current"]) == ("40.44", "10.69")
    assert eur["cei_percent"] == {"value": "50.0", "note": "", "at_least": None}
    # inv4: issued 12-01, settled 12-11: 10 days to pay, 20 days early (due 12-31).
    assert (eur["paid"], eur["late"]) == (1, 0)
    assert eur["avg_days_to_pay"]["value"] == "10.0"
    assert eur["avg_days_late"]["value"] == "-20.0"
    # Nothing was paid in JPY: no averages, and why.
    jpy = next(c for c in m["currencies"] if c["currency"] == "JPY")
    assert jpy["avg_days_to_pay"]["value"] is None and jpy["avg_days_to_pay"]["note"]
    assert [(c["customer"], c["paid"]) for c in m["customers"]] == [("C1", 1)]
    for params, field in (
        ({"as_of": "2025-12-31", "date_from": "2025-12-01"}, "as_of"),
        ({"date_from": "2025-12-01"}, "date_to"),
        ({"months": 0}, "months"),
        ({"customer": "NOBODY"}, "code"),
    ):
        reply = api.get(f"{BASE}/ar/metrics", params=params)
        assert reply.status_code in (404, 422) and reply.json()["field"] == field, params


def test_ledger_balances_and_entries(desk, books):
    api = desk.client("auditor")
    ledger = api.get(f"{BASE}/ledger/balances").json()
    by = {(x["account"], x["currency"]): x for x in ledger["data"]}
    # Receivable in EUR: inv1 29.75 + inv2 10.69 + inv4 29.75 debited, 29.75 paid = 40.44.
    assert by[("1100", "EUR")]["debit"] == "70.19" and by[("1100", "EUR")]["balance"] == "40.44"
    # Widget revenue: 25.00 (inv1) + 25.00 (inv4) = 50.00 EUR, and 1333 JPY (inv3).
    assert by[("4000", "EUR")]["balance"] == "-50.00"
    assert by[("4000", "JPY")]["balance"] == "-1333"
    assert {c["currency"]: c["balanced"] for c in ledger["checks"]} == {"EUR": True, "JPY": True}

    # Entries, a page of one at a time, as posted: the four invoices, then the payment (bank
    # against customer credit) and its allocation to inv4 (credit against receivable).
    seen, cursor = [], None
    while True:
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = api.get(f"{BASE}/ledger/entries", params=params).json()
        seen += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [e["kind"] for e in seen] == ["invoice"] * 4 + ["payment", "allocation"]
    first = seen[0]
    assert first["entry_date"] == "2025-10-01"
    assert {(x["account"], x["amount"], x["customer"], x["document"]) for x in first["lines"]} >= {
        ("1100", "29.75", "C1", books["inv1"]),
        ("4000", "-25.00", "", ""),
    }
    assert sum(int(x["amount"].replace(".", "")) for x in first["lines"]) == 0
    dec = api.get(
        f"{BASE}/ledger/entries",
        params={"date_from": "2025-12-01", "date_to": "2025-12-31", "kind": "payment"},
    ).json()["data"]
    assert [e["entry_date"] for e in dec] == ["2025-12-11"]
    on_bank = api.get(f"{BASE}/ledger/entries", params={"account": "4010"}).json()["data"]
    assert [e["entry_date"] for e in on_bank] == ["2025-12-15"]  # BOOK revenue: inv2 only


def test_a_customers_statement_as_json_and_pdf(desk, books):
    api = desk.client("clerk")
    params = {"date_from": "2025-12-01", "date_to": "2025-12-31"}
    reply = api.get(f"{BASE}/statements/C1", params=params)
    assert reply.status_code == 200, reply.text
    s = reply.json()
    assert (s["customer"], s["name"]) == ("C1", "Alpha GmbH")
    [eur] = s["sections"]
    # Opening: inv1 29.75 (October). December: inv4 +29.75, payment -29.75, inv2 +10.69.
    assert eur["opening"] == "29.75"
    assert [(x["kind"], x["debit"], x["credit"], x["balance"]) for x in eur["lines"]] == [
        ("invoice", "29.75", "0.00", "59.50"),
        ("payment", "0.00", "29.75", "29.75"),
        ("invoice", "10.69", "0.00", "40.44"),
    ]
    assert (eur["debits"], eur["credits"], eur["closing"]) == ("40.44", "29.75", "40.44")
    printed = api.get(f"{BASE}/statements/C1/pdf", params=params)
    assert printed.status_code == 200
    assert printed.headers["content-type"] == "application/pdf"
    assert printed.content.startswith(b"%PDF-")
    assert (
        'filename="statement-C1-2025-12-01-2025-12-31.pdf"'
        in printed.headers["content-disposition"]
    )
    missing = api.get(f"{BASE}/statements/NOBODY")
    assert missing.status_code == 404
    backwards = api.get(
        f"{BASE}/statements/C1", params={"date_from": "2025-12-31", "date_to": "2025-12-01"}
    )
    assert backwards.status_code == 422 and backwards.json()["field"] == "date_to"
