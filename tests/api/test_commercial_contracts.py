"""Contracts and purchase orders through the API: created once (a replay or the same record
again creates nothing), never edited, refusals named by field, lists filtered by customer and
by the date a contract is in force."""

from __future__ import annotations

from fixtures_book import row_counts

from .conftest import ENTITY

BASE = f"/v1/entities/{ENTITY}"
K1 = {
    "number": "K1",
    "customer": "C1",
    "valid_from": "2026-01-01",
    "valid_to": "2026-12-31",
    "discount_percent": "10",
    "grouping": "per_po",
    "payment_terms": "net14",
    "spending_cap": "1000.00",
}


def test_a_contract_with_its_negotiated_prices(desk):
    client = desk.client("clerk")
    made = client.post(f"{BASE}/contracts", json=K1, headers={"Idempotency-Key": "k1"})
    assert made.status_code == 201, made.text
    assert made.headers["location"] == f"{BASE}/contracts/K1"
    shown = made.json()
    assert (shown["customer"], shown["currency"], shown["payment_terms"]) == ("C1", "EUR", "net14")
    assert (shown["discount_percent"], shown["spending_cap"], shown["prices"]) == (
        "10",
        "1000.00",
        [],
    )
    replay = client.post(f"{BASE}/contracts", json=K1, headers={"Idempotency-Key": "k1"})
    assert replay.content == made.content
    assert client.post(f"{BASE}/contracts", json=K1).status_code == 409
    other = client.post(f"{BASE}/contracts", json=K1 | {"discount_percent": "5"})
    assert other.status_code == 422 and other.json()["field"] == "number"
    backwards = client.post(
        f"{BASE}/contracts", json=K1 | {"number": "K2", "valid_to": "2025-01-01"}
    )
    assert backwards.status_code == 422 and backwards.json()["field"] == "valid_to"
    nobody = client.post(f"{BASE}/contracts", json=K1 | {"number": "K3", "customer": "NOBODY"})
    assert nobody.status_code == 404 and nobody.json()["code"] == "not_found"
    assert row_counts(desk.book)["contracts"] == 1

    price = {"charge_code": "WIDGET", "effective_from": "2026-02-01", "unit_price": "10.00"}
    added = client.post(f"{BASE}/contracts/K1/prices", json=price)
    assert added.status_code == 201, added.text
    assert added.json()["prices"] == [
        {"charge_code": "WIDGET", "effective_from": "2026-02-01", "unit_price": "10.00"}
    ]
    assert client.post(f"{BASE}/contracts/K1/prices", json=price).status_code == 409
    changed = client.post(f"{BASE}/contracts/K1/prices", json=price | {"unit_price": "9.00"})
    assert changed.status_code == 422 and changed.json()["field"] == "effective_from"
    floated = client.post(f"{BASE}/contracts/K1/prices", json=price | {"unit_price": 9.5})
    assert floated.status_code == 422 and floated.json()["field"] == "unit_price"
    missing = client.post(f"{BASE}/contracts/K9/prices", json=price)
    assert missing.status_code == 404 and missing.json()["field"] == "number"

    def numbers(**params):
        reply = client.get(f"{BASE}/contracts", params=params)
        assert reply.status_code == 200, reply.text
        return [c["number"] for c in reply.json()["data"]]

    assert numbers() == ["K1"]
    assert numbers(active_on="2026-06-30") == ["K1"]
    assert numbers(active_on="2027-01-01") == []
    assert numbers(customer="C3") == [] and numbers(customer="C1") == ["K1"]
    assert [c["prices"] for c in client.get(f"{BASE}/contracts").json()["data"]] == [None]
    assert client.get(f"{BASE}/contracts/K1").json()["prices"][0]["unit_price"] == "10.00"
    with desk.book.uow(read_only=True) as uow:
        actions = [
            (e.action, e.actor) for e in uow.audit.events() if e.record_type.startswith("contract")
        ]
    assert actions == [("contract.created", "clerk"), ("contract_price.created", "clerk")]


def test_a_purchase_order_and_its_lines(desk):
    client = desk.client("specialist")
    assert client.post(f"{BASE}/contracts", json=K1).status_code == 201
    po = {"customer": "C1", "number": "PO-1", "contract": "K1", "valid_to": "2026-06-30"}
    made = client.post(f"{BASE}/purchase-orders", json=po)
    assert made.status_code == 201, made.text
    assert made.headers["location"] == f"{BASE}/purchase-orders/C1/PO-1"
    assert (made.json()["contract"], made.json()["currency"], made.json()["lines"]) == (
        "K1",
        "EUR",
        [],
    )
    assert client.post(f"{BASE}/purchase-orders", json=po).status_code == 409
    wrong = client.post(f"{BASE}/purchase-orders", json=po | {"customer": "C3", "number": "PO-3"})
    assert wrong.status_code == 422 and wrong.json()["field"] == "contract"

    line = {"line_no": 1, "charge_code": "WIDGET", "quantity": "10", "unit_price": "12.50"}
    added = client.post(f"{BASE}/purchase-orders/C1/PO-1/lines", json=line)
    assert added.status_code == 201, added.text
    assert added.json()["lines"] == [
        {
            "line_no": 1,
            "charge_code": "WIDGET",
            "quantity": "10",
            "unit_price": "12.50",
            "amount_ceiling": None,
            "used_quantity": "0",
            "used_amount": "0.00",
        }
    ]
    ceiling = client.post(
        f"{BASE}/purchase-orders/C1/PO-1/lines",
        json={"line_no": 2, "charge_code": "BOOK", "amount_ceiling": "99.90"},
    )
    assert ceiling.json()["lines"][1]["amount_ceiling"] == "99.90"
    other = client.post(f"{BASE}/purchase-orders/C1/PO-1/lines", json=line | {"quantity": "11"})
    assert other.status_code == 422 and other.json()["field"] == "line_no"
    zero = client.post(f"{BASE}/purchase-orders/C1/PO-1/lines", json=line | {"line_no": 0})
    assert zero.status_code == 422 and zero.json()["field"] == "line_no"
    nowhere = client.post(f"{BASE}/purchase-orders/C1/PO-9/lines", json=line)
    assert nowhere.status_code == 404 and nowhere.json()["field"] == "po"
    assert client.get(f"{BASE}/purchase-orders/C3/PO-1").status_code == 404
    listed = client.get(f"{BASE}/purchase-orders", params={"customer": "C1"}).json()
    assert [(p["number"], len(p["lines"])) for p in listed["data"]] == [("PO-1", 2)]
    assert client.get(f"{BASE}/purchase-orders", params={"customer": "C3"}).json()["data"] == []
