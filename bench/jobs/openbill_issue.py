"""openbill's own use case: create_invoice, one unit of work per invoice (bench.jobs doc)."""

from __future__ import annotations

import time
from datetime import date

from bench.jobs import CURRENCY, LINES, VAT_RATE

DESCRIPTION = (
    "openbill create_invoice: price 3 lines from the catalog, EN 16931 totals, gap-free number, "
    "hash-chained document, balanced journal entry, audit event; one transaction each"
)
ENTITY = "BENCH"
DAY = date(2026, 11, 2)


def _setup(url: str):  # type: ignore[no-untyped-def]
    from openbill.bootstrap import open_book
    from openbill.usecases import masterdata as m

    book = open_book(url, actor="bench")
    m.create_entity(book.uow(), m.CreateEntity(ENTITY, "Bench SARL", "FR", CURRENCY))
    m.add_tax_rule(
        book.uow(),
        m.AddTaxRule(ENTITY, "FR", "standard", date(2020, 1, 1), "S", str(VAT_RATE * 100)),
    )
    m.create_customer(book.uow(), m.CreateCustomer(ENTITY, "C1", "Customer", "FR", CURRENCY))
    for i, line in enumerate(LINES):
        code = f"L{i}"
        m.create_charge_code(
            book.uow(), m.CreateChargeCode(ENTITY, code, line.description, "C62", f"40{i}0")
        )
        m.add_price(
            book.uow(),
            m.AddPrice(
                ENTITY,
                code,
                CURRENCY,
                date(2020, 1, 1),
                "per_unit",
                f'{{"unit_price": "{line.unit_price}"}}',
            ),
        )
    return book


def run(url: str, n: int) -> float:
    from openbill.usecases.invoices import CreateInvoice, LineSpec, create_invoice

    book = _setup(url)
    cmd = CreateInvoice(
        ENTITY,
        "C1",
        tuple(LineSpec(f"L{i}", str(line.quantity)) for i, line in enumerate(LINES)),
        DAY,
    )
    try:
        start = time.perf_counter()
        for _ in range(n):
            create_invoice(book.uow(), cmd)
        return time.perf_counter() - start
    finally:
        book.close()


def check(url: str, n: int) -> dict[str, object]:
    from openbill.bootstrap import open_book
    from openbill.domain.money import format_minor
    from openbill.usecases.reports import list_documents
    from openbill.usecases.verify import verify

    book = open_book(url, actor="bench")
    try:
        docs = list_documents(book.uow(read_only=True), ENTITY, limit=n + 10)
        report = verify(book.uow(read_only=True))
        return {
            "invoices_in_db": len(docs),
            "last_number": docs[-1].number if docs else "",
            "last_gross": format_minor(docs[-1].total_minor, CURRENCY) if docs else "",
            "verify_ok": report.ok,
        }
    finally:
        book.close()
