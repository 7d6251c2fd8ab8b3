"""The ports the use cases need. Adapters implement them; use cases only see these shapes.

The unit of work is the one transaction a use case runs in: it is entered with `with`, gives
access to the repositories, and commits only when the use case says so. Leaving the block
without commit rolls everything back, so a failure half-way leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, Protocol

__all__ = ["Clock", "UnitOfWork", "UnitOfWorkFactory"]


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

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc: object) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def defer_inserts(self, tables: Sequence[str]) -> bool: ...


UnitOfWorkFactory = Callable[..., UnitOfWork]
