"""Tampering behind the application's back (past the triggers, straight in the database) is
found by verify, which names the record. Each case shows verify was clean before."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from fixtures_book import ENTITY, invoice, tamper, verify_clean
from sqlalchemy import select, text, update

from openbill.adapters.sql import tables as t
from openbill.usecases import payments as pay
from openbill.usecases.verify import verify


@pytest.fixture
def history(book):
    """INV-2026-000001 (C1, paid in part), INV-2026-000002 (C1, open), INV-2026-000003 (C3)."""
    # 1: 2 x 12.50 + 9.99 = 34.99 net, tax 4.75 + 0.70 = 5.45, total 40.44
    first = invoice(book, "C1", date(2026, 3, 1), ("WIDGET", "2"), ("BOOK", "1"))
    # 2: 3 x 12.50 = 37.50, tax 7.125 -> 7.13, total 44.63
    second = invoice(book, "C1", date(2026, 3, 2), ("WIDGET", "3"))
    third = invoice(book, "C3", date(2026, 3, 3), ("TRAINING", "1"))
    assert (first.total_minor, second.total_minor) == (4044, 4463)
    pay.record_payment(
        book.uow(),
        pay.RecordPayment(
            ENTITY,
            "C1",
            "20.00",
            received_on=date(2026, 3, 4),
            allocate="explicit",
            to=((first.number, "20.00"),),
        ),
    )
    verify_clean(book)  # clean before any tampering
    return first, second, third


def _found(book):
    report = verify(book.uow(read_only=True))
    assert not report.ok
    return {(v.check, v.record) for v in report.violations}, report


def test_changed_invoice_total(book, history):
    _, second, _ = history
    tamper(
        book,
        f"UPDATE documents SET total_minor = 1, net_minor = 1, tax_minor = 0 "
        f"WHERE number = '{second.number}'",
    )
    found, report = _found(book)
    assert ("document totals", second.number) in found  # lines give 37.50, header says 0.01
    assert ("postings", second.number) in found  # receivable posted 44.63, total 0.01
    assert any(c == "hash chains" and second.number in r for c, r in found), report.violations
    # Nothing else is blamed: the other invoices are named nowhere.
    assert not any("INV-2026-000003" in r for _, r in found)


def test_changed_line_quantity(book, history):
    _, second, _ = history
    # 3 widgets become 30: the amounts still add up, only the hash chain can tell.
    tamper(
        book,
        update(t.document_lines)
        .where(t.document_lines.c.document_id == second.id)
        .values(quantity=Decimal("30")),
    )
    found, report = _found(book)
    assert any(c == "hash chains" and second.number in r for c, r in found), report.violations
    assert {c for c, _ in found} == {"hash chains"}


def test_changed_journal_line_amount(book, history):
    first, _, _ = history
    # The revenue line (4000) of the first invoice's entry loses one cent.
    with book.engine.connect() as conn:
        entry_id, chain_seq = conn.execute(
            select(t.journal_entries.c.id, t.journal_entries.c.chain_seq).where(
                t.journal_entries.c.source_table == "documents",
                t.journal_entries.c.source_id == first.id,
            )
        ).one()
    tamper(
        book,
        f"UPDATE journal_lines SET amount_minor = amount_minor + 1 "
        f"WHERE entry_id = {entry_id} AND account = '4000'",
    )
    found, report = _found(book)
    assert ("ledger balances", f"journal entry {entry_id}") in found
    assert ("ledger balances", "ledger") in found
    assert ("hash chains", f"journal #{chain_seq}") in found
    messages = [v.message for v in report.violations if v.check == "ledger balances"]
    assert any("1 minor units of EUR" in m for m in messages)


def test_deleted_audit_event(book, history):
    tamper(book, "DELETE FROM audit_events WHERE chain_seq = 5")
    found, report = _found(book)
    # The link after the hole says its predecessor is missing and does not continue it.
    messages = {v.message for v in report.violations if v.record == "audit #6"}
    assert "link 5 is missing (deleted or reordered)" in messages
    assert "does not continue the previous link" in messages
    assert {c for c, _ in found} == {"hash chains"}


def test_deleted_last_audit_event(book, history):
    with book.engine.connect() as conn:
        last = conn.execute(text("SELECT MAX(chain_seq) FROM audit_events")).scalar_one()
    tamper(book, f"DELETE FROM audit_events WHERE chain_seq = {last}")
    found, report = _found(book)
    # No link is out of place; only the chain head knows there was one more.
    assert found == {("hash chains", "audit")}
    assert f"says {last} links, found {last - 1}" in report.violations[0].message


def test_renumbered_invoice_leaves_a_gap(book, history):
    _, second, _ = history
    tamper(
        book,
        f"UPDATE documents SET seq = 7, number = 'INV-2026-000007' WHERE id = {second.id}",
    )
    found, report = _found(book)
    gaps = [v for v in report.violations if v.check == "number series"]
    assert any(v.record == "INV-2026" and "gap" in v.message for v in gaps), gaps
    assert any("counter" in v.message for v in gaps)
    assert any(c == "hash chains" and "INV-2026-000007" in r for c, r in found)


def test_deleted_invoice_leaves_a_gap(book, history):
    _, second, _ = history
    doc = second.id
    tamper(
        book,
        f"DELETE FROM journal_lines WHERE entry_id IN (SELECT id FROM journal_entries "
        f"WHERE source_table = 'documents' AND source_id = {doc})",
        f"DELETE FROM journal_entries WHERE source_table = 'documents' AND source_id = {doc}",
        f"DELETE FROM document_taxes WHERE document_id = {doc}",
        f"DELETE FROM document_lines WHERE document_id = {doc}",
        f"DELETE FROM documents WHERE id = {doc}",
    )
    found, report = _found(book)
    gaps = [v for v in report.violations if v.check == "number series"]
    assert any(v.record == "INV-2026" and "first 2" in v.message for v in gaps), gaps
    # Both the documents chain and the journal chain miss a link.
    assert any(c == "hash chains" and r.startswith("documents") for c, r in found)
    assert any(c == "hash chains" and r.startswith("journal") for c, r in found)
