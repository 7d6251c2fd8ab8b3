"""Queries and writes of access control: users, sessions, sign-in attempts, API keys, access
settings (`AccessRepo`), and the store of HTTP Idempotency-Keys (`ApiRequestsRepo`). Like every
repository here they never commit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from openbill.adapters.sql import tables as t
from openbill.adapters.sql import tables_access as a
from openbill.adapters.sql.repositories import _Repo

__all__ = ["AccessRepo", "ApiRequestsRepo"]


class AccessRepo(_Repo):
    # users

    def user_by_name(self, username: str) -> Row[Any] | None:
        return self._one(select(a.users).where(a.users.c.username == username))

    def user_by_id(self, user_id: int) -> Row[Any] | None:
        return self._one(select(a.users).where(a.users.c.id == user_id))

    def add_user(self, values: Mapping[str, Any]) -> int:
        return self._insert(a.users, values)

    def update_user(self, user_id: int, values: Mapping[str, Any]) -> None:
        self.conn.execute(update(a.users).where(a.users.c.id == user_id), dict(values))

    def users(self, limit: int) -> Sequence[Row[Any]]:
        stmt = select(a.users).order_by(a.users.c.username).limit(limit)
        return self.conn.execute(stmt).all()

    def active_administrators(self) -> int:
        u = a.users.c
        stmt = (
            select(func.count())
            .select_from(a.users)
            .where(u.role == "administrator", u.disabled_at.is_(None))
        )
        return int(self.conn.execute(stmt).scalar_one())

    def entity_codes(self, user_id: int) -> tuple[str, ...]:
        ue, e = a.user_entities.c, t.legal_entities.c
        stmt = (
            select(e.code)
            .select_from(a.user_entities.join(t.legal_entities, e.id == ue.entity_id))
            .where(ue.user_id == user_id)
            .order_by(e.code)
        )
        return tuple(str(code) for code in self.conn.execute(stmt).scalars())

    def entity_codes_by_user(self) -> dict[int, tuple[str, ...]]:
        ue, e = a.user_entities.c, t.legal_entities.c
        stmt = (
            select(ue.user_id, e.code)
            .select_from(a.user_entities.join(t.legal_entities, e.id == ue.entity_id))
            .order_by(ue.user_id, e.code)
        )
        out: dict[int, list[str]] = {}
        for user_id, code in self.conn.execute(stmt):
            out.setdefault(int(user_id), []).append(str(code))
        return {k: tuple(v) for k, v in out.items()}

    def set_entities(self, user_id: int, entity_ids: Iterable[int]) -> None:
        ue = a.user_entities
        self.conn.execute(delete(ue).where(ue.c.user_id == user_id))
        rows = [{"user_id": user_id, "entity_id": e} for e in sorted(set(entity_ids))]
        if rows:
            self.conn.execute(ue.insert(), rows)

    # settings

    def setting(self, name: str) -> str | None:
        s = a.access_settings.c
        value = self.conn.execute(select(s.value).where(s.name == name)).scalar_one_or_none()
        return None if value is None else str(value)

    def put_setting(self, name: str, value: str) -> None:
        s = a.access_settings
        changed = self.conn.execute(update(s).where(s.c.name == name), {"value": value})
        if changed.rowcount == 0:
            self.conn.execute(s.insert(), {"name": name, "value": value})

    # sign-in attempts

    def add_attempt(self, values: Mapping[str, Any]) -> int:
        return self._insert(a.login_attempts, values)

    def failures(
        self,
        *,
        since: datetime,
        reasons: Sequence[str],
        limit: int,
        username: str | None = None,
        address: str | None = None,
    ) -> list[datetime]:
        """The times of failed attempts after `since` with one of `reasons`, for a user name
        or for an address, the most recent `limit` of them."""
        la = a.login_attempts.c
        stmt = select(la.attempted_at).where(
            la.attempted_at > since, la.succeeded.is_(False), la.reason.in_(tuple(reasons))
        )
        if username is not None:
            stmt = stmt.where(la.username == username)
        if address is not None:
            stmt = stmt.where(la.address == address)
        stmt = stmt.order_by(la.attempted_at.desc()).limit(limit)
        return list(self.conn.execute(stmt).scalars())

    def last_success(self, username: str) -> datetime | None:
        la = a.login_attempts.c
        stmt = select(func.max(la.attempted_at)).where(
            la.username == username, la.succeeded.is_(True)
        )
        value = self.conn.execute(stmt).scalar_one_or_none()
        return value if isinstance(value, datetime) else None

    def delete_attempts_before(self, moment: datetime) -> int:
        """Forget sign-in attempts made before `moment` (pruning); how many were deleted."""
        la = a.login_attempts
        return int(self.conn.execute(delete(la).where(la.c.attempted_at < moment)).rowcount)

    def attempts(self, limit: int) -> Sequence[Row[Any]]:
        la = a.login_attempts.c
        stmt = select(a.login_attempts).order_by(la.id).limit(limit)
        return self.conn.execute(stmt).all()

    # sessions

    def add_session(self, values: Mapping[str, Any]) -> int:
        return self._insert(a.user_sessions, values)

    def session_by_hash(self, token_hash: str) -> Row[Any] | None:
        s = a.user_sessions.c
        return self._one(select(a.user_sessions).where(s.token_hash == token_hash))

    def touch_session(self, session_id: int, at: datetime) -> None:
        s = a.user_sessions
        self.conn.execute(update(s).where(s.c.id == session_id), {"last_seen_at": at})

    def end_session(self, session_id: int, at: datetime, reason: str) -> bool:
        s = a.user_sessions
        stmt = update(s).where(s.c.id == session_id, s.c.ended_at.is_(None))
        return bool(self.conn.execute(stmt, {"ended_at": at, "end_reason": reason}).rowcount)

    def end_sessions_of(self, user_id: int, at: datetime, reason: str) -> int:
        s = a.user_sessions
        stmt = update(s).where(s.c.user_id == user_id, s.c.ended_at.is_(None))
        return int(self.conn.execute(stmt, {"ended_at": at, "end_reason": reason}).rowcount)

    # API keys

    def add_api_key(self, values: Mapping[str, Any]) -> int:
        return self._insert(a.api_keys, values)

    def api_key(self, entity_id: int, name: str) -> Row[Any] | None:
        k = a.api_keys.c
        return self._one(_keys().where(k.entity_id == entity_id, k.name == name))

    def api_key_by_hash(self, token_hash: str) -> Row[Any] | None:
        return self._one(_keys().where(a.api_keys.c.token_hash == token_hash))

    def api_keys(self, entity_id: int | None, limit: int) -> Sequence[Row[Any]]:
        k = a.api_keys.c
        stmt = _keys()
        if entity_id is not None:
            stmt = stmt.where(k.entity_id == entity_id)
        return self.conn.execute(stmt.order_by(k.entity_id, k.name).limit(limit)).all()

    def update_api_key(self, key_id: int, values: Mapping[str, Any]) -> None:
        k = a.api_keys
        self.conn.execute(update(k).where(k.c.id == key_id), dict(values))


def _keys() -> Any:
    """API keys with their entity's code."""
    k, e = a.api_keys, t.legal_entities
    return select(k, e.c.code.label("entity_code")).join(e, e.c.id == k.c.entity_id)


class ApiRequestsRepo(_Repo):
    """The HTTP Idempotency-Key store: one row per (principal, key), in flight until the
    response is stored (`finish`), deleted when the request failed so that it may be retried
    (`release`)."""

    def get(self, principal: str, key: str) -> Row[Any] | None:
        r = a.api_requests.c
        return self._one(select(a.api_requests).where(r.principal == principal, r.idem_key == key))

    def begin(self, values: Mapping[str, Any]) -> int | None:
        """Insert an in-flight row and return its id; None when (principal, key) exists. The
        insert runs in a SAVEPOINT, so a duplicate leaves the transaction usable."""
        if self.raw.pending:  # rows held back go out before the savepoint, not inside it
            self.raw.flush_pending()
        row = {**values, "state": "in_flight"}
        try:
            with self.conn.begin_nested():
                return self._insert(a.api_requests, row)
        except IntegrityError:
            return None

    def finish(
        self,
        request_id: int,
        status_code: int,
        content_type: str | None,
        body: str | None,
        headers_json: str | None,
        finished_at: datetime,
    ) -> None:
        r = a.api_requests
        self.conn.execute(
            update(r).where(r.c.id == request_id),
            {
                "state": "done",
                "status_code": status_code,
                "content_type": content_type,
                "body": body,
                "headers": headers_json,
                "finished_at": finished_at,
            },
        )

    def delete_before(self, moment: datetime) -> int:
        """Forget the requests made before `moment` (pruning: their keys may be used again);
        how many were deleted."""
        r = a.api_requests
        return int(self.conn.execute(delete(r).where(r.c.created_at < moment)).rowcount)

    def release(self, request_id: int) -> None:
        r = a.api_requests
        self.conn.execute(delete(r).where(r.c.id == request_id))

    def reclaim(
        self, request_id: int, values: Mapping[str, Any], older_than: datetime | None = None
    ) -> bool:
        """Take over an abandoned in-flight row with fresh values (a new created_at among them).
        With `older_than`, only a row created before it: of two requests reclaiming the same
        row at once, one wins. Returns whether the row was taken over."""
        r = a.api_requests
        stmt = update(r).where(r.c.id == request_id, r.c.state == "in_flight")
        if older_than is not None:
            stmt = stmt.where(r.c.created_at < older_than)
        fresh = {
            **values,
            "state": "in_flight",
            "status_code": None,
            "content_type": None,
            "body": None,
            "headers": None,
            "finished_at": None,
        }
        return bool(self.conn.execute(stmt, fresh).rowcount)
