"""Queries and writes of dunning (issue #4). Like every repository here it never commits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Integer, cast, func, insert, select, update
from sqlalchemy.engine import Row

from openbill.adapters.sql import tables as t
from openbill.adapters.sql import tables_dunning as d
from openbill.adapters.sql import tables_outbox as ob
from openbill.adapters.sql.repositories import _Repo, reversed_payment

__all__ = ["DunningRepo"]

Values = Mapping[str, Any]
IN_CHUNK = 500  # ids per IN (...) list: far below SQLite's and PostgreSQL's parameter limits

_HOLDS = d.dunning_holds.c
_ACTIVE_CREDIT_HOLD = (
    "SELECT id FROM dunning_holds "
    "WHERE customer_id = ? AND kind = 'credit' AND released_at IS NULL LIMIT 1"
)


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    batch: list[int] = []
    for i in ids:
        batch.append(int(i))
        if len(batch) == IN_CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


class DunningRepo(_Repo):
    # Holds.

    def credit_hold(self, customer_id: int) -> Row[Any] | None:
        """The customer's active credit hold (with its `reason`), or None. While one is active
        no new invoice may be issued to the customer.

        On the issuing hot path: one lookup on ix_dunning_holds_active through the driver; only
        when a hold exists (the refusal, rare) is the whole row read."""
        found = self.raw.execute(_ACTIVE_CREDIT_HOLD, (customer_id,))
        if not found:
            return None
        return self._one(select(d.dunning_holds).where(_HOLDS.id == found[0][0]))

    def active_hold(self, customer_id: int, kind: str) -> Row[Any] | None:
        stmt = select(d.dunning_holds).where(
            _HOLDS.customer_id == customer_id, _HOLDS.kind == kind, _HOLDS.released_at.is_(None)
        )
        return self._one(stmt.order_by(_HOLDS.id))

    def add_hold(self, values: Values) -> int:
        return self._insert(d.dunning_holds, values)

    def release_hold(self, hold_id: int, values: Values) -> bool:
        stmt = update(d.dunning_holds).where(_HOLDS.id == hold_id, _HOLDS.released_at.is_(None))
        return self.conn.execute(stmt, dict(values)).rowcount == 1

    def holds(
        self,
        entity_id: int,
        active_only: bool,
        limit: int,
        hold_id: int | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> Sequence[Row[Any]]:
        """Holds, oldest first; `filters` (the API's pages): after_id, customer_id, kind,
        released (True: released only)."""
        c, doc = t.customers.c, t.documents.c
        stmt = (
            select(
                d.dunning_holds,
                c.code.label("customer_code"),
                doc.number.label("document_number"),
            )
            .join(t.customers, c.id == _HOLDS.customer_id)
            .outerjoin(t.documents, doc.id == _HOLDS.document_id)
            .where(_HOLDS.entity_id == entity_id)
        )
        if active_only:
            stmt = stmt.where(_HOLDS.released_at.is_(None))
        if hold_id is not None:
            stmt = stmt.where(_HOLDS.id == hold_id)
        wanted = filters or {}
        if wanted.get("after_id"):
            stmt = stmt.where(_HOLDS.id > wanted["after_id"])
        if wanted.get("customer_id"):
            stmt = stmt.where(_HOLDS.customer_id == wanted["customer_id"])
        if wanted.get("kind"):
            stmt = stmt.where(_HOLDS.kind == wanted["kind"])
        if wanted.get("released"):
            stmt = stmt.where(_HOLDS.released_at.is_not(None))
        return self.conn.execute(stmt.order_by(_HOLDS.id).limit(limit)).all()

    # Settings, policies and customers.

    def settings(self, entity_id: int) -> Row[Any] | None:
        s = d.dunning_settings.c
        return self._one(select(d.dunning_settings).where(s.entity_id == entity_id))

    def save_settings(self, entity_id: int, values: Values) -> None:
        s = d.dunning_settings.c
        if self.settings(entity_id) is None:
            self.conn.execute(insert(d.dunning_settings), {**values, "entity_id": entity_id})
        else:
            stmt = update(d.dunning_settings).where(s.entity_id == entity_id)
            self.conn.execute(stmt, dict(values))

    def add_policy(self, values: Values, steps: Sequence[Values]) -> int:
        policy_id = self._insert(d.dunning_policies, values)
        self.conn.execute(
            insert(d.dunning_policy_steps), [{**s, "policy_id": policy_id} for s in steps]
        )
        return policy_id

    def policy(self, policy_id: int) -> Row[Any] | None:
        p = d.dunning_policies.c
        return self._one(select(d.dunning_policies).where(p.id == policy_id))

    def policy_by_code(self, entity_id: int, code: str) -> Row[Any] | None:
        p = d.dunning_policies.c
        return self._one(select(d.dunning_policies).where(p.entity_id == entity_id, p.code == code))

    def policies(self, entity_id: int, limit: int) -> Sequence[Row[Any]]:
        p = d.dunning_policies.c
        stmt = select(d.dunning_policies).where(p.entity_id == entity_id).order_by(p.code)
        return self.conn.execute(stmt.limit(limit)).all()

    def steps(self, policy_id: int) -> Sequence[Row[Any]]:
        s = d.dunning_policy_steps.c
        stmt = select(d.dunning_policy_steps).where(s.policy_id == policy_id).order_by(s.step_no)
        return self.conn.execute(stmt).all()

    def customer_settings(self, customer_id: int) -> Row[Any] | None:
        c = d.dunning_customers.c
        return self._one(select(d.dunning_customers).where(c.customer_id == customer_id))

    def customer_settings_of(self, entity_id: int) -> dict[int, Row[Any]]:
        c, cust = d.dunning_customers.c, t.customers.c
        stmt = (
            select(d.dunning_customers)
            .join(t.customers, cust.id == c.customer_id)
            .where(cust.entity_id == entity_id)
        )
        return {int(r.customer_id): r for r in self.conn.execute(stmt)}

    def save_customer_settings(self, customer_id: int, values: Values) -> None:
        c = d.dunning_customers.c
        if self.customer_settings(customer_id) is None:
            self.conn.execute(insert(d.dunning_customers), {**values, "customer_id": customer_id})
        else:
            stmt = update(d.dunning_customers).where(c.customer_id == customer_id)
            self.conn.execute(stmt, dict(values))

    # Promises to pay.

    def open_promise(self, customer_id: int) -> Row[Any] | None:
        p = d.dunning_promises.c
        stmt = select(d.dunning_promises).where(p.customer_id == customer_id, p.status == "open")
        return self._one(stmt.order_by(p.id.desc()))

    def customers_with_open_promise(self, entity_id: int) -> list[int]:
        p = d.dunning_promises.c
        stmt = (
            select(p.customer_id)
            .where(p.entity_id == entity_id, p.status == "open")
            .distinct()
            .order_by(p.customer_id)
        )
        return [int(i) for i in self.conn.execute(stmt).scalars()]

    def add_promise(self, values: Values) -> int:
        return self._insert(d.dunning_promises, values)

    def close_promise(self, promise_id: int, status: str, on: date) -> bool:
        p = d.dunning_promises.c
        stmt = update(d.dunning_promises).where(p.id == promise_id, p.status == "open")
        return self.conn.execute(stmt, {"status": status, "closed_on": on}).rowcount == 1

    def promises(self, entity_id: int, limit: int) -> Sequence[Row[Any]]:
        p, c = d.dunning_promises.c, t.customers.c
        stmt = (
            select(d.dunning_promises, c.code.label("customer_code"))
            .join(t.customers, c.id == p.customer_id)
            .where(p.entity_id == entity_id)
            .order_by(p.id.desc())
            .limit(limit)
        )
        return self.conn.execute(stmt).all()

    def promises_page(
        self, entity_id: int, filters: Mapping[str, Any], after_id: int, limit: int
    ) -> Sequence[Row[Any]]:
        """Promises oldest first after `after_id` (the API's pages); filters promise_id,
        customer_id, status."""
        p, c = d.dunning_promises.c, t.customers.c
        stmt = (
            select(d.dunning_promises, c.code.label("customer_code"))
            .join(t.customers, c.id == p.customer_id)
            .where(p.entity_id == entity_id, p.id > after_id)
        )
        if filters.get("promise_id"):
            stmt = stmt.where(p.id == filters["promise_id"])
        if filters.get("customer_id"):
            stmt = stmt.where(p.customer_id == filters["customer_id"])
        if filters.get("status"):
            stmt = stmt.where(p.status == filters["status"])
        return self.conn.execute(stmt.order_by(p.id).limit(limit)).all()

    def paid_between(self, customer_id: int, currency: str, first: date, last: date) -> int:
        """What the customer paid (payments received, in `currency`) from `first` to `last`."""
        p = t.payments.c
        stmt = select(func.coalesce(func.sum(p.amount_minor), 0)).where(
            p.customer_id == customer_id,
            p.currency == currency,
            p.received_on >= first,
            p.received_on <= last,
            ~reversed_payment(p.id),  # a payment that bounced kept no promise
        )
        return int(self.conn.execute(stmt).scalar_one())

    # Runs and steps taken.

    def last_run_date(self, entity_id: int) -> date | None:
        r = d.dunning_runs.c
        stmt = select(func.max(r.as_of)).where(r.entity_id == entity_id)
        value = self.conn.execute(stmt).scalar_one()
        if value is None or isinstance(value, date):
            return value
        return date.fromisoformat(str(value))

    def add_run(self, values: Values) -> int:
        return self._insert(d.dunning_runs, values)

    def finish_run(self, run_id: int, values: Values) -> None:
        r = d.dunning_runs.c
        self.conn.execute(update(d.dunning_runs).where(r.id == run_id), dict(values))

    def run(self, run_id: int) -> Row[Any] | None:
        return self._one(select(d.dunning_runs).where(d.dunning_runs.c.id == run_id))

    def runs(self, entity_id: int, limit: int) -> Sequence[Row[Any]]:
        r = d.dunning_runs.c
        stmt = select(d.dunning_runs).where(r.entity_id == entity_id).order_by(r.id.desc())
        return self.conn.execute(stmt.limit(limit)).all()

    def runs_page(
        self, entity_id: int, filters: Mapping[str, Any], after_id: int, limit: int
    ) -> Sequence[Row[Any]]:
        """Runs oldest first after `after_id` (the API's pages); filters date_from and
        date_to (the run date, inclusive)."""
        r = d.dunning_runs.c
        stmt = select(d.dunning_runs).where(r.entity_id == entity_id, r.id > after_id)
        if filters.get("date_from"):
            stmt = stmt.where(r.as_of >= filters["date_from"])
        if filters.get("date_to"):
            stmt = stmt.where(r.as_of <= filters["date_to"])
        return self.conn.execute(stmt.order_by(r.id).limit(limit)).all()

    def add_run_lines(self, rows: Sequence[Values]) -> None:
        if rows:
            self.conn.execute(insert(d.dunning_run_lines), [dict(r) for r in rows])

    def run_lines(self, run_id: int, limit: int) -> Sequence[Row[Any]]:
        ln, c, doc = d.dunning_run_lines.c, t.customers.c, t.documents.c
        stmt = (
            select(
                d.dunning_run_lines,
                c.code.label("customer_code"),
                doc.number.label("document_number"),
            )
            .join(t.customers, c.id == ln.customer_id)
            .outerjoin(t.documents, doc.id == ln.document_id)
            .where(ln.run_id == run_id)
            .order_by(ln.id)
            .limit(limit)
        )
        return self.conn.execute(stmt).all()

    def add_step_taken(self, values: Values) -> int:
        return self._insert(d.dunning_steps_taken, values)

    def progress(self, document_ids: Sequence[int]) -> dict[int, tuple[int, int, bool]]:
        """Per invoice: (last step taken, interest charged so far, recovery fee charged)."""
        s = d.dunning_steps_taken.c
        out: dict[int, tuple[int, int, bool]] = {}
        for batch in _chunks(document_ids):
            stmt = (
                select(
                    s.document_id,
                    func.max(s.step_no),
                    func.coalesce(func.sum(s.interest_minor), 0),
                    func.max(cast(s.recovery_fee, Integer)),
                )
                .where(s.document_id.in_(batch))
                .group_by(s.document_id)
            )
            for doc_id, last, interest, recovery in self.conn.execute(stmt):
                out[int(doc_id)] = (int(last), int(interest), bool(recovery))
        return out

    def fee_documents(self, document_ids: Sequence[int]) -> set[int]:
        """Which of these documents are fee invoices a dunning step issued."""
        s = d.dunning_steps_taken.c
        found: set[int] = set()
        for batch in _chunks(document_ids):
            stmt = select(s.fee_document_id).where(s.fee_document_id.in_(batch)).distinct()
            found.update(int(i) for i in self.conn.execute(stmt).scalars())
        return found

    def fee_documents_of(self, document_id: int) -> Sequence[Any]:
        """The fee invoices issued for an invoice (id and number), oldest first."""
        s, doc = d.dunning_steps_taken.c, t.documents.c
        stmt = (
            select(doc.id, doc.number)
            .join(t.documents, doc.id == s.fee_document_id)
            .where(s.document_id == document_id)
            .distinct()
            .order_by(doc.id)
        )
        return self.conn.execute(stmt).all()

    def history(self, document_id: int, limit: int) -> Sequence[Row[Any]]:
        s, doc, p = d.dunning_steps_taken.c, t.documents.c, d.dunning_policies.c
        o = ob.outbox_messages.c
        stmt = (
            select(
                d.dunning_steps_taken,
                doc.number.label("fee_document_number"),
                p.code.label("policy_code"),
                o.status.label("message_status"),
            )
            .outerjoin(t.documents, doc.id == s.fee_document_id)
            .join(d.dunning_policies, p.id == s.policy_id)
            .outerjoin(ob.outbox_messages, o.id == s.outbox_message_id)
            .where(s.document_id == document_id)
            .order_by(s.step_no)
            .limit(limit)
        )
        return self.conn.execute(stmt).all()

    def skips_of(self, document_id: int, limit: int) -> Sequence[Row[Any]]:
        """Report lines of runs that skipped this invoice or noted something about it (not
        about one of its steps), with the run's date."""
        ln, r = d.dunning_run_lines.c, d.dunning_runs.c
        stmt = (
            select(d.dunning_run_lines, r.as_of)
            .join(d.dunning_runs, r.id == ln.run_id)
            .where(ln.document_id == document_id, ln.outcome != "taken", ln.step_no.is_(None))
            .order_by(ln.id)
            .limit(limit)
        )
        return self.conn.execute(stmt).all()
