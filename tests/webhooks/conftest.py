"""Fixtures of the webhook tests: the test book with an endpoint subscribed to events, the
events and deliveries written, and a real HTTP receiver on loopback (http.server on
127.0.0.1, port 0, in a thread) that checks every request with
`openbill.webhook_signature.verify` and answers from a script."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fixtures_book import ENTITY
from sqlalchemy import text

from openbill.bootstrap import Book
from openbill.usecases import webhooks as wh
from openbill.webhook_signature import SignatureError, verify

HOOK_URL = "https://hooks.example/openbill"


def add_endpoint(
    book: Book, *events: str, url: str = HOOK_URL, entity: str = ENTITY
) -> wh.EndpointCreated:
    return wh.add_endpoint(book.uow(), wh.AddEndpoint(entity, url, events or ("all",)))


@dataclass(frozen=True)
class Event:
    event_id: str
    type: str
    subject: str
    body: dict[str, Any]
    endpoints: tuple[int, ...]


def events(book: Book, type_: str = "") -> list[Event]:
    """Every event written, oldest first, with the endpoints it goes to."""
    sql = text(
        "SELECT e.id, e.event_id, e.event_type, e.subject, e.payload FROM webhook_events e "
        "ORDER BY e.id"
    )
    deliveries = text("SELECT event_id, endpoint_id FROM webhook_deliveries ORDER BY id")
    with book.engine.connect() as conn:
        rows = conn.execute(sql).all()
        targets: dict[int, list[int]] = {}
        for event_pk, endpoint_id in conn.execute(deliveries):
            targets.setdefault(int(event_pk), []).append(int(endpoint_id))
    out = [
        Event(r.event_id, r.event_type, r.subject, json.loads(r.payload), tuple(targets[r.id]))
        for r in rows
    ]
    return [e for e in out if not type_ or e.type == type_]


def types(book: Book) -> list[tuple[str, str]]:
    return [(e.type, e.subject) for e in events(book)]


@pytest.fixture
def hooked(book: Book) -> tuple[Book, wh.EndpointCreated]:
    """The test book with one endpoint subscribed to every event."""
    return book, add_endpoint(book)


# ---------------------------------------------------------------------------------------------
# A real receiver


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool
    why: str = ""


@dataclass
class Receiver:
    """What arrived; `answers` is the status to give each request in turn (the last one
    repeats); "hang" waits (up to 10 s) until `release` is set, to provoke a timeout."""

    secrets: list[str]
    now: Callable[[], datetime]
    answers: list[int | str] = field(default_factory=lambda: [200])
    arrived: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def answer(self, headers: dict[str, str], body: bytes) -> int | str:
        try:
            verify(self.secrets, headers.get("Openbill-Signature", ""), body, self.now())
            self.arrived.append(Received(headers, body, True))
        except SignatureError as exc:
            self.arrived.append(Received(headers, body, False, str(exc)))
        return self.answers[min(len(self.arrived), len(self.answers)) - 1]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            answer = receiver.answer(dict(self.headers.items()), body)
            if answer == "hang":
                receiver.release.wait(10)
                answer = 200
            self.send_response(int(answer))
            payload = b"gone for good" if answer == 410 else b"ok"
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:  # keep the test output quiet
            pass

    return Handler


@pytest.fixture
def receiver_for() -> Iterator[Callable[..., Receiver]]:
    servers: list[tuple[ThreadingHTTPServer, Receiver]] = []

    def start(secrets: list[str], now: Callable[[], datetime], *answers: int | str) -> Receiver:
        receiver = Receiver(list(secrets), now, list(answers) or [200])
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
        server.daemon_threads = True
        receiver.port = int(server.server_address[1])
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append((server, receiver))
        return receiver

    yield start
    for server, receiver in servers:
        receiver.release.set()
        server.shutdown()
        server.server_close()
