"""Issue #5, the floor of the bank statement import: the camt.053 file of
`bench.jobs.bank_import` read by one lxml pass that takes only what a table of bank lines
cannot do without, and those rows written by a plain INSERT through the driver (sqlite3 or
psycopg).

Set-up, untimed: the same entity, bank account and file as the openbill job, and a table of the
floor's own in the same database (``bench_floor_bank_lines``: id, booking date, signed amount
in minor units, bank reference).

Timed: read the file's bytes; ``lxml.etree.fromstring`` (as openbill's reader parses) and one
walk over the Ntry elements, taking from each its Amt, CdtDbtInd, BookgDt/Dt and AcctSvcrRef
children (in the schema's order, no search); one ``executemany`` INSERT of those rows and the
commit, one transaction. No statement, no balances, no identities or
duplicate look-up, no counterparty, remittance or reference texts, no validation.

Checked afterwards: N rows in the floor's table.
"""

from __future__ import annotations

import time
from typing import Any

from bench.jobs.bank_import import WorkFolder, count, setup, write_file

DESCRIPTION = (
    "one lxml pass (parse, then one walk over the Ntry elements) taking amount, sign, booking "
    "date and AcctSvcrRef, then one executemany INSERT into a table of its own, one transaction"
)

TABLE = "bench_floor_bank_lines"
_NS = "{urn:iso:std:iso:20022:tech:xsd:camt.053.001.08}"
_CHECK: dict[str, Any] = {}


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


def _create(conn: Any, ph: str) -> None:
    key = "INTEGER PRIMARY KEY" if ph == "?" else "BIGSERIAL PRIMARY KEY"
    conn.cursor().execute(
        f"CREATE TABLE {TABLE} (id {key}, booking_date DATE NOT NULL, "
        "amount_minor BIGINT NOT NULL, bank_reference VARCHAR(140) NOT NULL)"
    )


def _minor(text: str) -> int:
    whole, _, cents = text.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


def rows_of(data: bytes) -> list[tuple[str, int, str]]:
    """(booking date, signed amount in cents, bank reference) of every Ntry: the document
    parsed once, then one walk over the Ntry elements and their direct children."""
    from lxml import etree

    amt, ind, ref, booked = (f"{_NS}{t}" for t in ("Amt", "CdtDbtInd", "AcctSvcrRef", "BookgDt"))
    rows = []
    for ntry in etree.fromstring(data).iter(f"{_NS}Ntry"):
        amount = sign = day = reference = None
        for child in ntry:
            tag = child.tag
            if tag == amt:
                amount = child.text
            elif tag == ind:
                sign = child.text
            elif tag == booked:
                day = child[0].text
            elif tag == ref:
                reference = child.text
                break  # AcctSvcrRef comes after the others (camt.053 schema order)
        minor = _minor(amount)
        rows.append((day, -minor if sign == "DBIT" else minor, reference or ""))
    return rows


def _import(conn: Any, ph: str, begin: str, path: Any) -> int:
    rows = rows_of(path.read_bytes())
    cur = conn.cursor()
    cur.execute(begin)
    cur.executemany(
        f"INSERT INTO {TABLE} (booking_date, amount_minor, bank_reference) "
        f"VALUES ({ph}, {ph}, {ph})",
        rows,
    )
    cur.execute("COMMIT")
    return len(rows)


def run(url: str, n: int) -> float:
    setup(url)
    with WorkFolder() as folder:
        path = write_file(folder, n)
        _CHECK["file_mb"] = round(path.stat().st_size / 1e6, 1)
        conn, ph, begin = _connect(url)
        try:
            _create(conn, ph)
            start = time.perf_counter()
            done = _import(conn, ph, begin, path)
            seconds = time.perf_counter() - start
        finally:
            conn.close()
    stored = count(url, f"SELECT COUNT(*) FROM {TABLE}")
    if stored != n or done != n:
        raise RuntimeError(f"{n} entries in the file, {done} read, {stored} rows stored")
    _CHECK.update(done=stored, rows_in_db=stored)
    return seconds


def check(url: str, n: int) -> dict[str, Any]:
    return dict(_CHECK)
