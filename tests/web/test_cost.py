"""What a page costs in database statements (docs/web.md gives the figures): a page is a few
queries, whatever the size of the book, except for the rows it lists.

Counted: every statement SQLAlchemy sends and every one the raw writer sends through the
driver (adapters/sql/raw.py), for one request of a logged-in person, the session check
included. The bounds are the counts measured on the test book, written down by hand; a page
that starts to cost more fails here and is looked at."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from openbill.adapters.sql.raw import RawWriter

from .conftest import ENTITY, log_in

BASE = f"/desk/{ENTITY}"

# page -> statements at most (measured on the quarter of conftest.py: see docs/web.md)
BOUNDS = {
    BASE: 12,
    f"{BASE}/customers": 6,
    f"{BASE}/customers/C1": 19,
    f"{BASE}/customers/C1/statement": 9,
    f"{BASE}/invoices": 10,
    f"{BASE}/invoices/INV-2026-000004": 22,
    f"{BASE}/payments": 12,
    f"{BASE}/aging": 9,
    f"{BASE}/disputes": 6,
    f"{BASE}/bank-lines": 7,
    f"{BASE}/search?q=148.75": 15,
}


@contextmanager
def counting(engine, monkeypatch):
    seen: list[str] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    def raw(original):
        def counted(self, sql, *args, **kwargs):
            seen.append(sql)
            return original(self, sql, *args, **kwargs)

        return counted

    monkeypatch.setattr(RawWriter, "execute", raw(RawWriter.execute))
    monkeypatch.setattr(RawWriter, "executemany", raw(RawWriter.executemany))
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


@pytest.mark.parametrize("path", list(BOUNDS))
def test_a_page_costs_a_few_statements(quarter, monkeypatch, path):
    client = log_in(quarter, "specialist")
    client.get(path)  # warm: the master-data cache, the session's last-seen mark
    with counting(quarter.book.engine, monkeypatch) as seen:
        reply = client.get(path)
    assert reply.status_code == 200
    statements = [s for s in seen if s.split(None, 1)[0].upper() in ("SELECT", "WITH")]
    assert len(statements) <= BOUNDS[path], "\n".join(statements)
