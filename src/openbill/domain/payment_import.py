"""Payments from CSV files, read through named column profiles (issue #4).

A *profile* says how one kind of file is laid out: its delimiter and encoding, which columns
hold the date, the amount (one signed column, or separate credit and debit columns), the
currency (or a fixed currency), the customer code, the payment reference, the payer, the bank's
transaction id, the payment method (or a fixed method) and, for card processors, the status;
how dates are written (ISO, DD.MM.YYYY, MM/DD/YYYY, DD/MM/YYYY) and how amounts are written
(decimal comma or point, thousands separator).

Four profiles are built in (`BUILTIN`): "openbill" (our own layout), "de-bank" (a German
online-banking export), "lockbox" (a US bank lockbox file) and "stripe" (Stripe's payments
export). More come from a TOML file (`profiles_from_toml`), each a table under `[profiles.NAME]`
with the keys of `PROFILE_KEYS`, optionally starting from a built-in one (`extends`).

`parse_payments` turns the text of a file into payment lines and a `RowError` (file, line,
field, reason, and the row as given) for every bad row, instead of stopping at the first. Rows
that are not payments are skipped and counted: debits (money going out), rows whose status is
not paid, rows refunded in full. Problems of the whole file (no header, a column the profile
names missing, more rows than an import takes) raise `InvalidInput`: nothing of such a file can
be read.

`import_keys` gives every line the key that makes a re-import of the same file add nothing: the
bank's transaction id when the file has one, else a fingerprint of what the line says and of
how many identical lines came before it in the file.

Pure: no files, no database, no clock. The use case reads, these decide.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from openbill.domain.commercial import RowError
from openbill.domain.currencies import EXPONENTS
from openbill.domain.rejections import InvalidInput

__all__ = [
    "BUILTIN",
    "DATE_FORMATS",
    "PAYMENT_METHODS",
    "PROFILE_KEYS",
    "PAYMENT_ROWS_MAX",
    "IMPORT_CHARS_MAX",
    "REFERENCE_CHARS_MAX",
    "Profile",
    "PaymentLine",
    "ParsedFile",
    "RowError",
    "decode",
    "parse_amount",
    "parse_date",
    "parse_payments",
    "profiles_from_toml",
    "import_keys",
    "merged",
    "by_name",
]

# Bounds (DESIGN.md principle 8).
PAYMENT_ROWS_MAX = 20_000  # data rows per import file
IMPORT_CHARS_MAX = 20_000_000  # characters per import file
FIELD_CHARS_MAX = 200  # characters of a customer code, payer name or transaction id
REFERENCE_CHARS_MAX = 140  # what a payment reference holds (a SEPA remittance text: 140)
HEADER_LINES_MAX = 20  # lines searched for the header (bank exports start with a preamble)
AMOUNT_CHARS_MAX = 40
AMOUNT_DIGITS_MAX = 15  # whole-unit digits: far beyond any plausible payment
PROFILES_MAX = 50  # profiles per TOML file
PROFILES_CHARS_MAX = 100_000  # characters of a TOML profiles file
NAMES_MAX = 10  # alternative names per column

# The payment methods openbill records (usecases.payments.METHODS says the same; a test checks).
PAYMENT_METHODS = ("bank_transfer", "card", "direct_debit", "cash", "cheque", "other")
_METHOD_WORDS = {
    "check": "cheque",
    "transfer": "bank_transfer",
    "wire": "bank_transfer",
    "credit_transfer": "bank_transfer",
    "sepa": "bank_transfer",
    "ach": "bank_transfer",
    "credit_card": "card",
    "debit_card": "card",
    "sepa_direct_debit": "direct_debit",
}

DATE_FORMATS = ("ISO", "DD.MM.YYYY", "MM/DD/YYYY", "DD/MM/YYYY")
_EARLIEST_YEAR, _LATEST_YEAR = 1990, 2100


@dataclass(frozen=True, slots=True)
class Profile:
    """How one kind of payments file is laid out. Column names are matched without regard to
    case, surrounding blanks or umlauts written out (Währung = Waehrung); where a key lists
    several names, the first one the file has is used, except `reference`, where every listed
    column the file has is read and their texts joined."""

    name: str
    date: tuple[str, ...]
    amount: tuple[str, ...] = ()  # signed: a negative amount is a debit
    credit: tuple[str, ...] = ()  # or money in and money out in columns of their own
    debit: tuple[str, ...] = ()
    currency_column: tuple[str, ...] = ()
    currency: str = ""  # fixed; empty with no column: the customer's currency
    customer: tuple[str, ...] = ()
    reference: tuple[str, ...] = ()
    payer: tuple[str, ...] = ()  # read when the file has it
    transaction_id: tuple[str, ...] = ()
    method_column: tuple[str, ...] = ()
    method: str = "bank_transfer"  # when there is no method column, or its cell is empty
    status: tuple[str, ...] = ()
    paid_statuses: tuple[str, ...] = ()  # with `status`: the only rows that are payments
    refunded: tuple[str, ...] = ()  # read when the file has it: subtracted from the amount
    date_format: str = "ISO"
    decimal: str = "."
    thousands: str = ""
    delimiter: str = ","
    encoding: str = "utf-8"
    description: str = ""

    def check(self) -> Profile:
        """The profile itself makes sense, or an InvalidInput naming the key at fault."""
        record = f"profile {self.name}"
        if not self.date:
            raise InvalidInput("say which column holds the date", record=record, field="date")
        if bool(self.amount) == bool(self.credit):
            raise InvalidInput(
                "say either `amount` (one signed column) or `credit` (and `debit`)",
                record=record,
                field="amount",
            )
        if self.debit and not self.credit:
            raise InvalidInput("`debit` goes with `credit`", record=record, field="debit")
        if self.currency_column and self.currency:
            raise InvalidInput(
                "say either `currency` (fixed) or `currency_column`, not both",
                record=record,
                field="currency",
            )
        if self.currency and self.currency not in EXPONENTS:
            raise InvalidInput(
                f"{self.currency!r} is not an ISO 4217 currency code",
                record=record,
                field="currency",
            )
        if self.method not in PAYMENT_METHODS:
            raise InvalidInput(
                f"{self.method!r} is not a payment method; use one of {', '.join(PAYMENT_METHODS)}",
                record=record,
                field="method",
            )
        if bool(self.status) != bool(self.paid_statuses):
            raise InvalidInput(
                "`status` and `paid_statuses` go together", record=record, field="status"
            )
        if self.date_format.upper() not in DATE_FORMATS:
            raise InvalidInput(
                f"{self.date_format!r} is not a date format; use one of {', '.join(DATE_FORMATS)}",
                record=record,
                field="date_format",
            )
        if self.decimal not in (".", ","):
            raise InvalidInput("the decimal mark is '.' or ','", record=record, field="decimal")
        if self.thousands not in ("", ".", ",", " ", "'") or self.thousands == self.decimal:
            raise InvalidInput(
                "the thousands separator is empty, '.', ',', ' ' or \"'\", and not the decimal "
                "mark",
                record=record,
                field="thousands",
            )
        if len(self.delimiter) != 1 or self.delimiter in ('"', "\r", "\n"):
            raise InvalidInput(
                "the delimiter is one character (',', ';', a tab ...)",
                record=record,
                field="delimiter",
            )
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise InvalidInput(
                f"{self.encoding!r} is not an encoding Python knows (utf-8, cp1252, latin-1 ...)",
                record=record,
                field="encoding",
            ) from None
        for name in _COLUMN_KEYS:
            names = getattr(self, name)
            if len(names) > NAMES_MAX or any(not n.strip() for n in names):
                raise InvalidInput(
                    f"give 1 to {NAMES_MAX} non-empty column names", record=record, field=name
                )
        return self


# The keys that name columns (a name, or alternative names); the rest are texts.
_COLUMN_KEYS = (
    "date",
    "amount",
    "credit",
    "debit",
    "currency_column",
    "customer",
    "reference",
    "payer",
    "transaction_id",
    "method_column",
    "status",
    "refunded",
)
_TEXT_KEYS = (
    "currency",
    "method",
    "date_format",
    "decimal",
    "thousands",
    "delimiter",
    "encoding",
    "description",
)
PROFILE_KEYS = ("extends", *_COLUMN_KEYS, "paid_statuses", *_TEXT_KEYS)
# Columns the file may lack without the profile being wrong for it.
_OPTIONAL_COLUMNS = ("payer", "refunded")


BUILTIN: dict[str, Profile] = {
    p.name: p.check()
    for p in (
        Profile(
            "openbill",
            description="openbill's own layout: customer,amount,currency,date,reference,method,id",
            date=("date",),
            amount=("amount",),
            currency_column=("currency",),
            customer=("customer",),
            reference=("reference",),
            transaction_id=("id",),
            method_column=("method",),
            payer=("payer",),
        ),
        Profile(
            "de-bank",
            description="German online-banking export: semicolons, DD.MM.YYYY, 1.234,56",
            date=("Buchungstag", "Buchungsdatum"),
            amount=("Betrag", "Betrag (EUR)"),
            currency_column=("Waehrung", "Whrg"),
            reference=("Verwendungszweck",),
            payer=(
                "Auftraggeber/Empfaenger",
                "Beguenstigter/Zahlungspflichtiger",
                "Zahlungspflichtiger",
                "Name",
            ),
            date_format="DD.MM.YYYY",
            decimal=",",
            thousands=".",
            delimiter=";",
            encoding="utf-8",
        ),
        Profile(
            "lockbox",
            description="bank lockbox file: date,amount,reference[,payer] in USD, MM/DD/YYYY",
            date=("date",),
            amount=("amount",),
            currency="USD",
            reference=("reference",),
            payer=("payer",),
            method="cheque",
            date_format="MM/DD/YYYY",
            thousands=",",
        ),
        Profile(
            "stripe",
            description="Stripe payments export: only rows with Status Paid or succeeded",
            date=("Created (UTC)", "Created date (UTC)", "Created"),
            amount=("Amount",),
            refunded=("Amount Refunded",),
            currency_column=("Currency",),
            reference=("Description",),
            payer=("Customer Email", "Customer Description", "Customer ID"),
            transaction_id=("id",),
            status=("Status",),
            paid_statuses=("paid", "succeeded"),
            method="card",
            thousands=",",
        ),
    )
}


@dataclass(frozen=True, slots=True)
class PaymentLine:
    """One payment as the file gives it; `raw` keeps the row's cells for a rejects file."""

    line: int
    received_on: date
    amount: Decimal  # above zero, in `currency`
    currency: str  # "" = the customer's currency
    customer: str  # "" = the customer of the invoices the reference names
    reference: str
    payer: str
    transaction_id: str
    method: str
    raw: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedFile:
    lines: tuple[PaymentLine, ...]
    errors: tuple[RowError, ...]
    columns: tuple[str, ...]  # the header as the file writes it
    rows_read: int  # data rows, payments or not
    debits: int  # money going out: not payments, skipped
    not_paid: int  # a status other than paid (failed, refunded ...): skipped
    refunded: int  # paid and refunded in full: skipped


class _Bad(InvalidInput):
    """A cell that is not what the profile says: the key (field) and why."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(reason, field=field_name)


# --- decoding ------------------------------------------------------------------------------


def decode(data: bytes, encoding: str, source: str) -> str:
    """The text of a file in the profile's encoding (a UTF-8 byte-order mark is dropped), or an
    InvalidInput naming the line of the first byte that is not of that encoding."""
    if len(data) > IMPORT_CHARS_MAX * 4:
        raise InvalidInput(f"{source} is larger than the import limit", record=source)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InvalidInput(
            f"{encoding!r} is not an encoding Python knows", record=source, field="encoding"
        ) from None
    name = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    try:
        return data.decode(name)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidInput(
            f"line {line} is not {encoding} text (byte {exc.object[exc.start]:#04x}); "
            'say the file\'s encoding in a profile (encoding = "cp1252", for example)',
            record=f"{source}:{line}",
            field="encoding",
        ) from None


# --- cells ---------------------------------------------------------------------------------

_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?")
_DAY_FIRST_DOT = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})")
_SLASHED = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})")


def parse_date(text: str, date_format: str) -> date:
    """A date as the profile writes it; two-digit years are of this century.

    >>> parse_date("05.03.2026", "DD.MM.YYYY"), parse_date("3/5/26", "MM/DD/YYYY")
    (datetime.date(2026, 3, 5), datetime.date(2026, 3, 5))
    """
    fmt = date_format.upper()
    cell = text.strip()
    parts: tuple[str, str, str] | None = None  # year, month, day
    if fmt == "ISO":
        m = _ISO.fullmatch(cell)
        parts = (m[1], m[2], m[3]) if m else None
    elif fmt == "DD.MM.YYYY":
        m = _DAY_FIRST_DOT.fullmatch(cell)
        parts = (m[3], m[2], m[1]) if m else None
    elif fmt in ("MM/DD/YYYY", "DD/MM/YYYY"):
        m = _SLASHED.fullmatch(cell)
        if m:
            parts = (m[3], m[1], m[2]) if fmt == "MM/DD/YYYY" else (m[3], m[2], m[1])
    if parts is None:
        raise _Bad("date", f"{cell[:40]!r} is not a date written {fmt}")
    year = int(parts[0]) + (2000 if len(parts[0]) == 2 else 0)
    try:
        value = date(year, int(parts[1]), int(parts[2]))
    except ValueError:
        raise _Bad("date", f"{cell[:40]!r} is not a date of the calendar") from None
    if not _EARLIEST_YEAR <= value.year <= _LATEST_YEAR:
        raise _Bad("date", f"{cell[:40]!r} is not a plausible payment date")
    return value


def parse_amount(text: str, decimal_mark: str = ".", thousands: str = "") -> Decimal:
    """An amount written with the profile's decimal mark and thousands separator, signed.

    >>> parse_amount("-1.234,56", ",", "."), parse_amount("1,234.5", ".", ",")
    (Decimal('-1234.56'), Decimal('1234.5'))
    """
    cell = text.strip()
    if thousands == " ":
        cell = re.sub(r"[ \u00a0\u202f]", "", cell)
    if not cell or len(cell) > AMOUNT_CHARS_MAX:
        raise _Bad("amount", f"{cell[:AMOUNT_CHARS_MAX]!r} is not an amount")
    sign = ""
    if cell[0] in "+-":
        sign, cell = cell[0], cell[1:].strip()
    digits = r"\d+"
    if thousands and thousands != " ":
        digits = rf"(?:\d{{1,3}}(?:{re.escape(thousands)}\d{{3}})+|\d+)"
    m = re.fullmatch(rf"({digits})(?:{re.escape(decimal_mark)}(\d+))?", cell)
    if m is None:
        sep = f", thousands '{thousands}'" if thousands else ""
        raise _Bad(
            "amount",
            f"{text.strip()[:AMOUNT_CHARS_MAX]!r} is not an amount written with decimal mark "
            f"'{decimal_mark}'{sep}",
        )
    whole = m[1].replace(thousands, "") if thousands and thousands != " " else m[1]
    if len(whole.lstrip("0")) > AMOUNT_DIGITS_MAX:
        raise _Bad("amount", "the amount is beyond any plausible payment")
    try:
        return Decimal(f"{sign}{whole}.{m[2]}" if m[2] else f"{sign}{whole}")
    except InvalidOperation:  # pragma: no cover - the pattern admits digits only
        raise _Bad("amount", f"{cell!r} is not an amount") from None


def _decimals_fit(amount: Decimal, currency: str) -> bool:
    exponent = amount.normalize().as_tuple().exponent
    return not isinstance(exponent, int) or -exponent <= EXPONENTS[currency]


def _method(text: str, fixed: str) -> str:
    word = re.sub(r"[\s\-]+", "_", text.strip().lower())
    if not word:
        return fixed
    word = _METHOD_WORDS.get(word, word)
    if word not in PAYMENT_METHODS:
        raise _Bad(
            "method",
            f"{text.strip()[:40]!r} is not a payment method ({', '.join(PAYMENT_METHODS)})",
        )
    return word


# --- the file ------------------------------------------------------------------------------

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "\u00a0": " "})


def _folded(name: str) -> str:
    return " ".join(name.strip().lower().translate(_FOLD).split())


@dataclass(frozen=True, slots=True)
class _Columns:
    """Where each key of the profile is in this file's header (column indexes)."""

    at: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def one(self, key: str) -> int | None:
        found = self.at.get(key, ())
        return found[0] if found else None


def _locate(profile: Profile, header: Sequence[str]) -> _Columns | str:
    """The columns of the profile in `header`, or the first key it names that is missing."""
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(_folded(name), i)
    at: dict[str, tuple[int, ...]] = {}
    for key in _COLUMN_KEYS:
        names = getattr(profile, key)
        if not names:
            continue
        found = [index[_folded(n)] for n in names if _folded(n) in index]
        if not found:
            if key in _OPTIONAL_COLUMNS:
                continue
            return key
        at[key] = tuple(found) if key == "reference" else (found[0],)
    return _Columns(at)


def _has_core(profile: Profile, cells: Sequence[str]) -> bool:
    """The line names the profile's date and amount (or credit) columns: it is the header."""
    present = {_folded(c) for c in cells}
    return any(_folded(n) in present for n in profile.date) and any(
        _folded(n) in present for n in profile.amount or profile.credit
    )


def _header(
    rows: Iterator[list[str]], reader: Any, profile: Profile, source: str
) -> tuple[list[str], _Columns]:
    """Find the header: the first of the first HEADER_LINES_MAX lines in which the profile's
    date and amount columns stand (bank exports put account details above it)."""
    for _ in range(HEADER_LINES_MAX):
        start = reader.line_num + 1
        try:
            cells = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InvalidInput(
                f"line {start} is not readable as CSV: {exc}", record=f"{source}:{start}"
            ) from None
        if not _has_core(profile, cells):
            continue
        located = _locate(profile, cells)
        if isinstance(located, str):
            names = " or ".join(repr(n) for n in getattr(profile, located))
            raise InvalidInput(
                f"the file has no column {names} (profile {profile.name}, key {located}); "
                f"its columns are: {', '.join(c.strip() for c in cells)[:300]}",
                record=f"{source}:{reader.line_num}",
                field=located,
            )
        return cells, located
    wanted = " and ".join(
        " or ".join(repr(n) for n in names)
        for names in (profile.date, profile.amount or profile.credit)
    )
    raise InvalidInput(
        f"no header line with the columns {wanted} in the first {HEADER_LINES_MAX} lines; is "
        f"this a {profile.name} file (delimiter {profile.delimiter!r})? Choose the profile with "
        "--profile",
        record=source,
        field="header",
    )


def parse_payments(text: str, source: str, profile: Profile) -> ParsedFile:
    """Read the payment lines of a file. Bad rows come back as errors, each with its line,
    field and reason; a problem of the whole file raises InvalidInput."""
    profile.check()
    if len(text) > IMPORT_CHARS_MAX:
        raise InvalidInput(
            f"{source} has more than {IMPORT_CHARS_MAX} characters; split it", record=source
        )
    reader = csv.reader(
        io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=profile.delimiter, strict=True
    )
    rows = iter(reader)
    header, columns = _header(rows, reader, profile, source)
    names = tuple(h.strip() for h in header)
    out: list[PaymentLine] = []
    errors: list[RowError] = []
    counts = {"read": 0, "debits": 0, "not_paid": 0, "refunded": 0}
    while True:
        start = reader.line_num + 1
        try:
            cells = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(source, start, "", f"not readable as CSV: {exc}"))
            break
        if not any(c.strip() for c in cells):
            continue
        counts["read"] += 1
        if counts["read"] > PAYMENT_ROWS_MAX:
            raise InvalidInput(
                f"{source} has more than {PAYMENT_ROWS_MAX} rows; split it into files of at "
                f"most {PAYMENT_ROWS_MAX}",
                record=f"{source}:{start}",
            )
        raw = tuple(zip(names, cells, strict=False))
        if len(cells) != len(names):
            errors.append(
                RowError(source, start, "", f"{len(cells)} values for {len(names)} columns", raw)
            )
            continue
        try:
            line = _line(cells, columns, profile, start)
        except _Bad as bad:
            errors.append(RowError(source, start, bad.field, bad.reason, raw))
            continue
        if isinstance(line, str):
            counts[line] += 1
            continue
        out.append(replace(line, raw=raw))
    return ParsedFile(
        tuple(out),
        tuple(errors),
        names,
        counts["read"],
        counts["debits"],
        counts["not_paid"],
        counts["refunded"],
    )


def _cell(cells: Sequence[str], columns: _Columns, key: str) -> str:
    at = columns.one(key)
    return cells[at].strip() if at is not None else ""


def _text(cells: Sequence[str], columns: _Columns, key: str, limit: int) -> str:
    value = " ".join(_cell(cells, columns, key).split())
    if len(value) > limit:
        raise _Bad(key, f"longer than {limit} characters")
    return value


def _signed_amount(cells: Sequence[str], columns: _Columns, profile: Profile) -> Decimal:
    """The amount received (above zero), or a negative number for money going out."""

    def read(key: str) -> Decimal | None:
        cell = _cell(cells, columns, key)
        if not cell:
            return None
        try:
            return parse_amount(cell, profile.decimal, profile.thousands)
        except _Bad as bad:
            raise _Bad(key, bad.reason) from None

    if profile.amount:
        value = read("amount")
        if value is None:
            raise _Bad("amount", "is empty")
        return value
    credit, debit = read("credit"), read("debit")
    if credit and debit:
        raise _Bad("credit", "a row has money in or money out, not both")
    if credit:
        if credit < 0:
            raise _Bad("credit", "money in cannot be negative")
        return credit
    if debit:
        return -abs(debit)
    raise _Bad("credit", "no amount in either the credit or the debit column")


def _line(
    cells: Sequence[str], columns: _Columns, profile: Profile, line: int
) -> PaymentLine | str:
    """One row: a payment line, or why it is not a payment ("debits", "not_paid",
    "refunded")."""
    if profile.status:
        status = _cell(cells, columns, "status").lower()
        if status not in {s.lower() for s in profile.paid_statuses}:
            return "not_paid"
    received_on = parse_date(_cell(cells, columns, "date"), profile.date_format)
    amount = _signed_amount(cells, columns, profile)
    if amount < 0:
        return "debits"
    if amount == 0:
        raise _Bad("amount", "zero is not a payment")
    if columns.one("refunded") is not None and _cell(cells, columns, "refunded"):
        try:
            back = parse_amount(
                _cell(cells, columns, "refunded"), profile.decimal, profile.thousands
            )
        except _Bad as bad:
            raise _Bad("refunded", bad.reason) from None
        if back < 0:
            raise _Bad("refunded", "cannot be negative")
        if back >= amount:
            return "refunded"
        amount -= back
    currency = profile.currency
    if profile.currency_column:
        currency = _cell(cells, columns, "currency_column").upper() or profile.currency
    if currency and currency not in EXPONENTS:
        raise _Bad("currency", f"{currency[:20]!r} is not an ISO 4217 currency code")
    if currency and not _decimals_fit(amount, currency):
        raise _Bad(
            "amount",
            f"{amount} has more decimals than {currency} allows ({EXPONENTS[currency]})",
        )
    reference = " ".join(
        " ".join(cells[i].split()) for i in columns.at.get("reference", ()) if cells[i].strip()
    )
    if len(reference) > REFERENCE_CHARS_MAX:
        raise _Bad(
            "reference",
            f"longer than {REFERENCE_CHARS_MAX} characters, the most a payment reference holds",
        )
    method = profile.method
    if profile.method_column:
        method = _method(_cell(cells, columns, "method_column"), profile.method)
    return PaymentLine(
        line=line,
        received_on=received_on,
        amount=amount,
        currency=currency,
        customer=_text(cells, columns, "customer", FIELD_CHARS_MAX),
        reference=reference,
        payer=_text(cells, columns, "payer", FIELD_CHARS_MAX),
        transaction_id=_text(cells, columns, "transaction_id", FIELD_CHARS_MAX),
        method=method,
    )


# --- idempotency keys ----------------------------------------------------------------------


def import_keys(lines: Sequence[PaymentLine]) -> list[str]:
    """The key of each line that makes a re-import add nothing: "tx:" and the bank's
    transaction id where the line has one; else "fp:" and a fingerprint of its date, amount,
    currency, reference, payer and customer, and of how many lines with the same values came
    before it in the file (two equal payments on one day are two payments, and stay two on
    the next import of the same file)."""
    seen: dict[tuple[str, ...], int] = {}
    keys: list[str] = []
    for line in lines:
        if line.transaction_id:
            keys.append(f"tx:{line.transaction_id}")
            continue
        values = (
            line.received_on.isoformat(),
            format(line.amount.normalize(), "f"),
            line.currency,
            line.reference,
            line.payer,
            line.customer,
        )
        nth = seen.get(values, 0) + 1
        seen[values] = nth
        digest = hashlib.sha256("\x1f".join((*values, str(nth))).encode()).hexdigest()
        keys.append(f"fp:{digest[:40]}")
    return keys


# --- profiles from TOML --------------------------------------------------------------------


def profiles_from_toml(text: str, source: str) -> dict[str, Profile]:
    """User profiles: each table `[profiles.NAME]` with the keys of PROFILE_KEYS. A column key
    takes a name or a list of names; `extends` starts from a built-in profile."""
    if len(text) > PROFILES_CHARS_MAX:
        raise InvalidInput(
            f"{source} is larger than {PROFILES_CHARS_MAX} characters", record=source
        )
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"not valid TOML: {exc}", record=source) from None
    tables = doc.get("profiles")
    if not isinstance(tables, dict) or not tables or set(doc) != {"profiles"}:
        raise InvalidInput(
            "expected one table per profile, [profiles.NAME], and nothing else", record=source
        )
    if len(tables) > PROFILES_MAX:
        raise InvalidInput(f"more than {PROFILES_MAX} profiles", record=source)
    return {str(name): _profile(str(name), spec, source) for name, spec in tables.items()}


def _profile(name: str, spec: Any, source: str) -> Profile:
    record = f"{source}: profile {name}"
    if not isinstance(spec, dict):
        raise InvalidInput("expected a table of keys", record=record)
    unknown = sorted(set(spec) - set(PROFILE_KEYS))
    if unknown:
        raise InvalidInput(
            f"unknown key {unknown[0]!r}; the keys are {', '.join(PROFILE_KEYS)}",
            record=record,
            field=unknown[0][:40],
        )
    base_name = spec.get("extends", "")
    if not isinstance(base_name, str) or (base_name and base_name not in BUILTIN):
        raise InvalidInput(
            f"extends names a built-in profile: {', '.join(BUILTIN)}",
            record=record,
            field="extends",
        )
    values: dict[str, Any] = {}
    if base_name:
        base = BUILTIN[base_name]
        values = {f.name: getattr(base, f.name) for f in fields(Profile)}
    values["name"] = name
    values.setdefault("date", ())
    for key, value in spec.items():
        if key == "extends":
            continue
        if key in _COLUMN_KEYS or key == "paid_statuses":
            values[key] = _names(value, record, key)
        elif isinstance(value, str) and len(value) <= FIELD_CHARS_MAX:
            values[key] = value.upper() if key == "currency" else value
        else:
            raise InvalidInput("expected a short text", record=record, field=key)
    if "currency" in spec and base_name and "currency_column" not in spec:
        values["currency_column"] = ()
    if "currency_column" in spec and base_name and "currency" not in spec:
        values["currency"] = ""
    if "amount" in spec and base_name and "credit" not in spec:
        values["credit"] = values["debit"] = ()
    if "credit" in spec and base_name and "amount" not in spec:
        values["amount"] = ()
    profile = Profile(**values)
    try:
        return profile.check()
    except InvalidInput as exc:
        raise InvalidInput(exc.reason, record=record, field=exc.field) from None


def _names(value: Any, record: str, key: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if (
        not isinstance(items, list)
        or not 0 < len(items) <= NAMES_MAX
        or not all(isinstance(v, str) and 0 < len(v.strip()) <= FIELD_CHARS_MAX for v in items)
    ):
        raise InvalidInput(
            f"expected a column name or a list of 1 to {NAMES_MAX} names", record=record, field=key
        )
    return tuple(items)


def merged(profile: Profile, date_format: str = "") -> Profile:
    """The profile with another date format (the CLI's --date-format), checked."""
    return replace(profile, date_format=date_format).check() if date_format else profile


def by_name(name: str, extra: Mapping[str, Profile] | None = None) -> Profile:
    """A user profile (from the TOML file) or a built-in one, by name."""
    found = (extra or {}).get(name) or BUILTIN.get(name)
    if found is None:
        names = sorted({*BUILTIN, *(extra or {})})
        raise InvalidInput(
            f"no profile {name!r}; the profiles are {', '.join(names)}",
            record="profile",
            field="name",
        )
    return found
