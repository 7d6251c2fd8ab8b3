"""A quarter of collections, January to March 2026, told as text and compared with the story
worked out by hand below (not copied from a run).

The book: ACME (EUR), the standard policy of issue #4 (friendly -3, first +7, second +21 with
a 5.00 late fee, final +35 with interest at 2.15 % + 9 points and the 40.00 recovery fee,
credit hold and collections +42), a tolerance of 0.50 EUR, runs every Monday.

Invoices (net 30, 19 % VAT on WIDGET, 7 % on BOOK):

    INV-2026-000001  C1   2026-01-05   8 WIDGET 12.50 = 100.00 + 19.00   119.00  due 02-04
    INV-2026-000002  C4   2026-01-12  10 WIDGET 12.50 = 125.00 + 23.75   148.75  due 02-11
    INV-2026-000003  CUS  2026-01-15  10 WIDGET 10.00 USD = 100.00 + 19.00  119.00 USD  due 02-14
    INV-2026-000004  C1   2026-01-26  10 BOOK 9.99 = 99.90 + 6.99        106.89  due 02-25

Step days (due + offset):  INV-1: 02-01, 02-11, 02-25, 03-11, 03-18
                           INV-2: 02-08, 02-18, 03-04, 03-18, 03-25
                           INV-3: 02-11, 02-21, 03-07, 03-21, 03-28
                           INV-4: 02-22, ...

(A step's actions are told in the order the policy carries them out: fees before the letter
that names them.)

What happens:
    02-06  C4 pays INV-2 by direct debit (RF reference) ... returned on 02-13: open again
    02-10  C1 disputes all of INV-4 (quantity): dunning skips it
    02-18  CUS promises 119.00 USD by 02-27 (grace 3 days: skipped until 03-02)
    02-20  C1 pays 118.70 quoting INV-1: 0.30 short, within 0.50: written off, INV-1 settled
    02-27  CUS pays 110.00 EUR quoting INV-3's RF at 1 USD = 0.92 EUR: 119.00 x 0.92 = 109.48
           used, 0.52 EUR credit; carried 119.00 x 0.90 (rate of 01-15) = 107.10: gain 2.38
    03-06  the dispute is resolved by re-bill: CN-2026-000001 (106.89) and INV-2026-000005,
           8 BOOK = 79.92 + 5.59 (7 % of 79.92 = 5.5944) = 85.51, due 04-05
    Runs:  02-02 INV-1 step 1.  02-09 nothing (INV-2 was paid on 02-06).
           02-16 INV-1 step 2; INV-2 step 1 (reopened; its step 2 is 02-18); INV-3 step 1.
           02-23 INV-2 step 2; INV-3 skipped (promise); INV-4 skipped (disputed).
           03-02 INV-4 skipped (disputed); INV-2's step 3 is 03-04.
           03-09 INV-2 step 3: the 5.00 fee, invoice INV-2026-000006.
           03-16 nothing (INV-2's step 4 is 03-18).
           03-23 INV-2 step 4: interest 148.75 x 11.15 % x 40 days (02-12 to 03-23) / 365
                 = 1.8176... -> 1.82, and the 40.00 recovery fee: INV-2026-000007, 41.82.
           03-30 INV-2 step 5: credit hold and collections; then a new invoice for C4 is
                 refused. The same date again takes nothing; an earlier date neither.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fixtures_book import ENTITY, START, add_price, invoice, verify_clean

from openbill.adapters.documents.dunning_mail import TemplateLetters
from openbill.domain.money import format_minor
from openbill.domain.reference import creditor_reference
from openbill.domain.rejections import InvalidState
from openbill.usecases import disputes as dsp
from openbill.usecases import dunning as dun
from openbill.usecases import fx, reports
from openbill.usecases import invoices as inv
from openbill.usecases import masterdata as m
from openbill.usecases import payments as pay

pytestmark = pytest.mark.slow

EXPECTED = """\
2026-02-02 run: INV-2026-000001 step 1 reminder
2026-02-06 paid: C4 148.75 EUR to INV-2026-000002 (reference)
2026-02-09 run: nothing taken
2026-02-10 disputed: DSP-000001 on INV-2026-000004, 106.89 EUR
2026-02-13 returned: payment of C4, reopened INV-2026-000002
2026-02-16 run: INV-2026-000001 step 2 reminder; INV-2026-000002 step 1 reminder; \
INV-2026-000003 step 1 reminder
2026-02-18 promised: CUS 119.00 USD by 2026-02-27
2026-02-20 paid: C1 118.70 EUR to INV-2026-000001 (reference); small difference 0.30
2026-02-23 run: INV-2026-000002 step 2 reminder; INV-2026-000003 skipped (promise to pay); \
INV-2026-000004 skipped (disputed)
2026-02-27 paid: CUS 110.00 EUR to INV-2026-000003 (reference); exchange gain 2.38 EUR
2026-03-02 run: INV-2026-000004 skipped (disputed)
2026-03-06 re-billed: CN-2026-000001 106.89, INV-2026-000005 85.51
2026-03-09 run: INV-2026-000002 step 3 late_fee+reminder; fee invoice INV-2026-000006 5.00
2026-03-16 run: nothing taken
2026-03-23 run: INV-2026-000002 step 4 recovery_fee+interest+final_notice; \
fee invoice INV-2026-000007 41.82
2026-03-30 run: INV-2026-000002 step 5 credit_hold+collections
2026-03-31 refused: a new invoice for C4 (credit hold)
2026-03-31 run again on 2026-03-30: nothing taken
2026-03-31 run on 2026-03-23: nothing taken
2026-03-31 open: C1 85.51 EUR; C4 195.57 EUR (148.75 in 31-60); CUS credit 0.52 EUR
"""


class Quarter:
    def __init__(self, book, clock) -> None:
        self.book, self.clock = book, clock
        self.log: list[str] = []
        self.letters = TemplateLetters()
        self.seen: set[str] = set()  # invoices told already (not fee invoices of a run)

    def at(self, day: date) -> None:
        self.clock.set(datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC))

    def say(self, day: date, text: str) -> None:
        self.log.append(f"{day.isoformat()} {text}")

    def run(self, day: date, label: str = "run") -> None:
        report = dun.run_dunning(
            self.book.uow(), dun.RunDunning(ENTITY, day, sender="ar@acme.example"), self.letters
        )
        parts = []
        for line in report.lines:
            if line.outcome == "taken":
                parts.append(f"{line.invoice} step {line.step_no} {line.reason}")
            elif line.outcome == "skipped" and line.invoice:
                parts.append(f"{line.invoice} skipped ({line.reason})")
        parts.sort()  # by invoice number (the run goes customer by customer)
        fees = self.fee_invoices_since(day)
        parts += [f"fee invoice {number} {total}" for number, total in fees]
        self.say(self.clock.today(), f"{label}: " + ("; ".join(parts) or "nothing taken"))

    def fee_invoices_since(self, day: date) -> list[tuple[str, str]]:
        docs = reports.list_documents(self.book.uow(read_only=True), ENTITY, kind="invoice")
        return [
            (d.number, format_minor(d.total_minor, d.currency))
            for d in docs
            if d.document_date == day.isoformat() and d.number not in self.seen
        ]

    def paid(
        self, day: date, customer: str, amount: str, currency: str, reference: str, **kw
    ) -> pay.PaymentRecorded:
        self.at(day)
        r = pay.record_payment(
            self.book.uow(),
            pay.RecordPayment(
                ENTITY, customer, amount, currency, day, reference=reference, allocate="auto", **kw
            ),
        )
        text = f"paid: {customer} {amount} {currency} to {', '.join(r.invoices)} ({r.how})"
        if r.written_off_minor:
            text += f"; small difference {format_minor(r.written_off_minor, 'EUR')}"
        if r.fx_difference_minor:
            text += f"; exchange gain {format_minor(r.fx_difference_minor, 'EUR')} EUR"
        self.say(day, text)
        return r


def _set_up(book) -> None:
    m.add_tax_rule(
        book.uow(),
        m.AddTaxRule(ENTITY, "DE", "outside", START, "O", "0", "Not subject to VAT", "VATEX-EU-O"),
    )
    for code, name in (("LATE-FEE", "Late fee"), ("LATE-INTEREST", "Late interest")):
        m.create_charge_code(
            book.uow(), m.CreateChargeCode(ENTITY, code, name, "C62", "4880", "outside")
        )
    m.create_customer(book.uow(), m.CreateCustomer(ENTITY, "C4", "Delta AG", "DE", "EUR"))
    m.create_customer(book.uow(), m.CreateCustomer(ENTITY, "CUS", "Yankee Inc", "DE", "USD"))
    add_price(book, "WIDGET", "USD", START, "10.00")
    for code in ("C1", "C4", "CUS"):
        m.update_customer(
            book.uow(), m.UpdateCustomer(ENTITY, code, (("email", f"ap@{code.lower()}.example"),))
        )
    dun.create_policy(
        book.uow(),
        dun.CreatePolicy(
            ENTITY,
            "STD",
            "Standard",
            (
                dun.StepSpec(-3, "reminder", "friendly"),
                dun.StepSpec(7, "reminder", "first"),
                dun.StepSpec(21, "reminder+late_fee", "second", "5.00"),
                dun.StepSpec(35, "final_notice+interest+recovery_fee", "final"),
                dun.StepSpec(42, "credit_hold+collections"),
            ),
        ),
    )
    dun.set_settings(
        book.uow(),
        dun.SetDunningSettings(
            ENTITY,
            interest_enabled=True,
            reference_rate="2.15",
            margin="9",
            recovery_fee="40.00",
            recovery_currency="EUR",
        ),
    )
    pay.set_tolerance(book.uow(), pay.SetTolerance(ENTITY, "EUR", "0.50"))
    fx.set_rate(book.uow(), fx.SetRate(ENTITY, date(2026, 1, 15), "USD", "EUR", "0.90"))


def test_a_quarter_of_collections(book, clock):
    _set_up(book)
    q = Quarter(book, clock)
    for customer, day, line in (
        ("C1", date(2026, 1, 5), ("WIDGET", "8")),
        ("C4", date(2026, 1, 12), ("WIDGET", "10")),
        ("CUS", date(2026, 1, 15), ("WIDGET", "10")),
        ("C1", date(2026, 1, 26), ("BOOK", "10")),
    ):
        q.at(day)
        q.seen.add(invoice(book, customer, day, line).number)

    monday = date(2026, 2, 2)
    events = {
        date(2026, 2, 6): lambda d: q.paid(
            d, "C4", "148.75", "EUR", creditor_reference("INV-2026-000002"), method="direct_debit"
        ),
        date(2026, 2, 10): lambda d: _dispute(q, d),
        date(2026, 2, 13): lambda d: _bounce(q, d),
        date(2026, 2, 18): lambda d: _promise(q, d),
        date(2026, 2, 20): lambda d: q.paid(d, "C1", "118.70", "EUR", "Rechnung INV-2026-000001"),
        date(2026, 2, 27): lambda d: q.paid(
            d, "CUS", "110.00", "EUR", creditor_reference("INV-2026-000003"), rate="0.92"
        ),
        date(2026, 3, 6): lambda d: _rebill(q, d),
    }
    day = date(2026, 2, 1)
    while day <= date(2026, 3, 30):
        if day in events:
            events[day](day)
        if day >= monday and day.weekday() == 0:
            q.at(day)
            q.run(day)
            q.seen |= {n for n, _ in q.fee_invoices_since(day)}
        day += timedelta(days=1)
        verify_clean(book)

    end = date(2026, 3, 31)
    q.at(end)
    with pytest.raises(InvalidState):
        inv.create_invoice(
            book.uow(), inv.CreateInvoice(ENTITY, "C4", (inv.LineSpec("WIDGET", "1"),), end)
        )
    q.say(end, "refused: a new invoice for C4 (credit hold)")
    q.run(date(2026, 3, 30), "run again on 2026-03-30")
    q.run(date(2026, 3, 23), "run on 2026-03-23")
    q.say(end, "open: " + _open_text(book, end))
    verify_clean(book)
    told = "\n".join(q.log) + "\n"
    assert told == EXPECTED, told


def _dispute(q: Quarter, day: date) -> None:
    q.at(day)
    case = dsp.open_case(
        q.book.uow(), dsp.OpenCase(ENTITY, "INV-2026-000004", "quantity", opened_on=day)
    )
    q.say(day, f"disputed: {case.case_no} on INV-2026-000004, 106.89 EUR")


def _bounce(q: Quarter, day: date) -> None:
    q.at(day)
    # C4's direct debit of 02-06 is the first payment of the book: payment 1.
    done = pay.reverse_payment(
        q.book.uow(), pay.ReversePayment(ENTITY, 1, "returned direct debit (AM04)", day)
    )
    q.say(day, f"returned: payment of C4, reopened {done.detail}")


def _promise(q: Quarter, day: date) -> None:
    q.at(day)
    dun.add_promise(
        q.book.uow(), dun.AddPromise(ENTITY, "CUS", date(2026, 2, 27), "119.00", made_on=day)
    )
    q.say(day, "promised: CUS 119.00 USD by 2026-02-27")


def _rebill(q: Quarter, day: date) -> None:
    q.at(day)
    done = dsp.resolve_by_rebill(
        q.book.uow(),
        dsp.ResolveByRebill(ENTITY, "DSP-000001", (inv.LineSpec("BOOK", "8"),), on=day),
    )
    q.seen |= {done.rebill_invoice}
    q.say(
        day,
        f"re-billed: {done.credit_note} {format_minor(done.credit_note_total_minor, 'EUR')}, "
        f"{done.rebill_invoice} {format_minor(done.rebill_total_minor, 'EUR')}",
    )


def _open_text(book, on: date) -> str:
    _, rows = reports.aging(book.uow(read_only=True), ENTITY, on)
    parts = []
    for r in rows:
        if r.total_minor:
            text = f"{r.customer} {format_minor(r.total_minor, r.currency)} {r.currency}"
            if r.buckets[2]:
                text += f" ({format_minor(r.buckets[2], r.currency)} in 31-60)"
            parts.append(text)
        if r.credit_minor:
            parts.append(
                f"{r.customer} credit {format_minor(r.credit_minor, r.currency)} {r.currency}"
            )
    return "; ".join(parts)
