"""Every file of ../shared/corpora/bank-statements reads, with the figures the file states.

Expected values were read by hand from the files themselves (the element or line is named in
each comment); for MT940 they agree with mt940's own .expected.yml fixtures (PyYAML is not in
the environment, so the figures are written here, with the yml line they are on).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from openbill.adapters.bank import read_statement
from openbill.domain.bank import Statement, check_balances
from openbill.domain.rejections import InvalidInput

# Files of the corpus that are NOT statements, refused on purpose (test_refusals checks why).
NOT_STATEMENTS = {
    "ofxparse_bank_small.ofx",  # <OFX></OFX>: no statement at all
    "ofxparse_fail_nice_decimal_error.ofx",  # ofxparse's own broken fixture: TRNAMT $120
    "ofxparse_investment_401k.ofx",  # INVSTMTRS: trades of a 401k, not bank payments
}


def _files(corpora: Path) -> list[Path]:
    folder = corpora / "bank-statements"
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix not in (".yml", ".md"))


def read(corpora: Path, relative: str) -> list[Statement]:
    path = corpora / "bank-statements" / relative
    return read_statement(path.read_bytes(), path.name)


def test_every_statement_file_of_the_corpus_reads(corpora):
    files = _files(corpora)
    assert len(files) >= 15  # 5 camt + 7 mt940 + 6 ofx in the corpus of 2026-11
    for path in files:
        if path.name in NOT_STATEMENTS:
            with pytest.raises(InvalidInput):
                read_statement(path.read_bytes(), path.name)
            continue
        statements = read_statement(path.read_bytes(), path.name)
        assert statements, path.name
        for s in statements:
            assert s.account and s.currency, path.name


# --- CAMT ----------------------------------------------------------------------------------


def test_camt052_report(corpora):
    (s,) = read(corpora, "camt/viafintech_camt052_valid_example.xml")
    assert (s.format, s.account, s.currency) == ("camt.052", "DE58740618130100033626", "EUR")
    assert (s.statement_id, s.sequence) == ("0352C5220131227110203", "130000005")  # Rpt/Id
    # Bal PRCD 8.50 CRDT, Bal CLBD 13.50 CRDT; 8.50 + 2.00 + 3.00 = 13.50
    assert (s.opening.amount_minor, s.closing.amount_minor) == (850, 1350)
    assert len(s.entries) == 2 and check_balances(s) == []
    first, second = s.entries
    # Ntry[1]: Amt 2.00 CRDT, BookgDt 2013-12-27, Dbtr/Nm, DbtrAcct/Id/Othr/Id (BBAN)
    assert first.amount_minor == 200 and first.booking_date == date(2013, 12, 27)
    assert first.counterparty_name == "Testkonto Nummer 1"
    assert first.counterparty_account == "740618130000033626"
    assert first.bank_reference == "2013122710583450000"
    assert first.remittance == "TEST BERWEISUNG MITTELS BLZ UND KONTONUMMER - DTA"
    # Ntry[2]: EndToEndId NOTPROVIDED counts as none
    assert second.amount_minor == 300 and second.end_to_end_id == ""


def test_camt053_statement_with_a_batch_split_by_its_transactions(corpora):
    (s,) = read(corpora, "camt/viafintech_camt053_valid_example.xml")
    assert (s.format, s.account) == ("camt.053", "DE14740618130000033626")
    # Bal PRCD 33.06, CLBD 23.06; Ntry -2.00 -3.00 +1.00 -6.00: 33.06 - 10.00 = 23.06
    assert (s.opening.amount_minor, s.closing.amount_minor) == (3306, 2306)
    assert check_balances(s) == []
    # 4 Ntry; Ntry[4] (6.00 DBIT) has two TxDtls of 3.50 and 2.50 (AmtDtls/TxAmt/Amt): 5 entries
    assert [e.amount_minor for e in s.entries] == [-200, -300, 100, -350, -250]
    first = s.entries[0]
    # Ntry[1] DBIT: the counterparty is the creditor: Cdtr/Nm, CdtrAcct/Id/IBAN
    assert first.counterparty_name == "Testkonto Nummer 2"
    assert first.counterparty_account == "DE09300606010012345671"
    assert first.end_to_end_id == "EndToEndReference"
    assert first.transaction_code == "NTRF+020"  # TxDtls/BkTxCd/Prtry/Cd
    part = s.entries[3]
    assert part.batch_size == 2 and part.bank_reference == "2013122711513230000#1"
    assert part.end_to_end_id == "STZV-EtE27122013-11:02-1"
    assert part.remittance == "Sammelueberwseisung 2. Zahlung TAN:283044"


def test_camt053_version_04_swiss_statement(corpora):
    (s,) = read(corpora, "camt/viafintech_camt053_valid_example_v4.xml")
    assert (s.format, s.account, s.currency) == ("camt.053", "CH0309000000250090342", "CHF")
    # Bal OPBD 322152.16, CLBD 322689.77. Ntry amounts: debits 24.00 328.75 200.80 638.15 24.00
    # 35.72 6.00 15.53 = 1272.95; credits 1000.00 620.00 110.00 24.00 56.56 = 1810.56;
    # 322152.16 + 1810.56 - 1272.95 = 322689.77
    assert (s.opening.amount_minor, s.closing.amount_minor) == (32215216, 32268977)
    assert check_balances(s) == []
    # 13 Ntry; the batches of 10, 8, 3 and 2 TxDtls are split: 13 - 4 + 23 = 32 entries
    assert len(s.entries) == 32
    kaufmann = next(e for e in s.entries if e.counterparty_name == "Hans Kaufmann")
    # Ntry[7] (1000.00, NtryRef 010000004) TxDtls[1]: Amt 100.00, Strd/CdtrRefInf/Ref
    assert kaufmann.amount_minor == 10000 and kaufmann.creditor_reference == "CreditorReference"
    assert kaufmann.booking_date == date(2016, 5, 27)
    assert sum(e.amount_minor for e in s.entries if e.batch_size == 10) == 100000


def test_camt053_where_the_file_does_not_add_up(corpora):
    (s,) = read(corpora, "camt/viafintech_camt053_valid_example_with_batch.xml")
    assert (s.account, s.currency) == ("NL18INGB00012345678", "EUR")
    # PRCD 7329.80, CLBD 23038.20; entries -4753.74 + 2688.00 + 5000.00 = 2934.26;
    # 7329.80 + 2934.26 = 10264.06, not 23038.20: the sample file itself does not add up.
    assert (s.opening.amount_minor, s.closing.amount_minor) == (732980, 2303820)
    (problem,) = check_balances(s)
    assert "10264.06" in problem and "23038.20" in problem
    second = s.entries[1]
    # Ntry[2]: 2688.00 CRDT, Dbtr/Nm TEST, DbtrAcct IBAN, EndToEndId, Ustrd TERUGGAAF
    assert (second.amount_minor, second.booking_date) == (268800, date(2019, 6, 13))
    assert (second.counterparty_name, second.counterparty_account) == (
        "TEST",
        "NL86INGB00066666666",
    )
    assert (second.end_to_end_id, second.remittance) == ("GBSXX21170607391766562", "TERUGGAAF")


def test_camt054_notification_has_no_balances(corpora):
    (s,) = read(corpora, "camt/viafintech_camt054_valid_example.xml")
    assert (s.format, s.account) == ("camt.054", "CH0309000000250090342")
    assert s.opening is None and s.closing is None and check_balances(s) == []
    # 4 Ntry, the first a batch of 2 TxDtls (15.00 + 9.00 = 24.00): 5 entries
    assert [e.amount_minor for e in s.entries] == [1500, 900, 5656, -600, -1553]
    maria = s.entries[2]
    # Ntry[2]: Amt 56.56 CRDT, Dbtr/Nm, DbtrAcct IBAN, EndToEndId
    assert maria.counterparty_name == "Bernasconi Maria"
    assert maria.counterparty_account == "CH3709000000250094580"
    assert maria.end_to_end_id == "PMT-651727380907030005"


# --- MT940 / MT942 -------------------------------------------------------------------------


def test_mt940_ing(corpora):
    (s,) = read(corpora, "mt940/jejik_ing.sta")
    assert (s.format, s.account, s.currency) == ("mt940", "0001234567", "EUR")  # :25:
    # :60F:C100722EUR0,00 and :62F:C100723EUR3,47 (expected.yml lines 4-16)
    assert (s.opening.amount_minor, s.closing.amount_minor) == (0, 347)
    # 7 :61: lines: -25.03 -3.03 -1.11 -20.00 -1.10 +3.68 +1.00 (expected.yml line 115: -25.03)
    assert [e.amount_minor for e in s.entries] == [-2503, -303, -111, -2000, -110, 368, 100]
    assert s.entries[0].booking_date == date(2010, 7, 22)
    assert s.entries[-1].value_date == date(2010, 7, 23)
    # 0.00 - 45.59 = -45.59, but :62F: says 3.47: the sample file does not add up
    assert len(check_balances(s)) == 1


def test_mt940_abnamro_two_statements(corpora):
    first, second = read(corpora, "mt940/jejik_abnamro.sta")
    # :60F:C110522EUR3236,28 / :62F:C110523EUR876,84; :60M:C110523EUR2876,84 / :62M: 1849,75
    assert (first.opening.amount_minor, first.closing.amount_minor) == (323628, 87684)
    assert (second.opening.amount_minor, second.closing.amount_minor) == (287684, 184975)
    assert (len(first.entries), len(second.entries)) == (8, 2)
    e = first.entries[0]  # :61:1105240524D9,N192NONREF
    assert (e.amount_minor, e.value_date, e.transaction_code) == (-900, date(2011, 5, 24), "N192")
    assert e.bank_reference == ""  # NONREF
    assert "KPN - DIGITENNE" in e.remittance


def test_mt940_postfinance_references(corpora):
    first, second = read(corpora, "mt940/jejik_postfinance.sta")
    # :60F:C131130CHF0, + 79.70 + 149.50 = :62M:C140407CHF229,2
    assert (first.opening.amount_minor, first.closing.amount_minor) == (0, 22920)
    assert check_balances(first) == []
    assert [e.amount_minor for e in first.entries] == [7970, 14950]
    assert first.entries[0].bank_reference == "01916"  # customer reference; //NONREF is none
    # 229.20 - 79.90 + 10.10 = 159.40, the file's :62F: says 159.60
    assert [e.amount_minor for e in second.entries] == [-7990, 1010]
    assert len(check_balances(second)) == 1


def test_mt940_cmxl_structured_86_and_an_old_currency(corpora):
    dem, eur, pln = read(corpora, "mt940/cmxl_mt940.sta")
    # :60F:C131016DEM84349,74, 11 :61: lines: credits 18500 + 4200 + 3656.74 + 23040 =
    # 49396.74, debits 6800 + 620.30 + 14220 + 1507 + 19900 + 400 + 5862.14 = 49309.44;
    # 84349.74 + 49396.74 - 49309.44 = 84437.04 = :62F:C131017DEM84437,04
    assert (dem.currency, dem.opening.amount_minor, dem.closing.amount_minor) == (
        "DEM",
        8434974,
        8443704,
    )
    assert len(dem.entries) == 11 and check_balances(dem) == []
    # :60F:C021101EUR2187,95 - 800 + 3000 = :62F:C021130EUR4387,95
    assert [e.amount_minor for e in eur.entries] == [-80000, 300000]
    assert check_balances(eur) == []
    rent = eur.entries[0]  # :86:008?00DAUERAUFTRAG?20Miete November?3010020030?31234567?32MUELLER
    assert (rent.counterparty_name, rent.counterparty_account) == ("MUELLER", "234567")
    assert rent.remittance == "Miete November"  # expected.yml lines 328-348
    # :60F:C031002PLN40000,00 + 20000 - 10000 + 40 = :62F:C020325PLN50040,00
    assert [e.amount_minor for e in pln.entries] == [2000000, -1000000, 4000]
    assert check_balances(pln) == []


def test_mt940_sepa_reversal_of_credit_is_a_debit(corpora):
    statements = read(corpora, "mt940/betterplace_sepa_mt9401.sta")
    assert len(statements) == 26  # 26 :20: lines
    assert sum(len(s.entries) for s in statements) == 97  # 97 :61: lines
    assert all(check_balances(s) == [] for s in statements)
    first = statements[0]
    # line 19 :61:0709040904RCR204,88: RC = reversal of a credit, money out. mt940's own
    # expected.yml (line 381) keeps +204.88; with it the statement would not add up:
    # -1234718.36 + 997241.96 - 999946.95 - 204.88 = -1237628.23 (:62F:D070904EUR1237628,23)
    assert [e.amount_minor for e in first.entries][5] == -20488
    assert first.closing.amount_minor == -123762823


def test_mbank_mt940_and_mt942(corpora):
    (s,) = read(corpora, "mt940/mBank_mt940.sta")
    assert (s.account, s.currency) == ("PL29114010810000267002001002", "PLN")
    # :60F:C170119PLN0,40 + 3 x 0.01 = :62F:C170119PLN0,43
    assert (s.opening.amount_minor, s.closing.amount_minor) == (40, 43)
    assert check_balances(s) == []
    assert s.entries[0].bank_reference == "MB170119012058"  # //MB170119012058
    (r,) = read(corpora, "mt940/mBank_mt942.sta")
    assert r.format == "mt942" and r.opening is None and r.closing is None
    assert [e.amount_minor for e in r.entries] == [1, 1, 1]
    assert r.created == date(2017, 1, 19)  # :13D:1701191815+0100


# --- OFX -----------------------------------------------------------------------------------


def test_ofx_1_sgml_checking(corpora):
    (s,) = read(corpora, "ofx/ofxparse_checking.ofx")
    assert (s.format, s.account, s.currency) == ("ofx", "1452687~7", "USD")  # ACCTID, CURDEF
    assert s.opening is None
    assert s.closing.amount_minor == 10099  # LEDGERBAL/BALAMT 100.99
    # STMTTRN: 0.01 FITID 0000486, -34.51 FITID 0000487, -25.00 FITID 0000488
    assert [e.amount_minor for e in s.entries] == [1, -3451, -2500]
    e = s.entries[1]
    assert (e.bank_reference, e.booking_date) == ("0000487", date(2011, 4, 5))  # DTPOSTED
    assert e.counterparty_name == "AUTOMATIC WITHDRAWAL, ELECTRIC BILL"  # NAME
    assert e.remittance == "AUTOMATIC WITHDRAWAL, ELECTRIC BILL WEB(S )"  # MEMO
    assert e.transaction_code == "DEBIT"  # TRNTYPE


def test_ofx_medium_in_cad(corpora):
    (s,) = read(corpora, "ofx/ofxparse_bank_medium.ofx")
    assert (s.account, s.currency) == ("12300 000012345678", "CAD")
    assert s.closing.amount_minor == 38234  # LEDGERBAL 382.34
    assert len(s.entries) == 3
    assert s.entries[0].amount_minor == -660  # TRNAMT -6.60, NAME MCDONALD'S #112
    assert s.entries[0].counterparty_name == "MCDONALD'S #112"


def test_ofx_2_xml_with_two_accounts(corpora):
    first, second = read(corpora, "ofx/ofxparse_multiple_accounts2.ofx")
    # two STMTRS: ACCTID 9100 LEDGERBAL 111, ACCTID 9200 LEDGERBAL 222; no transactions
    assert (first.account, first.closing.amount_minor) == ("9100", 11100)
    assert (second.account, second.closing.amount_minor) == ("9200", 22200)
    assert first.entries == () and second.entries == ()
