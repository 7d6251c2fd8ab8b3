"""PostgreSQL plans the matching that follows an import with fresh statistics (see
BankRepo.add_states): without them its plan for the lines-to-match join took 4 s for 10,000
lines instead of 60 ms."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from .book import entry, import_, statement, with_bank

PAID = date(2026, 3, 9)


def test_a_large_import_leaves_postgresql_statistics(pg_book):
    from openbill.adapters.sql.bank_repo import ANALYZE_AFTER

    with_bank(pg_book)
    entries = [entry(100 + i, PAID, ref=f"B{i}", text="Einzahlung") for i in range(ANALYZE_AFTER)]
    import_(pg_book, statement(entries, 0, PAID, PAID))
    with pg_book.engine.connect() as conn:
        tuples = conn.execute(
            text("SELECT reltuples FROM pg_class WHERE relname = 'bank_line_states'")
        ).scalar_one()
    # Without ANALYZE a new table says -1 (never analysed) until autovacuum comes by.
    assert tuples == ANALYZE_AFTER
