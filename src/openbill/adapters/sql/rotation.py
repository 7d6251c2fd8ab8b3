"""The state of the sealed fields and key rotation (`openbill keys status`, `keys rotate`,
migration 0013; docs/security.md).

`status` counts, per sensitive field, the values sealed under each key id, the values still in
plain text (stored before encryption) and the blind indexes not made under the first key; it
reads the key ids from the stored values and opens nothing.

`rotate` re-seals under the first key every value that is not (plain text included) and
remakes every blind index that was made under another key, field by field, in batches of
rows taken in id order: each batch reads its rows, re-seals them, checks that each new value
opens to the same text, and writes them in its own transaction. A write names the old value
(`WHERE ... AND col = old`), so a row changed meanwhile by openbill itself (sealed under the
first key already) is left alone. Interrupted, nothing is half-done: a new run picks up the
rows that are still under an old key. Bank lines are append-only; migration 0013 lets an
UPDATE through only when it sets nothing but their sealed account and its blind index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as default
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from openbill.adapters.crypto import (
    INDEX_PREFIX,
    SEALED_PREFIX,
    KeyConfigError,
    KeyRing,
    KeySource,
)
from openbill.adapters.sql.engine import READ_ONLY
from openbill.adapters.sql.sealed import open_stored
from openbill.domain.sensitive import SENSITIVE_FIELDS, SensitiveField

__all__ = [
    "BATCH_DEFAULT",
    "BATCH_MAX",
    "FieldState",
    "KeyStatus",
    "Rotated",
    "status",
    "rotate",
    "seal_existing",
    "check_key_file",
]

BATCH_DEFAULT = 1_000  # rows re-sealed per transaction
BATCH_MAX = 50_000

Progress = Callable[[SensitiveField, int], None]


@dataclass(frozen=True)
class FieldState:
    field: SensitiveField
    present: bool  # the table and column exist in this database
    by_key: dict[str, int] = default(default_factory=dict)  # sealed values per key id
    plain: int = 0  # values stored before encryption, not sealed yet
    stale_indexes: int = 0  # blind indexes missing or made under a key other than the first
    to_do: int = 0  # rows a rotation has to rewrite


@dataclass(frozen=True)
class KeyStatus:
    primary: str
    ring: tuple[str, ...]
    fields: tuple[FieldState, ...]

    def by_key(self) -> dict[str, int]:
        """Sealed values per key id, over every field; keys of the ring that hold none: 0."""
        out = dict.fromkeys(self.ring, 0)
        for state in self.fields:
            for key_id, n in state.by_key.items():
                out[key_id] = out.get(key_id, 0) + n
        return out

    @property
    def plain(self) -> int:
        return sum(s.plain for s in self.fields)

    @property
    def stale_indexes(self) -> int:
        return sum(s.stale_indexes for s in self.fields)

    @property
    def to_do(self) -> int:
        return sum(s.to_do for s in self.fields)

    @property
    def unknown(self) -> tuple[str, ...]:
        """Key ids that hold values but are not in the ring: those values cannot be opened."""
        return tuple(k for k, n in self.by_key().items() if n and k not in self.ring)


@dataclass(frozen=True)
class Rotated:
    key_id: str
    values_resealed: int
    indexes_remade: int
    batches: int
    complete: bool  # nothing is left under another key (False: stopped early)


# -- status ---------------------------------------------------------------------------------------


def _present(conn: Connection, f: SensitiveField) -> bool:
    insp = inspect(conn)
    if not insp.has_table(f.table):
        return False
    names = {c["name"] for c in insp.get_columns(f.table)}
    return f.column in names and (not f.indexed or f.index_column in names)


def _key_id_sql(conn: Connection, column: str) -> str:
    if conn.dialect.name == "postgresql":
        return f"split_part({column}, ':', 2)"
    n = len(SEALED_PREFIX) + 1
    return f"substr({column}, {n}, instr(substr({column}, {n}), ':') - 1)"


def _filled(column: str) -> str:
    return f"({column} IS NOT NULL AND {column} <> '')"


def _under(column: str, prefix: str) -> str:
    # substr, not LIKE: a key id may hold "_", which LIKE reads as a wildcard
    return f"substr({column}, 1, {len(prefix)}) = '{prefix}'"


def _work(f: SensitiveField, ring: KeyRing) -> str:
    """The condition of a row a rotation has to rewrite."""
    col = f.column
    sealed = f"{SEALED_PREFIX}{ring.primary}:"
    cond = f"({_filled(col)} AND NOT {_under(col, sealed)})"
    if f.indexed:
        idx, current = f.index_column, f"{INDEX_PREFIX}{ring.primary}:"
        cond += (
            f" OR ({_filled(col)} AND ({idx} IS NULL OR NOT {_under(idx, current)}))"
            f" OR (NOT {_filled(col)} AND {idx} IS NOT NULL)"
        )
    return f"({cond})"


def _field_state(conn: Connection, f: SensitiveField, ring: KeyRing) -> FieldState:
    if not _present(conn, f):
        return FieldState(f, False)
    col, table = f.column, f.table
    by_key = {
        str(k): int(n)
        for k, n in conn.execute(
            text(
                f"SELECT {_key_id_sql(conn, col)}, COUNT(*) FROM {table} "
                f"WHERE {_under(col, SEALED_PREFIX)} GROUP BY 1"
            )
        )
    }
    unsealed = f"{_filled(col)} AND NOT {_under(col, SEALED_PREFIX)}"
    plain = conn.execute(text(f"SELECT COUNT(*) FROM {table} WHERE {unsealed}")).scalar_one()
    stale = 0
    if f.indexed:
        idx, current = f.index_column, f"{INDEX_PREFIX}{ring.primary}:"
        stale = conn.execute(
            text(
                f"SELECT COUNT(*) FROM {table} WHERE {_filled(col)} "
                f"AND ({idx} IS NULL OR NOT {_under(idx, current)})"
            )
        ).scalar_one()
    to_do = conn.execute(text(f"SELECT COUNT(*) FROM {table} WHERE {_work(f, ring)}")).scalar_one()
    return FieldState(f, True, by_key, int(plain), int(stale), int(to_do))


def _reading(engine: Engine) -> Connection:
    return engine.connect().execution_options(**{READ_ONLY: True})


def status(engine: Engine, ring: KeyRing) -> KeyStatus:
    with _reading(engine) as conn:
        states = tuple(_field_state(conn, f, ring) for f in SENSITIVE_FIELDS)
        conn.rollback()
    return KeyStatus(ring.primary, ring.ids, states)


# -- rotation -------------------------------------------------------------------------------------


def _batch(
    conn: Connection, ring: KeyRing, f: SensitiveField, after: int, limit: int
) -> tuple[int, int, int, int]:
    """Rewrite up to `limit` rows of `f` after id `after`: (rows read, values re-sealed,
    blind indexes remade, last id). Raises DataKeyError when a value does not open."""
    col, table = f.column, f.table
    cols = f"id, {col}" + (f", {f.index_column}" if f.indexed else "")
    rows = conn.execute(
        text(
            f"SELECT {cols} FROM {table} WHERE id > :after AND {_work(f, ring)} "
            "ORDER BY id LIMIT :limit"
        ),
        {"after": after, "limit": limit},
    ).all()
    if not rows:
        return 0, 0, 0, after
    sealed_prefix = f"{SEALED_PREFIX}{ring.primary}:"
    updates: list[dict[str, Any]] = []
    resealed = reindexed = 0
    for row in rows:
        old = row[1] or ""
        plain = open_stored(ring, f, old) if old else ""
        new = old
        if old and not old.startswith(sealed_prefix):
            new = ring.seal(plain, f.name)
            if ring.open(new, f.name) != plain:  # never written unless it reads back
                raise KeyConfigError(f"{f.name}: a re-sealed value does not read back")
            resealed += 1
        params: dict[str, Any] = {"id": row[0], "old": old, "new": new or row[1]}
        if f.indexed:
            params["idx"] = ring.blind(f.kind, plain) if plain else None
            reindexed += params["idx"] != row[2]
        updates.append(params)
    sets = f"{col} = :new" + (f", {f.index_column} = :idx" if f.indexed else "")
    conn.execute(
        text(f"UPDATE {table} SET {sets} WHERE id = :id AND COALESCE({col}, '') = :old"),
        updates,
    )
    return len(rows), resealed, reindexed, int(rows[-1][0])


def rotate(
    engine: Engine,
    ring: KeyRing,
    batch_size: int = BATCH_DEFAULT,
    progress: Progress | None = None,
    batches_max: int | None = None,
) -> Rotated:
    """Re-seal every value under the first key and remake its blind index, each batch its
    own transaction (see the module's docstring). `batches_max` stops after that many batches
    (the rest waits for the next run)."""
    if not 1 <= batch_size <= BATCH_MAX:
        raise ValueError(f"a batch holds 1 to {BATCH_MAX} rows")
    resealed = remade = batches = 0
    for f in SENSITIVE_FIELDS:
        with _reading(engine) as conn:
            present = _present(conn, f)
            conn.rollback()
        if not present:
            continue
        after = 0
        while True:
            if batches_max is not None and batches >= batches_max:
                return Rotated(ring.primary, resealed, remade, batches, False)
            with engine.begin() as conn:
                n, sealed_now, indexed_now, after = _batch(conn, ring, f, after, batch_size)
            if not n:
                break
            batches += 1
            resealed += sealed_now
            remade += indexed_now
            if progress is not None:
                progress(f, n)
    return Rotated(ring.primary, resealed, remade, batches, True)


def seal_existing(conn: Connection, ring: KeyRing) -> int:
    """Seal, in the caller's transaction, every value stored in plain text (and index it):
    what migration 0013 does to a book made before encryption. Returns the rows rewritten."""
    done = 0
    for f in SENSITIVE_FIELDS:
        if not _present(conn, f):
            continue
        after = 0
        while True:
            n, _, _, after = _batch(conn, ring, f, after, BATCH_DEFAULT)
            if not n:
                break
            done += n
    return done


def check_key_file(engine: Engine, keys: KeySource) -> None:
    """After a key file was made for a book: refuse (and remove the new file) when the book
    already holds values sealed under other keys - its own key file went missing, and a new
    key would only seal new values under a key nothing else knows."""
    found = status(engine, keys.ring).unknown
    if not found or keys.path is None:
        return
    keys.path.unlink(missing_ok=True)
    raise KeyConfigError(
        f"the book holds values sealed under data key(s) {', '.join(found)}, but its key file "
        f"{keys.path} was missing: restore that file from your backup, or give the keys in "
        "OPENBILL_DATA_KEYS"
    )
