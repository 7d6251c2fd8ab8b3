"""A helper process for the concurrency and crash tests: run as `python worker.py COMMAND ...`.

Commands (every one prints one JSON object per committed unit of work, flushed at once, so the
parent knows exactly what committed before it killed us):

    setup URL                         master data: entity ACME, customer C1, two charge codes
    invoices URL COUNT [--go FILE] [--ready FILE]
                                      issue COUNT invoices (create_invoice), one transaction each
    payments URL COUNT AMOUNT [--go FILE] [--ready FILE]
                                      record COUNT payments for C1, allocated oldest first
    loop URL                          issue an invoice, record a payment, forever (until killed)

With --ready/--go the process opens its book, writes the ready file and waits for the go file,
so that all workers start their transactions together.

OPENBILL_TEST_PAUSE=<point> makes the process stop for good INSIDE a transaction, after writing
the file named by OPENBILL_TEST_PAUSE_FILE, so the parent can SIGKILL it there; with
OPENBILL_TEST_PAUSE_SKIP=N it lets the first N passes through that point go by. Points:
    after_seq       the invoice number was taken (DocumentRepo.next_seq returned)
    after_payment   the payment row was written (MoneyRepo.add_payment returned)
    before_commit   everything is written, the chain heads flushed, COMMIT not yet sent
The hook lives only here; src/ knows nothing about it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import types
from datetime import date
from pathlib import Path
from typing import Any

ENTITY = "ACME"
CUSTOMER = "C1"
ISSUE_DATE = date(2026, 3, 2)
PAUSE_ENV = "OPENBILL_TEST_PAUSE"
PAUSE_FILE_ENV = "OPENBILL_TEST_PAUSE_FILE"
PAUSE_SKIP_ENV = "OPENBILL_TEST_PAUSE_SKIP"


def _ensure_identifiers() -> None:
    """openbill.identifiers is written by another engineer; stand in for it until it lands."""
    try:
        import openbill.identifiers  # noqa: F401
    except ImportError:
        import openbill

        fake = types.ModuleType("openbill.identifiers")
        fake.validate_country = lambda c: c.strip().upper()  # type: ignore[attr-defined]
        fake.validate_vat_number = lambda v, c=None: v  # type: ignore[attr-defined]
        fake.validate_tax_number = lambda v, c=None: v  # type: ignore[attr-defined]
        fake.validate_iban = lambda v: v  # type: ignore[attr-defined]
        sys.modules["openbill.identifiers"] = fake
        openbill.identifiers = fake  # type: ignore[attr-defined]


def _emit(**data: Any) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


def _pause(point: str) -> None:
    marker = os.environ.get(PAUSE_FILE_ENV)
    if marker:
        Path(marker).write_text(point)
    while True:  # wait here, inside the open transaction, for SIGKILL
        time.sleep(60)


def _install_pause_hook() -> None:
    point = os.environ.get(PAUSE_ENV, "")
    if not point:
        return
    from openbill.adapters.sql import repositories as repos

    if point == "after_seq":
        target, name = repos.DocumentRepo, "next_seq"
    elif point == "after_payment":
        target, name = repos.MoneyRepo, "add_payment"
    elif point == "before_commit":
        target, name = repos.ChainRepo, "flush"
    else:
        raise SystemExit(f"unknown pause point {point!r}")
    original = getattr(target, name)
    skip = [int(os.environ.get(PAUSE_SKIP_ENV, "0"))]

    def paused(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        if skip[0] > 0:
            skip[0] -= 1
        else:
            _pause(point)
        return result

    setattr(target, name, paused)


def _wait_for_go(ready: str | None, go: str | None) -> None:
    if ready:
        Path(ready).write_text(str(os.getpid()))
    if go:
        deadline = time.monotonic() + 120
        while not Path(go).exists():
            if time.monotonic() > deadline:
                raise SystemExit("no go signal within 120 s")
            time.sleep(0.005)


def setup(url: str) -> None:
    from openbill.bootstrap import open_book
    from openbill.usecases import masterdata as m

    book = open_book(url, actor="setup")
    m.create_entity(book.uow(), m.CreateEntity(ENTITY, "Acme GmbH", "DE", "EUR"))
    m.add_tax_rule(book.uow(), m.AddTaxRule(ENTITY, "DE", "standard", date(2020, 1, 1), "S", "19"))
    m.add_tax_rule(book.uow(), m.AddTaxRule(ENTITY, "DE", "reduced", date(2020, 1, 1), "S", "7"))
    m.create_customer(book.uow(), m.CreateCustomer(ENTITY, CUSTOMER, "Customer One", "DE", "EUR"))
    m.create_charge_code(book.uow(), m.CreateChargeCode(ENTITY, "WIDGET", "Widget", "C62", "4000"))
    m.create_charge_code(
        book.uow(), m.CreateChargeCode(ENTITY, "BOOK", "Book", "C62", "4010", "reduced")
    )
    for code, price in (("WIDGET", "12.50"), ("BOOK", "9.99")):
        params = json.dumps({"unit_price": price})
        m.add_price(
            book.uow(), m.AddPrice(ENTITY, code, "EUR", date(2020, 1, 1), "per_unit", params)
        )
    book.close()
    _emit(done="setup")


def invoice_command(worker: int, k: int) -> Any:
    from openbill.usecases import invoices as inv

    lines = (inv.LineSpec("WIDGET", str(1 + k % 3)), inv.LineSpec("BOOK", "1"))
    return inv.CreateInvoice(ENTITY, CUSTOMER, lines, ISSUE_DATE, buyer_reference=f"w{worker}")


def issue(book: Any, worker: int, k: int) -> None:
    from openbill.usecases import invoices as inv

    res = inv.create_invoice(book.uow(), invoice_command(worker, k))
    _emit(kind="invoice", id=res.id, number=res.number, total_minor=res.total_minor)


def pay(book: Any, amount: str, reference: str) -> None:
    from openbill.usecases import payments as pay_

    cmd = pay_.RecordPayment(
        ENTITY, CUSTOMER, amount, received_on=ISSUE_DATE, reference=reference, allocate="oldest"
    )
    res = pay_.record_payment(book.uow(), cmd)
    _emit(kind="payment", id=res.id, amount_minor=res.amount_minor, allocated=res.allocated_minor)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=("setup", "invoices", "payments", "loop"))
    parser.add_argument("url")
    parser.add_argument("count", nargs="?", type=int, default=0)
    parser.add_argument("amount", nargs="?", default="10.00")
    parser.add_argument("--worker", type=int, default=0)
    parser.add_argument("--ready")
    parser.add_argument("--go")
    args = parser.parse_args(argv)

    _ensure_identifiers()
    if args.command == "setup":
        setup(args.url)
        return
    _install_pause_hook()
    from openbill.bootstrap import open_book

    book = open_book(args.url, actor=f"worker-{args.worker}")
    _wait_for_go(args.ready, args.go)
    if args.command == "invoices":
        for k in range(args.count):
            issue(book, args.worker, k)
    elif args.command == "payments":
        for k in range(args.count):
            pay(book, args.amount, f"w{args.worker}-{k}")
    else:
        k = 0
        while True:
            issue(book, args.worker, k)
            pay(book, "7.77", f"loop-{k}")
            k += 1
    book.close()


if __name__ == "__main__":
    main(sys.argv[1:])
