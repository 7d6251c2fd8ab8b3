"""The camt.053 and MT940 writers: random statements written and read back, and fixed examples
whose expected bytes are worked out by hand from the formats (camt.053.001.08 schema order, the
SWIFT :61: layout, the German structured :86:).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from lxml import etree

from openbill.adapters.bank import read_statement
from openbill.adapters.bank.write import (
    CAMT053_NAMESPACE,
    swift_text,
    write_camt053,
    write_mt940,
)
from openbill.domain.bank import Balance, Entry, Statement, check_balances

CREATED = datetime(2027, 3, 31, 18, 30, 0)
NS = {"c": CAMT053_NAMESPACE}
DIGITS = "0123456789"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
REFERENCE_CHARS = UPPER + UPPER.lower() + DIGITS + "-"


def iban(country: str, bban: str) -> str:
    """An IBAN with its check digits as ISO 13616 computes them (mod 97-10 over the BBAN, the
    country and 00, letters read as 10..35)."""
    number = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    return f"{country}{98 - number % 97:02d}{bban}"


def test_the_iban_helper_gives_the_example_of_the_standard():
    assert iban("DE", "370400440532013000") == "DE89370400440532013000"
    assert iban("GB", "NWBK60161331926819") == "GB29NWBK60161331926819"


def camt_xml(statements: list[Statement]) -> etree._Element:
    return etree.fromstring(write_camt053(statements, message_id="MSG-1", created=CREATED))


def local(el: etree._Element) -> str:
    return etree.QName(el).localname


# --- random round trips ----------------------------------------------------------------------

CURRENCIES = ("EUR", "CHF", "JPY", "USD")
# Words of letters, digits, punctuation and symbols in any script (no blanks): texts of them
# are as the readers leave a text, blanks folded.
WORDS = st.text(st.characters(whitelist_categories=("L", "N", "P", "S")), min_size=1, max_size=12)
REFERENCES = st.text(REFERENCE_CHARS, max_size=35).filter(lambda r: r not in ("NONREF",))
IBANS = st.one_of(
    st.builds(lambda d: iban("DE", d), st.text(DIGITS, min_size=18, max_size=18)),
    st.builds(lambda d: iban("CH", d), st.text(DIGITS, min_size=17, max_size=17)),
    st.builds(
        lambda b, d: iban("NL", b + d),
        st.text(UPPER, min_size=4, max_size=4),
        st.text(DIGITS, min_size=10, max_size=10),
    ),
)
ACCOUNTS = st.one_of(st.just(""), IBANS, st.text(DIGITS, min_size=6, max_size=12))
# Codes whose reading does not depend on a return (UPDD, which reads as one, has its own test).
CODES = st.sampled_from(["", "PMNT/RCDT/ESCT", "PMNT/IDDT/ESDD", "NTRF", "NMSC", "NDDT+105+931"])
REASONS = st.sampled_from(["", "", "", "RETURN", "AM04", "MD06", "AC04", "MS03"])


def texts(words: int) -> st.SearchStrategy[str]:
    return st.lists(WORDS, max_size=words).map(" ".join)


@st.composite
def entries(draw: st.DrawFn, currency: str, around: date) -> Entry:
    value = around + timedelta(days=draw(st.integers(-20, 20)))
    booking = draw(st.sampled_from([None, value, value - timedelta(days=2)]))
    if booking is not None and draw(st.booleans()):
        value = None  # camt may give a booking date alone
    amount = draw(st.integers(-(10**10), 10**10))
    instructed_minor, instructed_currency = None, ""
    other = draw(st.sampled_from(CURRENCIES))
    if other != currency and draw(st.booleans()):
        size = draw(st.integers(0, 10**10))
        instructed_minor, instructed_currency = (size if amount >= 0 else -size), other
    return Entry(
        booking_date=booking,
        value_date=value,
        amount_minor=amount,
        currency=currency,
        bank_reference=draw(REFERENCES),
        end_to_end_id=draw(REFERENCES.filter(lambda r: r != "NOTPROVIDED")),
        counterparty_name=draw(texts(4)),
        counterparty_account=draw(ACCOUNTS),
        remittance=draw(texts(6)),
        creditor_reference=draw(st.one_of(st.just(""), st.text(UPPER + DIGITS, max_size=25))),
        transaction_code=draw(CODES),
        return_reason=draw(REASONS),
        instructed_minor=instructed_minor,
        instructed_currency=instructed_currency,
    )


@st.composite
def statements(draw: st.DrawFn) -> Statement:
    currency = draw(st.sampled_from(CURRENCIES))
    start = draw(st.dates(date(2001, 1, 1), date(2098, 11, 1)))
    end = start + timedelta(days=draw(st.integers(0, 40)))
    lines = tuple(draw(st.lists(entries(currency, start + timedelta(days=20)), max_size=6)))
    opening = draw(st.integers(-(10**10), 10**10))
    closing = opening + sum(e.amount_minor for e in lines)
    if not draw(st.booleans()):  # a statement that does not add up
        closing += draw(st.integers(1, 10**6))
    with_period = draw(st.booleans())
    return Statement(
        format="camt.053",
        account=draw(st.one_of(IBANS, st.text(DIGITS, min_size=6, max_size=20))),
        currency=currency,
        statement_id=draw(st.text(REFERENCE_CHARS, min_size=1, max_size=35)),
        sequence=draw(st.text(DIGITS, min_size=1, max_size=5)),
        created=draw(st.one_of(st.none(), st.just(end))),
        period_from=start if with_period else None,
        period_to=end if with_period else None,
        opening=Balance(opening, currency, start),
        closing=Balance(closing, currency, end),
        entries=lines,
    )


@given(st.lists(statements(), min_size=1, max_size=3))
def test_camt053_round_trip(written):
    data = write_camt053(written, message_id="MSG-1", created=CREATED)
    assert data == write_camt053(written, message_id="MSG-1", created=CREATED)  # deterministic
    read = read_statement(data, "roundtrip.xml")
    # camt carries every field of these statements; only the format is now the file's.
    assert read == [replace(s, format="camt.053") for s in written]
    for before, after in zip(written, read, strict=True):
        assert check_balances(after) == check_balances(before)
        if before.closing.amount_minor == before.opening.amount_minor + sum(
            e.amount_minor for e in before.entries
        ):
            assert check_balances(after) == []


SWIFT_TYPE = re.compile(r"[NSF][A-Z0-9]{3}")


def mt940_carries(entry: Entry) -> Entry:
    """What MT940 keeps of an entry (the module docstring of `write` lists it): X characters,
    16-character bank references, the creditor reference in front of the text, a SWIFT type
    as the code, no instructed amount, both dates (the one missing read as the other)."""
    text = swift_text(entry.remittance)
    reference = swift_text(entry.creditor_reference)
    if reference and reference not in text:
        text = f"{reference} {text}".rstrip()
    code = entry.transaction_code
    return Entry(
        booking_date=entry.booking_date or entry.value_date,
        value_date=entry.value_date or entry.booking_date,
        amount_minor=entry.amount_minor,
        currency=entry.currency,
        bank_reference=entry.bank_reference[:16],
        end_to_end_id=entry.end_to_end_id,
        counterparty_name=swift_text(entry.counterparty_name),
        counterparty_account=entry.counterparty_account,
        remittance=text,
        transaction_code=code if SWIFT_TYPE.fullmatch(code) else "NTRF",
        return_reason=entry.return_reason,
    )


@given(st.lists(statements(), min_size=1, max_size=3))
def test_mt940_round_trip(written):
    expected = []
    for s in written:
        lines = tuple(mt940_carries(e) for e in s.entries)
        for line in lines:
            # Inside the bounds of a :86:, and not ending in a label mt-940 drops.
            assume(len(line.remittance) <= 120 and len(line.counterparty_name) <= 52)
            assume(not line.remittance.endswith((" BIC", " IBAN")))
        expected.append(
            Statement(
                format="mt940",
                account=s.account,
                currency=s.currency,
                statement_id=s.statement_id[:16],
                sequence=s.sequence,
                period_from=s.opening.as_of,
                period_to=s.closing.as_of,
                opening=s.opening,
                closing=s.closing,
                entries=lines,
            )
        )
    data = write_mt940(written)
    assert data == write_mt940(written)
    read = read_statement(data, "roundtrip.sta")
    assert read == expected
    assert [check_balances(s) for s in read] == [check_balances(s) for s in written]


@given(texts(60), texts(12), REFERENCES)
def test_mt940_cuts_long_texts_and_keeps_the_file_readable(remittance, name, end_to_end):
    entry = Entry(
        date(2027, 3, 15),
        date(2027, 3, 15),
        -100,
        "EUR",
        bank_reference="B1",
        end_to_end_id=end_to_end,
        counterparty_name=name,
        counterparty_account="DE89370400440532013000",
        remittance=remittance,
        return_reason="AM04",
    )
    statement = Statement(
        "camt.053", "DE89370400440532013000", "EUR", statement_id="S1", sequence="1",
        opening=Balance(0, "EUR", date(2027, 3, 1)), entries=(entry,),
    )  # fmt: skip
    data = write_mt940([statement])
    lines = data.decode("ascii").split("\r\n")
    details = lines[lines.index(next(x for x in lines if x.startswith(":86:"))) : -3]
    assert len(details) <= 6 and all(len(x) <= 65 + 4 * (i == 0) for i, x in enumerate(details))
    assert not any(x[:1] in (":", "-", " ") or x.endswith(" ") for x in details[1:])
    (read,) = read_statement(data, "long.sta")
    (back,) = read.entries
    # What is read back is the start of what was written, never something else.
    assert swift_text(remittance).startswith(back.remittance)
    assert swift_text(name).startswith(back.counterparty_name)
    assert len(back.counterparty_name) <= 54
    assert (back.end_to_end_id, back.return_reason, back.amount_minor) == (end_to_end, "AM04", -100)


# --- fixed examples, worked out by hand ------------------------------------------------------

D = date(2027, 3, 15)
DEBIT = Entry(
    booking_date=D,
    value_date=D,
    amount_minor=-123456,
    currency="EUR",
    bank_reference="BANKREF-1",
    counterparty_name="Müller & Söhne <GmbH>",
    counterparty_account="DE89370400440532013000",
    remittance="Rechnung 4711",
    creditor_reference="RF18539007547034",
    transaction_code="PMNT/ICDT/ESCT",
)
STATEMENT = Statement(
    format="camt.053",
    account="DE02120300000000202051",
    currency="EUR",
    statement_id="STMT-2027-03",
    sequence="3",
    created=date(2027, 3, 31),
    period_from=date(2027, 3, 1),
    period_to=date(2027, 3, 31),
    opening=Balance(-5000, "EUR", date(2027, 3, 1)),
    closing=Balance(-128456, "EUR", date(2027, 3, 31)),  # -50.00 - 1234.56 = -1284.56
    entries=(DEBIT,),
)


def test_camt053_debit_entry_worked_by_hand():
    data = write_camt053([STATEMENT], message_id="MSG-1", created=CREATED)
    root = etree.fromstring(data)
    assert local(root) == "Document" and root.nsmap[None] == CAMT053_NAMESPACE
    (group, stmt) = root[0]
    assert [(local(c), c.text) for c in group] == [
        ("MsgId", "MSG-1"),
        ("CreDtTm", "2027-03-31T18:30:00"),
    ]
    # AccountStatement9 in the schema's order.
    assert [local(c) for c in stmt] == [
        "Id", "ElctrncSeqNb", "CreDtTm", "FrToDt", "Acct", "Bal", "Bal", "TxsSummry", "Ntry",
    ]  # fmt: skip
    assert stmt.findtext("c:Id", namespaces=NS) == "STMT-2027-03"
    assert stmt.findtext("c:CreDtTm", namespaces=NS) == "2027-03-31T18:30:00"  # created's day
    assert stmt.findtext("c:Acct/c:Id/c:IBAN", namespaces=NS) == "DE02120300000000202051"
    opening, closing = stmt.findall("c:Bal", NS)
    # The opening balance of -50.00 is an amount of 50.00 marked DBIT.
    assert opening.findtext("c:Tp/c:CdOrPrtry/c:Cd", namespaces=NS) == "OPBD"
    assert opening.findtext("c:Amt", namespaces=NS) == "50.00"
    assert opening.findtext("c:CdtDbtInd", namespaces=NS) == "DBIT"
    assert closing.findtext("c:Amt", namespaces=NS) == "1284.56"
    assert closing.findtext("c:Dt/c:Dt", namespaces=NS) == "2027-03-31"
    # One debit of 1234.56: one entry, sum 1234.56, net 1234.56 DBIT, no credits.
    summary = stmt.find("c:TxsSummry", NS)
    assert [x.text for x in summary.iter() if x.text and x.text.strip()] == [
        "1", "1234.56", "1234.56", "DBIT", "0", "0.00", "1", "1234.56",
    ]  # fmt: skip
    ntry = stmt.find("c:Ntry", NS)
    # ReportEntry10 in the schema's order.
    assert [local(c) for c in ntry] == [
        "Amt", "CdtDbtInd", "Sts", "BookgDt", "ValDt", "AcctSvcrRef", "BkTxCd", "NtryDtls",
        "AddtlNtryInf",
    ]  # fmt: skip
    assert b'<Amt Ccy="EUR">1234.56</Amt><CdtDbtInd>DBIT</CdtDbtInd>' in data
    assert ntry.findtext("c:Sts/c:Cd", namespaces=NS) == "BOOK"
    assert ntry.findtext("c:BookgDt/c:Dt", namespaces=NS) == "2027-03-15"
    assert ntry.findtext("c:AcctSvcrRef", namespaces=NS) == "BANKREF-1"
    code = ntry.find("c:BkTxCd/c:Domn", NS)
    assert [x.text for x in code.iter() if x.text and x.text.strip()] == ["PMNT", "ICDT", "ESCT"]
    tx = ntry.find("c:NtryDtls/c:TxDtls", NS)
    assert [local(c) for c in tx] == ["Refs", "RltdPties", "RmtInf"]
    assert tx.findtext("c:Refs/c:EndToEndId", namespaces=NS) == "NOTPROVIDED"
    # A debit names the creditor; the text is escaped, not dropped.
    assert tx.findtext("c:RltdPties/c:Cdtr/c:Pty/c:Nm", namespaces=NS) == "Müller & Söhne <GmbH>"
    assert "Müller &amp; Söhne &lt;GmbH&gt;".encode() in data
    assert tx.findtext("c:RltdPties/c:CdtrAcct/c:Id/c:IBAN", namespaces=NS) == (
        "DE89370400440532013000"
    )
    assert tx.findtext("c:RmtInf/c:Ustrd", namespaces=NS) == "Rechnung 4711"
    reference = tx.find("c:RmtInf/c:Strd/c:CdtrRefInf", NS)
    assert reference.findtext("c:Tp/c:CdOrPrtry/c:Cd", namespaces=NS) == "SCOR"
    assert reference.findtext("c:Ref", namespaces=NS) == "RF18539007547034"
    assert ntry.findtext("c:AddtlNtryInf", namespaces=NS) == "UEBERWEISUNG"
    (back,) = read_statement(data, "debit.xml")
    assert back == STATEMENT and check_balances(back) == []


def test_mt940_debit_entry_worked_by_hand():
    data = write_mt940([STATEMENT])
    # The :86: content: GVC 116 (transfer out), ?00 text, ?20 the first 27 characters of
    # "SVWZ+RF18539007547034 Rechnung 4711" (5 + 16 + 1 + 5), ?21 the rest, ?31 the IBAN,
    # ?32 the name in X characters; cut after 65 characters (59 up to "4711", then "?31DE8").
    assert data.decode("ascii").split("\r\n") == [
        ":20:STMT-2027-03",
        ":25:DE02120300000000202051",
        ":28C:3",
        ":60F:D270301EUR50,00",
        ":61:2703150315D1234,56NTRFNONREF//BANKREF-1",
        ":86:116?00UEBERWEISUNG?20SVWZ+RF18539007547034 Rechn?21ung 4711?31DE8",
        "9370400440532013000?32Mueller + Soehne .GmbH.",
        ":62F:D270331EUR1284,56",
        "-",
        "",
    ]
    (back,) = read_statement(data, "debit.sta")
    (entry,) = back.entries
    assert entry.remittance == "RF18539007547034 Rechnung 4711"  # the reference in the text
    assert (entry.creditor_reference, entry.counterparty_name) == ("", "Mueller + Soehne .GmbH.")
    assert check_balances(back) == []


def test_a_yen_credit_has_no_decimals():
    entry = Entry(D, D, 5000, "JPY", bank_reference="Y1", end_to_end_id="E2E-JP")
    statement = replace(
        STATEMENT,
        currency="JPY",
        opening=Balance(0, "JPY", date(2027, 3, 1)),
        closing=Balance(5000, "JPY", date(2027, 3, 31)),
        entries=(entry,),
    )
    data = write_camt053([statement], message_id="M", created=CREATED)
    assert b'<Amt Ccy="JPY">5000</Amt><CdtDbtInd>CRDT</CdtDbtInd>' in data
    mt = write_mt940([statement]).decode("ascii")
    # SWIFT writes the decimal comma even where the currency has no decimals.
    assert ":60F:C270301JPY0,\r\n" in mt
    assert ":61:2703150315C5000,NTRFE2E-JP//Y1\r\n" in mt
    assert ":86:166?00GUTSCHRIFT?20EREF+E2E-JP\r\n" in mt
    assert [s.entries[0].amount_minor for s in read_statement(mt.encode(), "jpy.sta")] == [5000]


def test_an_instructed_amount_with_its_exchange_rate():
    # 1,676.40 USD instructed, 1,546.05 EUR credited.
    entry = Entry(D, D, 154605, "EUR", instructed_minor=167640, instructed_currency="USD")
    statement = replace(STATEMENT, opening=None, closing=None, entries=(entry,))
    root = camt_xml([statement])
    details = root.find(".//c:TxDtls/c:AmtDtls", NS)
    assert [local(c) for c in details] == ["InstdAmt", "TxAmt"]
    assert details.findtext("c:InstdAmt/c:Amt", namespaces=NS) == "1676.40"
    assert details.find("c:InstdAmt/c:Amt", NS).get("Ccy") == "USD"
    assert details.findtext("c:TxAmt/c:Amt", namespaces=NS) == "1546.05"
    exchange = details.find("c:TxAmt/c:CcyXchg", NS)
    assert [local(c) for c in exchange] == ["SrcCcy", "TrgtCcy", "UnitCcy", "XchgRate"]
    assert [c.text for c in exchange][:3] == ["USD", "EUR", "USD"]
    # 1 USD = x EUR with x = 1546.05 / 1676.40 to 10 places: within half a unit of the tenth
    # place of the quotient, i.e. 1676.40 * x is 1546.05 to within 1676.40 * 0.5e-10.
    rate = Decimal(exchange.findtext("c:XchgRate", namespaces=NS))
    assert rate == Decimal("0.9222440945")
    assert abs(rate * Decimal("1676.40") - Decimal("1546.05")) <= Decimal("1676.40") * Decimal(
        "0.5e-10"
    )
    (back,) = read_statement(etree.tostring(root), "fx.xml")
    assert (back.entries[0].instructed_minor, back.entries[0].instructed_currency) == (
        167640,
        "USD",
    )
    # MT940 has no place for it.
    (mt,) = read_statement(write_mt940([statement]), "fx.sta")
    assert (mt.entries[0].instructed_minor, mt.entries[0].instructed_currency) == (None, "")


def test_missing_balances_are_written_as_the_entries_imply():
    lines = (replace(DEBIT, amount_minor=1000), replace(DEBIT, amount_minor=-300))
    statement = replace(STATEMENT, opening=None, closing=None, entries=lines)
    for data, name in (
        (write_camt053([statement], message_id="M", created=CREATED), "x.xml"),
        (write_mt940([statement]), "x.sta"),
    ):
        (back,) = read_statement(data, name)
        # No balance at all: opening 0, closing 0 + 10.00 - 3.00 = 7.00.
        assert (back.opening.amount_minor, back.closing.amount_minor) == (0, 700)
        # Dated by the period, 2027-03-01 to 2027-03-31.
        assert (back.opening.as_of, back.closing.as_of) == (date(2027, 3, 1), date(2027, 3, 31))


def test_returns_are_written_where_the_readers_find_them():
    returned = replace(DEBIT, return_reason="AM04", remittance="", creditor_reference="")
    came_back = replace(DEBIT, amount_minor=2000, return_reason="RETURN", creditor_reference="")
    statement = replace(STATEMENT, opening=None, closing=None, entries=(returned, came_back))
    root = camt_xml([statement])
    first, second = root.findall(".//c:TxDtls", NS)
    assert first.findtext("c:RtrInf/c:Rsn/c:Cd", namespaces=NS) == "AM04"
    assert second.find("c:RtrInf/c:Rsn", NS) is None  # a return, no reason given
    assert second.findtext("c:RtrInf/c:AddtlInf", namespaces=NS) == "RETURN"
    mt = write_mt940([statement])
    joined = mt.decode("ascii").replace("\r\n", "")
    # A returned direct debit (money out again) is GVC 109, a returned transfer (money back
    # in) GVC 159; the ISO code goes in ?34.
    assert (
        ":86:109?00RUECKLASTSCHRIFT?31DE89370400440532013000?32Mueller + Soehne .GmbH.?34AM04"
    ) in joined
    assert ":86:159?00RUECKUEBERWEISUNG?20SVWZ+Rechnung 4711?31" in joined
    for data, name in ((etree.tostring(root), "r.xml"), (mt, "r.sta")):
        (back,) = read_statement(data, name)
        assert [e.return_reason for e in back.entries] == ["AM04", "RETURN"]


def test_long_names_and_texts_are_cut_where_the_formats_say():
    name = UPPER * 6  # 156 characters, no blanks
    text = " ".join(["Rechnung"] * 30)  # 30 * 8 + 29 = 269 characters
    entry = replace(DEBIT, counterparty_name=name, remittance=text, creditor_reference="")
    statement = replace(STATEMENT, opening=None, closing=None, entries=(entry,))
    root = camt_xml([statement])
    # Nm is Max140Text; Ustrd pieces of at most 140: 15 words (15 * 8 + 14 = 134) each.
    assert root.findtext(".//c:Cdtr/c:Pty/c:Nm", namespaces=NS) == name[:140]
    pieces = [x.text for x in root.findall(".//c:RmtInf/c:Ustrd", NS)]
    assert pieces == [" ".join(["Rechnung"] * 15)] * 2
    (back,) = read_statement(etree.tostring(root), "long.xml")
    assert back.entries[0].remittance == text  # the pieces join back with a blank
    mt = write_mt940([statement]).decode("ascii").replace("\r\n", "")
    # ?32 and ?33 hold 27 characters each: 54 of the name.
    assert f"?32{name[:27]}?33{name[27:54]}" in mt
    (back,) = read_statement(write_mt940([statement]), "long.sta")
    assert back.entries[0].counterparty_name == name[:54]


def test_text_xml_cannot_carry_is_left_out():
    entry = replace(DEBIT, counterparty_name="A\x01B\tC  D\x7f")
    (back,) = read_statement(
        write_camt053([replace(STATEMENT, entries=(entry,))], message_id="M", created=CREATED),
        "ctl.xml",
    )
    # \x01 is no XML character; the tab and the double blank fold to one blank; DEL is one.
    assert back.entries[0].counterparty_name == "AB C D\x7f"


def test_swift_text_transliterates_to_the_x_character_set():
    assert swift_text("Müller & Söhne, Straße 5? Café") == "Mueller + Soehne, Strasse 5. Cafe"
    assert swift_text("Ærø  Łódź\tÅsa") == "AEro Lodz Asa"
    assert swift_text("50% Rabatt; {Sonder}*") == "50. Rabatt. .Sonder.."
    # A SEPA keyword with its "+" would open a field of its own when read.
    assert swift_text("Ref EREF+123 und SVWZ+x") == "Ref EREF 123 und SVWZ x"
    assert swift_text("Einzahlung+Zinsen") == "Einzahlung+Zinsen"


def test_what_mt940_cannot_carry_is_refused():
    dollars = replace(DEBIT, currency="USD")
    with pytest.raises(ValueError, match="one currency per statement"):
        write_mt940([replace(STATEMENT, entries=(dollars,))])
    old = replace(DEBIT, value_date=date(1999, 12, 31), booking_date=date(1999, 12, 31))
    with pytest.raises(ValueError, match="2000 to 2099"):
        write_mt940([replace(STATEMENT, entries=(old,), period_from=date(1999, 12, 1))])
    with pytest.raises(ValueError, match="at least one statement"):
        write_mt940([])
    with pytest.raises(ValueError, match="at least one statement"):
        write_camt053([], message_id="M", created=CREATED)


@pytest.mark.slow
def test_a_camt053_of_100000_entries_is_written_whole():
    """The largest file an import takes (ENTRIES_MAX) is written with every entry; how fast is
    measured by the benchmark, not here."""
    day = date(2027, 3, 1)
    lines = tuple(
        Entry(
            day + timedelta(days=i % 28),
            day + timedelta(days=i % 28),
            (i * 7919) % 200_000 - 50_000,
            "EUR",
            bank_reference=f"B{i:012d}",
            end_to_end_id=f"E2E-{i}",
            counterparty_name=f"Kunde {i} GmbH & Co. KG",
            counterparty_account="DE89370400440532013000",
            remittance=f"Rechnung RE-2027-{i:06d}",
            transaction_code="PMNT/RCDT/ESCT",
        )
        for i in range(100_000)
    )
    statement = replace(STATEMENT, opening=Balance(0, "EUR", day), closing=None, entries=lines)
    data = write_camt053([statement], message_id="BENCH", created=CREATED)
    assert data.count(b"<Ntry>") == 100_000
    # Entries i and i + 1 differ in their bank reference only by the running number.
    assert b"<AcctSvcrRef>B000000099999</AcctSvcrRef>" in data
