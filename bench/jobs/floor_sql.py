"""The floor: the rows openbill writes for one invoice, written by plain SQL through the
database driver (sqlite3 or psycopg) from one Python process, one transaction per invoice.

Same schema (openbill's migrations), same rows per invoice: the document, 3 lines, 1 tax
subtotal, the series counter, a journal entry with its 5 lines, an audit event and the chain
heads. No pricing, no validation, no hashing beyond one sha256 per chained row: what is left is
the cost of the writes themselves.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

from bench.jobs import CURRENCY, GROSS, LINES, NET, VAT, VAT_RATE, line_net

DESCRIPTION = "plain SQL through the driver: the same rows per invoice, one transaction each"


def _minor(amount) -> int:  # type: ignore[no-untyped-def]
    return int(amount * 100)


def run(url: str, n: int) -> float:
    from openbill.adapters.sql.engine import make_engine, migrate

    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.split("sqlite:///", 1)[1], isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        ph = "?"
        begin = "BEGIN IMMEDIATE"
    else:
        import psycopg

        conn = psycopg.connect(
            url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
        )
        ph = "%s"
        begin = "BEGIN"
    try:
        return _loop(conn, n, ph, begin)
    finally:
        conn.close()


def _loop(conn, n: int, ph: str, begin: str) -> float:  # type: ignore[no-untyped-def]
    def q(sql: str) -> str:
        return sql.replace("?", ph)

    now = datetime.now(UTC).isoformat(sep=" ")
    cur = conn.cursor()
    cur.execute(
        q(
            "INSERT INTO legal_entities (code, name, country, base_currency, rounding, "
            "payment_terms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        ),
        ("FLOOR", "Floor", "FR", CURRENCY, "half_up", "net30", now),
    )
    cur.execute(q("SELECT id FROM legal_entities WHERE code = ?"), ("FLOOR",))
    entity_id = cur.fetchone()[0]
    cur.execute(
        q(
            "INSERT INTO customers (entity_id, code, name, country, regime, currency, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)"
        ),
        (entity_id, "C1", "Customer", "FR", "domestic", CURRENCY, now),
    )
    cur.execute(q("SELECT id FROM customers WHERE code = ?"), ("C1",))
    customer_id = cur.fetchone()[0]
    codes = []
    for i, line in enumerate(LINES):
        cur.execute(
            q(
                "INSERT INTO charge_codes (entity_id, code, name, unit, revenue_account, tax_class,"
                " active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            (entity_id, f"L{i}", line.description, "C62", f"40{i}0", "standard", True, now),
        )
        cur.execute(q("SELECT id FROM charge_codes WHERE code = ?"), (f"L{i}",))
        codes.append(cur.fetchone()[0])
    cur.execute(
        q("INSERT INTO number_series (entity_id, kind, year, next_seq) VALUES (?, ?, ?, ?)"),
        (entity_id, "invoice", 2026, 1),
    )
    doc_sql = q(
        "INSERT INTO documents (entity_id, customer_id, kind, status, number, series_year, seq, "
        "document_date, due_date, currency, payment_terms, prices_include_tax, net_minor, "
        "tax_minor, total_minor, reason, buyer_reference, created_at, issued_at, chain_seq, "
        "prev_hash, hash) VALUES (?, ?, 'invoice', 'draft', NULL, NULL, NULL, ?, ?, ?, 'net30', "
        "?, ?, ?, ?, '', '', ?, NULL, NULL, NULL, NULL) RETURNING id"
    )
    line_sql = q(
        "INSERT INTO document_lines (document_id, line_no, charge_code_id, description, quantity,"
        " unit, unit_price, amount, price_id, revenue_account, tax_category, tax_rate, "
        "exemption_reason, exemption_code, net_minor) "
        "VALUES (?, ?, ?, ?, ?, 'C62', ?, ?, NULL, ?, 'S', ?, '', '', ?)"
    )
    tax_sql = q(
        "INSERT INTO document_taxes (document_id, category, rate, taxable_minor, tax_minor, "
        "exemption_reason, exemption_code) VALUES (?, 'S', ?, ?, ?, '', '')"
    )
    seq_sql = q(
        "UPDATE number_series SET next_seq = next_seq + 1 WHERE entity_id = ? AND kind = ? "
        "AND year = ? RETURNING next_seq"
    )
    head_sql = q("SELECT name, seq, hash FROM chain_heads")
    issue_sql = q(
        "UPDATE documents SET status = 'issued', number = ?, series_year = 2026, seq = ?, "
        "issued_at = ?, chain_seq = ?, prev_hash = ?, hash = ? WHERE id = ?"
    )
    entry_sql = q(
        "INSERT INTO journal_entries (entity_id, entry_date, kind, source_table, source_id, "
        "description, created_at, chain_seq, prev_hash, hash) "
        "VALUES (?, ?, 'invoice', 'documents', ?, ?, ?, ?, ?, ?) RETURNING id"
    )
    jl_sql = q(
        "INSERT INTO journal_lines (entry_id, line_no, account, currency, amount_minor, "
        "customer_id, document_id) VALUES (?, ?, ?, ?, ?, ?, ?)"
    )
    audit_sql = q(
        "INSERT INTO audit_events (entity_id, actor, occurred_at, action, record_type, "
        "record_id, before, after, chain_seq, prev_hash, hash) "
        "VALUES (?, 'floor', ?, 'invoice.issued', 'document', ?, NULL, ?, ?, ?, ?)"
    )
    heads_sql = q("UPDATE chain_heads SET seq = ?, hash = ? WHERE name = ?")
    day, due = "2026-11-02", "2026-12-02"
    rate = str(VAT_RATE * 100)
    start = time.perf_counter()
    for _ in range(n):
        cur.execute(begin)
        cur.execute(seq_sql, (entity_id, "invoice", 2026))
        seq = cur.fetchone()[0] - 1
        number = f"INV-2026-{seq:06d}"
        cur.execute(head_sql)
        heads = {name: (s, h) for name, s, h in cur.fetchall()}
        cur.execute(
            doc_sql,
            (
                entity_id,
                customer_id,
                day,
                due,
                CURRENCY,
                False,
                _minor(NET),
                _minor(VAT),
                _minor(GROSS),
                now,
            ),
        )
        doc_id = cur.fetchone()[0]
        cur.executemany(
            line_sql,
            [
                (
                    doc_id,
                    i + 1,
                    codes[i],
                    line.description,
                    str(line.quantity),
                    str(line.unit_price),
                    str(line.quantity * line.unit_price),
                    f"40{i}0",
                    rate,
                    _minor(line_net(line)),
                )
                for i, line in enumerate(LINES)
            ],
        )
        cur.execute(tax_sql, (doc_id, rate, _minor(NET), _minor(VAT)))
        new = {}
        for name, payload in (("documents", number), ("journal", number), ("audit", number)):
            s, prev = heads[name]
            new[name] = (s + 1, prev, hashlib.sha256(f"{prev}\n{payload}".encode()).hexdigest())
        s, prev, h = new["documents"]
        cur.execute(issue_sql, (number, seq, now, s, prev, h, doc_id))
        s, prev, h = new["journal"]
        cur.execute(entry_sql, (entity_id, day, doc_id, number, now, s, prev, h))
        entry_id = cur.fetchone()[0]
        postings = [("1100", _minor(GROSS), customer_id, doc_id)]
        postings += [
            (f"40{i}0", -_minor(line_net(line)), None, None) for i, line in enumerate(LINES)
        ]
        postings.append(("2200", -_minor(VAT), None, None))
        cur.executemany(
            jl_sql,
            [
                (entry_id, k + 1, acc, CURRENCY, amt, cust, doc)
                for k, (acc, amt, cust, doc) in enumerate(postings)
            ],
        )
        s, prev, h = new["audit"]
        cur.execute(audit_sql, (entity_id, now, str(doc_id), number, s, prev, h))
        cur.executemany(heads_sql, [(new[k][0], new[k][2], k) for k in new])
        cur.execute("COMMIT")
    return time.perf_counter() - start
