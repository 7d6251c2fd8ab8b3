"""Write-behind on PostgreSQL (adapters/sql/raw.py): inserts held back during a matching run are
sent before any other statement, so nothing in the transaction ever reads a state without them;
a rollback loses them with the rest; and the sums the ledger was primed with move with every
entry posted. Also the bulk-read caches the run primes: document briefs and customers.

Invoices of the test book (tests/fixtures_book.py): 8 WIDGET = 119.00, 4 WIDGET = 59.50."""

from __future__ import annotations

from datetime import date

from fixtures_book import ENTITY, invoice, verify_clean
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from openbill.adapters.sql import tables as t
from openbill.domain.ledger import Account
from openbill.usecases import payments as pay
from openbill.usecases.bank_matching import HELD_BACK

ISSUED = date(2026, 3, 2)
PAID = date(2026, 3, 9)


def _record(uow, entity, number: str, amount: str) -> pay.PaymentRecorded:
    return pay.record_payment_in(
        uow,
        entity,
        pay.RecordPayment(
            ENTITY, "C1", amount, "EUR", PAID, "bank_transfer", number, "explicit",
            to=((number, amount),),
        ),
    )  # fmt: skip


def _count(conn, table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_held_rows_are_sent_before_the_next_statement_reads(pg_book):
    doc = invoice(pg_book, "C1", ISSUED, ("WIDGET", "8"))
    with pg_book.uow() as uow:
        entity = uow.entities.by_code(ENTITY)
        assert uow.defer_inserts(HELD_BACK) is True
        _prime(uow, entity, doc.number)
        before = _count(uow.connection, t.payments)
        recorded = _record(uow, entity, doc.number, "50.00")
        # Held: the id is known, the row not sent yet.
        assert recorded.id > 0 and uow._raw.pending
        # A SQLAlchemy read sends them first and sees them ...
        assert _count(uow.connection, t.payments) == before + 1
        assert not uow._raw.pending
        # ... and so does a read through the driver cursor.
        recorded = _record(uow, entity, doc.number, "20.00")
        assert uow._raw.pending
        rows = uow._raw.execute("SELECT amount_minor FROM payments WHERE id = ?", (recorded.id,))
        assert rows == [(2000,)]
        # The allocations and their journal are there too: 119.00 - 50.00 - 20.00 open.
        sql = text(
            "SELECT COALESCE(SUM(amount_minor), 0) FROM journal_lines "
            "WHERE document_id = :d AND account = :a"
        )
        open_now = uow.connection.execute(
            sql, {"d": _doc_id(uow, doc.number), "a": Account.RECEIVABLE.value}
        ).scalar_one()
        assert int(open_now) == 4900
        uow.commit()
    verify_clean(pg_book)


def _prime(uow, entity, number: str) -> None:
    """As a matching run does: what posting reads, from one bulk read, so nothing on the way
    sends the held rows early."""
    customer = uow.customers.by_code(entity.id, "C1")
    uow.ledger.prime({_doc_id(uow, number): 11900}, {(customer.id, "EUR"): 0})


def _doc_id(uow, number: str) -> int:
    return int(uow.documents.by_number(uow.entities.by_code(ENTITY).id, number).id)


def test_a_rollback_loses_the_held_rows(pg_book):
    doc = invoice(pg_book, "C1", ISSUED, ("WIDGET", "8"))
    with pg_book.engine.connect() as conn:
        counts = (_count(conn, t.payments), _count(conn, t.journal_entries))
    with pg_book.uow() as uow:
        entity = uow.entities.by_code(ENTITY)
        uow.defer_inserts(HELD_BACK)
        _prime(uow, entity, doc.number)
        _record(uow, entity, doc.number, "119.00")
        assert uow._raw.pending
        # no commit: the unit of work rolls back
    with pg_book.engine.connect() as conn:
        assert (_count(conn, t.payments), _count(conn, t.journal_entries)) == counts
    # The next unit of work on the same pooled connection starts clean.
    with pg_book.uow() as uow:
        assert not uow._raw.pending
    verify_clean(pg_book)


def test_held_rows_are_sent_at_commit(pg_book):
    doc = invoice(pg_book, "C1", ISSUED, ("WIDGET", "8"))
    with pg_book.uow() as uow:
        entity = uow.entities.by_code(ENTITY)
        uow.defer_inserts(HELD_BACK)
        _prime(uow, entity, doc.number)
        recorded = _record(uow, entity, doc.number, "119.00")
        assert uow._raw.pending
        uow.commit()
    with pg_book.engine.connect() as conn:
        amount = conn.execute(
            select(t.payments.c.amount_minor).where(t.payments.c.id == recorded.id)
        ).scalar_one()
    assert amount == 11900
    verify_clean(pg_book)


def test_sqlite_holds_nothing(book):
    with book.uow() as uow:
        held = uow.defer_inserts(HELD_BACK)
    assert held is (book.engine.dialect.name == "postgresql")


# -- the primed sums follow every entry -----------------------------------------------------------


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cents=st.lists(st.integers(min_value=1, max_value=6000), min_size=1, max_size=6))
def test_primed_sums_equal_the_journal_after_any_payments(book, cents):
    """Payments of random amounts onto a primed invoice, the rest to credit: the primed open
    amount and customer credit stay what the journal sums to."""
    doc = invoice(book, "C1", ISSUED, ("WIDGET", "8"))
    with book.uow() as uow:
        entity = uow.entities.by_code(ENTITY)
        doc_id = _doc_id(uow, doc.number)
        customer = uow.customers.by_code(entity.id, "C1")
        uow.ledger.prime({doc_id: 11900}, {(customer.id, "EUR"): 0})
        for amount in cents:
            open_now = uow.ledger.document_open(doc_id)
            onto = min(amount, open_now)
            cmd = pay.RecordPayment(
                ENTITY, "C1", f"{amount // 100}.{amount % 100:02d}", "EUR", PAID,
                "bank_transfer", "", "explicit" if onto else "none",
                to=((doc.number, f"{onto // 100}.{onto % 100:02d}"),) if onto else (),
            )  # fmt: skip
            pay.record_payment_in(uow, entity, cmd)
        primed = (uow.ledger.document_open(doc_id), uow.ledger.customer_credit(customer.id, "EUR"))
        uow.ledger._open.clear()
        uow.ledger._credit.clear()
        read = (uow.ledger.document_open(doc_id), uow.ledger.customer_credit(customer.id, "EUR"))
        assert primed == read
        paid = sum(cents)
        assert read == (max(11900 - paid, 0), max(paid - 11900, 0))
        # Not committed: the next example starts from the same book.


def test_a_brief_read_before_a_document_changes_is_read_again(book):
    from openbill.usecases import invoices as inv

    draft = inv.create_draft(
        book.uow(), inv.CreateDraft(ENTITY, "C1", ISSUED, lines=(inv.LineSpec("WIDGET", "8"),))
    )
    with book.uow() as uow:
        entity = uow.entities.by_code(ENTITY)
        brief = uow.documents.brief(draft.id)
        assert brief.status == "draft"
        assert uow.documents.brief(draft.id) is brief  # kept
        assert uow.documents.brief_by_number(entity.id, "INV-NONE") is None
        uow.documents.update(draft.id, {"buyer_reference": "PO 7"})
        again = uow.documents.brief(draft.id)
        assert again is not brief and again == brief  # read again (and the same)
        # rolled back: the test book stays as it was
