"""Issue #3, openbill: price and group N confirmed deliveries into draft invoices
(`prepare_billing`), then verify every draft it produced (`verify_draft`).

The book (set up untimed, through openbill's own use cases, by :func:`open_with_deliveries`,
which the floor job `bench.jobs.prepare_floor` shares):

- one legal entity per :data:`PER_ENTITY` deliveries (``prepare_billing`` looks at no more than
  ``PREPARE_DELIVERIES_MAX`` = 50,000 deliveries per run: see :func:`entities_for`), each with
  20 % VAT, :data:`CODES` charge codes with catalog prices and :data:`CUSTOMERS` customers;
- per customer a contract (grouped per month, 5 % discount) with negotiated prices for the
  first four charge codes; the fifth is priced from the catalog less the discount;
- every fourth customer's contract requires a purchase order; that customer has one, with a
  line per charge code carrying a quantity and an amount ceiling (high enough that nothing is
  held back), and each of its deliveries names the PO line;
- the deliveries: shipments of 1 to 20 units, confirmed, spread over :data:`MONTHS`, imported
  through ``import_deliveries`` in files of 10,000 rows.

Timed: one ``prepare_billing`` per entity (through the last delivery date), then
``verify_draft`` on every draft it returned. ``check`` counts the billings, drafts and
findings in the database.
"""

from __future__ import annotations

import math
import time
from datetime import date
from typing import Any

DESCRIPTION = (
    "openbill prepare_billing (contract/catalog pricing, PO checks, grouping per customer and "
    "month, drafts with totals and billing links) + verify_draft on every draft"
)

PER_ENTITY = 50_000  # deliveries per legal entity, at most PREPARE_DELIVERIES_MAX
CUSTOMERS = 100  # per entity
PO_EVERY = 4  # every 4th customer's contract requires a purchase order
CODES = (  # charge code, catalog unit price, contract unit price (None: catalog less discount)
    ("P0", "10.00", "9.50"),
    ("P1", "25.50", "24.00"),
    ("P2", "7.25", "6.90"),
    ("P3", "120.00", "110.00"),
    ("P4", "3.99", None),
)
DISCOUNT = "5"
MONTHS = ((2026, 9), (2026, 10), (2026, 11), (2026, 12))
THROUGH = date(2026, 12, 31)
IMPORT_ROWS = 10_000  # rows per import file (IMPORT_ROWS_MAX)
HEADER = "ref,kind,customer,contract,po,po_line,charge_code,date,status,shipped\n"


def entities_for(n: int) -> list[tuple[str, int]]:
    """(entity code, deliveries) for n deliveries: as few entities as the per-run bound allows."""
    from openbill.usecases.commercial import PREPARE_DELIVERIES_MAX

    per = min(PER_ENTITY, PREPARE_DELIVERIES_MAX)
    count = max(1, math.ceil(n / per))
    base, extra = divmod(n, count)
    return [(f"B{k}", base + (1 if k < extra else 0)) for k in range(count)]


def delivery(i: int) -> tuple[int, int, date, int]:
    """The i-th delivery of an entity: (customer, charge code index, date, quantity)."""
    customer = i % CUSTOMERS
    code = (i // CUSTOMERS) % len(CODES)
    year, month = MONTHS[(i // 7) % len(MONTHS)]
    day = 1 + (i * 13) % 28
    return customer, code, date(year, month, day), 1 + (i * 7) % 20


def vat_id(c: int) -> str:
    """A valid French VAT number, different for every c: a SIREN with its Luhn digit."""
    digits = f"{100_000_000 + c * 10:09d}"[:8]
    total = 0
    for k, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if k % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    siren = int(digits + str((10 - total % 10) % 10))
    return f"FR{(12 + 3 * (siren % 97)) % 97:02d}{siren}"


def _csv(entity: str, start: int, stop: int) -> str:
    out = [HEADER]
    for i in range(start, stop):
        c, j, day, qty = delivery(i)
        po = f"PO{c:03d},{j + 1}" if c % PO_EVERY == 0 else ","
        out.append(
            f"{entity}-D{i:07d},shipment,C{c:03d},K{c:03d},{po},{CODES[j][0]},"
            f"{day.isoformat()},confirmed,{qty}\n"
        )
    return "".join(out)


def open_with_deliveries(url: str, n: int) -> tuple[Any, list[tuple[str, int]]]:
    """Open the book at `url`, set it up (untimed) with n deliveries; (book, entities)."""
    from openbill.bootstrap import open_book
    from openbill.usecases import commercial as com
    from openbill.usecases import masterdata as m

    book = open_book(url, actor="bench")
    entities = entities_for(n)
    for entity, count in entities:
        m.create_entity(book.uow(), m.CreateEntity(entity, f"Bench {entity}", "FR", "EUR"))
        m.add_tax_rule(
            book.uow(), m.AddTaxRule(entity, "FR", "standard", date(2020, 1, 1), "S", "20")
        )
        for code, catalog, _ in CODES:
            m.create_charge_code(
                book.uow(), m.CreateChargeCode(entity, code, f"Product {code}", "C62", "7010")
            )
            m.add_price(
                book.uow(),
                m.AddPrice(
                    entity,
                    code,
                    "EUR",
                    date(2020, 1, 1),
                    "per_unit",
                    f'{{"unit_price": "{catalog}"}}',
                ),
            )
        for c in range(CUSTOMERS):
            customer, contract = f"C{c:03d}", f"K{c:03d}"
            m.create_customer(
                book.uow(),
                m.CreateCustomer(
                    entity,
                    customer,
                    f"Customer {c}",
                    "FR",
                    "EUR",
                    address=f"{c} rue du Bench\n75001 Paris",
                    email=f"billing{c}@example.com",
                    vat_id=vat_id(c),
                ),
            )
            com.create_contract(
                book.uow(),
                com.CreateContract(
                    entity,
                    contract,
                    customer,
                    date(2026, 1, 1),
                    grouping="per_period",
                    period="month",
                    discount_percent=DISCOUNT,
                    po_required=c % PO_EVERY == 0,
                ),
            )
            for code, _, negotiated in CODES:
                if negotiated is not None:
                    com.add_contract_price(
                        book.uow(),
                        com.AddContractPrice(entity, contract, code, date(2026, 1, 1), negotiated),
                    )
            if c % PO_EVERY == 0:
                po = f"PO{c:03d}"
                com.create_purchase_order(
                    book.uow(),
                    com.CreatePurchaseOrder(entity, customer, po, contract=contract),
                )
                for j, (code, _, _) in enumerate(CODES):
                    com.add_po_line(
                        book.uow(),
                        com.AddPoLine(
                            entity,
                            customer,
                            po,
                            j + 1,
                            code,
                            quantity="10000000",
                            amount_ceiling="1000000000",
                        ),
                    )
        for start in range(0, count, IMPORT_ROWS):
            stop = min(count, start + IMPORT_ROWS)
            done = com.import_deliveries(
                book.uow(),
                com.ImportDeliveries(entity, _csv(entity, start, stop), f"{entity}-{start}.csv"),
            )
            assert done.created == stop - start, done
    return book, entities


def run(url: str, n: int) -> float:
    from openbill.usecases import commercial as com
    from openbill.usecases import verification as ver

    book, entities = open_with_deliveries(url, n)
    try:
        start = time.perf_counter()
        drafts: list[tuple[str, int]] = []
        for entity, _ in entities:
            result = com.prepare_billing(book.uow(), com.PrepareBilling(entity, THROUGH, THROUGH))
            if result.held:
                raise RuntimeError(f"{len(result.held)} deliveries held: {result.held[0]}")
            drafts += [(entity, d.document_id) for d in result.documents if d.kind == "draft"]
        prepared = time.perf_counter()
        for entity, draft_id in drafts:
            ver.verify_draft(book.uow(), ver.VerifyDraft(entity, draft_id))
        end = time.perf_counter()
        _PHASES.update(prepare_s=round(prepared - start, 3), verify_s=round(end - prepared, 3))
        return end - start
    finally:
        book.close()


_PHASES: dict[str, float] = {}


def check(url: str, n: int) -> dict[str, object]:
    from sqlalchemy import text

    from openbill.adapters.sql.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:

            def one(sql: str) -> Any:
                return conn.execute(text(sql)).scalar_one()

            return {
                "done": one("SELECT count(DISTINCT delivery_id) FROM delivery_billings"),
                "entities": len(entities_for(n)),
                "drafts": one("SELECT count(*) FROM documents WHERE status = 'draft'"),
                "lines": one("SELECT count(*) FROM document_lines"),
                "net_minor": one("SELECT sum(net_minor) FROM documents"),
                "findings": one("SELECT count(*) FROM discrepancies"),
                **_PHASES,
            }
    finally:
        engine.dispose()
