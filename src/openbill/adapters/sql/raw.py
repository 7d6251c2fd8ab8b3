"""Hot-path writes through the database driver, inside the unit of work's transaction.

SQLAlchemy Core costs tens of microseconds per statement in Python (building the statement,
its cache key, the execution context); issuing an invoice writes about a dozen rows, so that
overhead was most of the time an invoice took. The writes on that path go here instead: SQL
text is built once per (table, columns) and dialect, values are adapted explicitly to what the
driver stores (the same representation SQLAlchemy's types write, so SQLAlchemy reads them back
unchanged), and they run on the DBAPI cursor of the very connection the unit of work holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

__all__ = ["RawWriter"]

_SQL_CACHE: dict[tuple[str, str, str, tuple[str, ...], str], str] = {}


_AS_IS = frozenset({int, str, type(None)})


def _sqlite_value(value: Any) -> Any:
    # The storage formats of SQLAlchemy's SQLite types (DATE, DATETIME, BOOLEAN) and of
    # openbill's ExactDecimal (canonical text): a row written here reads back the same.
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return (
            f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
            f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
        )
    if isinstance(value, date):
        return value.isoformat()
    return value


class RawWriter:
    def __init__(self, conn: Connection) -> None:
        self.dialect = conn.dialect.name
        self._pg = self.dialect == "postgresql"
        self._cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]

    def _sql(self, kind: str, table: str, columns: tuple[str, ...], extra: str = "") -> str:
        key = (self.dialect, kind, table, columns, extra)
        sql = _SQL_CACHE.get(key)
        if sql is None:
            mark = (lambda c: f"%({c})s") if self._pg else (lambda c: f":{c}")
            if kind == "insert":
                cols = ", ".join(f'"{c}"' for c in columns)
                sql = f'INSERT INTO "{table}" ({cols}) VALUES ({", ".join(map(mark, columns))})'
                if extra:
                    sql += f' RETURNING "{extra}"'
            else:  # update by key column `extra`
                sets = ", ".join(f'"{c}" = {mark(c)}' for c in columns if c != extra)
                sql = f'UPDATE "{table}" SET {sets} WHERE "{extra}" = {mark(extra)}'
            _SQL_CACHE[key] = sql
        return sql

    def _adapt(self, values: Mapping[str, Any]) -> dict[str, Any]:
        if self._pg:
            return dict(values)
        return {k: v if type(v) in _AS_IS else _sqlite_value(v) for k, v in values.items()}

    def insert(self, table: str, values: Mapping[str, Any], returning: str = "id") -> int:
        sql = self._sql("insert", table, tuple(values), returning)
        self._cursor.execute(sql, self._adapt(values))
        row = self._cursor.fetchone()
        return int(row[0])

    def insert_many(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        columns = tuple(rows[0])
        sql = self._sql("insert", table, columns)
        self._cursor.executemany(sql, [self._adapt(r) for r in rows])

    def update(self, table: str, key: str, values: Mapping[str, Any], where: str = "") -> int:
        """UPDATE table SET ... WHERE key = values[key] [AND where]; returns the number of rows
        changed. `where` is constant SQL text of the caller's (no values in it)."""
        sql = self._sql("update", table, tuple(values), key)
        if where:
            sql = f"{sql} AND {where}"
        self._cursor.execute(sql, self._adapt(values))
        return int(self._cursor.rowcount)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run hand-written SQL with positional `?` placeholders; return all rows."""
        if self._pg:
            sql = sql.replace("?", "%s")
        self._cursor.execute(sql, tuple(params))
        return list(self._cursor.fetchall()) if self._cursor.description else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if self._pg:
            sql = sql.replace("?", "%s")
        self._cursor.executemany(sql, [tuple(r) for r in rows])

    def close(self) -> None:
        self._cursor.close()
