"""SWIFT MT940 (customer statement) and MT942 (interim transaction report), read with the
`mt-940` library (import name `mt940`).

A file may hold several statements; each starts with a :20: line. The file is cut there and
each part parsed on its own, so every statement keeps its own balances (the library would
keep only the last ones). Lines before the first :20: (SWIFT envelope blocks, bank headers)
are left out.

Mapping: :25: account, :28C: statement/sequence number, :60F:/:60M: opening balance,
:62F:/:62M: closing balance (MT942 has neither), :61: one entry each: the value date, the entry
(booking) date, the signed amount, the transaction type (NTRF...) as the bank code, the bank
reference (//...) else the customer reference (NONREF counts as none). RC (reversal of a
credit) is a debit and RD a credit (the library's `reversal_sign` option). :86: as the library
splits it: the German structured fields (?20.. purpose, ?31 IBAN, ?32/?33 name) and SEPA
keywords (EREF, SVWZ, IBAN+) when present, otherwise the whole text as the remittance.

Returns (`Entry.return_reason`): an ISO 20022 return reason code (AM04, MD06 ...) when the bank
marks one: in ?34, the sub-field the DFÜ-Abkommen gives the return reason, when it holds such a
code, or right after the marker "RTRN+" anywhere in the :86: text. Otherwise "RETURN" when the
:61: transaction type is RTI (returned item), the :86: business transaction code (GVC, the
three digits before the first "?") is one of `RETURN_GVC`, or the booking text (?00) says
Rücklastschrift, Retoure or Rücküberweisung. Nothing else is guessed: a code that merely stands
somewhere in the remittance text is not taken, and the three-digit return codes German banks
write into ?34 (Textschlüsselergänzung 9xx) are not translated, so such an entry reads
"RETURN". MT940 carries no instructed amount.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from datetime import date
from decimal import Decimal
from typing import Any

import mt940

from openbill.adapters.bank._common import FILE_BYTES_MAX, check_counts, clean, refuse
from openbill.domain.bank import Balance, Entry, Statement, amount_to_minor
from openbill.domain.rejections import Rejection

__all__ = ["ISO_REASON", "RETURN_GVC", "detect", "parse_mt940", "says_return"]

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
    ends = [*starts[1:], len(text)]
    check_counts(source, len(starts), text.count("\n:61:"))
    return [
        _statement(text[a:b], source, text.count("\n", 0, a) + 1)
        for a, b in zip(starts, ends, strict=True)
    ]


def _line_of(part: str, first_line: int, value: str) -> int:
    head = value.split("\n", 1)[0]
    pos = part.find(head) if head else -1
    return first_line + (part.count("\n", 0, pos) if pos >= 0 else 0)


def _statement(part: str, source: str, first_line: int) -> Statement:
    # A line "-" (or "-}" in a SWIFT envelope) ends the message; bank headers may follow.
    part = re.split(r"\n-(?:\}[^\n]*)?[ \t]*(?:\n|$)", part, maxsplit=1)[0] + "\n"
    transactions = mt940.models.Transactions(
        options=mt940.Options(applicant_iban=True, reversal_sign=True)
    )
    try:
        # The library prints its matching attempts; a refusal should not spill them.
        with contextlib.redirect_stdout(io.StringIO()), _quiet():
            transactions.parse(part)
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
    try:
        return _build(transactions, part, source, first_line)
    except Rejection:
        raise
    except Exception as exc:  # a value of a type the library should not have given
        raise refuse(
            source, f"line {first_line}", f"the statement cannot be read ({exc})"
        ) from None


class _quiet(contextlib.AbstractContextManager[None]):
    def __enter__(self) -> None:
        self.logger = logging.getLogger("mt940")
        self.level = self.logger.level
        self.logger.setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        self.logger.setLevel(self.level)


def _balance(value: Any, source: str, where: str) -> Balance | None:
    if value is None or not hasattr(value, "amount"):
        return None
    return Balance(_minor(value.amount, source, where), value.amount.currency, _date(value.date))


def _minor(amount: Any, source: str, where: str) -> int:
    value = amount.amount
    try:
        if not isinstance(value, Decimal):
            raise refuse(source, where, f"{value!r} is not an amount")
        return amount_to_minor(value, str(amount.currency))
    except Rejection as exc:
        raise refuse(source, where, exc.reason) from None


def _date(value: Any) -> date | None:
    if value is None:
        return None
    return date(value.year, value.month, value.day)


def _build(transactions: Any, part: str, source: str, first_line: int) -> Statement:
    data = transactions.data
    is_942 = bool(re.search(r"^:(34F|13D):", part, re.MULTILINE))
    opening = _balance(
        data.get("final_opening_balance") or data.get("intermediate_opening_balance"),
        source,
        f"line {first_line} (:60F:)",
    )
    closing = _balance(
        data.get("final_closing_balance") or data.get("intermediate_closing_balance"),
        source,
        f"line {first_line} (:62F:)",
    )
    lines = [i for i, text in enumerate(part.split("\n")) if text.startswith(":61:")]
    entries = []
    for index, tx in enumerate(transactions):
        line = first_line + (lines[index] if index < len(lines) else 0)
        entries.append(_entry(tx.data, source, f"line {line}"))
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
        created=_date(data.get("date")),
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
        booking_date=_date(tx.get("entry_date")) or _date(tx.get("date")),
        value_date=_date(tx.get("date")),
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
