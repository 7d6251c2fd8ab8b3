"""A billing desk behind the API: the test book (tests/fixtures_book.py) plus a second legal
entity, a user of each role in ACME, a specialist of OTHER, and an API key that may only read.

Every user's password is PASSWORD; `desk.client(role)` is a TestClient logged in as that role
(through POST /v1/sessions, so the session cookie is the real one)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fixtures_book import ENTITY

from openbill.adapters.security import Argon2Hasher
from openbill.bootstrap import Book
from openbill.interfaces.api import create_app
from openbill.usecases import access
from openbill.usecases import masterdata as m

OTHER = "OTHER"
PASSWORD = "correct horse battery staple"
ROLES = ("clerk", "specialist", "manager", "auditor", "administrator")


@dataclass
class Desk:
    book: Book
    app: Any
    keys: dict[str, str] = field(default_factory=dict)
    _clients: list[TestClient] = field(default_factory=list)

    def anonymous(self) -> TestClient:
        client = TestClient(self.app, raise_server_exceptions=False)
        self._clients.append(client)
        return client

    def client(self, username: str) -> TestClient:
        client = self.anonymous()
        reply = client.post("/v1/sessions", json={"username": username, "password": PASSWORD})
        assert reply.status_code == 201, reply.text
        return client

    def with_key(self, name: str) -> TestClient:
        client = self.anonymous()
        client.headers["Authorization"] = f"Bearer {self.keys[name]}"
        return client

    def close(self) -> None:
        for c in self._clients:
            c.close()


# argon2id with the least work: a desk makes six users and every client logs in, and the
# library's defaults cost about a tenth of a second each. tests/access checks the real ones.
CHEAP_HASHER = {"time_cost": 1, "memory_cost": 8192, "parallelism": 1}


def build_desk(book: Book) -> Desk:
    book.hasher = Argon2Hasher(**CHEAP_HASHER)
    m.create_entity(book.uow(), m.CreateEntity(OTHER, "Other SA", "FR", "EUR"))
    for role in ROLES:
        access.add_user(
            book.uow(), book.hasher, access.AddUser(role, role.title(), role, (ENTITY,), PASSWORD)
        )
    access.add_user(
        book.uow(),
        book.hasher,
        access.AddUser("other", "Other Specialist", "specialist", (OTHER,), PASSWORD),
    )
    desk = Desk(book, create_app(book))
    for name, scopes in (("reader", ("read",)), ("poster", ("read", "payments.post"))):
        made = access.create_api_key(book.uow(), access.CreateApiKey(ENTITY, name, scopes, "tests"))
        desk.keys[name] = made.token
    return desk


@pytest.fixture
def desk(book: Book) -> Iterator[Desk]:
    built = build_desk(book)
    try:
        yield built
    finally:
        built.close()
