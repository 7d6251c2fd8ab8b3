"""Issue #4, openbill: the AR aging report (`openbill.usecases.reports.aging`) over a book of N
issued invoices, beside its floor (`bench.jobs.aging_floor`: the same report as one SQL query).

The book (made untimed by :func:`build`, shared with the floor job) is what a year and a half
of billing through openbill's use cases leaves in the database, written with bulk INSERTs
(sqlite3 ``executemany``; PostgreSQL ``COPY``) because issuing a million invoices one by one
takes far too long for a benchmark run:

- one legal entity (``AGE``, EUR), :data:`CUSTOMERS` customers (every fifth one billed in USD,
  payment terms of 14, 30, 30 or 60 days, every tenth one VAT-exempt);
- N invoices spread evenly over :data:`FIRST_DAY` .. :data:`AS_OF`, 10.00 to 5,000.00 net,
  19 % VAT, each with its number from the series of its year and its journal entry
  (receivable debit, revenue and VAT credits) exactly as ``create_invoice`` posts it;
- what happens to them afterwards, in date order, each with the rows and journal entries of
  the use case that does it: most are paid in full around their due date, a tenth in two
  instalments (some never finished), 1 % overpaid (the rest stays customer credit), 2 %
  cancelled by a full credit note applied to them, 0.3 % get a partial credit note after they
  were paid (left open as credit), 2 % are never paid, a third of those written off after 180
  days. Payments are ``record_payment`` with an explicit allocation: the payment, its entry
  (bank / customer credit), the allocation and its entry (customer credit / receivable).

Not written, because the aging report reads none of it: document lines and VAT subtotals,
audit events, and the hash-chain columns (left NULL, so ``openbill verify`` is not meant to
pass on this book).

Before anything is timed, the job runs the use case and the floor query once each (which also
warms the caches for both) and checks they agree on every customer, currency and bucket and on
the customer credit; a benchmark of two different answers would be worthless. Timed: the
median of :data:`TIMED_RUNS` runs of the report as of :data:`AS_OF`.
"""

from __future__ import annotations

import heapq
import random
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

DESCRIPTION = (
    "openbill reports.aging as of a date (open items from the receivable postings, in "
    "30/60/90-day buckets, with unapplied cash) over N issued invoices, ~5,000 customers, "
    "EUR and USD, most paid, some part-paid, credited or written off"
)

ENTITY = "AGE"
AS_OF = date(2026, 6, 30)
FIRST_DAY = date(2025, 1, 1)
CUSTOMERS = 5_000
TIMED_RUNS = 3
SEED = 4
BOUNDS = (30, 60, 90)
FLUSH_ROWS = 50_000

COLUMNS = {
    "customers": (
        "id entity_id code name segment country regime currency payment_terms email address "
        "created_at"
    ),
    "documents": (
        "id entity_id customer_id kind status number series_year seq document_date due_date "
        "currency payment_terms prices_include_tax net_minor tax_minor total_minor "
        "credited_document_id reason buyer_reference created_at issued_at"
    ),
    "journal_entries": "id entity_id entry_date kind source_table source_id description created_at",
    "journal_lines": "id entry_id line_no account currency amount_minor customer_id document_id",
    "payments": (
        "id entity_id customer_id currency amount_minor method received_on reference created_at"
    ),
    "allocations": (
        "id entity_id customer_id payment_id credit_note_id invoice_id amount_minor "
        "allocated_on created_at"
    ),
    "write_offs": "id entity_id invoice_id amount_minor reason written_off_on created_at",
    "number_series": "entity_id kind year next_seq",
}
ORDER = tuple(COLUMNS)  # parents before children


# --- the loader: rows through the driver ---------------------------------------------------


def _stamp(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)


class Loader:
    """Buffers rows per table and writes them through the driver: executemany in one SQLite
    transaction, COPY on PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        self.rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in COLUMNS}
        self.count = 0
        if self.sqlite:
            import sqlite3

            self.conn: Any = sqlite3.connect(url.split("sqlite:///", 1)[1], isolation_level=None)
            self.conn.execute("PRAGMA synchronous=OFF")
            self.conn.execute("BEGIN")
        else:
            import psycopg

            self.conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))

    def _value(self, value: Any) -> Any:
        # SQLAlchemy's SQLite storage formats (see openbill.adapters.sql.raw).
        if not self.sqlite or value is None or isinstance(value, int | str):
            return value
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M:%S.%f")
        if isinstance(value, date):
            return value.isoformat()
        return value

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.rows[table].append(row)
        self.count += 1
        if self.count >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        for table in ORDER:
            rows = self.rows[table]
            if not rows:
                continue
            cols = COLUMNS[table].split()
            if self.sqlite:
                sql = (
                    f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
                )
                self.conn.executemany(sql, [tuple(map(self._value, r)) for r in rows])
            else:
                with self.conn.cursor().copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
                    for r in rows:
                        cp.write_row(r)
            rows.clear()
        self.count = 0

    def close(self) -> None:
        self.flush()
        if self.sqlite:
            self.conn.execute("COMMIT")
        else:
            cur = self.conn.cursor()
            for table in ORDER:
                if table != "number_series":
                    cur.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {table}))"
                    )
            self.conn.commit()
            # What autovacuum does shortly after a load this size.
            self.conn.autocommit = True
            self.conn.execute("ANALYZE")
        self.conn.close()


# --- the book ------------------------------------------------------------------------------


class Book:
    """The rows the use cases would write, in date order, with explicit ids."""

    def __init__(self, loader: Loader, entity_id: int) -> None:
        self.out = loader
        self.entity_id = entity_id
        self.ids = {name: 0 for name in COLUMNS}
        self.series: dict[tuple[str, int], int] = {}
        self.open: dict[int, int] = {}  # invoice id -> open minor units

    def _id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def _entry(
        self,
        on: date,
        kind: str,
        source: tuple[str, int],
        text: str,
        lines: list[tuple[str, str, int, int | None, int | None]],
    ) -> None:
        entry_id = self._id("journal_entries")
        self.out.add(
            "journal_entries",
            (entry_id, self.entity_id, on, kind, source[0], source[1], text, _stamp(on)),
        )
        for no, (account, currency, amount, customer, document) in enumerate(
            [line for line in lines if line[2] != 0], start=1
        ):
            self.out.add(
                "journal_lines",
                (
                    self._id("journal_lines"),
                    entry_id,
                    no,
                    account,
                    currency,
                    amount,
                    customer,
                    document,
                ),
            )

    def _number(self, kind: str, on: date) -> tuple[str, int]:
        seq = self.series.get((kind, on.year), 0) + 1
        self.series[(kind, on.year)] = seq
        prefix = "INV" if kind == "invoice" else "CN"
        return f"{prefix}-{on.year}-{seq:06d}", seq

    def _document(
        self,
        kind: str,
        customer: tuple[int, str, str, int],
        on: date,
        net: int,
        tax: int,
        credited: int | None = None,
    ) -> tuple[int, str]:
        cid, _code, currency, terms = customer
        doc_id = self._id("documents")
        number, seq = self._number(kind, on)
        due = on + timedelta(days=terms) if kind == "invoice" else on
        self.out.add(
            "documents",
            (
                doc_id,
                self.entity_id,
                cid,
                kind,
                "issued",
                number,
                on.year,
                seq,
                on,
                due,
                currency,
                f"net{terms}",
                False,
                net,
                tax,
                net + tax,
                credited,
                "price correction" if credited else "",
                "",
                _stamp(on),
                _stamp(on),
            ),
        )
        sign = 1 if kind == "invoice" else -1
        self._entry(
            on,
            kind,
            ("documents", doc_id),
            number,
            [
                ("1100", currency, sign * (net + tax), cid, doc_id),
                ("4000", currency, -sign * net, None, None),
                ("2200", currency, -sign * tax, None, None),
            ],
        )
        return doc_id, number

    def invoice(
        self, customer: tuple[int, str, str, int], on: date, net: int, tax: int
    ) -> tuple[int, str]:
        doc_id, number = self._document("invoice", customer, on, net, tax)
        self.open[doc_id] = net + tax
        return doc_id, number

    def pay(
        self, customer: tuple[int, str, str, int], invoice: tuple[int, str], amount: int, on: date
    ) -> None:
        """record_payment with an explicit allocation of what is open (at most `amount`)."""
        cid, code, currency, _ = customer
        applied = min(amount, self.open[invoice[0]])
        payment_id = self._id("payments")
        self.out.add(
            "payments",
            (
                payment_id,
                self.entity_id,
                cid,
                currency,
                amount,
                "bank_transfer",
                on,
                invoice[1],
                _stamp(on),
            ),
        )
        self._entry(
            on,
            "payment",
            ("payments", payment_id),
            f"payment {payment_id} from {code} {invoice[1]}",
            [("1200", currency, amount, None, None), ("2100", currency, -amount, cid, None)],
        )
        if applied <= 0:
            return
        allocation_id = self._id("allocations")
        self.out.add(
            "allocations",
            (
                allocation_id,
                self.entity_id,
                cid,
                payment_id,
                None,
                invoice[0],
                applied,
                on,
                _stamp(on),
            ),
        )
        self._entry(
            on,
            "allocation",
            ("allocations", allocation_id),
            f"payment {payment_id} to {invoice[1]}",
            [
                ("2100", currency, applied, cid, None),
                ("1100", currency, -applied, cid, invoice[0]),
            ],
        )
        self.open[invoice[0]] -= applied

    def credit(
        self,
        customer: tuple[int, str, str, int],
        invoice: tuple[int, str],
        net: int,
        tax: int,
        on: date,
    ) -> None:
        """credit_invoice: the credit note, applied to what is still open on the invoice."""
        cid, _code, currency, _ = customer
        note_id, note_number = self._document("credit_note", customer, on, net, tax, invoice[0])
        applied = min(self.open[invoice[0]], net + tax)
        if applied <= 0:
            return
        allocation_id = self._id("allocations")
        self.out.add(
            "allocations",
            (
                allocation_id,
                self.entity_id,
                cid,
                None,
                note_id,
                invoice[0],
                applied,
                on,
                _stamp(on),
            ),
        )
        self._entry(
            on,
            "credit_application",
            ("allocations", allocation_id),
            f"{note_number} applied to {invoice[1]}",
            [
                ("1100", currency, applied, cid, note_id),
                ("1100", currency, -applied, cid, invoice[0]),
            ],
        )
        self.open[invoice[0]] -= applied

    def write_off(
        self, customer: tuple[int, str, str, int], invoice: tuple[int, str], on: date
    ) -> None:
        cid, _code, currency, _ = customer
        amount = self.open[invoice[0]]
        if amount <= 0:
            return
        write_off_id = self._id("write_offs")
        reason = "customer insolvent"
        self.out.add(
            "write_offs",
            (write_off_id, self.entity_id, invoice[0], amount, reason, on, _stamp(on)),
        )
        self._entry(
            on,
            "write_off",
            ("write_offs", write_off_id),
            f"write-off {invoice[1]}: {reason}",
            [("6900", currency, amount, None, None), ("1100", currency, -amount, cid, invoice[0])],
        )
        self.open[invoice[0]] = 0

    def finish(self) -> None:
        for (kind, year), seq in sorted(self.series.items()):
            self.out.add("number_series", (self.entity_id, kind, year, seq + 1))


def customers_for(n: int) -> int:
    return max(1, min(CUSTOMERS, n // 10))


def _days() -> Iterator[date]:
    day = FIRST_DAY
    while day <= AS_OF:
        yield day
        day += timedelta(days=1)


def _generate(book: Book, n: int) -> dict[str, int]:
    """Issue n invoices over FIRST_DAY..AS_OF and play what happens to them, in date order."""
    rng = random.Random(SEED)
    count = customers_for(n)
    customers = [
        (
            i + 1,
            f"C{i:05d}",
            "USD" if i % 5 == 4 else "EUR",
            (14, 30, 30, 60)[i % 4],
        )
        for i in range(count)
    ]
    for cid, code, currency, terms in customers:
        book.out.add(
            "customers",
            (
                cid,
                book.entity_id,
                code,
                f"Customer {code}",
                "",
                "DE",
                "domestic",
                currency,
                f"net{terms}",
                f"ap@{code.lower()}.example",
                "",
                _stamp(FIRST_DAY),
            ),
        )
    days = list(_days())
    pending: list[tuple[date, int, str, tuple[Any, ...]]] = []
    seq = 0
    stats = {"invoices": 0, "events": 0}

    def later(on: date, what: str, *args: Any) -> None:
        nonlocal seq
        if on <= AS_OF:
            seq += 1
            heapq.heappush(pending, (on, seq, what, args))

    for k, day in enumerate(days):
        for _ in range(n * (k + 1) // len(days) - n * k // len(days)):
            c = customers[rng.randrange(count)]
            net = rng.randint(1_000, 500_000)
            tax = 0 if c[0] % 10 == 0 else (net * 19 + 50) // 100
            total = net + tax
            inv = book.invoice(c, day, net, tax)
            stats["invoices"] += 1
            terms = c[3]
            r = rng.random()
            if r < 0.02:  # never paid; a third written off after 180 days
                if r < 0.0067:
                    later(day + timedelta(days=180), "write_off", c, inv)
            elif r < 0.04:  # cancelled by a full credit note
                later(day + timedelta(days=rng.randint(2, 20)), "credit", c, inv, net, tax)
            elif r < 0.14:  # two instalments, a third of them never finished
                first = total * rng.randint(30, 70) // 100
                on = day + timedelta(days=rng.randint(7, terms + 30))
                later(on, "pay", c, inv, first)
                if rng.random() < 0.67:
                    later(on + timedelta(days=rng.randint(10, 90)), "pay", c, inv, total - first)
            else:  # paid in full around the due date; every fifth customer pays late
                delay = max(1, terms + int(rng.gauss(0, 12)))
                if c[0] % 5 == 2:
                    delay += rng.randint(10, 60)
                on = day + timedelta(days=delay)
                extra = rng.randint(100, 5_000) if r > 0.99 else 0
                later(on, "pay", c, inv, total + extra)
                if 0.985 < r < 0.988:  # a later price correction on a paid invoice
                    later(on + timedelta(days=5), "credit", c, inv, net // 10, tax // 10)
        while pending and pending[0][0] <= day:
            on, _, what, args = heapq.heappop(pending)
            stats["events"] += 1
            if what == "pay":
                book.pay(args[0], args[1], args[2], on)
            elif what == "credit":
                book.credit(args[0], args[1], args[2], args[3], on)
            else:
                book.write_off(args[0], args[1], on)
    book.finish()
    return stats


def build(url: str, n: int) -> dict[str, int]:
    """Make the book at `url` (untimed): schema and entity through openbill, the rest in bulk."""
    from openbill.bootstrap import open_book
    from openbill.usecases import masterdata as m

    book = open_book(url, actor="bench")
    try:
        m.create_entity(book.uow(), m.CreateEntity(ENTITY, "Aging Bench GmbH", "DE", "EUR"))
        with book.uow(read_only=True) as uow:
            entity_id = int(uow.entities.by_code(ENTITY).id)
    finally:
        book.close()
    loader = Loader(url)
    try:
        stats = _generate(Book(loader, entity_id), n)
    finally:
        loader.close()
    return stats


# --- the report, and its agreement with the floor ------------------------------------------

Report = dict[tuple[str, str], tuple[int, ...]]  # (customer, currency) -> buckets..., credit


def openbill_report(book: Any) -> Report:
    from openbill.usecases.reports import aging

    _labels, rows = aging(book.uow(read_only=True), ENTITY, AS_OF, BOUNDS)
    out: Report = {}
    for row in rows:
        values = (*row.buckets, row.credit_minor)
        if any(values):
            out[(row.customer, row.currency)] = tuple(int(v) for v in values)
    return out


def agree(url: str, book: Any) -> dict[str, Any]:
    """Run the use case and the floor once each; raise unless they give the same report."""
    from bench.jobs import aging_floor

    ours = openbill_report(book)
    conn = aging_floor.connect(url)
    try:
        floor = aging_floor.as_report(aging_floor.report(conn, url))
    finally:
        conn.close()
    if ours != floor:
        keys = sorted(set(ours) ^ set(floor)) or sorted(k for k in ours if ours[k] != floor.get(k))
        k = keys[0]
        raise RuntimeError(
            f"openbill and the floor disagree on {len(keys)} customer/currency rows, "
            f"e.g. {k}: openbill {ours.get(k)}, floor {floor.get(k)}"
        )
    totals: dict[str, list[int]] = {}
    for (_customer, currency), values in ours.items():
        acc = totals.setdefault(currency, [0] * len(values))
        for i, v in enumerate(values):
            acc[i] += v
    return {
        "report_rows": len(ours),
        **{f"open_{cur}": sum(v[:-1]) for cur, v in sorted(totals.items())},
        **{f"buckets_{cur}": v[:-1] for cur, v in sorted(totals.items())},
        **{f"credit_{cur}": v[-1] for cur, v in sorted(totals.items())},
    }


_CHECK: dict[str, Any] = {}


def run(url: str, n: int) -> float:
    from openbill.bootstrap import open_book

    started = time.perf_counter()
    _CHECK.update(build(url, n))
    _CHECK["build_s"] = round(time.perf_counter() - started, 1)
    book = open_book(url, actor="bench")
    try:
        _CHECK.update(agree(url, book))
        runs = []
        for _ in range(TIMED_RUNS):
            start = time.perf_counter()
            openbill_report(book)
            runs.append(time.perf_counter() - start)
    finally:
        book.close()
    _CHECK["runs_s"] = [round(r, 3) for r in runs]
    return statistics.median(runs)


def counts(url: str) -> dict[str, Any]:
    """Rows in the book, for the check of either job."""
    from sqlalchemy import text

    from openbill.adapters.sql.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:

            def one(sql: str) -> Any:
                return conn.execute(text(sql)).scalar_one()

            return {
                "done": one("SELECT count(*) FROM documents WHERE kind = 'invoice'"),
                "credit_notes": one("SELECT count(*) FROM documents WHERE kind = 'credit_note'"),
                "customers": one("SELECT count(*) FROM customers"),
                "payments": one("SELECT count(*) FROM payments"),
                "allocations": one("SELECT count(*) FROM allocations"),
                "write_offs": one("SELECT count(*) FROM write_offs"),
                "journal_lines": one("SELECT count(*) FROM journal_lines"),
                "unbalanced_entries": one(
                    "SELECT count(*) FROM (SELECT entry_id FROM journal_lines l "
                    "GROUP BY entry_id, currency HAVING sum(amount_minor) <> 0) x"
                ),
            }
    finally:
        engine.dispose()


def check(url: str, n: int) -> dict[str, Any]:
    return {**counts(url), **_CHECK}
