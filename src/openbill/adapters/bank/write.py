"""Bank statement files out: `Statement` values written as ISO 20022 camt.053.001.08 or SWIFT
MT940, each a file a bank could have sent and that `read_statement` reads back.

Used by `openbill demo` (a month's statement to import) and by the benchmark (a camt.053 of
100,000 entries), so both writers are linear in the entries, build text directly (no DOM), and
are deterministic: the same statements give the same bytes (no clock, no random ids; the camt
message id and creation time are arguments).

`write_camt053(statements, message_id=..., created=...)`, ISO 20022 BankToCustomerStatementV08,
elements in the order of the schema (camt.053.001.08.xsd):

- GrpHdr: MsgId, CreDtTm. One Stmt per statement: Id (`statement_id`; empty: the message id
  with "-n"), ElctrncSeqNb (`sequence`, when it is a number), CreDtTm (`created`), FrToDt (when
  both ends of the period are known), Acct/Id/IBAN (Acct/Id/Othr/Id when the account is no
  valid IBAN) and Acct/Ccy, Bal OPBD and CLBD (CdtDbtInd DBIT for a negative balance),
  TxsSummry (when every entry is in the statement's currency), and one booked Ntry per entry.
- Ntry: Amt@Ccy, CdtDbtInd (DBIT for money out), Sts/Cd BOOK, BookgDt/Dt, ValDt/Dt,
  AcctSvcrRef (`bank_reference`), BkTxCd (Domn/Cd, Fmly/Cd, Fmly/SubFmlyCd when the code reads
  "PMNT/RCDT/ESCT", else Prtry/Cd, empty without a code), NtryDtls/TxDtls: Refs/EndToEndId
  (NOTPROVIDED when empty), AmtDtls (InstdAmt, then TxAmt with CcyXchg: SrcCcy, TrgtCcy,
  UnitCcy = SrcCcy and XchgRate = transaction amount / instructed amount, rounded half-even to
  at most 10 decimals and 11 digits; only for an instructed amount), RltdPties (Dbtr/Pty/Nm and
  DbtrAcct of a credit, Cdtr/Pty/Nm and CdtrAcct of a debit), RmtInf (Ustrd in pieces of at
  most 140 characters cut between words, Strd/CdtrRefInf with Tp SCOR, or Prtry QRR for a
  27-digit Swiss QR reference, and Ref), RtrInf (Rsn/Cd for a four-character reason code,
  Rsn/Prtry for another reason, AddtlInf RETURN alone when the entry is only known to be a
  return); AddtlNtryInf (a booking text such as GUTSCHRIFT, only when the entry has a
  remittance text, as the reader takes AddtlNtryInf for the remittance of an entry without
  one).
- Lost or changed: `batch_size` (every entry is its own Ntry, read back as 1); texts cut to
  the schema's lengths (names 140, references 35, accounts 34, a proprietary code or reason
  35); a word of more than 140 characters is cut into Ustrd pieces, which read back joined by
  a space; an IBAN given in groups loses its blanks; a period with one end only; a `sequence`
  that is not a number; an instructed amount in the entry's own currency. `created` (a date)
  gets the message's time when it is the message's day, else midnight. An instructed amount
  is written unsigned and read back signed like the entry. A missing balance is written as
  the one the entries imply (opening = closing - entries, or 0 when both are missing), dated
  by the period, the entries or `created`.

`write_mt940(statements)`, SWIFT MT940 with the German structured :86: (DFÜ-Abkommen Anlage 3):

- :20: `statement_id` (16x; empty: NONREF), :25: account (35x), :28C: `sequence` (5n[/5n];
  otherwise its last five digits, or 1), :60F: opening, one :61: and :86: per entry, :62F:
  closing, and a line "-" after each statement. Lines end in CR LF.
- :61: value date YYMMDD, booking date MMDD (left out when unknown), C or D, the amount with a
  decimal comma, the transaction type (`transaction_code` when it is a SWIFT type such as NTRF
  or NMSC, else NTRF), the customer reference (`end_to_end_id`, or NONREF) and //bank
  reference, each at most 16 characters; without a bank reference the line is NONREF alone, so
  that it reads back as none.
- :86: GVC (166 credit transfer in, 116 out, 171 direct debit collected, 105 direct debit
  paid, 109 returned direct debit, 159 returned transfer), ?00 booking text, ?20..?29 in
  pieces of 27: EREF+ end-to-end id, then SVWZ+ remittance text, ?31 counterparty account (no
  ?30: the model has no BIC), ?32 and ?33 its name, ?34 the return reason when it is an ISO
  code (AM04); at most 6 lines of 65 characters, no line starting with ":" or "-" or
  beginning or ending with a space, no piece ending with a space or a dangling " BIC"/" IBAN"
  (which the mt-940 library strips).
- MT940 is written in SWIFT's X character set (`swift_text`): ä ö ü ß become ae oe ue ss, &
  becomes +, other letters lose their accents (é -> e), any other character becomes "." (so
  does "?", the :86: field mark), and a SEPA keyword followed by "+" inside a text (EREF+,
  SVWZ+ ...) gets a space instead, so a text cannot open a field of its own. The reader
  gives back the transliterated text.
- Lost against camt: instructed amounts; the creditor reference as a field (it travels in the
  SVWZ text, in front of the remittance unless the text already holds it, and reads back in
  `remittance`); references beyond 16 characters, names beyond 54 (?32 + ?33), accounts
  beyond 34; the remittance beyond what fits in the :86: (about 200 to 270 characters); a
  remittance text ending in the word BIC or IBAN loses that word; a return reason that is not
  an ISO code reads back "RETURN"; a transaction code that is no SWIFT type; `created` and the
  period (MT940 has neither: the reader takes the balance dates as the period); `batch_size`.
  Refused with ValueError: an entry in another currency than its statement (MT940 has one
  currency per statement), a date outside 2000-2099 (two-digit years), an amount longer than
  15 characters.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from openbill.adapters.bank._common import clean
from openbill.adapters.bank.mt940 import ISO_REASON
from openbill.domain.bank import HISTORIC_EXPONENTS, Balance, Entry, Statement
from openbill.domain.currencies import EXPONENTS

__all__ = ["CAMT053_NAMESPACE", "swift_text", "write_camt053", "write_mt940"]

CAMT053_NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"

_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}")
_DOMAIN_CODE = re.compile(r"([A-Z0-9]{1,4})/([A-Z0-9]{1,4})/([A-Z0-9]{1,4})")
_SWIFT_TYPE = re.compile(r"[NSF](?:[A-Z]{3}|[0-9]{3})")  # as the MT940 reader accepts it
_REASON_CODE = re.compile(r"[A-Z0-9]{4}")  # ExternalReturnReason1Code, Max4Text
_QR_REFERENCE = re.compile(r"[0-9]{27}")
_STATEMENT_NUMBER = re.compile(r"[0-9]{1,5}(?:/[0-9]{1,5})?")
# Characters XML 1.0 cannot carry at all: left out of every camt text.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# ISO 7064 mod 97-10 reads every letter of an IBAN as a number: A = 10 ... Z = 35.
_IBAN_DIGITS = str.maketrans({chr(c): str(c - 55) for c in range(ord("A"), ord("Z") + 1)})


def _exponent(currency: str) -> int:
    return EXPONENTS.get(currency, HISTORIC_EXPONENTS.get(currency, 2))


def _decimal_text(minor: int, exponent: int) -> str:
    """An unsigned amount in minor units as camt writes it: 1234.56, or 1234 for JPY."""
    whole, fraction = divmod(abs(minor), 10**exponent)
    return f"{whole}.{fraction:0{exponent}d}" if exponent else str(whole)


def _is_iban(text: str) -> bool:
    """An IBAN by form and ISO 7064 mod 97-10 check digits (DE89370400440532013000)."""
    if not _IBAN.fullmatch(text):
        return False
    return int((text[4:] + text[:4]).translate(_IBAN_DIGITS)) % 97 == 1


@dataclass(frozen=True, slots=True)
class _Balances:
    opening: Balance
    closing: Balance


def _balances(statement: Statement) -> _Balances:
    """Both booked balances, with a date each: the missing ones as the entries imply them."""
    currency = statement.currency
    total = sum(e.amount_minor for e in statement.entries if e.currency == currency)
    dates = [d for e in statement.entries for d in (e.booking_date, e.value_date) if d]
    first = statement.period_from or (min(dates) if dates else None) or statement.created
    last = statement.period_to or (max(dates) if dates else None) or statement.created
    opening, closing = statement.opening, statement.closing
    if opening is None:
        minor = closing.amount_minor - total if closing is not None else 0
        opening = Balance(minor, closing.currency if closing else currency, None)
    if closing is None:
        closing = Balance(opening.amount_minor + total, opening.currency, None)
    opened = opening.as_of or first or closing.as_of
    closed = closing.as_of or last or opened
    if opened is None or closed is None:
        raise ValueError(
            f"statement {statement.statement_id or statement.account!r} has no date for its "
            "balances: give a balance date, a period, entry dates or the creation date"
        )
    return _Balances(
        Balance(opening.amount_minor, opening.currency, opened),
        Balance(closing.amount_minor, closing.currency, closed),
    )


def _booking(entry: Entry) -> tuple[str, str]:
    """The German business transaction code (GVC) and booking text of an entry."""
    debit = entry.amount_minor < 0
    if entry.return_reason:
        # A direct debit we collected and the payer's bank sent back, or a transfer of ours
        # that came back: the two returns a creditor's account sees.
        return ("109", "RUECKLASTSCHRIFT") if debit else ("159", "RUECKUEBERWEISUNG")
    code = entry.transaction_code
    if "IDDT" in code or code.startswith("NDDT"):
        return ("105", "LASTSCHRIFT") if debit else ("171", "LASTSCHRIFTEINZUG")
    return ("116", "UEBERWEISUNG") if debit else ("166", "GUTSCHRIFT")


# --- camt.053 --------------------------------------------------------------------------------


def _folded(text: str) -> bool:
    """Whether a text is already as `clean` leaves it, with nothing XML cannot hold.

    Printable means no control character, surrogate, non-character or blank but the space.
    """
    return text.isprintable() and "  " not in text and text[0] != " " and text[-1] != " "


def _xml_text(text: str, limit: int) -> str:
    """A text as one camt element holds it: blanks folded, cut at the schema's length, escaped."""
    if not text:
        return ""
    if not _folded(text):
        text = _NOT_XML.sub("", clean(text, len(text)))
    if len(text) > limit:
        text = text[:limit].rstrip()
    if "&" in text or "<" in text or ">" in text:
        text = text.translate(_XML_ESCAPES)
    return text


def _ustrd(text: str, limit: int = 140) -> list[str]:
    """Unstructured remittance in pieces of at most `limit` characters, cut between words."""
    if not text:
        return []
    if _folded(text) and len(text) <= limit:
        return [_xml_text(text, limit)]
    pieces: list[str] = []
    current = ""
    for word in _NOT_XML.sub("", clean(text, len(text))).split(" "):
        while len(word) > limit:  # a word longer than a piece: cut, read back with a space
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:limit])
            word = word[limit:]
        if not word:
            continue
        if current and len(current) + 1 + len(word) > limit:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        pieces.append(current)
    return [p.translate(_XML_ESCAPES) for p in pieces]


@functools.lru_cache(maxsize=4096)
def _account_xml(account: str) -> str:
    compact = account.replace(" ", "")
    if _is_iban(compact):
        return f"<Id><IBAN>{compact}</IBAN></Id>"
    return f"<Id><Othr><Id>{_xml_text(account, 34)}</Id></Othr></Id>"


def _amount_xml(minor: int, currency: str) -> str:
    return f'<Amt Ccy="{currency}">{_decimal_text(minor, _exponent(currency))}</Amt>'


def _rate(target_minor: int, target: str, source_minor: int, source: str) -> str:
    """Units of `target` for one unit of `source`, as BaseOneRate holds it: the exact quotient
    rounded half-even to 10 decimals and at most 11 digits, trailing zeros dropped; "" when no
    such rate exists (an amount of zero, or a rate of 10^11 and more)."""
    if not target_minor or not source_minor:
        return ""
    with localcontext() as context:
        context.prec = 60
        rate = (Decimal(abs(target_minor)).scaleb(-_exponent(target))) / (
            Decimal(abs(source_minor)).scaleb(-_exponent(source))
        )
        whole_digits = len(str(int(rate))) if rate >= 1 else 1
        if whole_digits > 11:
            return ""
        places = min(10, 11 - whole_digits)
        rounded = rate.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    if not rounded:
        return ""
    text = f"{rounded:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _bank_code_xml(code: str) -> str:
    domain = _DOMAIN_CODE.fullmatch(code)
    if domain:
        return (
            f"<BkTxCd><Domn><Cd>{domain[1]}</Cd><Fmly><Cd>{domain[2]}</Cd>"
            f"<SubFmlyCd>{domain[3]}</SubFmlyCd></Fmly></Domn></BkTxCd>"
        )
    proprietary = _xml_text(code, 35)
    return f"<BkTxCd><Prtry><Cd>{proprietary}</Cd></Prtry></BkTxCd>" if proprietary else "<BkTxCd/>"


def _entry_xml(entry: Entry, out: list[str]) -> None:
    w = out.append
    credit = entry.amount_minor >= 0
    w("<Ntry>")
    w(_amount_xml(entry.amount_minor, entry.currency))
    w("<CdtDbtInd>CRDT</CdtDbtInd>" if credit else "<CdtDbtInd>DBIT</CdtDbtInd>")
    w("<Sts><Cd>BOOK</Cd></Sts>")
    if entry.booking_date:
        w(f"<BookgDt><Dt>{entry.booking_date.isoformat()}</Dt></BookgDt>")
    if entry.value_date:
        w(f"<ValDt><Dt>{entry.value_date.isoformat()}</Dt></ValDt>")
    reference = _xml_text(entry.bank_reference, 35)
    if reference:
        w(f"<AcctSvcrRef>{reference}</AcctSvcrRef>")
    w(_bank_code_xml(entry.transaction_code))
    w("<NtryDtls><TxDtls>")
    end_to_end = _xml_text(entry.end_to_end_id, 35) or "NOTPROVIDED"
    w(f"<Refs><EndToEndId>{end_to_end}</EndToEndId></Refs>")
    source, target = entry.instructed_currency, entry.currency
    if entry.instructed_minor is not None and source and source != target:
        w("<AmtDtls><InstdAmt>")
        w(_amount_xml(entry.instructed_minor, source))
        w("</InstdAmt><TxAmt>")
        w(_amount_xml(entry.amount_minor, target))
        rate = _rate(entry.amount_minor, target, entry.instructed_minor, source)
        if rate:
            w(
                f"<CcyXchg><SrcCcy>{source}</SrcCcy><TrgtCcy>{target}</TrgtCcy>"
                f"<UnitCcy>{source}</UnitCcy><XchgRate>{rate}</XchgRate></CcyXchg>"
            )
        w("</TxAmt></AmtDtls>")
    name = _xml_text(entry.counterparty_name, 140)
    account = entry.counterparty_account.strip()
    if name or account:
        party, party_account = ("Dbtr", "DbtrAcct") if credit else ("Cdtr", "CdtrAcct")
        w("<RltdPties>")
        if name:
            w(f"<{party}><Pty><Nm>{name}</Nm></Pty></{party}>")
        if account:
            w(f"<{party_account}>{_account_xml(account)}</{party_account}>")
        w("</RltdPties>")
    pieces = _ustrd(entry.remittance)
    creditor_reference = _xml_text(entry.creditor_reference, 35)
    if pieces or creditor_reference:
        w("<RmtInf>")
        for piece in pieces:
            w(f"<Ustrd>{piece}</Ustrd>")
        if creditor_reference:
            kind = (
                "<Prtry>QRR</Prtry>"
                if _QR_REFERENCE.fullmatch(creditor_reference)
                else "<Cd>SCOR</Cd>"
            )
            w(
                f"<Strd><CdtrRefInf><Tp><CdOrPrtry>{kind}</CdOrPrtry></Tp>"
                f"<Ref>{creditor_reference}</Ref></CdtrRefInf></Strd>"
            )
        w("</RmtInf>")
    reason = entry.return_reason
    if reason:
        if _REASON_CODE.fullmatch(reason):
            w(f"<RtrInf><Rsn><Cd>{reason}</Cd></Rsn></RtrInf>")
        elif reason == "RETURN":  # known to be a return, with no reason given
            w("<RtrInf><AddtlInf>RETURN</AddtlInf></RtrInf>")
        else:
            w(f"<RtrInf><Rsn><Prtry>{_xml_text(reason, 35)}</Prtry></Rsn></RtrInf>")
    w("</TxDtls></NtryDtls>")
    if pieces:
        w(f"<AddtlNtryInf>{_booking(entry)[1]}</AddtlNtryInf>")
    w("</Ntry>\n")


def _datetime_text(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _balance_xml(kind: str, balance: Balance) -> str:
    mark = "DBIT" if balance.amount_minor < 0 else "CRDT"
    assert balance.as_of is not None  # _balances gives every balance a date
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{kind}</Cd></CdOrPrtry></Tp>"
        f"{_amount_xml(balance.amount_minor, balance.currency)}"
        f"<CdtDbtInd>{mark}</CdtDbtInd><Dt><Dt>{balance.as_of.isoformat()}</Dt></Dt></Bal>\n"
    )


def _summary_xml(entries: tuple[Entry, ...], currency: str) -> str:
    exponent = _exponent(currency)
    credits = [e.amount_minor for e in entries if e.amount_minor >= 0]
    debits = [-e.amount_minor for e in entries if e.amount_minor < 0]
    net = sum(credits) - sum(debits)
    return (
        "<TxsSummry><TtlNtries>"
        f"<NbOfNtries>{len(entries)}</NbOfNtries>"
        f"<Sum>{_decimal_text(sum(credits) + sum(debits), exponent)}</Sum>"
        f"<TtlNetNtry><Amt>{_decimal_text(net, exponent)}</Amt>"
        f"<CdtDbtInd>{'DBIT' if net < 0 else 'CRDT'}</CdtDbtInd></TtlNetNtry></TtlNtries>"
        f"<TtlCdtNtries><NbOfNtries>{len(credits)}</NbOfNtries>"
        f"<Sum>{_decimal_text(sum(credits), exponent)}</Sum></TtlCdtNtries>"
        f"<TtlDbtNtries><NbOfNtries>{len(debits)}</NbOfNtries>"
        f"<Sum>{_decimal_text(sum(debits), exponent)}</Sum></TtlDbtNtries>"
        "</TxsSummry>\n"
    )


def _statement_xml(
    statement: Statement, index: int, message_id: str, created: datetime, out: list[str]
) -> None:
    w = out.append
    balances = _balances(statement)
    w("<Stmt>\n")
    w(f"<Id>{_xml_text(statement.statement_id, 35) or _xml_text(f'{message_id}-{index}', 35)}</Id>")
    sequence = statement.sequence.strip()
    if sequence.isdigit() and len(sequence) <= 18:
        w(f"<ElctrncSeqNb>{sequence}</ElctrncSeqNb>")
    if statement.created:
        same_day = statement.created == created.date()
        moment = _datetime_text(created) if same_day else f"{statement.created}T00:00:00"
        w(f"<CreDtTm>{moment}</CreDtTm>")
    if statement.period_from and statement.period_to:
        w(
            f"<FrToDt><FrDtTm>{statement.period_from}T00:00:00</FrDtTm>"
            f"<ToDtTm>{statement.period_to}T23:59:59</ToDtTm></FrToDt>"
        )
    currency = statement.currency
    valid_currency = bool(re.fullmatch(r"[A-Z]{3}", currency))
    w(f"\n<Acct>{_account_xml(statement.account)}")
    w(f"<Ccy>{currency}</Ccy></Acct>\n" if valid_currency else "</Acct>\n")
    w(_balance_xml("OPBD", balances.opening))
    w(_balance_xml("CLBD", balances.closing))
    entries = statement.entries
    if entries and valid_currency and all(e.currency == currency for e in entries):
        w(_summary_xml(entries, currency))
    for entry in entries:
        _entry_xml(entry, out)
    w("</Stmt>\n")


def write_camt053(statements: Iterable[Statement], *, message_id: str, created: datetime) -> bytes:
    """The statements as one camt.053.001.08 message (UTF-8), every entry a booked Ntry.

    `message_id` (at most 35 characters) and `created` go into the group header; nothing is
    taken from a clock, so the same arguments give the same bytes. ValueError for no statement
    at all, an empty message id, or a statement with no date for its balances.
    """
    if not message_id.strip():
        raise ValueError("a camt.053 message needs a message id (MsgId)")
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<Document xmlns="{CAMT053_NAMESPACE}">\n<BkToCstmrStmt>\n',
        f"<GrpHdr><MsgId>{_xml_text(message_id, 35)}</MsgId>",
        f"<CreDtTm>{_datetime_text(created)}</CreDtTm></GrpHdr>\n",
    ]
    count = 0
    for count, statement in enumerate(statements, start=1):
        _statement_xml(statement, count, message_id, created, out)
    if not count:
        raise ValueError("a camt.053 message holds at least one statement")
    out.append("</BkToCstmrStmt>\n</Document>\n")
    return "".join(out).encode("utf-8")


# --- MT940 -----------------------------------------------------------------------------------

# SWIFT's X character set less "?", which marks the fields of a structured :86:, and "{" "}",
# which delimit the blocks of a SWIFT envelope.
_X = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-:().,'+ ")
_X_PLAIN = re.compile(r"[a-zA-Z0-9/\-:().,'+ ]*")
_TRANSLITERATION = {
    "Ä": "Ae",
    "Ö": "Oe",
    "Ü": "Ue",
    "ä": "ae",
    "ö": "oe",
    "ü": "ue",
    "ß": "ss",
    "ẞ": "SS",
    "Æ": "AE",
    "æ": "ae",
    "Ø": "O",
    "ø": "o",
    "Œ": "OE",
    "œ": "oe",
    "Ł": "L",
    "ł": "l",
    "Đ": "D",
    "đ": "d",
    "Þ": "TH",
    "þ": "th",
    "&": "+",
    "€": "EUR",
    "‘": "'",
    "’": "'",
    "‚": "'",
    "`": "'",
    "´": "'",
    "–": "-",
    "—": "-",
}
# The SEPA keywords the mt-940 library splits a purpose at (its GVC_KEYS), each with its "+".
_KEYWORD_PLUS = re.compile(
    r"(IBAN|BIC |EREF|MREF|CRED|PURP|SVWZ|MDAT|ABWA|ABWE|SQTP|ORCR|ORMR|DDAT|KREF|DEBT|COAM"
    r"|OAMT)\+"
)
_X_TABLE = str.maketrans(_TRANSLITERATION)
_NOT_X = re.compile(r"[^a-zA-Z0-9/\-:().,'+ ]")
_DANGLING_LABELS = (" BIC", " IBAN")
_DETAILS_BUDGET = 6 * 65  # :86: is 6 lines of 65 characters
_PURPOSE_FIELDS = 10  # ?20 .. ?29


def _x_replacement(found: re.Match[str]) -> str:
    """What a character outside the X set becomes: a blank stays a blank, an accent written
    after its letter goes, a letter keeps its base (é -> e, ﬁ -> fi), anything else is "."."""
    ch = found[0]
    if ch.isspace():
        return " "
    if unicodedata.combining(ch):
        return ""
    return "".join(c for c in unicodedata.normalize("NFKD", ch) if c in _X) or "."


def swift_text(text: str) -> str:
    """A text in SWIFT's X character set as `write_mt940` writes it (and the reader returns).

    >>> swift_text("Müller & Söhne, Straße 5? Café")
    'Mueller + Soehne, Strasse 5. Cafe'
    """
    if not text:
        return ""
    if not _X_PLAIN.fullmatch(text):
        text = text.translate(_X_TABLE)
        if not _X_PLAIN.fullmatch(text):
            text = _NOT_X.sub(_x_replacement, text)
    if "+" in text:
        text = _KEYWORD_PLUS.sub(r"\1 ", text)
    if "  " in text or text[0] == " " or text[-1] == " ":
        text = " ".join(text.split())
    return text


def _pieces(text: str, width: int) -> list[str]:
    """`text` in pieces of at most `width`: none but the last ends with a space or a dangling
    " BIC"/" IBAN" (banks trim a field's trailing blanks; mt-940 drops such a label)."""
    pieces: list[str] = []
    while len(text) > width:
        cut = width
        while cut > 1 and (text[cut - 1] == " " or text[:cut].endswith(_DANGLING_LABELS)):
            cut -= 1
        pieces.append(text[:cut])
        text = text[cut:]
    if text:
        pieces.append(text)
    return pieces


def _lines(text: str, width: int = 65) -> list[str]:
    """A field's text in lines of at most `width`: no line may start with ":" (a new field) or
    "-" (the end of the message), and none starts or ends with a blank (banks trim them)."""
    lines: list[str] = []
    while len(text) > width:
        cut = width
        while cut > 1 and (text[cut - 1] == " " or text[cut] in " :-"):
            cut -= 1
        lines.append(text[:cut])
        text = text[cut:]
    lines.append(text)
    return lines


def _swift_reference(text: str) -> str:
    """A reference as 16x: X characters, no "//" (the bank reference mark), no "/" at an end."""
    reference = swift_text(text)
    if "//" in reference:
        reference = re.sub(r"/{2,}", "/", reference)
    return reference.strip("/ ")[:16].rstrip("/ ")


def _details_86(entry: Entry) -> list[str]:
    gvc, booking = _booking(entry)
    head = f"{gvc}?00{booking}"
    tail: list[str] = []
    account = swift_text(entry.counterparty_account)[:34].rstrip()
    if account:
        tail.append(f"?31{account}")
    name = _pieces(swift_text(entry.counterparty_name), 27)[:2]  # 54 characters at most
    for mark, piece in zip(("?32", "?33")[: len(name)], name, strict=True):
        tail.append(f"{mark}{piece.rstrip()}")
    if ISO_REASON.fullmatch(entry.return_reason):
        tail.append(f"?34{entry.return_reason}")
    text = swift_text(entry.remittance)
    reference = swift_text(entry.creditor_reference)
    if reference and reference not in text:
        text = f"{reference} {text}".rstrip()
    items = []
    end_to_end = swift_text(entry.end_to_end_id)[:35].rstrip()
    if end_to_end:
        items.append(f"EREF+{end_to_end}")
    if text:
        items.append(f"SVWZ+{text}")
    budget = _DETAILS_BUDGET - len(head) - sum(len(t) for t in tail)
    purpose: list[str] = []
    for piece in (p for item in items for p in _pieces(item, 27)):
        field = f"?2{len(purpose)}{piece}"
        if len(purpose) == _PURPOSE_FIELDS or len(field) > budget:
            break
        purpose.append(field)
        budget -= len(field)
    while True:  # lines cut short (before a ":" or "-") may need a seventh: drop a piece
        lines = _lines(head + "".join(purpose) + "".join(tail))
        if len(lines) <= 6 or not purpose:
            return lines
        purpose.pop()


def _yymmdd(day: date) -> str:
    if not 2000 <= day.year <= 2099:
        raise ValueError(f"{day.isoformat()}: MT940's two-digit years cover 2000 to 2099 only")
    return f"{day.year % 100:02d}{day.month:02d}{day.day:02d}"


def _swift_amount(minor: int, currency: str) -> str:
    """15d: the digits with a decimal comma, which SWIFT requires even without decimals."""
    exponent = _exponent(currency)
    whole, fraction = divmod(abs(minor), 10**exponent)
    text = f"{whole},{fraction:0{exponent}d}" if exponent else f"{whole},"
    if len(text) > 15:
        raise ValueError(f"{text} {currency}: longer than the 15 characters of an MT940 amount")
    return text


def _balance_field(tag: str, balance: Balance) -> str:
    assert balance.as_of is not None  # _balances gives every balance a date
    mark = "D" if balance.amount_minor < 0 else "C"
    amount = _swift_amount(balance.amount_minor, balance.currency)
    return f"{tag}{mark}{_yymmdd(balance.as_of)}{balance.currency}{amount}"


def _statement_number(sequence: str) -> str:
    sequence = sequence.strip()
    if _STATEMENT_NUMBER.fullmatch(sequence):
        return sequence
    digits = "".join(c for c in sequence if c.isdigit())
    return digits[-5:] or "1"


def _statement_lines(statement: Statement) -> list[str]:
    currency = statement.currency
    balances = _balances(statement)
    for balance in (balances.opening, balances.closing):
        if balance.currency != currency:
            raise ValueError(
                f"statement {statement.statement_id!r}: a balance in {balance.currency} on a "
                f"statement in {currency}"
            )
    lines = [
        f":20:{_swift_reference(statement.statement_id) or 'NONREF'}",
        f":25:{swift_text(statement.account)[:35].rstrip()}",
        f":28C:{_statement_number(statement.sequence)}",
        _balance_field(":60F:", balances.opening),
    ]
    for entry in statement.entries:
        if entry.currency != currency:
            raise ValueError(
                f"statement {statement.statement_id!r}: an entry in {entry.currency} on a "
                f"statement in {currency}; MT940 carries one currency per statement"
            )
        value = entry.value_date or entry.booking_date or balances.closing.as_of
        assert value is not None
        booked = entry.booking_date
        booking = f"{booked.month:02d}{booked.day:02d}" if booked else ""
        mark = "D" if entry.amount_minor < 0 else "C"
        kind = entry.transaction_code if _SWIFT_TYPE.fullmatch(entry.transaction_code) else "NTRF"
        bank_reference = _swift_reference(entry.bank_reference)
        if bank_reference:
            customer = _swift_reference(entry.end_to_end_id) or "NONREF"
            references = f"{customer}//{bank_reference}"
        else:
            references = "NONREF"
        lines.append(
            f":61:{_yymmdd(value)}{booking}{mark}"
            f"{_swift_amount(entry.amount_minor, currency)}{kind}{references}"
        )
        details = _details_86(entry)
        lines.append(f":86:{details[0]}")
        lines.extend(details[1:])
    lines.append(_balance_field(":62F:", balances.closing))
    lines.append("-")
    return lines


def write_mt940(statements: Iterable[Statement]) -> bytes:
    """The statements as MT940 messages (ASCII, CR LF), one after the other.

    What MT940 cannot carry is listed in the module docstring; an entry in another currency
    than its statement, or a date outside 2000-2099, raises ValueError.
    """
    lines: list[str] = []
    for statement in statements:
        lines.extend(_statement_lines(statement))
    if not lines:
        raise ValueError("an MT940 file holds at least one statement")
    return ("\r\n".join(lines) + "\r\n").encode("ascii")
