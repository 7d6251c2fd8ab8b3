"""Repositories over one open connection. They read and write rows; they never commit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Row

from openbill.adapters.sql import tables as t
from openbill.adapters.sql.raw import RawWriter
from openbill.adapters.sql.sealed import ring_of, visible, with_indexes
from openbill.domain.ledger import Account

__all__ = [
    "EntityRepo",
    "CustomerRepo",
    "CatalogRepo",
    "DocumentRepo",
    "MoneyRepo",
    "LedgerRepo",
    "AuditRepo",
    "ChainRepo",
    "IdempotencyRepo",
]

Values = Mapping[str, Any]


class MasterDataCache:
    """Master data (entities, customers, tax rules, charge codes, prices) shared by the units of
    work of one engine, valid while the `masterdata` revision counter has not moved.

    Every master-data write bumps the counter in its own transaction; a unit of work reads the
    counter once (one cheap query instead of a dozen lookups per invoice) and drops the cache
    when it moved. A unit of work that changes master data stops using the cache at once, so it
    always reads its own writes.
    """

    def __init__(self) -> None:
        self.revision: int | None = None
        self.data: dict[Any, Any] = {}


_CACHES: WeakKeyDictionary[Any, MasterDataCache] = WeakKeyDictionary()


class MasterDataView:
    """One unit of work's use of the shared cache."""

    def __init__(self, conn: Connection, raw: RawWriter) -> None:
        self.shared = _CACHES.setdefault(conn.engine, MasterDataCache())
        self.raw = raw
        self.checked = False
        self.bypass = False

    def get(self, key: Any, load: Any) -> Any:
        if self.bypass:
            return load()
        if not self.checked:
            rows = self.raw.execute("SELECT value FROM revisions WHERE name = 'masterdata'")
            revision = int(rows[0][0]) if rows else None
            if revision is None or revision != self.shared.revision:
                self.shared.data.clear()
                self.shared.revision = revision
            self.checked = True
        if key not in self.shared.data:
            self.shared.data[key] = load()
        return self.shared.data[key]

    def changed(self) -> None:
        self.raw.execute("UPDATE revisions SET value = value + 1 WHERE name = 'masterdata'")
        self.bypass = True
        self.shared.data.clear()
        self.shared.revision = None


def small_difference(write_off_id: Any) -> Any:
    """Whether a write-off is part of a payment rather than a debt given up: a small payment
    difference closed (its entry posts to 6910) or an early-payment discount taken (4910)."""
    e, j = t.journal_entries.c, t.journal_lines.c
    return (
        select(j.id)
        .join(t.journal_entries, e.id == j.entry_id)
        .where(
            e.source_table == "write_offs",
            e.source_id == write_off_id,
            j.account.in_((Account.PAYMENT_DIFFERENCES.value, Account.CASH_DISCOUNTS.value)),
        )
        .exists()
    )


def reversed_write_off(write_off_id: Any) -> Any:
    """Whether a write-off was taken back (an undone bank match)."""
    from openbill.adapters.sql import tables_bank as tb

    r = tb.write_off_reversals.c
    return select(r.id).where(r.write_off_id == write_off_id).exists()


def reversed_payment(payment_id: Any) -> Any:
    """Whether a payment was reversed (bounced)."""
    from openbill.adapters.sql import tables_fx as fx

    r = fx.payment_reversals.c
    return select(r.id).where(r.payment_id == payment_id).exists()


def _used_of(payment_id: Any) -> Any:
    """What a payment has allocated, in its own currency: an allocation in another currency
    counts what it cost in the payment's currency (fx_allocations.payment_minor)."""
    from openbill.adapters.sql import tables_fx as fx

    a, x = t.allocations.c, fx.fx_allocations.c
    cost = func.coalesce(x.payment_minor, a.amount_minor)
    return (
        select(func.coalesce(func.sum(cost), 0))
        .select_from(t.allocations.outerjoin(fx.fx_allocations, x.allocation_id == a.id))
        .where(a.payment_id == payment_id)
        .scalar_subquery()
    )


class _Repo:
    def __init__(self, conn: Connection, raw: RawWriter, ref: MasterDataView) -> None:
        self.conn = conn
        self.raw = raw
        self.ref = ref

    def _insert(self, table: t.Table, values: Values) -> int:
        return int(
            self.conn.execute(insert(table).returning(table.c.id), dict(values)).scalar_one()
        )

    def _one(self, stmt: Any) -> Row[Any] | None:
        return self.conn.execute(stmt).first()


class EntityRepo(_Repo):
    def add(self, values: Values) -> int:
        self.ref.changed()
        return self._insert(t.legal_entities, values)

    def get(self, entity_id: int) -> Row[Any] | None:
        return self._one(select(t.legal_entities).where(t.legal_entities.c.id == entity_id))

    def by_code(self, code: str) -> Row[Any] | None:
        return self.ref.get(
            ("entity", code),
            lambda: self._one(select(t.legal_entities).where(t.legal_entities.c.code == code)),
        )

    def all(self) -> Sequence[Row[Any]]:
        return self.conn.execute(select(t.legal_entities).order_by(t.legal_entities.c.code)).all()

    def add_tax_rule(self, values: Values) -> int:
        self.ref.changed()
        return self._insert(t.tax_rules, values)

    def tax_rules(self, entity_id: int) -> Sequence[Row[Any]]:
        def load() -> tuple[Row[Any], ...]:
            stmt = select(t.tax_rules).where(t.tax_rules.c.entity_id == entity_id)
            return tuple(self.conn.execute(stmt.order_by(t.tax_rules.c.id)).all())

        return self.ref.get(("tax_rules", entity_id), load)


# A customer as the use cases see it: without the blind index of its IBAN (which is the
# adapter's business, and would otherwise enter audit snapshots and revisions).
_CUSTOMER = visible(t.customers)


class CustomerRepo(_Repo):
    def add(self, values: Values) -> int:
        self.ref.changed()
        return self._insert(
            t.customers, with_indexes(ring_of(self.conn.dialect), "customers", values)
        )

    def get(self, customer_id: int) -> Row[Any] | None:
        return self.ref.get(
            ("customer id", customer_id),
            lambda: self._one(select(*_CUSTOMER).where(t.customers.c.id == customer_id)),
        )

    def prime(self, entity_id: int) -> None:
        """Read every customer of the entity in one statement into the master-data cache, for
        a job that will look up most of them (a matching run posting thousands of payments)."""
        rows = self.conn.execute(select(*_CUSTOMER).where(t.customers.c.entity_id == entity_id))
        for row in rows:
            self.ref.get(("customer id", row.id), lambda row=row: row)
            self.ref.get(("customer", entity_id, row.code), lambda row=row: row)

    def by_code(self, entity_id: int, code: str) -> Row[Any] | None:
        c = t.customers.c
        return self.ref.get(
            ("customer", entity_id, code),
            lambda: self._one(select(*_CUSTOMER).where(c.entity_id == entity_id, c.code == code)),
        )

    def update(self, customer_id: int, values: Values) -> None:
        self.ref.changed()
        values = with_indexes(ring_of(self.conn.dialect), "customers", values)
        self.conn.execute(update(t.customers).where(t.customers.c.id == customer_id), values)

    def all(self, entity_id: int) -> Sequence[Row[Any]]:
        c = t.customers.c
        stmt = select(*_CUSTOMER).where(c.entity_id == entity_id).order_by(c.code)
        return self.conn.execute(stmt).all()

    def locked(self, customer_id: int) -> Row[Any] | None:
        """The customer as stored now, locked until the transaction ends (FOR UPDATE on
        PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the write lock): a write that checks
        a revision first cannot lose another writer's change."""
        stmt = select(*_CUSTOMER).where(t.customers.c.id == customer_id)
        if self.raw.dialect == "postgresql":
            stmt = stmt.with_for_update()
        return self._one(stmt)

    def page(
        self, entity_id: int, after_id: int, limit: int, search: str = ""
    ) -> Sequence[Row[Any]]:
        """Customers in the order they were created, after `after_id` (keyset pagination)."""
        c = t.customers.c
        stmt = select(*_CUSTOMER).where(c.entity_id == entity_id, c.id > after_id)
        if search:
            like = f"%{search.lower()}%"
            stmt = stmt.where(func.lower(c.name).like(like) | func.lower(c.code).like(like))
        return self.conn.execute(stmt.order_by(c.id).limit(limit)).all()


class CatalogRepo(_Repo):
    def add_charge_code(self, values: Values) -> int:
        self.ref.changed()
        return self._insert(t.charge_codes, values)

    def charge_code(self, entity_id: int, code: str) -> Row[Any] | None:
        c = t.charge_codes.c
        return self.ref.get(
            ("charge_code", entity_id, code),
            lambda: self._one(
                select(t.charge_codes).where(c.entity_id == entity_id, c.code == code)
            ),
        )

    def charge_code_by_id(self, charge_code_id: int) -> Row[Any] | None:
        return self._one(select(t.charge_codes).where(t.charge_codes.c.id == charge_code_id))

    def charge_codes(self, entity_id: int) -> Sequence[Row[Any]]:
        c = t.charge_codes.c
        return self.conn.execute(
            select(t.charge_codes).where(c.entity_id == entity_id).order_by(c.code)
        ).all()

    def add_price(self, values: Values) -> int:
        self.ref.changed()
        return self._insert(t.prices, values)

    def prices_of(self, charge_code_id: int) -> Sequence[Row[Any]]:
        def load() -> tuple[Row[Any], ...]:
            p = t.prices.c
            stmt = select(t.prices).where(p.charge_code_id == charge_code_id)
            return tuple(self.conn.execute(stmt.order_by(p.currency, p.effective_from)).all())

        return self.ref.get(("prices", charge_code_id), load)

    def prices(self, entity_id: int) -> Sequence[Row[Any]]:
        p, cc = t.prices.c, t.charge_codes.c
        stmt = (
            select(t.prices, cc.code.label("charge_code"))
            .join(t.charge_codes, cc.id == p.charge_code_id)
            .where(cc.entity_id == entity_id)
            .order_by(cc.code, p.currency, p.effective_from)
        )
        return self.conn.execute(stmt).all()


class DocumentRepo(_Repo):
    def __init__(self, conn: Connection, raw: RawWriter, ref: MasterDataView) -> None:
        super().__init__(conn, raw, ref)
        # Briefs read in this unit of work, by id; forgotten whenever a document is written.
        self._briefs: dict[int, DocumentBrief] = {}
        self._numbers: dict[tuple[int, str], int] = {}
        self._missing: set[tuple[int, str]] = set()  # numbers no document has

    def add(self, values: Values) -> int:
        self._forget()
        return self.raw.insert("documents", values)

    def get(self, document_id: int) -> Row[Any] | None:
        return self._one(select(t.documents).where(t.documents.c.id == document_id))

    def by_number(self, entity_id: int, number: str) -> Row[Any] | None:
        d = t.documents.c
        return self._one(select(t.documents).where(d.entity_id == entity_id, d.number == number))

    def brief(self, document_id: int) -> DocumentBrief | None:
        """`brief_by_number` by the document's id."""
        known = self._briefs.get(document_id)
        if known is not None:
            return known
        rows = self.raw.execute(f"{_BRIEF} WHERE id = ?", (document_id,), flush=False)
        return self._keep(rows[0]) if rows else None

    def brief_by_number(self, entity_id: int, number: str) -> DocumentBrief | None:
        """What allocating a payment needs of a document named by its number (every payment
        reference is looked up, so through the driver cursor)."""
        known = self._numbers.get((entity_id, number))
        if known is not None and known in self._briefs:
            return self._briefs[known]
        if (entity_id, number) in self._missing:
            return None
        rows = self.raw.execute(
            f"{_BRIEF} WHERE entity_id = ? AND number = ?", (entity_id, number), flush=False
        )
        if not rows:
            self._missing.add((entity_id, number))
            return None
        return self._keep(rows[0])

    def prime_briefs(self, entity_id: int, rows: Iterable[tuple[Any, ...]]) -> None:
        """Take briefs read in bulk in this transaction: (id, number, kind, status, customer
        id, currency, document date); forgotten, like the others, when a document is written."""
        for row in rows:
            self._keep((entity_id, *row))

    def _keep(self, row: tuple[Any, ...]) -> DocumentBrief:
        if len(self._briefs) >= 250_000:
            self._forget()
        brief = _brief(row[1:])
        self._briefs[brief.id] = brief
        self._numbers[(int(row[0]), brief.number)] = brief.id
        return brief

    def _forget(self) -> None:
        self._briefs.clear()
        self._numbers.clear()
        self._missing.clear()

    def lines(self, document_id: int) -> Sequence[Row[Any]]:
        ln = t.document_lines.c
        stmt = select(t.document_lines).where(ln.document_id == document_id).order_by(ln.line_no)
        return self.conn.execute(stmt).all()

    def taxes(self, document_id: int) -> Sequence[Row[Any]]:
        x = t.document_taxes.c
        stmt = select(t.document_taxes).where(x.document_id == document_id).order_by(x.id)
        return self.conn.execute(stmt).all()

    def add_lines(self, rows: Sequence[Values]) -> None:
        self.raw.insert_many("document_lines", rows)

    def replace_lines(self, document_id: int, rows: Sequence[Values]) -> None:
        self.conn.execute(
            t.document_lines.delete().where(t.document_lines.c.document_id == document_id)
        )
        self.add_lines(rows)

    def adjustments(self, document_id: int) -> Sequence[Row[Any]]:
        a = t.document_adjustments.c
        stmt = select(t.document_adjustments).where(a.document_id == document_id)
        return self.conn.execute(stmt.order_by(a.seq)).all()

    def add_adjustments(self, rows: Sequence[Values]) -> None:
        self.raw.insert_many("document_adjustments", rows)

    def all_adjustments(self) -> Sequence[Row[Any]]:
        a = t.document_adjustments.c
        return self.conn.execute(
            select(t.document_adjustments).order_by(a.document_id, a.seq)
        ).all()

    def add_taxes(self, rows: Sequence[Values]) -> None:
        self.raw.insert_many("document_taxes", rows)

    def update(self, document_id: int, values: Values) -> None:
        self._forget()
        self.raw.update("documents", "id", {**values, "id": document_id})

    def next_seq(self, entity_id: int, kind: str, year: int) -> int:
        """Take the next number of a series in this transaction: gap-free, because a rollback
        gives the number back, and safe under concurrency, because the UPDATE locks the row
        (PostgreSQL) or the whole database is write-locked (SQLite BEGIN IMMEDIATE)."""
        take = (
            "UPDATE number_series SET next_seq = next_seq + 1 "
            "WHERE entity_id = ? AND kind = ? AND year = ? RETURNING next_seq"
        )
        rows = self.raw.execute(take, (entity_id, kind, year))
        if not rows:
            self.raw.execute(
                "INSERT INTO number_series (entity_id, kind, year, next_seq) VALUES (?, ?, ?, 1) "
                "ON CONFLICT DO NOTHING",
                (entity_id, kind, year),
            )
            rows = self.raw.execute(take, (entity_id, kind, year))
        return int(rows[0][0]) - 1

    def credited_total(self, invoice_id: int) -> int:
        """What issued credit notes have credited on an invoice so far."""
        d = t.documents.c
        stmt = select(func.coalesce(func.sum(d.total_minor), 0)).where(
            d.credited_document_id == invoice_id, d.status == "issued"
        )
        return int(self.conn.execute(stmt).scalar_one())

    def series(self) -> Sequence[Row[Any]]:
        d = t.documents.c
        stmt = (
            select(d.entity_id, d.kind, d.series_year, d.seq, d.number)
            .where(d.status == "issued")
            .order_by(d.entity_id, d.kind, d.series_year, d.seq)
        )
        return self.conn.execute(stmt).all()

    def issued_counters(self) -> Sequence[Row[Any]]:
        return self.conn.execute(select(t.number_series)).all()

    def listing(self, entity_id: int, filters: Mapping[str, Any], limit: int) -> Sequence[Row[Any]]:
        d, c = t.documents.c, t.customers.c
        stmt = (
            select(t.documents, c.code.label("customer_code"), _open_sum(d.id).label("open_minor"))
            .join(t.customers, c.id == d.customer_id)
            .where(d.entity_id == entity_id)
        )
        if filters.get("customer_id"):
            stmt = stmt.where(d.customer_id == filters["customer_id"])
        if filters.get("kind"):
            stmt = stmt.where(d.kind == filters["kind"])
        if filters.get("status"):
            stmt = stmt.where(d.status == filters["status"])
        stmt = stmt.order_by(d.document_date, d.id).limit(limit)
        return self.conn.execute(stmt).all()

    def page(
        self, entity_id: int, filters: Mapping[str, Any], after_id: int, limit: int
    ) -> Sequence[Row[Any]]:
        """Documents in the order they were created, after `after_id` (keyset pagination),
        each with its customer's code and its open receivable. Filters: customer_id, kind,
        status (stored: draft or issued), date_from and date_to (document date, inclusive),
        number (exact)."""
        d, c = t.documents.c, t.customers.c
        stmt = (
            select(t.documents, c.code.label("customer_code"), _open_sum(d.id).label("open_minor"))
            .join(t.customers, c.id == d.customer_id)
            .where(d.entity_id == entity_id, d.id > after_id)
        )
        for key, column in (("customer_id", d.customer_id), ("kind", d.kind)):
            if filters.get(key):
                stmt = stmt.where(column == filters[key])
        if filters.get("status"):
            stmt = stmt.where(d.status == filters["status"])
        if filters.get("number"):
            stmt = stmt.where(d.number == filters["number"])
        if filters.get("date_from"):
            stmt = stmt.where(d.document_date >= filters["date_from"])
        if filters.get("date_to"):
            stmt = stmt.where(d.document_date <= filters["date_to"])
        return self.conn.execute(stmt.order_by(d.id).limit(limit)).all()

    def issued(self) -> Sequence[Row[Any]]:
        d = t.documents.c
        stmt = select(t.documents).where(d.status == "issued").order_by(d.chain_seq)
        return self.conn.execute(stmt).all()

    def all_lines(self) -> Sequence[Row[Any]]:
        ln = t.document_lines.c
        return self.conn.execute(
            select(t.document_lines).order_by(ln.document_id, ln.line_no)
        ).all()

    def all_taxes(self) -> Sequence[Row[Any]]:
        x = t.document_taxes.c
        return self.conn.execute(select(t.document_taxes).order_by(x.document_id, x.id)).all()


def _open_sum(document_id: Any) -> Any:
    j = t.journal_lines.c
    return (
        select(func.coalesce(func.sum(j.amount_minor), 0))
        .where(j.document_id == document_id, j.account == Account.RECEIVABLE.value)
        .scalar_subquery()
    )


def open_receivables(owner: Any, as_of: date, *, owed_only: bool = False) -> Any:
    """A subquery (document_id, open_minor): the receivable postings up to `as_of` summed per
    document, the documents whose sum is not 0 (`owed_only`: above 0, what a customer owes).
    `owner` narrows the postings: `journal_entries.entity_id == ...` or
    `journal_lines.customer_id == ...`. Summed before any join to documents: joining every
    posting before grouping made the database sort millions of rows (bench: AR aging)."""
    j, e = t.journal_lines.c, t.journal_entries.c
    open_sum = func.sum(j.amount_minor)
    return (
        select(j.document_id.label("document_id"), open_sum.label("open_minor"))
        .join(t.journal_entries, e.id == j.entry_id)
        .where(owner, j.account == Account.RECEIVABLE.value, e.entry_date <= as_of)
        .group_by(j.document_id)
        .having(open_sum > 0 if owed_only else open_sum != 0)
        .subquery("open_documents")
    )


class MoneyRepo(_Repo):
    def add_payment(self, values: Values) -> int:
        return self.raw.insert("payments", values)

    def payment(self, payment_id: int) -> Row[Any] | None:
        return self._one(select(t.payments).where(t.payments.c.id == payment_id))

    def payments(self, entity_id: int, limit: int) -> Sequence[Row[Any]]:
        p, c = t.payments.c, t.customers.c
        stmt = (
            select(t.payments, c.code.label("customer_code"))
            .join(t.customers, c.id == p.customer_id)
            .where(p.entity_id == entity_id)
            .order_by(p.received_on, p.id)
            .limit(limit)
        )
        return self.conn.execute(stmt).all()

    def payments_page(
        self, entity_id: int, filters: Mapping[str, Any], after_id: int, limit: int
    ) -> Sequence[Row[Any]]:
        """Payments in the order they were recorded, after `after_id`; filters customer_id,
        date_from and date_to (received on, inclusive)."""
        p, c = t.payments.c, t.customers.c
        stmt = (
            select(t.payments, c.code.label("customer_code"))
            .join(t.customers, c.id == p.customer_id)
            .where(p.entity_id == entity_id, p.id > after_id)
        )
        if filters.get("customer_id"):
            stmt = stmt.where(p.customer_id == filters["customer_id"])
        if filters.get("date_from"):
            stmt = stmt.where(p.received_on >= filters["date_from"])
        if filters.get("date_to"):
            stmt = stmt.where(p.received_on <= filters["date_to"])
        return self.conn.execute(stmt.order_by(p.id).limit(limit)).all()

    def add_allocation(self, values: Values) -> int:
        return self.raw.insert("allocations", values)

    def add_refund(self, values: Values) -> int:
        return self.raw.insert("refunds", values)

    def add_write_off(self, values: Values) -> int:
        return self.raw.insert("write_offs", values)

    def payment_used(self, payment_id: int) -> int:
        """Minor units of a payment (in its own currency) already allocated to invoices; all
        of it once the payment was reversed."""
        from openbill.adapters.sql import tables_fx as fx

        if (
            self._one(
                select(fx.payment_reversals.c.id).where(
                    fx.payment_reversals.c.payment_id == payment_id
                )
            )
            is not None
        ):
            payment = self.payment(payment_id)
            return int(payment.amount_minor) if payment is not None else 0
        return int(
            self.conn.execute(
                select(_used_of(t.payments.c.id)).where(t.payments.c.id == payment_id)
            ).scalar_one()
        )

    def payments_with_room(self, customer_id: int, currency: str) -> list[tuple[int, int]]:
        """(payment id, unallocated minor units) of a customer, oldest first; reversed
        payments have none."""
        from openbill.adapters.sql import tables_fx as fx

        p, r = t.payments.c, fx.payment_reversals.c
        reversed_ = select(r.id).where(r.payment_id == p.id).exists()
        stmt = (
            select(p.id, (p.amount_minor - _used_of(p.id)).label("room"))
            .where(p.customer_id == customer_id, p.currency == currency, ~reversed_)
            .order_by(p.received_on, p.id)
        )
        return [(int(r.id), int(r.room)) for r in self.conn.execute(stmt) if r.room > 0]

    def all_allocations(self) -> Sequence[Row[Any]]:
        return self.conn.execute(select(t.allocations).order_by(t.allocations.c.id)).all()

    def all_write_offs(self) -> Sequence[Row[Any]]:
        return self.conn.execute(select(t.write_offs).order_by(t.write_offs.c.id)).all()

    def all_refunds(self) -> Sequence[Row[Any]]:
        return self.conn.execute(select(t.refunds).order_by(t.refunds.c.id)).all()

    def all_payments(self) -> Sequence[Row[Any]]:
        return self.conn.execute(select(t.payments).order_by(t.payments.c.chain_seq)).all()


class LedgerRepo(_Repo):
    def __init__(self, conn: Connection, raw: RawWriter, ref: MasterDataView) -> None:
        super().__init__(conn, raw, ref)
        # Sums a job read in bulk (`prime`), kept up to date by every entry written here.
        self._open: dict[int, int] = {}  # document id -> receivable sum
        self._credit: dict[tuple[int, str], int] = {}  # (customer, currency) -> credit sum

    def add_entry(self, values: Values, lines: Sequence[Values]) -> int:
        entry_id = self.raw.insert_with_children(
            "journal_entries", values, "journal_lines", "entry_id", lines
        )
        if self._open or self._credit:
            for line in lines:
                account, amount = line["account"], int(line["amount_minor"])
                if account == Account.RECEIVABLE and line["document_id"] in self._open:
                    self._open[line["document_id"]] += amount
                elif account == Account.CUSTOMER_CREDIT:
                    key = (line["customer_id"], line["currency"])
                    if key in self._credit:
                        self._credit[key] += amount
        return entry_id

    def prime(
        self, open_by_document: Mapping[int, int], credit_sums: Mapping[tuple[int, str], int]
    ) -> None:
        """Take these sums, read in bulk in this transaction, for `document_open` and
        `customer_credit` (receivable per document; the customer-credit account's sum per
        customer and currency, credit negative), so that a job allocating thousands of
        payments reads none of them again. Every entry written through `add_entry` afterwards
        moves them; the journal is written nowhere else."""
        self._open.update(open_by_document)
        self._credit.update(credit_sums)

    # The two sums below run for every payment allocated: through the driver cursor (see raw).

    def document_open(self, document_id: int) -> int:
        """Receivable still open on a document: the sum of its receivable postings."""
        if document_id in self._open:
            return self._open[document_id]
        rows = self.raw.execute(
            "SELECT COALESCE(SUM(amount_minor), 0) FROM journal_lines "
            "WHERE document_id = ? AND account = ?",
            (document_id, Account.RECEIVABLE.value),
        )
        return int(rows[0][0])

    def customer_credit(self, customer_id: int, currency: str) -> int:
        """Customer credit (unapplied cash) held for a customer, as a positive number."""
        if (customer_id, currency) in self._credit:
            return -self._credit[(customer_id, currency)]
        rows = self.raw.execute(
            "SELECT COALESCE(SUM(amount_minor), 0) FROM journal_lines "
            "WHERE customer_id = ? AND currency = ? AND account = ?",
            (customer_id, currency, Account.CUSTOMER_CREDIT.value),
        )
        return -int(rows[0][0])

    def open_documents(self, customer_id: int, currency: str, kind: str) -> list[Row[Any]]:
        """Issued documents of a customer with receivable still open, oldest due first."""
        d, j = t.documents.c, t.journal_lines.c
        open_sum = func.sum(j.amount_minor)
        stmt = (
            select(d.id, d.number, d.due_date, d.document_date, open_sum.label("open_minor"))
            .join(t.journal_lines, j.document_id == d.id)
            .where(
                d.customer_id == customer_id,
                d.currency == currency,
                d.kind == kind,
                j.account == Account.RECEIVABLE.value,
            )
            .group_by(d.id, d.number, d.due_date, d.document_date, d.seq)
            .having(open_sum != 0)
            .order_by(d.due_date, d.document_date, d.seq)
        )
        return list(self.conn.execute(stmt).all())

    def balances(self, entity_id: int | None) -> Sequence[Row[Any]]:
        e, j = t.journal_entries.c, t.journal_lines.c
        stmt = (
            select(
                j.account,
                j.currency,
                func.sum(
                    func.greatest(j.amount_minor, 0) if self._pg else _pos(j.amount_minor)
                ).label("debit_minor"),
                func.sum(func.least(j.amount_minor, 0) if self._pg else _neg(j.amount_minor)).label(
                    "credit_minor"
                ),
                func.sum(j.amount_minor).label("balance_minor"),
            )
            .join(t.journal_entries, e.id == j.entry_id)
            .group_by(j.account, j.currency)
            .order_by(j.account, j.currency)
        )
        if entity_id is not None:
            stmt = stmt.where(e.entity_id == entity_id)
        return self.conn.execute(stmt).all()

    @property
    def _pg(self) -> bool:
        return self.conn.dialect.name == "postgresql"

    def entries(self) -> Sequence[Row[Any]]:
        stmt = select(t.journal_entries).order_by(t.journal_entries.c.chain_seq)
        return self.conn.execute(stmt).all()

    def all_lines(self) -> Sequence[Row[Any]]:
        j = t.journal_lines.c
        return self.conn.execute(select(t.journal_lines).order_by(j.entry_id, j.line_no)).all()

    def lines_of_source(self, source_table: str, source_id: int) -> list[tuple[Any, ...]]:
        """The journal lines of the entries a record posted: (entry id, entry date, kind,
        account, currency, amount, customer id, document id), in posting order."""
        return self.raw.execute(
            "SELECT e.id, e.entry_date, e.kind, l.account, l.currency, l.amount_minor, "
            "l.customer_id, l.document_id FROM journal_entries e "
            "JOIN journal_lines l ON l.entry_id = e.id "
            "WHERE e.source_table = ? AND e.source_id = ? ORDER BY e.id, l.line_no",
            (source_table, source_id),
        )

    def entries_page(
        self, entity_id: int, filters: Mapping[str, Any], after_id: int, limit: int
    ) -> Sequence[Row[Any]]:
        """Journal entries in the order they were posted, after `after_id` (keyset
        pagination). Filters: account (entries with a line on it), kind, date_from and date_to
        (entry date, inclusive)."""
        e, j = t.journal_entries.c, t.journal_lines.c
        stmt = select(t.journal_entries).where(e.entity_id == entity_id, e.id > after_id)
        if filters.get("account"):
            on_account = select(j.entry_id).where(
                j.entry_id == e.id, j.account == filters["account"]
            )
            stmt = stmt.where(on_account.exists())
        if filters.get("kind"):
            stmt = stmt.where(e.kind == filters["kind"])
        if filters.get("date_from"):
            stmt = stmt.where(e.entry_date >= filters["date_from"])
        if filters.get("date_to"):
            stmt = stmt.where(e.entry_date <= filters["date_to"])
        return self.conn.execute(stmt.order_by(e.id).limit(limit)).all()

    def lines_of_entries(self, entry_ids: Sequence[int]) -> Sequence[Row[Any]]:
        """The lines of these entries in posting order, with the customer's code and the
        document's number where a line names them."""
        j, c, d = t.journal_lines.c, t.customers.c, t.documents.c
        stmt = (
            select(
                t.journal_lines,
                c.code.label("customer_code"),
                d.number.label("document_number"),
            )
            .outerjoin(t.customers, c.id == j.customer_id)
            .outerjoin(t.documents, d.id == j.document_id)
            .where(j.entry_id.in_(list(entry_ids)))
            .order_by(j.entry_id, j.line_no)
        )
        return self.conn.execute(stmt).all() if entry_ids else []


def _pos(col: Any) -> Any:
    from sqlalchemy import case

    return case((col > 0, col), else_=0)


def _neg(col: Any) -> Any:
    from sqlalchemy import case

    return case((col < 0, col), else_=0)


class AuditRepo(_Repo):
    """Audit events are written together when the unit of work commits (or before they are
    read back): a transaction that records a thousand changes sends one statement for their
    audit, not a thousand. Their place in the hash chain is fixed when each is added."""

    def add(self, values: Values) -> None:
        self.raw.defer("audit_events", values)

    def events(self, limit: int | None = None) -> Sequence[Row[Any]]:
        self.raw.flush_deferred()
        stmt = select(t.audit_events).order_by(t.audit_events.c.chain_seq)
        if limit:
            stmt = stmt.limit(limit)
        return self.conn.execute(stmt).all()

    def for_record(self, record_type: str, record_id: str) -> Sequence[Row[Any]]:
        self.raw.flush_deferred()
        a = t.audit_events.c
        stmt = select(t.audit_events).where(a.record_type == record_type, a.record_id == record_id)
        return self.conn.execute(stmt.order_by(a.chain_seq)).all()

    def page(
        self, entity_id: int | None, filters: Mapping[str, Any], after_id: int, limit: int
    ) -> Sequence[Row[Any]]:
        """Audit events of one legal entity (None: the events of no entity, such as sign-ins)
        in the order they were written, after `after_id` (keyset pagination). Filters:
        record_type, record_id, actor, action (exact), since and before (occurred_at, a
        half-open range of datetimes)."""
        self.raw.flush_deferred()
        a = t.audit_events.c
        owner = a.entity_id.is_(None) if entity_id is None else a.entity_id == entity_id
        stmt = select(t.audit_events).where(owner, a.id > after_id)
        for key in ("record_type", "record_id", "actor", "action"):
            if filters.get(key):
                stmt = stmt.where(a[key] == filters[key])
        if filters.get("since") is not None:
            stmt = stmt.where(a.occurred_at >= filters["since"])
        if filters.get("before") is not None:
            stmt = stmt.where(a.occurred_at < filters["before"])
        return self.conn.execute(stmt.order_by(a.id).limit(limit)).all()


class ChainRepo(_Repo):
    """The heads of the hash chains, read once per transaction and written back at commit.

    The first read locks every chain head (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE
    already holds the write lock), so writers that touch several chains can never deadlock on
    them, and a transaction reads and writes the heads in two statements whatever it appends.
    """

    def __init__(self, conn: Connection, raw: RawWriter, ref: MasterDataView) -> None:
        super().__init__(conn, raw, ref)
        self._heads: dict[str, tuple[int, str]] | None = None
        self._dirty: set[str] = set()

    def head(self, name: str) -> tuple[int, str]:
        if self._heads is None:
            sql = "SELECT name, seq, hash FROM chain_heads"
            if self.raw.dialect == "postgresql":
                sql += " ORDER BY name FOR UPDATE"
            self._heads = {n: (int(q), str(h)) for n, q, h in self.raw.execute(sql)}
        return self._heads[name]

    def advance(self, name: str, seq: int, hash_: str) -> None:
        if self._heads is None:
            self.head(name)
        assert self._heads is not None
        self._heads[name] = (seq, hash_)
        self._dirty.add(name)

    def flush(self) -> None:
        """Write the moved heads back; the unit of work calls this just before commit."""
        if not self._dirty or self._heads is None:
            return
        rows = [(self._heads[n][0], self._heads[n][1], n) for n in sorted(self._dirty)]
        self.raw.executemany("UPDATE chain_heads SET seq = ?, hash = ? WHERE name = ?", rows)
        self._dirty.clear()

    def heads(self) -> dict[str, tuple[int, str]]:
        rows = self.conn.execute(select(t.chain_heads)).all()
        return {r.name: (int(r.seq), r.hash) for r in rows}


_BRIEF = (
    "SELECT entity_id, id, number, kind, status, customer_id, currency, document_date "
    "FROM documents"
)


class DocumentBrief(NamedTuple):
    id: int
    number: str
    kind: str
    status: str
    customer_id: int
    currency: str
    document_date: date


def _brief(row: tuple[Any, ...]) -> DocumentBrief:
    i, num, kind, status, customer_id, currency, day = row
    return DocumentBrief(
        int(i), str(num), str(kind), str(status), int(customer_id), str(currency), as_date(day)
    )


class Seen(NamedTuple):
    request_hash: str
    result: str


class IdempotencyRepo(_Repo):
    def get(self, scope: str, key: str) -> Seen | None:
        """The request hash and stored result of a key already used (read on every keyed
        request, so through the driver cursor)."""
        rows = self.raw.execute(
            'SELECT request_hash, result FROM idempotency_keys WHERE scope = ? AND "key" = ?',
            (scope, key),
        )
        return Seen(str(rows[0][0]), str(rows[0][1])) if rows else None

    def put(self, values: Values) -> None:
        self.raw.insert_many("idempotency_keys", [values])


def rows_by(rows: Iterable[Row[Any]], key: str) -> dict[Any, list[Row[Any]]]:
    out: dict[Any, list[Row[Any]]] = {}
    for row in rows:
        out.setdefault(getattr(row, key), []).append(row)
    return out


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


class ReportRepo(_Repo):
    """Read-only queries behind the reports."""

    def open_items(self, entity_id: int, as_of: date) -> Sequence[Row[Any]]:
        """Documents with receivable open on `as_of` (`open_receivables`)."""
        d, c = t.documents.c, t.customers.c
        docs = open_receivables(t.journal_entries.c.entity_id == entity_id, as_of)
        stmt = (
            select(
                d.id,
                d.kind,
                d.number,
                d.due_date,
                d.currency,
                c.code.label("customer_code"),
                c.name.label("customer_name"),
                docs.c.open_minor,
            )
            .join(docs, docs.c.document_id == d.id)
            .join(t.customers, c.id == d.customer_id)
        )
        return self.conn.execute(stmt).all()

    def credit_balances(self, entity_id: int, as_of: date) -> Sequence[Row[Any]]:
        c, j, e = t.customers.c, t.journal_lines.c, t.journal_entries.c
        stmt = (
            select(
                c.code.label("customer_code"),
                c.name.label("customer_name"),
                j.currency,
                func.sum(j.amount_minor).label("balance"),
            )
            .join(t.journal_entries, e.id == j.entry_id)
            .join(t.customers, c.id == j.customer_id)
            .where(
                e.entity_id == entity_id,
                j.account == Account.CUSTOMER_CREDIT.value,
                e.entry_date <= as_of,
            )
            .group_by(c.code, c.name, j.currency)
        )
        return self.conn.execute(stmt).all()

    def customer_accounts(self, entity_id: int) -> Sequence[Row[Any]]:
        c, j, e = t.customers.c, t.journal_lines.c, t.journal_entries.c
        stmt = (
            select(
                c.code.label("customer_code"),
                c.name.label("customer_name"),
                j.currency,
                j.account,
                func.sum(j.amount_minor).label("balance"),
            )
            .join(t.journal_entries, e.id == j.entry_id)
            .join(t.customers, c.id == j.customer_id)
            .where(e.entity_id == entity_id)
            .group_by(c.code, c.name, j.currency, j.account)
        )
        return self.conn.execute(stmt).all()

    def credited_by_invoice(
        self, entity_id: int, ids: Sequence[int] | None = None
    ) -> dict[int, int]:
        a = t.allocations.c
        stmt = (
            select(a.invoice_id, func.sum(a.amount_minor))
            .where(a.entity_id == entity_id, a.credit_note_id.is_not(None))
            .group_by(a.invoice_id)
        )
        if ids is not None:
            stmt = stmt.where(a.invoice_id.in_(ids))
        return {int(i): int(s) for i, s in self.conn.execute(stmt)}

    def written_off_by_invoice(
        self, entity_id: int, ids: Sequence[int] | None = None
    ) -> dict[int, int]:
        """Bad debt written off per invoice; small payment differences (posted to 6910) are
        part of a payment, not a write-off of the debt."""
        w = t.write_offs.c
        stmt = (
            select(w.invoice_id, func.sum(w.amount_minor))
            .where(w.entity_id == entity_id, ~small_difference(w.id), ~reversed_write_off(w.id))
            .group_by(w.invoice_id)
        )
        if ids is not None:
            stmt = stmt.where(w.invoice_id.in_(ids))
        return {int(i): int(s) for i, s in self.conn.execute(stmt)}

    def write_offs_of(self, invoice_id: int) -> Sequence[Row[Any]]:
        """The write-offs of an invoice, each with when and why it was taken back, if it was."""
        from openbill.adapters.sql import tables_bank as tb

        w, r = t.write_offs.c, tb.write_off_reversals.c
        stmt = (
            select(
                t.write_offs,
                r.reversed_on.label("reversed_on"),
                r.reason.label("reversal_reason"),
            )
            .outerjoin(tb.write_off_reversals, r.write_off_id == w.id)
            .where(w.invoice_id == invoice_id)
            .order_by(w.id)
        )
        return self.conn.execute(stmt).all()

    def settlements(self, document_id: int) -> Sequence[Row[Any]]:
        """Allocations to or from a document; a reversed payment's with the reversal date."""
        from openbill.adapters.sql import tables_fx as fx

        a, r = t.allocations.c, fx.payment_reversals.c
        stmt = (
            select(
                a.id,
                a.payment_id,
                a.credit_note_id,
                a.invoice_id,
                a.amount_minor,
                a.allocated_on,
                r.reversed_on,
                r.reason.label("reversal_reason"),
            )
            .outerjoin(fx.payment_reversals, r.payment_id == a.payment_id)
            .where((a.invoice_id == document_id) | (a.credit_note_id == document_id))
            .order_by(a.id)
        )
        return self.conn.execute(stmt).all()
