"""Bank statements exported as CSV, read through a named column profile.

A CSV file says nothing of its own layout, so it is read only when the user names a profile.
The profile names the columns (several names per column: the first one the file has is used)
for the booking date, the value date, the amount (one signed column, or credit and debit
columns), the currency (or a fixed currency), the counterparty name and account, the reference
text (every listed column the file has, joined) and the bank's transaction id. Dates and amounts
are read by `openbill.domain.payment_import.parse_date` / `parse_amount`, with the profile's
date format, decimal mark and thousands separator, and the text decoded by its `decode`.

Built in: "openbill" (date,amount,currency,counterparty,counterparty_account,reference,id)
and "de-bank" (a German online-banking export: semicolons, DD.MM.YYYY, 1.234,56). A CSV file
carries no balances, so its statement has none.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from openbill.adapters.bank._common import FILE_BYTES_MAX, check_counts, clean, refuse
from openbill.domain.bank import ENTRIES_MAX, Entry, Statement, amount_to_minor
from openbill.domain.payment_import import decode, parse_amount, parse_date
from openbill.domain.rejections import InvalidInput, Rejection

__all__ = ["BUILTIN", "StatementProfile", "parse_csv", "profile_by_name"]

HEADER_LINES_MAX = 20  # lines searched for the header (exports start with a preamble)


@dataclass(frozen=True, slots=True)
class StatementProfile:
    name: str
    date: tuple[str, ...]
    amount: tuple[str, ...] = ()
    credit: tuple[str, ...] = ()
    debit: tuple[str, ...] = ()
    value_date: tuple[str, ...] = ()
    currency_column: tuple[str, ...] = ()
    currency: str = ""
    counterparty: tuple[str, ...] = ()
    counterparty_account: tuple[str, ...] = ()
    reference: tuple[str, ...] = ()
    transaction_id: tuple[str, ...] = ()
    account: str = ""  # the account the statement is of, when the file does not say
    date_format: str = "ISO"
    decimal: str = "."
    thousands: str = ""
    delimiter: str = ","
    encoding: str = "utf-8"


BUILTIN: dict[str, StatementProfile] = {
    "openbill": StatementProfile(
        "openbill",
        date=("date",),
        value_date=("value_date",),
        amount=("amount",),
        currency_column=("currency",),
        counterparty=("counterparty",),
        counterparty_account=("counterparty_account", "iban"),
        reference=("reference",),
        transaction_id=("id",),
    ),
    "de-bank": StatementProfile(
        "de-bank",
        date=("Buchungstag", "Buchungsdatum"),
        value_date=("Valutadatum", "Wertstellung", "Valuta"),
        amount=("Betrag", "Betrag (EUR)"),
        currency_column=("Waehrung", "Whrg"),
        counterparty=(
            "Auftraggeber/Empfaenger",
            "Beguenstigter/Zahlungspflichtiger",
            "Zahlungspflichtiger",
            "Name",
        ),
        counterparty_account=("IBAN", "Kontonummer/IBAN", "Kontonummer"),
        reference=("Verwendungszweck",),
        transaction_id=("Kundenreferenz", "Referenz"),
        date_format="DD.MM.YYYY",
        decimal=",",
        thousands=".",
        delimiter=";",
    ),
}


def profile_by_name(name: str) -> StatementProfile:
    found = BUILTIN.get(name)
    if found is None:
        raise InvalidInput(
            f"no statement profile {name!r}; the profiles are {', '.join(sorted(BUILTIN))}",
            record="profile",
            field="name",
        )
    return found


_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "\u00a0": " "})


def _fold(name: str) -> str:
    return " ".join(name.casefold().translate(_FOLD).split())


def _find(header: Sequence[str], names: tuple[str, ...]) -> list[int]:
    folded = [_fold(h) for h in header]
    return [folded.index(_fold(n)) for n in names if _fold(n) in folded]


def parse_csv(data: bytes, source: str, profile: StatementProfile) -> list[Statement]:
    """One statement of the CSV's rows, or InvalidInput naming the line and column at fault."""
    if len(data) > FILE_BYTES_MAX:
        raise refuse(source, "", "the file is larger than a statement import takes")
    text = decode(data, profile.encoding, source)
    rows = list(csv.reader(io.StringIO(text), delimiter=profile.delimiter))
    start = next(
        (i for i, row in enumerate(rows[:HEADER_LINES_MAX]) if _find(row, profile.date)), None
    )
    if start is None:
        raise refuse(
            source,
            "line 1",
            f"no header with a date column ({', '.join(profile.date)}) in the first "
            f"{HEADER_LINES_MAX} lines; is this a {profile.name} export?",
        )
    header = rows[start]
    amount = _find(header, profile.amount)[:1]
    credit, debit = _find(header, profile.credit)[:1], _find(header, profile.debit)[:1]
    if not amount and not (credit or debit):
        raise refuse(source, f"line {start + 1}", "no amount column, nor credit/debit columns")
    if not profile.currency and not _find(header, profile.currency_column):
        raise refuse(source, f"line {start + 1}", "no currency column and no fixed currency")
    body = [(i + 1, r) for i, r in enumerate(rows) if i > start and any(c.strip() for c in r)]
    check_counts(source, 1, len(body))
    entries = [_entry(source, line, row, header, profile) for line, row in body[:ENTRIES_MAX]]
    currencies = {e.currency for e in entries}
    return [
        Statement(
            format="csv",
            account=profile.account,
            currency=next(iter(currencies)) if len(currencies) == 1 else profile.currency,
            entries=tuple(entries),
        )
    ]


def _cell(row: Sequence[str], header: Sequence[str], names: tuple[str, ...]) -> str:
    found = _find(header, names)
    return row[found[0]].strip() if found and found[0] < len(row) else ""


def _entry(
    source: str, line: int, row: list[str], header: list[str], profile: StatementProfile
) -> Entry:
    column = "date"
    try:
        booked = parse_date(_cell(row, header, profile.date), profile.date_format)
        column = "value_date"
        value_text = _cell(row, header, profile.value_date)
        valued = parse_date(value_text, profile.date_format) if value_text else booked
        column = "amount"
        amount = _amount(row, header, profile)
        column = "currency"
        currency = _cell(row, header, profile.currency_column).upper() or profile.currency
        minor = amount_to_minor(amount, currency)
    except Rejection as exc:
        raise refuse(source, f"line {line} column {column}", exc.reason) from None
    references = [row[i].strip() for i in _find(header, profile.reference) if i < len(row)]
    return Entry(
        booking_date=booked,
        value_date=valued,
        amount_minor=minor,
        currency=currency,
        bank_reference=clean(_cell(row, header, profile.transaction_id), 200),
        counterparty_name=clean(_cell(row, header, profile.counterparty)),
        counterparty_account=clean(_cell(row, header, profile.counterparty_account), 60),
        remittance=clean(" ".join(r for r in references if r)),
    )


def _amount(row: list[str], header: list[str], profile: StatementProfile) -> Decimal:
    marks = (profile.decimal, profile.thousands)
    signed = _cell(row, header, profile.amount)
    if signed:
        return parse_amount(signed, *marks)
    credit = _cell(row, header, profile.credit)
    debit = _cell(row, header, profile.debit)
    if credit and debit:
        raise InvalidInput("the row has both a credit and a debit amount", field="amount")
    if credit:
        return abs(parse_amount(credit, *marks))
    if debit:
        return -abs(parse_amount(debit, *marks))
    raise InvalidInput("the row has no amount", field="amount")
