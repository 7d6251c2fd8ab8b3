"""Every statement file of ../shared/corpora/bank-statements imports into a book: each statement
with its balances and every entry stored as the file has it (amount, dates, counterparty, IBAN,
references, text), a second import adds nothing, and the files that are no statements are
refused with nothing written. (What the files say was checked by hand in test_corpus.py.)"""

from __future__ import annotations

import hashlib

import pytest
from fixtures_book import ENTITY, row_counts
from sqlalchemy import select

from openbill.adapters.bank import read_statement
from openbill.adapters.sql import tables_bank
from openbill.domain.rejections import InvalidInput
from openbill.usecases import bank as bk
from openbill.usecases import masterdata as md

from .test_corpus import NOT_STATEMENTS, _files


def _import(book, path, statements, entity=ENTITY):
    data = path.read_bytes()
    return bk.import_statements(
        book.uow(),
        bk.ImportStatements(
            entity,
            path.name,
            hashlib.sha256(data).hexdigest(),
            tuple(statements),
            add_accounts=True,
        ),
    )


def _stored(book, entity_id=None):
    ln = tables_bank.bank_lines.c
    columns = (
        ln.booking_date,
        ln.value_date,
        ln.amount_minor,
        ln.currency,
        ln.bank_reference,
        ln.end_to_end_id,
        ln.counterparty_name,
        ln.counterparty_account,
        ln.remittance,
        ln.creditor_reference,
        ln.transaction_code,
        ln.return_reason,
    )
    with book.engine.connect() as conn:
        stmt = select(*columns).order_by(ln.id)
        if entity_id is not None:
            stmt = stmt.where(ln.entity_id == entity_id)
        return conn.execute(stmt).all()


@pytest.mark.slow
def test_every_statement_file_of_the_corpus_imports_whole_and_once(book, corpora):
    """Each file into a legal entity of its own, so no file's entries are known before."""
    files = [p for p in _files(corpora) if p.name not in NOT_STATEMENTS]
    assert len(files) >= 12
    for n, path in enumerate(files):
        code = f"CORPUS{n}"
        created = md.create_entity(book.uow(), md.CreateEntity(code, path.name, "DE", "EUR"))
        statements = read_statement(path.read_bytes(), path.name)
        result = _import(book, path, statements, code)
        for s, stored in zip(statements, result.statements, strict=True):
            assert stored.reference == (s.statement_id or s.sequence)
            assert stored.opening_minor == (s.opening.amount_minor if s.opening else None)
            assert stored.closing_minor == (s.closing.amount_minor if s.closing else None)
            assert stored.entries == len(s.entries), path.name
        entries = [e for s in statements for e in s.entries]
        rows = _stored(book, created.id)
        # Every entry is stored once, in the file's order, with what the file says.
        assert len(rows) == result.new_entries == len(entries), path.name
        for row, e in zip(rows, entries, strict=True):
            assert tuple(row) == (
                e.booking_date or e.value_date or row[0],
                e.value_date,
                e.amount_minor,
                e.currency,
                e.bank_reference,
                e.end_to_end_id,
                e.counterparty_name,
                "".join(e.counterparty_account.split()).upper(),
                e.remittance,
                e.creditor_reference,
                e.transaction_code,
                e.return_reason,
            ), path.name
        again = _import(book, path, statements, code)
        assert again.new_entries == 0, path.name
        assert all(s.duplicate_of is not None for s in again.statements), path.name


def test_a_notification_of_bookings_the_statement_has_adds_nothing(book, corpora):
    """The camt.054 sample notifies five bookings of 2016-04-10 on CH0309000000250090342 that
    the camt.053 v04 statement of that account also holds (same AcctSvcrRef): after the
    statement, the notification adds no line."""
    folder = corpora / "bank-statements" / "camt"
    statement = folder / "viafintech_camt053_valid_example_v4.xml"
    notice = folder / "viafintech_camt054_valid_example.xml"
    first = _import(book, statement, read_statement(statement.read_bytes(), statement.name))
    assert first.new_entries == 32
    second = _import(book, notice, read_statement(notice.read_bytes(), notice.name))
    (s,) = second.statements
    assert (s.entries, s.new_entries) == (5, 0)


def test_the_problems_of_the_corpus_are_reported_on_import(book, corpora):
    """The betterplace sample holds 30 statements of 20 accounts; statement 00004/00002 of
    account ...7100888 follows 00004/00001 with the same balance (7100888 closes at
    -1,455,749.85 and the next opens there), so no gap is reported between them."""
    path = corpora / "bank-statements" / "mt940" / "betterplace_sepa_mt9401.sta"
    statements = read_statement(path.read_bytes(), path.name)
    result = _import(book, path, statements)
    assert len(result.accounts_added) == 20
    problems = {s.reference: s.problems for s in result.statements}
    assert problems["T089414016000002"] == ()  # continues T089414016000001 at -1,358,945.52


def test_a_file_that_is_no_statement_changes_nothing(book, corpora):
    before = row_counts(book)
    for name in sorted(NOT_STATEMENTS):
        path = next(p for p in _files(corpora) if p.name == name)
        with pytest.raises(InvalidInput):
            read_statement(path.read_bytes(), path.name)
    assert row_counts(book) == before
