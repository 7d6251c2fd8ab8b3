"""Reading payments files through column profiles (pure: openbill.domain.payment_import). Each
built-in profile gets a small file written the way its source writes them; the expected values
are read off the file by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbill.domain.payment_import import (
    BUILTIN,
    PAYMENT_METHODS,
    PaymentLine,
    Profile,
    by_name,
    decode,
    import_keys,
    merged,
    parse_amount,
    parse_date,
    parse_payments,
    profiles_from_toml,
)
from openbill.domain.rejections import InvalidInput, Rejection
from openbill.usecases.payments import METHODS


def _parse(text: str, profile: str = "openbill"):
    return parse_payments(text, "f.csv", BUILTIN[profile])


# --- the built-in profiles -------------------------------------------------------------------


def test_openbill_profile_reads_every_column():
    parsed = _parse(
        "customer,amount,currency,date,reference,method,id\n"
        "C1,119.00,EUR,2026-03-02,INV-2026-000001,bank_transfer,T-1\n"
        ",59.5,eur,2026-03-03,RF98 INV2 0260 0012 3,,T-2\n"
    )
    assert parsed.errors == ()
    assert parsed.rows_read == 2
    first, second = parsed.lines
    assert (first.line, first.customer, first.amount, first.currency) == (
        2,
        "C1",
        Decimal("119.00"),
        "EUR",
    )
    assert (first.received_on, first.reference, first.method, first.transaction_id) == (
        date(2026, 3, 2),
        "INV-2026-000001",
        "bank_transfer",
        "T-1",
    )
    # An empty customer and method: resolved later, and the profile's fixed method.
    assert (second.customer, second.currency, second.method, second.amount) == (
        "",
        "EUR",
        "bank_transfer",
        Decimal("59.5"),
    )
    assert dict(second.raw)["reference"] == "RF98 INV2 0260 0012 3"


DE_BANK = (
    "Kontoinhaber;Acme GmbH\n"
    "IBAN;DE89370400440532013000\n"
    "\n"
    "Buchungstag;Wertstellung;Betrag;Währung;Verwendungszweck;Auftraggeber/Empfänger;IBAN\n"
    "05.03.2026;05.03.2026;1.234,56;EUR;Rechnung INV-2026-000001;Alpha GmbH;"
    "DE02120300000000202051\n"
    "06.03.2026;06.03.2026;-850,00;EUR;Miete Maerz;Vermieter KG;DE02500105170137075030\n"
    "07.03.2026;09.03.2026;59,50;EUR;RF98 INV2 0260 0012 3;Beta SARL;"
    "FR7630006000011234567890189\n"
)


def test_de_bank_profile_skips_the_preamble_and_the_debit():
    parsed = _parse(DE_BANK, "de-bank")
    assert parsed.errors == ()
    # Three booked rows: 1.234,56 in, -850,00 out (rent: not a payment), 59,50 in.
    assert (parsed.rows_read, parsed.debits) == (3, 1)
    assert [(p.line, p.amount, p.received_on) for p in parsed.lines] == [
        (5, Decimal("1234.56"), date(2026, 3, 5)),
        (7, Decimal("59.50"), date(2026, 3, 7)),
    ]
    # "Währung" and "Auftraggeber/Empfänger" match the profile's "Waehrung" and
    # "Auftraggeber/Empfaenger"; the booking day (not the value day) is the date.
    assert [p.payer for p in parsed.lines] == ["Alpha GmbH", "Beta SARL"]
    assert [p.currency for p in parsed.lines] == ["EUR", "EUR"]
    assert parsed.lines[0].customer == ""


def test_lockbox_profile_is_usd_with_us_dates_and_thousands():
    parsed = _parse(
        "date,amount,reference,payer\n"
        '03/05/2026,"1,250.00",INV-2026-000004,Gamma Inc\n'
        "3/6/26,75.25,INV-2026-000005,\n",
        "lockbox",
    )
    assert parsed.errors == ()
    assert [(p.received_on, p.amount, p.currency, p.method) for p in parsed.lines] == [
        (date(2026, 3, 5), Decimal("1250.00"), "USD", "cheque"),
        (date(2026, 3, 6), Decimal("75.25"), "USD", "cheque"),
    ]


def test_lockbox_without_the_optional_payer_column():
    parsed = _parse("date,amount,reference\n03/05/2026,10.00,INV-2026-000004\n", "lockbox")
    assert [p.payer for p in parsed.lines] == [""]


STRIPE = (
    "id,Description,Seller Message,Created (UTC),Amount,Amount Refunded,Currency,"
    "Converted Amount,Fee,Status,Customer ID,Customer Email\n"
    "ch_1,Invoice INV-2026-000001,Payment complete.,2026-03-05 14:30,119.00,0.00,eur,"
    "119.00,3.75,Paid,cus_A,ap@alpha.example\n"
    "ch_2,Invoice INV-2026-000002,Payment complete.,2026-03-05 15:00,59.50,10.00,eur,"
    "59.50,2.00,Paid,cus_A,ap@alpha.example\n"
    "ch_3,Invoice INV-2026-000003,Your card was declined.,2026-03-06 09:00,20.00,0.00,eur,"
    "0.00,0.00,Failed,cus_B,x@beta.example\n"
    "ch_4,Invoice INV-2026-000004,Payment complete.,2026-03-06 10:00,30.00,30.00,eur,"
    "30.00,1.00,Refunded,cus_B,x@beta.example\n"
    "ch_5,Invoice INV-2026-000005,Payment complete.,2026-03-07 10:00,40.00,40.00,eur,"
    "40.00,1.00,succeeded,cus_B,x@beta.example\n"
)


def test_stripe_profile_keeps_paid_rows_less_refunds():
    parsed = _parse(STRIPE, "stripe")
    assert parsed.errors == ()
    # ch_1 paid in full; ch_2 paid 59.50 of which 10.00 refunded: 49.50 received;
    # ch_3 failed and ch_4 refunded (status): not paid; ch_5 succeeded but refunded in full.
    assert [(p.transaction_id, p.amount) for p in parsed.lines] == [
        ("ch_1", Decimal("119.00")),
        ("ch_2", Decimal("49.50")),
    ]
    assert (parsed.rows_read, parsed.not_paid, parsed.refunded) == (5, 2, 1)
    first = parsed.lines[0]
    assert (first.currency, first.method, first.received_on, first.payer) == (
        "EUR",
        "card",
        date(2026, 3, 5),
        "ap@alpha.example",
    )
    assert first.reference == "Invoice INV-2026-000001"


def test_credit_and_debit_columns():
    profile = Profile(
        "two-columns",
        date=("Date",),
        credit=("Credit",),
        debit=("Debit",),
        currency="GBP",
        reference=("Details",),
        date_format="DD/MM/YYYY",
    )
    parsed = parse_payments(
        "Date,Details,Debit,Credit\n"
        "05/03/2026,INV-2026-000001,,100.00\n"
        "06/03/2026,Rent,800.00,\n"
        "07/03/2026,Nothing,,\n"
        "08/03/2026,Both,1.00,2.00\n",
        "bank.csv",
        profile,
    )
    assert [(p.received_on, p.amount) for p in parsed.lines] == [
        (date(2026, 3, 5), Decimal("100.00"))
    ]
    assert parsed.debits == 1
    assert [(e.line, e.field) for e in parsed.errors] == [(4, "credit"), (5, "credit")]


# --- bad rows ----------------------------------------------------------------------------------


def test_every_bad_row_is_named_with_line_field_and_reason():
    parsed = _parse(
        "customer,amount,currency,date,reference,method,id\n"
        "C1,10.00,EUR,2026-02-30,x,,T1\n"  # no 30 February
        "C1,10.001,EUR,2026-03-01,x,,T2\n"  # three decimals in EUR
        "C1,0.00,EUR,2026-03-01,x,,T3\n"  # zero
        "C1,10.00,EUX,2026-03-01,x,,T4\n"  # no such currency
        "C1,10.00,EUR,2026-03-01,x,by pigeon,T5\n"  # no such method
        "C1,ten,EUR,2026-03-01,x,,T6\n"  # not an amount
        "C1,10.00,EUR,2026-03-01\n"  # too few values
        "C1,10.00,EUR,2026-03-01,fine,,T8\n"  # the one good row
    )
    assert [(e.line, e.field) for e in parsed.errors] == [
        (2, "date"),
        (3, "amount"),
        (4, "amount"),
        (5, "currency"),
        (6, "method"),
        (7, "amount"),
        (8, ""),
    ]
    assert "2026-02-30" in parsed.errors[0].reason
    assert "more decimals than EUR allows" in parsed.errors[1].reason
    assert parsed.errors[6].reason == "4 values for 7 columns"
    assert [p.line for p in parsed.lines] == [9]
    assert all(e.source == "f.csv" for e in parsed.errors)


def test_a_missing_column_refuses_the_file():
    with pytest.raises(InvalidInput) as refused:
        _parse("customer,amount,date,reference,method,id\nC1,1.00,2026-03-01,x,,T\n")
    assert refused.value.field == "currency_column"
    assert "'currency'" in refused.value.reason


def test_a_file_of_another_layout_is_refused_naming_the_profile():
    with pytest.raises(InvalidInput) as refused:
        _parse(DE_BANK, "openbill")
    assert refused.value.field == "header"
    assert "openbill" in refused.value.reason


def test_too_long_a_reference_is_refused():
    long = "x" * 141  # one more than a payment reference holds
    parsed = _parse(
        f"customer,amount,currency,date,reference,method,id\nC1,1,EUR,2026-03-01,{long},,T\n"
    )
    assert [(e.line, e.field) for e in parsed.errors] == [(2, "reference")]
    fits = _parse(
        f"customer,amount,currency,date,reference,method,id\nC1,1,EUR,2026-03-01,{long[:140]},,T\n"
    )
    assert fits.errors == ()


# --- cells -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "decimal", "thousands", "value"),
    [
        ("1.234,56", ",", ".", Decimal("1234.56")),
        ("-1.234.567,8", ",", ".", Decimal("-1234567.8")),
        ("1,234.56", ".", ",", Decimal("1234.56")),
        ("1234.56", ".", ",", Decimal("1234.56")),  # the separator may be left out
        ("1'234.50", ".", "'", Decimal("1234.50")),
        ("1 234,50", ",", " ", Decimal("1234.50")),
        ("+7", ".", "", Decimal("7")),
    ],
)
def test_amounts_as_banks_write_them(text, decimal, thousands, value):
    assert parse_amount(text, decimal, thousands) == value


@pytest.mark.parametrize(
    ("text", "decimal", "thousands"),
    [
        ("1.23,45", ",", "."),  # a group of two is not a thousands group
        ("1,234.56", ",", "."),  # written the other way round
        ("12.50", ",", ""),  # a point where a comma belongs
        ("1e3", ".", ""),
        ("", ".", ""),
        ("1" * 16, ".", ""),  # beyond any plausible payment
    ],
)
def test_amounts_that_are_not(text, decimal, thousands):
    with pytest.raises(InvalidInput) as bad:
        parse_amount(text, decimal, thousands)
    assert bad.value.field == "amount"


def test_dates_in_each_format_and_near_misses():
    assert parse_date("2026-03-05T14:30:00Z", "ISO") == date(2026, 3, 5)
    assert parse_date("05.03.26", "DD.MM.YYYY") == date(2026, 3, 5)
    assert parse_date("05/03/2026", "DD/MM/YYYY") == date(2026, 3, 5)
    assert parse_date("05/03/2026", "MM/DD/YYYY") == date(2026, 5, 3)
    for text, fmt in (("2026-3-5", "ISO"), ("05.03.2026", "ISO"), ("13/01/2026", "MM/DD/YYYY")):
        with pytest.raises(InvalidInput) as bad:
            parse_date(text, fmt)
        assert bad.value.field == "date"
    with pytest.raises(InvalidInput) as bad:
        parse_date("01.01.1899", "DD.MM.YYYY")
    assert "not a plausible payment date" in bad.value.reason


def test_date_format_override():
    us = merged(BUILTIN["openbill"], "MM/DD/YYYY")
    parsed = parse_payments(
        "customer,amount,currency,date,reference,method,id\nC1,1,EUR,03/05/2026,x,,T\n", "f", us
    )
    assert parsed.lines[0].received_on == date(2026, 3, 5)
    with pytest.raises(InvalidInput):
        merged(BUILTIN["openbill"], "YYYY/MM/DD")


def test_methods_are_those_of_the_payments_use_case():
    assert PAYMENT_METHODS == METHODS


# --- import keys -------------------------------------------------------------------------------


def _line(n: int, amount: str = "10.00", tx: str = "") -> PaymentLine:
    return PaymentLine(
        n, date(2026, 3, 1), Decimal(amount), "EUR", "C1", "INV-2026-000001", "A", tx, "cheque"
    )


def test_keys_use_the_transaction_id_else_a_fingerprint_counting_repeats():
    keys = import_keys([_line(2, tx="T-9"), _line(3), _line(4), _line(5, "10.01")])
    assert keys[0] == "tx:T-9"
    # Two identical lines are two payments: different keys (1st and 2nd occurrence) ...
    assert keys[1].startswith("fp:") and keys[1] != keys[2]
    # ... and the same keys on the next import of the same file (the line number is no part).
    assert import_keys([_line(7), _line(8)]) == keys[1:3]
    assert keys[3] not in keys[1:3]
    # 10.0 and 10.00 are one amount.
    assert import_keys([_line(2, "10.0")])[0] == keys[1]


@given(st.lists(st.sampled_from(["1.00", "2.00", "2.0"]), max_size=12))
def test_keys_are_unique_within_a_file_and_stable(amounts):
    lines = [_line(i + 2, a) for i, a in enumerate(amounts)]
    keys = import_keys(lines)
    assert len(set(keys)) == len(keys)
    assert import_keys(lines) == keys


# --- profiles from TOML ------------------------------------------------------------------------


def test_user_profiles_from_toml():
    profiles = profiles_from_toml(
        """
[profiles.sparkasse]
extends = "de-bank"
encoding = "cp1252"
date = ["Valutadatum"]

[profiles.shop]
date = "Paid on"
amount = "Total"
currency = "chf"
customer = "Account"
reference = ["Order", "Note"]
thousands = "'"
method = "card"
""",
        "profiles.toml",
    )
    spk = profiles["sparkasse"]
    assert (spk.delimiter, spk.decimal, spk.encoding, spk.date) == (
        ";",
        ",",
        "cp1252",
        ("Valutadatum",),
    )
    shop = profiles["shop"]
    parsed = parse_payments(
        "Paid on,Total,Account,Order,Note\n2026-03-01,1'000.50,K7,A-17,INV-2026-000001\n",
        "shop.csv",
        shop,
    )
    (line,) = parsed.lines
    # Both reference columns are read and joined; the fixed currency applies.
    assert (line.amount, line.currency, line.customer, line.reference, line.method) == (
        Decimal("1000.50"),
        "CHF",
        "K7",
        "A-17 INV-2026-000001",
        "card",
    )
    assert by_name("shop", profiles) is shop
    assert by_name("stripe", profiles) is BUILTIN["stripe"]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[profiles.x]\ndate = 'd'\namount = 'a'\ncolour = 'red'\n", "colour"),
        ("[profiles.x]\namount = 'a'\n", "date"),
        ("[profiles.x]\ndate = 'd'\n", "amount"),
        ("[profiles.x]\ndate = 'd'\namount = 'a'\ncredit = 'c'\n", "amount"),
        ("[profiles.x]\ndate = 'd'\namount = 'a'\ndecimal = ','\nthousands = ','\n", "thousands"),
        ("[profiles.x]\ndate = 'd'\namount = 'a'\nencoding = 'klingon'\n", "encoding"),
        ("[profiles.x]\ndate = 'd'\namount = 'a'\nmethod = 'barter'\n", "method"),
        ("[profiles.x]\nextends = 'nope'\n", "extends"),
        ("[profiles.x]\ndate = 'd'\namount = 'a'\ndate_format = 'YYYYMMDD'\n", "date_format"),
    ],
)
def test_bad_profiles_are_refused_naming_the_key(text, field):
    with pytest.raises(InvalidInput) as refused:
        profiles_from_toml(text, "p.toml")
    assert refused.value.field == field
    assert "profile x" in refused.value.record


def test_not_toml_and_unknown_profile_names():
    with pytest.raises(InvalidInput):
        profiles_from_toml("[profiles.x\n", "p.toml")
    with pytest.raises(InvalidInput):
        profiles_from_toml("[other]\nx = 1\n", "p.toml")
    with pytest.raises(InvalidInput) as refused:
        by_name("nope")
    assert "de-bank" in refused.value.reason


# --- decoding ----------------------------------------------------------------------------------


def test_decoding_names_the_line_of_a_foreign_byte():
    data = "Buchungstag;Betrag\n05.03.2026;1,00\nMüller\n".encode("cp1252")
    assert decode(data, "cp1252", "b.csv").endswith("Müller\n")
    with pytest.raises(InvalidInput) as refused:
        decode(data, "utf-8", "b.csv")
    assert refused.value.record == "b.csv:3"
    # A UTF-8 byte-order mark is dropped.
    assert decode("\ufeffdate".encode(), "utf-8", "b.csv") == "date"


# --- fuzzing: whatever comes in, rows, errors or a Rejection -----------------------------------

cells = st.text(alphabet=st.sampled_from(list('0123456789.,-/;" \nabcRFINV\t\x00é')), max_size=12)


@given(
    st.sampled_from(sorted(BUILTIN)),
    st.lists(st.lists(cells, max_size=9), max_size=8),
    st.booleans(),
)
def test_random_files_never_crash_the_parser(name, rows, with_header):
    profile = BUILTIN[name]
    header = [
        names[0]
        for names in (
            profile.date,
            profile.amount,
            profile.currency_column,
            profile.customer,
            profile.reference,
            profile.status,
        )
        if names
    ]
    lines = [header] if with_header else []
    text = "\n".join(profile.delimiter.join(r) for r in lines + rows)
    try:
        parsed = parse_payments(text, "fuzz.csv", profile)
    except Rejection as refusal:
        assert refusal.reason
        return
    for line in parsed.lines:
        assert line.amount > 0
    for error in parsed.errors:
        assert error.reason and error.line > 0


@given(st.binary(max_size=200), st.sampled_from(["utf-8", "cp1252", "latin-1"]))
def test_random_bytes_decode_or_refuse(data, encoding):
    try:
        text = decode(data, encoding, "fuzz.csv")
        parse_payments(text, "fuzz.csv", BUILTIN["de-bank"])
    except Rejection as refusal:
        assert refusal.reason


@given(st.text(max_size=200))
def test_random_toml_never_crashes(text):
    try:
        profiles_from_toml(text, "fuzz.toml")
    except Rejection as refusal:
        assert refusal.reason


@given(
    st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False, allow_infinity=False),
    st.sampled_from([(".", ""), (".", ","), (",", "."), (",", " "), (".", "'")]),
)
def test_amounts_read_back_as_written(amount, style):
    decimal_mark, thousands = style
    whole, _, cents = f"{amount:.2f}".partition(".")
    grouped = f"{int(whole):,}".replace(",", thousands) if thousands else whole
    assert parse_amount(f"{grouped}{decimal_mark}{cents}", decimal_mark, thousands) == amount
