"""Customers, invoices and payments through the API: pages with cursors and filters, ETags and
If-Match, problem details naming the field at fault. Amounts worked out by hand from the test
book's prices (tests/fixtures_book.py): WIDGET 12.50 EUR at 19 %, BOOK 9.99 EUR at 7 %."""

from __future__ import annotations

from datetime import date

from fixtures_book import invoice, row_counts

from .conftest import ENTITY

BASE = f"/v1/entities/{ENTITY}"


def _walk(client, url, limit):
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        reply = client.get(url, params=params)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert len(body["data"]) <= limit
        seen += body["data"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages


def test_customers_come_in_pages_each_once_in_the_order_they_were_made(desk):
    client = desk.client("clerk")
    for code in ("N1", "N2"):
        body = {"code": code, "name": f"New {code}", "country": "DE", "currency": "EUR"}
        assert client.post(f"{BASE}/customers", json=body).status_code == 201
    seen, pages = _walk(client, f"{BASE}/customers", 2)
    assert [c["code"] for c in seen] == ["C1", "C2", "C3", "CJP", "CKW", "N1", "N2"]
    assert pages == 4  # 2 + 2 + 2 + 1
    found = client.get(f"{BASE}/customers", params={"q": "kuwait"}).json()["data"]
    assert [c["code"] for c in found] == ["CKW"]


def test_a_cursor_not_given_out_and_a_page_too_large_are_refused_by_field(desk):
    client = desk.client("clerk")
    reply = client.get(f"{BASE}/customers", params={"cursor": "bm90LWEtY3Vyc29y"})
    assert reply.status_code == 422
    assert reply.headers["content-type"] == "application/problem+json"
    problem = reply.json()
    assert (problem["code"], problem["field"], problem["status"]) == (
        "invalid_input",
        "cursor",
        422,
    )
    assert problem["type"] == "urn:openbill:problem:invalid_input"
    assert problem["instance"] == f"{BASE}/customers"
    reply = client.get(f"{BASE}/invoices", params={"limit": 201})
    assert reply.status_code == 422 and reply.json()["field"] == "limit"


def test_invoices_filter_by_status_customer_and_dates(desk):
    book = desk.book
    a = invoice(book, "C1", date(2025, 11, 3), ("WIDGET", "2"))  # 25.00 + 4.75 = 29.75
    b = invoice(book, "C1", date(2025, 12, 1), ("BOOK", "1"))  # 9.99 + 0.70 = 10.69
    c = invoice(book, "C3", date(2025, 12, 15), ("WIDGET", "1"))  # 12.50 + 2.38 = 14.88
    client = desk.client("specialist")
    paid = client.post(
        f"{BASE}/payments",
        json={
            "customer": "C1",
            "amount": "29.75",
            "allocate": "explicit",
            "to": [{"invoice": a.number, "amount": "29.75"}],
        },
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["invoices"] == [a.number] and paid.json()["allocated"] == "29.75"

    def numbers(**params):
        reply = client.get(f"{BASE}/invoices", params=params)
        assert reply.status_code == 200, reply.text
        return [i["number"] for i in reply.json()["data"]]

    assert numbers() == [a.number, b.number, c.number]
    assert numbers(status="paid") == [a.number]
    # The book's clock says 2026-01-01: b (due 2025-12-31 on 30 days) is overdue, c is not.
    assert numbers(status="overdue") == [b.number]
    assert numbers(customer="C1") == [a.number, b.number]
    assert numbers(date_from="2025-12-01", date_to="2025-12-31") == [b.number, c.number]
    assert numbers(customer="NOBODY") == []
    reply = client.get(f"{BASE}/invoices", params={"status": "sleeping"})
    assert reply.status_code == 422 and reply.json()["field"] == "status"
    reply = client.get(
        f"{BASE}/invoices", params={"date_from": "2025-12-31", "date_to": "2025-12-01"}
    )
    assert reply.status_code == 422 and reply.json()["field"] == "date_from"


def test_an_invoice_read_whole_and_issued_through_the_api(desk):
    client = desk.client("specialist")
    reply = client.post(
        f"{BASE}/invoices",
        json={
            "customer": "C1",
            "issue_date": "2025-12-15",
            "lines": [
                {"charge_code": "WIDGET", "quantity": "2"},
                {"charge_code": "BOOK", "quantity": "1"},
            ],
        },
    )
    assert reply.status_code == 201, reply.text
    made = reply.json()
    # 25.00 + 9.99 = 34.99 net; tax 4.75 (19 %) + 0.70 (7 % of 9.99 = 0.6993) = 5.45.
    assert (made["net"], made["tax"], made["total"], made["open"]) == (
        "34.99",
        "5.45",
        "40.44",
        "40.44",
    )
    assert made["status"] == "issued" and made["number"].startswith("INV-2025-")
    assert reply.headers["location"] == f"{BASE}/invoices/{made['number']}"
    got = client.get(f"{BASE}/invoices/{made['number']}")
    assert got.json() == made
    tag = got.headers["etag"]
    assert (
        client.get(f"{BASE}/invoices/{made['number']}", headers={"If-None-Match": tag}).status_code
        == 304
    )
    missing = client.get(f"{BASE}/invoices/INV-1999-000001")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_money_as_a_json_number_is_refused_and_nothing_is_written(desk):
    client = desk.client("specialist")
    before = row_counts(desk.book)
    reply = client.post(f"{BASE}/payments", json={"customer": "C1", "amount": 10.5})
    assert reply.status_code == 422
    assert reply.json()["field"] == "amount"
    reply = client.post(
        f"{BASE}/invoices",
        json={"customer": "C1", "lines": [{"charge_code": "WIDGET", "quantity": "two"}]},
    )
    assert reply.status_code == 422 and reply.json()["field"] == "lines[0].quantity"
    reply = client.post(f"{BASE}/payments", json={"customer": "NOBODY", "amount": "1.00"})
    assert reply.status_code == 404 and reply.json()["field"] == "code"
    after = row_counts(desk.book)
    changed = {k for k in before if before[k] != after[k]}
    assert changed <= {"login_attempts", "user_sessions", "audit_events", "chain_heads"}


def test_a_change_needs_the_etag_it_was_based_on(desk):
    clerk, other = desk.client("clerk"), desk.client("specialist")
    got = clerk.get(f"{BASE}/customers/C1")
    tag = got.headers["etag"]
    assert got.json()["name"] == "Alpha GmbH"
    change = {"email": "billing@alpha.example"}
    no_tag = clerk.patch(f"{BASE}/customers/C1", json=change)
    assert no_tag.status_code == 428 and no_tag.json()["field"] == "If-Match"
    first = other.patch(
        f"{BASE}/customers/C1", json={"name": "Alpha AG"}, headers={"If-Match": tag}
    )
    assert first.status_code == 200 and first.json()["name"] == "Alpha AG"
    assert first.headers["etag"] != tag
    stale = clerk.patch(f"{BASE}/customers/C1", json=change, headers={"If-Match": tag})
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    now = clerk.get(f"{BASE}/customers/C1").json()
    assert now["name"] == "Alpha AG" and now["email"] == ""  # the stale write changed nothing
    ok = clerk.patch(
        f"{BASE}/customers/C1", json=change, headers={"If-Match": first.headers["etag"]}
    )
    assert ok.status_code == 200 and ok.json()["email"] == "billing@alpha.example"
    with desk.book.uow(read_only=True) as uow:
        updates = [e for e in uow.audit.events() if e.action == "customer.updated"]
    assert [e.actor for e in updates] == ["specialist", "clerk"]


def test_the_schema_is_openapi_3_1_and_names_each_operations_action(desk):
    schema = desk.anonymous().get("/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    ops = {(m.upper(), p): op for p, item in schema["paths"].items() for m, op in item.items()}
    assert ops[("POST", "/v1/entities/{entity}/payments")]["x-openbill-action"] == "payments.post"
    assert "x-openbill-action" not in ops[("GET", "/v1/health")]
