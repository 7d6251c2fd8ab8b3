"""Hot-path writes through the database driver, inside the unit of work's transaction.

SQLAlchemy Core costs tens of microseconds per statement in Python (building the statement,
its cache key, the execution context); issuing an invoice writes about a dozen rows, so that
overhead was most of the time an invoice took. The writes on that path go here instead: SQL
text is built once per (table, columns) and dialect, values are adapted explicitly to what the
driver stores (the same representation SQLAlchemy's types write, so SQLAlchemy reads them back
unchanged), and they run on the DBAPI cursor of the very connection the unit of work holds.

Write-behind (`defer_inserts`, PostgreSQL only): a job that posts thousands of rows in one
transaction (a matching run) can have its inserts into named append-only tables held back,
their ids taken from the tables' sequences in blocks, and sent together. They are sent before
any other statement runs on the connection, through this writer or through SQLAlchemy (the
engine's before_cursor_execute hook, `flush_before_statement`), so no statement ever reads a
state without them, and at commit. On PostgreSQL every statement is a round trip to the
server; held back, a thousand rows cost one.

Rows of tables with sensitive fields (bank lines, learned payers) are sealed here, with their
blind indexes, before they are written (adapters/sql/sealed.py): SQLAlchemy's types, which
seal what Core writes, are not on this path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from openbill.adapters.sql.sealed import ring_of, seal_row, sealed_tables

__all__ = ["RAW_WRITER", "RawWriter", "flush_before_statement"]

RAW_WRITER = "openbill.raw_writer"  # the key of a connection's RawWriter in its info


def flush_before_statement(conn: Connection, *_args: Any) -> None:
    """The engine's before_cursor_execute hook: rows held back go first."""
    raw = conn.info.get(RAW_WRITER)
    if raw is not None and raw.pending:
        raw.flush_pending()


_SQL_CACHE: dict[tuple[Any, ...], str] = {}


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
        self._dialect = conn.dialect
        self._sealed = sealed_tables()  # tables whose rows are sealed before they are written
        self._pg = self.dialect == "postgresql"
        self._cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        self._reserved: dict[str, int] = {}  # SQLite: the highest id reserved per table
        self._held: frozenset[str] = frozenset()  # tables whose inserts wait (write-behind)
        self._pending: dict[tuple[str, tuple[str, ...]], list[Mapping[str, Any]]] = {}
        self._ids: dict[str, list[int]] = {}  # ids taken from a sequence, not yet used
        self._deferred: dict[tuple[str, tuple[str, ...]], list[Mapping[str, Any]]] = {}

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

    def _seal(self, table: str, rows: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
        ring = ring_of(self._dialect)
        return [seal_row(ring, table, r) for r in rows]

    def _adapt(self, values: Mapping[str, Any]) -> dict[str, Any]:
        if self._pg:
            return dict(values)
        return {k: v if type(v) in _AS_IS else _sqlite_value(v) for k, v in values.items()}

    def insert(self, table: str, values: Mapping[str, Any], returning: str = "id") -> int:
        if table in self._sealed:
            values = self._seal(table, [values])[0]
        if table in self._held and returning == "id":
            new_id = self._next_id(table)
            self._hold(table, {"id": new_id, **values})
            return new_id
        if self._pending:
            self.flush_pending()
        sql = self._sql("insert", table, tuple(values), returning)
        self._cursor.execute(sql, self._adapt(values))
        row = self._cursor.fetchone()
        return int(row[0])

    def insert_with_children(
        self,
        table: str,
        values: Mapping[str, Any],
        child: str,
        parent_key: str,
        children: Sequence[Mapping[str, Any]],
    ) -> int:
        """Insert a row and its child rows (their `parent_key` set to the new row's id); returns
        the id. PostgreSQL does both in one statement (a data-modifying WITH), so one round trip;
        SQLite, in process, in two."""
        if table in self._sealed:
            values = self._seal(table, [values])[0]
        if child in self._sealed:
            children = self._seal(child, children)
        if not self._pg or not children or table in self._held:
            parent_id = self.insert(table, values)
            self.insert_many(child, [{**c, parent_key: parent_id} for c in children])
            return parent_id
        columns, child_columns = tuple(values), tuple(children[0])
        key = (self.dialect, "family", table, columns, child, child_columns, len(children))
        sql = _SQL_CACHE.get(key)
        if sql is None:
            cols = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join(f"%(p_{c})s" for c in columns)
            child_cols = ", ".join(f'"{c}"' for c in (parent_key, *child_columns))
            rows = ", ".join(
                "((SELECT id FROM parent), "
                + ", ".join(f"%(c{i}_{c})s" for c in child_columns)
                + ")"
                for i in range(len(children))
            )
            sql = (
                f'WITH parent AS (INSERT INTO "{table}" ({cols}) VALUES ({marks}) RETURNING id) '
                f'INSERT INTO "{child}" ({child_cols}) VALUES {rows} RETURNING "{parent_key}"'
            )
            _SQL_CACHE[key] = sql
        params = {f"p_{c}": v for c, v in values.items()}
        for i, row in enumerate(children):
            if tuple(row) != child_columns:
                raise ValueError(f"the rows of {child} differ in their columns")
            params.update({f"c{i}_{c}": v for c, v in row.items()})
        if self._pending:
            self.flush_pending()
        self._cursor.execute(sql, params)
        return int(self._cursor.fetchone()[0])

    def insert_many(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        if table in self._sealed:
            rows = self._seal(table, rows)
        if table in self._held:
            for row in rows:
                self._hold(table, row)
            return
        if self._pending:
            self.flush_pending()
        columns = tuple(rows[0])
        sql = self._sql("insert", table, columns)
        self._cursor.executemany(sql, [self._adapt(r) for r in rows])

    # -- write-behind -------------------------------------------------------------------------

    ID_BLOCK = 256

    def defer_inserts(self, tables: Sequence[str]) -> bool:
        """Hold back inserts into `tables` until the next statement or the commit (see the
        module's docstring); PostgreSQL only. Returns whether they are held."""
        if not self._pg:
            return False
        self._held = self._held | frozenset(tables)
        return True

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def flush_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for (table, columns), rows in pending.items():
            sql = self._sql("insert", table, columns)
            self._cursor.executemany(sql, [self._adapt(r) for r in rows])

    def _hold(self, table: str, values: Mapping[str, Any]) -> None:
        self._pending.setdefault((table, tuple(values)), []).append(values)

    def _next_id(self, table: str) -> int:
        free = self._ids.get(table)
        if not free:
            free = self._ids[table] = self.reserve_ids(table, self.ID_BLOCK)[::-1]
        return free.pop()

    def defer(self, table: str, values: Mapping[str, Any]) -> None:
        """Insert a row at the next `flush_deferred` (before the transaction commits, and before
        anything reads the table back): for append-only rows nothing in the transaction needs
        the id of, such as audit events."""
        self._deferred.setdefault((table, tuple(values)), []).append(values)

    def flush_deferred(self) -> None:
        if self._pending:
            self.flush_pending()
        pending, self._deferred = self._deferred, {}
        for (table, _), rows in pending.items():
            self.insert_many(table, rows)

    def update(self, table: str, key: str, values: Mapping[str, Any], where: str = "") -> int:
        """UPDATE table SET ... WHERE key = values[key] [AND where]; returns the number of rows
        changed. `where` is constant SQL text of the caller's (no values in it)."""
        if table in self._sealed:
            values = self._seal(table, [values])[0]
        if self._pending:
            self.flush_pending()
        sql = self._sql("update", table, tuple(values), key)
        if where:
            sql = f"{sql} AND {where}"
        self._cursor.execute(sql, self._adapt(values))
        return int(self._cursor.rowcount)

    def execute(
        self, sql: str, params: Sequence[Any] = (), flush: bool = True
    ) -> list[tuple[Any, ...]]:
        """Run hand-written SQL with positional `?` placeholders; return all rows. `flush`
        False: the statement reads only tables whose inserts are never held back (documents,
        say), so held rows may wait on."""
        if self._pending and flush:
            self.flush_pending()
        if self._pg:
            sql = sql.replace("?", "%s")
        self._cursor.execute(sql, tuple(params))
        return list(self._cursor.fetchall()) if self._cursor.description else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run hand-written SQL once per row; returns the rows changed in all."""
        if not rows:
            return 0
        if self._pending:
            self.flush_pending()
        if self._pg:
            sql = sql.replace("?", "%s")
        self._cursor.executemany(sql, [tuple(r) for r in rows])
        return int(self._cursor.rowcount)

    def update_many(
        self, table: str, key: str, rows: Sequence[Mapping[str, Any]], where: str = ""
    ) -> int:
        """`update` for many rows of the same columns in one call; returns the rows changed in
        all (PostgreSQL sends them in one pipeline)."""
        if not rows:
            return 0
        if table in self._sealed:
            rows = self._seal(table, rows)
        if self._pending:
            self.flush_pending()
        sql = self._sql("update", table, tuple(rows[0]), key)
        if where:
            sql = f"{sql} AND {where}"
        self._cursor.executemany(sql, [self._adapt(r) for r in rows])
        return int(self._cursor.rowcount)

    def reserve_ids(self, table: str, n: int) -> list[int]:
        """`n` fresh ids of `table`'s integer key, for rows the caller inserts later in this
        transaction with their ids given. PostgreSQL takes them from the table's sequence;
        SQLite, whose writer holds the database, counts on from the highest id (and from the
        ids reserved before in this transaction)."""
        if n <= 0:
            return []
        if self._pg:
            self._cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                (table, n),
            )
            return [int(r[0]) for r in self._cursor.fetchall()]
        self._cursor.execute(f'SELECT COALESCE(MAX("id"), 0) FROM "{table}"')
        start = max(int(self._cursor.fetchone()[0]), self._reserved.get(table, 0))
        self._reserved[table] = start + n
        return list(range(start + 1, start + n + 1))

    def close(self) -> None:
        self._pending.clear()  # rolled back with the transaction
        self._cursor.close()
