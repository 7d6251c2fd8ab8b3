"""Housekeeping: sign-in attempts are forgotten after 7 days and API Idempotency-Key records
after a day (usecases.access.prune, `openbill users prune`, and hourly in `openbill serve`);
the audit trail keeps every sign-in and says what was forgotten."""

from __future__ import annotations

import json
import time

import pytest
from fixtures_book import ENTITY
from sqlalchemy import func, select

from openbill.adapters.sql import tables as t
from openbill.adapters.sql import tables_access as ta
from openbill.domain.rejections import Unauthenticated
from openbill.interfaces.api import create_app
from openbill.interfaces.cli.serve_cmds import Housekeeping
from openbill.usecases import access as ua

from .test_sign_in import PW, add, log_in

DAY_S = 86400


def _count(book, table) -> int:
    with book.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _attempt_rows(book) -> list[tuple[str, bool]]:
    with book.engine.connect() as conn:
        rows = conn.execute(
            select(ta.login_attempts.c.reason, ta.login_attempts.c.succeeded).order_by(
                ta.login_attempts.c.id
            )
        )
        return [(r.reason, bool(r.succeeded)) for r in rows]


def test_attempts_older_than_seven_days_are_forgotten_the_audit_trail_keeps_them(desk):
    add(desk)
    with pytest.raises(Unauthenticated):
        log_in(desk, password="wrong password here")  # day 0
    log_in(desk)  # day 0
    desk.clock.advance(seconds=6 * DAY_S)
    log_in(desk)  # day 6
    desk.clock.advance(seconds=DAY_S + 1)  # day 7 and a second: day 0 is older than 7 days
    done = ua.prune(desk.uow())
    assert (done.attempts, done.idempotency_keys) == (2, 0)
    assert _attempt_rows(desk) == [("ok", True)]  # day 6's stays
    with desk.uow(read_only=True) as uow:
        events = uow.audit.events()
    assert sum(e.action == "log_in_failed" for e in events) == 1  # still in the audit trail
    assert sum(e.action == "log_in" for e in events) == 2
    pruned = [e for e in events if e.action == "records_pruned"]
    assert len(pruned) == 1
    assert json.loads(pruned[0].after) == {"login_attempts": 2, "api_requests": 0}
    # nothing more to forget: no second audit event
    assert ua.prune(desk.uow()) == ua.Pruned(0, 0)
    with desk.uow(read_only=True) as uow:
        assert sum(e.action == "records_pruned" for e in uow.audit.events()) == 1


def test_throttling_still_counts_the_failures_of_the_last_minutes_after_pruning(desk):
    add(desk)
    for _ in range(4):
        with pytest.raises(Unauthenticated):
            log_in(desk, password="wrong password here")
    ua.prune(desk.uow())  # the four are minutes old: kept
    assert len(_attempt_rows(desk)) == 4


def test_idempotency_keys_are_forgotten_after_a_day_and_may_be_used_again(desk):
    from fastapi.testclient import TestClient

    key = ua.create_api_key(
        desk.uow(), ua.CreateApiKey(ENTITY, "erp", ("read", "payments.post"), "tests")
    ).token
    client = TestClient(create_app(desk))
    client.headers["Authorization"] = f"Bearer {key}"
    url = f"/v1/entities/{ENTITY}/payments"
    headers = {"Idempotency-Key": "wire-17"}
    first = client.post(url, json={"customer": "C1", "amount": "10.00"}, headers=headers)
    assert first.status_code == 201, first.text
    other = {"customer": "C1", "amount": "12.00"}
    assert client.post(url, json=other, headers=headers).status_code == 422  # same key, other body
    desk.clock.advance(seconds=DAY_S - 1)
    assert ua.prune(desk.uow()).idempotency_keys == 0  # a day is not over yet
    desk.clock.advance(seconds=2)
    assert ua.prune(desk.uow()).idempotency_keys == 1
    again = client.post(url, json=other, headers=headers)
    assert again.status_code == 201, again.text  # a new request now: a second payment
    assert again.json()["id"] != first.json()["id"]
    assert _count(desk, t.payments) == 2
    client.close()


def test_serve_housekeeping_prunes_at_start_and_stops(desk):
    add(desk)
    log_in(desk)
    desk.clock.advance(seconds=8 * DAY_S)
    keeper = Housekeeping(desk, interval_s=3600)
    keeper.start()
    deadline = time.monotonic() + 30
    while keeper.runs == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    keeper.stop()
    assert keeper.runs == 1
    assert _attempt_rows(desk) == []
    assert not keeper._thread.is_alive()


def test_users_prune_prints_what_it_forgot(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from openbill.bootstrap import open_book
    from openbill.interfaces.cli.main import app

    db = str(tmp_path / "book.db")
    book = open_book(db, actor="tests")
    try:
        ua.add_user(book.uow(), book.hasher, ua.AddUser("anna", "", "clerk", (), PW))
    finally:
        book.close()
    result = CliRunner().invoke(app, ["users", "prune", "--db", db])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "forgot 0 sign-in attempts and 0 Idempotency-Key records"
