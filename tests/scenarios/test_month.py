"""A billing month written down as text: the events, then the ledger, the documents and the
aging we expect at the end, worked out by hand. The events run through the use cases and the
actual reports, rendered the same way, must read exactly as written."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fixtures_book import ENTITY, verify_clean

from openbill.domain.money import format_minor
from openbill.usecases import invoices as inv
from openbill.usecases import payments as pay
from openbill.usecases import reports

EVENTS = """
; date       event     who / what                          amounts worked out by hand
2026-03-02 invoice  C1 WIDGET 4, BOOK 2         ; INV-2026-000001: 50.00 + 9.50 tax,
                                                ;   19.98 + 1.40 tax (19.98 x 7 % = 1.3986)
                                                ;   -> 80.88, due 04-01
2026-03-03 invoice  C2 WIDGET 10                ; INV-2026-000002: reverse charge 125.00, due 04-02
2026-03-05 invoice  C3 TRAINING 1, WIDGET 1     ; INV-2026-000003: 100.00 exempt + 12.50 + 2.38 tax
                                                ;   (12.50 x 19 % = 2.375) -> 114.88, eom+15: 04-15
2026-03-10 payment  C1 60.00                    ; oldest first: INV-1 open 20.88
2026-03-12 payment  C2 150.00                   ; INV-2 paid, 25.00 left as credit
2026-03-15 credit   INV-2026-000003 1:1 training cancelled
                                                ; CN-2026-000001 100.00 (exempt),
                                                ;   applied to INV-3: 14.88 open
2026-03-20 invoice  C2 WIDGET 1                 ; INV-2026-000004: 12.50 reverse charge, due 04-19
2026-03-21 apply    C2                          ; credit 25.00 pays INV-4, 12.50 credit left
2026-03-28 refund   C2 10.00                    ; credit 2.50 left
2026-03-30 writeoff INV-2026-000001 0.88 small balance
                                                ; INV-1 open 20.00
"""

# 1100 debits: invoices 80.88 + 125.00 + 114.88 + 12.50, and 100.00 when the note is applied
# (Dr the note / Cr INV-3) = 433.26; credits: payments 60.00 + 125.00 + 12.50, the note
# 100.00, its application 100.00, the write-off 0.88 = 398.38; balance 34.88 = 20.00 open on
# INV-1 + 14.88 on INV-3. 1200: 60 + 150 - 10. 2100: -60 + 60 - 150 + 125
# + 12.50 + 10 = -2.50. 2200: -(9.50 + 1.40 + 2.38). 4000: -(50 + 125 + 12.50 + 12.50).
# 4020: -100 + 100. The column sums to zero.
EXPECTED_LEDGER = """
account currency     debit    credit   balance
1100    EUR         433.26    398.38     34.88
1200    EUR         210.00     10.00    200.00
2100    EUR         207.50    210.00     -2.50
2200    EUR           0.00     13.28    -13.28
4000    EUR           0.00    200.00   -200.00
4010    EUR           0.00     19.98    -19.98
4020    EUR         100.00    100.00      0.00
6900    EUR           0.88      0.00      0.88
"""

# As of 2026-04-10: INV-1 9 days past its due date 04-01, INV-3 not due before 04-15.
EXPECTED_DOCUMENTS = """
number           customer status            total     open
INV-2026-000001  C1       overdue           80.88    20.00
INV-2026-000002  C2       paid             125.00     0.00
INV-2026-000003  C3       partially_paid   114.88    14.88
CN-2026-000001   C3       applied          100.00     0.00
INV-2026-000004  C2       paid              12.50     0.00
"""

EXPECTED_AGING = """
customer  current     1-30    31-60    61-90      90+    total   credit
C1           0.00    20.00     0.00     0.00     0.00    20.00     0.00
C2           0.00     0.00     0.00     0.00     0.00     0.00     2.50
C3          14.88     0.00     0.00     0.00     0.00    14.88     0.00
"""

AS_OF = date(2026, 4, 10)


def _lines(text: str) -> list[str]:
    out = []
    for raw in text.strip().splitlines():
        line = raw.split(";", 1)[0].strip()
        if line:
            out.append(line)
    return out


def run(book, events: str) -> None:
    for line in _lines(events):
        day, verb, rest = line.split(maxsplit=2)
        on = date.fromisoformat(day)
        if verb == "invoice":
            customer, items = rest.split(maxsplit=1)
            specs = tuple(inv.LineSpec(*item.split()) for item in items.split(","))
            inv.create_invoice(book.uow(), inv.CreateInvoice(ENTITY, customer, specs, on))
        elif verb == "payment":
            customer, amount = rest.split()
            pay.record_payment(
                book.uow(), pay.RecordPayment(ENTITY, customer, amount, received_on=on)
            )
        elif verb == "credit":
            number, which, reason = rest.split(maxsplit=2)
            line_no, quantity = which.split(":")
            inv.credit_invoice(
                book.uow(),
                inv.CreditInvoice(ENTITY, number, reason, on, ((int(line_no), quantity),)),
            )
        elif verb == "apply":
            pay.apply_credit(book.uow(), pay.ApplyCredit(ENTITY, rest, on=on))
        elif verb == "refund":
            customer, amount = rest.split()
            pay.refund(book.uow(), pay.Refund(ENTITY, customer, amount, refunded_on=on))
        elif verb == "writeoff":
            number, amount, reason = rest.split(maxsplit=2)
            pay.write_off(book.uow(), pay.WriteOff(ENTITY, number, reason, amount, on))
        else:
            raise AssertionError(f"unknown event {verb!r}")


def _table(rows: list[list[str]]) -> str:
    """Columns split on whitespace: compare cell by cell, not by spacing."""
    return "\n".join(" ".join(cells) for cells in rows)


def _normal(text: str) -> str:
    return _table([line.split() for line in text.strip().splitlines()])


def render_ledger(book) -> str:
    rows = [["account", "currency", "debit", "credit", "balance"]]
    for r in reports.ledger_balances(book.uow(read_only=True), ENTITY):
        rows.append(
            [r.account, r.currency]
            + [
                format_minor(v, r.currency)
                for v in (r.debit_minor, r.credit_minor, r.balance_minor)
            ]
        )
    return _table(rows)


def render_documents(book) -> str:
    rows = [["number", "customer", "status", "total", "open"]]
    for d in reports.list_documents(book.uow(read_only=True), ENTITY, as_of=AS_OF):
        rows.append(
            [d.number, d.customer, d.status]
            + [format_minor(v, d.currency) for v in (d.total_minor, d.open_minor)]
        )
    return _table(rows)


def render_aging(book) -> str:
    labels, aging = reports.aging(book.uow(read_only=True), ENTITY, AS_OF)
    rows = [["customer", *labels, "total", "credit"]]
    for a in aging:
        amounts = (*a.buckets, a.total_minor, a.credit_minor)
        rows.append([a.customer] + [format_minor(v, a.currency) for v in amounts])
    return _table(rows)


def test_a_billing_month(book):
    run(book, EVENTS)
    assert render_ledger(book) == _normal(EXPECTED_LEDGER)
    assert render_documents(book) == _normal(EXPECTED_DOCUMENTS)
    assert render_aging(book) == _normal(EXPECTED_AGING)
    verify_clean(book)


def test_the_expected_ledger_balances():
    """The hand-written ledger is itself balanced: debits = credits, balances sum to zero."""
    rows = [line.split() for line in EXPECTED_LEDGER.strip().splitlines()[1:]]
    debit = sum(Decimal(r[2]) for r in rows)
    credit = sum(Decimal(r[3]) for r in rows)
    assert debit == credit
    assert sum(Decimal(r[4]) for r in rows) == 0
