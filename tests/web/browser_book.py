"""The book the browser tests serve: written with the use cases, dated relative to today (the
server runs on the real clock), with one piece of work in each queue. T is today (UTC).

    users: a user of each role of ACME (tests/api/conftest.py), password PASSWORD
    C1 Alpha GmbH gets an e-mail address; C4 Delta BV (NL) is reverse charge without its VAT
    number (created domestic, then changed: the master data allows it, verification catches it)

    INV-T-000001  C1  T-40  8 WIDGET x 12.50 = 100.00 + 19 % = 119.00 EUR, due T-10: overdue
    INV-T-000002  C3  T-20  10 BOOK x 9.99 = 99.90 + 7 % 6.99 = 106.89 EUR
                  dispute case DSP-000001 on all of it (quantity), opened by the clerk
    INV-T-000003  C2  T-15  4 WIDGET x 12.50 = 50.00 EUR, reverse charge
    draft 4       C4  T-1   2 WIDGET = 25.00 EUR, blocked: "has no VAT number"
    contract K1 for C3; delivery D-1: 5 BOOK shipped on T-3, confirmed, not billed
    bank account Main EUR, statement of T: +60.00 from Beta SARL "part payment", matched:
                  more than C2 owes (50.00), so it waits for review: its best candidate
                  pays INV-T-000003 and keeps 10.00 as C2's credit

(the invoice numbers carry this year: INV-2026-000001 ...; `numbers` gives them.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from api.conftest import build_desk
from fixtures_book import ENTITY, build_book

from openbill.adapters.clock import FixedClock
from openbill.bootstrap import Book
from openbill.domain.bank import Entry, Statement
from openbill.domain.commercial import DELIVERY_FIELDS
from openbill.usecases import bank, bank_matching, commercial, disputes, invoices, verification
from openbill.usecases import masterdata as m

IBAN = "DE89370400440532013000"
C4_VAT = "NL004495445B01"
BLOCKED_DRAFT = 4


@dataclass(frozen=True)
class Prepared:
    today: date
    overdue: str  # C1's overdue invoice, 119.00
    disputed: str  # C3's invoice with the case, 106.89
    by_bank: str  # C2's invoice the bank line pays


def prepare(url: str) -> Prepared:
    """Build the book at `url` and close it again (the server opens it)."""
    now = datetime.now(UTC)
    clock = FixedClock(now - timedelta(days=60))
    book = build_book(url, clock)
    try:
        build_desk(book).close()
        return _fill(book, clock, now)
    finally:
        book.close()


def _fill(book: Book, clock: FixedClock, now: datetime) -> Prepared:
    today = now.date()
    uow = book.uow

    def on(days_ago: int) -> date:
        clock.set(now - timedelta(days=days_ago))
        return today - timedelta(days=days_ago)

    def issue(customer: str, days_ago: int, code: str, qty: str) -> str:
        day = on(days_ago)
        made = invoices.create_invoice(
            uow(),
            invoices.CreateInvoice(ENTITY, customer, (invoices.LineSpec(code, qty),), day),
        )
        return made.number

    on(50)
    m.update_customer(uow(), m.UpdateCustomer(ENTITY, "C1", (("email", "ap@alpha.example"),)))
    overdue = issue("C1", 40, "WIDGET", "8")
    disputed = issue("C3", 20, "BOOK", "10")
    by_bank = issue("C2", 15, "WIDGET", "4")
    on(10)
    disputes.open_case(book.uow(actor="clerk"), disputes.OpenCase(ENTITY, disputed, "quantity"))
    m.create_customer(uow(), m.CreateCustomer(ENTITY, "C4", "Delta BV", "NL", "EUR"))
    m.update_customer(uow(), m.UpdateCustomer(ENTITY, "C4", (("regime", "reverse_charge"),)))
    day = on(1)
    made = invoices.create_draft(
        book.uow(actor="clerk"),
        invoices.CreateDraft(ENTITY, "C4", day, lines=(invoices.LineSpec("WIDGET", "2"),)),
    )
    assert made.id == BLOCKED_DRAFT
    verification.verify_draft(book.uow(actor="clerk"), verification.VerifyDraft(ENTITY, made.id))
    since = today - timedelta(days=60)
    commercial.create_contract(uow(), commercial.CreateContract(ENTITY, "K1", "C3", since))
    header = ",".join(DELIVERY_FIELDS[:-1])
    shipped = (today - timedelta(days=3)).isoformat()
    commercial.import_deliveries(
        uow(),
        commercial.ImportDeliveries(
            ENTITY, f"{header}\nD-1,shipment,C3,K1,,,BOOK,{shipped},,5,,,,,\n", "d.csv"
        ),
    )
    clock.set(now)
    bank.add_bank_account(uow(), bank.AddBankAccount(ENTITY, "Main EUR", "EUR", iban=IBAN))
    entry = Entry(
        today, today, 6000, "EUR", "B1", counterparty_name="Beta SARL", remittance="part payment"
    )
    statement = Statement("camt.053", IBAN, "EUR", "S1", "1", today, today, today, entries=(entry,))
    bank.import_statements(
        uow(), bank.ImportStatements(ENTITY, "today.xml", "0" * 64, (statement,), "Main EUR")
    )
    bank_matching.match_lines(uow, bank_matching.MatchLines(ENTITY))
    return Prepared(today, overdue, disputed, by_bank)


def fix_c4(url: str) -> None:
    """What someone does outside the desk meanwhile: C4's VAT number entered."""
    from openbill.bootstrap import open_book

    book = open_book(url, actor="clerk")
    try:
        m.update_customer(book.uow(), m.UpdateCustomer(ENTITY, "C4", (("vat_id", C4_VAT),)))
    finally:
        book.close()
