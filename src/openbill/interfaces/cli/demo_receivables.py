"""The issue #4 part of `openbill demo`: a quarter of collections after the demo month.

From the first of the next month to the end of the third, the receivables team works on
what November left open. Every date below is relative to that first day (here 2026-12-01):

    day 0   exchange rates imported (ECB layout), tolerance 0.50 EUR, the dunning policy
            (friendly -3, first +7, second +21 with a late fee, final +35 with interest and
            the recovery fee, credit hold and collections +42), statutory interest on
    day 0   SAAS-021 pays by direct debit ... which bounces on day 7 (AM04)
    day 2   MFG-008 pays quoting the RF creditor reference of its invoice
    day 3   four disputes: a price (credit note), a quantity (re-bill), "not delivered"
            (rejected, the explanation e-mailed), contract terms (left open)
    day 4   MFG-012 asks for a payment plan: manual dunning hold
    day 6   US-005 pays its USD invoice in EUR: the realised exchange gain is posted
    day 9   promises to pay: SAAS-013 (kept on day 27), UK-002 (broken)
    day 10  a bank export (de-bank CSV) of four payments is imported: RF references, an
            invoice number in the text, one short by a 0.30 EUR bank fee (written off)
    day 13  MFG-012 pays 3,000.00 by hand onto one invoice
    day 17  MFG-003 mistypes the reference: the payment goes to its oldest invoice
    day 42  an invoice for MFG-005, on credit hold, is refused; MFG-005 pays, the hold is
            released with a reason
    weekly  a dunning run every Tuesday; the last date is run twice and adds nothing

Every step first looks whether it already happened, so a second `make demo` adds nothing.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from openbill.adapters.clock import FixedClock
from openbill.adapters.documents.dunning_mail import TemplateLetters
from openbill.bootstrap import Book
from openbill.domain.money import format_minor
from openbill.domain.payment_import import by_name
from openbill.domain.reference import creditor_reference, printable
from openbill.domain.rejections import Rejection
from openbill.usecases import disputes as dsp
from openbill.usecases import dunning as dun
from openbill.usecases import fx
from openbill.usecases import invoices as inv
from openbill.usecases import masterdata as md
from openbill.usecases import metrics as met
from openbill.usecases import payment_import as pim
from openbill.usecases import payments as pay
from openbill.usecases import reports as rep

__all__ = ["Collections", "quarter_of"]

POLICY = "STANDARD"
RATES_FILE = "ecb-rates.csv"
BANK_FILE = "bank-export-december.csv"


def quarter_of(start: date) -> tuple[date, date]:
    """The first and last day of the three months after the demo month."""
    first = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    after = first
    for _ in range(3):
        after = (after.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, after - timedelta(days=1)


@dataclass
class Outcome:
    added: list[str] = field(default_factory=list)
    refused_invoice: str = ""  # the message of the invoice refused for the credit hold
    runs: list[dun.RunReport] = field(default_factory=list)


@dataclass(frozen=True)
class _Open:
    number: str
    currency: str
    open_minor: int
    due: date


class Collections:
    def __init__(
        self, book: Book, clock: FixedClock, start: date, out_dir: Path, entity: str
    ) -> None:
        self.book, self.clock, self.entity, self.out_dir = book, clock, entity, out_dir
        self.first, self.last = quarter_of(start)
        self.start = start
        self.result = Outcome()
        self.letters = TemplateLetters()

    # -- helpers -----------------------------------------------------------------------------

    def day(self, n: int) -> date:
        return self.first + timedelta(days=n)

    def at(self, day: date, minute: int = 0) -> None:
        self.clock.set(datetime.combine(day, time(9, 0), tzinfo=UTC) + timedelta(minutes=minute))

    def open_invoices(self, customer: str) -> list[_Open]:
        """The customer's invoices of this quarter still open, oldest due first. A later month's
        invoices stay out, so that a second run of the demo pays nothing it did not pay the
        first time."""
        with self.book.uow(read_only=True) as u:
            entity = u.entities.by_code(self.entity)
            row = u.customers.by_code(entity.id, customer)
            rows = u.ledger.open_documents(row.id, row.currency, "invoice")
            return [
                _Open(r.number, row.currency, int(r.open_minor), r.due_date)
                for r in rows
                if r.open_minor > 0 and r.document_date <= self.last
            ]

    def _key(self, *parts: object) -> str:
        return f"demo-{self.start:%Y-%m}-ar-" + "-".join(str(p) for p in parts)

    def _pay(
        self,
        key: str,
        customer: str,
        amount_minor: int,
        currency: str,
        on: date,
        reference: str,
        **kw: Any,
    ) -> pay.PaymentRecorded | None:
        with self.book.uow(read_only=True) as u:
            if u.idempotency.get("record_payment", self._key("pay", key)) is not None:
                return None  # recorded by an earlier run of the demo
        self.at(on, 120)
        return pay.record_payment(
            self.book.uow(),
            pay.RecordPayment(
                self.entity,
                customer,
                format_minor(amount_minor, currency),
                currency,
                on,
                kw.pop("method", "bank_transfer"),
                reference,
                kw.pop("allocate", "auto"),
                idempotency_key=self._key("pay", key),
                **kw,
            ),
        )

    # -- the plan ------------------------------------------------------------------------------

    def steps(self) -> list[tuple[date, int, str, Callable[[], None]]]:
        steps: list[tuple[date, int, str, Callable[[], None]]] = [
            (self.day(0), 0, "set-up", self.setup),
            (self.day(0), 2, "direct debit SAAS-021", self.direct_debit),
            (self.day(2), 2, "payment by RF reference", self.by_rf_reference),
            (self.day(3), 2, "disputes opened", self.open_disputes),
            (self.day(4), 2, "manual hold MFG-012", self.manual_hold),
            (self.day(6), 2, "USD invoice paid in EUR", self.fx_payment),
            (self.day(7), 2, "direct debit returned", self.bounce),
            (self.day(9), 2, "promises to pay", self.promises),
            (self.day(10), 2, "bank export imported", self.import_bank_file),
            (self.day(11), 2, "dispute rejected", lambda: self.resolve("reject")),
            (self.day(13), 2, "payment by hand", self.by_hand),
            (self.day(14), 2, "dispute credited", lambda: self.resolve("credit")),
            (self.day(17), 2, "mistyped reference", self.mistyped),
            (self.day(19), 2, "dispute re-billed", lambda: self.resolve("rebill")),
            (self.day(27), 2, "promise kept", self.promise_kept),
            (self.day(30), 2, "GBP paid in GBP", self.gbp_in_gbp),
            (self.day(38), 2, "USD paid in USD", self.usd_in_usd),
            (self.day(42), 2, "invoice refused: credit hold", self.refused_on_hold),
            (self.day(47), 2, "MFG-005 pays, hold released", self.hold_released),
            (self.day(63), 2, "late payers", self.late_payers),
        ]
        tuesday = self.first + timedelta(days=(1 - self.first.weekday()) % 7)
        runs = []
        while tuesday <= self.last:
            runs.append(tuesday)
            tuesday += timedelta(days=7)
        for on in runs:
            steps.append((on, 5, f"dunning run {on}", lambda on=on: self.dunning_run(on)))
        steps.append((runs[-1], 6, "same date again", lambda: self.dunning_run(runs[-1], True)))
        return sorted(steps, key=lambda s: (s[0], s[1]))

    def run(self, console: Console) -> None:
        steps = self.steps()
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[last]}"),
            console=console,
        ) as progress:
            task = progress.add_task("a quarter of collections", total=len(steps), last="")
            for _, _, label, step in steps:
                step()
                progress.update(task, advance=1, last=label)

    # -- day 0 ---------------------------------------------------------------------------------

    def rates_csv(self) -> str:
        """Daily reference rates, per 1 EUR, in the ECB's layout, from the demo month to the end
        of the quarter (business days only), from a fixed seed."""
        rng = random.Random(2026_12)
        usd, gbp = Decimal("1.0850"), Decimal("0.8600")
        lines = ["Date,USD,GBP,"]
        on = self.start
        while on <= self.last:
            if on.weekday() < 5:
                lines.append(f"{on.isoformat()},{usd},{gbp},")
                usd += Decimal(rng.randint(-40, 40)) / 10000
                gbp += Decimal(rng.randint(-20, 20)) / 10000
            on += timedelta(days=1)
        return "\n".join(lines) + "\n"

    def setup(self) -> None:
        self.at(self.day(0))
        uow = self.book.uow
        self.out_dir.mkdir(parents=True, exist_ok=True)
        rates = self.out_dir / RATES_FILE
        rates.write_text(self.rates_csv(), encoding="utf-8")
        fx.import_rates(uow(), self.entity, rates.read_text(encoding="utf-8"), RATES_FILE)
        pay.set_tolerance(uow(), pay.SetTolerance(self.entity, "EUR", "0.50"))
        with self.book.uow(read_only=True) as u:
            entity = u.entities.by_code(self.entity)
            have_codes = {c.code for c in u.catalog.charge_codes(entity.id)}
            has_policy = u.dunning.policy_by_code(entity.id, POLICY) is not None
            has_rule = any(r.tax_class == "outside" for r in u.entities.tax_rules(entity.id))
        if not has_rule:
            md.add_tax_rule(
                uow(),
                md.AddTaxRule(
                    self.entity,
                    "DE",
                    "outside",
                    date(2020, 1, 1),
                    "O",
                    "0",
                    "Not subject to VAT: compensation for late payment",
                    "VATEX-EU-O",
                ),
            )
        for code, name in (
            (dun.DEFAULT_FEE_CODE, "Late payment fee"),
            (dun.DEFAULT_INTEREST_CODE, "Late payment interest"),
        ):
            if code not in have_codes:
                md.create_charge_code(
                    uow(), md.CreateChargeCode(self.entity, code, name, "C62", "4880", "outside")
                )
        if not has_policy:
            dun.create_policy(
                uow(),
                dun.CreatePolicy(
                    self.entity,
                    POLICY,
                    "Standard collections",
                    (
                        dun.StepSpec(-3, "reminder", "friendly"),
                        dun.StepSpec(7, "reminder", "first"),
                        dun.StepSpec(21, "reminder+late_fee", "second", "5.00"),
                        dun.StepSpec(35, "final_notice+interest+recovery_fee", "final"),
                        dun.StepSpec(42, "credit_hold+collections"),
                    ),
                    default=True,
                ),
            )
            dun.set_settings(
                uow(),
                dun.SetDunningSettings(
                    self.entity,
                    interest_enabled=True,
                    reference_rate="1.27",
                    margin="9",
                    recovery_fee="40.00",
                    recovery_currency="EUR",
                ),
            )
            dun.assign_policy(uow(), dun.AssignPolicy(self.entity, "UK-002", language="en"))

    # -- payments ------------------------------------------------------------------------------

    def direct_debit(self) -> None:
        for o in self.open_invoices("SAAS-021")[:1]:
            self._pay(
                "dd-saas-021",
                "SAAS-021",
                o.open_minor,
                o.currency,
                self.day(0),
                f"SEPA direct debit {printable(creditor_reference(o.number))}",
                method="direct_debit",
            )

    def bounce(self) -> None:
        self.at(self.day(7), 60)
        with self.book.uow(read_only=True) as u:
            entity = u.entities.by_code(self.entity)
            found = u.idempotency.get("record_payment", self._key("pay", "dd-saas-021"))
        if found is None:
            return
        payment_id = int(pay_id_of(found.result))
        with self.book.uow(read_only=True) as u:
            if u.fx.reversal_of(payment_id) is not None or entity is None:
                return
        pay.reverse_payment(
            self.book.uow(),
            pay.ReversePayment(
                self.entity,
                payment_id,
                "returned direct debit, reason AM04 (insufficient funds)",
                self.day(7),
            ),
        )

    def by_rf_reference(self) -> None:
        for o in self.open_invoices("MFG-008")[:1]:
            ref = printable(creditor_reference(o.number))
            self._pay("rf-mfg-008", "MFG-008", o.open_minor, o.currency, self.day(2), ref)

    def fx_payment(self) -> None:
        """US-005's USD invoice paid in EUR, at the bank's rate of the day (the stored ECB rate
        of the payment date): the difference to the invoice date's rate is realised."""
        on = self.day(6)
        for o in self.open_invoices("US-005")[:1]:
            with self.book.uow(read_only=True) as u:
                entity = u.entities.by_code(self.entity)
                rate = fx.rate_between(u, entity, "USD", "EUR", on).rate
            eur = int((Decimal(o.open_minor) * rate).to_integral_value())
            self._pay("fx-us-005", "US-005", eur, "EUR", on, f"Invoice {o.number}")

    def gbp_in_gbp(self) -> None:
        for o in self.open_invoices("UK-004")[:1]:
            self._pay("gbp-uk-004", "UK-004", o.open_minor, "GBP", self.day(30), f"Inv {o.number}")

    def usd_in_usd(self) -> None:
        for o in self.open_invoices("US-001")[:1]:
            self._pay("usd-us-001", "US-001", o.open_minor, "USD", self.day(38), o.number)

    def by_hand(self) -> None:
        for o in self.open_invoices("MFG-012")[:1]:
            self._pay(
                "hand-mfg-012",
                "MFG-012",
                300000,
                "EUR",
                self.day(13),
                "instalment 1 of the payment plan",
                allocate="explicit",
                to=((o.number, "3000.00"),),
            )

    def mistyped(self) -> None:
        """MFG-003 pays its 2026-11-30 invoice but types one digit of the RF reference wrong:
        the check digits catch it, nothing is named, and the money goes oldest first."""
        invoices = self.open_invoices("MFG-003")
        if len(invoices) < 2:
            return
        target = invoices[-1]
        good = creditor_reference(target.number)
        bad = good[:-1] + ("7" if good[-1] != "7" else "8")
        self._pay("typo-mfg-003", "MFG-003", target.open_minor, "EUR", self.day(17), bad)

    def promise_kept(self) -> None:
        for o in self.open_invoices("SAAS-013")[:1]:
            self._pay(
                "promise-saas-013", "SAAS-013", o.open_minor, o.currency, self.day(27), o.number
            )

    def late_payers(self) -> None:
        for code in ("MFG-001", "MFG-002"):
            for o in self.open_invoices(code)[:1]:
                self._pay(
                    f"late-{code}",
                    code,
                    o.open_minor,
                    o.currency,
                    self.day(63),
                    printable(creditor_reference(o.number)),
                )

    def bank_csv(self) -> str:
        """A German online-banking export: four credits and one debit (the bank's fee)."""
        rows = ["Buchungstag;Verwendungszweck;Auftraggeber/Empfaenger;Betrag;Waehrung"]
        on = self.day(10).strftime("%d.%m.%Y")

        def amount(minor: int) -> str:
            text = format_minor(minor, "EUR")
            whole, cents = text.split(".")
            return f"{int(whole):,}".replace(",", ".") + "," + cents

        for code, how in (
            ("SAAS-007", "rf"),
            ("SAAS-004", "number"),
            ("EU-FR-01", "rf"),
            ("SAAS-019", "short"),
        ):
            for o in self.open_invoices(code)[:1]:
                text = {
                    "rf": printable(creditor_reference(o.number)),
                    "number": f"Rechnung {o.number} vom Kunden {code}",
                    "short": f"{o.number} abzgl. Bankgebuehr",
                }[how]
                minor = o.open_minor - (30 if how == "short" else 0)
                rows.append(f"{on};{text};{code} Kunde;{amount(minor)};EUR")
        rows.append(f"{on};Kontofuehrungsgebuehr Dezember;Demo Bank AG;-12,50;EUR")
        return "\n".join(rows) + "\n"

    def import_bank_file(self) -> None:
        self.at(self.day(10), 300)
        path = self.out_dir / BANK_FILE
        if not path.exists():
            path.write_text(self.bank_csv(), encoding="utf-8")
        pim.import_payments(
            self.book.uow,
            self.entity,
            path.read_text(encoding="utf-8"),
            BANK_FILE,
            by_name("de-bank"),
        )

    # -- disputes ------------------------------------------------------------------------------

    CASES = (
        # customer, reason, line, how it ends
        ("SAAS-003", "price", 1, "credit"),
        ("MFG-015", "quantity", None, "rebill"),
        ("UK-003", "not_delivered", None, "reject"),
        ("UK-001", "contract_terms", None, "open"),
    )

    def open_disputes(self) -> None:
        self.at(self.day(3), 60)
        for customer, reason, line, _how in self.CASES:
            if self._case_of(customer) is not None:
                continue
            for o in self.open_invoices(customer)[:1]:
                dsp.open_case(
                    self.book.uow(),
                    dsp.OpenCase(
                        self.entity,
                        o.number,
                        reason,
                        line_no=line,
                        owner="anna.keller",
                        due_on=self.day(17),
                        note=f"customer {customer} contests the invoice ({reason})",
                        opened_on=self.day(3),
                        idempotency_key=self._key("dispute", customer),
                    ),
                )

    def _case_of(self, customer: str) -> Any:
        cases = dsp.list_cases(self.book.uow(read_only=True), self.entity, status="all")
        return next((c for c in cases if c["customer_code"] == customer), None)

    def resolve(self, how: str) -> None:
        customer = next(c for c, _, _, h in self.CASES if h == how)
        case = self._case_of(customer)
        if case is None or case["status"] in ("resolved", "rejected"):
            return
        on = {"reject": self.day(11), "credit": self.day(14), "rebill": self.day(19)}[how]
        self.at(on, 200)
        uow = self.book.uow()
        if how == "credit":
            dsp.resolve_by_credit_note(
                uow,
                dsp.ResolveByCreditNote(
                    self.entity, case["case_no"], on=on, note="list price applied by mistake"
                ),
            )
        elif how == "rebill":
            with self.book.uow(read_only=True) as u:
                entity = u.entities.by_code(self.entity)
                doc = u.documents.by_number(entity.id, case["invoice_number"])
                lines = u.documents.lines(doc.id)
                codes = {c.id: c.code for c in u.catalog.charge_codes(entity.id)}
            corrected = tuple(
                inv.LineSpec(
                    codes[ln.charge_code_id],
                    str((ln.quantity * Decimal("0.9")).quantize(Decimal("1"))),
                    ln.description,
                    str(ln.unit_price),
                )
                for ln in lines
            )
            dsp.resolve_by_rebill(
                uow,
                dsp.ResolveByRebill(
                    self.entity,
                    case["case_no"],
                    corrected,
                    on=on,
                    note="10 % fewer units were delivered than invoiced",
                ),
            )
        else:
            dsp.reject_case(
                uow,
                dsp.RejectCase(
                    self.entity,
                    case["case_no"],
                    "Our carrier's proof of delivery shows the goods were received and signed "
                    "for at your Birmingham warehouse; the invoice stands.",
                    on=on,
                ),
            )

    # -- dunning -------------------------------------------------------------------------------

    def manual_hold(self) -> None:
        self.at(self.day(4), 30)
        with self.book.uow(read_only=True) as u:
            entity = u.entities.by_code(self.entity)
            row = u.customers.by_code(entity.id, "MFG-012")
            held = u.dunning.active_hold(row.id, "dunning") is not None
            done = any(h.customer_id == row.id for h in u.dunning.holds(entity.id, True, 1000))
        if held or done:
            return
        dun.set_hold(
            self.book.uow(),
            dun.SetHold(
                self.entity, "MFG-012", "dunning", "key account: payment plan being agreed"
            ),
        )

    def promises(self) -> None:
        self.at(self.day(9), 30)
        with self.book.uow(read_only=True) as u:
            entity = u.entities.by_code(self.entity)
            made = len(u.dunning.promises(entity.id, 1000))
        if made:
            return
        for code, days in (("SAAS-013", 25), ("UK-002", 12)):
            for o in self.open_invoices(code)[:1]:
                dun.add_promise(
                    self.book.uow(),
                    dun.AddPromise(
                        self.entity,
                        code,
                        self.day(days),
                        format_minor(o.open_minor, o.currency),
                        "promised on the phone",
                        self.day(9),
                    ),
                )

    def dunning_run(self, on: date, again: bool = False) -> None:
        with self.book.uow(read_only=True) as u:
            entity = u.entities.by_code(self.entity)
            done = [r for r in u.dunning.runs(entity.id, 10_000) if r.as_of == on]
        if len(done) >= (2 if again else 1):
            return
        self.at(on, 480 + (5 if again else 0))
        report = dun.run_dunning(self.book.uow(), dun.RunDunning(self.entity, on), self.letters)
        self.result.runs.append(report)

    def refused_on_hold(self) -> None:
        self.at(self.day(42), 60)
        with self.book.uow(read_only=True) as u:
            entity = u.entities.by_code(self.entity)
            row = u.customers.by_code(entity.id, "MFG-005")
            if u.dunning.active_hold(row.id, "credit") is None:
                return  # released already (a second run of the demo): nothing to show
        try:
            inv.create_invoice(
                self.book.uow(),
                inv.CreateInvoice(
                    self.entity,
                    "MFG-005",
                    (inv.LineSpec("MACH-PART", "100"),),
                    self.day(42),
                ),
            )
        except Rejection as refused:
            self.result.refused_invoice = refused.reason

    def hold_released(self) -> None:
        on = self.day(47)
        for o in self.open_invoices("MFG-005"):
            self._pay(f"hold-{o.number}", "MFG-005", o.open_minor, o.currency, on, o.number)
        self.at(on, 400)
        with self.book.uow(read_only=True) as u:
            entity = u.entities.by_code(self.entity)
            row = u.customers.by_code(entity.id, "MFG-005")
            held = u.dunning.active_hold(row.id, "credit") is not None
        if held:
            dun.release_hold(
                self.book.uow(),
                dun.ReleaseHold(
                    self.entity, "MFG-005", "credit", "paid in full; released by credit control"
                ),
            )

    # -- the report ----------------------------------------------------------------------------

    def summary(self, console: Console) -> None:
        first, last = self.first, self.last
        with self.book.uow(read_only=True) as u:
            entity = u.entities.by_code(self.entity)
            runs = list(u.dunning.runs(entity.id, 10_000))
            reversals = len(u.fx.all_reversals())
            fx_rows = u.fx.all_fx_allocations()
            holds = u.dunning.holds(entity.id, True, 1000)
            write_offs = [w for w in u.money.all_write_offs() if w.entity_id == entity.id]
        payments = [
            p
            for p in rep.list_payments(self.book.uow(read_only=True), self.entity)
            if first.isoformat() <= p["received_on"] <= last.isoformat()
        ]
        cases = dsp.list_cases(self.book.uow(read_only=True), self.entity, status="all")
        outcome = Counter(c["status"] for c in cases)
        table = Table(title=f"Collections {first} to {last}", title_justify="left")
        table.add_column("")
        table.add_column("", justify="right")
        table.add_row("payments received", str(len(payments)))
        table.add_row(
            "  of which by reference / oldest / by hand",
            " / ".join(str(n) for n in _hows(self.book, self.entity, first, last)),
        )
        table.add_row("payments returned (reversed)", str(reversals))
        gain = sum(int(x.difference_minor) for x in fx_rows)
        table.add_row("realised exchange difference (EUR)", format_minor(gain, "EUR"))
        small = [w for w in write_offs if w.reason.startswith("small difference")]
        table.add_row("small differences written off", str(len(small)))
        table.add_row("dunning runs", str(len(runs)))
        table.add_row(
            "disputes: credited / re-billed / rejected / open",
            " / ".join(
                str(n)
                for n in (
                    _resolved(cases, "credit_note"),
                    _resolved(cases, "rebill"),
                    outcome["rejected"],
                    sum(1 for c in cases if c["status"] not in ("resolved", "rejected")),
                )
            ),
        )
        table.add_row(
            "holds set (dunning / credit)",
            " / ".join(str(sum(1 for h in holds if h.kind == k)) for k in ("dunning", "credit")),
        )
        console.print(table)
        if self.result.refused_invoice:
            console.print(f"refused as it should be: {self.result.refused_invoice}", markup=False)
        report = met.receivables_metrics(
            self.book.uow(read_only=True),
            met.ReceivablesMetrics(self.entity, start=first, end=last),
        )
        metrics = Table(title=f"Receivables metrics {first} to {last}", title_justify="left")
        for name in ("currency", "DSO (countback)", "CEI", "avg days to pay", "paid late"):
            metrics.add_column(name, justify="left" if name == "currency" else "right")
        for row in report.currencies:
            times = row.payment
            metrics.add_row(
                row.currency,
                f"{row.dso_days} days",
                f"{row.cei_percent} %",
                f"{times.avg_days_to_pay}",
                f"{times.share_late_percent} % of {times.paid}",
            )
        console.print(metrics)


def pay_id_of(result_json: str) -> int:
    import json

    return int(json.loads(result_json)["id"])


def _resolved(cases: list[dict[str, Any]], how: str) -> int:
    return sum(1 for c in cases if c["status"] == "resolved" and c.get("resolution") == how)


def _hows(book: Book, entity_code: str, first: date, last: date) -> tuple[int, int, int]:
    counts: Counter[str] = Counter()
    with book.uow(read_only=True) as u:
        entity = u.entities.by_code(entity_code)
        for event in u.audit.events():
            if event.entity_id != entity.id or event.action != "payment.recorded":
                continue
            after = event.after if isinstance(event.after, dict) else _loads(event.after)
            received = str(after.get("received_on", ""))
            if first.isoformat() <= received <= last.isoformat():
                counts[str(after.get("allocation", ""))] += 1
    return counts["reference"], counts["oldest"], counts["explicit"]


def _loads(text: Any) -> dict[str, Any]:
    import json

    try:
        value = json.loads(text or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
