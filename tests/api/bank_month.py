"""A bank month for the API tests: four invoices of the test book (tests/fixtures_book.py),
ACME's main account registered through the API, and March 2026's camt.053 statement written
with adapters/bank/write.py, the file a bank would send.

Invoices, worked out by hand from the book's prices (WIDGET 12.50 at 19 %, BOOK 9.99 at 7 %,
TRAINING 100.00 exempt; net 30 days, C3 on eom+15):

    A  C1  2026-02-10  8 WIDGET    100.00 + 19.00 = 119.00   due 2026-03-12
    B  C1  2026-02-20  10 BOOK      99.90 +  6.99 = 106.89   due 2026-03-22
    C  C3  2026-02-12  2 WIDGET     25.00 +  4.75 =  29.75   due 2026-03-15
    D  C3  2026-02-25  1 TRAINING  100.00 +  0.00 = 100.00   due 2026-03-15

The statement, opening 1,000.00 (the account's opening balance on 2026-02-28):

    1  03-09  +119.00  from C1's IBAN with the RF reference of A  -> automatic (reference)
    2  03-16   +29.75  MAX MUSTER, "Zahlung"                      -> review: only C fits
    3  03-20  +150.00  GAMMA KG from C3's IBAN, "Sammelzahlung"   -> review: nothing fits
    4  03-31   -12.50  bank charges (CHRG)                        -> automatic (charges)
    closing 1,286.25 (1,000.00 + 119.00 + 29.75 + 150.00 - 12.50)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from fixtures_book import ENTITY, invoice

from openbill.adapters.bank.write import write_camt053, write_mt940
from openbill.bootstrap import Book
from openbill.domain.bank import Balance, Entry, Statement
from openbill.domain.reference import creditor_reference
from openbill.usecases import masterdata as md

BASE = f"/v1/entities/{ENTITY}"
BANK = f"{BASE}/bank"
OWN = "DE89370400440532013000"
IBAN_C1 = "DE44500105175407324931"
IBAN_C3 = "DE12500105170648489890"
ACCOUNT = "Main EUR"
CAMT = {"Content-Type": "application/xml"}


@dataclass
class Month:
    numbers: dict[str, str]  # A, B, C, D -> invoice number
    statement: Statement
    camt: bytes
    mt940: bytes


def _entry(amount_minor: int, day: int, ref: str, **kw: str) -> Entry:
    on = date(2026, 3, day)
    return Entry(
        booking_date=on,
        value_date=on,
        amount_minor=amount_minor,
        currency="EUR",
        bank_reference=ref,
        transaction_code=kw.pop("code", "PMNT/RCDT/ESCT"),
        **kw,
    )


def march(book: Book) -> Month:
    """The four invoices, the payers' IBANs, and March's statement as camt.053 and MT940."""
    numbers = {
        "A": invoice(book, "C1", date(2026, 2, 10), ("WIDGET", "8")).number,
        "B": invoice(book, "C1", date(2026, 2, 20), ("BOOK", "10")).number,
        "C": invoice(book, "C3", date(2026, 2, 12), ("WIDGET", "2")).number,
        "D": invoice(book, "C3", date(2026, 2, 25), ("TRAINING", "1")).number,
    }
    for code, iban in (("C1", IBAN_C1), ("C3", IBAN_C3)):
        md.update_customer(book.uow(), md.UpdateCustomer(ENTITY, code, (("iban", iban),)))
    entries = (
        _entry(
            11900,
            9,
            "B1",
            counterparty_name="ALPHA GMBH",
            counterparty_account=IBAN_C1,
            creditor_reference=creditor_reference(numbers["A"]),
        ),
        _entry(2975, 16, "B2", counterparty_name="MAX MUSTER", remittance="Zahlung"),
        _entry(
            15000,
            20,
            "B3",
            counterparty_name="GAMMA KG",
            counterparty_account=IBAN_C3,
            remittance="Sammelzahlung",
        ),
        _entry(-1250, 31, "B4", remittance="Entgelte", code="ACMT/MDOP/CHRG"),
    )
    statement = Statement(
        format="camt.053",
        account=OWN,
        currency="EUR",
        statement_id="STMT-2026-03",
        sequence="3",
        created=date(2026, 3, 31),
        period_from=date(2026, 3, 1),
        period_to=date(2026, 3, 31),
        opening=Balance(100000, "EUR", date(2026, 3, 1)),
        closing=Balance(128625, "EUR", date(2026, 3, 31)),
        entries=entries,
    )
    camt = write_camt053(
        [statement], message_id="API-2026-03", created=datetime(2026, 4, 1, tzinfo=UTC)
    )
    return Month(numbers, statement, camt, write_mt940([statement]))


def add_account(client) -> dict:
    """ACME's main EUR account, as a specialist registers it through the API."""
    reply = client.post(
        f"{BANK}/accounts",
        json={
            "name": ACCOUNT,
            "currency": "EUR",
            "iban": OWN,
            "opening_balance": "1000.00",
            "opening_on": "2026-02-28",
        },
    )
    assert reply.status_code == 201, reply.text
    return reply.json()


def upload(client, data: bytes, key: str = "", **params):
    headers = dict(CAMT)
    if key:
        headers["Idempotency-Key"] = key
    return client.post(
        f"{BANK}/statements",
        content=data,
        headers=headers,
        params={"filename": "march.xml", **params},
    )


def lines_by_amount(client) -> dict[str, dict]:
    reply = client.get(f"{BANK}/lines")
    assert reply.status_code == 200, reply.text
    return {line["amount"]: line for line in reply.json()["data"]}
