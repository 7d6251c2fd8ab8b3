"""Issue #4, the floor of the payments import: the rows `import_payments` writes, written by
hand-written SQL through the driver (sqlite3 or psycopg), over the book and the file of
`bench.jobs.payments_import`.

Timed, in one transaction: read the CSV with the csv module; one SELECT of every open invoice
(id, customer, open amount) into a dict keyed by the invoice number's letters and digits; per
line, find the invoice by a regular expression (the number, or the body of an RF reference,
its check digits not checked), then insert the payment, its journal entry (bank / customer
credit, 2 lines), the allocation and its journal entry (customer credit / receivable, 2 lines),
an audit event and the idempotency key, with one sha256 per chained row; the chain heads at
the end. No validation, no rounding policy, no tolerance, no look-ups beyond the dict. The book
must then hold the same open totals as after openbill's import
(`bench.jobs.payments_import.expected`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import time
from decimal import Decimal
from typing import Any

from bench.jobs.payments_import import ENTITY, STAMP, agree, prepare

DESCRIPTION = (
    "hand-written SQL through the driver: csv module, one SELECT of the open invoices into a "
    "dict, then per payment the payment, allocation, 2 journal entries (4 lines), audit and "
    "idempotency rows; one transaction"
)

_CHECK: dict[str, Any] = {}
_NUMBER = re.compile(r"\b([A-Z]{2,4})-(\d{4})-(\d{6})\b")


def _connect(url: str) -> tuple[Any, str, str]:
    if url.startswith("sqlite"):
        import sqlite3

        lite = sqlite3.connect(url.split("sqlite:///", 1)[1], isolation_level=None)
        lite.execute("PRAGMA journal_mode=WAL")
        lite.execute("PRAGMA synchronous=NORMAL")
        return lite, "?", "BEGIN IMMEDIATE"
    import psycopg

    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    return conn, "%s", "BEGIN"


def _key(reference: str) -> str:
    compact = reference.replace(" ", "")
    if compact.startswith("RF"):
        return compact[4:]
    m = _NUMBER.search(reference)
    return f"{m[1]}{m[2]}{m[3]}" if m else ""


def _load(conn: Any, q: Any, entity_id: int) -> dict[str, tuple[int, int, int]]:
    cur = conn.cursor()
    cur.execute(
        q(
            "SELECT d.id, d.number, d.customer_id, SUM(l.amount_minor) FROM documents d "
            "JOIN journal_lines l ON l.document_id = d.id AND l.account = '1100' "
            "WHERE d.entity_id = ? AND d.kind = 'invoice' AND d.status = 'issued' "
            "GROUP BY d.id, d.number, d.customer_id"
        ),
        (entity_id,),
    )
    return {
        number.replace("-", ""): (doc_id, customer_id, int(open_minor))
        for doc_id, number, customer_id, open_minor in cur.fetchall()
    }


def _import(conn: Any, ph: str, begin: str, text: str) -> int:
    def q(sql: str) -> str:
        return sql.replace("?", ph)

    now = STAMP.strftime("%Y-%m-%d %H:%M:%S.%f") if ph == "?" else STAMP
    cur = conn.cursor()
    cur.execute(begin)
    cur.execute(q("SELECT id FROM legal_entities WHERE code = ?"), (ENTITY,))
    entity_id = cur.fetchone()[0]
    open_by_key = _load(conn, q, entity_id)
    cur.execute(q("SELECT code, id FROM customers WHERE entity_id = ?"), (entity_id,))
    customers = dict(cur.fetchall())
    cur.execute("SELECT name, seq, hash FROM chain_heads")
    heads = {name: (int(seq), h) for name, seq, h in cur.fetchall()}

    def link(name: str, payload: str) -> tuple[int, str, str]:
        seq, prev = heads[name]
        h = hashlib.sha256(f"{prev}\n{payload}".encode()).hexdigest()
        heads[name] = (seq + 1, h)
        return seq + 1, prev, h

    pay_sql = q(
        "INSERT INTO payments (entity_id, customer_id, currency, amount_minor, method, "
        "received_on, reference, created_at, chain_seq, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
    )
    entry_sql = q(
        "INSERT INTO journal_entries (entity_id, entry_date, kind, source_table, source_id, "
        "description, created_at, chain_seq, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
    )
    line_sql = q(
        "INSERT INTO journal_lines (entry_id, line_no, account, currency, amount_minor, "
        "customer_id, document_id) VALUES (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?)"
    )
    alloc_sql = q(
        "INSERT INTO allocations (entity_id, customer_id, payment_id, credit_note_id, "
        "invoice_id, amount_minor, allocated_on, created_at) "
        "VALUES (?, ?, ?, NULL, ?, ?, ?, ?) RETURNING id"
    )
    audit_sql = q(
        "INSERT INTO audit_events (entity_id, actor, occurred_at, action, record_type, "
        "record_id, before, after, chain_seq, prev_hash, hash) "
        "VALUES (?, 'floor', ?, 'payment.recorded', 'payment', ?, NULL, ?, ?, ?, ?)"
    )
    key_sql = q(
        "INSERT INTO idempotency_keys (scope, key, request_hash, result, created_at) "
        "VALUES ('payments_import', ?, ?, ?, ?)"
    )
    count = 0
    for row in csv.DictReader(io.StringIO(text)):
        currency = row["currency"]
        amount = int(Decimal(row["amount"]) * 100)
        on = row["date"]
        reference = row["reference"]
        doc_id, customer_id, open_minor = open_by_key[_key(reference)]
        if row["customer"]:
            customer_id = customers[row["customer"]]
        payload = f"{customer_id}|{currency}|{amount}|{on}|{reference}"
        cur.execute(
            pay_sql,
            (entity_id, customer_id, currency, amount, row["method"], on, reference, now)
            + link("payments", payload),
        )
        payment_id = cur.fetchone()[0]
        text_in = f"payment {payment_id} from {row['customer']} {reference}"
        cur.execute(
            entry_sql,
            (entity_id, on, "payment", "payments", payment_id, text_in, now)
            + link("journal", text_in),
        )
        entry_id = cur.fetchone()[0]
        cur.execute(
            line_sql,
            (entry_id, 1, "1200", currency, amount, None, None)
            + (entry_id, 2, "2100", currency, -amount, customer_id, None),
        )
        applied = min(amount, open_minor)
        if applied > 0:
            cur.execute(alloc_sql, (entity_id, customer_id, payment_id, doc_id, applied, on, now))
            allocation_id = cur.fetchone()[0]
            text_to = f"payment {payment_id} to {doc_id}"
            cur.execute(
                entry_sql,
                (entity_id, on, "allocation", "allocations", allocation_id, text_to, now)
                + link("journal", text_to),
            )
            entry_id = cur.fetchone()[0]
            cur.execute(
                line_sql,
                (entry_id, 1, "2100", currency, applied, customer_id, None)
                + (entry_id, 2, "1100", currency, -applied, customer_id, doc_id),
            )
            open_by_key[_key(reference)] = (doc_id, customer_id, open_minor - applied)
        after = f'{{"amount_minor":{amount},"allocated_minor":{applied}}}'
        cur.execute(audit_sql, (entity_id, now, str(payment_id), after) + link("audit", after))
        cur.execute(
            key_sql,
            (
                f"{ENTITY}:tx:{row['id']}",
                hashlib.sha256(payload.encode()).hexdigest(),
                after,
                now,
            ),
        )
        count += 1
    cur.executemany(
        q("UPDATE chain_heads SET seq = ?, hash = ? WHERE name = ?"),
        [(seq, h, name) for name, (seq, h) in heads.items()],
    )
    cur.execute("COMMIT")
    return count


def run(url: str, n: int) -> float:
    text, want = prepare(url, n)
    conn, ph, begin = _connect(url)
    try:
        start = time.perf_counter()
        done = _import(conn, ph, begin, text)
        seconds = time.perf_counter() - start
    finally:
        conn.close()
    _CHECK.update(agree(url, want))
    _CHECK["done"] = done
    return seconds


def check(url: str, n: int) -> dict[str, Any]:
    return dict(_CHECK)
