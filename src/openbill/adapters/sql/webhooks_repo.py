"""Queries and writes of outgoing webhooks: endpoints, events, deliveries, attempts.

The subscriptions of a legal entity (which enabled endpoints want which event) are read
through the master-data cache: every change to an endpoint bumps the `masterdata` revision,
so issuing thousands of invoices with no webhook configured costs one dictionary lookup each.

State changes of a delivery are conditional updates (`... WHERE status = 'pending'`), so that
of two delivery runs only one claims an attempt, on SQLite and PostgreSQL alike, and a late
writer never overwrites a newer state. Like every repository here it never commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, and_, cast, func, insert, literal, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from openbill.adapters.sql import tables as t
from openbill.adapters.sql import tables_webhooks as w
from openbill.adapters.sql.repositories import _Repo
from openbill.domain.ledger import Account

__all__ = ["WebhooksRepo"]

Values = Mapping[str, Any]
ep = w.webhook_endpoints.c
ev = w.webhook_events.c
dl = w.webhook_deliveries.c
at = w.webhook_attempts.c
_SECRET_COLUMNS = ("secret", "previous_secret")
_PUBLIC = [c for c in w.webhook_endpoints.c if c.name not in _SECRET_COLUMNS]


class WebhooksRepo(_Repo):
    # Endpoints.

    def add_endpoint(self, values: Values) -> int:
        self.ref.changed()
        return self._insert(w.webhook_endpoints, values)

    def update_endpoint(self, endpoint_id: int, values: Values) -> None:
        self.ref.changed()
        stmt = update(w.webhook_endpoints).where(ep.id == endpoint_id)
        self.conn.execute(stmt, dict(values))

    def set_secret(self, endpoint_id: int, values: Values) -> None:
        """Write `secret`, `previous_secret`, `previous_secret_until`, `secret_rotated_at`
        (a rotation). With `add_endpoint`, the only writes of the secrets."""
        self.update_endpoint(endpoint_id, values)

    def secrets(self, endpoint_id: int) -> Row[Any] | None:
        """(secret, previous_secret, previous_secret_until): the only read of the secrets."""
        stmt = select(ep.secret, ep.previous_secret, ep.previous_secret_until)
        return self._one(stmt.where(ep.id == endpoint_id))

    def endpoint(self, endpoint_id: int, *, lock: bool = False) -> Row[Any] | None:
        """An endpoint without its secrets (`secrets` reads those)."""
        stmt = select(*_PUBLIC).where(ep.id == endpoint_id)
        if lock and self.raw.dialect == "postgresql":
            stmt = stmt.with_for_update()
        return self._one(stmt)

    def endpoints(self, entity_id: int, limit: int) -> Sequence[Row[Any]]:
        stmt = select(*_PUBLIC).where(ep.entity_id == entity_id).order_by(ep.id).limit(limit)
        return self.conn.execute(stmt).all()

    def count_endpoints(self, entity_id: int) -> int:
        stmt = select(func.count()).select_from(w.webhook_endpoints)
        return int(self.conn.execute(stmt.where(ep.entity_id == entity_id)).scalar_one())

    def subscriptions(self, entity_id: int) -> Mapping[str, tuple[int, ...]]:
        """event type -> the enabled endpoints of the entity subscribed to it (cached)."""

        def load() -> Mapping[str, tuple[int, ...]]:
            stmt = (
                select(ep.id, ep.events)
                .where(ep.entity_id == entity_id, ep.enabled.is_(True))
                .order_by(ep.id)
            )
            out: dict[str, list[int]] = {}
            for endpoint_id, events in self.conn.execute(stmt):
                for name in str(events).split():
                    out.setdefault(name, []).append(int(endpoint_id))
            return {k: tuple(v) for k, v in out.items()}

        result: Mapping[str, tuple[int, ...]] = self.ref.get(("webhook subs", entity_id), load)
        return result

    def subscribed_entities(self, event_type: str) -> list[int]:
        """Entities with an enabled endpoint subscribed to `event_type` (the overdue scan)."""
        stmt = select(ep.entity_id, ep.events).where(ep.enabled.is_(True)).order_by(ep.entity_id)
        found = {
            int(entity_id)
            for entity_id, events in self.conn.execute(stmt)
            if event_type in str(events).split()
        }
        return sorted(found)

    # Events.

    def entity_code(self, entity_id: int) -> str:
        """A legal entity's code (cached with the master data)."""
        e = t.legal_entities.c
        code: str = self.ref.get(
            ("entity code", entity_id),
            lambda: self.conn.execute(select(e.code).where(e.id == entity_id)).scalar_one(),
        )
        return code

    def add_event(
        self, values: Values, deliveries: Sequence[Values], *, may_exist: bool = False
    ) -> int | None:
        """Insert an event and its deliveries through the driver (one round trip on
        PostgreSQL: this runs inside the use cases' hot paths). With `may_exist` (the overdue
        scan, where two scans may race) the insert runs in a SAVEPOINT and an event the
        entity already has (same type and dedupe key) gives None, leaving the transaction
        usable; otherwise such a duplicate is a bug and raises."""
        rows = [dict(d) for d in deliveries]
        if not may_exist:
            return self.raw.insert_with_children(
                "webhook_events", values, "webhook_deliveries", "event_id", rows
            )
        if self.raw.pending:  # rows held back go out before the savepoint, not inside it
            self.raw.flush_pending()
        try:
            with self.conn.begin_nested():
                event_pk = self._insert(w.webhook_events, values)
                if rows:
                    self.conn.execute(
                        insert(w.webhook_deliveries), [{**d, "event_id": event_pk} for d in rows]
                    )
                return event_pk
        except IntegrityError:
            return None

    def deliveries_of_event(self, event_key: str) -> list[int]:
        stmt = (
            select(dl.id)
            .join(w.webhook_events, ev.id == dl.event_id)
            .where(ev.event_id == event_key)
            .order_by(dl.id)
        )
        return [int(i) for i in self.conn.execute(stmt).scalars()]

    def events_of(self, entity_id: int, event_type: str, limit: int) -> Sequence[Row[Any]]:
        stmt = (
            select(w.webhook_events)
            .where(ev.entity_id == entity_id, ev.event_type == event_type)
            .order_by(ev.id)
            .limit(limit)
        )
        return self.conn.execute(stmt).all()

    def overdue_candidates(
        self, entity_id: int, today: date, since: date, limit: int
    ) -> Sequence[Row[Any]]:
        """Issued invoices of the entity due in [since, today) with receivable still open and
        no invoice.overdue event for that due date yet, oldest due first."""
        d, j = t.documents.c, t.journal_lines.c
        # The key scan_overdue writes: "<id>:<due date, ISO>". On PostgreSQL a date cast to
        # text would follow the session's DateStyle, so it is formatted explicitly.
        due_text = (
            func.to_char(d.due_date, "YYYY-MM-DD")
            if self.raw.dialect == "postgresql"
            else cast(d.due_date, String)
        )
        key = cast(d.id, String) + literal(":") + due_text
        emitted = (
            select(ev.id)
            .where(
                ev.entity_id == entity_id,
                ev.event_type == "invoice.overdue",
                ev.dedupe_key == key,
            )
            .exists()
        )
        open_sum = func.coalesce(func.sum(j.amount_minor), 0)
        stmt = (
            select(d.id, d.number, d.due_date, open_sum.label("open_minor"))
            .join(
                t.journal_lines,
                and_(j.document_id == d.id, j.account == Account.RECEIVABLE.value),
            )
            .where(
                d.entity_id == entity_id,
                d.kind == "invoice",
                d.status == "issued",
                d.due_date < today,
                d.due_date >= since,
                ~emitted,
            )
            .group_by(d.id, d.number, d.due_date)
            .having(open_sum > 0)
            .order_by(d.due_date, d.id)
            .limit(limit)
        )
        return self.conn.execute(stmt).all()

    # Deliveries.

    def due(self, now: datetime, only: Sequence[int], limit: int) -> list[int]:
        """Pending deliveries whose time has come, of enabled endpoints, oldest due first."""
        stmt = (
            select(dl.id)
            .join(w.webhook_endpoints, ep.id == dl.endpoint_id)
            .where(dl.status == "pending", dl.next_attempt_at <= now, ep.enabled.is_(True))
            .order_by(dl.next_attempt_at, dl.id)
            .limit(limit)
        )
        if only:
            stmt = stmt.where(dl.id.in_(tuple(only)))
        return [int(i) for i in self.conn.execute(stmt).scalars()]

    def claim(self, delivery_id: int, now: datetime) -> bool:
        """Take a due pending delivery for one attempt. Of two runs, one gets rowcount 1."""
        stmt = (
            update(w.webhook_deliveries)
            .where(dl.id == delivery_id, dl.status == "pending", dl.next_attempt_at <= now)
            .values(
                status="sending",
                claimed_at=now,
                attempts=dl.attempts + 1,
                attempts_left=dl.attempts_left - 1,
            )
        )
        return self.conn.execute(stmt).rowcount == 1

    def finish(self, delivery_id: int, attempt_no: int, values: Values) -> bool:
        """Leave `sending` for the state the attempt decided, if this attempt still holds the
        claim (a run whose claim expired and was taken over changes nothing)."""
        stmt = update(w.webhook_deliveries).where(
            dl.id == delivery_id, dl.status == "sending", dl.attempts == attempt_no
        )
        return self.conn.execute(stmt, dict(values)).rowcount == 1

    def requeue(self, delivery_id: int, status: str, values: Values) -> bool:
        stmt = update(w.webhook_deliveries).where(dl.id == delivery_id, dl.status == status)
        return self.conn.execute(stmt, dict(values)).rowcount == 1

    def sending_since_before(self, moment: datetime, limit: int) -> Sequence[Row[Any]]:
        stmt = (
            select(w.webhook_deliveries)
            .where(dl.status == "sending", dl.claimed_at < moment)
            .order_by(dl.id)
            .limit(limit)
        )
        return self.conn.execute(stmt).all()

    def delivery(self, delivery_id: int) -> Row[Any] | None:
        """A delivery with its event (type, id, payload) and endpoint (url, enabled)."""
        return self._one(_detail().where(dl.id == delivery_id))

    def deliveries(
        self,
        entity_id: int,
        *,
        limit: int,
        after_id: int = 0,
        newest_first: bool = False,
        status: str = "",
        endpoint_id: int | None = None,
        event_type: str = "",
    ) -> Sequence[Row[Any]]:
        stmt = _listing().where(dl.entity_id == entity_id)
        if after_id:
            stmt = stmt.where(dl.id < after_id if newest_first else dl.id > after_id)
        if status:
            stmt = stmt.where(dl.status == status)
        if endpoint_id is not None:
            stmt = stmt.where(dl.endpoint_id == endpoint_id)
        if event_type:
            stmt = stmt.where(ev.event_type == event_type)
        order = dl.id.desc() if newest_first else dl.id
        return self.conn.execute(stmt.order_by(order).limit(limit)).all()

    def counts(self, endpoint_id: int) -> dict[str, int]:
        stmt = (
            select(dl.status, func.count()).where(dl.endpoint_id == endpoint_id).group_by(dl.status)
        )
        return {str(s): int(n) for s, n in self.conn.execute(stmt)}

    # Attempts.

    def add_attempt(self, values: Values) -> int:
        return self._insert(w.webhook_attempts, values)

    def has_attempt(self, delivery_id: int, attempt_no: int) -> bool:
        stmt = select(at.id).where(at.delivery_id == delivery_id, at.attempt_no == attempt_no)
        return self._one(stmt) is not None

    def attempts(self, delivery_id: int, limit: int) -> Sequence[Row[Any]]:
        stmt = (
            select(w.webhook_attempts)
            .where(at.delivery_id == delivery_id)
            .order_by(at.attempt_no)
            .limit(limit)
        )
        return self.conn.execute(stmt).all()


def _listing() -> Any:
    return select(
        w.webhook_deliveries,
        ev.event_id.label("event_key"),
        ev.event_type,
        ev.subject,
        ev.created_at.label("event_created_at"),
        ep.url,
    ).select_from(
        w.webhook_deliveries.join(w.webhook_events, ev.id == dl.event_id).join(
            w.webhook_endpoints, ep.id == dl.endpoint_id
        )
    )


def _detail() -> Any:
    return select(
        w.webhook_deliveries,
        ev.event_id.label("event_key"),
        ev.event_type,
        ev.subject,
        ev.payload,
        ev.created_at.label("event_created_at"),
        ep.url,
        ep.enabled.label("endpoint_enabled"),
    ).select_from(
        w.webhook_deliveries.join(w.webhook_events, ev.id == dl.event_id).join(
            w.webhook_endpoints, ep.id == dl.endpoint_id
        )
    )
