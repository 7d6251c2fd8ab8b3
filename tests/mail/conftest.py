"""Fixtures of the mail tests: a real SMTP server on loopback (aiosmtpd) that keeps what
arrives and answers from a script, a book whose customers have e-mail addresses, and a fake
document renderer."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from fixtures_book import ENTITY

from openbill.adapters.mail import SmtpMailer, SmtpSettings
from openbill.adapters.sql.outbox_repo import WithOutbox
from openbill.bootstrap import Book
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


@pytest.fixture
def mail_book(book: Book) -> Book:
    for code, address in EMAILS.items():
        m.update_customer(book.uow(), m.UpdateCustomer(ENTITY, code, (("email", address),)))
    return book


@pytest.fixture
def uows(mail_book: Book) -> Callable[[], Any]:
    return lambda: WithOutbox(mail_book.uow())


def queue(uows: Callable[[], Any], renderer: Any, number: str) -> ml.Queued:
    return ml.queue_document(uows(), ml.QueueDocument(ENTITY, number, sender=SENDER), renderer)


def parts(message: EmailMessage) -> dict[str, tuple[str, bytes]]:
    """Attachments of an arrived message: {filename: (content type, bytes)}."""
    return {
        part.get_filename(): (part.get_content_type(), part.get_payload(decode=True))
        for part in message.iter_attachments()
    }
