"""Issue #3, the floor of prepare + verify: the same deliveries read and the same draft rows
written by plain SQL through the driver (sqlite3 or psycopg), from one Python process.

Same book as `bench.jobs.prepare_verify` (its set-up, untimed). Timed, per legal entity: one
SELECT of the confirmed deliveries up to the date with their contract and negotiated price
(the catalog price less the contract discount where there is none, read once per charge code),
grouped in a dict per customer, contract and month; then per draft one transaction: the
document, its lines, its VAT subtotal and the delivery billings. No price selection by date,
no purchase-order or cap checks, no idempotency key, no audit, no verification: what is left is
the cost of reading and writing the rows.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bench.jobs.prepare_verify import DISCOUNT, THROUGH, open_with_deliveries

DESCRIPTION = (
    "plain SQL through the driver: read the deliveries with their contract price, write the "
    "same drafts (document, lines, VAT subtotal, billing links), one transaction per draft"
)
CENT = Decimal("0.01")
RATE = Decimal("20")


def _connect(url: str) -> tuple[Any, str, str]:
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.split("sqlite:///", 1)[1], isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn, "?", "BEGIN IMMEDIATE"
    import psycopg

    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    return conn, "%s", "BEGIN"


def run(url: str, n: int) -> float:
    book, entities = open_with_deliveries(url, n)
    book.close()
    conn, ph, begin = _connect(url)
    try:
        start = time.perf_counter()
        for entity, _ in entities:
            _prepare(conn, ph, begin, entity)
        return time.perf_counter() - start
    finally:
        conn.close()


def _prepare(conn: Any, ph: str, begin: str, entity: str) -> None:
    def q(sql: str) -> str:
        return sql.replace("?", ph)

    now = datetime.now(UTC).isoformat(sep=" ")
    day = THROUGH.isoformat()
    cur = conn.cursor()
    cur.execute(q("SELECT id FROM legal_entities WHERE code = ?"), (entity,))
    entity_id = cur.fetchone()[0]
    # The catalog price of each charge code, less the contract discount.
    cur.execute(
        q(
            "SELECT p.charge_code_id, p.params FROM prices p JOIN charge_codes c "
            "ON c.id = p.charge_code_id WHERE c.entity_id = ?"
        ),
        (entity_id,),
    )
    factor = 1 - Decimal(DISCOUNT) / 100
    catalog = {
        int(code): Decimal(json.loads(params)["unit_price"]) * factor
        for code, params in cur.fetchall()
    }
    cur.execute(
        q(
            "SELECT d.id, d.customer_id, d.contract_id, d.charge_code_id, d.po_line_id, "
            "d.delivered_on, d.quantity, d.ref, d.revision, c.code, cp.unit_price "
            "FROM deliveries d JOIN charge_codes c ON c.id = d.charge_code_id "
            "LEFT JOIN contract_prices cp ON cp.contract_id = d.contract_id "
            "AND cp.charge_code_id = d.charge_code_id "
            "WHERE d.entity_id = ? AND d.delivered_on <= ? AND d.confirmed = ? "
            "ORDER BY d.delivered_on, d.ref"
        ),
        (entity_id, day, True),
    )
    groups: dict[tuple[int, int, str], list[Any]] = {}
    for row in cur.fetchall():
        groups.setdefault((row[1], row[2], str(row[5])[:7]), []).append(row)

    doc_sql = q(
        "INSERT INTO documents (entity_id, customer_id, kind, status, number, series_year, seq, "
        "document_date, due_date, currency, payment_terms, prices_include_tax, net_minor, "
        "tax_minor, total_minor, reason, buyer_reference, created_at, issued_at, chain_seq, "
        "prev_hash, hash) VALUES (?, ?, 'invoice', 'draft', NULL, NULL, NULL, ?, ?, 'EUR', "
        "'net30', ?, ?, ?, ?, '', '', ?, NULL, NULL, NULL, NULL) RETURNING id"
    )
    line_sql = q(
        "INSERT INTO document_lines (document_id, line_no, charge_code_id, description, quantity,"
        " unit, unit_price, amount, price_id, revenue_account, tax_category, tax_rate, "
        "exemption_reason, exemption_code, net_minor) "
        "VALUES (?, ?, ?, ?, ?, 'C62', ?, ?, NULL, '7010', 'S', ?, '', '', ?)"
    )
    tax_sql = q(
        "INSERT INTO document_taxes (document_id, category, rate, taxable_minor, tax_minor, "
        "exemption_reason, exemption_code) VALUES (?, 'S', ?, ?, ?, '', '')"
    )
    billing_sql = q(
        "INSERT INTO delivery_billings (delivery_id, document_id, line_no, po_line_id, quantity,"
        " unit_price, net_minor, reverses_id, revision, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)"
    )
    rate = str(RATE)
    for (customer_id, _contract, _month), rows in sorted(groups.items()):
        lines = []
        for no, (did, _c, _k, code_id, po_line, on, qty, ref, rev, _code, price) in enumerate(
            rows, start=1
        ):
            unit = Decimal(str(price)) if price is not None else catalog[int(code_id)]
            amount = (Decimal(str(qty)) * unit).quantize(CENT, ROUND_HALF_UP)
            lines.append((no, did, code_id, po_line, str(qty), str(unit), amount, ref, on, rev))
        net = sum(int(line[6] * 100) for line in lines)
        tax = int((Decimal(net) * RATE / 100).quantize(Decimal(1), ROUND_HALF_UP))
        cur.execute(begin)
        cur.execute(doc_sql, (entity_id, customer_id, day, day, False, net, tax, net + tax, now))
        doc_id = cur.fetchone()[0]
        cur.executemany(
            line_sql,
            [
                (
                    doc_id,
                    no,
                    code_id,
                    f"Delivery {ref} of {on}",
                    qty,
                    unit,
                    str(amount),
                    rate,
                    int(amount * 100),
                )
                for no, _d, code_id, _p, qty, unit, amount, ref, on, _r in lines
            ],
        )
        cur.execute(tax_sql, (doc_id, rate, net, tax))
        cur.executemany(
            billing_sql,
            [
                (did, doc_id, no, po_line, qty, unit, int(amount * 100), rev, now)
                for no, did, _c, po_line, qty, unit, amount, _ref, _on, rev in lines
            ],
        )
        cur.execute("COMMIT")


def check(url: str, n: int) -> dict[str, object]:
    conn, _, _ = _connect(url)
    try:
        cur = conn.cursor()

        def one(sql: str) -> Any:
            cur.execute(sql)
            return cur.fetchone()[0]

        return {
            "done": one("SELECT count(DISTINCT delivery_id) FROM delivery_billings"),
            "drafts": one("SELECT count(*) FROM documents WHERE status = 'draft'"),
            "lines": one("SELECT count(*) FROM document_lines"),
            "net_minor": one("SELECT sum(net_minor) FROM documents"),
        }
    finally:
        conn.close()
