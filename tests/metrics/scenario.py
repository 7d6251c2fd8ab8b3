"""The first quarter of 2026 of the fixture book, shared by the metrics tests (`q1`).

Entity ACME, net30 unless the customer says otherwise; WIDGET 12.50 + 19 %, BOOK 9.99 + 7 %,
TRAINING 100.00 exempt:

    INV1 C1  01-05 8 WIDGET   100.00 + 19.00 = 119.00  due 02-04  paid 02-20
    INV2 C2  01-20 1 TRAINING 100.00 + 0     = 100.00  due 02-19  written off 03-01
    INV3 CJP 02-01 1 WIDGET   JPY 1333 + 253 = 1586    due 03-03  paid 03-01
    INV4 C1  02-10 4 WIDGET    50.00 +  9.50 =  59.50  due 03-12  credit note 03-05 for 2
                                                                  WIDGET (29.75), the rest
                                                                  paid 03-25
    INV5 C1  02-20 2 WIDGET    25.00 +  4.75 =  29.75  due 03-22  open, past due on 03-31
    INV6 C1  03-10 10 BOOK     99.90 +  6.99 = 106.89  due 04-09  open, current on 03-31
"""

from __future__ import annotations

from datetime import date

from fixtures_book import ENTITY, invoice

from openbill.usecases import invoices as inv
from openbill.usecases import payments as pay


def pay_oldest(book, customer: str, amount: str, on: date) -> None:
    pay.record_payment(book.uow(), pay.RecordPayment(ENTITY, customer, amount, received_on=on))


def build_q1(book):
    invoice(book, "C1", date(2026, 1, 5), ("WIDGET", "8"))
    inv2 = invoice(book, "C2", date(2026, 1, 20), ("TRAINING", "1"))
    invoice(book, "CJP", date(2026, 2, 1), ("WIDGET", "1"))
    inv4 = invoice(book, "C1", date(2026, 2, 10), ("WIDGET", "4"))
    invoice(book, "C1", date(2026, 2, 20), ("WIDGET", "2"))
    invoice(book, "C1", date(2026, 3, 10), ("BOOK", "10"))
    # Oldest due first: INV1 (due 02-04) takes all 119.00.
    pay_oldest(book, "C1", "119.00", date(2026, 2, 20))
    pay.write_off(book.uow(), pay.WriteOff(ENTITY, inv2.number, "insolvent", on=date(2026, 3, 1)))
    pay_oldest(book, "CJP", "1586", date(2026, 3, 1))
    inv.credit_invoice(
        book.uow(),
        inv.CreditInvoice(
            ENTITY, inv4.number, "two returned", credit_date=date(2026, 3, 5), lines=((1, "2"),)
        ),
    )
    # Oldest due first: INV4 (due 03-12, 29.75 left) before INV5 (03-22) and INV6 (04-09).
    pay_oldest(book, "C1", "29.75", date(2026, 3, 25))
    return book
