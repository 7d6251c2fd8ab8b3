"""The MT940 reader refuses a field that breaks its SWIFT layout, naming the line of its tag.

The mt-940 library alone is lenient: it read the :60F: amount 1x00,00 as 1.00, and a :61: line
with the amount C1x9,00 lost its transaction type, so the library fused it with the next :61:
(that entry kept the next amount and took both :86: texts: an RF reference moved onto the wrong
entry). Each statement below is written by hand; its line numbers are counted from HEAD (lines
1 to 3), the opening balance (line 4) and the body (from line 5).
"""

from __future__ import annotations

import re
from pathlib import Path

import mt940
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from openbill.adapters.bank import read_statement
from openbill.domain.bank import Statement, check_balances
from openbill.domain.rejections import InvalidInput

HEAD = (":20:STMT-2027-03", ":25:DE89370400440532013000", ":28C:1")
OPENING = ":60F:C270301EUR100,00"  # line 4
# Two credits, 119.00 and 50.00: 100.00 + 169.00 = 269.00.
BODY = (
    ":61:2703150315C119,00NTRFNONREF//B1",  # line 5
    ":86:RF18539007547034 Invoice 4711",  # line 6
    ":61:2703160316C50,00NTRFNONREF//B2",  # line 7
    ":86:Invoice 4712",  # line 8
)
CLOSING = ":62F:C270331EUR269,00"  # line 9 after BODY


def sta(*body: str, opening: str = OPENING, closing: str = CLOSING) -> bytes:
    lines = [*HEAD, opening, *body, closing, "-"]
    return "\r\n".join(x for x in lines if x).encode("latin-1")


def refusal(data: bytes) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        read_statement(data, "x.sta")
    return caught.value


def test_the_statement_as_written_reads():
    # The control for the cases below: every one of them changes this file in one place.
    (s,) = read_statement(sta(*BODY), "x.sta")
    assert [e.amount_minor for e in s.entries] == [11900, 5000]
    assert s.entries[0].remittance == "RF18539007547034 Invoice 4711"
    assert s.entries[1].remittance == "Invoice 4712"
    assert check_balances(s) == []


def test_a_letter_in_a_61_amount_is_refused_not_fused_with_the_next_entry():
    broken = sta(*BODY).replace(b"C119,00NTRF", b"C1x9,00NTRF")
    assert broken != sta(*BODY)
    found = refusal(broken)
    assert found.record == "x.sta: line 5"
    assert found.reason.startswith("the :61: field cannot be read: the amount '1x9,00'")
    assert "'x' is not a digit" in found.reason


def test_a_letter_in_the_opening_balance_is_refused_not_read_as_1():
    found = refusal(sta(*BODY, opening=":60F:C270301EUR1x00,00"))
    assert found.record == "x.sta: line 4"
    assert "the :60F: field cannot be read: the amount '1x00,00'" in found.reason


# The :61: line 5 of the statement, broken in one place, and what the refusal says about it.
BROKEN_61 = [
    ("2703150315CNTRFNONREF", "the amount is missing after the mark C"),
    ("2703150315C1,19,00NTRFNONREF", "'1,19,00' is not an amount as SWIFT writes it: it has more"),
    ("2703150315C1.190,00NTRFNONREF", "SWIFT writes no decimal point"),
    ("2703150315C119NTRFNONREF", "the decimal comma is missing"),
    ("2703150315C,50NTRFNONREF", "no digit before the decimal comma"),
    # 16 characters: SWIFT's 15d counts the comma
    ("2703150315C1234567890123,45NTRFNONREF", "longer than the 15 characters"),
    ("2703150315C119,00", "no transaction type (S, N or F"),
    ("2703150315C119,00N8TRNONREF", "no transaction type"),  # three capitals or digits
    ("2703150315C119,00//B1", "no transaction type"),
    # X is no funds code of EUR (that would be its third letter, R): a letter typed for a 1
    ("2703150315CX19,00NTRFNONREF", "'X' after the mark is neither a digit of the amount nor"),
    # the library would read a lowercase d as a credit
    ("2703150315d119,00NTRFNONREF", "the debit/credit mark 'd1' is none of C, D, RC and RD"),
    ("2703150315X119,00NTRFNONREF", "the debit/credit mark 'X1' is none of C, D, RC and RD"),
    ("2713150315C119,00NTRFNONREF", "the value date '271315' is not a date (YYMMDD)"),
    ("2702290229C119,00NTRFNONREF", "the value date '270229' is not a date"),  # 2027: no leap
    ("27031C119,00NTRFNONREF", "the value date '27031C' is not a date"),
    ("2703151332C119,00NTRFNONREF", "the entry date '1332' is not a date (MMDD)"),
    ("2703150230C119,00NTRFNONREF", "the entry date '0230' is not a date"),
]


@pytest.mark.parametrize(("line", "says"), BROKEN_61)
def test_a_broken_61_line_is_refused_naming_its_line(line, says):
    found = refusal(sta(f":61:{line}", *BODY[1:]))
    assert found.record == "x.sta: line 5"
    assert found.reason.startswith("the :61: field cannot be read: ")
    assert says in found.reason


def test_more_decimals_than_the_currency_has_are_refused_at_the_line():
    found = refusal(sta(":61:2703150315C119,001NTRFNONREF", *BODY[1:]))
    assert (found.record, found.reason) == (
        "x.sta: line 5",
        "119.001 has more decimal places than EUR has",
    )


# A balance broken in one place: the opening (line 4), the closing (line 9, "" for CLOSING),
# the line of the refusal and what it says.
BROKEN_BALANCES = [
    (":60F:C270301EUR", "", 4, "the :60F: field cannot be read: the amount is missing"),
    (":60F:C270301EUR1.000,00", "", 4, "SWIFT writes no decimal point"),
    (":60F:C270301EUR100,00 X", "", 4, "' ' is not a digit"),
    (":60F:X270301EUR100,00", "", 4, "the mark 'X' is neither C (credit) nor D (debit)"),
    (":60F:d270301EUR100,00", "", 4, "the mark 'd' is neither C (credit) nor D (debit)"),
    (":60F:C270229EUR100,00", "", 4, "the date '270229' is not a date (YYMMDD)"),
    (":60F:C270301eur100,00", "", 4, "the currency 'eur' is not three capital letters"),
    (":60F:C270301EU100,00", "", 4, "the currency 'EU1' is not three capital letters"),
    (OPENING, ":62F:C270331EUR269,0,0", 9, "the :62F: field cannot be read: the amount '269,0,0'"),
    (OPENING, ":62F:C270331USD269,00", 9, "the currency USD is not the statement's, EUR"),
    (OPENING, ":62M:C270331EUR,", 9, "no digit before the decimal comma"),
]


@pytest.mark.parametrize(("opening", "closing", "line", "says"), BROKEN_BALANCES)
def test_a_broken_balance_is_refused_naming_its_line(opening, closing, line, says):
    found = refusal(sta(*BODY, opening=opening, closing=closing or CLOSING))
    assert found.record == f"x.sta: line {line}"
    assert says in found.reason


def test_available_balances_are_checked_too():
    # :64: and :65: follow the closing balance (line 9): lines 10 and 11
    good = sta(*BODY, ":62F:C270331EUR269,00", ":64:C270331EUR269,00", closing="")
    (s,) = read_statement(good, "x.sta")
    assert s.closing.amount_minor == 26900
    found = refusal(good.replace(b":64:C270331EUR269,00", b":64:C270331EUR2G9,00"))
    assert (found.record, "'G' is not a digit" in found.reason) == ("x.sta: line 10", True)


def test_a_statement_without_its_closing_balance_is_refused_as_cut_short():
    found = refusal(sta(*BODY, closing="").replace(b"\r\n-", b""))
    assert found.record == "x.sta: line 1"
    assert "no closing balance (:62F:); the file may be cut short" in found.reason


def test_two_opening_balances_are_refused_at_the_second():
    found = refusal(sta(":60M:C270301EUR90,00", *BODY))  # line 5
    assert found.record == "x.sta: line 5"
    assert "a second opening balance; the first is on line 4" in found.reason


def test_references_longer_than_swift_allows_are_refused_not_cut():
    found = refusal(sta(*BODY).replace(b":20:STMT-2027-03", b":20:STATEMENT-2027-03-A"))
    assert found.record == "x.sta: line 1"
    assert "'STATEMENT-2027-03-A' is longer than the 16 characters" in found.reason
    account = b"DE89370400440532013000/SUBACCOUNT-0001"  # 38 characters
    found = refusal(sta(*BODY).replace(b"DE89370400440532013000", account))
    assert found.record == "x.sta: line 2" and "35 characters" in found.reason


def test_a_damaged_tag_is_refused_not_added_to_the_field_before():
    # line 7 ":6l:" (a small L): the library would add the line to the :86: of line 6
    found = refusal(sta(*BODY).replace(b":61:2703160316", b":6l:2703160316"))
    assert found.record == "x.sta: line 7"
    assert found.reason.startswith(":6l: is not a field of an MT940 or MT942 statement")


def test_a_tag_split_over_two_lines_is_refused_when_the_library_sees_another_entry():
    # ":" alone on line 7, "61:..." on line 8: the library joins them into a :61: tag, the
    # SWIFT layout does not (the lines belong to the :86: of line 6). Two readings: refused.
    body = (*BODY[:2], ":", "61:2703160316C50,00NTRFNONREF//B2", *BODY[3:])
    found = refusal(sta(*body))
    assert found.record == "x.sta: line 1"
    assert "reads as 2 entries but has 1 :61: lines" in found.reason


def test_the_library_reading_another_amount_is_refused(monkeypatch):
    # A guard for a library that reads a :61: otherwise than its layout says: simulated.
    original = mt940.tags.Statement.__call__

    def misread(self, transactions, value):
        result = original(self, transactions, value)
        result["amount"].amount = -result["amount"].amount
        return result

    monkeypatch.setattr(mt940.tags.Statement, "__call__", misread)
    found = refusal(sta(*BODY))
    assert found.record == "x.sta: line 5"
    assert "the :61: entry of 119.00 cannot be read as one entry of its own" in found.reason
    assert "(it reads as -119.00)" in found.reason


def test_the_library_reading_another_balance_is_refused(monkeypatch):
    original = mt940.tags.BalanceBase.__call__

    def misread(self, transactions, value):
        result = original(self, transactions, value)
        for balance in result.values():
            balance.amount.amount += 1
        return result

    monkeypatch.setattr(mt940.tags.BalanceBase, "__call__", misread)
    found = refusal(sta(*BODY))
    assert (found.record, found.reason) == (
        "x.sta: line 4",
        "the :60F: balance cannot be read as written",
    )


# --- :86: and the entries --------------------------------------------------------------------

# German structured :86: fields (DFÜ-Abkommen): GVC 166, ?00 booking text, ?20 purpose.
STRUCTURED = (
    ":61:2703150315C119,00NTRFNONREF//B1",  # line 5
    ":86:166?00GUTSCHRIFT?20SVWZ+RF18539007547034",  # line 6
    ":61:2703160316C50,00NTRFNONREF//B2",  # line 7
    ":86:166?00GUTSCHRIFT?20SVWZ+Invoice 4712",  # line 8
)


def test_structured_statement_reads_each_entry_with_its_own_86():
    (s,) = read_statement(sta(*STRUCTURED), "x.sta")
    # the remittance is the SVWZ+ (purpose) text of ?20, without its SEPA keyword
    assert [(e.amount_minor, e.remittance) for e in s.entries] == [
        (11900, "RF18539007547034"),
        (5000, "Invoice 4712"),
    ]


def test_a_61_without_its_86_in_the_structured_layout_is_refused():
    found = refusal(sta(STRUCTURED[0], STRUCTURED[2], STRUCTURED[3]))
    assert found.record == "x.sta: line 5"
    assert found.reason.startswith("the :61: entry has no :86: field, while this statement")


def test_a_second_86_for_one_61_in_the_structured_layout_is_refused():
    # A lost :61: line leaves its :86: (line 7) behind the entry of line 5
    found = refusal(sta(*STRUCTURED[:2], STRUCTURED[3], closing=":62F:C270331EUR219,00"))
    assert found.record == "x.sta: line 7"
    assert "a second :86: field for the :61: entry of line 5" in found.reason


def test_free_text_86_may_be_missing_or_repeated():
    # Citi leaves out the :86: of balance-information lines (amount 0,00, details on the :61:),
    # and writes D, the third letter of USD, as the funds code; the entry date is four blanks.
    citi = sta(
        ":61:270315    DD21,39NMSCNONREF//",  # line 5
        "/ABC/MISCELLANEOUS",
        ":86:/PT/FT/PY/SUPPLIER 112233",  # line 7
        ":61:270315    CD0,00NDEFNONREF//",  # line 8
        "/ABC/C 17376,67 BAI CD 010",
        opening=":60F:C270301USD100,00",
        closing=":62F:C270331USD78,61",  # 100.00 - 21.39 = 78.61
    )
    (s,) = read_statement(citi, "citi.sta")
    assert [(e.amount_minor, e.remittance) for e in s.entries] == [
        (-2139, "/PT/FT/PY/SUPPLIER 112233"),
        (0, "/ABC/C 17376,67 BAI CD 010"),  # the :61: supplementary details
    ]
    # Rabobank writes an :86: per line of text, and pads amounts with zeros (16 characters)
    rabo = sta(
        ":61:270315D000000000119,00N060NONREF",
        ":86:BETALINGSKENM. 4711",
        ":86:FACTUUR 4711",
        opening=":60F:C270301EUR0000000001000,00",
        closing=":62F:C270331EUR0000000000881,00",  # 1000.00 - 119.00 = 881.00
    )
    (s,) = read_statement(rabo, "rabo.sta")
    assert s.opening.amount_minor == 100000 and check_balances(s) == []
    assert [(e.amount_minor, e.remittance) for e in s.entries] == [
        (-11900, "BETALINGSKENM. 4711 FACTUUR 4711")
    ]


def test_statement_information_after_the_closing_balance_joins_no_entry(corpora):
    # jejik_ing.sta line 27 ":86:D000004C000002D25,24C28,71" follows :62F: (line 26): the
    # statement's totals, and line 28 "-XXX" ends the message. The last entry's :86: is lines
    # 23 to 25 only: "0111111111 Hr S Marechal" / "ROSMALEN Hr S Marechal ROSMALEN" /
    # "Betaling transactiedatum: 22-07-2010".
    data = (corpora / "bank-statements" / "mt940" / "jejik_ing.sta").read_bytes()
    assert data.splitlines()[26] == b":86:D000004C000002D25,24C28,71"
    (s,) = read_statement(data, "ing.sta")
    assert s.entries[-1].remittance == (
        "0111111111 Hr S Marechal ROSMALEN Hr S Marechal ROSMALEN "
        "Betaling transactiedatum: 22-07-2010"
    )
    structured = sta(*STRUCTURED, ":62F:C270331EUR269,00", ":86:999?20RF71254567", closing="")
    (s,) = read_statement(structured, "x.sta")
    assert s.entries[-1].remittance == "Invoice 4712"


# --- the end of a message, the start of a statement -----------------------------------------


def test_a_field_after_the_end_of_the_message_is_refused():
    # "-" on line 7 ends the message; the :61: of line 8 would be lost
    found = refusal(sta(*BODY[:2], "-", *BODY[2:]))
    assert found.record == "x.sta: line 8"
    assert "a field after the end of the message (the line '-' on line 7)" in found.reason


def test_fields_before_the_first_20_are_refused(corpora):
    # jejik_abnamro.sta: 3 header lines, :20: on line 4, :25: on line 5. A damaged first :20:
    # would drop the first of its two statements.
    data = (corpora / "bank-statements" / "mt940" / "jejik_abnamro.sta").read_bytes()
    assert data.splitlines()[3] == b":20:ABN AMRO BANK NV"
    found = refusal(data.replace(b":20:ABN AMRO BANK NV", b":2O:ABN AMRO BANK NV", 1))
    assert found.record == "x.sta: line 5"
    assert "a field before the first :20: line" in found.reason


# --- MT942 -----------------------------------------------------------------------------------

MT942 = (
    ":20:T942",
    ":25:DE89370400440532013000",
    ":28C:1",
    ":34F:EURC0",  # line 4: the floor limit, written without its comma as mBank does
    ":13D:2703151200+0100",  # line 5
    ":61:2703150315C10,00NTRFNONREF",  # line 6
    ":86:first",
    ":61:2703150315C5,50NTRFNONREF",  # line 8
    ":86:second",
    ":61:2703150315D0,25NCHGNONREF",  # line 10
    ":86:fee",
    ":90D:1EUR0,25",  # line 12
    ":90C:2EUR15,50",  # line 13: 10.00 + 5.50
    "-",
)


def mt942(*replace: tuple[str, str]) -> bytes:
    text = "\r\n".join(MT942)
    for old, new in replace:
        assert old in text
        text = text.replace(old, new)
    return text.encode()


def test_mt942_reads_with_its_totals():
    (s,) = read_statement(mt942(), "x.sta")
    assert s.format == "mt942" and s.opening is None and s.closing is None
    assert [e.amount_minor for e in s.entries] == [1000, 550, -25]


@pytest.mark.parametrize(
    ("replace", "line", "says"),
    [
        ((":90C:2EUR15,50", ":90C:2EUR15,00"), 13, "counts 2 credit entries of 15.00 in all"),
        ((":90C:2EUR15,50", ":90C:3EUR15,50"), 13, "the statement's :61: lines 2 of 15.50"),
        ((":90D:1EUR0,25", ":90D:1EUR0,2S"), 12, "'S' is not a digit"),
        ((":90D:1EUR0,25", ":90D:1USD0,25"), 12, "the currency USD is not the statement's, EUR"),
        ((":13D:2703151200+0100", ":13D:2703151260+0100"), 5, "is not a date and time"),
        ((":13D:2703151200+0100", ":13D:2713151200+0100"), 5, "the date '271315' is not a date"),
        ((":34F:EURC0", ":34F:EURC0,0,0"), 4, "is not a floor limit"),
        ((":61:2703150315C5,50NTRF", ":61:2703150315C5.50NTRF"), 8, "no decimal point"),
    ],
)
def test_a_broken_mt942_is_refused_naming_its_line(replace, line, says):
    found = refusal(mt942(replace))
    assert found.record == f"x.sta: line {line}"
    assert says in found.reason


def test_an_mt942_missing_an_entry_its_totals_count_is_refused():
    found = refusal(mt942((":61:2703150315C5,50NTRFNONREF\r\n:86:second\r\n", "")))
    assert found.record == "x.sta: line 11"  # :90C: moved up two lines
    assert "counts 2 credit entries of 15.50 in all" in found.reason


# --- properties over the corpus ---------------------------------------------------------------

CORPUS_MT940 = (
    "jejik_abnamro.sta",
    "jejik_ing.sta",
    "jejik_postfinance.sta",
    "cmxl_mt940.sta",
    "mBank_mt940.sta",
    "betterplace_sepa_mt9401.sta",
)


def corpus_bytes(corpora: Path, name: str) -> bytes:
    data = (corpora / "bank-statements" / "mt940" / name).read_bytes()
    if name.startswith("betterplace"):  # 26 statements; the first three serve, and are faster
        data = data[: data.index(b":20:T089413976000001")]
    return data


@pytest.mark.parametrize("name", CORPUS_MT940)
def test_an_mt940_file_cut_short_reads_its_whole_statements_or_is_refused(corpora, name):
    # A file cut at any line: the statements it still reads are the first ones of the whole
    # file, each exactly as in the whole file (a statement ends with its closing balance,
    # which is after its last entry); a statement cut in its middle refuses the file.
    data = corpus_bytes(corpora, name)
    whole = read_statement(data, name)
    lines = data.splitlines(keepends=True)
    for cut in range(1, len(lines)):
        try:
            part = read_statement(b"".join(lines[:cut]), name)
        except InvalidInput:
            continue
        assert part == whole[: len(part)], (name, cut)


# One amount of the corpus files: its field's line start, and the span of the amount itself.
_AMOUNT = re.compile(
    rb"^(?::6[0245][FM]?:[CD][0-9]{6}(?P<currency>[A-Z]{3})"
    rb"|:61:[0-9]{6}(?:[0-9]{4}| {4})?R?[CD](?P<funds>[A-Z]?))(?P<amount>[0-9,]+)",
    re.MULTILINE,
)
NOT_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.,-/+ '"


def digit_positions(data: bytes) -> list[tuple[int, str]]:
    """Every digit of every balance and :61: amount: its position, and what a letter there
    may become that the SWIFT layout cannot tell from an amount (see below)."""
    found = []
    currency = ""
    for m in _AMOUNT.finditer(data):
        if m["currency"]:
            currency = m["currency"].decode()
        start, end = m.span("amount")
        for at in range(start, end):
            if not data[at : at + 1].isdigit():
                continue
            ambiguous = ""
            if m["currency"] is None and at == start:
                ambiguous = " " if m["funds"] else " " + currency[2]
            elif m["currency"] is None and at == end - 1:
                ambiguous = "SNF"
            elif at == end - 1 and data[end : end + 1] in (b"\n", b"\r", b""):
                ambiguous = " "
            found.append((at, ambiguous))
    return found


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=300)
@given(
    name=st.sampled_from(CORPUS_MT940), pick=st.integers(0, 10**6), char=st.sampled_from(NOT_DIGITS)
)
def test_a_digit_of_an_amount_made_a_letter_is_refused_or_reads_the_same(corpora, name, pick, char):
    data = corpus_bytes(corpora, name)
    positions = digit_positions(data)
    at, ambiguous = positions[pick % len(positions)]
    # What the SWIFT layout itself cannot tell (the balance check sees it): the first digit of
    # a :61: amount made the blank the library allows before an amount, or, when there is no
    # funds code, made the funds code (the third letter of the currency); the last digit made
    # S, N or F, the start of a transaction type (119,05NTRF -> 119,0NNTRF: 119.0 of type NNTR);
    # the last digit of a balance made a blank at the end of its line (banks pad lines).
    assume(char not in ambiguous)
    broken = data[:at] + char.encode() + data[at + 1 :]
    try:
        statements = read_statement(broken, name)
    except InvalidInput:
        return
    whole = read_statement(data, name)
    assert _amounts(statements) == _amounts(whole)


def _amounts(statements: list[Statement]) -> list[tuple[object, ...]]:
    return [
        (
            s.opening and s.opening.amount_minor,
            s.closing and s.closing.amount_minor,
            tuple(e.amount_minor for e in s.entries),
        )
        for s in statements
    ]


def test_what_the_swift_layout_cannot_tell_the_balance_check_sees():
    # 119,00 with its 1 made R (the funds code of EUR) reads 19.00: 100.00 + 19.00 + 50.00 =
    # 169.00, not the 269.00 of :62F:
    (s,) = read_statement(sta(*BODY).replace(b"C119,00", b"CR19,00"), "x.sta")
    assert s.entries[0].amount_minor == 1900 and len(check_balances(s)) == 1
    # 50,05 with its 5 made N reads 50.0 (type NNTR): 100.00 + 119.00 + 50.00 = 269.00, not
    # the 269.05 of :62F:
    text = sta(*BODY, closing=":62F:C270331EUR269,05").replace(b"C50,00", b"C50,05")
    assert check_balances(read_statement(text, "x.sta")[0]) == []
    (s,) = read_statement(text.replace(b"C50,05NTRF", b"C50,0NNTRF"), "x.sta")
    assert s.entries[1].amount_minor == 5000 and len(check_balances(s)) == 1


def test_a_short_mark_after_the_last_field_ends_the_message_but_text_does_not():
    # An MT942 whose last field is an entry's :86:, its second line "-200 pieces" (a bank that
    # breaks SWIFT's rule that no line of a field starts with "-"), then the mark "-XXX".
    text = mt942((":90D:1EUR0,25\r\n:90C:2EUR15,50\r\n-", "-200 pieces\r\n-XXX"))
    assert text.endswith(b":86:fee\r\n-200 pieces\r\n-XXX")
    (s,) = read_statement(text, "x.sta")
    assert s.entries[-1].remittance == "fee -200 pieces"
