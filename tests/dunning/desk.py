"""Helpers of the dunning tests: the fixture book with what dunning needs (a tax class outside
the scope of VAT, the LATE-FEE and LATE-INTEREST charge codes, e-mail addresses, the standard
policy of issue #4 and statutory interest at 2.15 % + 9 points), a letter renderer that records
what it was asked to word, and a `Desk` that runs dunning on a date (moving the clock there).

The standard policy STD (days relative to the due date):

    1  -3  reminder                            friendly
    2  +7  reminder                            first
    3 +21  late_fee 5.00 + reminder            second
    4 +35  recovery_fee + interest + final     final
    5 +42  credit_hold + collections
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from fixtures_book import ENTITY, invoice

from openbill.adapters.clock import FixedClock
from openbill.adapters.documents.dunning_mail import TemplateLetters
from openbill.bootstrap import Book
from openbill.usecases import dunning as dn
from openbill.usecases import masterdata as m

SENDER = "ar@acme.example"
EMAILS = {"C1": "ap@alpha.example", "C2": "compta@beta.example"}
OUTSIDE_NOTE = "Not subject to VAT: compensation for late payment"
STD_STEPS = (
    dn.StepSpec(-3, "reminder", "friendly"),
    dn.StepSpec(7, "reminder", "first"),
    dn.StepSpec(21, "reminder+late_fee", "second", "5.00"),
    dn.StepSpec(35, "final_notice+interest+recovery_fee", "final"),
    dn.StepSpec(42, "credit_hold+collections"),
)


class RecordingLetters:
    """The real template renderer, remembering every letter it words."""

    def __init__(self) -> None:
        self.real = TemplateLetters()
        self.letters: list[dn.Letter] = []

    def has_template(self, template: str) -> bool:
        return self.real.has_template(template)

    def render(self, letter: dn.Letter) -> tuple[str, str]:
        self.letters.append(letter)
        return self.real.render(letter)


@dataclass
class Desk:
    book: Book
    clock: FixedClock
    letters: RecordingLetters = field(default_factory=RecordingLetters)

    def at(self, day: date) -> None:
        self.clock.set(datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC))

    def invoice(self, customer: str, day: date, *lines: tuple[str, str]) -> Any:
        self.at(day)
        return invoice(self.book, customer, day, *(lines or (("WIDGET", "2"),)))

    def run(self, day: date, **options: Any) -> dn.RunReport:
        self.at(max(day, self.clock.today()) if options.get("dry_run") else day)
        cmd = dn.RunDunning(ENTITY, day, sender=SENDER, **options)
        return dn.run_dunning(self.book.uow(), cmd, self.letters)

    def sql(self, statement: str, **params: Any) -> list[Any]:
        from sqlalchemy import text

        with self.book.engine.connect() as conn:
            return list(conn.execute(text(statement), params).all())

    def steps(self, number: str) -> list[int]:
        """The step numbers taken on an invoice, in order."""
        return [h.step_no for h in dn.invoice_history(self.book.uow(), ENTITY, number).steps]


def prepare(book: Book, statutory: bool = True) -> None:
    m.add_tax_rule(
        book.uow(),
        m.AddTaxRule(
            ENTITY, "DE", "outside", date(2020, 1, 1), "O", "0", OUTSIDE_NOTE, "VATEX-EU-O"
        ),
    )
    for code, name, account in (
        ("LATE-FEE", "Late fee", "4810"),
        ("LATE-INTEREST", "Late interest", "4820"),
    ):
        m.create_charge_code(
            book.uow(), m.CreateChargeCode(ENTITY, code, name, "C62", account, "outside")
        )
    for code, email in EMAILS.items():
        m.update_customer(book.uow(), m.UpdateCustomer(ENTITY, code, (("email", email),)))
    dn.create_policy(book.uow(), dn.CreatePolicy(ENTITY, "STD", "Standard", STD_STEPS))
    if statutory:
        dn.set_settings(
            book.uow(),
            dn.SetDunningSettings(ENTITY, interest_enabled=True, reference_rate="2.15", margin="9"),
        )
