"""The database itself refuses to change issued documents and append-only records, whatever
the application does (raw SQL through the engine, on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from fixtures_book import ENTITY, invoice, row_counts, verify_clean
from sqlalchemy import exc, text

from openbill.usecases import invoices as inv
from openbill.usecases import payments as pay

ISSUED = "issued document cannot be changed"
APPEND_ONLY = "append-only"

REFUSED = [
    ("UPDATE documents SET total_minor = 1 WHERE id = :doc", ISSUED),
    ("UPDATE documents SET status = 'draft' WHERE id = :doc", ISSUED),
    ("DELETE FROM documents WHERE id = :doc", ISSUED),
    ("UPDATE document_lines SET net_minor = net_minor + 1 WHERE document_id = :doc", ISSUED),
    ("UPDATE document_lines SET description = 'changed' WHERE document_id = :doc", ISSUED),
    ("DELETE FROM document_lines WHERE document_id = :doc", ISSUED),
    ("UPDATE document_taxes SET tax_minor = 0 WHERE document_id = :doc", ISSUED),
    ("DELETE FROM document_taxes WHERE document_id = :doc", ISSUED),
    ("UPDATE journal_lines SET amount_minor = amount_minor + 1", APPEND_ONLY),
    ("DELETE FROM journal_lines", APPEND_ONLY),
    ("UPDATE journal_entries SET description = 'changed'", APPEND_ONLY),
    ("DELETE FROM journal_entries", APPEND_ONLY),
    ("UPDATE payments SET amount_minor = 1", APPEND_ONLY),
    ("DELETE FROM payments", APPEND_ONLY),
    ("UPDATE allocations SET amount_minor = 1", APPEND_ONLY),
    ("DELETE FROM allocations", APPEND_ONLY),
    ("UPDATE refunds SET amount_minor = 1", APPEND_ONLY),
    ("DELETE FROM refunds", APPEND_ONLY),
    ("UPDATE write_offs SET amount_minor = 1", APPEND_ONLY),
    ("DELETE FROM write_offs", APPEND_ONLY),
    ("UPDATE audit_events SET actor = 'someone else'", APPEND_ONLY),
    ("DELETE FROM audit_events", APPEND_ONLY),
]


@pytest.fixture
def history(book):
    """An issued invoice, a payment with an allocation, a refund and a write-off."""
    doc = invoice(book, "C1", date(2026, 3, 1), ("WIDGET", "2"), ("BOOK", "1"))
    other = invoice(book, "C3", date(2026, 3, 1), ("WIDGET", "1"))
    pay.record_payment(
        book.uow(), pay.RecordPayment(ENTITY, "C1", "50.00", received_on=date(2026, 3, 5))
    )
    pay.refund(book.uow(), pay.Refund(ENTITY, "C1", "1.00", refunded_on=date(2026, 3, 6)))
    pay.write_off(book.uow(), pay.WriteOff(ENTITY, other.number, "goodwill", on=date(2026, 3, 7)))
    verify_clean(book)
    return doc


@pytest.mark.parametrize(("sql", "message"), REFUSED, ids=[s for s, _ in REFUSED])
def test_database_refuses(book, history, sql, message):
    before = row_counts(book)
    with pytest.raises(exc.DatabaseError, match=message):
        with book.engine.begin() as conn:
            conn.execute(text(sql), {"doc": history.id} if ":doc" in sql else {})
    assert row_counts(book) == before
    verify_clean(book)


def test_database_refuses_new_lines_on_an_issued_document(book, history):
    with pytest.raises(exc.DatabaseError, match=ISSUED):
        with book.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO document_lines (document_id, line_no, charge_code_id, "
                    "description, quantity, unit, unit_price, amount, revenue_account, "
                    "tax_category, tax_rate, exemption_reason, exemption_code, net_minor) "
                    "SELECT document_id, 99, charge_code_id, description, quantity, unit, "
                    "unit_price, amount, revenue_account, tax_category, tax_rate, "
                    "exemption_reason, exemption_code, net_minor FROM document_lines "
                    "WHERE document_id = :doc AND line_no = 1"
                ),
                {"doc": history.id},
            )
    verify_clean(book)


def test_drafts_stay_editable(book):
    draft = inv.create_draft(
        book.uow(),
        inv.CreateDraft(ENTITY, "C1", date(2026, 3, 1), lines=(inv.LineSpec("WIDGET", "1"),)),
    )
    with book.engine.begin() as conn:
        conn.execute(
            text("UPDATE documents SET buyer_reference = 'PO 1' WHERE id = :d"), {"d": draft.id}
        )
        conn.execute(
            text("UPDATE document_lines SET description = 'Blue widget' WHERE document_id = :d"),
            {"d": draft.id},
        )
    with book.engine.connect() as conn:
        ref = conn.execute(
            text("SELECT buyer_reference FROM documents WHERE id = :d"), {"d": draft.id}
        ).scalar_one()
    assert ref == "PO 1"
