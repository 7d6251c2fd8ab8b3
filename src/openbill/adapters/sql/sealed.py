"""Sealed columns: the SQL side of adapters/crypto.py (docs/security.md).

Every field of `domain.sensitive.SENSITIVE_FIELDS` gets, when its table is defined, the column
type `Sealed`: SQLAlchemy seals what a statement writes into it and opens what a query reads
from it, with the key ring installed on the engine (`install_keyring`, done by
`bootstrap.open_book`). Indexed fields also get a blind index column `<column>_bidx` (with an
index) beside them. So repositories and use cases read and write plain text as before; what
bypasses SQLAlchemy's types is handled here too:

- `seal_row`: the rows `raw` writes through the driver cursor (bank lines, learned payers);
- `with_indexes`: the blind indexes of a row written through SQLAlchemy Core;
- `fresh_index`: a stored blind index as of the first key, recomputed from the value while
  a rotation has not reached its row yet (so bank matching compares like with like);
- `visible`: a table's columns without the blind indexes, for rows that become audit
  snapshots or revisions.

A sealed column refuses SQL comparisons (`==`, `IN`, `LIKE`): sealing is randomised, so they
would never match; compare its blind index instead. Empty values ("" and NULL) are stored as
they are. A value stored before encryption (plain text) is read as it is until
`openbill keys rotate` or migration 0013 seals it.

On PostgreSQL a sealed column is TEXT; on SQLite it keeps its declared type, whose length
SQLite does not enforce, so that no table has to be rebuilt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Column, Index, MetaData, String, Table, Text, event, type_coerce
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator, TypeEngine

from openbill.adapters.crypto import DataKeyError, KeyRing, is_sealed
from openbill.domain.sensitive import SENSITIVE_FIELDS, SensitiveField

__all__ = [
    "INDEX_LENGTH",
    "NoDataKeys",
    "Sealed",
    "install_keyring",
    "watch",
    "ring_of",
    "keyring_or_none",
    "seal_row",
    "with_indexes",
    "fresh_index",
    "open_stored",
    "stored",
    "visible",
    "Fresh",
    "refresh",
    "sealed_tables",
    "FIELDS",
]

INDEX_LENGTH = 100  # "bi1:" + key id (24 at most) + ":" + 64 hex digits

FIELDS: dict[tuple[str, str], SensitiveField] = {(f.table, f.column): f for f in SENSITIVE_FIELDS}
_BY_TABLE: dict[str, tuple[SensitiveField, ...]] = {}
for _f in SENSITIVE_FIELDS:
    _BY_TABLE[_f.table] = (*_BY_TABLE.get(_f.table, ()), _f)

_TABLES = frozenset(_BY_TABLE)


def sealed_tables() -> frozenset[str]:
    """The tables with sensitive fields."""
    return _TABLES


_RINGS: WeakKeyDictionary[Dialect, KeyRing] = WeakKeyDictionary()


class NoDataKeys(DataKeyError):
    """An engine without a key ring touched a sealed column."""


def install_keyring(engine: Engine, ring: KeyRing) -> None:
    """Seal and open this engine's sealed columns with `ring` (each engine has its own
    dialect object; the ring hangs on it)."""
    _RINGS[engine.dialect] = ring


def keyring_or_none(dialect: Dialect) -> KeyRing | None:
    return _RINGS.get(dialect)


def ring_of(dialect: Dialect) -> KeyRing:
    ring = _RINGS.get(dialect)
    if ring is None:
        raise NoDataKeys(
            "this database was opened without data keys; open it with "
            "openbill.bootstrap.open_book, which finds them (docs/security.md)"
        )
    return ring


_REFUSED = {
    operators.eq,
    operators.ne,
    operators.in_op,
    operators.not_in_op,
    operators.like_op,
    operators.not_like_op,
    operators.ilike_op,
    operators.not_ilike_op,
    operators.startswith_op,
    operators.endswith_op,
    operators.contains_op,
}


class Sealed(TypeDecorator[str]):
    """A column whose values are sealed at rest (see the module's docstring)."""

    impl = Text
    cache_ok = True

    def __init__(self, field: str, declared: TypeEngine[Any]) -> None:
        super().__init__()
        self.field = field  # "customers.iban": the associated data of every value
        self.declared = declared

    class Comparator(TypeDecorator.Comparator[str]):
        def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
            if op in _REFUSED and not (other and other[0] is None):
                raise TypeError(
                    f"{self.expr}: a sealed column cannot be compared in SQL; "
                    "compare its blind index (<column>_bidx)"
                )
            return super().operate(op, *other, **kwargs)

    comparator_factory = Comparator

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        # The type itself, not dialect.type_descriptor(): psycopg would make TEXT a VARCHAR.
        return Text() if dialect.name == "postgresql" else self.declared

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or value == "":
            return value
        if is_sealed(value):
            raise ValueError(f"{self.field}: the value to store is sealed already")
        return ring_of(dialect).seal(str(value), self.field)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if not is_sealed(value):
            return value  # empty, or stored before encryption
        return ring_of(dialect).open(value, self.field)


_WATCHED: list[MetaData] = []


def watch(metadata: MetaData) -> None:
    """Give the sensitive fields of `metadata`'s tables (openbill's schema, not the tables a
    migration describes) their sealed type and blind index as they are defined."""
    if not any(m is metadata for m in _WATCHED):
        _WATCHED.append(metadata)


def _on_attach(column: Column[Any], table: Any) -> None:
    if not isinstance(table, Table) or not any(m is table.metadata for m in _WATCHED):
        return
    found = FIELDS.get((table.name, column.name))
    if found is None or isinstance(column.type, Sealed):
        return
    column.type = Sealed(found.name, column.type)
    if found.indexed and found.index_column not in table.c:
        table.append_column(Column(found.index_column, String(INDEX_LENGTH), nullable=True))
        Index(f"ix_{table.name}_{found.index_column}", table.c[found.index_column])


# tables.py calls `watch` on its metadata before it defines the first table.
event.listen(Column, "after_parent_attach", _on_attach)


# -- rows written and read around SQLAlchemy's types -------------------------------------------


def seal_row(ring: KeyRing, table: str, values: Mapping[str, Any]) -> Mapping[str, Any]:
    """A row for a write through the driver: its sealed fields sealed, their blind indexes set
    (rows of other tables come back as they are)."""
    fields = _BY_TABLE.get(table)
    if not fields:
        return values
    out = dict(values)
    for f in fields:
        if f.column not in out:
            continue
        value = out[f.column]
        if f.indexed:
            out[f.index_column] = ring.blind(f.kind, value) if value else None
        if value:
            if is_sealed(value):
                raise ValueError(f"{f.name}: the value to store is sealed already")
            out[f.column] = ring.seal(str(value), f.name)
    return out


def with_indexes(ring: KeyRing, table: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """A row for a write through SQLAlchemy Core (whose types seal): the blind index of every
    indexed field it sets."""
    out = dict(values)
    for f in _BY_TABLE.get(table, ()):
        if f.indexed and f.column in out:
            value = out[f.column]
            out[f.index_column] = ring.blind(f.kind, value) if value else None
    return out


def open_stored(ring: KeyRing, field: SensitiveField, value: Any) -> Any:
    """The text of a value as stored (read around the type: sealed, or plain from before)."""
    return ring.open(value, field.name) if is_sealed(value) else value


def fresh_index(ring: KeyRing, field: SensitiveField, index: str | None, value: Any) -> str | None:
    """The blind index of a field as of the first key: the stored one when it is, else made
    from the value (`value` as stored, sealed or not). None when the field is empty."""
    if ring.is_current(index):
        return index
    text = open_stored(ring, field, value)
    return ring.blind(field.kind, text) if text else None


def stored(column: Any) -> Any:
    """A sealed column read as stored, without opening it."""
    return type_coerce(column, Text())


def visible(table: Table) -> list[Column[Any]]:
    """The columns of a table without the blind indexes."""
    indexes = {f.index_column for f in _BY_TABLE.get(table.name, ()) if f.indexed}
    return [c for c in table.columns if c.name not in indexes]


class Fresh:
    """A row read from the database with some of its fields given anew (a blind index made
    under the first key); the rest comes from the row."""

    __slots__ = ("_row", "_given")

    def __init__(self, row: Any, given: Mapping[str, Any]) -> None:
        self._row = row
        self._given = dict(given)

    def __getattr__(self, name: str) -> Any:
        given = self._given
        if name in given:
            return given[name]
        return getattr(self._row, name)

    @property
    def _mapping(self) -> Mapping[str, Any]:
        return {**self._row._mapping, **self._given}


def refresh(
    ring: KeyRing, rows: Sequence[Any], field: SensitiveField, value_of: str | None = None
) -> list[Any]:
    """Rows whose blind index of `field` is as of the first key: the ones that are stay the
    same row, the others become `Fresh` with the index made from their (opened) value."""
    name = value_of or field.column
    out: list[Any] = []
    for row in rows:
        index, text = getattr(row, field.index_column), getattr(row, name)
        if (ring.is_current(index) and text) or (index is None and not text):
            out.append(row)
        else:
            made = ring.blind(field.kind, text) if text else None
            out.append(Fresh(row, {field.index_column: made}))
    return out
