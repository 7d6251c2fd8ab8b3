"""A generated book and a month of its bank statement, with the truth about every line: what
the matching quality is measured on (`tests/bank/test_quality.py`, `bench`).

`build(book, ...)` makes a legal entity GEN with customers (three in four with a known IBAN,
one in five on "2/10 net30" terms, one in twenty billed in USD) and issues their invoices;
`statement_month(...)` then writes the lines of one month of the entity's bank account as a
bank would send them, each with its `Truth`: which customer paid which invoices how much (or
what else the line is), or that no automatic decision can be right (a person must look).

The mix of lines, in shares of the month (`MIX`), is what a billing desk sees: most payers quote
the RF reference or the invoice number, some split it with blanks, some mistype a character,
some quote nothing and pay from an account we know; combined and part payments, bank fees kept,
early-payment discounts, small differences, a USD invoice paid in EUR, bank charges and
interest, a returned direct debit, unknown payers, and payers who quote another customer's
invoice. `quality(book, truths)` compares what matching did with the truth: the precision of the
automatic decisions and the share of lines decided automatically.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from openbill.bootstrap import Book
from openbill.domain.bank import Balance, Entry, Statement
from openbill.domain.reference import creditor_reference, printable
from openbill.usecases import bank as bk
from openbill.usecases import fx
from openbill.usecases import invoices as inv
from openbill.usecases import masterdata as md
from openbill.usecases import payments as pay

__all__ = ["MIX", "Truth", "Quality", "build", "iban_de", "quality", "statement_month"]

ENTITY = "GEN"
OWN_IBAN = "DE89370400440532013000"
START = date(2027, 1, 4)
MONTH = date(2027, 3, 1)
USD_RATE = Decimal("0.9200")  # 1 USD = 0.92 EUR, stored for every day of the month

# Shares of the month's lines (they add up to 1).
MIX: dict[str, float] = {
    "rf": 0.30,
    "number": 0.17,
    "number split": 0.04,
    "typo": 0.06,
    "iban only": 0.10,
    "combined, numbers": 0.04,
    "combined, iban only": 0.03,
    "part payment": 0.04,
    "overpayment": 0.01,
    "bank fee": 0.03,
    "discount": 0.02,
    "small difference": 0.01,
    "usd in eur": 0.02,
    "charges": 0.03,
    "interest": 0.01,
    "direct debit returned": 0.02,
    "unknown payer": 0.02,
    "another customer's invoice": 0.01,
}
FEES = (250, 500, 750, 1000, 1500)


def iban_de(n: int) -> str:
    """A German IBAN with valid check digits (bank code 50010517, account n)."""
    bban = f"50010517{n:010d}"
    check = 98 - int(bban + "131400") % 97
    return f"DE{check:02d}{bban}"


@dataclass(frozen=True)
class Truth:
    """What a line is. `action` "review" means no automatic decision is right: the line does
    not say enough (an unknown payer, a reference naming another customer's invoice)."""

    kind: str
    action: str  # payment | return | other | review
    customer: str = ""
    settles: tuple[tuple[str, int], ...] = ()  # (invoice number, amount settled on it)
    category: str = ""
    returns_line: int = -1  # for a return: the index of the line it sends back


@dataclass
class _Customer:
    code: str
    name: str
    currency: str
    iban: str
    discount: bool
    open: list[tuple[str, int, date]] = field(default_factory=list)  # number, total, issued


def build(
    book: Book, customers: int = 200, invoices: int = 2_000, seed: int = 5
) -> list[_Customer]:
    """The entity, its customers and their invoices (each through openbill's use cases)."""
    rng = random.Random(seed)
    uow = book.uow
    md.create_entity(
        uow(),
        md.CreateEntity(ENTITY, "Generated GmbH", "DE", "EUR", iban=OWN_IBAN, vat_id="DE136695976"),
    )
    md.add_tax_rule(uow(), md.AddTaxRule(ENTITY, "DE", "standard", date(2020, 1, 1), "S", "19"))
    md.add_tax_rule(
        uow(),
        md.AddTaxRule(ENTITY, "US", "standard", date(2020, 1, 1), "O", "0", "Export", "VATEX-EU-G"),
    )
    md.create_charge_code(
        uow(), md.CreateChargeCode(ENTITY, "SERVICE", "Service", "HUR", "4000", "standard")
    )
    for currency, price in (("EUR", "85.00"), ("USD", "95.00")):
        md.add_price(
            uow(),
            md.AddPrice(
                ENTITY,
                "SERVICE",
                currency,
                date(2020, 1, 1),
                "per_unit",
                f'{{"unit_price": "{price}"}}',
            ),
        )
    day = MONTH - timedelta(days=70)
    while day < MONTH + timedelta(days=40):
        fx.set_rate(uow(), fx.SetRate(ENTITY, day, "USD", "EUR", str(USD_RATE)))
        day += timedelta(days=1)
    # Short payments of up to 0.50 EUR are closed as small differences (issue #4).
    pay.set_tolerance(uow(), pay.SetTolerance(ENTITY, "EUR", "0.50"))
    out: list[_Customer] = []
    for i in range(customers):
        usd = i % 20 == 19
        c = _Customer(
            code=f"{'US' if usd else 'C'}{i:05d}",
            name=f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {i} {'Inc' if usd else 'GmbH'}",
            currency="USD" if usd else "EUR",
            iban=iban_de(1000 + i) if rng.random() < 0.75 else "",
            discount=not usd and rng.random() < 0.2,
        )
        md.create_customer(
            uow(),
            md.CreateCustomer(
                ENTITY,
                c.code,
                c.name,
                "US" if usd else "DE",
                c.currency,
                "export" if usd else "domestic",
                payment_terms="2/10 net30" if c.discount else "net30",
                iban=c.iban,
            ),
        )
        out.append(c)
    for n in range(invoices):
        c = out[n % customers]
        # Discount invoices are issued late in February so the discount is still open in March.
        issued = (
            MONTH - timedelta(days=rng.randrange(1, 5))
            if c.discount
            else START + timedelta(days=rng.randrange(0, 50))
        )
        # Hours to the hundredth, as time is billed: amounts as varied as a real ledger's.
        centi = rng.randrange(100, 3_000)
        hours = f"{centi // 100}.{centi % 100:02d}"
        result = inv.create_invoice(
            uow(),
            inv.CreateInvoice(ENTITY, c.code, (inv.LineSpec("SERVICE", hours),), issued),
        )
        c.open.append((result.number, result.total_minor, issued))
    return out


_FIRST = ("Nord", "Süd", "Rhein", "Alpen", "Hansa", "Ost", "West", "Main", "Elb", "Isar")
_SECOND = ("Logistik", "Maschinenbau", "Software", "Handel", "Bau", "Consulting", "Medien")


@dataclass
class _Month:
    rng: random.Random
    customers: list[_Customer]
    entries: list[Entry] = field(default_factory=list)
    truths: list[Truth] = field(default_factory=list)
    seq: int = 0

    def day(self) -> date:
        return MONTH + timedelta(days=self.rng.randrange(0, 28))

    def take(
        self, currency: str = "EUR", discount: bool | None = None, n: int = 1
    ) -> tuple[_Customer, list[tuple[str, int, date]]] | None:
        """A customer with `n` open invoices not paid yet this month, and those invoices."""
        pool = [
            c
            for c in self.customers
            if c.currency == currency
            and len(c.open) >= n
            and (discount is None or c.discount == discount)
        ]
        if not pool:
            return None
        c = self.rng.choice(pool)
        picked = [c.open.pop(self.rng.randrange(len(c.open))) for _ in range(n)]
        return c, picked

    def add(self, truth: Truth, amount: int, on: date, **kw: Any) -> None:
        self.seq += 1
        self.entries.append(
            Entry(
                booking_date=on,
                value_date=on,
                amount_minor=amount,
                currency="EUR",
                bank_reference=f"GEN{MONTH:%Y%m}{self.seq:07d}",
                transaction_code=kw.pop("code", "PMNT/RCDT/ESCT"),
                **kw,
            )
        )
        self.truths.append(truth)


def _typo(number: str, rng: random.Random) -> str:
    digits = list(number.replace("-", ""))
    i = rng.randrange(3, len(digits))
    if rng.random() < 0.5 and i + 1 < len(digits) and digits[i] != digits[i + 1]:
        digits[i], digits[i + 1] = digits[i + 1], digits[i]
    else:
        digits[i] = (
            str((int(digits[i]) + rng.randrange(1, 10)) % 10) if digits[i].isdigit() else "X"
        )
    text = "".join(digits)
    return f"{text[:3]}-{text[3:7]}-{text[7:]}"


def statement_month(
    customers: list[_Customer], lines: int = 1_000, seed: int = 6
) -> tuple[Statement, list[Truth]]:
    """The bank statement of March 2027 for GEN's account, and the truth of each line."""
    rng = random.Random(seed)
    m = _Month(rng, customers)
    kinds = list(MIX)
    weights = [MIX[k] for k in kinds]
    while len(m.entries) < lines:
        kind = rng.choices(kinds, weights)[0]
        _line(m, kind)
    entries = m.entries[:lines]
    truths = m.truths[:lines]
    order = sorted(range(len(entries)), key=lambda i: (entries[i].booking_date, i))
    position = {old: new for new, old in enumerate(order)}
    entries = [entries[i] for i in order]
    truths = [
        Truth(t.kind, t.action, t.customer, t.settles, t.category, position.get(t.returns_line, -1))
        for t in (truths[i] for i in order)
    ]
    opening = 5_000_000
    closing = opening + sum(e.amount_minor for e in entries)
    end = MONTH + timedelta(days=30)
    statement = Statement(
        format="camt.053",
        account=OWN_IBAN,
        currency="EUR",
        statement_id=f"GEN-{MONTH:%Y-%m}",
        sequence="3",
        created=end,
        period_from=MONTH,
        period_to=end,
        opening=Balance(opening, "EUR", MONTH),
        closing=Balance(closing, "EUR", end),
        entries=tuple(entries),
    )
    return statement, truths


def _line(m: _Month, kind: str) -> None:
    rng = m.rng
    on = m.day()
    if kind in ("rf", "number", "number split", "typo", "iban only"):
        got = m.take(discount=False)
        if got is None:
            return
        c, [(number, total, _)] = got
        text = {
            "rf": printable(creditor_reference(number))
            if rng.random() < 0.5
            else creditor_reference(number),
            "number": f"Rechnung {number} vielen Dank",
            "number split": f"RE {number[:11]} {number[11:]}"
            if rng.random() < 0.5
            else number.replace("-", " "),
            "typo": f"Rechnung {_typo(number, rng)}",
            "iban only": "Zahlung",
        }[kind]
        truth = Truth(kind, "payment", c.code, ((number, total),))
        m.add(
            truth,
            total,
            on,
            counterparty_name=c.name.upper(),
            counterparty_account=c.iban,
            remittance=text,
        )
    elif kind in ("combined, numbers", "combined, iban only"):
        got = m.take(discount=False, n=rng.randrange(2, 4))
        if got is None:
            return
        c, picked = got
        total = sum(t for _, t, _ in picked)
        if kind == "combined, numbers":
            text = "Rechnungen " + ", ".join(n for n, _, _ in picked)
            truth = Truth(kind, "payment", c.code, tuple((n, t) for n, t, _ in picked))
        else:
            text = "Sammelzahlung"
            truth = Truth(kind, "payment", c.code, tuple((n, t) for n, t, _ in picked))
        m.add(
            truth,
            total,
            on,
            counterparty_name=c.name.upper(),
            counterparty_account=c.iban,
            remittance=text,
        )
    elif kind in ("part payment", "overpayment", "bank fee", "small difference"):
        got = m.take(discount=False)
        if got is None:
            return
        c, [(number, total, _)] = got
        if kind == "part payment":
            paid = total * rng.randrange(30, 80) // 100
            truth = Truth(kind, "payment", c.code, ((number, paid),))
        elif kind == "overpayment":
            paid = total + rng.randrange(100, 5000)
            truth = Truth(kind, "payment", c.code, ((number, total),))
        elif kind == "bank fee":
            paid = total - rng.choice(FEES)
            truth = Truth(kind, "payment", c.code, ((number, total),))
        else:
            paid = total - rng.randrange(1, 51)
            truth = Truth(kind, "payment", c.code, ((number, total),))
        m.add(
            truth,
            paid,
            on,
            counterparty_name=c.name.upper(),
            counterparty_account=c.iban,
            remittance=f"{number}",
        )
    elif kind == "discount":
        got = m.take(discount=True)
        if got is None:
            return
        c, [(number, total, issued)] = got
        # 2 % of the gross, half-up: what the terms allow within 10 days of the issue date.
        discount = (total * 2 + 50) // 100
        paid_on = issued + timedelta(days=rng.randrange(2, 10))
        m.add(
            Truth(kind, "payment", c.code, ((number, total),)),
            total - discount,
            max(paid_on, MONTH),
            counterparty_name=c.name.upper(),
            counterparty_account=c.iban,
            remittance=f"{number} abzgl. 2% Skonto",
        )
    elif kind == "usd in eur":
        got = m.take(currency="USD")
        if got is None:
            return
        c, [(number, total, _)] = got
        # The bank's rate is within 0.5 % of the day's rate of 0.92.
        rate = USD_RATE * (1 + Decimal(rng.randrange(-50, 51)) / 10_000)
        eur = int((Decimal(total) * rate).to_integral_value())
        m.add(
            Truth(kind, "payment", c.code, ((number, total),)),
            eur,
            on,
            counterparty_name=c.name.upper(),
            counterparty_account=c.iban,
            remittance=f"INVOICE {number}",
            instructed_minor=total,
            instructed_currency="USD",
        )
    elif kind == "charges":
        coded = rng.random() < 0.6
        m.add(
            Truth(kind, "other", category="fee"),
            -rng.choice((390, 450, 1250, 2000)),
            on,
            code="ACMT/MDOP/CHRG" if coded else "",
            remittance="Kontoführungsentgelt" if not coded else "Entgelt Kontoführung",
        )
    elif kind == "interest":
        m.add(
            Truth(kind, "other", category="interest"),
            rng.randrange(100, 5000),
            on,
            code="ACMT/MDOP/INTR",
            remittance="Habenzinsen",
        )
    elif kind == "direct debit returned":
        got = m.take(discount=False)
        if got is None or not got[0].iban:
            return
        c, [(number, total, _)] = got
        e2e = f"DD-{MONTH:%Y%m}-{m.seq:06d}"
        collected_on = MONTH + timedelta(days=rng.randrange(0, 10))
        m.add(
            Truth(kind, "payment", c.code, ((number, total),)),
            total,
            collected_on,
            code="PMNT/IDDT/ESDD",
            counterparty_name=c.name.upper(),
            counterparty_account=c.iban,
            remittance=creditor_reference(number),
            end_to_end_id=e2e,
        )
        m.add(
            Truth(kind, "return", c.code, returns_line=len(m.entries) - 1),
            -total,
            collected_on + timedelta(days=rng.randrange(3, 15)),
            code="PMNT/IDDT/UPDD",
            counterparty_name=c.name.upper(),
            counterparty_account=c.iban,
            end_to_end_id=e2e,
            return_reason=rng.choice(("AM04", "MD06", "AC04")),
        )
    elif kind == "unknown payer":
        m.add(
            Truth(kind, "review"),
            rng.randrange(1000, 500_000),
            on,
            counterparty_name=f"{rng.choice(_FIRST).upper()} PRIVAT",
            remittance="Zahlung",
        )
    elif kind == "another customer's invoice":
        got = m.take(discount=False)
        payer = rng.choice([c for c in m.customers if c.iban and c.currency == "EUR"])
        if got is None or got[0].code == payer.code:
            return
        c, [(number, total, _)] = got
        m.add(
            Truth(kind, "review", c.code),
            total,
            on,
            counterparty_name=payer.name.upper(),
            counterparty_account=payer.iban,
            remittance=f"Rechnung {number}",
        )


# -- measuring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quality:
    lines: int
    automatic: int
    correct: int
    wrong: tuple[tuple[int, str, str], ...]  # (line index, kind, what was done)
    by_kind: tuple[tuple[str, int, int], ...]  # (kind, lines, automatic)

    @property
    def precision(self) -> float:
        return self.correct / self.automatic if self.automatic else 1.0

    @property
    def automatic_share(self) -> float:
        return self.automatic / self.lines if self.lines else 0.0


def import_month(book: Book, statement: Statement) -> tuple[int, ...]:
    bk.add_bank_account(book.uow(), bk.AddBankAccount(ENTITY, "Main EUR", "EUR", OWN_IBAN))
    result = bk.import_statements(
        book.uow(), bk.ImportStatements(ENTITY, "generated.xml", "g" * 64, (statement,))
    )
    return result.line_ids


def quality(book: Book, line_ids: tuple[int, ...], truths: list[Truth]) -> Quality:
    """Compare the live decision of every line with its truth."""
    done = _decisions(book, line_ids)
    payments_of_line = {i: d[1] for i, d in done.items() if d is not None}
    automatic = correct = 0
    wrong: list[tuple[int, str, str]] = []
    per_kind: Counter[str] = Counter()
    auto_kind: Counter[str] = Counter()
    for index, (line_id, truth) in enumerate(zip(line_ids, truths, strict=True)):
        per_kind[truth.kind] += 1
        decision = done.get(line_id)
        if decision is None or not decision[0]["automatic"]:
            continue
        automatic += 1
        auto_kind[truth.kind] += 1
        what = _describe(decision)
        expected = _expected(truth, line_ids, payments_of_line)
        if what == expected:
            correct += 1
        else:
            wrong.append((index, truth.kind, f"did {what}, truth {expected}"))
    return Quality(
        len(line_ids),
        automatic,
        correct,
        tuple(wrong),
        tuple((k, per_kind[k], auto_kind[k]) for k in MIX if per_kind[k]),
    )


def _expected(truth: Truth, line_ids: tuple[int, ...], payments: dict[int, list[int]]) -> str:
    if truth.action == "payment":
        settled = ", ".join(f"{n}={a}" for n, a in sorted(truth.settles))
        return f"payment {truth.customer}: {settled}"
    if truth.action == "return":
        returned = payments.get(line_ids[truth.returns_line], [])
        return f"return of {returned}"
    if truth.action == "other":
        return f"other {truth.category}"
    return "review"


def _describe(decision: tuple[dict[str, Any], list[int], dict[str, int], str]) -> str:
    match, payments, settled, customer = decision
    action = match["action"]
    if action == "payment":
        text = ", ".join(f"{n}={a}" for n, a in sorted(settled.items()))
        return f"payment {customer}: {text}"
    if action == "return":
        import json

        return f"return of {json.loads(match['detail'])['reversals']}"
    if action == "other":
        return f"other {match['rule']}"
    return action


def _decisions(book: Book, line_ids: tuple[int, ...]) -> dict[int, Any]:
    """Per line: its live decision, the payments it recorded, what it settled per invoice
    (allocations and the write-offs made with them: discounts, small differences)."""
    import json

    from sqlalchemy import text

    out: dict[int, Any] = {}
    with book.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.line_id, m.id, m.action, m.automatic, m.rule, m.detail "
                "FROM bank_line_states s JOIN bank_matches m ON m.id = s.match_id"
            )
        ).all()
        for line_id, _match_id, action, auto, rule, detail in rows:
            d = json.loads(detail)
            settled: Counter[str] = Counter()
            customer = ""
            for pid in d.get("payments", []):
                for number, amount, code in conn.execute(
                    text(
                        "SELECT d.number, a.amount_minor, c.code FROM allocations a "
                        "JOIN documents d ON d.id = a.invoice_id JOIN customers c "
                        "ON c.id = a.customer_id WHERE a.payment_id = :p"
                    ),
                    {"p": pid},
                ):
                    settled[number] += int(amount)
                    customer = code
            for wid in d.get("write_offs", []):
                number, amount = conn.execute(
                    text(
                        "SELECT d.number, w.amount_minor FROM write_offs w JOIN documents d "
                        "ON d.id = w.invoice_id WHERE w.id = :w"
                    ),
                    {"w": wid},
                ).one()
                settled[number] += int(amount)
            match = {"action": action, "automatic": bool(auto), "rule": rule, "detail": detail}
            out[int(line_id)] = (match, d.get("payments", []), dict(settled), customer)
    return {i: out.get(i) for i in line_ids}
