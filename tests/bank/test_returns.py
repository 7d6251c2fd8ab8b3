"""Returned payments and instructed amounts, as the CAMT and MT940 readers find them.

The files are written out by hand in each test: the element or field that carries the return
or the amount is the one under test, with a near miss beside it that must not count.
"""

from __future__ import annotations

from pathlib import Path

from openbill.adapters.bank import read_statement
from openbill.domain.bank import Entry

NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def camt(*ntries: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<Document xmlns="{NS}"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>M1</MsgId><CreDtTm>2027-03-31T12:00:00</CreDtTm></GrpHdr>"
        "<Stmt><Id>S1</Id>"
        "<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        f"{''.join(ntries)}</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def domain(family: str, sub_family: str) -> str:
    return (
        f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{family}</Cd>"
        f"<SubFmlyCd>{sub_family}</SubFmlyCd></Fmly></Domn></BkTxCd>"
    )


def proprietary(code: str) -> str:
    return f"<BkTxCd><Prtry><Cd>{code}</Cd></Prtry></BkTxCd>"


def ntry(
    amount: str = "50.00",
    mark: str = "DBIT",
    code: str = "",
    txs: tuple[str, ...] = ("",),
    amount_details: str = "",
    info: str = "",
) -> str:
    details = "".join(f"<TxDtls>{tx}</TxDtls>" for tx in txs)
    return (
        f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{mark}</CdtDbtInd>'
        "<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2027-03-15</Dt></BookgDt>"
        f"<AcctSvcrRef>REF1</AcctSvcrRef>{code or '<BkTxCd/>'}{amount_details}"
        f"<NtryDtls>{details}</NtryDtls>"
        + (f"<AddtlNtryInf>{info}</AddtlNtryInf>" if info else "")
        + "</Ntry>"
    )


def reason(code: str) -> str:
    return f"<RtrInf><Rsn><Cd>{code}</Cd></Rsn></RtrInf>"


def read_camt(*ntries: str) -> list[Entry]:
    (statement,) = read_statement(camt(*ntries), "returns.xml")
    return list(statement.entries)


# --- CAMT: returns ---------------------------------------------------------------------------


def test_a_camt_return_reason_code_is_read():
    (entry,) = read_camt(ntry(code=domain("IDDT", "UPDD"), txs=(reason("AM04"),)))
    assert entry.return_reason == "AM04"  # TxDtls/RtrInf/Rsn/Cd


def test_an_unpaid_direct_debit_without_a_reason_reads_return():
    (entry,) = read_camt(ntry(code=domain("IDDT", "UPDD")))
    assert entry.return_reason == "RETURN"  # PMNT/IDDT/UPDD, no RtrInf


def test_an_ordinary_direct_debit_is_no_return():
    (entry,) = read_camt(ntry(code=domain("IDDT", "ESDD")))  # the near miss: SEPA core DD
    assert entry.return_reason == ""


def test_other_return_sub_families_read_return():
    for sub_family in ("RRTN", "ARET", "RPCR"):
        (entry,) = read_camt(ntry(code=domain("ICDT", sub_family), mark="CRDT"))
        assert entry.return_reason == "RETURN", sub_family
    (entry,) = read_camt(ntry(code=domain("ICDT", "ESCT"), mark="CRDT"))
    assert entry.return_reason == ""


def test_a_proprietary_reason_and_a_return_without_one():
    prtry = "<RtrInf><Rsn><Prtry>BANK-77</Prtry></Rsn></RtrInf>"
    (entry,) = read_camt(ntry(txs=(prtry,)))
    assert entry.return_reason == "BANK-77"  # RtrInf/Rsn/Prtry when there is no Cd
    bare = "<RtrInf><AddtlInf>Konto erloschen</AddtlInf></RtrInf>"
    (entry,) = read_camt(ntry(txs=(bare,)))
    assert entry.return_reason == "RETURN"  # an RtrInf that names no reason


def test_german_proprietary_codes_and_booking_texts():
    (entry,) = read_camt(ntry(code=proprietary("NDDT+109+931")))  # GVC 109 Rücklastschrift
    assert entry.return_reason == "RETURN"
    (entry,) = read_camt(ntry(code=proprietary("NRTI+009")))  # SWIFT type RTI
    assert entry.return_reason == "RETURN"
    (entry,) = read_camt(ntry(code=proprietary("NDDT+105+931")))  # GVC 105: a plain debit
    assert entry.return_reason == ""
    (entry,) = read_camt(ntry(code=proprietary("NMSC+201"), info="SEPA-Rücklastschrift Core"))
    assert entry.return_reason == "RETURN"  # the AddtlNtryInf text says so
    (entry,) = read_camt(ntry(code=proprietary("NMSC+201"), info="SEPA-Lastschrift Core"))
    assert entry.return_reason == ""


def test_a_split_batch_keeps_each_reason():
    # 80.00 = 50.00 + 30.00: split; only the first transaction came back with a reason.
    first = f'<Amt Ccy="EUR">50.00</Amt>{reason("AM04")}'
    second = '<Amt Ccy="EUR">30.00</Amt>'
    entries = read_camt(ntry(amount="80.00", txs=(first, second)))
    assert [(e.amount_minor, e.return_reason) for e in entries] == [(-5000, "AM04"), (-3000, "")]
    # The entry's own code says both are returns: the second reads RETURN.
    entries = read_camt(ntry(amount="80.00", code=domain("IDDT", "UPDD"), txs=(first, second)))
    assert [e.return_reason for e in entries] == ["AM04", "RETURN"]


def test_an_unsplit_batch_keeps_a_reason_all_share():
    # No amounts per transaction: the batch stays one entry.
    (entry,) = read_camt(ntry(txs=(reason("MD06"), reason("MD06"))))
    assert (entry.batch_size, entry.return_reason) == (2, "MD06")
    (entry,) = read_camt(ntry(txs=(reason("MD06"), reason("AM04"))))
    assert entry.return_reason == "RETURN"  # all returned, for different reasons
    (entry,) = read_camt(ntry(txs=(reason("MD06"), "")))
    assert entry.return_reason == ""  # one of the two is no return


# --- CAMT: instructed amounts ----------------------------------------------------------------


def instructed(amount: str, currency: str) -> str:
    return f'<AmtDtls><InstdAmt><Amt Ccy="{currency}">{amount}</Amt></InstdAmt></AmtDtls>'


def test_an_instructed_amount_in_another_currency_is_read():
    # A USD invoice paid from a USD account: 1,676.40 USD booked as 1,546.05 EUR.
    tx = instructed("1676.40", "USD")
    (entry,) = read_camt(ntry(amount="1546.05", mark="CRDT", txs=(tx,)))
    assert (entry.amount_minor, entry.currency) == (154605, "EUR")
    assert (entry.instructed_minor, entry.instructed_currency) == (167640, "USD")


def test_an_instructed_amount_in_the_entry_currency_is_none():
    (entry,) = read_camt(ntry(amount="1546.05", mark="CRDT", txs=(instructed("1546.05", "EUR"),)))
    assert (entry.instructed_minor, entry.instructed_currency) == (None, "")


def test_an_instructed_amount_is_signed_like_the_entry_and_may_sit_on_the_entry():
    # A debit of 92.00 EUR that paid 10,000 JPY; JPY has no decimals: 10000 minor units.
    (entry,) = read_camt(ntry(amount="92.00", txs=(instructed("10000", "JPY"),)))
    assert (entry.instructed_minor, entry.instructed_currency) == (-10000, "JPY")
    # Ntry/AmtDtls/InstdAmt, for an entry whose transactions give none.
    (entry,) = read_camt(ntry(amount="92.00", amount_details=instructed("100.00", "CHF")))
    assert (entry.instructed_minor, entry.instructed_currency) == (-10000, "CHF")


def test_a_split_batch_keeps_each_instructed_amount():
    first = f'<Amt Ccy="EUR">50.00</Amt>{instructed("54.00", "USD")}'
    second = '<Amt Ccy="EUR">30.00</Amt>'
    entries = read_camt(ntry(amount="80.00", mark="CRDT", txs=(first, second)))
    assert [(e.instructed_minor, e.instructed_currency) for e in entries] == [
        (5400, "USD"),
        (None, ""),
    ]
    # Unsplit (no own amounts): kept only when both transactions share it.
    shared = instructed("86.40", "USD")
    (entry,) = read_camt(ntry(amount="80.00", mark="CRDT", txs=(shared, shared)))
    assert (entry.instructed_minor, entry.instructed_currency) == (8640, "USD")
    (entry,) = read_camt(ntry(amount="80.00", mark="CRDT", txs=(shared, "")))
    assert (entry.instructed_minor, entry.instructed_currency) == (None, "")


# --- MT940 -----------------------------------------------------------------------------------


def mt940(*lines: str) -> list[Entry]:
    text = "\r\n".join(
        (
            ":20:T1",
            ":25:DE89370400440532013000",
            ":28C:1",
            ":60F:C270301EUR100,00",
            *lines,
            ":62F:C270331EUR100,00",
            "-",
        )
    )
    (statement,) = read_statement(text.encode(), "returns.sta")
    return list(statement.entries)


def test_an_mt940_gvc_109_reads_return():
    (entry,) = mt940(
        ":61:2703150315D50,00NDDTNONREF//R1",
        ":86:109?00SEPA-DD SOLL RUECKBEL.?20EREF+E2E-9?21SVWZ+Beitrag Maerz",
    )
    assert entry.return_reason == "RETURN"  # GVC 109, ?34 gives no ISO code
    assert entry.remittance == "Beitrag Maerz"


def test_an_mt940_gvc_105_debit_is_no_return():
    (entry,) = mt940(
        ":61:2703150315D50,00NDDTNONREF//R1",
        ":86:105?00SEPA-BASISLASTSCHRIFT?20EREF+E2E-9?21SVWZ+Beitrag Maerz",
    )
    assert entry.return_reason == ""


def test_mt940_returns_by_type_and_booking_text():
    (entry,) = mt940(":61:2703150315D50,00NRTINONREF", ":86:999?00Belastung")
    assert entry.return_reason == "RETURN"  # :61: type RTI
    (entry,) = mt940(":61:2703150315D50,00NMSCNONREF", ":86:999?00RÜCKLASTSCHRIFT")
    assert entry.return_reason == "RETURN"  # ?00 booking text
    (entry,) = mt940(":61:2703150315D50,00NMSCNONREF", ":86:999?00LASTSCHRIFT")
    assert entry.return_reason == ""


def test_mt940_iso_reason_codes_only_where_the_bank_marks_them():
    # ?34 with an ISO code: taken.
    (entry,) = mt940(":61:2703150315D50,00NDDTNONREF", ":86:109?00RUECKLASTSCHRIFT?34AM04")
    assert entry.return_reason == "AM04"
    # ?34 with a German three-digit code (914): not translated, the GVC says RETURN.
    (entry,) = mt940(":61:2703150315C50,00NTRFNONREF", ":86:159?00RETOURE?34914")
    assert entry.return_reason == "RETURN"
    # Right after RTRN+: taken.
    (entry,) = mt940(
        ":61:2703150315D50,00NDDTNONREF", ":86:109?00RUECKLASTSCHRIFT?20SVWZ+RTRN+MD06 Beitrag"
    )
    assert entry.return_reason == "MD06"
    # A code that merely stands in the text of an ordinary credit: not guessed.
    (entry,) = mt940(":61:2703150315C50,00NTRFNONREF", ":86:166?00GUTSCHRIFT?20SVWZ+Rechnung AM04")
    assert entry.return_reason == ""


# --- the corpus ------------------------------------------------------------------------------


def corpus(corpora: Path, relative: str) -> list[Entry]:
    path = corpora / "bank-statements" / relative
    return [e for s in read_statement(path.read_bytes(), path.name) for e in s.entries]


def test_corpus_returns(corpora):
    entries = corpus(corpora, "camt/viafintech_camt053_valid_example_v4.xml")
    returned = [(e.return_reason, e.transaction_code) for e in entries if e.return_reason]
    # The batch Ntry of 110.00 CHF (lines 1525-1726), 3 TxDtls with PMNT/ICDT/RRTN, each with
    # RtrInf/Rsn/Cd NARR; and two refunded direct debits with RtrInf/Rsn/Cd MD06 (lines 2012
    # and 2126).
    assert sorted(returned) == [
        ("MD06", "PMNT/IDDT/PRDD"),
        ("MD06", "PMNT/RDDT/PRDD"),
        ("NARR", "PMNT/ICDT/RRTN"),
        ("NARR", "PMNT/ICDT/RRTN"),
        ("NARR", "PMNT/ICDT/RRTN"),
    ]
    entries = corpus(corpora, "mt940/betterplace_sepa_mt9401.sta")
    # 17 :86:159?00RETOURE lines (their ?34 holds 914 or 903) and 2 :61: lines of type NRTI.
    assert sum(e.return_reason == "RETURN" for e in entries) == 19
    assert sum(e.transaction_code == "NRTI" for e in entries) == 2
    assert all(e.return_reason in ("", "RETURN") for e in entries)
    # No other corpus file has a return or an instructed amount.
    for name in ("camt/viafintech_camt053_valid_example.xml", "mt940/cmxl_mt940.sta"):
        assert not any(e.return_reason or e.instructed_currency for e in corpus(corpora, name))
