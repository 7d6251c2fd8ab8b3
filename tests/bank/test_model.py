"""The statement model: amounts in minor units, the balance check, the fingerprint."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbill.domain.bank import Balance, Entry, Statement, amount_to_minor, check_balances
from openbill.domain.rejections import InvalidAmount

D = date(2026, 3, 2)


def entry(minor: int, currency: str = "EUR", **kw: object) -> Entry:
    return Entry(booking_date=D, value_date=D, amount_minor=minor, currency=currency, **kw)


def statement(opening: int, closing: int, *amounts: int) -> Statement:
    return Statement(
        format="camt.053",
        account="DE89370400440532013000",
        currency="EUR",
        opening=Balance(opening, "EUR", D),
        closing=Balance(closing, "EUR", D),
        entries=tuple(entry(a) for a in amounts),
    )


def test_amounts_become_minor_units_of_their_currency():
    assert amount_to_minor("12.5", "EUR") == 1250  # 12.50 EUR = 1250 cents
    assert amount_to_minor("1.234", "KWD") == 1234  # KWD has 3 places
    assert amount_to_minor(Decimal("7"), "JPY") == 7  # JPY has none
    assert amount_to_minor("-0.01", "EUR") == -1
    assert amount_to_minor("84349.74", "DEM") == 8434974  # a withdrawn currency of old files


def test_floats_fractions_and_unknown_currencies_are_refused():
    with pytest.raises(InvalidAmount, match="binary float"):
        amount_to_minor(0.1, "EUR")
    with pytest.raises(InvalidAmount, match="more decimal places"):
        amount_to_minor("1.005", "EUR")  # half a cent is never booked
    with pytest.raises(InvalidAmount, match="ISO 4217"):
        amount_to_minor("1.00", "XXY")


def test_balances_that_agree_give_no_problem():
    # 100.00 + 25.50 - 10.25 = 115.25
    assert check_balances(statement(10000, 11525, 2550, -1025)) == []


def test_a_closing_balance_off_by_one_cent_is_named():
    # 100.00 + 25.50 - 10.25 = 115.25, the bank says 115.26
    problems = check_balances(statement(10000, 11526, 2550, -1025))
    assert len(problems) == 1
    assert "115.25" in problems[0] and "115.26" in problems[0]


def test_without_a_balance_there_is_nothing_to_check():
    no_opening = replace(statement(0, 999, 1), opening=None)
    assert check_balances(no_opening) == []


def test_entries_in_another_currency_are_named():
    mixed = replace(statement(0, 100, 100), entries=(entry(100), entry(5, "USD")))
    assert any("USD" in p for p in check_balances(mixed))


@given(
    opening=st.integers(-(10**12), 10**12),
    amounts=st.lists(st.integers(-(10**9), 10**9), max_size=30),
    off=st.integers(-1000, 1000),
)
def test_check_balances_agrees_exactly_when_opening_plus_entries_is_closing(opening, amounts, off):
    closing = opening + sum(amounts) + off
    assert (check_balances(statement(opening, closing, *amounts)) == []) == (off == 0)


def test_fingerprint_is_stable_and_tells_entries_apart():
    a = entry(1250, counterparty_name="ACME GmbH", remittance="INV-2026-0001")
    assert (
        a.fingerprint()
        == entry(1250, counterparty_name="ACME GmbH", remittance="INV-2026-0001").fingerprint()
    )
    # The bank's own id is not part of it; blanks and case of the name do not matter.
    assert (
        a.fingerprint()
        == replace(a, bank_reference="X1", counterparty_name="acme gmbh").fingerprint()
    )
    assert a.fingerprint() != replace(a, amount_minor=1251).fingerprint()
    assert a.fingerprint() != replace(a, remittance="INV-2026-0002").fingerprint()
    assert len(a.fingerprint()) == 64
