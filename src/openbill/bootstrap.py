"""The composition root: wires the SQL adapters and a clock into a Book the interfaces use."""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine, make_url

from openbill.adapters.clock import SystemClock
from openbill.adapters.crypto import KeyRing, KeySource, keys_for
from openbill.adapters.security import Argon2Hasher, TotpCodes
from openbill.adapters.sql.engine import make_engine, migrate, normalize_url
from openbill.adapters.sql.rotation import check_key_file
from openbill.adapters.sql.sealed import install_keyring
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
    keys: KeySource
    clock: Clock = field(default_factory=SystemClock)
    hasher: PasswordHasher = field(default_factory=Argon2Hasher)  # argon2id, library defaults
    codes: OneTimeCodes = field(default_factory=TotpCodes)

    def uow(self, read_only: bool = False, actor: str | None = None) -> SqlUnitOfWork:
        """A unit of work on this book; `actor` (who the audit trail names) defaults to the
        book's own, the API and web pages pass the logged-in user or API key."""
        who = self.actor if actor is None else actor
        return SqlUnitOfWork(self.engine, self.clock, who, read_only=read_only)

    @property
    def ring(self) -> KeyRing:
        """The data keys that seal and open the book's sensitive fields."""
        return self.keys.ring

    def close(self) -> None:
        self.engine.dispose()


def open_book(
    path_or_url: str | None = None,
    *,
    actor: str | None = None,
    clock: Clock | None = None,
    migrate_schema: bool = True,
) -> Book:
    """Open (and migrate) a book. Its data keys come from OPENBILL_DATA_KEYS, or for a local
    SQLite file from the key file beside it, made now on first use (`Book.keys.created`: the
    CLI says so); any other database without the variable raises `KeyConfigError`."""
    settings = Settings()
    url = normalize_url(path_or_url or settings.database_url)
    parsed = make_url(url)
    keys = keys_for(
        parsed.get_backend_name(), parsed.database, settings.data_keys.get_secret_value()
    )
    engine = make_engine(url)
    install_keyring(engine, keys.ring)
    try:
        if migrate_schema:
            migrate(engine)
        if keys.created:
            check_key_file(engine, keys)
    except Exception:
        engine.dispose()
        raise
    who = actor or settings.actor or _login_name()
    return Book(url=url, engine=engine, actor=who, keys=keys, clock=clock or SystemClock())


def _login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "openbill"
