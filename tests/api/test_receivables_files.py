"""Files through the API: a payments file (text/csv body) read through a profile, all or
nothing unless keep_good, every bad row named, a dry run that changes nothing, a re-import
that adds nothing; exchange rates one at a time and from a file. Amounts by hand from the test
book's prices: 2 x WIDGET = 29.75 EUR, 1 x BOOK = 10.69 EUR."""

from __future__ import annotations

from datetime import date

from fixtures_book import invoice, open_of, row_counts, verify_clean

from openbill.interfaces.api.routes import uploads

from .conftest import ENTITY

BASE = f"/v1/entities/{ENTITY}"
IMPORT = f"{BASE}/payments/imports"
CSV = {"Content-Type": "text/csv"}
MONEY = ("payments", "allocations", "journal_entries", "journal_lines", "idempotency_keys")


def _money(desk) -> dict[str, int]:
    counts = row_counts(desk.book)
    return {k: counts[k] for k in MONEY}


def _actors(desk, action: str) -> list[str]:
    """Who the audit trail names for each event `action`, oldest first."""
    with desk.book.uow(read_only=True) as uow:
        return [e.actor for e in uow.audit.events() if e.action == action]


def _post(client, text: str, **params):
    return client.post(IMPORT, content=text.encode(), headers=CSV, params=params)


def _two_invoices(desk):
    a = invoice(desk.book, "C1", date(2025, 11, 3), ("WIDGET", "2"))  # 29.75
    b = invoice(desk.book, "C3", date(2025, 11, 5), ("BOOK", "1"))  # 10.69
    return a, b


def _file(a, b) -> str:
    return (
        "customer,amount,currency,date,reference,method,id\n"
        f"C1,29.75,EUR,2025-12-20,{a.number},bank_transfer,tx-1\n"
        f"C3,10.69,EUR,2025-12-21,paid {b.number},bank_transfer,tx-2\n"
    )


def test_a_payments_file_imported_as_credit_then_allocated_by_reference(desk):
    a, b = _two_invoices(desk)
    client = desk.client("specialist")
    reply = _post(client, _file(a, b), allocate="none", filename="bank-2025-12.csv")
    assert reply.status_code == 200, reply.text
    report = reply.json()
    assert (report["source"], report["profile"], report["rows_read"], report["recorded"]) == (
        "bank-2025-12.csv",
        "openbill",
        2,
        2,
    )
    assert report["allocation"]["none"] == 2 and report["rejected"] == []
    assert report["totals"] == [
        {
            "currency": "EUR",
            "payments": 2,
            "received": "40.44",  # 29.75 + 10.69
            "allocated": "0.00",
            "credit_left": "40.44",
            "written_off": "0.00",
        }
    ]
    first, second = report["payments"]
    assert (first["line"], first["customer"], first["amount"]) == (2, "C1", "29.75")
    # Allocating what is left of each: by the reference it carries.
    for paid, number in ((first, a.number), (second, b.number)):
        done = client.post(f"{BASE}/payments/{paid['payment_id']}/allocations", json={})
        assert done.status_code == 200, done.text
        assert [x["invoice"] for x in done.json()["payment"]["allocations"]] == [number]
    assert (open_of(desk.book, a.number), open_of(desk.book, b.number)) == (0, 0)
    # The same file again adds nothing.
    assert _actors(desk, "payments.imported") == ["specialist"]
    again = _post(client, _file(a, b), allocate="none", filename="bank-2025-12.csv").json()
    assert (again["recorded"], again["already_imported"]) == (0, 2)
    assert row_counts(desk.book)["payments"] == 2
    verify_clean(desk.book)


def test_one_bad_row_refuses_the_file_and_names_every_bad_row(desk):
    a, b = _two_invoices(desk)
    text = (
        _file(a, b)
        + "NOBODY,5.00,EUR,2025-12-22,,bank_transfer,tx-3\nC1,5.0x,EUR,2025-12-23,,,tx-4\n"
    )
    client = desk.client("specialist")
    before = _money(desk)
    reply = _post(client, text, filename="bad.csv")
    assert reply.status_code == 422
    assert reply.headers["content-type"] == "application/problem+json"
    problem = reply.json()
    assert [(e["line"], e["field"]) for e in problem["errors"]] == [(4, "customer"), (5, "amount")]
    assert "nothing was imported" in problem["detail"]
    assert (problem["record"], problem["field"]) == ("bad.csv:4", "customer")
    assert _money(desk) == before
    # With keep_good the good rows are recorded and the bad ones come back with their cells.
    kept = _post(client, text, filename="bad.csv", keep_good="true").json()
    assert kept["recorded"] == 2
    assert [(r["line"], r["field"]) for r in kept["rejected"]] == [(4, "customer"), (5, "amount")]
    assert kept["rejected"][0]["row"]["customer"] == "NOBODY"
    assert row_counts(desk.book)["payments"] == 2


def test_a_dry_run_reports_what_would_happen_and_changes_nothing(desk):
    a, b = _two_invoices(desk)
    client = desk.client("specialist")
    before = row_counts(desk.book)
    dry = _post(client, _file(a, b), dry_run="true").json()
    assert (dry["dry_run"], dry["recorded"]) == (True, 2)
    assert [p["payment_id"] for p in dry["payments"]] == [None, None]  # none was recorded
    assert dry["allocation"]["reference"] == 2  # auto: each pays the invoice it names
    after = row_counts(desk.book)
    changed = {k for k in before if before[k] != after[k]}
    assert changed <= {"login_attempts", "user_sessions", "audit_events", "chain_heads"}
    assert after["payments"] == 0 and open_of(desk.book, a.number) == 2975


def test_a_replayed_import_returns_the_first_report_and_records_nothing_more(desk):
    a, b = _two_invoices(desk)
    client = desk.client("specialist")
    key = {"Idempotency-Key": "import-2025-12"} | CSV
    first = client.post(IMPORT, content=_file(a, b).encode(), headers=key)
    assert first.status_code == 200
    counts = _money(desk)
    again = client.post(IMPORT, content=_file(a, b).encode(), headers=key)
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    assert _money(desk) == counts and counts["payments"] == 2


def test_a_german_bank_export_and_an_own_profile(desk):
    a = invoice(desk.book, "C1", date(2025, 11, 3), ("WIDGET", "2"))
    client = desk.client("specialist")
    german = (
        "Buchungstag;Verwendungszweck;Betrag;Waehrung\n"
        f"02.01.2026;Rechnung {a.number};29,75;EUR\n"
        "03.01.2026;Miete Januar;-1.200,00;EUR\n"
    )
    reply = _post(client, german, profile="de-bank", dry_run="true")
    assert reply.status_code == 200, reply.text
    got = reply.json()
    # The customer comes from the invoice the text names; the debit row is no payment.
    assert (got["recorded"], got["debits_skipped"]) == (1, 1)
    assert got["payments"][0]["customer"] == "C1"
    own = '[profiles.mybank]\ndate = "Valuta"\namount = "Betrag"\ncurrency = "EUR"\n'
    own += 'customer = "Kunde"\nreference = "Zweck"\n'
    text = f"Valuta,Kunde,Betrag,Zweck\n2026-01-02,C1,29.75,{a.number}\n"
    mine = _post(client, text, profile="mybank", profiles=own)
    assert mine.status_code == 200, mine.text
    assert mine.json()["payments"][0]["invoices"] == [a.number]
    assert open_of(desk.book, a.number) == 0
    unknown = _post(client, text, profile="nobank")
    assert unknown.status_code == 422 and unknown.json()["field"] == "profile"
    bad_toml = _post(client, text, profile="mybank", profiles="[profiles.mybank\n")
    assert bad_toml.status_code == 422 and "TOML" in bad_toml.json()["detail"]
    bad_format = _post(client, text, date_format="YYYY/DD/MM")
    assert bad_format.status_code == 422 and bad_format.json()["field"] == "date_format"


def test_the_file_must_be_csv_and_not_too_large(desk, monkeypatch):
    client = desk.client("specialist")
    as_json = client.post(IMPORT, json={"customer": "C1"})
    assert as_json.status_code == 415 and as_json.json()["field"] == "Content-Type"
    monkeypatch.setattr(uploads, "UPLOAD_BYTES_MAX", 100)
    text = "customer,amount,currency,date,reference,method,id\n" + "C1,1.00,EUR,2026-01-01,,,\n" * 5
    big = _post(client, text)
    assert big.status_code == 413 and big.json()["code"] == "too_large"
    assert row_counts(desk.book)["payments"] == 0
    # A clerk is refused before the size or the type matter.
    assert _post(desk.client("clerk"), "x").status_code == 403


def test_the_built_in_profiles_are_listed(desk):
    reply = desk.client("clerk").get(f"{IMPORT}/profiles")
    assert reply.status_code == 200
    found = {p["name"]: p for p in reply.json()}
    assert list(found) == ["openbill", "de-bank", "lockbox", "stripe"]
    assert found["openbill"]["columns"]["customer"] == ["customer"]
    assert (found["de-bank"]["delimiter"], found["de-bank"]["decimal"]) == (";", ",")
    assert found["stripe"]["paid_statuses"] == ["paid", "succeeded"]


# --- exchange rates -------------------------------------------------------------------------


def test_exchange_rates_added_replaced_listed_and_looked_up(desk):
    client = desk.client("specialist")
    rate = {"date": "2026-01-02", "from": "usd", "to": "EUR", "rate": "0.9"}
    made = client.post(f"{BASE}/fx-rates", json=rate, headers={"Idempotency-Key": "r-1"})
    assert made.status_code == 201, made.text
    assert made.headers["location"] == f"{BASE}/fx-rates/2026-01-02/USD/EUR"
    assert made.json() == {
        "on": "2026-01-02",
        "from": "USD",
        "to": "EUR",
        "rate": "0.9",
        "rate_date": "2026-01-02",
    }
    # The same day again replaces the day's rate.
    client.post(f"{BASE}/fx-rates", json=rate | {"rate": "0.92"})
    assert _actors(desk, "fx.rate_set") == ["specialist", "specialist"]
    listed = client.get(f"{BASE}/fx-rates", params={"from": "USD"}).json()["data"]
    assert [(r["date"], r["from"], r["to"], r["rate"]) for r in listed] == [
        ("2026-01-02", "USD", "EUR", "0.92")
    ]
    # Three days later, the other way round: 1 / 0.92 = 1.0869565217 (10 places).
    used = client.get(f"{BASE}/fx-rates/2026-01-05/EUR/USD").json()
    assert (used["rate"], used["rate_date"]) == ("1.0869565217", "2026-01-02")
    stale = client.get(f"{BASE}/fx-rates/2026-01-20/USD/EUR")
    assert stale.status_code == 404 and stale.json()["field"] == "rate"
    same = client.post(f"{BASE}/fx-rates", json=rate | {"to": "USD"})
    assert same.status_code == 422 and same.json()["field"] == "to"
    unknown = client.post(f"{BASE}/fx-rates", json=rate | {"from": "ABC"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "from"
    number = client.post(f"{BASE}/fx-rates", json=rate | {"rate": 0.9})
    assert number.status_code == 422 and number.json()["field"] == "rate"
    extra = client.post(f"{BASE}/fx-rates", json=rate | {"source": "ecb"})
    assert extra.status_code == 422 and extra.json()["field"] == "source"
    assert desk.client("clerk").post(f"{BASE}/fx-rates", json=rate).status_code == 403


def test_a_file_of_rates_is_imported_whole_or_not_at_all(desk):
    client = desk.client("specialist")
    url = f"{BASE}/fx-rates/imports"
    bad = "date,from,to,rate\n2026-01-02,USD,EUR,0.9\n2026-13-02,GBP,EUR,1.15\n"
    refused = client.post(url, content=bad.encode(), headers=CSV, params={"filename": "r.csv"})
    assert refused.status_code == 422
    assert (refused.json()["record"], refused.json()["field"]) == ("r.csv line 3", "date")
    assert client.get(f"{BASE}/fx-rates").json()["data"] == []
    ecb = "Date,USD,JPY,XYZ\n2026-01-05,1.04,162.5,N/A\n"
    done = client.post(url, content=ecb.encode(), headers=CSV, params={"filename": "ecb.csv"})
    assert done.status_code == 200, done.text
    assert done.json() == {"source": "ecb.csv", "imported": 2}
    rates = client.get(f"{BASE}/fx-rates", params={"limit": 1}).json()
    assert [(r["from"], r["to"], r["rate"], r["source"]) for r in rates["data"]] == [
        ("EUR", "USD", "1.04", "ecb.csv")
    ]
    rest = client.get(f"{BASE}/fx-rates", params={"cursor": rates["next_cursor"]}).json()
    assert [(r["to"], r["rate"]) for r in rest["data"]] == [("JPY", "162.5")]
    assert rest["next_cursor"] is None
    latin = b"date,from,to,rate\n2026-01-02,USD,EUR,0.9\n" + b"\xe9\n"
    not_utf8 = client.post(url, content=latin, headers=CSV)
    assert not_utf8.status_code == 422 and not_utf8.json()["field"] == "body"
