"""Issue #5, openbill: bank statement lines matched per second (`openbill bank match`,
`openbill.usecases.bank_matching.match_lines`) against 100,000 open invoices, beside its floor
(`bench.jobs.bank_match_floor`: an exact-reference-only hash join, no posting).

Set-up, untimed: the book of issue #4's payments import (`bench.jobs.payments_import.build`:
entity ``PAY``, EUR, `invoices_for(N)` open invoices, 100,000 for N = 10,000, of 1,000
customers, each customer's invoices all of one amount, 14.88 to 119.00), a bank account
(DE89 3704 0044 0532 0130 00), and one statement of July 2026 with N lines imported with
`import_statements`. The lines, in random order over the month:

- 70 % pay one open invoice each (all different) with exactly its amount, from the customer
  (its name as the bank writes it, its IBAN) and naming it: a structured RF creditor
  reference, the RF reference printed in groups of four in the text, or the invoice number in
  a sentence (a third each);
- 10 % pay an open invoice (not one of the above) with exactly its amount but write its number
  with one digit wrong (the first digit of the running number, so no invoice has the number
  written; half as an invoice number, half inside a printed RF reference whose check digits
  then fail), from a private person's account the book does not know: they wait for review;
- 10 % pay exactly the amount of one of the customer's invoices, from the customer, without
  any reference ("Zahlung", "Abschlag"): the customer has many invoices of that amount, so
  they wait for review;
- 10 % are no customer's payment: half bank charges (debits with the bank transaction code
  ACMT/MDOP/CHRG), half credits from payers the book does not know (refunds, deposits).

Timed, twice on the same data: first `match_lines(MatchLines(PAY, dry_run=True))`, which is
the proposing alone (the index of every open invoice, customer and IBAN built, every line
proposed and decided, nothing posted, nothing written), reported as ``dry_run_s``; then the
real run `match_lines(MatchLines(PAY))`: the proposals again, and every automatic match posted
(a payment through `record_payment_in` allocated to the invoice, the bank fee bookings,
ledger, audit, the decision and the line's state; the proposals of the others stored for
review) in one transaction, the job's seconds (``match_s``).

Checked afterwards (untimed): the automatic and review counts of both runs, every referenced
line matched automatically by rule "reference" and every bank charge as a fee, the others in
review; the book holds one payment per automatic reference match, the lines' states agree.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bench.jobs.bank_import import iban_de
from bench.jobs.payments_import import CURRENCY, ENTITY, Invoice, build

DESCRIPTION = (
    "openbill match_lines over every line (index of all open invoices, customers, IBANs; "
    "propose, decide) posting every automatic match (payment allocated to the invoice, ledger, "
    "audit, decision) in one transaction; the dry run (proposing alone) timed separately"
)

ACCOUNT_NAME = "Hausbank"
ACCOUNT_IBAN = "DE89370400440532013000"
SEED = 55
MONTH_FIRST = date(2026, 7, 1)
MONTH_DAYS = 31
SHARES = {"reference": 70, "typo": 10, "noref": 10, "fee": 5, "unknown": 5}  # per cent

_PEOPLE = ("Anna Schmidt", "Jonas Becker", "Lea Wagner", "Paul Richter", "Mia Neumann")


@dataclass(frozen=True)
class Planned:
    kind: str  # reference | typo | noref | fee | unknown
    invoice: Invoice | None


def _kinds(n: int, rng: random.Random) -> list[str]:
    kinds = [k for k, share in SHARES.items() for _ in range(n * share // 100)]
    kinds += ["unknown"] * (n - len(kinds))
    rng.shuffle(kinds)
    return kinds


def plan(invoices: list[Invoice], n: int) -> list[Planned]:
    """What each line will be, in statement order; every paid invoice a different one."""
    rng = random.Random(SEED)
    kinds = _kinds(n, rng)
    needing = sum(k in ("reference", "typo", "noref") for k in kinds)
    chosen = iter(rng.sample(invoices, needing))
    return [
        Planned(k, next(chosen) if k in ("reference", "typo", "noref") else None) for k in kinds
    ]


def customer_iban(code: str) -> str:
    return iban_de(50_010_517, 40_000 + int(code[1:]))


def _typo(number: str) -> str:
    """INV-2026-004711 -> INV-2026-504711: the first digit of the running number wrong, so
    that no invoice (at most 100,000 of them) has the number written."""
    head, _, seq = number.rpartition("-")
    return f"{head}-{5 + int(seq) % 5}{seq[1:]}"


def entries(invoices: list[Invoice], names: dict[str, str], n: int) -> list[Any]:
    from openbill.domain.bank import Entry
    from openbill.domain.reference import creditor_reference, printable

    rng = random.Random(SEED + 1)
    out: list[Entry] = []
    for j, p in enumerate(plan(invoices, n)):
        booked = MONTH_FIRST + timedelta(days=j * MONTH_DAYS // n)
        common = {"bank_reference": f"{booked:%Y%m%d}{j + 1:010d}", "value_date": booked}
        inv = p.invoice
        if p.kind == "reference" and inv is not None:
            rf = creditor_reference(inv.number)
            form = j % 3
            entry = Entry(
                booked,
                amount_minor=inv.total_minor,
                currency=CURRENCY,
                end_to_end_id=f"E2E{j + 1:09d}",
                counterparty_name=names[inv.customer].upper(),
                counterparty_account=customer_iban(inv.customer),
                remittance=(
                    f"Rechnung {inv.number} vielen Dank"
                    if form == 2
                    else (printable(rf) if form == 1 else "")
                ),
                creditor_reference=rf if form == 0 else "",
                transaction_code="PMNT/RCDT/ESCT",
                **common,
            )
        elif p.kind == "typo" and inv is not None:
            wrong = _typo(inv.number)
            if j % 2:
                # The RF reference of the right number, its body mistyped: the check fails.
                right = creditor_reference(inv.number)
                text = printable(right[:4] + creditor_reference(wrong)[4:])
            else:
                text = f"Rechnung {wrong}"
            entry = Entry(
                booked,
                amount_minor=inv.total_minor,
                currency=CURRENCY,
                counterparty_name=_PEOPLE[j % len(_PEOPLE)],
                counterparty_account=iban_de(70_020_270, 9_000_000 + j),
                remittance=text,
                transaction_code="PMNT/RCDT/ESCT",
                **common,
            )
        elif p.kind == "noref" and inv is not None:
            entry = Entry(
                booked,
                amount_minor=inv.total_minor,
                currency=CURRENCY,
                counterparty_name=names[inv.customer].upper(),
                counterparty_account=customer_iban(inv.customer),
                remittance=("Zahlung", "Abschlag Juli", "Ausgleich offener Posten")[j % 3],
                transaction_code="PMNT/RCDT/ESCT",
                **common,
            )
        elif p.kind == "fee":
            entry = Entry(
                booked,
                amount_minor=-rng.choice((250, 490, 1250, 1990)),
                currency=CURRENCY,
                remittance=f"Kontoführungsentgelt {booked:%m/%Y}",
                transaction_code="ACMT/MDOP/CHRG",
                **common,
            )
        else:
            entry = Entry(
                booked,
                amount_minor=rng.randint(500, 90_000),
                currency=CURRENCY,
                counterparty_name=f"{_PEOPLE[j % len(_PEOPLE)]} Privat",
                counterparty_account=iban_de(30_050_110, 8_000_000 + j),
                remittance=("Rückerstattung Kaution", "Einzahlung", "Erstattung Auslagen")[j % 3],
                transaction_code="PMNT/RCDT/ESCT",
                **common,
            )
        out.append(entry)
    return out


def expected(invoices: list[Invoice], n: int) -> dict[str, int]:
    kinds = [p.kind for p in plan(invoices, n)]
    by_kind = {k: kinds.count(k) for k in SHARES}
    return {
        "by_reference": by_kind["reference"],
        "fees": by_kind["fee"],
        "automatic": by_kind["reference"] + by_kind["fee"],
        "review": by_kind["typo"] + by_kind["noref"] + by_kind["unknown"],
    }


def prepare(url: str, n: int) -> tuple[list[Invoice], dict[str, int]]:
    """The book, the bank account and the imported statement (untimed)."""
    from openbill.bootstrap import open_book
    from openbill.domain.bank import Balance, Statement
    from openbill.usecases.bank import (
        AddBankAccount,
        ImportStatements,
        add_bank_account,
        import_statements,
    )

    started = time.perf_counter()
    invoices = build(url, n)
    build_s = time.perf_counter() - started
    book = open_book(url, actor="bench")
    try:
        add_bank_account(
            book.uow(), AddBankAccount(ENTITY, ACCOUNT_NAME, CURRENCY, iban=ACCOUNT_IBAN)
        )
        with book.uow(read_only=True) as uow:
            entity = uow.entities.by_code(ENTITY)
            codes = sorted({i.customer for i in invoices})
            names = {c: uow.customers.by_code(entity.id, c).name for c in codes}
        lines = tuple(entries(invoices, names, n))
        last = MONTH_FIRST + timedelta(days=MONTH_DAYS - 1)
        opening = 1_000_000
        statement = Statement(
            "camt.053",
            ACCOUNT_IBAN,
            CURRENCY,
            statement_id="STMT-2026-07",
            sequence="7",
            created=last,
            period_from=MONTH_FIRST,
            period_to=last,
            opening=Balance(opening, CURRENCY, MONTH_FIRST - timedelta(days=1)),
            closing=Balance(opening + sum(e.amount_minor for e in lines), CURRENCY, last),
            entries=lines,
        )
        imported = import_statements(
            book.uow(), ImportStatements(ENTITY, "camt053-2026-07.xml", "0" * 64, (statement,))
        )
    finally:
        book.close()
    if len(imported.line_ids) != n:
        raise RuntimeError(f"{n} lines planned, {len(imported.line_ids)} imported")
    _CHECK.update(
        invoices=len(invoices),
        customers=len(names),
        build_s=round(build_s, 1),
        setup_s=round(time.perf_counter() - started, 1),
    )
    return invoices, expected(invoices, n)


def summary(report: Any) -> dict[str, int]:
    """Automatic and review counts of a report, by what the lines were matched as."""
    auto = [o for o in report.outcomes if o.automatic]
    return {
        "considered": report.considered,
        "automatic": report.automatic,
        "review": report.review,
        "by_reference": sum(o.rule == "reference" for o in auto),
        "fees": sum(o.action == "other" and o.rule == "fee" for o in auto),
    }


def _agree(what: str, got: dict[str, int], want: dict[str, int]) -> None:
    diff = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
    if diff:
        raise RuntimeError(f"{what} (got, want): {diff}")


def measured(url: str) -> dict[str, int]:
    from sqlalchemy import text

    from openbill.adapters.sql.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:

            def one(sql: str) -> int:
                return int(conn.execute(text(sql)).scalar_one() or 0)

            return {
                "payments": one("SELECT COUNT(*) FROM payments"),
                "allocations": one("SELECT COUNT(*) FROM allocations"),
                "matched": one("SELECT COUNT(*) FROM bank_line_states WHERE status = 'matched'"),
                "in_review": one("SELECT COUNT(*) FROM bank_line_states WHERE status = 'review'"),
            }
    finally:
        engine.dispose()


# --- the job ---------------------------------------------------------------------------------

_CHECK: dict[str, Any] = {}


def run(url: str, n: int) -> float:
    from openbill.bootstrap import open_book
    from openbill.usecases.bank_matching import MatchLines, match_lines

    _, want = prepare(url, n)
    book = open_book(url, actor="bench")
    try:
        start = time.perf_counter()
        dry = match_lines(book.uow, MatchLines(ENTITY, dry_run=True))
        dry_s = time.perf_counter() - start
        start = time.perf_counter()
        report = match_lines(book.uow, MatchLines(ENTITY))
        seconds = time.perf_counter() - start
    finally:
        book.close()
    got, got_dry = summary(report), summary(dry)
    _agree("the dry run", got_dry, want)
    _agree("the matching run", got, want)
    book_now = measured(url)
    _agree(
        "the book after matching",
        book_now,
        {
            "payments": want["by_reference"],
            "allocations": want["by_reference"],
            "matched": want["automatic"],
            "in_review": want["review"],
        },
    )
    _CHECK.update(
        done=report.considered,
        automatic=report.automatic,
        review=report.review,
        by_reference=got["by_reference"],
        fees=got["fees"],
        dry_run_s=round(dry_s, 2),
        match_s=round(seconds, 2),
        posting_s=round(seconds - dry_s, 2),
        by_rule={f"{s}: {r}": c for s, r, c, _ in report.by_rule()},
        summary=(
            f"{report.automatic:,} automatic ({got['by_reference']:,} by reference, "
            f"{got['fees']:,} bank charges), {report.review:,} for review; proposing alone "
            f"(dry run) {dry_s:.2f} s, proposing and posting {seconds:.2f} s"
        ),
    )
    return seconds


def check(url: str, n: int) -> dict[str, Any]:
    out = dict(_CHECK)
    if n <= 2_000:  # the whole book through `openbill verify` on the quick run
        from openbill.bootstrap import open_book
        from openbill.usecases.verify import verify

        book = open_book(url, actor="bench")
        try:
            report = verify(book.uow(read_only=True))
            out["verify_ok"] = report.ok
            if not report.ok:
                raise RuntimeError(f"verify: {report.violations[:3]}")
        finally:
            book.close()
    return out
