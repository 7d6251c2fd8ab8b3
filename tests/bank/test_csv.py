"""CSV statements through named column profiles."""

from __future__ import annotations

from datetime import date

import pytest

from openbill.adapters.bank import read_statement
from openbill.adapters.bank.csv_statement import StatementProfile
from openbill.domain.rejections import InvalidInput

OPENBILL = (
    "date,value_date,amount,currency,counterparty,counterparty_account,reference,id\n"
    "2026-03-02,2026-03-03,119.00,EUR,ACME GmbH,DE89370400440532013000,INV-2026-0001,T1\n"
    "2026-03-04,,-12.50,EUR,Bank,,Kontofuehrung,T2\n"
)

DE_BANK = (
    "Kontoumsaetze;;\n"  # a preamble line, as bank exports have
    "Buchungstag;Valutadatum;Auftraggeber/Empfänger;IBAN;Verwendungszweck;Betrag;Währung\n"
    "05.03.2026;06.03.2026;Muster AG;DE02120300000000202051;RE 4711;1.234,56;EUR\n"
    "06.03.2026;06.03.2026;Stadtwerke;DE02500105170137075030;Strom März;-89,90;EUR\n"
)


def test_openbill_profile():
    (s,) = read_statement(OPENBILL.encode(), "bank.csv", "openbill")
    assert (s.format, s.currency, s.opening, s.closing) == ("csv", "EUR", None, None)
    first, second = s.entries
    assert (first.amount_minor, first.booking_date, first.value_date) == (
        11900,  # 119.00 EUR
        date(2026, 3, 2),
        date(2026, 3, 3),
    )
    assert (first.counterparty_name, first.counterparty_account) == (
        "ACME GmbH",
        "DE89370400440532013000",
    )
    assert (first.remittance, first.bank_reference) == ("INV-2026-0001", "T1")
    assert second.amount_minor == -1250 and second.value_date == date(2026, 3, 4)  # no value date


def test_de_bank_profile_reads_decimal_commas_and_umlaut_headers():
    (s,) = read_statement(DE_BANK.encode(), "umsaetze.csv", "de-bank")
    assert [e.amount_minor for e in s.entries] == [123456, -8990]  # 1.234,56 and -89,90
    assert s.entries[0].counterparty_name == "Muster AG"  # Auftraggeber/Empfänger
    assert s.entries[1].remittance == "Strom März"
    assert s.entries[1].counterparty_account == "DE02500105170137075030"


def test_debit_and_credit_columns():
    profile = StatementProfile(
        "split", date=("Date",), credit=("In",), debit=("Out",), currency="USD"
    )
    text = "Date,In,Out\n2026-01-05,10.00,\n2026-01-06,,3.25\n"
    (s,) = read_statement(text.encode(), "x.csv", profile)
    assert [e.amount_minor for e in s.entries] == [1000, -325]


def test_a_bad_amount_names_line_and_column():
    text = OPENBILL.replace("-12.50", "12.50x")
    with pytest.raises(InvalidInput) as caught:
        read_statement(text.encode(), "bank.csv", "openbill")
    assert caught.value.record == "bank.csv: line 3 column amount"


def test_a_csv_without_a_profile_is_refused_and_an_unknown_profile_is_named():
    with pytest.raises(InvalidInput, match="name its column profile"):
        read_statement(OPENBILL.encode(), "bank.csv")
    with pytest.raises(InvalidInput, match="the profiles are de-bank, openbill"):
        read_statement(OPENBILL.encode(), "bank.csv", "nope")
