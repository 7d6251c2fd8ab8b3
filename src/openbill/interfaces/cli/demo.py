"""`openbill demo`: one billing month (November 2026 unless told otherwise) of a small German
company.

Everything is generated deterministically (random.Random(2026)) and goes through the same use
cases as the CLI. Running it again is safe: master data is created only when missing, every
invoice, credit note and payment carries an idempotency key, and the steps without one
(adding lines to a draft, write-off, refund) first look whether they already happened. A run
that stopped half-way is completed, a finished book is left alone.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from openbill.adapters.clock import FixedClock
from openbill.bootstrap import Book, open_book
from openbill.config import Settings
from openbill.domain.money import format_minor
from openbill.interfaces.cli._common import announced, out
from openbill.interfaces.cli.demo_bank import Banking
from openbill.interfaces.cli.demo_commercial import CORRECTED, Commercial
from openbill.interfaces.cli.demo_desk import demo_logins, print_logins
from openbill.interfaces.cli.demo_receivables import Collections, quarter_of
from openbill.usecases import commercial as com
from openbill.usecases import invoices as inv
from openbill.usecases import mailing as ml
from openbill.usecases import masterdata as md
from openbill.usecases import payments as pay
from openbill.usecases import reports as rep
from openbill.usecases import verification as ver
from openbill.usecases.verify import verify

__all__ = ["run_demo", "ENTITY", "SEED"]

ENTITY = "DEMO"
SEED = 2026
CUSTOMERS = 50
DEFAULT_START = date(2026, 11, 1)
DEFAULT_OUT = "demo-output"

# Valid example VAT numbers (checked with python-stdnum's check digits).
EU_B2B = (
    ("EU-FR-01", "Atelier Lumière SARL", "FR", "FR40303265045", "Lyon"),
    ("EU-NL-01", "Van der Berg Techniek B.V.", "NL", "NL004495445B01", "Eindhoven"),
)

# code, name, unit (UN/ECE Recommendation 20, as EN 16931 wants it), revenue account, tax class
CHARGES = (
    ("MACH-PART", "Machined part (CNC)", "H87", "4000", "standard"),
    ("STEEL-KG", "Steel processing", "KGM", "4000", "standard"),
    ("HANDBOOK", "Technical handbook (print)", "H87", "4010", "reduced"),
    ("SAAS-BASE", "Platform subscription, monthly", "MON", "4200", "standard"),
    ("SAAS-SEAT", "Platform seats", "C62", "4200", "standard"),
    ("API-CALLS", "API calls (per started 1,000)", "C62", "4200", "standard"),
    ("SUPPORT", "Support hours (minimum 2 h)", "HUR", "4100", "standard"),
    ("HANDLING", "Handling fee 2.5 %", "C62", "4100", "standard"),
    ("MED-EXAM", "Occupational health examination", "C62", "4300", "medical"),
    ("MED-LAB", "Laboratory test", "C62", "4300", "medical"),
)


def _tiers(*tiers: tuple[str | None, str]) -> dict[str, Any]:
    return {"tiers": [{"up_to": up, "unit_price": price} for up, price in tiers]}


# charge code -> model, {currency: params}; prices from 2026-01-01
PRICES: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {
    "MACH-PART": (
        "per_unit",
        {
            "EUR": {"unit_price": "12.50"},
            "USD": {"unit_price": "13.90"},
            "GBP": {"unit_price": "10.80"},
        },
    ),
    "STEEL-KG": (
        "graduated",
        {
            "EUR": _tiers(("1000", "0.80"), ("5000", "0.65"), (None, "0.50")),
            "USD": _tiers(("1000", "0.88"), ("5000", "0.72"), (None, "0.55")),
            "GBP": _tiers(("1000", "0.69"), ("5000", "0.56"), (None, "0.43")),
        },
    ),
    "HANDBOOK": ("per_unit", {"EUR": {"unit_price": "39.00"}}),
    "SAAS-BASE": (
        "flat",
        {
            "EUR": {"unit_price": "199.00"},
            "USD": {"unit_price": "219.00"},
            "GBP": {"unit_price": "169.00"},
        },
    ),
    "SAAS-SEAT": (
        "volume",
        {
            "EUR": _tiers(("10", "49.00"), ("50", "39.00"), (None, "29.00")),
            "USD": _tiers(("10", "54.00"), ("50", "43.00"), (None, "32.00")),
            "GBP": _tiers(("10", "42.00"), ("50", "33.00"), (None, "25.00")),
        },
    ),
    "API-CALLS": (
        "package",
        {
            "EUR": {"block_size": "1000", "unit_price": "2.00"},
            "USD": {"block_size": "1000", "unit_price": "2.20"},
            "GBP": {"block_size": "1000", "unit_price": "1.70"},
        },
    ),
    "SUPPORT": (
        "minimum",
        {
            "EUR": {"unit_price": "95.00", "minimum": "190.00"},
            "USD": {"unit_price": "105.00", "minimum": "210.00"},
            "GBP": {"unit_price": "82.00", "minimum": "164.00"},
        },
    ),
    "HANDLING": ("percentage", {c: {"percent": "2.5"} for c in ("EUR", "USD", "GBP")}),
    "MED-EXAM": ("per_unit", {"EUR": {"unit_price": "85.00"}}),
    "MED-LAB": ("per_unit", {"EUR": {"unit_price": "24.00"}}),
}
# On the 16th of the demo month, MACH-PART in EUR goes from 12.50 to 13.10.
PRICE_CHANGE = ("MACH-PART", "EUR", 16, {"unit_price": "13.10"})


def month_end(start: date) -> date:
    following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


CITIES_DE = (
    "Stuttgart",
    "München",
    "Köln",
    "Hamburg",
    "Leipzig",
    "Nürnberg",
    "Dortmund",
    "Bremen",
    "Dresden",
    "Hannover",
    "Augsburg",
    "Freiburg",
)
MFG_NAMES = (
    "Präzisionstechnik",
    "Maschinenbau",
    "Metallwerk",
    "Antriebstechnik",
    "Stahlbau",
    "Fertigungstechnik",
    "Werkzeugbau",
    "Feinmechanik",
)
SAAS_NAMES = ("Cloud Systems", "Data Labs", "Software", "Digital", "Analytics", "Logistik IT")
FAMILY = (
    "Becker",
    "Hoffmann",
    "Schulz",
    "Krüger",
    "Wagner",
    "Neumann",
    "Schmid",
    "Brandt",
    "Vogel",
    "Lange",
    "Keller",
    "Frank",
    "Berger",
    "Roth",
    "Haas",
    "Seidel",
)
US_NAMES = (
    "Harbor Robotics Inc.",
    "Blue Ridge Tooling LLC",
    "Lakeside Analytics Inc.",
    "Pioneer Fabrication Corp.",
    "Summit Cloud Inc.",
)
UK_NAMES = (
    "Thames Precision Ltd",
    "Pennine Software Ltd",
    "Clyde Engineering Ltd",
    "Severn Data Ltd",
)


@dataclass
class Customer:
    code: str
    name: str
    country: str
    currency: str
    segment: str
    regime: str = "domestic"
    terms: str = ""
    vat_id: str = ""
    address: str = ""


@dataclass
class Bill:
    """One invoice of the month: issued on `day`, by create_invoice or draft -> lines -> issue."""

    key: str
    customer: Customer
    day: date
    lines: list[inv.LineSpec]
    via_draft: bool = False
    adjustments: tuple[inv.AdjustmentSpec, ...] = ()


@dataclass
class Step:
    day: date
    order: int
    label: str
    run: Callable[[], None]


@dataclass
class Plan:
    customers: list[Customer]
    bills: list[Bill]
    issued: dict[str, inv.Issued] = field(default_factory=dict)


def _customers(rng: random.Random) -> list[Customer]:
    out_: list[Customer] = []
    n_mfg = n_saas = 0
    for i in range(CUSTOMERS - len(US_NAMES) - len(UK_NAMES) - len(EU_B2B) - 2):
        if rng.random() < 0.55:
            n_mfg += 1
            name = f"{rng.choice(FAMILY)} {rng.choice(MFG_NAMES)} GmbH"
            code, segment = f"MFG-{n_mfg:03d}", "manufacturing"
        else:
            n_saas += 1
            name = f"{rng.choice(FAMILY)} {rng.choice(SAAS_NAMES)} GmbH"
            code, segment = f"SAAS-{n_saas:03d}", "saas"
        terms = rng.choice(("", "", "", "net14", "net14", "due_on_receipt"))
        out_.append(
            Customer(
                code,
                name,
                "DE",
                "EUR",
                segment,
                terms=terms,
                address=f"{rng.choice(CITIES_DE)}, Germany",
            )
        )
        del i
    for n, city in enumerate(("Freiburg", "Augsburg"), start=1):
        out_.append(
            Customer(
                f"MED-{n:03d}",
                f"Praxisklinik {city}",
                "DE",
                "EUR",
                "medical clinic",
                terms="net14",
                address=f"{city}, Germany",
            )
        )
    for code, name, country, vat, city in EU_B2B:
        out_.append(
            Customer(
                code,
                name,
                country,
                "EUR",
                "manufacturing",
                "reverse_charge",
                vat_id=vat,
                address=f"{city}, {country}",
            )
        )
    for n, name in enumerate(US_NAMES, start=1):
        segment = "saas" if "Cloud" in name or "Analytics" in name else "manufacturing"
        out_.append(Customer(f"US-{n:03d}", name, "US", "USD", segment, "export", "net30"))
    for n, name in enumerate(UK_NAMES, start=1):
        segment = "saas" if "Software" in name or "Data" in name else "manufacturing"
        out_.append(Customer(f"UK-{n:03d}", name, "GB", "GBP", segment, "export", "net14"))
    return out_


def _q(rng: random.Random, low: int, high: int, step: int = 1) -> str:
    return str(rng.randrange(low, high + 1, step))


def _lines_for(rng: random.Random, c: Customer) -> list[inv.LineSpec]:
    L = inv.LineSpec
    if c.segment == "medical clinic":
        return [
            L("MED-EXAM", _q(rng, 4, 20)),
            L("MED-LAB", _q(rng, 5, 40)),
            L("SUPPORT", _q(rng, 1, 4)),
        ]
    if c.segment == "saas":
        lines = [
            L("SAAS-BASE", "1"),
            L("SAAS-SEAT", _q(rng, 3, 80)),
            L("API-CALLS", _q(rng, 500, 48000, 250)),
        ]
        if rng.random() < 0.4:
            lines.append(L("SUPPORT", _q(rng, 1, 6)))
        return lines
    lines = [L("MACH-PART", _q(rng, 20, 400, 10)), L("STEEL-KG", _q(rng, 300, 9000, 50))]
    if c.currency == "EUR" and c.regime == "domestic" and rng.random() < 0.3:
        lines.append(L("HANDBOOK", _q(rng, 1, 5)))
    if rng.random() < 0.5:
        lines.append(L("HANDLING", "1"))
    return lines


def _workdays(start: date) -> list[date]:
    days, d = [], start
    while d.month == start.month:
        if d.weekday() < 5:
            days.append(d)
        d += timedelta(days=1)
    return days


def build_plan(start: date) -> Plan:
    rng = random.Random(SEED)
    customers = _customers(rng)
    days = _workdays(start)
    first_half = [d for d in days if d.day < 16]
    second_half = [d for d in days if d.day >= 16]
    bills: list[Bill] = []
    for c in customers:
        bills.append(Bill(f"{c.code}-1", c, rng.choice(first_half[:-1]), _lines_for(rng, c)))
    # A second invoice for some manufacturers after the MACH-PART price change on the 16th.
    repeat = [c for c in customers if c.segment == "manufacturing" and c.currency == "EUR"]
    for c in rng.sample(repeat, 6):
        bills.append(Bill(f"{c.code}-2", c, rng.choice(second_half[1:]), _lines_for(rng, c)))
    # Three invoices built as drafts: first line, then the rest added, then issued.
    for b in rng.sample([b for b in bills if len(b.lines) > 1], 3):
        b.via_draft = True
    bills.sort(key=lambda b: (b.day, b.key))
    # One invoice with a document-level allowance and charge (EN 16931 BG-20, BG-21): the
    # first repeat order of a German manufacturer gets a volume discount and freight.
    chosen = next(
        b for b in bills if b.key.endswith("-2") and b.customer.country == "DE" and not b.via_draft
    )
    chosen.adjustments = (
        inv.AdjustmentSpec("allowance", "50.00", "volume discount", "standard", "95"),
        inv.AdjustmentSpec("charge", "35.00", "freight", "standard", "FC"),
    )
    return Plan(customers, bills)


def _key(start: date, *parts: object) -> str:
    return f"demo-{start:%Y-%m}-" + "-".join(str(p) for p in parts)


class Demo:
    def __init__(self, book: Book, clock: FixedClock, start: date) -> None:
        self.book, self.clock, self.start = book, clock, start
        self.plan = build_plan(start)
        self.by_code = {c.code: c for c in self.plan.customers}
        self.notes: list[str] = []

    # -- time ------------------------------------------------------------------------------

    def at(self, day: date, minute: int = 0) -> None:
        self.clock.set(datetime.combine(day, time(9, 0), tzinfo=UTC) + timedelta(minutes=minute))

    # -- master data -----------------------------------------------------------------------

    def master_data(self) -> None:
        self.at(self.start - timedelta(days=1))
        uow = self.book.uow
        md.create_entity(
            uow(),
            md.CreateEntity(
                ENTITY,
                "Demo Industrie & Services GmbH",
                "DE",
                "EUR",
                "half_up",
                vat_id="DE136695976",
                iban="DE89370400440532013000",
                address="Königstraße 1, 70173 Stuttgart, Germany",
                email="billing@demo.example",
                payment_terms="net30",
            ),
        )
        for tax_class, category, rate, reason, code in (
            ("standard", "S", "19", "", ""),
            ("reduced", "S", "7", "", ""),
            ("medical", "E", "0", "Exempt medical treatment", "VATEX-EU-132"),
        ):
            md.add_tax_rule(
                uow(),
                md.AddTaxRule(
                    ENTITY, "DE", tax_class, date(2020, 1, 1), category, rate, reason, code
                ),
            )
        for code, name, unit, account, tax_class in CHARGES:
            md.create_charge_code(
                uow(), md.CreateChargeCode(ENTITY, code, name, unit, account, tax_class)
            )
        for code, (model, by_currency) in PRICES.items():
            for currency, params in by_currency.items():
                md.add_price(
                    uow(),
                    md.AddPrice(
                        ENTITY,
                        code,
                        currency,
                        self.start.replace(month=1, day=1),
                        model,
                        json.dumps(params),
                    ),
                )
        code, currency, day, params = PRICE_CHANGE
        on = self.start.replace(day=day)
        md.add_price(uow(), md.AddPrice(ENTITY, code, currency, on, "per_unit", json.dumps(params)))
        for c in self.plan.customers:
            md.create_customer(
                uow(),
                md.CreateCustomer(
                    ENTITY,
                    c.code,
                    c.name,
                    c.country,
                    c.currency,
                    c.regime,
                    c.segment,
                    c.terms,
                    c.vat_id,
                    email=f"ap@{c.code.lower()}.example",
                    address=c.address,
                ),
            )

    # -- invoices --------------------------------------------------------------------------

    def issue(self, bill: Bill, minute: int) -> inv.Issued:
        self.at(bill.day, minute)
        key = _key(self.start, "inv", bill.key)
        if not bill.via_draft:
            result = inv.create_invoice(
                self.book.uow(),
                inv.CreateInvoice(
                    ENTITY,
                    bill.customer.code,
                    tuple(bill.lines),
                    bill.day,
                    idempotency_key=key,
                    adjustments=bill.adjustments,
                ),
            )
        else:
            draft = inv.create_draft(
                self.book.uow(),
                inv.CreateDraft(
                    ENTITY,
                    bill.customer.code,
                    bill.day,
                    lines=(bill.lines[0],),
                    idempotency_key=key + "-draft",
                ),
            )
            with self.book.uow(read_only=True) as u:
                doc = u.documents.get(draft.id)
                have = len(u.documents.lines(draft.id))
            if doc.status == "draft" and have < len(bill.lines):
                inv.add_lines(
                    self.book.uow(), inv.AddLines(ENTITY, draft.id, tuple(bill.lines[have:]))
                )
            result = inv.issue_draft(
                self.book.uow(), inv.IssueDraft(ENTITY, draft.id, bill.day, idempotency_key=key)
            )
        self.plan.issued[bill.key] = result
        return result

    # -- money -----------------------------------------------------------------------------

    def pay(
        self,
        key: str,
        customer: str,
        amount_minor: int,
        currency: str,
        day: date,
        method: str = "bank_transfer",
        reference: str = "",
    ) -> pay.PaymentRecorded:
        self.at(day, 600)
        return pay.record_payment(
            self.book.uow(),
            pay.RecordPayment(
                ENTITY,
                customer,
                format_minor(amount_minor, currency),
                currency,
                day,
                method,
                reference or key,
                "oldest",
                idempotency_key=_key(self.start, "pay", key),
            ),
        )

    def money_steps(self) -> list[Step]:
        """Payments and corrections, planned from the issued invoices."""
        rng = random.Random(SEED + 1)
        as_of = month_end(self.start)
        issued = self.plan.issued
        first = [b for b in self.plan.bills if b.key.endswith("-1")]
        special = {
            "void": next(b for b in first if b.customer.code.startswith("SAAS")),
            "overpay": next(b for b in first if b.customer.code.startswith("MFG")),
            "refund": next(b for b in first if b.customer.code.startswith("US")),
            "writeoff": [b for b in first if b.customer.code.startswith("MFG")][3],
        }
        taken = {b.key for v in special.values() for b in ([v] if isinstance(v, Bill) else v)}
        steps: list[Step] = []

        def later(day: date, lo: int, hi: int) -> date:
            d = day + timedelta(days=rng.randint(lo, hi))
            return min(d, as_of)

        for b in self.plan.bills:
            if b.key in taken:
                continue
            r = issued[b.key]
            roll = rng.random()
            if roll < 0.55:  # paid in full
                d = later(b.day, 3, 18)
                steps.append(
                    Step(d, 1, f"payment {b.key}", self._payer(b.key, b, r.total_minor, d))
                )
            elif roll < 0.72:  # paid in part
                part = int((Decimal(r.total_minor) * Decimal("0.4")).to_integral_value(ROUND_DOWN))
                d = later(b.day, 5, 20)
                steps.append(Step(d, 1, f"part payment {b.key}", self._payer(b.key, b, part, d)))
            # else: still open at the end of the month
        # One invoice voided by a credit note (the order was cancelled before delivery).
        v = special["void"]
        d = v.day + timedelta(days=6)
        steps.append(Step(d, 2, f"void {v.key}", lambda v=v, d=d: self._void(v, d)))
        # One customer pays 250.00 more than the invoice: the surplus stays as credit.
        o = special["overpay"]
        d = later(o.day, 4, 8)
        surplus = 25000
        steps.append(
            Step(
                d,
                1,
                f"overpayment {o.key}",
                self._payer(o.key, o, issued[o.key].total_minor + surplus, d),
            )
        )
        # One customer pays the same invoice twice; the second payment is refunded.
        f = special["refund"]
        d1, d2 = later(f.day, 3, 6), later(f.day, 7, 9)
        total = issued[f.key].total_minor
        steps.append(Step(d1, 1, f"payment {f.key}", self._payer(f.key, f, total, d1)))
        steps.append(
            Step(d2, 1, f"duplicate payment {f.key}", self._payer(f.key + "-dup", f, total, d2))
        )
        steps.append(
            Step(
                min(d2 + timedelta(days=3), as_of),
                3,
                f"refund {f.key}",
                lambda f=f, total=total, d=min(d2 + timedelta(days=3), as_of): self._refund(
                    f, total, d
                ),
            )
        )
        # One customer went insolvent after paying 30 %: the rest is written off.
        w = special["writeoff"]
        part = int(Decimal(issued[w.key].total_minor) * Decimal("0.3"))
        d = later(w.day, 5, 7)
        steps.append(Step(d, 1, f"part payment {w.key}", self._payer(w.key, w, part, d)))
        steps.append(
            Step(
                self.start.replace(day=27),
                3,
                f"write-off {w.key}",
                lambda w=w: self._write_off(w, self.start.replace(day=27)),
            )
        )
        self.special = special
        steps.sort(key=lambda s: (s.day, s.order, s.label))
        return steps

    def _payer(self, key: str, b: Bill, amount: int, day: date) -> Callable[[], None]:
        currency = self.plan.issued[b.key].currency
        number = self.plan.issued[b.key].number

        def run() -> None:
            self.pay(key, b.customer.code, amount, currency, day, reference=number)

        return run

    def _void(self, b: Bill, day: date) -> None:
        self.at(day, 300)
        number = self.plan.issued[b.key].number
        inv.credit_invoice(
            self.book.uow(),
            inv.CreditInvoice(
                ENTITY,
                number,
                "Order cancelled before delivery",
                day,
                idempotency_key=_key(self.start, "void", b.key),
            ),
        )

    def _refund(self, b: Bill, amount: int, day: date) -> None:
        self.at(day, 700)
        issued = self.plan.issued[b.key]
        with self.book.uow(read_only=True) as u:
            customer = u.customers.by_code(u.entities.by_code(ENTITY).id, b.customer.code)
            done = any(r.customer_id == customer.id for r in u.money.all_refunds())
        if done:
            return
        pay.refund(
            self.book.uow(),
            pay.Refund(
                ENTITY,
                b.customer.code,
                format_minor(amount, issued.currency),
                issued.currency,
                day,
                "bank_transfer",
                f"duplicate payment of {issued.number}",
            ),
        )

    def _write_off(self, b: Bill, day: date) -> None:
        self.at(day, 800)
        issued = self.plan.issued[b.key]
        with self.book.uow(read_only=True) as u:
            done = any(w.invoice_id == issued.id for w in u.money.all_write_offs())
        if done:
            return
        pay.write_off(
            self.book.uow(),
            pay.WriteOff(
                ENTITY, issued.number, "Customer insolvent; remainder uncollectable", on=day
            ),
        )


def _finished(book: Book, start: date) -> int | None:
    """The number of invoices of a finished demo book, or None when the demo is not complete
    (no DEMO entity yet, or a run that stopped before its last step, the refund)."""
    with book.uow(read_only=True) as u:
        entity = u.entities.by_code(ENTITY)
        if entity is None:
            return None
        if not any(r.entity_id == entity.id for r in u.money.all_refunds()):
            return None
    end = month_end(start)
    docs = rep.list_documents(book.uow(read_only=True), ENTITY, kind="invoice")
    return sum(1 for d in docs if d.document_date <= end.isoformat())


def run_demo(
    db: str | None,
    start: date = DEFAULT_START,
    console: Console | None = None,
    out_dir: str | Path = DEFAULT_OUT,
) -> bool:
    """Build (or complete) the demo book for the month of `start`, write its documents into
    `out_dir` and queue its e-mails; print the summary. True when verify passes."""
    start = start.replace(day=1)
    as_of = month_end(start)
    console = console or out()
    where = db or Settings().database_url
    folder = Path(out_dir)
    clock = FixedClock(datetime.combine(start, time(9, 0), tzinfo=UTC))
    book = announced(open_book(where, actor="demo", clock=clock))
    try:
        count = _finished(book, start)
        if count is None:
            _build(book, clock, start, console)
        commercial = Commercial(book, clock, start, where, folder, ENTITY)
        if count is None or not _commercial_done(book):
            console.print(
                "contracts, purchase orders, deliveries; billing run, verification, approvals ..."
            )
        commercial.run_billing()
        if count is not None and not commercial.result.added:
            invoices = rep.list_documents(book.uow(read_only=True), ENTITY, kind="invoice")
            issued = sum(
                1 for d in invoices if d.status != "draft" and d.document_date <= as_of.isoformat()
            )
            console.print(
                f"demo book already at {where}: {issued} invoices; nothing added "
                f"(documents in {folder} are written again)"
            )
        commercial.documents(console)
        collections = Collections(book, clock, start, folder, ENTITY)
        collections.run(console)
        banking = Banking(book, clock, collections.last, folder, ENTITY)
        banking.run(console)
        ok = _summary(book, console, where, start, commercial, collections, banking)
        drafts = commercial.result.drafts
        contract_invoice = _number_of(book, drafts["monthly"])
        logins = demo_logins(book, folder, ENTITY)
    finally:
        book.close()
    quarter_start, quarter_end = quarter_of(start)
    console.print("\nTry next (after `source .venv/bin/activate`, or with .venv/bin/openbill):")
    db_opt = "" if where == "./openbill.db" else f" --db {where}"
    for cmd, extra in (
        ("openbill invoices list", ""),
        ("openbill discrepancies list", "    # what is left for you"),
        (f"openbill drafts verify {drafts['po-2399']}", ""),
        (f"openbill drafts approve {drafts['usd']}", "    # you are not the one who prepared it"),
        ("openbill deliveries list", ""),
        ("openbill po list", ""),
        (f"openbill invoices show {contract_invoice}", ""),
        (f"openbill invoices export {contract_invoice} --format facturx", ""),
        (f"openbill einvoice read {folder / (contract_invoice + '-ubl.xml')}", ""),
        ("openbill outbox list", ""),
        (f"openbill statements show MFG-003 --from {start} --to {as_of}", ""),
        (f"openbill ar aging --as-of {as_of}", ""),
        (f"openbill ar aging --as-of {quarter_end}", "    # after the quarter, in EUR too"),
        (f"openbill ar metrics --from {quarter_start} --to {quarter_end}", ""),
        ("openbill dunning runs", ""),
        ("openbill dunning report", "    # the last run: steps taken, skipped and why"),
        ("openbill dunning holds list --all", ""),
        ("openbill disputes list --status all", ""),
        ("openbill disputes report", ""),
        ("openbill payments list", ""),
        ("openbill fx list", ""),
        *banking.next_steps(),
        ("openbill verify", ""),
    ):
        console.print(f"  {cmd}{db_opt}{extra}", markup=False)
    print_logins(console, logins, db_opt)
    return ok


def _number_of(book: Book, document_id: int) -> str:
    with book.uow(read_only=True) as u:
        return str(u.documents.get(document_id).number or "")


def _commercial_done(book: Book) -> bool:
    """Whether the issue #3 part ran to its end: the corrected delivery was credited."""
    with book.uow(read_only=True) as u:
        entity = u.entities.by_code(ENTITY)
        known = u.commercial.deliveries_by_ref(entity.id, [CORRECTED[0]])
        if not known:
            return False
        billings = u.commercial.billings([r.id for r in known.values()])
    return any(b.reverses_id is not None for b in billings)


def _build(book: Book, clock: FixedClock, start: date, console: Console) -> None:
    demo = Demo(book, clock, start)
    console.print("creating the demo company, its tax rules, catalog and customers ...")
    demo.master_data()
    bills = demo.plan.bills
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        console=console,
    ) as progress:
        task = progress.add_task("issuing invoices", total=len(bills), last="")
        per_day: dict[date, int] = defaultdict(int)
        for bill in bills:
            per_day[bill.day] += 1
            result = demo.issue(bill, per_day[bill.day])
            progress.update(task, advance=1, last=result.number)
        steps = demo.money_steps()
        task2 = progress.add_task("payments and corrections", total=len(steps), last="")
        for step in steps:
            step.run()
            progress.update(task2, advance=1, last=step.label)
    code, currency, day, params = PRICE_CHANGE
    on = start.replace(day=day)
    console.print(
        f"price change shown: {code} {currency} 12.50 -> {params['unit_price']} from {on}"
    )


def _summary(
    book: Book,
    console: Console,
    where: str,
    start: date,
    commercial: Commercial,
    collections: Collections,
    banking: Banking,
) -> bool:
    as_of = month_end(start)
    docs = [
        d
        for d in rep.list_documents(book.uow(read_only=True), ENTITY, as_of=as_of)
        if d.document_date <= as_of.isoformat()
    ]
    # The month's figures: what happened after it (the quarter of collections) is summed apart.
    payments = [
        p
        for p in rep.list_payments(book.uow(read_only=True), ENTITY)
        if p["received_on"] <= as_of.isoformat()
    ]
    labels, aging = rep.aging(book.uow(read_only=True), ENTITY, as_of)
    report = verify(book.uow(read_only=True))
    with book.uow(read_only=True) as u:
        entity = u.entities.by_code(ENTITY)
        refunds = [
            r for r in u.money.all_refunds() if r.entity_id == entity.id and r.refunded_on <= as_of
        ]
        write_offs = [
            w
            for w in u.money.all_write_offs()
            if w.entity_id == entity.id and w.written_off_on <= as_of
        ]

    invoices = [d for d in docs if d.kind == "invoice" and d.status != "draft"]
    credits = [d for d in docs if d.kind == "credit_note"]
    currencies = sorted({d.currency for d in docs} | {p["currency"] for p in payments})
    billed: dict[str, int] = defaultdict(int)
    credited: dict[str, int] = defaultdict(int)
    cash: dict[str, int] = defaultdict(int)
    refunded: dict[str, int] = defaultdict(int)
    for d in invoices:
        billed[d.currency] += d.total_minor
    for d in credits:
        credited[d.currency] += d.total_minor
    for p in payments:
        cash[p["currency"]] += p["amount_minor"]
    for r in refunds:
        refunded[r.currency] += int(r.amount_minor)
    statuses: dict[str, int] = defaultdict(int)
    for d in invoices:
        statuses[d.status] += 1

    table = Table(title=f"Demo month {start:%B %Y} — {ENTITY}", title_justify="left")
    table.add_column("")
    for cur in currencies:
        table.add_column(cur, justify="right")

    def row(label: str, values: dict[str, int]) -> None:
        table.add_row(label, *(format_minor(values.get(c, 0), c) for c in currencies))

    table.add_row(
        "invoices issued", *(str(sum(1 for d in invoices if d.currency == c)) for c in currencies)
    )
    row("billed (invoice totals, gross)", billed)
    row("credit notes", credited)
    row("cash received", cash)
    row("refunded", refunded)
    bucket_sums: dict[str, list[int]] = defaultdict(lambda: [0] * len(labels))
    credit_sums: dict[str, int] = defaultdict(int)
    for a in aging:
        for i, v in enumerate(a.buckets):
            bucket_sums[a.currency][i] += v
        credit_sums[a.currency] += a.credit_minor
    table.add_section()
    for i, label in enumerate(labels):
        row(f"open receivables {label}", {c: v[i] for c, v in bucket_sums.items()})
    row("open receivables total", {c: sum(v) for c, v in bucket_sums.items()})
    row("customer credit (unapplied cash)", credit_sums)
    console.print(table)
    now = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
    console.print(
        f"{len(invoices)} invoices (now {now}),"
        f" {len(credits)} credit note(s), {len(payments)} payments, {len(refunds)} refund(s),"
        f" {len(write_offs)} write-off(s); aging as of {as_of}"
    )
    _commercial_summary(book, console, commercial)
    collections.summary(console)
    banking.summary(console)
    failed = [(n, k) for n, k in report.checks if k]
    if report.ok:
        console.print(Panel.fit(f"verify: all {len(report.checks)} checks passed", style="green"))
    else:
        console.print(
            Panel(
                f"verify: {len(report.violations)} violation(s) in "
                f"{', '.join(n for n, _ in failed)}",
                style="red",
            )
        )
        for v in report.violations[:20]:
            console.print(f"  {v.check}: {v.record}: {v.message}", markup=False)
    console.print(f"book: {where}")
    return report.ok


def _commercial_summary(book: Book, console: Console, commercial: Commercial) -> None:
    result = commercial.result
    deliveries = com.list_deliveries(book.uow(read_only=True), ENTITY)
    pending = sum(1 for row, _, _ in deliveries if not row.confirmed)
    findings = ver.list_discrepancies(book.uow(read_only=True), ENTITY, "")
    by_status: dict[str, int] = defaultdict(int)
    for f in findings:
        by_status[f["status"]] += 1
    open_blocking = sum(1 for f in findings if f["status"] == "open" and f["severity"] == "block")
    with book.uow(read_only=True) as u:
        statuses = {n: u.documents.get(i).status for n, i in result.drafts.items()}
        approvals = sum(1 for i in result.drafts.values() if u.verification.approval(i))
        credited = {
            int(b.document_id)
            for b in u.commercial.billings([r.id for r, _, _ in deliveries])
            if b.reverses_id is not None and b.document_kind == "credit_note"
        }
    outbox = ml.list_outbox(book.uow(read_only=True), ENTITY)
    queued = sum(1 for m in outbox if m.status == "queued")
    issued = sum(1 for s in statuses.values() if s != "draft")
    table = Table(title="From deliveries to invoices", title_justify="left")
    table.add_column("")
    table.add_column("", justify="right")
    for label, value in (
        ("deliveries imported (pending: not billed yet)", f"{len(deliveries)} ({pending})"),
        ("held back by a contract rule", str(len(result.held))),
        ("drafts prepared", str(len(statuses))),
        ("drafts issued", str(issued)),
        ("drafts left for you", str(len(statuses) - issued)),
        (
            "discrepancies open (blocking) / overridden / resolved",
            f"{by_status['open']} ({open_blocking}) / {by_status['overridden']}"
            f" / {by_status['resolved']}",
        ),
        ("approvals by a second person", str(approvals)),
        ("credit notes from corrected deliveries", str(len(credited))),
        (f"files written to {commercial.out_dir}", str(result.documents_written)),
        ("e-mails queued, not sent", str(queued)),
    ):
        table.add_row(label, value)
    console.print(table)
    for h in result.held:
        console.print(f"held: delivery {h.delivery} ({h.field}): {h.reason}", markup=False)
    console.print(
        f"{queued} e-mail(s) wait in the outbox; `openbill outbox deliver` sends them when "
        "OPENBILL_SMTP_HOST is set",
        markup=False,
    )
