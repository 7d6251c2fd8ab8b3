"""Issue #4, the floor of the AR aging report: the same report written by hand as one SQL
query through the driver (sqlite3 or psycopg), over the book of `bench.jobs.aging`.

The query: each document's open amount (its receivable postings dated up to the as-of date,
kept when not zero), bucketed by comparing its due date with the bucket boundaries computed
once in Python (as of - 0/30/60/90 days; credit notes are current), summed per customer,
currency and bucket; plus, in the same statement, each customer's unapplied cash (the
customer-credit postings up to the date). The rows it returns are the report. Before timing,
the job checks that openbill's use case gives the same figures (`bench.jobs.aging.agree`).
"""

from __future__ import annotations

import statistics
import time
from datetime import timedelta
from typing import Any

from bench.jobs.aging import AS_OF, BOUNDS, ENTITY, TIMED_RUNS, Report, agree, build, counts

DESCRIPTION = (
    "one hand-written SQL query through the driver: open amount per document as of the date, "
    "bucketed by due date, summed per customer, currency and bucket, with unapplied cash"
)

SQL = """
SELECT code, currency, bucket, SUM(open_minor)
FROM (SELECT c.code, d.currency,
             CASE WHEN d.kind <> 'invoice' OR d.due_date >= {b0} THEN 0
                  WHEN d.due_date >= {b1} THEN 1
                  WHEN d.due_date >= {b2} THEN 2
                  WHEN d.due_date >= {b3} THEN 3
                  ELSE 4 END AS bucket,
             o.open_minor
      FROM (SELECT l.document_id, SUM(l.amount_minor) AS open_minor
            FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
            WHERE l.account = '1100' AND e.entity_id = {entity} AND e.entry_date <= {as_of}
            GROUP BY l.document_id
            HAVING SUM(l.amount_minor) <> 0) o
      JOIN documents d ON d.id = o.document_id
      JOIN customers c ON c.id = d.customer_id) x
GROUP BY code, currency, bucket
UNION ALL
SELECT c.code, l.currency, -1, -SUM(l.amount_minor)
FROM journal_lines l
JOIN journal_entries e ON e.id = l.entry_id
JOIN customers c ON c.id = l.customer_id
WHERE l.account = '2100' AND e.entity_id = {entity} AND e.entry_date <= {as_of}
GROUP BY c.code, l.currency
"""


def connect(url: str) -> Any:
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.split("sqlite:///", 1)[1])
        conn.execute("PRAGMA journal_mode=WAL")
        return conn
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))


def report(conn: Any, url: str) -> list[tuple[Any, ...]]:
    """The aging rows (customer, currency, bucket or -1 for credit, minor units)."""
    mark = "?" if url.startswith("sqlite") else "%s"
    names = ("b0", "b1", "b2", "b3", "entity", "as_of")
    sql = SQL.format(**{k: mark for k in names})
    bounds = [AS_OF - timedelta(days=days) for days in (0, *BOUNDS)]
    cur = conn.cursor()
    cur.execute("SELECT id FROM legal_entities WHERE code = " + mark, (ENTITY,))
    entity_id = cur.fetchone()[0]
    dates: list[Any] = bounds
    if url.startswith("sqlite"):
        dates = [d.isoformat() for d in bounds]
    as_of: Any = AS_OF.isoformat() if url.startswith("sqlite") else AS_OF
    # The placeholders in the order they appear: b0..b3, then entity and date twice.
    cur.execute(sql, (*dates, entity_id, as_of, entity_id, as_of))
    rows = cur.fetchall()
    conn.rollback()
    return rows


def as_report(rows: list[tuple[Any, ...]]) -> Report:
    """The floor's rows in the shape `bench.jobs.aging` compares: buckets..., credit."""
    out: dict[tuple[str, str], list[int]] = {}
    for code, currency, bucket, amount in rows:
        values = out.setdefault((str(code), str(currency)), [0] * (len(BOUNDS) + 3))
        values[int(bucket) if int(bucket) >= 0 else -1] += int(amount)
    return {k: tuple(v) for k, v in out.items() if any(v)}


_CHECK: dict[str, Any] = {}


def run(url: str, n: int) -> float:
    from openbill.bootstrap import open_book

    started = time.perf_counter()
    _CHECK.update(build(url, n))
    _CHECK["build_s"] = round(time.perf_counter() - started, 1)
    book = open_book(url, actor="bench")
    try:
        _CHECK.update(agree(url, book))
    finally:
        book.close()
    conn = connect(url)
    try:
        runs = []
        for _ in range(TIMED_RUNS):
            start = time.perf_counter()
            report(conn, url)
            runs.append(time.perf_counter() - start)
    finally:
        conn.close()
    _CHECK["runs_s"] = [round(r, 3) for r in runs]
    return statistics.median(runs)


def check(url: str, n: int) -> dict[str, Any]:
    return {**counts(url), **_CHECK}
