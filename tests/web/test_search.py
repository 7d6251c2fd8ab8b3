"""The search box: invoice numbers, customers, purchase orders and amounts (exact)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from openbill.usecases import desk

from .conftest import ENTITY, log_in, text_of

BASE = f"/desk/{ENTITY}"


def _search(quarter, q):
    reply = log_in(quarter, "clerk").get(f"{BASE}/search?q={quote(q)}")
    assert reply.status_code == 200, reply.text[:300]
    return reply


def _found(quarter, q):
    return desk.search(quarter.book.uow(read_only=True), ENTITY, q)


def test_by_part_of_an_invoice_number(quarter):
    found = _found(quarter, "inv-2026-00000")
    # Newest first; the credit note CN-2026-000001 does not contain "inv-".
    assert [d["number"] for d in found.documents] == [f"INV-2026-00000{i}" for i in (5, 4, 3, 2, 1)]
    found = _found(quarter, "000004")
    assert [d["number"] for d in found.documents] == ["INV-2026-000004"]
    words = text_of(_search(quarter, "000004").text)
    assert "Invoices by number" in words and "INV-2026-000004" in words


def test_by_customer_code_or_name(quarter):
    assert [c["code"] for c in _found(quarter, "beta").customers] == ["C2"]
    assert [c["code"] for c in _found(quarter, "CJ").customers] == ["CJP"]
    assert [c["code"] for c in _found(quarter, "gmbh").customers] == ["C1"]


def test_by_purchase_order_number(quarter):
    found = _found(quarter, "po-4711")  # any case
    assert [d["number"] for d in found.by_po] == ["INV-2026-000003"]
    words = text_of(_search(quarter, "PO-4711").text)
    assert "Purchase order PO-4711" in words and "INV-2026-000003" in words
    assert _found(quarter, "PO-47").by_po == ()  # a PO number is matched whole


@pytest.mark.parametrize(
    "q, numbers, why",
    [
        # totals: INV-1 148.75, INV-2 200.00, INV-3 50.00, INV-4 106.89, CN-1 21.38
        ("148.75", ["INV-2026-000001"], "the total of INV-1"),
        ("106,89", ["INV-2026-000004"], "a decimal comma"),
        # open amounts: INV-2 150.00, INV-4 85.51
        ("150", ["INV-2026-000002"], "INV-2's open amount"),
        ("85.51", ["INV-2026-000004"], "INV-4's open amount"),
        ("EUR 21.38", ["CN-2026-000001"], "the credit note's total, with a currency"),
        ("4759", ["INV-2026-000005"], "a JPY total, no decimals"),
        ("4,759", ["INV-2026-000005"], "grouped in thousands"),
        ("50.00", ["INV-2026-000003"], "a total equal to the open amount counts once"),
        ("50.001", [], "more places than EUR and JPY have"),
        ("148.7", [], "exact amounts only"),
    ],
)
def test_by_amount(quarter, q, numbers, why):
    found = _found(quarter, q)
    assert [d["number"] for d in found.by_amount] == numbers, why


def test_an_amount_finds_payments_of_exactly_it(quarter):
    found = _found(quarter, "50.00")
    assert [(p["id"], p["amount_minor"]) for p in found.payments] == [(2, 5000)]
    words = text_of(_search(quarter, "50.00").text)
    assert "Read as the amount 50.00" in words
    assert "Payments of 50.00" in words


def test_nothing_found_says_so(quarter):
    words = text_of(_search(quarter, "zzz-nothing").text)
    assert "Nothing found for “zzz-nothing”." in words


def test_an_overlong_query_is_refused(quarter):
    reply = log_in(quarter, "clerk").get(f"{BASE}/search?q={'x' * 101}")
    assert reply.status_code == 422


def test_the_search_box_is_in_every_page_and_slash_focuses_it(quarter):
    page = log_in(quarter, "clerk").get(f"{BASE}/customers").text
    assert f'<form class="search" role="search" method="get" action="{BASE}/search">' in page
    assert "Search ( / )" in page
    script = quarter.anonymous().get("/desk/static/desk.js").text
    assert 'event.key === "/"' in script and 'getElementById("q")' in script
