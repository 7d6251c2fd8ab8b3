"""The events of the bulk paths: a payments file recorded in one transaction, a bank matching
run (with its dry run, which rolls back), a dunning fee invoice. The same hooks as the single
use cases, so the same rule: once per cause, nothing from work that is refused or rolled back.

Invoices (fixtures_book): 8 WIDGET = 100.00 + 19.00 = 119.00; 2 WIDGET = 29.75.
"""

from __future__ import annotations

from datetime import date

import pytest
from bank.book import entry, import_, match, statement, with_bank
from fixtures_book import ENTITY, invoice

from openbill.domain.payment_import import BUILTIN
from openbill.usecases import masterdata as md
from openbill.usecases.payment_import import PaymentsImportRefused, import_payments

from .conftest import add_endpoint, events, types

HEADER = "customer,amount,currency,date,reference,method,id\n"
ISSUED = date(2026, 3, 2)
PAID = date(2026, 3, 9)


def test_a_payments_file_announces_each_payment_once_and_a_refused_file_nothing(book):
    add_endpoint(book, "payment.received", "invoice.paid")
    a = invoice(book, "C1", date(2026, 1, 10), ("WIDGET", "8"))
    refused = HEADER + f"C1,119.00,EUR,2026-03-01,{a.number},,T1\nC9,1.00,EUR,2026-03-01,,,T2\n"
    with pytest.raises(PaymentsImportRefused):
        import_payments(book.uow, ENTITY, refused, "pay.csv", BUILTIN["openbill"])
    assert events(book) == []
    good = HEADER + f"C1,119.00,EUR,2026-03-01,{a.number},,T1\nC3,5.00,EUR,2026-03-01,,,T2\n"
    import_payments(book.uow, ENTITY, good, "pay.csv", BUILTIN["openbill"])
    assert [t for t, _ in types(book)] == ["invoice.paid", "payment.received", "payment.received"]
    assert [e.body["data"]["payment"]["amount"] for e in events(book, "payment.received")] == [
        "119.00",
        "5.00",
    ]


def test_a_bank_match_with_a_discount_pays_the_invoice_once_and_a_dry_run_writes_nothing(book):
    with_bank(book)
    md.update_customer(
        book.uow(), md.UpdateCustomer(ENTITY, "C1", (("payment_terms", "2/10 net30"),))
    )
    doc = invoice(book, "C1", ISSUED, ("WIDGET", "8"))
    add_endpoint(book, "payment.received", "invoice.paid")
    # 2 % of 119.00 = 2.38; 116.62 paid within 10 days of the issue closes the invoice.
    import_(book, statement([entry(11662, PAID, ref="B1", text=doc.number)], 0, ISSUED, PAID))
    dry = match(book, dry_run=True)
    assert dry.automatic == 1 and events(book) == []
    report = match(book)
    assert report.automatic == 1
    assert sorted(t for t, _ in types(book)) == ["invoice.paid", "payment.received"]
    [paid] = events(book, "invoice.paid")
    assert (paid.subject, paid.body["data"]["invoice"]["open"]) == (doc.number, "0.00")
    [payment] = events(book, "payment.received")
    assert (
        payment.body["data"]["payment"]["amount"],
        payment.body["data"]["payment"]["invoices"],
    ) == (
        "116.62",
        [doc.number],
    )
