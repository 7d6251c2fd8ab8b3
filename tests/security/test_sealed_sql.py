"""Sealed columns in SQL (adapters/sql/sealed.py, migration 0013): stored sealed and indexed,
never compared in SQL, looked up by their blind index; bank lines stay append-only except for
their sealed account; bank matching finds payers without opening a customer's or payer's
account."""

from __future__ import annotations

import pytest
from bank.book import IBAN_C1, match
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from openbill.adapters.crypto import KeyRing
from openbill.adapters.sql import tables as t
from openbill.adapters.sql import tables_bank as tb
from openbill.adapters.sql.sealed import FIELDS

from .conftest import STRANGER, stored


def test_sealed_values_and_their_indexes_are_stored(filled) -> None:
    ibans = [v for v in stored(filled, "customers", "iban") if v]
    indexes = [v for v in stored(filled, "customers", "iban_bidx") if v]
    assert len(ibans) == len(indexes) == 2  # C1 and C3
    assert all(v.startswith(f"enc1:{filled.ring.primary}:") for v in ibans)
    assert filled.ring.blind("account", IBAN_C1) in indexes
    taxes = [v for v in stored(filled, "customers", "tax_number") if v]
    assert len(taxes) == 2 and all(v.startswith("enc1:") for v in taxes)
    assert all(v.startswith("enc1:") for v in stored(filled, "users", "totp_secret"))


def test_a_sealed_column_refuses_sql_comparisons() -> None:
    c = t.customers.c
    for compare in (
        lambda: c.iban == IBAN_C1,
        lambda: c.iban != IBAN_C1,
        lambda: c.iban.in_([IBAN_C1]),
        lambda: c.tax_number.like("18%"),
    ):
        with pytest.raises(TypeError, match="compare its blind index"):
            compare()
    assert str(c.iban.is_(None)) == "customers.iban IS NULL"
    select(t.customers).where(c.iban_bidx == "bi1:k:0")  # the index compares


def test_a_payer_is_looked_up_by_the_blind_index(filled) -> None:
    with filled.uow(read_only=True) as uow:
        entity = uow.entities.by_code("ACME")
        c1 = uow.customers.by_code(entity.id, "C1")
        # learned from the reference match: STRANGER under the name "X"; any spelling of the
        # account finds it, another account does not
        spaced = " ".join(STRANGER[i : i + 4] for i in range(0, len(STRANGER), 4)).lower()
        assert uow.bank.knows_payer(entity.id, c1.id, spaced, "X")
        assert not uow.bank.knows_payer(entity.id, c1.id, IBAN_C1, "X")
        customers, learned = uow.bank.payers(entity.id)
    by_code = {c.code: c.iban_bidx for c in customers}
    assert by_code["C1"] == filled.ring.blind("account", IBAN_C1)
    assert by_code["C2"] is None
    assert [p.iban_bidx for p in learned] == [filled.ring.blind("account", STRANGER)]


def test_matching_opens_no_customer_or_payer_account(filled, monkeypatch) -> None:
    opened: list[str] = []
    real = KeyRing.open

    def counting(self: KeyRing, value: str, context: str) -> str:
        opened.append(context)
        return real(self, value, context)

    monkeypatch.setattr(KeyRing, "open", counting)
    report = match(filled, dry_run=True)
    assert report.considered == 7  # the suppliers' lines, still waiting
    assert "customers.iban" not in opened and "bank_payers.iban" not in opened
    assert opened.count("bank_lines.counterparty_account") == 7  # read for review, not compared


def _first_line(book) -> int:
    with book.engine.connect() as conn:
        return int(conn.execute(text("SELECT MIN(id) FROM bank_lines")).scalar_one())


def test_bank_lines_stay_append_only_but_for_their_sealed_account(filled) -> None:
    line = _first_line(filled)
    sealed = {FIELDS[("bank_lines", "counterparty_account")].column, "counterparty_account_bidx"}
    others = [c.name for c in tb.bank_lines.columns if c.name not in sealed]
    assert len(others) == 20
    for column in others:
        with pytest.raises(DBAPIError, match="append-only"), filled.engine.begin() as conn:
            conn.execute(
                text(f"UPDATE bank_lines SET {column} = {column} WHERE id = :i"), {"i": line}
            )
    with pytest.raises(DBAPIError, match="append-only"), filled.engine.begin() as conn:
        conn.execute(text("DELETE FROM bank_lines WHERE id = :i"), {"i": line})
    # what a rotation does: only the sealed account and its index
    with filled.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE bank_lines SET counterparty_account = counterparty_account, "
                "counterparty_account_bidx = counterparty_account_bidx WHERE id = :i"
            ),
            {"i": line},
        )
