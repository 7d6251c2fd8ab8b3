"""SWIFT MT940 (customer statement) and MT942 (interim transaction report), read with the
`mt-940` library (import name `mt940`).

A file may hold several statements; each starts with a :20: line. The file is cut there and
each part parsed on its own, so every statement keeps its own balances (the library would
keep only the last ones). Lines before the first :20: (SWIFT envelope blocks, bank headers)
are left out, but a field there is refused: its statement would be lost.

Mapping: :25: account, :28C: statement/sequence number, :60F:/:60M: opening balance,
:62F:/:62M: closing balance (MT942 has neither), :61: one entry each: the value date, the entry
(booking) date, the signed amount, the transaction type (NTRF...) as the bank code, the bank
reference (//...) else the customer reference (NONREF counts as none). RC (reversal of a
credit) is a debit and RD a credit (the library's `reversal_sign` option). :86: as the library
splits it: the German structured fields (?20.. purpose, ?31 IBAN, ?32/?33 name) and SEPA
keywords (EREF, SVWZ, IBAN+) when present, otherwise the whole text as the remittance. The
whole :86: is read (the library cuts it at nine pieces of 65 characters unless told not to);
the remittance keeps `TEXT_CHARS_MAX` characters of it, as for the other formats.

Returns (`Entry.return_reason`): an ISO 20022 return reason code (AM04, MD06 ...) when the bank
marks one: in ?34, the sub-field the DFÜ-Abkommen gives the return reason, when it holds such a
code, or right after the marker "RTRN+" anywhere in the :86: text. Otherwise "RETURN" when the
:61: transaction type is RTI (returned item), the :86: business transaction code (GVC, the
three digits before the first "?") is one of `RETURN_GVC`, or the booking text (?00) says
Rücklastschrift, Retoure or Rücküberweisung. Nothing else is guessed: a code that merely stands
somewhere in the remittance text is not taken, and the three-digit return codes German banks
write into ?34 (Textschlüsselergänzung 9xx) are not translated, so such an entry reads
"RETURN". MT940 carries no instructed amount.

What is refused. The library is lenient where a bank file must not be: it reads `:60F:` with
the amount `1x00,00` as 1.00, fuses a `:61:` without a transaction type with the next one
(its `:86:` text then lands on that other entry), and silently cuts a `:20:` or `:25:` that is
too long. So every field is first checked against its SWIFT layout here, and the file is
refused, naming the line of the tag at fault, when one does not match:

- balances (`:60F:` `:60M:` `:62F:` `:62M:` `:64:` `:65:`): the mark C or D, the date YYMMDD,
  three capital letters of currency, the amount, and nothing after it;
- amounts (15d): digits, one decimal comma, at most `AMOUNT_CHARS_MAX` characters besides
  leading zeros (`0,`, `1190,00` and Rabobank's `0000000001000,89` are amounts; `1x9,00`,
  `1.190,00`, `1,19,00`, `,50` and `119` are not). The one tolerance is the floor limit
  `:34F:`, where a whole number without its comma is taken (mBank writes `:34F:PLN0`); its
  amount is not used;
- `:61:`: the value date YYMMDD, the entry date MMDD (or four blanks, as Citi writes), the
  mark C, D, RC or RD (capitals: the library would read a lowercase `d` as a credit), the
  funds code if any (the third letter of the statement's currency: R for EUR), the amount,
  and the transaction type (S, N or F, then three capitals, three digits or three blanks:
  NTRF, N192, S051, "S   ");
- `:13D:`: YYMMDDhhmm and an optional offset +hhmm; `:90D:`/`:90C:`: a number of entries,
  the currency and the amount, which must agree with the statement's own debit (D, RC) and
  credit (C, RD) entries;
- `:20:` and `:21:` (16 characters), `:25:` (35 characters; `:25P:` with a second line for the
  BIC), each on one line;
- a line that looks like a field tag the reader does not know (`:6l:`, `:99:`): its text
  would silently join the field before it;
- an MT940 statement without its opening (`:60a:`) or closing (`:62a:`) balance, which is
  what a truncated file looks like, or with two of either; balances, floor limit and totals
  in more than one currency;
- a field after the line "-" that ends a message (its entries would be lost);
- in a statement whose `:86:` fields have the German structured layout (DFÜ-Abkommen: a
  three-digit business transaction code, then `?` sub-fields), a `:61:` without its `:86:`,
  or with two: that layout gives every entry exactly one.

After the library has read the statement, every `:61:` must have become one entry of the
amount the line states, and the balances must be the ones the fields state; otherwise the
file is refused too. An `:86:` that follows no entry (the statement-level "information to
account owner" after `:62F:`) is kept out of the entries: the library would append it to the
last one. A bank that writes several `:86:` fields for one entry (Rabobank) has them joined.
A short mark after the last field ends the message too ("-XXX", "-" and ETX).

What the layout cannot tell: SWIFT writes the parts of a :61: line without separators, so a
few typing errors still read as another well-formed line. The first digit of an amount made
a letter reads as the funds code when it is the currency's third letter (C119,00 -> CR19,00 in
EUR reads 19.00) or made a blank (which the library allows before an amount); the last
decimal made S, N or F reads as the start of the transaction type (119,05NTRF -> 119,0NNTRF
reads 119.0); the last digit of a balance made a blank reads as a shorter amount, as blanks at
the end of a line are padding. The balance check (`domain.bank.check_balances`) sees those.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import mt940

from openbill.adapters.bank._common import FILE_BYTES_MAX, check_counts, clean, refuse
from openbill.domain.bank import Balance, Entry, Statement, amount_to_minor
from openbill.domain.rejections import Rejection

__all__ = [
    "AMOUNT_CHARS_MAX",
    "ISO_REASON",
    "RETURN_GVC",
    "detect",
    "parse_mt940",
    "says_return",
]

_START = re.compile(r"^:20:", re.MULTILINE)
_NO_REFERENCE = ("", "NONREF")

# German business transaction codes (GVC, DFÜ-Abkommen Anlage 3) of returned payments: 108 and
# 109 are returned SEPA direct debits (Rücklastschrift), 159, 160 and 161 returned SEPA credit
# transfers (Retoure), 009 the pre-SEPA Rücklastschrift. The camt reader checks the GVC of a
# German proprietary bank transaction code ("NDDT+109+...") against the same set.
RETURN_GVC = frozenset({"009", "108", "109", "159", "160", "161"})
# The words of a booking text that say a payment came back, in German and English.
_RETURN_WORDS = re.compile(
    r"R(?:Ü|UE)CK(?:LASTSCHRIFT|ÜBERWEISUNG|UEBERWEISUNG)|RETOURE|\bRETURN", re.IGNORECASE
)
# An ISO 20022 ExternalReturnReason1Code: four capitals or digits with at least one letter
# (AM04, MS03, FOCR); the three-digit German codes do not match.
ISO_REASON = re.compile(r"(?=[A-Z0-9]{0,3}[A-Z])[A-Z0-9]{4}")
_RETURN_MARKER = re.compile(r"RTRN\+([A-Z0-9]{4})(?![A-Z0-9])")


def says_return(text: str) -> bool:
    """Whether a booking text says the payment was returned (Rücklastschrift, Retoure ...)."""
    return bool(_RETURN_WORDS.search(text))


def detect(text: str) -> bool:
    head = text[:4096]
    return head.lstrip().startswith("{1:") or bool(_START.search(head))


def _decode(data: bytes) -> str:
    # SWIFT messages are ASCII by rule; banks write Latin-1 or UTF-8. Latin-1 decodes anything.
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_mt940(data: bytes, source: str) -> list[Statement]:
    """Every statement of an MT940 or MT942 file, or InvalidInput naming the line at fault."""
    if len(data) > FILE_BYTES_MAX:
        raise refuse(source, "", "the file is larger than a statement import takes")
    text = _decode(data).replace("\r\n", "\n").replace("\r", "\n")
    starts = [m.start() for m in _START.finditer(text)]
    if not starts:
        raise refuse(source, "line 1", "no :20: line: this is not an MT940 or MT942 statement")
    head = text[: starts[0]].split("\n")
    stray = next((i for i, line in enumerate(head) if _is_field(line)), None)
    if stray is not None:
        raise refuse(
            source,
            f"line {stray + 1}",
            "a field before the first :20: line; the statement it belongs to has no :20:",
        )
    ends = [*starts[1:], len(text)]
    check_counts(source, len(starts), text.count("\n:61:"))
    return [
        _statement(text[a:b], source, text.count("\n", 0, a) + 1)
        for a, b in zip(starts, ends, strict=True)
    ]


# --- the SWIFT layout of each field ----------------------------------------------------------

# SWIFT 15d: the digits and the decimal comma together; leading zeros do not count, as banks
# pad with them (Rabobank writes the balance 1000,89 as 0000000001000,89, 16 characters).
AMOUNT_CHARS_MAX = 15
REFERENCE_CHARS_MAX = 16  # :20: and :21:, 16x
ACCOUNT_CHARS_MAX = 35  # :25:, 35x

# A field starts with a tag at the start of a line, as the library finds it (two digits or NS,
# an optional option letter); it knows the tags of TAG_BY_ID.
_FIELD = re.compile(r":(?P<tag>(?P<number>[0-9]{2}|NS)[A-Z]?):")
_KNOWN = frozenset(str(key)[:2] for key in mt940.tags.TAG_BY_ID)
# A line that looks like a tag, with a digit in it, but is none the library knows (":6l:",
# ":99:"); the library would add its text to the field before it.
_TAG_LIKE = re.compile(r":(?=[0-9A-Za-z]{2,4}:)[A-Za-z]*[0-9]")
_SWIFT_AMOUNT = re.compile(r"[0-9]+,[0-9]*")
_FLOOR_LIMIT = re.compile(r"[A-Z]{3}[DC ]?[0-9]+(?:,[0-9]*)?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_ENTRY_DATE = re.compile(r"[0-9]{4}| {4}")
_MARK = re.compile(r"RC|RD|C|D")
_FUNDS_CODE = re.compile(r"[A-Z]?[\n ]?")
# The transaction type: S (a SWIFT message type follows), N or F (a code), then three capitals
# (NTRF, NMSC), three digits (Dutch banks: N192, S051) or three blanks (Sberbank: "S   "). The
# library takes any mix; a mix such as N8NR is what a letter typed into the amount gives.
_TYPE = r"[SNF](?:[A-Z]{3}|[0-9]{3}| {3})"
_AMOUNT_AND_TYPE = re.compile(rf"(?P<amount>[0-9,]+)(?P<type>{_TYPE})")
# Where an amount that is not one probably ends: at a transaction type or a bank reference.
_AFTER_AMOUNT = re.compile(rf"{_TYPE}|//")
_DATE_TIME = re.compile(r"([0-9]{6})([0-9]{2})([0-9]{2})(?:[+-]([0-9]{2})([0-9]{2}))?")
_SUMS = re.compile(r"([0-9]{1,5})(.{3})(.*)", re.DOTALL)
# The German structured :86: (DFÜ-Abkommen): a business transaction code, then ?-fields.
_STRUCTURED = re.compile(r"[0-9]{3}\?")
_BALANCES = ("60", "62", "64", "65")
_DEBIT_MARKS = ("D", "RC")
_MESSAGE_END = re.compile(r"-(?:\}.*)?[ \t]*")
# A short mark after the last field that ends a message: "-XXX" (ING), "-" and ETX (mBank).
_TRAILER = re.compile(r"-\S{0,8}")


class _Bad(Exception):
    """A field that does not follow its SWIFT layout; the reason, for the refusal."""


@dataclass(frozen=True, slots=True)
class _Field:
    tag: str  # as written: "61", "60F", "28C", "NS"
    line: int  # the line of the tag in the file
    value: str  # the text after the tag, as the library takes it
    rows: range  # the field's lines within the statement's text


@dataclass(frozen=True, slots=True)
class _Amount:
    """An amount as its field states it: signed (D and RC are debits), with its currency."""

    signed: Decimal
    currency: str  # "" on a :61: line: its currency is the statement's
    day: date
    mark: str


@dataclass(frozen=True, slots=True)
class _Layout:
    """What the fields of one statement say, checked against SWIFT, before the library reads
    them: each :61: with its amount, the balances, the :86: lines that follow no entry."""

    entries: tuple[tuple[_Field, _Amount], ...]
    opening: tuple[_Field, _Amount] | None
    closing: tuple[_Field, _Amount] | None
    statement_info: frozenset[int]  # rows of the :86: fields that follow no entry


def _end_of_message(part: str, source: str, first_line: int) -> str:
    """The statement's text up to the end of its message.

    A line "-" (or "-}" in a SWIFT envelope) ends the message; bank headers may follow, but no
    field (its entries would be lost). A line starting with "-" after the line of the last
    field ends the message too when it is a short mark ("-XXX", "-" and ETX), not a text.
    """
    lines = part.split("\n")
    end = next((i for i, line in enumerate(lines) if _MESSAGE_END.fullmatch(line)), len(lines))
    stray = next((i for i in range(end, len(lines)) if _is_field(lines[i])), None)
    if stray is not None:
        raise refuse(
            source,
            f"line {first_line + stray}",
            f"a field after the end of the message (the line {lines[end]!r} on line "
            f"{first_line + end}); the entries after it would be lost",
        )
    last = max(i for i in range(end) if _is_field(lines[i]))
    end = next((i for i in range(last + 1, end) if _TRAILER.fullmatch(lines[i])), end)
    return "\n".join(lines[:end]) + "\n"


def _is_field(line: str) -> bool:
    found = _FIELD.match(line)
    return bool(found) and found["number"] in _KNOWN


def _fields(part: str, source: str, first_line: int) -> list[_Field]:
    """The fields of one statement as the library cuts them: each from its tag to the next
    known tag; lines that are blank or "-" left out, each line's trailing blanks dropped."""
    lines = part.split("\n")
    starts = []
    for i, line in enumerate(lines):
        if _is_field(line):
            starts.append(i)
        elif _TAG_LIKE.match(line):
            tag = line[: line.index(":", 1) + 1]
            raise refuse(
                source,
                f"line {first_line + i}",
                f"{tag} is not a field of an MT940 or MT942 statement (a damaged tag?)",
            )
    fields = []
    for i, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        found = _FIELD.match(lines[i])
        assert found is not None  # a start is a field
        body = [lines[i][found.end() :], *lines[i + 1 : end]]
        kept = [text.rstrip() for text in body if text.strip() not in ("", "-")]
        fields.append(_Field(found["tag"], first_line + i, "\n".join(kept).strip(), range(i, end)))
    return fields


def _layout(fields: list[_Field], source: str, is_942: bool) -> _Layout:
    """Every field checked against its SWIFT layout, and the statement's structure: each :61:
    with its :86: fields, one opening and one closing balance in the statement's one currency,
    the :90D:/:90C: totals."""
    entries: list[tuple[_Field, _Amount]] = []
    balances: dict[str, tuple[_Field, _Amount]] = {}
    details: list[list[_Field]] = []
    info: set[int] = set()
    owner: list[_Field] | None = None  # the :86: fields of the :61: an :86: would belong to
    currency = ""  # the statement's, from the first field that names one
    for field in fields:
        number = field.tag[:2]
        try:
            if number == "61":
                entries.append((field, _statement_line(field.value, currency)))
                owner = []
                details.append(owner)
            elif number == "86":
                if owner is None:
                    info.update(field.rows)
                else:
                    owner.append(field)
            elif number in _BALANCES:
                owner = None
                amount = _balance_field(field.value)
                currency = _same_currency(amount.currency, currency)
                if number in ("60", "62"):
                    _first_balance(number, balances)
                    balances[number] = (field, amount)
            elif number != "NS":
                owner = None
                currency = _same_currency(_check_field(field, number), currency)
        except _Bad as bad:
            raise refuse(
                source, f"line {field.line}", f"the :{field.tag}: field cannot be read: {bad}"
            ) from None
    if not is_942:
        for number, name in (("60", "opening"), ("62", "closing")):
            if number not in balances:
                raise refuse(
                    source,
                    f"line {fields[0].line}",
                    f"the statement has no {name} balance (:{number}F:); the file may be cut short",
                )
    _check_details(entries, details, source)
    _check_sums(fields, entries, source)
    return _Layout(
        entries=tuple(entries),
        opening=balances.get("60"),
        closing=balances.get("62"),
        statement_info=frozenset(info),
    )


def _same_currency(found: str, currency: str) -> str:
    if found and currency and found != currency:
        raise _Bad(f"the currency {found} is not the statement's, {currency}")
    return currency or found


def _first_balance(number: str, balances: dict[str, tuple[_Field, _Amount]]) -> None:
    if number in balances:
        name = "opening" if number == "60" else "closing"
        raise _Bad(f"a second {name} balance; the first is on line {balances[number][0].line}")


def _check_field(field: _Field, number: str) -> str:
    """The other fields with a layout that matters; the currency the field names, if any."""
    value = field.value
    if number in ("20", "21"):
        _one_line(value, REFERENCE_CHARS_MAX)
    elif number == "25":
        _one_line(value.split("\n", 1)[0] if field.tag == "25P" else value, ACCOUNT_CHARS_MAX)
    elif number == "13":
        _date_time(value)
    elif number == "34":
        if not _FLOOR_LIMIT.fullmatch(value):
            raise _Bad(f"{value!r} is not a floor limit: a currency, C or D, an amount (EUR0,)")
        return value[:3]
    elif number == "90":
        return _sums(value)[2]
    return ""


def _one_line(value: str, chars_max: int) -> None:
    if "\n" in value:
        raise _Bad("it runs on to a second line")
    if len(value) > chars_max:
        raise _Bad(f"{value!r} is longer than the {chars_max} characters SWIFT allows")


def _date(text: str, what: str) -> date:
    """A date written YYMMDD (years 2000 to 2099, as the library reads them)."""
    if re.fullmatch(r"[0-9]{6}", text):
        with contextlib.suppress(ValueError):
            return date(2000 + int(text[:2]), int(text[2:4]), int(text[4:]))
    raise _Bad(f"the {what} {text!r} is not a date (YYMMDD)")


def _amount(text: str) -> Decimal:
    """An amount as SWIFT writes it (15d), e.g. 1190,00 or 0, as a Decimal."""
    if _SWIFT_AMOUNT.fullmatch(text) and len(text.lstrip("0")) <= AMOUNT_CHARS_MAX:
        return Decimal(text.replace(",", "."))
    if not text:
        raise _Bad("the amount is missing")
    raise _Bad(
        f"the amount {text!r} is not an amount as SWIFT writes it: {_amount_fault(text)} "
        "(digits with one decimal comma, as in 1190,00)"
    )


def _amount_fault(text: str) -> str:
    odd = next((c for c in text if c not in "0123456789,"), None)
    if odd == "\n":
        return "it runs on to a second line"
    if odd == ".":
        return "SWIFT writes no decimal point and no thousands separator"
    if odd is not None:
        return f"{odd!r} is not a digit"
    if "," not in text:
        return "the decimal comma is missing"
    if text.count(",") > 1:
        return "it has more than one decimal comma"
    if text.startswith(","):
        return "no digit before the decimal comma"
    return f"longer than the {AMOUNT_CHARS_MAX} characters SWIFT allows"


def _balance_field(value: str) -> _Amount:
    """1!a6!n3!a15d: C or D, the date, the currency, the amount."""
    mark = value[:1]
    if mark not in ("C", "D"):
        raise _Bad(f"the mark {mark!r} is neither C (credit) nor D (debit)")
    day = _date(value[1:7], "date")
    currency = value[7:10]
    if not _CURRENCY.fullmatch(currency):
        raise _Bad(f"the currency {currency!r} is not three capital letters (ISO 4217)")
    amount = _amount(value[10:])
    return _Amount(-amount if mark == "D" else amount, currency, day, mark)


def _statement_line(value: str, currency: str) -> _Amount:
    """:61: 6!n[4!n]2a[1!a]15d1!a3!c...: the value date, the entry date, the mark, the funds
    code, the amount and the transaction type; what follows (references, details) is free.

    The funds code, when there is one, is the third letter of the statement's currency (EUR: R):
    that tells it from a letter typed into the amount ("CX19,00")."""
    value_date = _date(value[:6], "value date")
    rest = value[6:]
    entry = _ENTRY_DATE.match(rest)
    if entry:
        if entry[0].isdigit():
            try:
                date(value_date.year, int(entry[0][:2]), int(entry[0][2:]))
            except ValueError:
                raise _Bad(f"the entry date {entry[0]!r} is not a date (MMDD)") from None
        rest = rest[4:]
    mark = _MARK.match(rest)
    if not mark:
        raise _Bad(f"the debit/credit mark {rest[:2]!r} is none of C, D, RC and RD")
    rest = rest[mark.end() :]
    funds = _FUNDS_CODE.match(rest)
    assert funds is not None  # the pattern matches the empty text
    rest = rest[funds.end() :]
    found = _AMOUNT_AND_TYPE.match(rest)
    text = found["amount"] if found else _amount_text(rest)
    if not any(c.isdigit() for c in text):
        raise _Bad(f"the amount is missing after the mark {mark[0]}")
    code = funds[0].strip()
    if code and currency and code != currency[2]:
        raise _Bad(
            f"{code!r} after the mark is neither a digit of the amount nor the funds code "
            f"{currency[2]} (the third letter of {currency})"
        )
    amount = _amount(text)
    if not found:
        raise _Bad(
            "no transaction type (S, N or F and three capitals or three digits, as NTRF or "
            f"N192) after the amount {text}"
        )
    signed = -amount if mark[0] in _DEBIT_MARKS else amount
    return _Amount(signed, "", value_date, mark[0])


def _amount_text(rest: str) -> str:
    """The amount of a :61: line that has no amount and type as SWIFT writes them: the amount
    when one leads, else the text up to what looks like the type, for the refusal to show."""
    lead = re.match(r"[0-9,]*", rest)
    assert lead is not None  # the pattern matches the empty text
    if _SWIFT_AMOUNT.fullmatch(lead[0]):
        return lead[0]  # then the type is what is wrong
    return _AFTER_AMOUNT.split(rest.split("\n", 1)[0], 1)[0]


def _date_time(value: str) -> None:
    """:13D: 6!n4!n1!x4!n: the date, hhmm, and the offset from UTC."""
    found = _DATE_TIME.fullmatch(value)
    if not found:
        raise _Bad(f"{value!r} is not a date and time (YYMMDDhhmm+hhmm)")
    _date(found[1], "date")
    hours = [int(found[i]) for i in (2, 4) if found[i]]
    minutes = [int(found[i]) for i in (3, 5) if found[i]]
    if any(h > 23 for h in hours) or any(m > 59 for m in minutes):
        raise _Bad(f"{value!r} is not a date and time (YYMMDDhhmm+hhmm)")


def _sums(value: str) -> tuple[int, Decimal, str]:
    """:90D:/:90C: 5n3!a15d: the number of entries, the currency, their sum."""
    found = _SUMS.fullmatch(value)
    if not found:
        raise _Bad(f"{value!r} is not a number of entries, a currency and an amount")
    if not _CURRENCY.fullmatch(found[2]):
        raise _Bad(f"the currency {found[2]!r} is not three capital letters (ISO 4217)")
    return int(found[1]), _amount(found[3]), found[2]


def _check_details(
    entries: list[tuple[_Field, _Amount]], details: list[list[_Field]], source: str
) -> None:
    """In the German structured layout every :61: has exactly one :86:."""
    if not any(_STRUCTURED.match(f.value) for found in details for f in found):
        return
    for (entry, _), found in zip(entries, details, strict=True):
        if not found:
            raise refuse(
                source,
                f"line {entry.line}",
                "the :61: entry has no :86: field, while this statement gives its entries "
                "structured :86: fields (a business transaction code and ?-fields); an :86: "
                "may have been lost or joined to another entry",
            )
        if len(found) > 1:
            raise refuse(
                source,
                f"line {found[1].line}",
                f"a second :86: field for the :61: entry of line {entry.line}; in the "
                "structured layout each entry has one (a :61: line may be missing)",
            )


def _check_sums(fields: list[_Field], entries: list[tuple[_Field, _Amount]], source: str) -> None:
    """:90D: and :90C: (MT942) count and sum the debit and the credit entries."""
    for field in fields:
        if field.tag not in ("90D", "90C"):
            continue
        stated = _sums(field.value)[:2]
        debit = field.tag == "90D"
        amounts = [a.signed for _, a in entries if (a.mark in _DEBIT_MARKS) == debit]
        found = (len(amounts), abs(sum(amounts, Decimal(0))))
        if stated != found:
            kind = "debit" if debit else "credit"
            raise refuse(
                source,
                f"line {field.line}",
                f"the :{field.tag}: field counts {stated[0]} {kind} entries of {stated[1]} in "
                f"all, the statement's :61: lines {found[0]} of {found[1]}; an entry may be "
                "missing",
            )


# --- reading a statement ---------------------------------------------------------------------


def _statement(part: str, source: str, first_line: int) -> Statement:
    part = _end_of_message(part, source, first_line)
    fields = _fields(part, source, first_line)
    is_942 = any(f.tag in ("34F", "13D") for f in fields)
    layout = _layout(fields, source, is_942)
    # The :86: fields that follow no entry are left out of what the library reads, so that it
    # cannot append them to the last entry; the lines stay (blank) so that line numbers hold.
    lines = part.split("\n")
    read = "\n".join("" if i in layout.statement_info else t for i, t in enumerate(lines))
    transactions = mt940.models.Transactions(
        options=mt940.Options(applicant_iban=True, reversal_sign=True, unbounded_details=True)
    )
    try:
        # The library prints its matching attempts; a refusal should not spill them.
        with contextlib.redirect_stdout(io.StringIO()), _quiet():
            transactions.parse(read)
    except RuntimeError as exc:
        args = exc.args
        value = str(args[2]) if len(args) > 2 else ""
        tag = getattr(args[1], "id", "?") if len(args) > 1 else "?"
        line = _line_of(part, first_line, value)
        raise refuse(
            source, f"line {line}", f"the :{tag}: field {value[:60]!r} cannot be read"
        ) from None
    except Exception as exc:  # the library's other failures: a date of no calendar, etc.
        raise refuse(
            source, f"line {first_line}", f"the statement cannot be read ({exc})"
        ) from None
    _agree(transactions, layout, source, first_line)
    try:
        return _build(transactions, layout, is_942, source)
    except Rejection:
        raise
    except Exception as exc:  # a value of a type the library should not have given
        raise refuse(
            source, f"line {first_line}", f"the statement cannot be read ({exc})"
        ) from None


def _line_of(part: str, first_line: int, value: str) -> int:
    head = value.split("\n", 1)[0]
    pos = part.find(head) if head else -1
    return first_line + (part.count("\n", 0, pos) if pos >= 0 else 0)


def _agree(transactions: Any, layout: _Layout, source: str, first_line: int) -> None:
    """The library must have read each :61: as one entry of the amount the line states, and
    the balances the :60a:/:62a: fields state; anything else is refused, never guessed."""
    for index, (field, expected) in enumerate(layout.entries):
        tx = transactions[index] if index < len(transactions) else None
        amount = getattr(tx.data.get("amount"), "amount", None) if tx is not None else None
        if amount != expected.signed:
            read = "nothing" if amount is None else f"{amount}"
            raise refuse(
                source,
                f"line {field.line}",
                f"the :61: entry of {expected.signed} cannot be read as one entry of its own "
                f"(it reads as {read}); the lines around it break the MT940 layout",
            )
    if len(transactions) > len(layout.entries):
        raise refuse(
            source,
            f"line {first_line}",
            f"the statement reads as {len(transactions)} entries but has "
            f"{len(layout.entries)} :61: lines; a field tag is broken (split over two lines?)",
        )
    for found, kind in ((layout.opening, "opening"), (layout.closing, "closing")):
        if found is None:
            continue
        field, expected = found
        balance = _library_balance(transactions.data, kind)
        got = (
            (balance.amount.amount, balance.amount.currency, _date_of(balance.date))
            if balance is not None
            else None
        )
        if got != (expected.signed, expected.currency, expected.day):
            raise refuse(
                source, f"line {field.line}", f"the :{field.tag}: balance cannot be read as written"
            )


def _library_balance(data: dict[str, Any], kind: str) -> Any:
    """The library's opening or closing balance: of :60F:/:62F:, :60M:/:62M: or :60:/:62:."""
    return (
        data.get(f"final_{kind}_balance")
        or data.get(f"intermediate_{kind}_balance")
        or data.get(f"{kind}_balance")
    )


class _quiet(contextlib.AbstractContextManager[None]):
    """The library logs its failed matches as errors; a refusal says what is wrong instead."""

    def __enter__(self) -> None:
        self.logger = logging.getLogger("mt940")
        self.level = self.logger.level
        self.logger.setLevel(logging.CRITICAL)

    def __exit__(self, *exc: object) -> None:
        self.logger.setLevel(self.level)


def _balance(value: Any, source: str, where: str) -> Balance | None:
    if value is None or not hasattr(value, "amount"):
        return None
    return Balance(_minor(value.amount, source, where), value.amount.currency, _date_of(value.date))


def _minor(amount: Any, source: str, where: str) -> int:
    value = amount.amount
    try:
        if not isinstance(value, Decimal):
            raise refuse(source, where, f"{value!r} is not an amount")
        return amount_to_minor(value, str(amount.currency))
    except Rejection as exc:
        raise refuse(source, where, exc.reason) from None


def _date_of(value: Any) -> date | None:
    if value is None:
        return None
    return date(value.year, value.month, value.day)


def _build(transactions: Any, layout: _Layout, is_942: bool, source: str) -> Statement:
    data = transactions.data
    opening = closing = None
    if layout.opening:
        field = layout.opening[0]
        where = f"line {field.line} (:{field.tag}:)"
        opening = _balance(_library_balance(data, "opening"), source, where)
    if layout.closing:
        field = layout.closing[0]
        where = f"line {field.line} (:{field.tag}:)"
        closing = _balance(_library_balance(data, "closing"), source, where)
    entries = [
        _entry(tx.data, source, f"line {field.line}")
        for tx, (field, _) in zip(transactions, layout.entries, strict=True)
    ]
    currency = (
        closing.currency
        if closing
        else opening.currency
        if opening
        else entries[0].currency
        if entries
        else ""
    )
    return Statement(
        format="mt942" if is_942 else "mt940",
        account=clean(data.get("account_identification")),
        currency=currency,
        statement_id=clean(data.get("transaction_reference")),
        sequence="/".join(
            clean(str(v)) for v in (data.get("statement_number"), data.get("sequence_number")) if v
        ),
        created=_date_of(data.get("date")),
        period_from=opening.as_of if opening else None,
        period_to=closing.as_of if closing else None,
        opening=opening,
        closing=closing,
        entries=tuple(entries),
    )


def _entry(tx: dict[str, Any], source: str, where: str) -> Entry:
    amount = tx.get("amount")
    if amount is None:
        raise refuse(source, where, "the :61: line has no amount")
    bank_ref = clean(tx.get("bank_reference"))
    customer_ref = clean(tx.get("customer_reference"))
    reference = next((r for r in (bank_ref, customer_ref) if r not in _NO_REFERENCE), "")
    structured = tx.get("purpose") or tx.get("additional_purpose") or tx.get("posting_text")
    if structured:
        remittance = " ".join(
            clean(tx.get(k)) for k in ("purpose", "additional_purpose") if tx.get(k)
        )
    else:
        remittance = clean(tx.get("transaction_details"))
    end_to_end = clean(tx.get("end_to_end_reference"))
    name = clean(tx.get("applicant_name") or tx.get("recipient_name"))
    iban = clean(tx.get("gvc_applicant_iban") or tx.get("applicant_iban"))
    return Entry(
        booking_date=_date_of(tx.get("entry_date")) or _date_of(tx.get("date")),
        value_date=_date_of(tx.get("date")),
        amount_minor=_minor(amount, source, where),
        currency=str(amount.currency),
        bank_reference=reference,
        end_to_end_id="" if end_to_end == "NOTPROVIDED" else end_to_end,
        counterparty_name=name,
        counterparty_account=iban,
        remittance=remittance or clean(tx.get("extra_details")),
        transaction_code=clean(tx.get("id")),
        return_reason=_return_reason(tx),
    )


def _return_reason(tx: dict[str, Any]) -> str:
    """The ISO reason the bank marks, "RETURN" when only the codes say so, else ""."""
    marked = clean(tx.get("return_debit_notes"))  # ?34
    if ISO_REASON.fullmatch(marked):
        return marked
    texts = " ".join(
        str(tx.get(key) or "")
        for key in ("purpose", "additional_purpose", "transaction_details", "extra_details")
    )
    found = _RETURN_MARKER.search(texts)
    if found and ISO_REASON.fullmatch(found[1]):
        return found[1]
    kind = clean(tx.get("id"))  # the :61: type, N + three letters
    gvc = clean(str(tx.get("transaction_code") or ""))
    if kind[1:] == "RTI" or gvc in RETURN_GVC or says_return(clean(tx.get("posting_text"))):
        return "RETURN"
    return ""
