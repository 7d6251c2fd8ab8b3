"""The work queues' test book: the quarter of conftest.py (clock at 2026-03-20 10:00 UTC) and,
on top of it, written by hand so that every figure a queue shows can be worked out on paper:

    dunning policy STD, the entity's default:  step 1  +7 days  reminder (friendly)
                                              step 2 +21 days  reminder (first)
        INV-2026-000002 (C1, due 03-12, 150.00 open) is the one invoice overdue on 03-20:
        8 days past due, no step taken, next step 1 on 03-19 (due already)
    C1 gets an e-mail address (ap@alpha.example); letters go from ar@acme.example
    approval threshold 1,000.00 EUR
    draft 8  C1  11 TRAINING x 100.00 exempt = 1,100.00 EUR, prepared by "clerk":
             above the threshold, so it waits for a second person's approval
    customer C4 Delta BV (NL, EUR, reverse charge) without a VAT number
    draft 9  C4   2 WIDGET x 12.50 reverse charge = 25.00 EUR, prepared by "clerk":
             blocked: "has no VAT number, which this customer's tax treatment needs"
             (and warned: no postal address, no e-mail)
    contract K1 for C3 from 2026-01-01; delivery D-1: 5 BOOK shipped to C3 on 03-17,
             confirmed, not billed: preparing bills it at 9.99 = 49.95 + 7 % 3.50 = 53.45
    the quarter's bank statement matched (03-19): the matching posts both lines itself,
             the 50.00 from Beta SARL naming INV-2026-000003 as its payment (bank line 1,
             payment 3) and the -12.34 "bank fees" as bank charges (line 2)
    a second statement (03-20), matched: two lines wait for review, each with two
             candidates (50 % oldest first, 45 % all as credit):
             line 3  +100.00 Gamma KG "books":  INV-2026-000004 85.51 + 14.49 credit
             line 4   +75.00 Alpha GmbH "part": INV-2026-000002 75.00

The draft of the quarter (GIFT, draft 7) stays as it was.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from fixtures_book import ENTITY

from openbill.adapters.clock import FixedClock
from openbill.bootstrap import Book
from openbill.domain.bank import Entry, Statement
from openbill.domain.commercial import DELIVERY_FIELDS
from openbill.usecases import bank, bank_matching, commercial, invoices, verification
from openbill.usecases import dunning as dn
from openbill.usecases import masterdata as m

SENDER = "ar@acme.example"
IBAN = "DE89370400440532013000"
C4_VAT = "NL004495445B01"  # a valid Dutch VAT number (python-stdnum's example)
APPROVAL_DRAFT = 8
BLOCKED_DRAFT = 9


def fill_queues(book: Book, clock: FixedClock) -> None:
    now = clock.now()
    uow = book.uow
    dn.create_policy(
        uow(),
        dn.CreatePolicy(
            ENTITY,
            "STD",
            "Standard",
            (dn.StepSpec(7, "reminder", "friendly"), dn.StepSpec(21, "reminder", "first")),
        ),
    )
    m.update_customer(uow(), m.UpdateCustomer(ENTITY, "C1", (("email", "ap@alpha.example"),)))
    verification.set_settings(
        uow(), verification.SetVerificationSettings(ENTITY, approval_threshold="1000.00")
    )
    day = date(2026, 3, 19)
    clock.set(datetime(2026, 3, 19, 9, 0, tzinfo=UTC))
    invoices.create_draft(
        book.uow(actor="clerk"),
        invoices.CreateDraft(ENTITY, "C1", day, lines=(invoices.LineSpec("TRAINING", "11"),)),
    )
    # Created as domestic, then changed to reverse charge without its VAT number (a change
    # the master data allows; the verification catches it on the draft).
    m.create_customer(uow(), m.CreateCustomer(ENTITY, "C4", "Delta BV", "NL", "EUR"))
    m.update_customer(uow(), m.UpdateCustomer(ENTITY, "C4", (("regime", "reverse_charge"),)))
    invoices.create_draft(
        book.uow(actor="clerk"),
        invoices.CreateDraft(ENTITY, "C4", day, lines=(invoices.LineSpec("WIDGET", "2"),)),
    )
    for draft_id in (APPROVAL_DRAFT, BLOCKED_DRAFT):
        verification.verify_draft(
            book.uow(actor="clerk"), verification.VerifyDraft(ENTITY, draft_id)
        )
    commercial.create_contract(
        uow(), commercial.CreateContract(ENTITY, "K1", "C3", date(2026, 1, 1))
    )
    header = ",".join(DELIVERY_FIELDS[:-1])
    commercial.import_deliveries(
        uow(),
        commercial.ImportDeliveries(
            ENTITY, f"{header}\nD-1,shipment,C3,K1,,,BOOK,2026-03-17,,5,,,,,\n", "march.csv"
        ),
    )
    bank_matching.match_lines(uow, bank_matching.MatchLines(ENTITY))
    clock.set(datetime(2026, 3, 20, 8, 0, tzinfo=UTC))
    day = date(2026, 3, 20)
    entries = (
        Entry(day, day, 10000, "EUR", "B3", counterparty_name="Gamma KG", remittance="books"),
        Entry(day, day, 7500, "EUR", "B4", counterparty_name="Alpha GmbH", remittance="part"),
    )
    statement = Statement("camt.053", IBAN, "EUR", "S2", "2", day, day, day, entries=entries)
    bank.import_statements(
        uow(), bank.ImportStatements(ENTITY, "march-2.xml", "1" * 64, (statement,), "Main EUR")
    )
    bank_matching.match_lines(uow, bank_matching.MatchLines(ENTITY))
    clock.set(now)
