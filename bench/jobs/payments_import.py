"""Issue #4, openbill: payments imported and allocated per second (`openbill payments import`,
`openbill.usecases.payment_import.import_payments`) against a book of 100,000 open invoices,
beside its floor (`bench.jobs.payments_import_floor`: the same rows written by hand in SQL).

The book (made untimed by :func:`build`, shared with the floor job):

- one legal entity (``PAY``, EUR, 19 % VAT), one charge code at 12.50, :func:`customers_for`
  customers, all made through openbill's use cases;
- :func:`invoices_for` issued invoices, spread over the first half of 2026, each of 1 to 8
  units (net 12.50 to 100.00, gross 14.88 to 119.00), none paid. The first
  :data:`TEMPLATES` are issued through ``create_invoice``; the rest are written in bulk with
  exactly the rows ``create_invoice`` writes for an invoice of the same shape (the document,
  its line and VAT subtotal copied from the template of its shape, its number from the
  series, the journal entry built by ``domain.ledger.invoice_issued``, the audit event, and
  the three hash chains linked with the same payload functions), because issuing 100,000
  invoices one by one takes over three minutes on PostgreSQL. ``openbill verify`` passes on
  the book (checked by the quick run).

The file: N payments in openbill's own CSV layout, each naming one open invoice (a different
one each), half by its number in a sentence ("Rechnung INV-2026-000123"), half by the RF
creditor reference printed on it, in groups of four; a third without the customer column
(the customer is found through the invoice). 80 % pay the invoice exactly, 10 % pay 50-90 %
of it, 10 % pay 1.00 to 50.00 too much (which stays customer credit). Each row has a bank
transaction id.

Timed: ``import_payments`` of the whole file (parse, check every line in a rolled-back unit of
work, then record every payment with ``record_payment_in`` in one unit of work and commit).
Untimed, afterwards: the open receivable, the customer credit, the payments and allocations
in the database must equal what the file says they should be (:func:`expected`), the same
figures the floor must reach; a job that leaves other totals fails.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

DESCRIPTION = (
    "openbill import_payments (profile openbill): parse, check every line, then per payment "
    "record_payment_in (payment, allocation by invoice number or RF reference, journal, audit, "
    "idempotency key) in one transaction; against 100,000 open invoices (10 per payment when "
    "N < 10,000)"
)

ENTITY = "PAY"
CURRENCY = "EUR"
UNIT_PRICE = "12.50"
SHAPES = 8  # invoices of 1..8 units
TEMPLATES = SHAPES
FIRST_DAY = date(2026, 1, 2)
INVOICE_DAYS = 180
PAID_FROM = date(2026, 7, 1)
SEED = 4
INVOICES_FULL = 100_000
CHUNK = 5_000  # invoices written per batch
STAMP = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def invoices_for(n: int) -> int:
    """100,000 open invoices for the full run (N = 10,000 payments); ten per payment below."""
    return min(INVOICES_FULL, max(10 * n, 1_000))


def customers_for(invoices: int) -> int:
    return max(10, invoices // 100)


# --- the book --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invoice:
    id: int
    number: str
    customer: str
    total_minor: int


def _setup(url: str, customers: int) -> Any:
    from openbill.bootstrap import open_book
    from openbill.usecases import masterdata as m

    book = open_book(url, actor="bench")
    m.create_entity(book.uow(), m.CreateEntity(ENTITY, "Payments Bench GmbH", "DE", CURRENCY))
    m.add_tax_rule(book.uow(), m.AddTaxRule(ENTITY, "DE", "standard", date(2020, 1, 1), "S", "19"))
    m.create_charge_code(book.uow(), m.CreateChargeCode(ENTITY, "SVC", "Service", "C62", "4000"))
    m.add_price(
        book.uow(),
        m.AddPrice(
            ENTITY,
            "SVC",
            CURRENCY,
            date(2020, 1, 1),
            "per_unit",
            f'{{"unit_price": "{UNIT_PRICE}"}}',
        ),
    )
    for i in range(customers):
        m.create_customer(
            book.uow(), m.CreateCustomer(ENTITY, _code(i), f"Customer {i:05d}", "DE", CURRENCY)
        )
    return book


def _code(i: int) -> str:
    return f"C{i + 1:05d}"


def _day(i: int, count: int) -> date:
    return FIRST_DAY + timedelta(days=i * INVOICE_DAYS // count)


class _Templates:
    """The rows create_invoice wrote for one invoice of each shape (1..SHAPES units)."""

    def __init__(self, conn: Any, doc_ids: list[int]) -> None:
        from sqlalchemy import select

        from openbill.adapters.sql import tables as t

        self.docs: list[dict[str, Any]] = []
        self.lines: list[list[dict[str, Any]]] = []
        self.taxes: list[list[dict[str, Any]]] = []
        for doc_id in doc_ids:
            doc = conn.execute(select(t.documents).where(t.documents.c.id == doc_id)).one()
            self.docs.append(dict(doc._mapping))
            lines = conn.execute(
                select(t.document_lines)
                .where(t.document_lines.c.document_id == doc_id)
                .order_by(t.document_lines.c.line_no)
            ).all()
            self.lines.append(
                [
                    {k: v for k, v in r._mapping.items() if k not in ("id", "document_id")}
                    for r in lines
                ]
            )
            taxes = conn.execute(
                select(t.document_taxes)
                .where(t.document_taxes.c.document_id == doc_id)
                .order_by(t.document_taxes.c.id)
            ).all()
            self.taxes.append(
                [
                    {k: v for k, v in r._mapping.items() if k not in ("id", "document_id")}
                    for r in taxes
                ]
            )


class _Writer:
    """Writes invoices in bulk exactly as create_invoice would, through openbill's RawWriter
    (the driver cursor, the storage formats of the use cases) in one transaction."""

    def __init__(self, conn: Any, entity: Any, templates: _Templates) -> None:
        from openbill.adapters.sql.raw import RawWriter

        self.conn = conn
        self.raw = RawWriter(conn)
        self.entity = entity
        self.templates = templates
        self.ids = {
            table: int(self.raw.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")[0][0])
            for table in (
                "documents",
                "document_lines",
                "document_taxes",
                "journal_entries",
                "journal_lines",
                "audit_events",
            )
        }
        self.heads = {
            name: (int(seq), h)
            for name, seq, h in self.raw.execute("SELECT name, seq, hash FROM chain_heads")
        }
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in self.ids}

    def _id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def _link(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        from openbill.domain import chain

        seq, prev = self.heads[name]
        link = chain.link(prev, payload)
        self.heads[name] = (seq + 1, link)
        return {"chain_seq": seq + 1, "prev_hash": prev, "hash": link}

    def invoice(self, shape: int, customer_id: int, on: date, seq: int) -> tuple[int, str, int]:
        from openbill.domain.chain import canonical
        from openbill.domain.invoice import PaymentTerms, due_date
        from openbill.domain.ledger import invoice_issued
        from openbill.usecases._support import audit_payload, journal_payload
        from openbill.usecases.invoices import document_payload

        template = self.templates.docs[shape]
        doc_id = self._id("documents")
        number = f"INV-{on.year}-{seq:06d}"
        values = {
            "entity_id": self.entity.id,
            "customer_id": customer_id,
            "kind": "invoice",
            "status": "issued",
            "document_date": on,
            "currency": CURRENCY,
            "payment_terms": template["payment_terms"],
            "prices_include_tax": bool(template["prices_include_tax"]),
            "net_minor": int(template["net_minor"]),
            "tax_minor": int(template["tax_minor"]),
            "total_minor": int(template["total_minor"]),
            "reason": "",
            "credited_document_id": None,
            "buyer_reference": "",
            "created_at": STAMP,
            "number": number,
            "series_year": on.year,
            "seq": seq,
            "due_date": due_date(on, PaymentTerms.parse(template["payment_terms"])),
            "issued_at": STAMP,
        }
        lines = self.templates.lines[shape]
        taxes = self.templates.taxes[shape]
        link = self._link("documents", document_payload(values, lines, taxes))
        # Written as a draft first: the triggers refuse lines added to an issued document.
        self.rows["documents"].append({"id": doc_id, **values, "status": "draft", **link})
        for line in lines:
            self.rows["document_lines"].append(
                {"id": self._id("document_lines"), **line, "document_id": doc_id}
            )
        for tax in taxes:
            self.rows["document_taxes"].append(
                {"id": self._id("document_taxes"), **tax, "document_id": doc_id}
            )
        revenue: dict[str, int] = {}
        for line in lines:
            account = line["revenue_account"]
            revenue[account] = revenue.get(account, 0) + int(line["net_minor"])
        entry = invoice_issued(
            on, number, doc_id, customer_id, CURRENCY, revenue, int(template["tax_minor"])
        )
        entry_id = self._id("journal_entries")
        self.rows["journal_entries"].append(
            {
                "id": entry_id,
                "entity_id": self.entity.id,
                "entry_date": entry.entry_date,
                "kind": entry.kind,
                "source_table": "documents",
                "source_id": doc_id,
                "description": entry.description,
                "created_at": STAMP,
                **self._link(
                    "journal", journal_payload(self.entity.id, entry, "documents", doc_id)
                ),
            }
        )
        for no, p in enumerate(entry.postings, start=1):
            self.rows["journal_lines"].append(
                {
                    "id": self._id("journal_lines"),
                    "entry_id": entry_id,
                    "line_no": no,
                    "account": p.account,
                    "currency": p.currency,
                    "amount_minor": p.amount_minor,
                    "customer_id": p.customer_id,
                    "document_id": p.document_id,
                }
            )
        audit_values = {
            "entity_id": self.entity.id,
            "actor": "bench",
            "occurred_at": STAMP,
            "action": "invoice.issued",
            "record_type": "document",
            "record_id": str(doc_id),
            "before": canonical({"status": "draft"}).decode(),
            "after": canonical(
                {"status": "issued", "number": number, "total_minor": values["total_minor"]}
            ).decode(),
        }
        self.rows["audit_events"].append(
            {
                "id": self._id("audit_events"),
                **audit_values,
                **self._link("audit", audit_payload(audit_values)),
            }
        )
        return doc_id, number, int(values["total_minor"])

    def flush(self) -> None:
        for table, rows in self.rows.items():
            if rows:
                self.raw.insert_many(table, rows)
                rows.clear()
        self.raw.execute(
            "UPDATE documents SET status = 'issued' WHERE entity_id = ? AND status = 'draft'",
            (self.entity.id,),
        )

    def finish(self, last_seq: int, year: int) -> None:
        self.flush()
        self.raw.executemany(
            "UPDATE chain_heads SET seq = ?, hash = ? WHERE name = ?",
            [(seq, h, name) for name, (seq, h) in self.heads.items()],
        )
        self.raw.execute(
            "UPDATE number_series SET next_seq = ? WHERE entity_id = ? AND kind = 'invoice' "
            "AND year = ?",
            (last_seq + 1, self.entity.id, year),
        )
        if self.raw.dialect == "postgresql":
            for table in self.ids:
                self.raw.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT MAX(id) FROM {table}))"
                )


def build(url: str, n: int) -> list[Invoice]:
    """Make the book at `url` (untimed); return its invoices in number order."""
    from openbill.usecases.invoices import CreateInvoice, LineSpec, create_invoice

    count = invoices_for(n)
    customers = customers_for(count)
    book = _setup(url, customers)
    try:
        invoices: list[Invoice] = []
        for shape in range(TEMPLATES):
            issued = create_invoice(
                book.uow(),
                CreateInvoice(
                    ENTITY,
                    _code(shape % customers),
                    (LineSpec("SVC", str(shape + 1)),),
                    _day(shape, count),
                ),
            )
            invoices.append(
                Invoice(issued.id, issued.number, _code(shape % customers), issued.total_minor)
            )
        with book.uow(read_only=True) as uow:
            entity = uow.entities.by_code(ENTITY)
            ids = {
                _code(i): uow.customers.by_code(entity.id, _code(i)).id for i in range(customers)
            }
        with book.engine.begin() as conn:
            writer = _Writer(conn, entity, _Templates(conn, [i.id for i in invoices]))
            for i in range(TEMPLATES, count):
                code = _code(i % customers)
                doc_id, number, total = writer.invoice(i % SHAPES, ids[code], _day(i, count), i + 1)
                invoices.append(Invoice(doc_id, number, code, total))
                if (i + 1) % CHUNK == 0:
                    writer.flush()
            writer.finish(count, FIRST_DAY.year)
        if book.engine.dialect.name == "postgresql":
            with book.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    finally:
        book.close()
    return invoices


# --- the file --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Payment:
    invoice: Invoice
    amount_minor: int
    reference: str
    with_customer: bool
    received_on: date
    transaction_id: str


def payments_for(invoices: list[Invoice], n: int) -> list[Payment]:
    from openbill.domain.reference import creditor_reference, printable

    rng = random.Random(SEED)
    chosen = rng.sample(invoices, n)
    out = []
    for j, inv in enumerate(chosen):
        r = rng.random()
        if r < 0.8:
            amount = inv.total_minor
        elif r < 0.9:
            amount = inv.total_minor * rng.randint(50, 90) // 100
        else:
            amount = inv.total_minor + rng.randint(100, 5_000)
        reference = (
            f"Rechnung {inv.number} vielen Dank"
            if j % 2 == 0
            else printable(creditor_reference(inv.number))
        )
        out.append(
            Payment(
                inv,
                amount,
                reference,
                j % 3 != 0,
                PAID_FROM + timedelta(days=j * 30 // n),
                f"BT{j + 1:09d}",
            )
        )
    return out


def csv_text(payments: list[Payment]) -> str:
    lines = ["customer,amount,currency,date,reference,method,id"]
    for p in payments:
        amount = f"{Decimal(p.amount_minor).scaleb(-2):.2f}"
        customer = p.invoice.customer if p.with_customer else ""
        lines.append(
            f"{customer},{amount},{CURRENCY},{p.received_on.isoformat()},{p.reference},"
            f"bank_transfer,{p.transaction_id}"
        )
    return "\n".join(lines) + "\n"


def expected(invoices: list[Invoice], payments: list[Payment]) -> dict[str, int]:
    """What the book must hold after the import: every payment pays the invoice it names up
    to its total (each invoice is named once and nothing was paid before), the rest stays
    customer credit."""
    allocated = sum(min(p.amount_minor, p.invoice.total_minor) for p in payments)
    received = sum(p.amount_minor for p in payments)
    return {
        "payments": len(payments),
        "allocations": len(payments),
        "received_minor": received,
        "allocated_minor": allocated,
        "open_minor": sum(i.total_minor for i in invoices) - allocated,
        "credit_minor": received - allocated,
        "invoices_paid": sum(p.amount_minor >= p.invoice.total_minor for p in payments),
    }


def measured(url: str) -> dict[str, int]:
    """The same figures, read from the database."""
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
                "received_minor": one("SELECT SUM(amount_minor) FROM payments"),
                "allocated_minor": one("SELECT SUM(amount_minor) FROM allocations"),
                "open_minor": one(
                    "SELECT SUM(amount_minor) FROM journal_lines WHERE account = '1100'"
                ),
                "credit_minor": -one(
                    "SELECT SUM(amount_minor) FROM journal_lines WHERE account = '2100'"
                ),
                "invoices_paid": one(
                    "SELECT COUNT(*) FROM (SELECT document_id FROM journal_lines "
                    "WHERE account = '1100' GROUP BY document_id "
                    "HAVING SUM(amount_minor) = 0) x"
                ),
            }
    finally:
        engine.dispose()


def agree(url: str, want: dict[str, int]) -> dict[str, int]:
    got = measured(url)
    if got != want:
        diff = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
        raise RuntimeError(f"the book does not hold what the file says (got, want): {diff}")
    return got


# --- the job ---------------------------------------------------------------------------------

_CHECK: dict[str, Any] = {}


def prepare(url: str, n: int) -> tuple[str, dict[str, int]]:
    """Build the book and the file (untimed); return the file and the expected figures."""
    started = time.perf_counter()
    invoices = build(url, n)
    payments = payments_for(invoices, n)
    _CHECK.update(
        invoices=len(invoices),
        customers=customers_for(len(invoices)),
        build_s=round(time.perf_counter() - started, 1),
    )
    return csv_text(payments), expected(invoices, payments)


def run(url: str, n: int) -> float:
    from openbill.bootstrap import open_book
    from openbill.domain.payment_import import BUILTIN
    from openbill.usecases.payment_import import import_payments

    text, want = prepare(url, n)
    book = open_book(url, actor="bench")
    try:
        start = time.perf_counter()
        result = import_payments(book.uow, ENTITY, text, "payments.csv", BUILTIN["openbill"])
        seconds = time.perf_counter() - start
    finally:
        book.close()
    _CHECK.update(agree(url, want))
    _CHECK.update(
        done=result.recorded,
        by_reference=dict(result.allocation)["reference"],
        rejected=len(result.rejected),
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
