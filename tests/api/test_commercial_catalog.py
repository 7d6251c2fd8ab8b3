"""Legal entities and the catalog through the API: create and read entities (administrators),
tax rules, charge codes and prices (catalog.write), with the refusals each names by field, the
audit trail of every change, and a replay with the same Idempotency-Key creating nothing twice.

The test book (tests/fixtures_book.py) has three tax rules, four charge codes and seven
prices; figures are counted from that file by hand."""

from __future__ import annotations

from fixtures_book import row_counts

from .conftest import ENTITY

BASE = f"/v1/entities/{ENTITY}"


def _audit(desk, action):
    with desk.book.uow(read_only=True) as uow:
        return [e for e in uow.audit.events() if e.action == action]


def test_an_administrator_creates_a_legal_entity_once(desk):
    admin = desk.client("administrator")
    body = {
        "code": "BETA",
        "name": "Beta GmbH",
        "country": "de",
        "base_currency": "eur",
        "vat_id": "DE136695976",
        "payment_terms": "net14",
    }
    key = {"Idempotency-Key": "entity-beta"}
    made = admin.post("/v1/entities", json=body, headers=key)
    assert made.status_code == 201, made.text
    assert made.headers["location"] == "/v1/entities/BETA"
    shown = made.json()
    assert (shown["code"], shown["country"], shown["base_currency"]) == ("BETA", "DE", "EUR")
    assert (shown["payment_terms"], shown["rounding"], shown["vat_id"]) == (
        "net14",
        "half_up",
        "DE136695976",
    )
    again = admin.post("/v1/entities", json=body, headers=key)
    assert again.content == made.content and again.headers["idempotent-replayed"] == "true"
    twice = admin.post("/v1/entities", json=body)
    assert twice.status_code == 409 and twice.json()["field"] == "code"
    bad = admin.post("/v1/entities", json=body | {"code": "GAMMA", "vat_id": "DE000"})
    assert bad.status_code == 422 and bad.json()["field"] == "vat_id"
    assert bad.headers["content-type"] == "application/problem+json"
    assert len(_audit(desk, "entity.created")) == 3  # ACME, OTHER (the desk) and BETA
    # The specialist of ACME reads ACME's entity, not BETA's (nobody was given access yet).
    specialist = desk.client("specialist")
    acme = specialist.get(BASE)
    assert acme.status_code == 200 and acme.json()["name"] == "Acme GmbH"
    assert specialist.get("/v1/entities/BETA").status_code == 403


def test_tax_rules_are_added_never_edited_and_named_by_field(desk):
    client = desk.client("specialist")
    rule = {
        "jurisdiction": "at",
        "tax_class": "standard",
        "valid_from": "2026-01-01",
        "category": "S",
        "rate": "20",
    }
    made = client.post(f"{BASE}/tax-rules", json=rule)
    assert made.status_code == 201, made.text
    shown = made.json()
    assert (shown["jurisdiction"], shown["rate"], shown["category"]) == ("AT", "20", "S")
    assert made.headers["location"] == f"{BASE}/tax-rules/{shown['id']}"
    assert client.get(made.headers["location"]).json() == shown
    again = client.post(f"{BASE}/tax-rules", json=rule | {"rate": "21"})
    assert again.status_code == 409 and again.json()["field"] == "valid_from"
    zero = client.post(f"{BASE}/tax-rules", json=rule | {"valid_from": "2027-01-01", "rate": "0"})
    assert zero.status_code == 422 and zero.json()["field"] == "rate"
    note = client.post(
        f"{BASE}/tax-rules", json=rule | {"category": "E", "rate": "0", "valid_from": "2028-01-01"}
    )
    assert note.status_code == 422 and note.json()["field"] == "exemption_reason"
    number = client.post(f"{BASE}/tax-rules", json=rule | {"rate": 20})
    assert number.status_code == 422 and number.json()["field"] == "rate"
    page = client.get(f"{BASE}/tax-rules", params={"limit": 3}).json()
    assert [r["tax_class"] for r in page["data"]] == ["standard", "reduced", "exempt"]
    rest = client.get(f"{BASE}/tax-rules", params={"cursor": page["next_cursor"]}).json()
    assert [r["jurisdiction"] for r in rest["data"]] == ["AT"] and rest["next_cursor"] is None
    assert client.get(f"{BASE}/tax-rules/999999").status_code == 404
    assert [e.actor for e in _audit(desk, "tax_rule.created")] == ["tests"] * 3 + ["specialist"]


def test_charge_codes_and_prices_priced_into_a_draft(desk):
    client = desk.client("specialist")
    code = {"code": "HOUR", "name": "Consulting hour", "unit": "hour", "revenue_account": "4050"}
    made = client.post(f"{BASE}/charge-codes", json=code)
    assert made.status_code == 201, made.text
    assert made.json()["unit"] == "HUR"  # UN/ECE rec. 20 code of "hour"
    assert made.headers["location"] == f"{BASE}/charge-codes/HOUR"
    assert client.post(f"{BASE}/charge-codes", json=code).status_code == 409
    bad = client.post(f"{BASE}/charge-codes", json=code | {"code": "X", "revenue_account": "rev"})
    assert bad.status_code == 422 and bad.json()["field"] == "revenue_account"

    price = {
        "charge_code": "HOUR",
        "currency": "EUR",
        "effective_from": "2025-01-01",
        "model": "per_unit",
        "params": {"unit_price": "85.00"},
    }
    before = row_counts(desk.book)
    floated = client.post(f"{BASE}/prices", json=price | {"params": {"unit_price": 85.0}})
    assert floated.status_code == 422 and floated.json()["field"] == "params.unit_price"
    tiers = price | {"model": "graduated", "params": {"tiers": [{"up_to": 10, "unit_price": "1"}]}}
    nested = client.post(f"{BASE}/prices", json=tiers)
    assert nested.status_code == 422 and nested.json()["field"] == "params.tiers[0].up_to"
    unknown = client.post(f"{BASE}/prices", json=price | {"charge_code": "NOPE"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "charge_code"
    assert row_counts(desk.book)["prices"] == before["prices"]

    added = client.post(f"{BASE}/prices", json=price, headers={"Idempotency-Key": "p-1"})
    assert added.status_code == 201, added.text
    assert added.json()["params"] == {"unit_price": "85.00"}
    replay = client.post(f"{BASE}/prices", json=price, headers={"Idempotency-Key": "p-1"})
    assert replay.content == added.content
    assert client.post(f"{BASE}/prices", json=price).status_code == 409  # the same price
    other = client.post(f"{BASE}/prices", json=price | {"params": {"unit_price": "90.00"}})
    assert other.status_code == 422 and other.json()["field"] == "effective_from"
    later = client.post(
        f"{BASE}/prices",
        json=price | {"effective_from": "2026-01-01", "params": {"unit_price": "90.00"}},
    )
    assert later.status_code == 201
    assert row_counts(desk.book)["prices"] == before["prices"] + 2
    # Ids that name nothing are not found, 0 included (never "the first one").
    assert client.get(f"{BASE}/prices/999999").status_code == 404
    assert client.get(f"{BASE}/discrepancies/999999").status_code == 404
    assert client.get(f"{BASE}/outbox/999999").status_code == 404
    listed = client.get(f"{BASE}/prices", params={"charge_code": "HOUR"}).json()["data"]
    assert [(p["effective_from"], p["params"]["unit_price"]) for p in listed] == [
        ("2025-01-01", "85.00"),
        ("2026-01-01", "90.00"),
    ]
    # A draft dated 2026-01-01 takes the price from that date: 3 x 90.00 = 270.00, 19 % tax
    # (tax class standard) 51.30, total 321.30.
    draft = client.post(
        f"{BASE}/drafts",
        json={
            "customer": "C1",
            "document_date": "2026-01-01",
            "lines": [{"charge_code": "HOUR", "quantity": "3"}],
        },
    )
    assert draft.status_code == 201, draft.text
    assert (draft.json()["net"], draft.json()["tax"], draft.json()["total"]) == (
        "270.00",
        "51.30",
        "321.30",
    )
    assert draft.json()["lines"][0]["unit_price"] == "90.00"
    client.post(f"{BASE}/drafts/{draft.json()['id']}/verify")  # C1: no address, no e-mail
    assert len(client.get(f"{BASE}/discrepancies").json()["data"]) == 2
    assert client.get(f"{BASE}/discrepancies", params={"draft": 0}).json()["data"] == []
    assert [e.actor for e in _audit(desk, "price.created")][-2:] == ["specialist", "specialist"]
    # A clerk may read the catalog but not change it.
    clerk = desk.client("clerk")
    assert clerk.get(f"{BASE}/charge-codes/HOUR").json()["name"] == "Consulting hour"
    assert clerk.post(f"{BASE}/prices", json=price).status_code == 403
