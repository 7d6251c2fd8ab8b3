"""Queries and writes of the e-mail outbox: preferences, messages, attachments, attempts.

State changes of a message are conditional updates (`... WHERE status = 'queued'`), so that of
two delivery runs only one can claim a message, and a late writer never overwrites a newer
state. Like every repository here it never commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row

from openbill.adapters.sql import tables as t
from openbill.adapters.sql import tables_outbox as o
from openbill.adapters.sql.repositories import _Repo

__all__ = ["OutboxRepo"]

Values = Mapping[str, Any]
m = o.outbox_messages.c


class OutboxRepo(_Repo):
    # Preferences.

    def preferences(self, customer_id: int) -> Row[Any] | None:
        p = o.mail_preferences.c
        return self._one(select(o.mail_preferences).where(p.customer_id == customer_id))

    def save_preferences(self, customer_id: int, values: Values) -> None:
        p = o.mail_preferences.c
        if self.preferences(customer_id) is None:
            self.conn.execute(insert(o.mail_preferences), {**values, "customer_id": customer_id})
        else:
            stmt = update(o.mail_preferences).where(p.customer_id == customer_id)
            self.conn.execute(stmt, dict(values))

    # Messages.

    def by_document(self, document_id: int, purpose: str) -> Row[Any] | None:
        stmt = select(o.outbox_messages).where(m.document_id == document_id, m.purpose == purpose)
        return self._one(stmt)

    def add_message(self, values: Values, attachments: Sequence[Any]) -> int:
        message_id = self._insert(o.outbox_messages, values)
        if attachments:
            self.conn.execute(
                insert(o.outbox_attachments),
                [
                    {
                        "message_id": message_id,
                        "filename": a.filename,
                        "content_type": a.content_type,
                        "content": a.content,
                    }
                    for a in attachments
                ],
            )
        return message_id

    def get(self, message_id: int) -> Row[Any] | None:
        return self._one(select(o.outbox_messages).where(m.id == message_id))

    def attachments(self, message_id: int) -> Sequence[Row[Any]]:
        a = o.outbox_attachments.c
        stmt = select(o.outbox_attachments).where(a.message_id == message_id).order_by(a.id)
        return self.conn.execute(stmt).all()

    def due(self, now: datetime, only: tuple[int, ...], limit: int) -> list[int]:
        stmt = (
            select(m.id)
            .where(m.status == "queued", m.next_attempt_at <= now)
            .order_by(m.next_attempt_at, m.id)
            .limit(limit)
        )
        if only:
            stmt = stmt.where(m.id.in_(only))
        return [int(i) for i in self.conn.execute(stmt).scalars()]

    def claim(self, message_id: int, now: datetime) -> bool:
        stmt = (
            update(o.outbox_messages)
            .where(m.id == message_id, m.status == "queued")
            .values(
                status="sending",
                claimed_at=now,
                attempts=m.attempts + 1,
                attempts_left=m.attempts_left - 1,
            )
        )
        return self.conn.execute(stmt).rowcount == 1

    def finish(self, message_id: int, values: Values) -> None:
        """Leave `sending` for the state the attempt decided."""
        stmt = update(o.outbox_messages).where(m.id == message_id, m.status == "sending")
        if self.conn.execute(stmt, dict(values)).rowcount != 1:
            raise RuntimeError(f"outbox message {message_id} was not sending")

    def requeue(self, message_id: int, status: str, values: Values) -> bool:
        stmt = update(o.outbox_messages).where(m.id == message_id, m.status == status)
        return self.conn.execute(stmt, dict(values)).rowcount == 1

    def sending_since_before(self, moment: datetime) -> Sequence[Row[Any]]:
        stmt = (
            select(o.outbox_messages)
            .where(m.status == "sending", m.claimed_at < moment)
            .order_by(m.id)
        )
        return self.conn.execute(stmt).all()

    def listing(self, entity_id: int, limit: int) -> Sequence[Row[Any]]:
        d, c = t.documents.c, t.customers.c
        stmt = (
            select(
                o.outbox_messages,
                d.number.label("document_number"),
                c.code.label("customer_code"),
            )
            .join(t.documents, d.id == m.document_id)
            .join(t.customers, c.id == d.customer_id)
            .where(m.entity_id == entity_id)
            .order_by(m.id.desc())
            .limit(limit)
        )
        return self.conn.execute(stmt).all()

    def page(
        self, entity_id: int, filters: Values, after_id: int, limit: int
    ) -> Sequence[Row[Any]]:
        """Messages in the order they were queued, after `after_id` (keyset pagination), with
        their document's number and customer. Filters: statuses (stored ones), document_id,
        id."""
        d, c = t.documents.c, t.customers.c
        stmt = (
            select(
                o.outbox_messages,
                d.number.label("document_number"),
                c.code.label("customer_code"),
            )
            .join(t.documents, d.id == m.document_id)
            .join(t.customers, c.id == d.customer_id)
            .where(m.entity_id == entity_id, m.id > after_id)
        )
        if filters.get("statuses"):
            stmt = stmt.where(m.status.in_(tuple(filters["statuses"])))
        for key, column in (("document_id", m.document_id), ("id", m.id)):
            if filters.get(key) is not None:
                stmt = stmt.where(column == filters[key])
        return self.conn.execute(stmt.order_by(m.id).limit(limit)).all()

    # Attempts.

    def add_attempt(self, values: Values) -> int:
        return self._insert(o.outbox_attempts, values)

    def attempts(self, message_id: int) -> Sequence[Row[Any]]:
        a = o.outbox_attempts.c
        stmt = select(o.outbox_attempts).where(a.message_id == message_id).order_by(a.attempt_no)
        return self.conn.execute(stmt).all()
