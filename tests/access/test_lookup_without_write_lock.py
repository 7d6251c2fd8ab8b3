"""Who a request is (its API key or session) is read without taking a write lock: the rare
writes (the last use noted once a minute, an expired session ended) go through a unit of work
of their own (`writer`), so a read-only request stays read-only. On SQLite a writable unit of
work begins with BEGIN IMMEDIATE, which made every authenticated request queue for the one
write lock (bench/api.py measures it)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from fixtures_book import ENTITY
from sqlalchemy import select

from openbill.adapters.sql import tables_access as ta
from openbill.interfaces.api import create_app
from openbill.usecases import access as ua

PW = "correct horse battery staple"


class Writers:
    """A writer that counts the writable units of work it hands out."""

    def __init__(self, book) -> None:
        self.book = book
        self.made = 0

    def __call__(self):
        self.made += 1
        return self.book.uow()


def _key(book):
    return ua.create_api_key(book.uow(), ua.CreateApiKey(ENTITY, "erp", ("read",), "admin"))


def _last_used(book):
    with book.engine.connect() as conn:
        return conn.execute(select(ta.api_keys.c.last_used_at)).scalar_one()


def test_an_api_key_is_read_read_only_and_its_use_noted_once_a_minute(desk):
    token = _key(desk).token
    writers = Writers(desk)
    principal = ua.api_key_principal(desk.uow(read_only=True), token, writers)
    assert principal is not None and principal.scopes == {"read"}
    assert writers.made == 1 and _last_used(desk) is not None  # first use: noted
    first = _last_used(desk)
    desk.clock.advance(seconds=59)
    assert ua.api_key_principal(desk.uow(read_only=True), token, writers) == principal
    assert writers.made == 1 and _last_used(desk) == first  # within the minute: no write
    desk.clock.advance(seconds=1)
    assert ua.api_key_principal(desk.uow(read_only=True), token, writers) == principal
    assert writers.made == 2 and _last_used(desk) != first
    assert ua.api_key_principal(desk.uow(read_only=True), "obk_unknown", writers) is None
    assert writers.made == 2


def test_a_session_is_read_read_only_and_an_expired_one_ended_by_the_writer(desk):
    ua.add_user(desk.uow(), desk.hasher, ua.AddUser("anna", "Anna", "clerk", (ENTITY,), PW))
    token = ua.log_in(desk.uow(), desk.hasher, desk.codes, ua.LogIn("anna", PW, "", "")).token
    writers = Writers(desk)
    assert ua.session_principal(desk.uow(read_only=True), token, writer=writers) is not None
    assert writers.made == 0  # just signed in: last seen now
    desk.clock.advance(seconds=60)
    assert ua.session_principal(desk.uow(read_only=True), token, writer=writers) is not None
    assert writers.made == 1  # noted
    desk.clock.advance(seconds=1800)  # 30 minutes idle
    assert ua.session_principal(desk.uow(read_only=True), token, writer=writers) is None
    assert writers.made == 2
    with desk.engine.connect() as conn:
        (reason,) = conn.execute(select(ta.user_sessions.c.end_reason)).one()
    assert reason == "idle_expired"


def test_an_authenticated_read_through_the_api_opens_no_writable_unit_of_work(desk):
    token = _key(desk).token
    client = TestClient(create_app(desk))
    client.headers["Authorization"] = f"Bearer {token}"
    assert client.get(f"/v1/entities/{ENTITY}/invoices").status_code == 200  # notes first use
    opened: list[bool] = []
    real = desk.uow

    def counting(read_only: bool = False, **kwargs):
        opened.append(read_only)
        return real(read_only=read_only, **kwargs)

    desk.uow = counting
    try:
        assert client.get(f"/v1/entities/{ENTITY}/invoices").status_code == 200
        assert client.get(f"/v1/entities/{ENTITY}/customers/C1").status_code == 200
    finally:
        desk.uow = real
    assert opened and all(opened), opened  # every unit of work read-only


def test_an_authenticated_read_is_answered_while_a_long_write_holds_the_lock(desk):
    # A bank import or a bill run holds SQLite's write lock for seconds. Before the lookup was
    # read-only, every authenticated request waited for it (and failed after the 60 s busy
    # timeout). On PostgreSQL readers never waited; the test holds there too.
    token = _key(desk).token
    client = TestClient(create_app(desk))
    client.headers["Authorization"] = f"Bearer {token}"
    assert client.get("/v1/me").status_code == 200  # the first use is noted (a write)
    long_write = desk.uow()
    long_write.__enter__()  # SQLite: BEGIN IMMEDIATE, the write lock held until it ends
    try:
        reply = client.get(f"/v1/entities/{ENTITY}/customers/C1")
    finally:
        long_write.__exit__(None, None, None)
    assert reply.status_code == 200, reply.text
    assert reply.json()["code"] == "C1"
