"""Files that are not statements, or are broken, are refused whole with the place at fault."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbill.adapters.bank import read_statement
from openbill.domain.rejections import InvalidInput

CAMT = "camt/viafintech_camt053_valid_example.xml"
ING = "mt940/jejik_ing.sta"


def data_of(corpora: Path, relative: str) -> bytes:
    return (corpora / "bank-statements" / relative).read_bytes()


def test_truncated_xml_names_the_line(corpora):
    data = data_of(corpora, CAMT)[:2000]
    with pytest.raises(InvalidInput) as caught:
        read_statement(data, "camt053.xml")
    assert caught.value.record.startswith("camt053.xml: line ")
    assert "not well-formed XML" in caught.value.message


def test_a_camt_amount_that_is_not_a_number_names_the_element(corpora):
    # Ntry[3] of the sample is <Amt Ccy="EUR">1.00</Amt> (line 220), the only 1.00 in the file
    data = data_of(corpora, CAMT)
    assert data.count(b'<Amt Ccy="EUR">1.00</Amt>') == 1
    broken = data.replace(b'<Amt Ccy="EUR">1.00</Amt>', b'<Amt Ccy="EUR">abc</Amt>')
    with pytest.raises(InvalidInput) as caught:
        read_statement(broken, "camt053.xml")
    assert caught.value.message == (
        "camt053.xml: element /Document/BkToCstmrStmt/Stmt[1]/Ntry[3]/Amt: 'abc' is not an amount"
    )


def test_a_credit_debit_mark_that_is_neither_is_refused(corpora):
    # every CRDT becomes X; the first one in the file is that of Bal[1] (PRCD, line 44)
    data = data_of(corpora, CAMT).replace(
        b"<CdtDbtInd>CRDT</CdtDbtInd>", b"<CdtDbtInd>X</CdtDbtInd>"
    )
    with pytest.raises(InvalidInput, match=r"Stmt\[1\]/Bal\[1\]/CdtDbtInd: 'X' is neither CRDT"):
        read_statement(data, "camt053.xml")


def test_a_camt_version_outside_02_to_08_is_refused(corpora):
    data = data_of(corpora, CAMT).replace(b"camt.053.001.02", b"camt.053.001.09")
    with pytest.raises(InvalidInput, match="version 02 to 08"):
        read_statement(data, "camt053.xml")


def test_a_broken_61_line_names_its_line(corpora):
    data = data_of(corpora, ING)
    # line 8 of jejik_ing.sta is ":61:100722D25,03NTRFNONREF"; a letter in the date breaks it
    assert data.splitlines()[7] == b":61:100722D25,03NTRFNONREF"
    broken = data.replace(b":61:100722D25,03NTRFNONREF", b":61:10072XD25,03NTRFNONREF")
    with pytest.raises(InvalidInput) as caught:
        read_statement(broken, "ing.sta")
    assert caught.value.record == "ing.sta: line 8"
    assert ":61:" in caught.value.reason


def test_a_random_text_file_is_not_a_statement():
    with pytest.raises(InvalidInput) as caught:
        read_statement(b"Dear customer,\nplease find attached our invoice.\n", "letter.txt")
    assert caught.value.record == "letter.txt: line 1"
    assert "not a bank statement" in caught.value.reason


def test_other_xml_is_not_a_statement():
    with pytest.raises(InvalidInput, match="element /Invoice"):
        read_statement(b"<?xml version='1.0'?><Invoice xmlns='urn:x'/>", "invoice.xml")


def test_corpus_files_that_are_no_bank_statement_say_why(corpora):
    with pytest.raises(InvalidInput, match=r"line 37 <TRNAMT>.*\$120"):
        read_statement(data_of(corpora, "ofx/ofxparse_fail_nice_decimal_error.ofx"), "f.ofx")
    with pytest.raises(InvalidInput, match="investment statement"):
        read_statement(data_of(corpora, "ofx/ofxparse_investment_401k.ofx"), "f.ofx")
    with pytest.raises(InvalidInput, match="holds no statement"):
        read_statement(data_of(corpora, "ofx/ofxparse_bank_small.ofx"), "f.ofx")


_ENTRY_LINE = re.compile(rb"^:61[A-Z]?:", re.MULTILINE)


def _only_invalid_input(data: bytes) -> None:
    try:
        statements = read_statement(data, "fuzz.bin")
    except InvalidInput:
        return
    if statements and statements[0].format in ("mt940", "mt942"):
        # Every :61: line of the file is one entry: none dropped, none fused with another.
        lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        assert sum(len(s.entries) for s in statements) == len(_ENTRY_LINE.findall(lines))


@given(st.binary(max_size=2000))
def test_random_bytes_raise_nothing_but_invalid_input(data):
    _only_invalid_input(data)


SAMPLES = (CAMT, ING, "mt940/cmxl_mt940.sta", "ofx/ofxparse_checking.ofx")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(
    sample=st.sampled_from(SAMPLES),
    edits=st.lists(
        st.tuples(
            st.sampled_from(["flip", "cut", "insert"]), st.floats(0, 1), st.binary(max_size=8)
        ),
        min_size=1,
        max_size=5,
    ),
)
def test_mutated_corpus_files_raise_nothing_but_invalid_input(corpora, sample, edits):
    data = bytearray(data_of(corpora, sample))
    for kind, where, chunk in edits:
        at = int(where * (len(data) - 1))  # a position in the file, not an amount
        if kind == "flip":
            data[at] ^= 0x20
        elif kind == "cut":
            del data[at : at + 1 + len(chunk) * 16]
        else:
            data[at:at] = chunk or b"<"
    _only_invalid_input(bytes(data))
