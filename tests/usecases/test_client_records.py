"""A customer's own list of open items compared with ours, every outcome explained.

Book: C1 (EUR, 19 %), WIDGET 12.50. Invoices (hand-computed):
  A: 8 widgets = 100.00 + 19.00 = 119.00, paid in full
  B: 4 widgets =  50.00 +  9.50 =  59.50, 20.00 paid -> 39.50 open
  C: 2 widgets =  25.00 +  4.75 =  29.75, open
  D: 1 widget  =  12.50 +  2.38 =  14.88, open (2.375 rounds half up to 2.38)
"""

from __future__ import annotations

from datetime import date

import pytest
from fixtures_book import ENTITY, invoice

from openbill.domain.client_records import Outcome
from openbill.domain.rejections import InvalidInput
from openbill.usecases import payments as pay
from openbill.usecases.client_records import ReconcileClientRecords, reconcile_client_records


@pytest.fixture
def four(book):
    a = invoice(book, "C1", date(2026, 1, 10), ("WIDGET", "8"))
    b = invoice(book, "C1", date(2026, 1, 11), ("WIDGET", "4"))
    c = invoice(book, "C1", date(2026, 1, 12), ("WIDGET", "2"))
    d = invoice(book, "C1", date(2026, 1, 13), ("WIDGET", "1"))
    pay.record_payment(
        book.uow(),
        pay.RecordPayment(ENTITY, "C1", "119.00", allocate="explicit", to=((a.number, "119.00"),)),
    )
    pay.record_payment(
        book.uow(),
        pay.RecordPayment(ENTITY, "C1", "20.00", allocate="explicit", to=((b.number, "20.00"),)),
    )
    assert (a.total_minor, b.total_minor, c.total_minor, d.total_minor) == (
        11900,
        5950,
        2975,
        1488,
    )
    return a, b, c, d


def test_each_difference_is_explained(book, four):
    a, b, c, d = four
    theirs = (
        "po,invoice,amount\n"
        f"PO-1,{a.number},119.00\n"  # paid with us: already paid
        f"PO-2,{b.number},59.50\n"  # they list the full total; 39.50 open with us
        f"PO-3,{c.number},29.75\n"  # matches
        "PO-9,INV-2026-000099,10.00\n"  # we never issued it
    )  # D (14.88 open) is not on their list
    result = reconcile_client_records(
        book.uow(read_only=True), ReconcileClientRecords(ENTITY, "C1", theirs, "acme.csv")
    )
    got = {(x.invoice, x.outcome) for x in result.differences}
    assert got == {
        (a.number, Outcome.ALREADY_PAID),
        (b.number, Outcome.AMOUNT_DIFFERS),
        (c.number, Outcome.MATCHED),
        ("INV-2026-000099", Outcome.MISSING_ON_OURS),
        (d.number, Outcome.MISSING_ON_THEIR_SIDE),
    }
    text = {x.invoice: x.explanation for x in result.differences}
    assert "they list 59.50 EUR, we have 39.50 EUR open (20.00 EUR more)" in text[b.number]
    assert "part of it is already paid" in text[b.number]
    assert "14.88 EUR open with us and is not on their list" in text[d.number]
    assert "never issued" in text["INV-2026-000099"]


def test_bad_rows_are_all_named_and_nothing_is_compared(book, four):
    theirs = "po,invoice,amount\nPO-1,INV-1,12.5x\n,,3.00\nPO-3,INV-3,1.005\n"
    with pytest.raises(InvalidInput) as refused:
        reconcile_client_records(
            book.uow(read_only=True), ReconcileClientRecords(ENTITY, "C1", theirs, "acme.csv")
        )
    reason = refused.value.reason
    assert "3 bad row(s)" in reason
    assert "acme.csv:2: field amount" in reason
    assert "acme.csv:3: field invoice" in reason
    assert "acme.csv:4: field amount" in reason and "more decimals than EUR" in reason


def test_a_file_without_the_needed_columns_is_refused(book):
    with pytest.raises(InvalidInput) as refused:
        reconcile_client_records(
            book.uow(read_only=True),
            ReconcileClientRecords(ENTITY, "C1", "reference,total\nX,1\n", "acme.csv"),
        )
    assert refused.value.field == "invoice" and "acme.csv:1" in refused.value.record
