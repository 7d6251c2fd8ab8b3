"""The issue #5 part of `openbill demo`: the bank statement of the month after the quarter.

On the first of that month (here 2027-03-01) the desk registers DEMO's bank accounts (the main
EUR account with the balance it had before the demo month, and a savings account), records
the IBANs it knows of its customers, puts two customers on "2/10 net30" terms and bills the
month. During the month it records by hand what comes in outside the bank file: two cheques
(one banked on the 8th, one still on its way at the month's end) and a refund. Then the bank's
statement of the month arrives, written by the demo in CAMT.053 and in MT940
(demo-output/bank-2027-03.camt053.xml and .sta), with what a month brings:

    payments quoting the RF creditor reference or the invoice number (one written with a blank
    inside, one with a digit wrong), two invoices paid together, a part payment, a payment
    short by the bank's fee, one less the early-payment discount, a USD invoice paid from a EUR
    account, a customer paying once with a reference and then without one from the same account
    (learned), a direct debit collected and returned (MD06), the cheque banked, the refund paid,
    the account fee and interest, a transfer to the savings account, a payment-plan instalment
    quoting its invoice (posted as a part payment); and a few no machine should decide: an
    unknown payer, a payment quoting another customer's invoice, a payer whose name two
    customers share paying more than is open, and a payer known by name only quoting nothing.

The CAMT.053 is imported and matched; the MT940 copy of the same statement adds nothing. The
lines left for review wait for the user; the reconciliation report of the month ends the part.
Every step first looks whether it already happened, so a second `make demo` adds nothing.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console

from openbill.adapters.bank import read_statement
from openbill.adapters.bank.write import write_camt053, write_mt940
from openbill.adapters.clock import FixedClock
from openbill.bootstrap import Book
from openbill.domain.bank import Balance, Entry, Statement
from openbill.domain.reference import creditor_reference, printable
from openbill.interfaces.cli.bank_cmds import print_match_report, print_reconciliation
from openbill.interfaces.cli.bank_scenario import iban_de
from openbill.usecases import bank as bk
from openbill.usecases import bank_matching as bm
from openbill.usecases import bank_reconcile as br
from openbill.usecases import fx
from openbill.usecases import invoices as inv
from openbill.usecases import masterdata as md
from openbill.usecases import payments as pay

__all__ = ["Banking", "month_after"]

MAIN, SAVINGS = "Main EUR", "Savings EUR"
MAIN_IBAN = "DE89370400440532013000"
SAVINGS_IBAN = "DE02120300000000202051"
OPENING = "48210.55"  # the main account's balance before the demo month
SEED = 2027_03

# Customers whose IBAN the desk knows (master data); the others pay from accounts it does not.
KNOWN_IBANS = {
    "MFG-002": iban_de(7100),
    "MFG-004": iban_de(7101),
    "MFG-006": iban_de(7102),
    "MFG-007": iban_de(7103),
    "MFG-008": iban_de(7104),
    "MFG-009": iban_de(7105),
    "MFG-010": iban_de(7106),
    "SAAS-001": iban_de(7107),
    "SAAS-002": iban_de(7108),
    "SAAS-004": iban_de(7109),
    "SAAS-007": iban_de(7110),
    "SAAS-010": iban_de(7111),
    "EU-NL-01": "NL91ABNA0417164300",
}
DISCOUNT_TERMS = ("MFG-006", "SAAS-004")
# Billed on the first of the month: everyone not on a credit hold; MED-001 twice.
BILLED = (
    "MFG-002 MFG-004 MFG-005 MFG-006 MFG-007 MFG-008 MFG-009 MFG-010 MFG-011 MFG-013 MFG-015 "
    "SAAS-001 SAAS-002 SAAS-004 SAAS-005 SAAS-006 SAAS-007 SAAS-008 SAAS-009 SAAS-010 "
    "SAAS-011 SAAS-012 SAAS-013 SAAS-014 MED-001 MED-001 MED-002 EU-NL-01 US-003"
).split()
UNKNOWN_IBAN = iban_de(9999)


def month_after(last_day: date) -> tuple[date, date]:
    first = last_day + timedelta(days=1)
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, nxt - timedelta(days=1)


@dataclass
class _Plan:
    entries: list[Entry] = field(default_factory=list)
    seq: int = 0


class Banking:
    def __init__(
        self, book: Book, clock: FixedClock, quarter_end: date, out_dir: Path, entity: str
    ) -> None:
        self.book, self.clock, self.entity, self.out_dir = book, clock, entity, out_dir
        self.first, self.last = month_after(quarter_end)
        self.camt = out_dir / f"bank-{self.first:%Y-%m}.camt053.xml"
        self.mt940 = out_dir / f"bank-{self.first:%Y-%m}.sta"
        self.report: bm.MatchReport | None = None
        self.copy: bk.StatementsImported | None = None
        self.imported: bk.StatementsImported | None = None

    def day(self, n: int) -> date:
        return self.first + timedelta(days=n)

    def at(self, day: date, minute: int = 0) -> None:
        self.clock.set(datetime.combine(day, time(9, 0), tzinfo=UTC) + timedelta(minutes=minute))

    def _key(self, *parts: object) -> str:
        return f"demo-{self.first:%Y-%m}-bank-" + "-".join(str(p) for p in parts)

    def done(self) -> bool:
        with self.book.uow(read_only=True) as u:
            entity = u.entities.by_code(self.entity)
            accounts = u.bank.accounts(entity.id)
            return any(a.name == MAIN and u.bank.statements_of(a.id) for a in accounts)

    # -- the month --------------------------------------------------------------------------

    def run(self, console: Console) -> None:
        if self.done():
            console.print(f"bank month {self.first:%B %Y} already in the book; nothing added")
            return
        console.print(
            f"bank month {self.first:%B %Y}: accounts, {len(BILLED)} invoices, cheques, the "
            "bank statement (CAMT.053 and MT940), matching ..."
        )
        self.setup()
        numbers = self.bill()
        self.by_hand(numbers)
        statement = self.statement(numbers)
        self.write(statement)
        self.at(self.last + timedelta(days=1), 30)
        data = self.camt.read_bytes()
        self.imported = bk.import_statements(
            self.book.uow(),
            bk.ImportStatements(
                self.entity,
                self.camt.name,
                hashlib.sha256(data).hexdigest(),
                tuple(read_statement(data, self.camt.name)),
            ),
        )
        self.report = bm.match_lines(
            self.book.uow, bm.MatchLines(self.entity, line_ids=self.imported.line_ids)
        )
        copy = self.mt940.read_bytes()
        self.copy = bk.import_statements(
            self.book.uow(),
            bk.ImportStatements(
                self.entity,
                self.mt940.name,
                hashlib.sha256(copy).hexdigest(),
                tuple(read_statement(copy, self.mt940.name)),
            ),
        )

    def setup(self) -> None:
        self.at(self.day(0))
        uow = self.book.uow
        bk.add_bank_account(
            uow(),
            bk.AddBankAccount(
                self.entity,
                MAIN,
                "EUR",
                MAIN_IBAN,
                opening_balance=OPENING,
                opening_on=date(2026, 10, 31),
            ),
        )
        bk.add_bank_account(uow(), bk.AddBankAccount(self.entity, SAVINGS, "EUR", SAVINGS_IBAN))
        for code, iban in KNOWN_IBANS.items():
            md.update_customer(uow(), md.UpdateCustomer(self.entity, code, (("iban", iban),)))
        for code in DISCOUNT_TERMS:
            md.update_customer(
                uow(), md.UpdateCustomer(self.entity, code, (("payment_terms", "2/10 net30"),))
            )
        rate = Decimal("1.0790")  # EUR per 1 ECB quote: 1 EUR = 1.0790 USD at the start
        rng = random.Random(SEED)
        on = self.first
        while on <= self.last + timedelta(days=3):
            if on.weekday() < 5:
                fx.set_rate(uow(), fx.SetRate(self.entity, on, "EUR", "USD", str(rate), "ECB"))
                rate += Decimal(rng.randint(-30, 30)) / 10000
            on += timedelta(days=1)

    def bill(self) -> dict[str, list[tuple[str, int]]]:
        """The month's invoices: number and total per customer."""
        rng = random.Random(SEED)
        out: dict[str, list[tuple[str, int]]] = {}
        for n, code in enumerate(BILLED):
            self.at(self.day(0), 10 + n)
            lines = _lines(code, rng)
            result = inv.create_invoice(
                self.book.uow(),
                inv.CreateInvoice(
                    self.entity,
                    code,
                    lines,
                    self.day(0),
                    idempotency_key=self._key("inv", n, code),
                ),
            )
            out.setdefault(code, []).append((result.number, result.total_minor))
        return out

    def by_hand(self, numbers: dict[str, list[tuple[str, int]]]) -> None:
        """What the desk records itself: a cheque banked on the 8th, one still on its way, and a
        refund of a customer's credit paid on the 10th."""
        ((n7, t7),) = numbers["MFG-007"]
        self._record("cheque-mfg-007", "MFG-007", t7, self.day(3), f"cheque 004512 for {n7}")
        ((n11, t11),) = numbers["SAAS-011"]
        self._record("cheque-saas-011", "SAAS-011", t11, self.day(29), f"cheque 17733 for {n11}")
        self.at(self.day(9), 30)
        pay.refund(
            self.book.uow(),
            pay.Refund(self.entity, "MFG-009", "250.00", "EUR", self.day(9), reference="credit"),
        )

    def _record(self, key: str, customer: str, amount: int, on: date, reference: str) -> None:
        self.at(on, 45)
        pay.record_payment(
            self.book.uow(),
            pay.RecordPayment(
                self.entity,
                customer,
                _eur(amount),
                "EUR",
                on,
                "cheque",
                reference,
                "auto",
                idempotency_key=self._key("pay", key),
            ),
        )

    # -- the statement ----------------------------------------------------------------------

    def statement(self, numbers: dict[str, list[tuple[str, int]]]) -> Statement:
        p = _Plan()
        d = self.day

        def add(amount: int, on: date, **kw: Any) -> None:
            p.seq += 1
            p.entries.append(
                Entry(
                    booking_date=on,
                    value_date=on,
                    amount_minor=amount,
                    currency="EUR",
                    bank_reference=f"{on:%y%m%d}{p.seq:06d}",
                    transaction_code=kw.pop("code", "PMNT/RCDT/ESCT"),
                    **kw,
                )
            )

        def one(code: str, i: int = 0) -> tuple[str, int]:
            return numbers[code][i]

        def payer(code: str) -> dict[str, str]:
            return {
                "counterparty_name": _names[code],
                "counterparty_account": KNOWN_IBANS.get(code, ""),
            }

        # RF references, printed (in groups of four) or compact
        for i, code in enumerate(
            (
                "MFG-002",
                "MFG-004",
                "MFG-010",
                "SAAS-001",
                "SAAS-002",
                "SAAS-009",
                "SAAS-013",
                "MED-002",
            )
        ):
            number, total = one(code)
            rf = creditor_reference(number)
            add(total, d(4 + i), remittance=printable(rf) if i % 2 else rf, **payer(code))
        # the invoice number in the text; written with a blank inside; one digit wrong
        number, total = one("SAAS-006")
        add(total, d(6), remittance=f"Rechnung {number}", **payer("SAAS-006"))
        number, total = one("SAAS-014")
        add(total, d(7), remittance=f"RE {number[:11]} {number[11:]} DANKE", **payer("SAAS-014"))
        number, total = one("SAAS-007")
        add(total, d(8), remittance=f"Rechnung {_mistyped(number)}", **payer("SAAS-007"))
        # two of MFG-003's overdue invoices together, quoting both numbers
        old = self._open("MFG-003")[:2]
        add(
            sum(t for _, t in old),
            d(9),
            remittance="Rechnungen " + " ".join(n for n, _ in old),
            counterparty_name=_names["MFG-003"],
        )
        # a part payment from a known account, quoting the reference
        number, total = one("MFG-008")
        add(
            total // 2,
            d(10),
            remittance=f"Teilzahlung {creditor_reference(number)}",
            **payer("MFG-008"),
        )
        # short by the bank's fee of 7.50 (a Dutch bank)
        number, total = one("EU-NL-01")
        add(total - 750, d(11), remittance=f"INVOICE {number}", **payer("EU-NL-01"))
        # less the early-payment discount within ten days
        for code, day in (("MFG-006", 7), ("SAAS-004", 9)):
            number, total = one(code)
            discount = (total * 2 + 50) // 100  # 2 %, half-up
            add(total - discount, d(day), remittance=f"{number} abzgl. 2% Skonto", **payer(code))
        # a USD invoice paid from a EUR account: the payer instructed the USD amount
        number, total = one("US-003")
        eur = int((Decimal(total) / Decimal("1.0795")).to_integral_value())
        add(
            eur,
            d(12),
            remittance=f"INVOICE {number}",
            counterparty_name=_names["US-003"],
            counterparty_account=iban_de(8803),
            instructed_minor=total,
            instructed_currency="USD",
        )
        # MED-001 pays once with the reference, then without one from the same account
        first, second = numbers["MED-001"]
        med = {
            "counterparty_name": _names["MED-001"],
            "counterparty_account": iban_de(8801),
        }
        add(first[1], d(5), remittance=creditor_reference(first[0]), **med)
        add(second[1], d(19), remittance="Praxis Zahlung", **med)
        # a direct debit collected and returned by the payer's bank
        number, total = one("SAAS-010")
        e2e = f"DD-{self.first:%Y%m}-SAAS010"
        add(
            total,
            d(2),
            code="PMNT/IDDT/ESDD",
            end_to_end_id=e2e,
            remittance=f"SEPA-Lastschrift {creditor_reference(number)}",
            **payer("SAAS-010"),
        )
        add(
            -total,
            d(9),
            code="PMNT/IDDT/UPDD",
            end_to_end_id=e2e,
            return_reason="MD06",
            remittance="Rücklastschrift",
            **payer("SAAS-010"),
        )
        # what the desk recorded itself: the cheque banked, the refund paid
        _, t7 = one("MFG-007")
        add(
            t7,
            d(7),
            code="PMNT/RCDT/ESCT",
            remittance="SCHECKEINREICHUNG 004512",
            **payer("MFG-007"),
        )
        add(
            -25000,
            d(10),
            code="PMNT/ICDT/ESCT",
            remittance="Erstattung Guthaben",
            **payer("MFG-009"),
        )
        # the bank's own lines and a transfer to the savings account
        add(-1290, d(30), code="ACMT/MDOP/CHRG", remittance="Kontoführung")
        add(317, d(30), code="ACMT/MDOP/INTR", remittance="Habenzinsen")
        add(
            -2000000,
            d(15),
            code="PMNT/ICDT/ESCT",
            remittance="Umbuchung Tagesgeld",
            counterparty_name="DEMO INDUSTRIE & SERVICES GMBH",
            counterparty_account=SAVINGS_IBAN,
        )
        # for a person to decide
        add(
            15000,
            d(13),
            remittance="Spende Sommerfest",
            counterparty_name="MAX MUSTERMANN",
            counterparty_account=UNKNOWN_IBAN,
        )
        number, total = one("SAAS-008")
        add(total, d(14), remittance=f"Rechnung {number}", **payer("SAAS-007"))
        number, total = one("SAAS-012")
        add(
            total + 1000,
            d(16),
            remittance=creditor_reference(number),
            counterparty_name="BECKER CLOUD SYSTEMS GMBH",
        )
        held = self._open("MFG-012")[:1]
        if held:
            add(
                50000,
                d(17),
                remittance=f"Rate 1 Zahlungsplan {held[0][0]}",
                counterparty_name=_names["MFG-012"],
            )
        number, total = one("SAAS-005")
        add(total, d(18), remittance="Zahlung Maerz", counterparty_name=_names["SAAS-005"])
        entries = sorted(p.entries, key=lambda e: (e.booking_date, e.bank_reference))
        opening = self._book_balance(self.first - timedelta(days=1))
        closing = opening + sum(e.amount_minor for e in entries)
        return Statement(
            format="camt.053",
            account=MAIN_IBAN,
            currency="EUR",
            statement_id=f"DEMO{self.first:%Y%m}",
            sequence="3",
            created=self.last,
            period_from=self.first,
            period_to=self.last,
            opening=Balance(opening, "EUR", self.first),
            closing=Balance(closing, "EUR", self.last),
            entries=tuple(entries),
        )

    def _open(self, code: str) -> list[tuple[str, int]]:
        with self.book.uow(read_only=True) as u:
            entity = u.entities.by_code(self.entity)
            row = u.customers.by_code(entity.id, code)
            rows = u.ledger.open_documents(row.id, row.currency, "invoice")
            return [(r.number, int(r.open_minor)) for r in rows if r.open_minor > 0]

    def _book_balance(self, upto: date) -> int:
        """What the bank account held in the book the day before the statement: its opening
        balance and every payment, refund and return of the demo so far."""
        with self.book.uow(read_only=True) as u:
            entity = u.entities.by_code(self.entity)
            account = next(a for a in u.bank.accounts(entity.id) if a.name == MAIN)
            rows = u.bank.book_entries(entity.id, account.ledger_account, "EUR", upto)
            return sum(int(r[6]) for r in rows)

    def write(self, statement: Statement) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        created = datetime.combine(self.last + timedelta(days=1), time(6, 0), tzinfo=UTC)
        self.camt.write_bytes(
            write_camt053([statement], message_id=f"DEMO-{self.first:%Y%m}", created=created)
        )
        self.mt940.write_bytes(write_mt940([statement]))

    # -- what is printed ----------------------------------------------------------------------

    def summary(self, console: Console) -> None:
        if self.imported is not None and self.report is not None:
            (s,) = self.imported.statements
            console.print(
                f"\nbank statement {s.reference} imported from {self.camt}: {s.entries} lines, "
                f"{s.new_entries} new",
                markup=False,
            )
            print_match_report(self.report)
        if self.copy is not None:
            dupes = sum(1 for s in self.copy.statements if s.duplicate_of is not None)
            console.print(
                f"the MT940 copy {self.mt940.name}: {self.copy.new_entries} new lines"
                + (", the statement was imported before" if dupes else ""),
                markup=False,
            )
        r = br.reconcile(
            self.book.uow(read_only=True), br.Reconcile(self.entity, MAIN, f"{self.first:%Y-%m}")
        )
        print_reconciliation(r)

    def next_steps(self) -> list[tuple[str, str]]:
        return [
            ("openbill bank review", "    # the lines left for you"),
            ("openbill bank show LINE", "    # a line's candidates; then:"),
            ("openbill bank review confirm LINE --candidate N", ""),
            (f"openbill bank reconcile --account '{MAIN}' --period {self.first:%Y-%m}", ""),
            ("openbill bank lines --status matched", ""),
            ("openbill bank accounts list", ""),
        ]


_names = {
    "MFG-002": "SCHULZ MASCHINENBAU GMBH",
    "MFG-003": "SEIDEL FERTIGUNGSTECHNIK GMBH",
    "MFG-004": "FRANK WERKZEUGBAU GMBH",
    "MFG-006": "ROTH MASCHINENBAU GMBH",
    "MFG-007": "SEIDEL ANTRIEBSTECHNIK GMBH",
    "MFG-008": "SEIDEL WERKZEUGBAU GMBH",
    "MFG-009": "VOGEL FEINMECHANIK GMBH",
    "MFG-010": "SCHULZ ANTRIEBSTECHNIK GMBH",
    "MFG-012": "WAGNER STAHLBAU GMBH",
    "SAAS-001": "SEIDEL ANALYTICS GMBH",
    "SAAS-002": "KELLER CLOUD SYSTEMS GMBH",
    "SAAS-004": "KRUEGER DIGITAL GMBH",
    "SAAS-005": "BERGER ANALYTICS GMBH",
    "SAAS-006": "SEIDEL ANALYTICS GMBH",
    "SAAS-007": "WAGNER CLOUD SYSTEMS GMBH",
    "SAAS-009": "SEIDEL LOGISTIK IT GMBH",
    "SAAS-010": "LANGE ANALYTICS GMBH",
    "SAAS-013": "HAAS ANALYTICS GMBH",
    "SAAS-014": "VOGEL LOGISTIK IT GMBH",
    "MED-001": "PRAXISKLINIK FREIBURG",
    "MED-002": "PRAXISKLINIK AUGSBURG",
    "EU-NL-01": "VAN DER BERG TECHNIEK BV",
    "US-003": "LAKESIDE ANALYTICS INC",
}


def _eur(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def _mistyped(number: str) -> str:
    """Two neighbouring digits of the running number swapped, where they differ and the
    result is no number the book has used (INV-2027-000034 -> INV-2027-000304)."""
    digits = list(number)
    for i in range(len(digits) - 3, len(digits) - 7, -1):
        if digits[i] != digits[i + 1] and digits[i].isdigit() and digits[i + 1].isdigit():
            digits[i], digits[i + 1] = digits[i + 1], digits[i]
            return "".join(digits)
    return number[:-1] + str((int(number[-1]) + 5) % 10)


def _lines(code: str, rng: random.Random) -> tuple[inv.LineSpec, ...]:
    L = inv.LineSpec
    if code.startswith("MED"):
        return (L("MED-EXAM", str(rng.randint(3, 12))), L("MED-LAB", str(rng.randint(4, 20))))
    if code.startswith("SAAS") or code == "US-003":
        return (L("SAAS-BASE", "1"), L("SAAS-SEAT", str(rng.randint(3, 40))))
    return (
        L("MACH-PART", str(rng.randrange(20, 300, 10))),
        L("STEEL-KG", str(rng.randrange(300, 4000, 50))),
    )
