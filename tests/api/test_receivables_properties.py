"""Invariants of the receivables API, for any input hypothesis finds: a payment splits exactly
into what it allocated and what stays credit, and a refund of that credit leaves the customer
where it started; walking a list at any page size gives every record once, in order."""

from __future__ import annotations

from datetime import date, timedelta

from fixtures_book import credit_of, invoice, open_of, verify_clean
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbill.domain.money import format_minor

from .conftest import ENTITY

BASE = f"/v1/entities/{ENTITY}"
SHARED = settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SHARED
@given(
    widgets=st.integers(min_value=1, max_value=4),
    amount_minor=st.integers(min_value=1, max_value=8_000),
)
def test_a_payment_splits_exactly_and_its_surplus_refunds_to_nothing(desk, widgets, amount_minor):
    # The desk lives across examples: each example has its own invoice and looks at changes.
    inv = invoice(desk.book, "C1", date(2025, 11, 3), ("WIDGET", str(widgets)))
    total = open_of(desk.book, inv.number)
    credit_before = credit_of(desk.book, "C1")
    client = desk.client("specialist")
    text = format_minor(amount_minor, "EUR")
    paid = client.post(
        f"{BASE}/payments", json={"customer": "C1", "amount": text, "reference": inv.number}
    )
    assert paid.status_code == 201, paid.text
    allocated = min(amount_minor, total)  # the reference names the one invoice
    assert paid.json()["allocated"] == format_minor(allocated, "EUR")
    shown = client.get(paid.headers["location"]).json()
    assert shown["allocated"] == format_minor(allocated, "EUR")
    assert shown["unallocated"] == format_minor(amount_minor - allocated, "EUR")
    assert open_of(desk.book, inv.number) == total - allocated
    assert credit_of(desk.book, "C1") == credit_before + amount_minor - allocated
    if amount_minor > allocated:
        surplus = format_minor(amount_minor - allocated, "EUR")
        refund = client.post(f"{BASE}/refunds", json={"customer": "C1", "amount": surplus})
        assert refund.status_code == 201 and refund.json()["amount"] == surplus
    assert credit_of(desk.book, "C1") == credit_before
    verify_clean(desk.book)


@SHARED
@given(limit=st.integers(min_value=1, max_value=8))
def test_walking_rates_at_any_page_size_gives_each_once_in_order(desk, limit):
    client = desk.client("auditor")
    if not client.get(f"{BASE}/fx-rates").json()["data"]:  # eleven rates, once per desk
        rows = "\n".join(
            f"{date(2026, 1, 1) + timedelta(days=i)},USD,EUR,0.9{i}" for i in range(11)
        )
        reply = desk.client("specialist").post(
            f"{BASE}/fx-rates/imports",
            content=f"date,from,to,rate\n{rows}\n".encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert reply.json()["imported"] == 11
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        body = client.get(f"{BASE}/fx-rates", params=params).json()
        assert len(body["data"]) <= limit
        seen += [r["date"] for r in body["data"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [(date(2026, 1, 1) + timedelta(days=i)).isoformat() for i in range(11)]
    assert pages == -(-11 // limit)  # ceil(11 / limit): a full last page has no empty page after
