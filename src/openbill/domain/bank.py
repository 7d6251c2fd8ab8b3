"""Bank statements in one model, whatever format the bank sent (issue #5).

A `Statement` is what one account statement, report or notification of a bank says: the
account, the currency, the period, the opening and closing booked balances when the format has
them, and its `Entry` lines. Each entry carries a signed amount in minor units of its currency
(+ money in, - money out), the booking and value dates, the bank's own reference, the
end-to-end id, the counterparty and its account, the remittance text and a structured creditor
reference (ISO 11649 RF or Swiss ISR) when the bank passes one on.

The parsers in `openbill.adapters.bank` (CAMT.052/053/054, MT940/MT942, OFX, CSV) build these
values; nothing here reads a file. `check_balances` says whether a statement adds up: opening
balance plus the entries equals the closing balance, in each currency on its own.

Pure: stdlib only, no I/O, no clock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from openbill.domain.currencies import EXPONENTS
from openbill.domain.money import to_decimal
from openbill.domain.rejections import InvalidAmount

__all__ = [
    "FORMATS",
    "HISTORIC_EXPONENTS",
    "ENTRIES_MAX",
    "STATEMENTS_MAX",
    "TEXT_CHARS_MAX",
    "Balance",
    "Entry",
    "Statement",
    "amount_to_minor",
    "check_balances",
    "format_amount",
]

# Bounds (DESIGN.md principle 8).
ENTRIES_MAX = 100_000  # entries per statement file, all statements together
STATEMENTS_MAX = 1_000  # statements (or reports, notifications, accounts) per file
TEXT_CHARS_MAX = 1_000  # characters kept of one remittance text or counterparty name

# Currencies withdrawn from ISO 4217 (list three) that old statements still carry, with their
# exponents as they were: a 2002 MT940 in DEM must read, though nothing is billed in it now.
HISTORIC_EXPONENTS = {"ATS": 2, "BEF": 0, "DEM": 2, "ESP": 0, "FIM": 2, "FRF": 2, "NLG": 2}

FORMATS = ("camt.052", "camt.053", "camt.054", "mt940", "mt942", "ofx", "csv")


def amount_to_minor(value: object, currency: str, *, field: str = "amount") -> int:
    """An amount as the bank writes it (text or Decimal, never a float) in minor units.

    A bank never books fractions of a minor unit, so more decimal places than the currency has
    are refused rather than rounded.

    >>> amount_to_minor("12.5", "EUR"), amount_to_minor(Decimal("-3"), "JPY")
    (1250, -3)
    """
    amount = to_decimal(value, field=field)
    exponent = EXPONENTS.get(currency, HISTORIC_EXPONENTS.get(currency))
    if exponent is None:
        raise InvalidAmount(f"{currency!r} is not an ISO 4217 currency code", field="currency")
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise InvalidAmount(f"{value!s} has more decimal places than {currency} has", field=field)
    if abs(scaled) >= Decimal(10) ** 18:
        raise InvalidAmount(f"{value!s} is beyond any plausible bank amount", field=field)
    return int(scaled)


@dataclass(frozen=True, slots=True)
class Balance:
    """A booked balance: signed minor units (negative = overdrawn) as of a date."""

    amount_minor: int
    currency: str
    as_of: date | None


@dataclass(frozen=True, slots=True)
class Entry:
    """One booked line of a statement. `amount_minor` is signed: + credit, - debit."""

    booking_date: date | None
    value_date: date | None
    amount_minor: int
    currency: str
    bank_reference: str = ""  # the bank's transaction id (AcctSvcrRef, FITID, :61: reference)
    end_to_end_id: str = ""
    counterparty_name: str = ""
    counterparty_account: str = ""  # IBAN, or the account number the bank gives
    remittance: str = ""  # unstructured remittance text, joined with " "
    creditor_reference: str = ""  # structured reference (RF..., ISR) when present
    transaction_code: str = ""  # bank transaction code (camt BkTxCd, MT940 :61: type, OFX type)
    batch_size: int = 1  # transactions the bank booked as this one entry
    # A returned or rejected payment: the ISO 20022 return reason (AM04, MD06, AC04 ...) when
    # the bank gives one, else "RETURN" when the transaction code or text says it is a return.
    return_reason: str = ""
    # What the payer instructed, in its own currency, when the bank converted it (camt
    # AmtDtls/InstdAmt): a USD invoice paid from a USD account onto our EUR account.
    instructed_minor: int | None = None
    instructed_currency: str = ""

    def fingerprint(self) -> str:
        """A stable sha256 over what identifies the entry when the bank gives no id.

        The bank's own reference is left out on purpose: the fingerprint is for entries that
        have none, and two exports of the same booking must give the same value.
        """
        parts = (
            self.booking_date.isoformat() if self.booking_date else "",
            self.value_date.isoformat() if self.value_date else "",
            str(self.amount_minor),
            self.currency,
            self.end_to_end_id,
            self.counterparty_name.casefold(),
            self.counterparty_account.replace(" ", "").upper(),
            " ".join(self.remittance.split()),
            self.creditor_reference,
        )
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement (camt.053, MT940), report (camt.052, MT942) or notification (camt.054)."""

    format: str
    account: str  # IBAN when the bank gives one, otherwise its account id
    currency: str
    statement_id: str = ""
    sequence: str = ""  # electronic sequence or statement number
    created: date | None = None
    period_from: date | None = None
    period_to: date | None = None
    opening: Balance | None = None
    closing: Balance | None = None
    entries: tuple[Entry, ...] = ()


def format_amount(amount_minor: int, currency: str) -> str:
    """'1234.50' for EUR, also for the historic currencies format_minor does not know."""
    exponent = EXPONENTS.get(currency, HISTORIC_EXPONENTS.get(currency, 2))
    return f"{Decimal(amount_minor).scaleb(-exponent):f}"


def check_balances(statement: Statement) -> list[str]:
    """What does not add up: opening + sum(entries) == closing, per currency.

    An empty list when the statement agrees, or when it has no opening or closing balance (a
    camt.054 notification or an intraday report has none: there is nothing to check).
    """
    opening, closing = statement.opening, statement.closing
    if opening is None or closing is None:
        return []
    if opening.currency != closing.currency:
        return [
            f"the opening balance is in {opening.currency} and the closing balance in "
            f"{closing.currency}; a statement covers one currency"
        ]
    currency = opening.currency
    problems: list[str] = []
    others = sorted({e.currency for e in statement.entries if e.currency != currency})
    if others:
        problems.append(
            f"entries in {', '.join(others)} on a statement kept in {currency}: "
            "the balances cannot be checked for them"
        )
    total = sum(e.amount_minor for e in statement.entries if e.currency == currency)
    expected = opening.amount_minor + total
    if expected != closing.amount_minor:
        problems.append(
            f"opening {format_amount(opening.amount_minor, currency)} + entries "
            f"{format_amount(total, currency)} = {format_amount(expected, currency)} {currency}, "
            f"but the closing balance is {format_amount(closing.amount_minor, currency)}; "
            "ask the bank for the complete statement"
        )
    return problems
