"""What a page costs in database statements (docs/web.md gives the figures): a page is a few
queries, whatever the size of the book, except for the rows it lists. Every page of a legal
entity includes one statement for the queues' counts in its navigation.

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
    BASE: 10,  # the navigation takes its counts from the dashboard's own
    f"{BASE}/customers": 7,
    f"{BASE}/customers/C1": 20,
    f"{BASE}/customers/C1/statement": 9,
    f"{BASE}/invoices": 10,
    f"{BASE}/invoices/INV-2026-000004": 22,
    f"{BASE}/payments": 8,  # two payments: a page reads what they allocated at once
    f"{BASE}/aging": 10,
    f"{BASE}/disputes": 7,
    f"{BASE}/bank-lines": 10,
    f"{BASE}/search?q=148.75": 15,
}

# The queues' pages, measured on the book of queues_book.py (work in every queue).
QUEUE_BOUNDS = {
    f"{BASE}/drafts": 10,
    f"{BASE}/discrepancies": 8,
    f"{BASE}/approvals": 8,
    f"{BASE}/overdue": 17,  # + two per dunning policy in use (it and its steps)
    f"{BASE}/disputes/DSP-000001": 12,  # + one per charge code on the invoice
    f"{BASE}/bank-lines": 11,
    f"{BASE}/payments/new?invoice=INV-2026-000002": 8,
    f"{BASE}/disputes/new?invoice=INV-2026-000004": 15,
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


@pytest.mark.parametrize("path", list(QUEUE_BOUNDS))
def test_a_queue_costs_a_few_statements(queues, monkeypatch, path):
    client = log_in(queues, "specialist")
    client.get(path)
    with counting(queues.book.engine, monkeypatch) as seen:
        reply = client.get(path)
    assert reply.status_code == 200
    statements = [s for s in seen if s.split(None, 1)[0].upper() in ("SELECT", "WITH")]
    assert len(statements) <= QUEUE_BOUNDS[path], "\n".join(statements)


def test_the_payments_page_does_not_grow_with_its_payments(queues, monkeypatch):
    """Its rows' allocations and reversals are read for the whole page at once: a page of
    four payments costs what a page of two does."""
    from openbill.usecases import payments as pay

    client = log_in(queues, "specialist")
    path = f"{BASE}/payments"
    client.get(path)
    with counting(queues.book.engine, monkeypatch) as seen:
        client.get(path)
    few = len(seen)
    for _ in range(2):
        pay.record_payment(
            queues.book.uow(), pay.RecordPayment(ENTITY, "C1", "1.00", allocate="none")
        )
    with counting(queues.book.engine, monkeypatch) as seen:
        words = client.get(path).text
    assert words.count("<tr>") >= 6  # the header and five payments
    assert len(seen) == few
