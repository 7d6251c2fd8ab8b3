"""Issue #5, the floor of bank matching: an exact-reference-only hash join over the book and
the statement of `bench.jobs.bank_match`, through the driver (sqlite3 or psycopg). It posts
nothing.

Timed: one SELECT of every open invoice of the entity (the same query as openbill's
`open_invoices`: the receivable left per document) into a dict from the invoice number's
letters and digits to (id, open amount); one SELECT of the statement lines waiting to be
matched; per line, the keys `openbill.domain.reference.referenced_keys` reads out of its
creditor reference and remittance text (valid RF references and invoice numbers written out
exactly) looked up in the dict. No typos, payers, IBANs, names, amounts beyond equality,
combinations, bank charges, no proposal stored and nothing posted.

Checked afterwards: the lines whose reference names an open invoice are exactly the lines
openbill matches by reference (the statement's 70 %), and each pays exactly what is open.
"""

from __future__ import annotations

import time
from typing import Any

from bench.jobs import bank_match
from bench.jobs.bank_match import ENTITY, prepare

DESCRIPTION = (
    "exact-reference-only hash join, no posting: one SELECT of the open invoices into a dict "
    "(number -> id, open amount), one SELECT of the lines, each line's valid RF references and "
    "exact invoice numbers (referenced_keys) looked up in the dict"
)

_CHECK: dict[str, Any] = {}


def _connect(url: str) -> tuple[Any, str]:
    if url.startswith("sqlite"):
        import sqlite3

        return sqlite3.connect(url.split("sqlite:///", 1)[1]), "?"
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")), "%s"


def match(conn: Any, ph: str) -> tuple[int, int, int]:
    """(lines read, lines naming an open invoice, of those paying exactly what is open)."""
    from openbill.domain.reference import number_key, referenced_keys

    cur = conn.cursor()
    cur.execute(f"SELECT id FROM legal_entities WHERE code = {ph}", (ENTITY,))
    entity_id = cur.fetchone()[0]
    cur.execute(
        "SELECT d.id, d.number, o.open_minor FROM documents d JOIN ("
        "SELECT l.document_id AS document_id, SUM(l.amount_minor) AS open_minor "
        "FROM journal_lines l WHERE l.account = '1100' AND l.document_id IS NOT NULL "
        "GROUP BY l.document_id HAVING SUM(l.amount_minor) > 0) o ON o.document_id = d.id "
        f"WHERE d.entity_id = {ph} AND d.kind = 'invoice' AND d.status = 'issued'",
        (entity_id,),
    )
    open_by_key = {number_key(number): (doc_id, int(left)) for doc_id, number, left in cur}
    cur.execute(
        "SELECT l.id, l.amount_minor, l.creditor_reference, l.remittance FROM bank_lines l "
        "JOIN bank_line_states s ON s.line_id = l.id "
        f"WHERE l.entity_id = {ph} AND s.status IN ('new', 'review') ORDER BY l.id",
        (entity_id,),
    )
    lines = found = exact = 0
    for _line_id, amount, creditor_reference, remittance in cur.fetchall():
        lines += 1
        rf_keys, number_keys = referenced_keys(f"{creditor_reference} {remittance}")
        for key in rf_keys + number_keys:
            hit = open_by_key.get(key)
            if hit is not None:
                found += 1
                exact += hit[1] == amount
                break
    conn.rollback()
    return lines, found, exact


def run(url: str, n: int) -> float:
    _, want = prepare(url, n)
    conn, ph = _connect(url)
    try:
        start = time.perf_counter()
        lines, found, exact = match(conn, ph)
        seconds = time.perf_counter() - start
    finally:
        conn.close()
    if lines != n or found != want["by_reference"] or exact != found:
        raise RuntimeError(
            f"{n} lines, {want['by_reference']} naming an open invoice exactly; the floor read "
            f"{lines}, found {found}, {exact} of them for the open amount"
        )
    _CHECK.update(bank_match._CHECK)
    _CHECK.update(
        done=lines,
        by_reference=found,
        exact_amount=exact,
        match_s=round(seconds, 3),
        summary=f"{found:,} lines by exact reference (as openbill) in {seconds:.3f} s",
    )
    return seconds


def check(url: str, n: int) -> dict[str, Any]:
    return dict(_CHECK)
