"""Bank accounts, statements, lines, matching decisions and the reconciliation queries
(issue #5). Like every repository here it never commits.

The paths that see many rows (storing 100,000 lines of one file, reading every open invoice
for a matching run) go through the driver cursor (`raw`), the rest through SQLAlchemy Core.

Account numbers (ours, the lines' counterparties, learned payers, customers' IBANs) are sealed
at rest; matching compares them by their blind indexes (`*_bidx`), which the reads here give
as of the first data key (adapters/sql/sealed.py), so no account is decrypted to be compared.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Row

from openbill.adapters.sql import tables as t
from openbill.adapters.sql import tables_bank as b
from openbill.adapters.sql import tables_fx as fx
from openbill.adapters.sql.repositories import _Repo, as_date
from openbill.adapters.sql.sealed import (
    FIELDS,
    fresh_index,
    refresh,
    ring_of,
    stored,
    with_indexes,
)
from openbill.domain.ledger import Account
from openbill.domain.sensitive import Kind

__all__ = ["BankRepo"]

Values = Mapping[str, Any]
_IN_CHUNK = 500  # values in one IN (...) list


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), _IN_CHUNK):
        yield values[i : i + _IN_CHUNK]


def _marks(n: int) -> str:
    return ", ".join("?" * n)


ANALYZE_AFTER = 1_000  # lines in one import after which PostgreSQL's statistics are refreshed

_ACCOUNT_IBAN = FIELDS[("bank_accounts", "iban")]
_ACCOUNT_NUMBER = FIELDS[("bank_accounts", "number")]
_LINE_ACCOUNT = FIELDS[("bank_lines", "counterparty_account")]
_CUSTOMER_IBAN = FIELDS[("customers", "iban")]
_PAYER_IBAN = FIELDS[("bank_payers", "iban")]


class PayingCustomer(NamedTuple):
    id: int
    code: str
    name: str
    iban_bidx: str | None  # the blind index of the customer's IBAN


class LearnedPayer(NamedTuple):
    customer_id: int
    iban_bidx: str | None  # the blind index of the account learned
    name: str


class BankRepo(_Repo):
    # -- accounts ---------------------------------------------------------------------------

    def add_account(self, values: Values) -> int:
        ring = ring_of(self.conn.dialect)
        return self._insert(b.bank_accounts, with_indexes(ring, "bank_accounts", values))

    def accounts(self, entity_id: int) -> Sequence[Any]:
        a = b.bank_accounts.c
        rows = self.conn.execute(
            select(b.bank_accounts).where(a.entity_id == entity_id).order_by(a.id)
        ).all()
        return self._fresh_accounts(rows)

    def account(self, account_id: int) -> Any | None:
        row = self._one(select(b.bank_accounts).where(b.bank_accounts.c.id == account_id))
        return None if row is None else self._fresh_accounts([row])[0]

    def _fresh_accounts(self, rows: Sequence[Any]) -> list[Any]:
        ring = ring_of(self.conn.dialect)
        return refresh(ring, refresh(ring, rows, _ACCOUNT_IBAN), _ACCOUNT_NUMBER)

    # -- statements -------------------------------------------------------------------------

    def add_statement(self, values: Values) -> int:
        return self.raw.insert("bank_statements", values)

    def statement_by_key(self, account_id: int, key: str) -> Row[Any] | None:
        s = b.bank_statements.c
        return self._one(
            select(b.bank_statements).where(s.bank_account_id == account_id, s.content_key == key)
        )

    def statements_of(self, account_id: int) -> Sequence[Row[Any]]:
        """Every statement of an account, in the order of the days they cover."""
        s = b.bank_statements.c
        stmt = (
            select(b.bank_statements)
            .where(s.bank_account_id == account_id)
            .order_by(s.period_to, s.closing_on, s.id)
        )
        return self.conn.execute(stmt).all()

    def statements(self, entity_id: int, limit: int) -> Sequence[Row[Any]]:
        s, a = b.bank_statements.c, b.bank_accounts.c
        stmt = (
            select(b.bank_statements, a.name.label("account_name"))
            .join(b.bank_accounts, a.id == s.bank_account_id)
            .where(s.entity_id == entity_id)
            .order_by(s.id.desc())
            .limit(limit)
        )
        return self.conn.execute(stmt).all()

    def statements_page(
        self, entity_id: int, filters: Mapping[str, Any], after_id: int, limit: int
    ) -> Sequence[Row[Any]]:
        """Statements in the order they were imported, after `after_id` (keyset pagination),
        with their account's name. Filters: account_id; date_from and date_to keep the
        statements whose period (or closing date) reaches into that range."""
        s, a = b.bank_statements.c, b.bank_accounts.c
        stmt = (
            select(b.bank_statements, a.name.label("account_name"))
            .join(b.bank_accounts, a.id == s.bank_account_id)
            .where(s.entity_id == entity_id, s.id > after_id)
        )
        if filters.get("account_id"):
            stmt = stmt.where(s.bank_account_id == filters["account_id"])
        ends = func.coalesce(s.period_to, s.closing_on, s.period_from)
        begins = func.coalesce(s.period_from, s.opening_on, s.period_to, s.closing_on)
        if filters.get("date_from"):
            stmt = stmt.where(ends >= filters["date_from"])
        if filters.get("date_to"):
            stmt = stmt.where(begins <= filters["date_to"])
        return self.conn.execute(stmt.order_by(s.id).limit(limit)).all()

    def statement(self, statement_id: int) -> Row[Any] | None:
        s, a = b.bank_statements.c, b.bank_accounts.c
        return self._one(
            select(b.bank_statements, a.name.label("account_name"))
            .join(b.bank_accounts, a.id == s.bank_account_id)
            .where(s.id == statement_id)
        )

    # -- lines ------------------------------------------------------------------------------

    def known_identities(self, account_id: int, identities: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for part in _chunks(list(identities)):
            rows = self.raw.execute(
                f"SELECT identity FROM bank_lines WHERE bank_account_id = ? "
                f"AND identity IN ({_marks(len(part))})",
                (account_id, *part),
            )
            found.update(r[0] for r in rows)
        return found

    def add_lines(self, rows: Sequence[Values]) -> None:
        self.raw.insert_many("bank_lines", rows)

    def line_ids_of_statement(self, statement_id: int) -> list[int]:
        rows = self.raw.execute(
            "SELECT id FROM bank_lines WHERE statement_id = ? ORDER BY id", (statement_id,)
        )
        return [int(r[0]) for r in rows]

    def add_states(self, rows: Sequence[Values]) -> None:
        self.raw.insert_many("bank_line_states", rows)
        if self.raw.dialect == "postgresql" and len(rows) >= ANALYZE_AFTER:
            # Fresh statistics for the matching that follows: without them PostgreSQL plans
            # the lines-to-match join for a handful of rows, a nested loop that took 4 s for
            # 10,000 lines instead of 60 ms (autovacuum analyses them only later).
            self.raw.execute("ANALYZE bank_lines, bank_line_states")

    def claim(self, line_id: int, values: Values) -> bool:
        """Take a line that is new or waiting for review for a decision; False when another
        decision took it first (on PostgreSQL the second writer waits for the first)."""
        changed = self.raw.update(
            "bank_line_states",
            "line_id",
            {**values, "line_id": line_id},
            where="status IN ('new', 'review')",
        )
        return bool(changed)

    def set_state(self, line_id: int, values: Values) -> None:
        self.raw.update("bank_line_states", "line_id", {**values, "line_id": line_id})

    # -- a matching run's writes, sent together ------------------------------------------------

    def claim_many(self, rows: Sequence[Values]) -> int:
        """`claim` for many lines (each row names its `line_id`); returns how many were still
        new or waiting for review and are taken now."""
        return self.raw.update_many(
            "bank_line_states", "line_id", rows, where="status IN ('new', 'review')"
        )

    def set_states(self, rows: Sequence[Values]) -> None:
        self.raw.update_many("bank_line_states", "line_id", rows)

    def clear_proposals(self, line_ids: Sequence[int]) -> None:
        ids = list(line_ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ", ".join("?" * len(chunk))
            self.raw.execute(f"DELETE FROM bank_proposals WHERE line_id IN ({marks})", chunk)

    def add_proposals(self, rows: Sequence[Values]) -> None:
        self.raw.insert_many("bank_proposals", rows)

    def reserve_match_ids(self, n: int) -> list[int]:
        return self.raw.reserve_ids("bank_matches", n)

    def add_matches(self, rows: Sequence[Values]) -> None:
        """Decisions with their ids given (`reserve_match_ids`)."""
        self.raw.insert_many("bank_matches", rows)

    def add_payers(self, rows: Sequence[Values]) -> None:
        self.raw.insert_many("bank_payers", rows)

    def _lines(self) -> Any:
        ln, st, a = b.bank_lines.c, b.bank_line_states.c, b.bank_accounts.c
        return (
            select(
                b.bank_lines,
                st.status,
                st.match_id,
                st.confidence,
                st.rule,
                st.explanation,
                a.name.label("account_name"),
                a.ledger_account,
            )
            .join(b.bank_line_states, st.line_id == ln.id)
            .join(b.bank_accounts, a.id == ln.bank_account_id)
        )

    def line(self, line_id: int) -> Any | None:
        row = self._one(self._lines().where(b.bank_lines.c.id == line_id))
        return None if row is None else refresh(ring_of(self.conn.dialect), [row], _LINE_ACCOUNT)[0]

    def lines_to_match(
        self, account_id: int, line_ids: Sequence[int] = (), statuses: Sequence[str] = ()
    ) -> Sequence[Row[Any]]:
        ln, st = b.bank_lines.c, b.bank_line_states.c
        stmt = self._lines().where(
            ln.bank_account_id == account_id, st.status.in_(statuses or ("new", "review"))
        )
        if line_ids:
            stmt = stmt.where(ln.id.in_(list(line_ids)))
        rows = self.conn.execute(stmt.order_by(ln.booking_date, ln.id)).all()
        return refresh(ring_of(self.conn.dialect), rows, _LINE_ACCOUNT)

    def lines(
        self,
        entity_id: int,
        *,
        account_id: int | None = None,
        status: str = "",
        start: date | None = None,
        end: date | None = None,
        limit: int = 1000,
    ) -> Sequence[Row[Any]]:
        ln, st = b.bank_lines.c, b.bank_line_states.c
        stmt = self._lines().where(ln.entity_id == entity_id)
        if account_id is not None:
            stmt = stmt.where(ln.bank_account_id == account_id)
        if status:
            stmt = stmt.where(st.status == status)
        if start is not None:
            stmt = stmt.where(ln.booking_date >= start)
        if end is not None:
            stmt = stmt.where(ln.booking_date <= end)
        return self.conn.execute(stmt.order_by(ln.booking_date, ln.id).limit(limit)).all()

    def lines_page(
        self, entity_id: int, filters: Mapping[str, Any], after_id: int, limit: int
    ) -> Sequence[Row[Any]]:
        """Lines in the order they were imported, after `after_id` (keyset pagination), with
        their state. Filters: account_id, statement_id, status, date_from and date_to
        (booking date, inclusive)."""
        ln, st = b.bank_lines.c, b.bank_line_states.c
        stmt = self._lines().where(ln.entity_id == entity_id, ln.id > after_id)
        for key, column in (
            ("account_id", ln.bank_account_id),
            ("statement_id", ln.statement_id),
            ("status", st.status),
        ):
            if filters.get(key):
                stmt = stmt.where(column == filters[key])
        if filters.get("date_from"):
            stmt = stmt.where(ln.booking_date >= filters["date_from"])
        if filters.get("date_to"):
            stmt = stmt.where(ln.booking_date <= filters["date_to"])
        return self.conn.execute(stmt.order_by(ln.id).limit(limit)).all()

    def status_counts(self, account_id: int) -> dict[str, int]:
        ln, st = b.bank_lines.c, b.bank_line_states.c
        stmt = (
            select(st.status, func.count())
            .join(b.bank_lines, ln.id == st.line_id)
            .where(ln.bank_account_id == account_id)
            .group_by(st.status)
        )
        return {str(s): int(n) for s, n in self.conn.execute(stmt)}

    # -- proposals --------------------------------------------------------------------------

    def replace_proposals(self, line_id: int, rows: Sequence[Values]) -> None:
        self.raw.execute("DELETE FROM bank_proposals WHERE line_id = ?", (line_id,))
        self.raw.insert_many("bank_proposals", rows)

    def proposals(self, line_id: int) -> Sequence[Row[Any]]:
        p = b.bank_proposals.c
        return self.conn.execute(
            select(b.bank_proposals).where(p.line_id == line_id).order_by(p.rank)
        ).all()

    def proposals_of(self, line_ids: Sequence[int]) -> Sequence[Row[Any]]:
        """The stored candidates of many lines, by line and rank."""
        p = b.bank_proposals.c
        found: list[Row[Any]] = []
        for part in _chunks(list(line_ids)):
            found += self.conn.execute(
                select(b.bank_proposals).where(p.line_id.in_(part)).order_by(p.line_id, p.rank)
            ).all()
        return found

    # -- decisions --------------------------------------------------------------------------

    def add_match(self, values: Values) -> int:
        return self.raw.insert("bank_matches", values)

    def add_match_entries(self, rows: Sequence[Values]) -> None:
        self.raw.insert_many("bank_match_entries", rows)

    def match(self, match_id: int) -> Row[Any] | None:
        return self._one(select(b.bank_matches).where(b.bank_matches.c.id == match_id))

    def matches_of_line(self, line_id: int) -> Sequence[Row[Any]]:
        m = b.bank_matches.c
        return self.conn.execute(
            select(b.bank_matches).where(m.line_id == line_id).order_by(m.id)
        ).all()

    def match_entries(self, match_id: int) -> Sequence[Row[Any]]:
        e = b.bank_match_entries.c
        return self.conn.execute(
            select(b.bank_match_entries).where(e.match_id == match_id).order_by(e.id)
        ).all()

    def matches(self, entity_id: int, start: date, end: date) -> Sequence[Row[Any]]:
        """Decisions on lines booked start..end, with the line's amount."""
        m, ln = b.bank_matches.c, b.bank_lines.c
        stmt = (
            select(b.bank_matches, ln.amount_minor, ln.currency, ln.bank_account_id)
            .join(b.bank_lines, ln.id == m.line_id)
            .where(m.entity_id == entity_id, ln.booking_date >= start, ln.booking_date <= end)
            .order_by(m.id)
        )
        return self.conn.execute(stmt).all()

    # -- what lines are matched against ------------------------------------------------------

    def open_invoices(self, entity_id: int) -> list[tuple[Any, ...]]:
        """Issued invoices with receivable open: (id, number, customer id, currency, open,
        total, tax, document date, payment terms)."""
        return self.raw.execute(
            "SELECT d.id, d.number, d.customer_id, d.currency, o.open_minor, d.total_minor, "
            "d.tax_minor, d.document_date, d.payment_terms FROM documents d JOIN ("
            "SELECT l.document_id AS document_id, SUM(l.amount_minor) AS open_minor "
            "FROM journal_lines l WHERE l.account = ? AND l.document_id IS NOT NULL "
            "GROUP BY l.document_id HAVING SUM(l.amount_minor) > 0) o ON o.document_id = d.id "
            "WHERE d.entity_id = ? AND d.kind = 'invoice' AND d.status = 'issued'",
            (Account.RECEIVABLE.value, entity_id),
        )

    def payers(self, entity_id: int) -> tuple[Sequence[PayingCustomer], Sequence[LearnedPayer]]:
        """The customers and the payers learned from live matches, with the blind indexes of
        their accounts (as of the first data key; an account is opened only when its index
        was made under another, during a key rotation)."""
        ring = ring_of(self.conn.dialect)
        c, p, st = t.customers.c, b.bank_payers.c, b.bank_line_states.c
        customers = [
            PayingCustomer(r.id, r.code, r.name, fresh_index(ring, _CUSTOMER_IBAN, r.bidx, r.v))
            for r in self.conn.execute(
                select(
                    c.id, c.code, c.name, c.iban_bidx.label("bidx"), stored(c.iban).label("v")
                ).where(c.entity_id == entity_id)
            )
        ]
        live = select(st.match_id).where(st.match_id.is_not(None))
        learned = [
            LearnedPayer(r.customer_id, fresh_index(ring, _PAYER_IBAN, r.bidx, r.v), r.name)
            for r in self.conn.execute(
                select(
                    p.customer_id, p.iban_bidx.label("bidx"), stored(p.iban).label("v"), p.name
                ).where(p.entity_id == entity_id, (p.match_id.is_(None)) | (p.match_id.in_(live)))
            )
        ]
        return customers, learned

    def knows_payer(self, entity_id: int, customer_id: int, iban: str, name: str) -> bool:
        """Whether a live learned payer says exactly this already."""
        p, st = b.bank_payers.c, b.bank_line_states.c
        live = select(st.match_id).where(st.match_id.is_not(None))
        ring = ring_of(self.conn.dialect)
        same_account = (
            p.iban_bidx.in_(ring.blinds(Kind.ACCOUNT, iban)) if iban else stored(p.iban) == ""
        )
        found = self.conn.execute(
            select(p.id)
            .where(
                p.entity_id == entity_id,
                p.customer_id == customer_id,
                same_account,
                p.name == name,
                (p.match_id.is_(None)) | (p.match_id.in_(live)),
            )
            .limit(1)
        ).first()
        return found is not None

    def add_payer(self, values: Values) -> None:
        ring = ring_of(self.conn.dialect)
        self.conn.execute(insert(b.bank_payers), with_indexes(ring, "bank_payers", values))

    def forget_payers_of(self, match_id: int) -> None:
        self.conn.execute(delete(b.bank_payers).where(b.bank_payers.c.match_id == match_id))

    def credit_sums(self, entity_id: int) -> dict[tuple[int, str], int]:
        """The customer-credit account's sum per customer and currency (credit negative), of
        every customer of the entity in every currency it has an entry in; 0 where none."""
        rows = self.raw.execute(
            "SELECT l.customer_id, l.currency, SUM(l.amount_minor) FROM journal_lines l "
            "JOIN journal_entries e ON e.id = l.entry_id WHERE e.entity_id = ? "
            "AND l.account = ? AND l.customer_id IS NOT NULL GROUP BY l.customer_id, l.currency",
            (entity_id, Account.CUSTOMER_CREDIT.value),
        )
        return {(int(c), str(cur)): int(v) for c, cur, v in rows}

    def credits(self, entity_id: int) -> dict[tuple[int, str], int]:
        rows = self.raw.execute(
            "SELECT l.customer_id, l.currency, -SUM(l.amount_minor) FROM journal_lines l "
            "JOIN journal_entries e ON e.id = l.entry_id WHERE e.entity_id = ? "
            "AND l.account = ? AND l.customer_id IS NOT NULL GROUP BY l.customer_id, l.currency",
            (entity_id, Account.CUSTOMER_CREDIT.value),
        )
        return {(int(c), str(cur)): int(v) for c, cur, v in rows if int(v) > 0}

    def book_entries(
        self, entity_id: int, ledger_account: str, currency: str, upto: date | None = None
    ) -> list[tuple[Any, ...]]:
        """Every journal entry touching the bank's ledger account in `currency` (up to a day):
        (entry id, date, kind, source table, source id, description, amount on the account,
        the live match that accounts for it or None, the undone match it belongs to or None)."""
        sql = (
            "SELECT e.id, e.entry_date, e.kind, e.source_table, e.source_id, e.description, "
            "SUM(l.amount_minor) FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.id "
            "WHERE e.entity_id = ? AND l.account = ? AND l.currency = ?"
        )
        params: list[Any] = [entity_id, ledger_account, currency]
        if upto is not None:
            sql += " AND e.entry_date <= ?"
            params.append(upto if self.raw.dialect == "postgresql" else upto.isoformat())
        sql += " GROUP BY e.id, e.entry_date, e.kind, e.source_table, e.source_id, e.description"
        rows = self.raw.execute(sql, params)
        links = self._links([int(r[0]) for r in rows])
        return [(*r[:6], int(r[6]), *links.get(int(r[0]), (None, None))) for r in rows]

    def _links(self, entry_ids: Sequence[int]) -> dict[int, tuple[int | None, int | None]]:
        """Per journal entry: (the live match it belongs to, the match of an undone pair)."""
        out: dict[int, tuple[int | None, int | None]] = {}
        for part in _chunks(list(entry_ids)):
            rows = self.raw.execute(
                "SELECT me.journal_entry_id, me.match_id, m.undoes_id, "
                "(SELECT u.id FROM bank_matches u WHERE u.undoes_id = m.id), s.match_id, "
                "me.created "
                "FROM bank_match_entries me JOIN bank_matches m ON m.id = me.match_id "
                "JOIN bank_line_states s ON s.line_id = m.line_id "
                f"WHERE me.journal_entry_id IN ({_marks(len(part))})",
                tuple(part),
            )
            for entry_id, match_id, undoes, undone_by, live, created in rows:
                if live is not None and int(live) == int(match_id):
                    out[int(entry_id)] = (int(match_id), None)
                elif created and (undoes is not None or undone_by is not None):
                    # posted by a decision that was undone, or by its undo: the two cancel
                    out.setdefault(int(entry_id), (None, int(undoes or match_id)))
        return out

    def live_links(self, account_id: int) -> list[tuple[int, date, date, int]]:
        """What the live decisions on an account's lines account for: (line id, the line's
        booking date, the entry's date, the entry's effect on the account)."""
        rows = self.raw.execute(
            "SELECT bl.id, bl.booking_date, e.entry_date, me.amount_minor "
            "FROM bank_line_states s JOIN bank_lines bl ON bl.id = s.line_id "
            "JOIN bank_match_entries me ON me.match_id = s.match_id "
            "JOIN journal_entries e ON e.id = me.journal_entry_id "
            "WHERE bl.bank_account_id = ? AND s.status = 'matched'",
            (account_id,),
        )
        return [(int(i), as_date(ld), as_date(ed), int(a)) for i, ld, ed, a in rows]

    def decisions_in(self, account_id: int, start: date, end: date) -> dict[str, int]:
        """Live decisions on lines booked start..end: automatic and by hand."""
        rows = self.raw.execute(
            "SELECT m.automatic, COUNT(*) FROM bank_line_states s "
            "JOIN bank_lines bl ON bl.id = s.line_id JOIN bank_matches m ON m.id = s.match_id "
            "WHERE bl.bank_account_id = ? AND bl.booking_date >= ? AND bl.booking_date <= ? "
            "GROUP BY m.automatic",
            (account_id, *self._days(start, end)),
        )
        out = {"automatic": 0, "by hand": 0}
        for automatic, n in rows:
            out["automatic" if automatic else "by hand"] += int(n)
        return out

    def undone_in(self, account_id: int, start: date, end: date) -> int:
        rows = self.raw.execute(
            "SELECT COUNT(*) FROM bank_matches m JOIN bank_lines bl ON bl.id = m.line_id "
            "WHERE bl.bank_account_id = ? AND m.action = 'undo' "
            "AND bl.booking_date >= ? AND bl.booking_date <= ?",
            (account_id, *self._days(start, end)),
        )
        return int(rows[0][0])

    def _days(self, *days: date) -> tuple[Any, ...]:
        return days if self.raw.dialect == "postgresql" else tuple(d.isoformat() for d in days)

    def payments_into(
        self, entity_id: int, ledger_account: str, currency: str, since: date
    ) -> list[tuple[Any, ...]]:
        """Payments booked on the account since a day and not reversed: (payment id, customer
        id, amount, received on, end-to-end id and the blind index of the account of the bank
        line it came from)."""
        params: list[Any] = [
            ledger_account,
            currency,
            entity_id,
            since if self.raw.dialect == "postgresql" else since.isoformat(),
        ]
        rows = self.raw.execute(
            "SELECT p.id, p.customer_id, p.amount_minor, p.received_on, "
            "COALESCE(MAX(bl.end_to_end_id), ''), MAX(bl.counterparty_account_bidx), "
            "MAX(bl.counterparty_account) "
            "FROM payments p JOIN journal_entries e ON e.source_table = 'payments' "
            "AND e.source_id = p.id JOIN journal_lines l ON l.entry_id = e.id "
            "AND l.account = ? AND l.currency = ? "
            "LEFT JOIN bank_match_entries me ON me.journal_entry_id = e.id "
            "LEFT JOIN bank_matches m ON m.id = me.match_id "
            "LEFT JOIN bank_lines bl ON bl.id = m.line_id "
            "WHERE p.entity_id = ? AND p.received_on >= ? "
            "AND NOT EXISTS (SELECT 1 FROM payment_reversals r WHERE r.payment_id = p.id) "
            "GROUP BY p.id, p.customer_id, p.amount_minor, p.received_on",
            params,
        )
        ring = ring_of(self.conn.dialect)
        return [(*r[:5], fresh_index(ring, _LINE_ACCOUNT, r[5], r[6]) or "") for r in rows]

    def payment_invoices(self, payment_ids: Sequence[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for part in _chunks(list(payment_ids)):
            rows = self.raw.execute(
                "SELECT a.payment_id, d.number FROM allocations a JOIN documents d "
                f"ON d.id = a.invoice_id WHERE a.payment_id IN ({_marks(len(part))})",
                tuple(part),
            )
            for pid, number in rows:
                out.setdefault(int(pid), []).append(str(number))
        return out

    def refund_customer(self, refund_id: int) -> int | None:
        rows = self.raw.execute("SELECT customer_id FROM refunds WHERE id = ?", (refund_id,))
        return int(rows[0][0]) if rows else None

    def entry_effect(self, entry_id: int, ledger_account: str) -> tuple[date, int] | None:
        rows = self.raw.execute(
            "SELECT e.entry_date, SUM(l.amount_minor) FROM journal_entries e "
            "JOIN journal_lines l ON l.entry_id = e.id WHERE e.id = ? AND l.account = ? "
            "GROUP BY e.entry_date",
            (entry_id, ledger_account),
        )
        return (as_date(rows[0][0]), int(rows[0][1])) if rows else None

    def linked_live(self, entry_ids: Sequence[int]) -> set[int]:
        return {e for e, (live, _) in self._links(entry_ids).items() if live is not None}

    # -- settings ---------------------------------------------------------------------------

    def settings(self, entity_id: int) -> Row[Any] | None:
        return self._one(select(b.bank_settings).where(b.bank_settings.c.entity_id == entity_id))

    def set_settings(self, values: Values) -> None:
        s = b.bank_settings.c
        if self.settings(values["entity_id"]) is None:
            self.conn.execute(insert(b.bank_settings), dict(values))
        else:
            self.conn.execute(
                update(b.bank_settings)
                .where(s.entity_id == values["entity_id"])
                .values(**{k: v for k, v in values.items() if k != "entity_id"})
            )

    # -- write-offs taken back ----------------------------------------------------------------

    def add_write_off_reversal(self, values: Values) -> int:
        return self._insert(b.write_off_reversals, values)

    def write_off_reversals(self) -> Sequence[Row[Any]]:
        return self.conn.execute(select(b.write_off_reversals)).all()

    def write_off(self, write_off_id: int) -> Row[Any] | None:
        return self._one(select(t.write_offs).where(t.write_offs.c.id == write_off_id))

    def is_reversed(self, payment_id: int) -> bool:
        r = fx.payment_reversals.c
        return self._one(select(r.id).where(r.payment_id == payment_id)) is not None
