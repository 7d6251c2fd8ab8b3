"""Invoice pages read only what they show: without a status filter a page of L now reads L
invoices (it read 500 for any page, and looked up the credits and write-offs of all 500: half
the time of GET /v1/entities/{entity}/invoices, bench/api.py). These pin what must not change:
walking the pages at any size gives every invoice once, in order, and says where it ends."""

from __future__ import annotations

import math
from datetime import date

import pytest
from fixtures_book import ENTITY, invoice
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbill.usecases import pages

INVOICES = 7


@pytest.fixture
def issued(book):
    return [
        invoice(book, "C1", date(2026, 1, 1 + i), ("WIDGET", "1")).number for i in range(INVOICES)
    ]


def _walk(book, limit, wanted=pages.InvoiceFilter()):
    seen, after, count = [], 0, 0
    while True:
        page = pages.invoices_page(book.uow(read_only=True), ENTITY, after, limit, wanted)
        count += 1
        assert len(page.rows) <= limit
        seen += [r["number"] for r in page.rows]
        if page.after_id is None:
            return seen, count
        after = page.after_id


@settings(max_examples=10, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(min_value=1, max_value=INVOICES + 2))
def test_walking_invoices_at_any_page_size_gives_each_once_in_order(book, issued, limit):
    seen, count = _walk(book, limit)
    assert seen == issued
    # Full pages, then the rest; a walk that ends on a full page knows it (no empty page).
    assert count == math.ceil(INVOICES / limit)


def test_a_status_filter_still_scans_past_what_it_drops(book, issued):
    # Nothing is paid (the book's clock stands at 2026-01-01, none is due): no invoice of the
    # 7 is "paid"; the filtered walk reads them all in one page and finds none.
    seen, count = _walk(book, 2, pages.InvoiceFilter(status="paid"))
    assert (seen, count) == ([], 1)
