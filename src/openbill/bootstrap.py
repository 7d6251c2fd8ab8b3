"""The composition root: wires the SQL adapters and a clock into a Book the interfaces use."""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from openbill.adapters.clock import SystemClock
from openbill.adapters.security import Argon2Hasher, TotpCodes
from openbill.adapters.sql.engine import make_engine, migrate, normalize_url
from openbill.adapters.sql.uow import SqlUnitOfWork
from openbill.config import Settings
from openbill.ports import Clock, OneTimeCodes, PasswordHasher

__all__ = ["Book", "open_book"]


@dataclass
class Book:
    """One openbill database, opened and migrated."""

    url: str
    engine: Engine
    actor: str
    clock: Clock = field(default_factory=SystemClock)
    hasher: PasswordHasher = field(default_factory=Argon2Hasher)  # argon2id, library defaults
    codes: OneTimeCodes = field(default_factory=TotpCodes)

    def uow(self, read_only: bool = False, actor: str | None = None) -> SqlUnitOfWork:
        """A unit of work on this book; `actor` (who the audit trail names) defaults to the
        book's own, the API and web pages pass the logged-in user or API key."""
        who = self.actor if actor is None else actor
        return SqlUnitOfWork(self.engine, self.clock, who, read_only=read_only)

    def close(self) -> None:
        self.engine.dispose()


def open_book(
    path_or_url: str | None = None,
    *,
    actor: str | None = None,
    clock: Clock | None = None,
    migrate_schema: bool = True,
) -> Book:
    settings = Settings()
    url = normalize_url(path_or_url or settings.database_url)
    engine = make_engine(url)
    if migrate_schema:
        migrate(engine)
    who = actor or settings.actor or _login_name()
    return Book(url=url, engine=engine, actor=who, clock=clock or SystemClock())


def _login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "openbill"
