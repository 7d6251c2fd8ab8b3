"""Random sequences of billing events on a small book, against a model of what is open.

After every step: the ledger sums to zero per currency, `verify` finds nothing, customer credit
is never negative, invoices never have a negative open amount, and both equal the model's.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import defaultdict
from datetime import date, timedelta

import pytest
from fixtures_book import ENTITY, build_book, credit_of, invoice
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from openbill.domain.money import format_minor
from openbill.usecases import invoices as inv
from openbill.usecases import payments as pay
from openbill.usecases import reports
from openbill.usecases.verify import verify

CUSTOMERS = ("C1", "C3")
CODES = ("WIDGET", "BOOK", "TRAINING")


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="openbill-stateful-")
        self.book = build_book(f"sqlite:///{self.dir}/book.db")
        self.day = date(2026, 1, 1)
        # The model: open amount per invoice number (in issue order), customer of each,
        # customer credit, invoices already credited.
        self.open: dict[str, int] = {}
        self.customer_of: dict[str, str] = {}
        self.credit: dict[str, int] = defaultdict(int)
        self.credited: set[str] = set()
        # What is left on each credit note, per customer, oldest first.
        self.note_left: dict[str, list[int]] = defaultdict(list)

    def teardown(self) -> None:
        self.book.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _today(self) -> date:
        self.day += timedelta(days=1)
        return self.day

    def _open_of(self, customer: str) -> list[str]:
        return [n for n, left in self.open.items() if left > 0 and self.customer_of[n] == customer]

    def _settle_oldest(self, customer: str, amount: int) -> int:
        used = 0
        for number in self._open_of(customer):
            take = min(amount - used, self.open[number])
            self.open[number] -= take
            used += take
        return used

    # ------------------------------------------------------------------ rules

    @rule(
        customer=st.sampled_from(CUSTOMERS),
        lines=st.lists(
            st.tuples(st.sampled_from(CODES), st.integers(1, 5).map(str)), min_size=1, max_size=3
        ),
    )
    def issue(self, customer, lines):
        issued = invoice(self.book, customer, self._today(), *lines)
        assert issued.total_minor > 0
        self.open[issued.number] = issued.total_minor
        self.customer_of[issued.number] = customer

    @rule(customer=st.sampled_from(CUSTOMERS), amount=st.integers(1, 40_000))
    def pay_oldest(self, customer, amount):
        paid = pay.record_payment(
            self.book.uow(),
            pay.RecordPayment(
                ENTITY, customer, format_minor(amount, "EUR"), received_on=self._today()
            ),
        )
        used = self._settle_oldest(customer, amount)
        self.credit[customer] += amount - used
        assert (paid.allocated_minor, paid.credit_minor) == (used, self.credit[customer])

    @precondition(lambda self: any(v > 0 for v in self.open.values()))
    @rule(data=st.data())
    def pay_explicit(self, data):
        number = data.draw(st.sampled_from(sorted(n for n, v in self.open.items() if v > 0)))
        amount = data.draw(st.integers(1, self.open[number]))
        text = format_minor(amount, "EUR")
        paid = pay.record_payment(
            self.book.uow(),
            pay.RecordPayment(
                ENTITY,
                self.customer_of[number],
                text,
                received_on=self._today(),
                allocate="explicit",
                to=((number, text),),
            ),
        )
        assert paid.allocated_minor == amount
        self.open[number] -= amount

    @precondition(lambda self: set(self.open) - self.credited)
    @rule(data=st.data())
    def credit_note(self, data):
        number = data.draw(st.sampled_from(sorted(set(self.open) - self.credited)))
        note = inv.credit_invoice(
            self.book.uow(), inv.CreditInvoice(ENTITY, number, "random", self._today())
        )
        self.credited.add(number)
        # The note credits the whole invoice and settles what is still open of it; the rest
        # stays on the note.
        applied = min(self.open[number], note.total_minor)
        self.open[number] -= applied
        self.note_left[self.customer_of[number]].append(note.total_minor - applied)

    @precondition(lambda self: any(v > 0 for v in self.credit.values()))
    @rule(data=st.data())
    def refund(self, data):
        customer = data.draw(st.sampled_from(sorted(c for c, v in self.credit.items() if v > 0)))
        amount = data.draw(st.integers(1, self.credit[customer]))
        pay.refund(
            self.book.uow(),
            pay.Refund(ENTITY, customer, format_minor(amount, "EUR"), refunded_on=self._today()),
        )
        self.credit[customer] -= amount

    @precondition(lambda self: any(v > 0 for v in self.open.values()))
    @rule(data=st.data())
    def write_off(self, data):
        number = data.draw(st.sampled_from(sorted(n for n, v in self.open.items() if v > 0)))
        amount = data.draw(st.integers(1, self.open[number]))
        pay.write_off(
            self.book.uow(),
            pay.WriteOff(ENTITY, number, "random", format_minor(amount, "EUR"), self._today()),
        )
        self.open[number] -= amount

    @rule(customer=st.sampled_from(CUSTOMERS))
    def apply_credit(self, customer):
        done = pay.apply_credit(
            self.book.uow(), pay.ApplyCredit(ENTITY, customer, on=self._today())
        )
        used = self._settle_oldest(customer, self.credit[customer])
        self.credit[customer] -= used
        # Then what is left on credit notes, oldest note first.
        notes = self.note_left[customer]
        for i, left in enumerate(notes):
            taken = self._settle_oldest(customer, left)
            notes[i] -= taken
            used += taken
        assert done.amount_minor == used

    # ------------------------------------------------------------------ invariants

    @invariant()
    def ledger_balances_to_zero_per_currency(self):
        sums: dict[str, int] = defaultdict(int)
        for row in reports.ledger_balances(self.book.uow(read_only=True)):
            sums[row.currency] += row.balance_minor
        assert all(total == 0 for total in sums.values()), sums

    @invariant()
    def verify_is_clean(self):
        report = verify(self.book.uow(read_only=True))
        assert report.violations == ()

    @invariant()
    def credit_matches_the_model_and_is_never_negative(self):
        for customer in CUSTOMERS:
            actual = credit_of(self.book, customer)
            assert actual >= 0
            assert actual == self.credit[customer]

    @invariant()
    def open_amounts_match_the_model_and_are_never_negative(self):
        rows = reports.list_documents(
            self.book.uow(read_only=True), ENTITY, kind="invoice", as_of=self.day
        )
        actual = {r.number: r.open_minor for r in rows}
        assert all(v >= 0 for v in actual.values())
        assert actual == self.open


LedgerMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedgerMachine = pytest.mark.slow(LedgerMachine.TestCase)
