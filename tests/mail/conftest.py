"""Fixtures of the mail tests: a real SMTP server on loopback (aiosmtpd) that keeps what
arrives and answers from a script, a book whose customers have e-mail addresses, and a fake
document renderer."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from conftest import PG_URL_ENV, fresh_pg_database
from fixtures_book import ENTITY, build_book
from psycopg import sql
from sqlalchemy.engine import make_url

from openbill.adapters.clock import FixedClock
from openbill.adapters.mail import SmtpMailer, SmtpSettings
from openbill.bootstrap import Book, open_book
from openbill.usecases import mailing as ml
from openbill.usecases import masterdata as m

SENDER = "billing@acme.example"
EMAILS = {"C1": "ap@alpha.example", "C3": "invoices@gamma.example"}
SMTP_USER = "openbill"
SMTP_PASSWORD = "s3cret-Pa55word-xyzzy"


class FakeRenderer:
    """Bytes that name the document, so a test can tell which one it got."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def pdf(self, uow: Any, entity_code: str, number: str) -> bytes:
        self.calls.append(("pdf", entity_code, number))
        return f"%PDF-1.7 fake {entity_code} {number}\n%%EOF\n".encode()

    def xml(self, uow: Any, entity_code: str, number: str, syntax: str) -> bytes:
        self.calls.append(("xml", entity_code, number, syntax))
        return f'<?xml version="1.0"?><Invoice syntax="{syntax}">{number}</Invoice>'.encode()


@dataclass
class Arrived:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Handler:
    """Stores each accepted message; answers DATA from `script` (then 250)."""

    script: list[str] = field(default_factory=list)
    rcpt_refusal: str = ""
    arrived: list[Arrived] = field(default_factory=list)
    data_commands: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.rcpt_refusal:
            return self.rcpt_refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.data_commands += 1
        reply = self.script.pop(0) if self.script else "250 2.0.0 queued as 42"
        if reply.startswith("250"):
            parsed = message_from_bytes(envelope.content, policy=policy.default)
            self.arrived.append(Arrived(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return reply


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    handler: Handler
    port: int
    auth: bool = False

    def settings(self, **changes: Any) -> SmtpSettings:
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "sender": SENDER,
            "timeout_s": 5.0,
            "helo": "openbill.test",
        }
        if self.auth:
            values.update(user=SMTP_USER, password=SMTP_PASSWORD)
        values.update(changes)
        return SmtpSettings(**values)

    def mailer(self, **changes: Any) -> SmtpMailer:
        return SmtpMailer(self.settings(**changes))


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == SMTP_USER.encode()
        and auth_data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


def _serve(handler: Handler, **kwargs: Any) -> Iterator[Server]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield Server(handler, port, auth="authenticator" in kwargs)
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[Server]:
    yield from _serve(Handler())


@pytest.fixture
def smtp_auth() -> Iterator[Server]:
    """A server that requires AUTH (over plain text on loopback: tests only)."""
    yield from _serve(
        Handler(), authenticator=_authenticator, auth_required=True, auth_require_tls=False
    )


@pytest.fixture
def renderer() -> FakeRenderer:
    return FakeRenderer()


@pytest.fixture(scope="session")
def mail_template(database_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The small book with e-mail addresses, built once per run: each test gets a copy, which
    is several times faster than migrating and filling a new database (mostly on PostgreSQL)."""
    if database_backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('mail-template')}/book.db"
        _fill(url)
        yield url
        return
    with fresh_pg_database(os.environ[PG_URL_ENV]) as url:
        _fill(url)
        yield url


def _fill(url: str) -> None:
    book = build_book(url, FixedClock(datetime(2026, 1, 1, 9, 0, tzinfo=UTC)))
    try:
        for code, address in EMAILS.items():
            m.update_customer(book.uow(), m.UpdateCustomer(ENTITY, code, (("email", address),)))
    finally:
        book.close()
    if url.startswith("sqlite"):
        # Everything into the main file, so that copying that one file copies the book.
        with closing(sqlite3.connect(str(make_url(url).database))) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@contextmanager
def _copy_of(template: str, tmp_path: Path) -> Iterator[str]:
    source = make_url(template)
    if source.get_backend_name() == "sqlite":
        target = tmp_path / "book.db"
        shutil.copyfile(str(source.database), target)
        yield f"sqlite:///{target}"
        return
    name = f"openbill_t_{secrets.token_hex(6)}"
    admin = source.set(drivername="postgresql", database="postgres")
    conninfo = admin.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(str(source.database))
            )
        )
    try:
        yield source.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def mail_book(mail_template: str, tmp_path: Path, clock: FixedClock) -> Iterator[Book]:
    with _copy_of(mail_template, tmp_path) as url:
        book = open_book(url, actor="tests", clock=clock)
        try:
            yield book
        finally:
            book.close()


@pytest.fixture
def uows(mail_book: Book) -> Callable[[], Any]:
    return lambda: mail_book.uow()


def queue(uows: Callable[[], Any], renderer: Any, number: str) -> ml.Queued:
    return ml.queue_document(uows(), ml.QueueDocument(ENTITY, number, sender=SENDER), renderer)


def parts(message: EmailMessage) -> dict[str, tuple[str, bytes]]:
    """Attachments of an arrived message: {filename: (content type, bytes)}."""
    return {
        part.get_filename(): (part.get_content_type(), part.get_payload(decode=True))
        for part in message.iter_attachments()
    }
