"""The ports the use cases need. Adapters implement them; use cases only see these shapes.

The unit of work is the one transaction a use case runs in: it is entered with `with`, gives
access to the repositories, and commits only when the use case says so. Leaving the block
without commit rolls everything back, so a failure half-way leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, Protocol

__all__ = ["Clock", "UnitOfWork", "UnitOfWorkFactory", "PasswordHasher", "OneTimeCodes"]


class Clock(Protocol):
    def now(self) -> datetime: ...

    def today(self) -> date: ...


class UnitOfWork(Protocol):
    actor: str
    clock: Clock
    dialect: str
    entities: Any
    customers: Any
    catalog: Any
    documents: Any
    money: Any
    ledger: Any
    audit: Any
    chains: Any
    idempotency: Any
    reports: Any
    verification: Any
    commercial: Any
    outbox: Any
    statements: Any
    fx: Any
    disputes: Any
    dunning: Any
    metrics: Any
    bank: Any
    access: Any
    api_requests: Any
    desk: Any  # the web desk's reads (usecases.desk)
    webhooks: Any

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc: object) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def defer_inserts(self, tables: Sequence[str]) -> bool: ...


UnitOfWorkFactory = Callable[..., UnitOfWork]


class PasswordHasher(Protocol):
    """Slow, salted password hashes (argon2id in production)."""

    def hash(self, password: str) -> str: ...

    def verify(self, hash: str, password: str) -> bool:
        """Whether `password` matches; False (never an exception) for a wrong password or a
        hash it cannot read."""
        ...

    def needs_rehash(self, hash: str) -> bool:
        """Whether `hash` was made with other parameters than the current ones."""
        ...


class OneTimeCodes(Protocol):
    """Time-based one-time codes (TOTP, RFC 6238: 6 digits, 30-second steps)."""

    def new_secret(self) -> str: ...

    def step_of(self, secret: str, code: str, at: datetime) -> int | None:
        """The 30-second step (counted from the Unix epoch) whose code `code` is, if that
        step is the one of `at` or one before or after it; None otherwise. A caller that
        remembers the last step it accepted can refuse a code used twice."""
        ...

    def provisioning_uri(self, secret: str, name: str, issuer: str) -> str:
        """The otpauth:// URI an authenticator app reads (usually as a QR code)."""
        ...
