"""Key rotation (adapters/sql/rotation.py): every value re-sealed under the new first key in
batches and still reading the same; interrupted half-way and resumed; matching right while a
rotation is under way; a book made before encryption sealed by migration 0013, or by
`keys rotate` when it was migrated without keys."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from bank.book import IBAN_C1, entry, import_, match, statement

from openbill.adapters.crypto import key_id_of
from openbill.adapters.sql import engine as sql_engine
from openbill.adapters.sql import rotation
from openbill.adapters.sql.engine import make_engine, migrate
from openbill.bootstrap import Book
from openbill.domain.sensitive import SensitiveField

from .conftest import reopen, stored, values


def _ids(key: str) -> str:
    return key.split(":")[0]


def _under(book: Book) -> dict[str, int]:
    return {k: n for k, n in rotation.status(book.engine, book.ring).by_key().items() if n}


def test_rotation_moves_every_value_and_keeps_it(filled, db_url, key_a, key_b, monkeypatch):
    before = values(filled)
    assert len(before) >= 14  # IBANs, tax numbers, 8 line accounts, a payer, a TOTP secret
    total = sum(_under(filled).values())
    assert _under(filled) == {_ids(key_a): total}
    filled.close()
    book = reopen(db_url, monkeypatch, key_b, key_a)
    try:
        seen: list[tuple[str, int]] = []
        done = rotation.rotate(
            book.engine, book.ring, batch_size=3, progress=lambda f, n: seen.append((f.name, n))
        )
        assert done.complete and done.key_id == _ids(key_b)
        assert done.values_resealed == total
        assert all(0 < n <= 3 for _, n in seen) and sum(n for _, n in seen) >= total
        after = rotation.status(book.engine, book.ring)
        assert _under(book) == {_ids(key_b): total}
        assert after.to_do == after.plain == after.stale_indexes == 0
        assert values(book) == before
        # every blind index was remade: those of bank lines name the new key
        assert all(
            i is None or i.startswith(f"bi1:{_ids(key_b)}:")
            for i in stored(book, "bank_lines", "counterparty_account_bidx")
        )
    finally:
        book.close()
    alone = reopen(db_url, monkeypatch, key_b)  # the old key has left the list
    try:
        assert values(alone) == before
        assert rotation.rotate(alone.engine, alone.ring).batches == 0  # nothing left
    finally:
        alone.close()


def test_a_rotation_interrupted_half_way_goes_on(filled, db_url, key_a, key_b, monkeypatch):
    before = values(filled)
    filled.close()
    book = reopen(db_url, monkeypatch, key_b, key_a)
    try:
        first = rotation.rotate(book.engine, book.ring, batch_size=2, batches_max=3)
        assert not first.complete and first.batches == 3
        halfway = _under(book)
        assert halfway[_ids(key_b)] == first.values_resealed > 0
        assert halfway[_ids(key_a)] > 0
        assert values(book) == before  # a book half rotated reads whole

        class Interrupted(Exception):
            pass

        def stop_after_one(field: SensitiveField, rows: int) -> None:
            raise Interrupted  # Ctrl-C after the first batch committed

        with pytest.raises(Interrupted):
            rotation.rotate(book.engine, book.ring, batch_size=2, progress=stop_after_one)
        assert _under(book)[_ids(key_b)] > halfway[_ids(key_b)]  # that batch stayed
        rest = rotation.rotate(book.engine, book.ring, batch_size=2)
        assert rest.complete
        assert _under(book) == {_ids(key_b): len(before)}
        assert values(book) == before
    finally:
        book.close()


def _payer_lines(book: Book) -> None:
    """Two lines without a reference, from C3's and C1's IBANs, for their open amounts."""
    import_(
        book,
        statement(
            [
                entry(
                    5950,
                    date(2026, 3, 20),
                    ref="N1",
                    name="Gamma KG",
                    iban="DE12500105170648489890",
                ),
                entry(11900, date(2026, 3, 21), ref="N2", name="Alpha", iban=IBAN_C1),
            ],
            0,
            date(2026, 3, 1),
            date(2026, 3, 31),
            number="2",
        ),
    )


def _proposals(book: Book) -> list[tuple[int, str, int, str]]:
    report = match(book, dry_run=True)
    return sorted((o.line_id, o.rule, o.confidence, o.customer) for o in report.outcomes)


def test_matching_during_a_rotation_finds_payers_by_account(
    filled, db_url, key_a, key_b, monkeypatch
):
    """C1's IBAN pays C1's open invoice without a reference: matched by the payer's account.
    After the customers' IBANs moved to the new key but before the lines did, the indexes
    differ in key; matching must still see the same account."""
    _payer_lines(filled)
    expected = _proposals(filled)
    # by the known account (92), not by the name alone (86): confidences of domain/matching
    assert (9, "payer+amount", 92, "C3") in expected, expected
    filled.close()
    book = reopen(db_url, monkeypatch, key_b, key_a)
    try:
        # customers.iban comes first in SENSITIVE_FIELDS: one big batch moves all of them
        rotation.rotate(book.engine, book.ring, batch_size=1000, batches_max=1)
        customers = [v for v in stored(book, "customers", "iban_bidx") if v]
        lines = [v for v in stored(book, "bank_lines", "counterparty_account_bidx") if v]
        assert all(v.startswith(f"bi1:{_ids(key_b)}:") for v in customers)
        assert all(v.startswith(f"bi1:{_ids(key_a)}:") for v in lines)
        assert _proposals(book) == expected
    finally:
        book.close()


def _alembic(engine, action, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(sql_engine.__file__).parent / "migrations"))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        action(config, revision)


def test_a_book_from_before_encryption_is_sealed_by_the_migration(
    filled, db_url, key_a, monkeypatch
):
    """Downgrading to 0012 puts every value back in plain text (the book as it was before
    this change); opening it again migrates it, and 0013 seals and indexes every value."""
    before = values(filled)
    _alembic(filled.engine, command.downgrade, "0012")
    plain = stored(filled, "customers", "iban")
    assert "DE44500105175407324931" in plain  # IBAN_C1, in plain text
    filled.close()
    book = reopen(db_url, monkeypatch, key_a)
    try:
        assert all(v is None or v.startswith("enc1:") for v in stored(book, "customers", "iban"))
        assert all(
            key_id_of(v) == _ids(key_a)
            for v in stored(book, "bank_lines", "counterparty_account")
            if v
        )
        state = rotation.status(book.engine, book.ring)
        assert state.plain == state.stale_indexes == state.to_do == 0
        assert values(book) == before
    finally:
        book.close()


def test_a_book_migrated_without_keys_is_sealed_by_rotate(filled, db_url, key_a, monkeypatch):
    _payer_lines(filled)
    expected = _proposals(filled)
    before = values(filled)
    _alembic(filled.engine, command.downgrade, "0012")
    filled.close()
    bare = make_engine(db_url)
    try:
        migrate(bare)  # no keys on this engine: 0013 changes the schema and seals nothing
    finally:
        bare.dispose()
    book = reopen(db_url, monkeypatch, key_a)
    try:
        state = rotation.status(book.engine, book.ring)
        assert state.plain == len(before)
        assert values(book) == before  # plain values read as they are meanwhile
        assert _proposals(book) == expected  # and accounts without an index still match
        done = rotation.rotate(book.engine, book.ring, batch_size=4)
        assert done.values_resealed == len(before)
        after = rotation.status(book.engine, book.ring)
        assert after.plain == after.to_do == 0
        assert values(book) == before
        assert _proposals(book) == expected
    finally:
        book.close()
