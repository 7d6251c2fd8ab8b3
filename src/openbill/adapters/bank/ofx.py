"""OFX 1.x (SGML) and 2.x (XML) bank and credit-card statements, read with `ofxparse`.

Mapping, per account (STMTRS or CCSTMTRS): ACCTID as the account, CURDEF as the currency,
DTSTART/DTEND as the period, LEDGERBAL/BALAMT as the closing balance (OFX has no opening
balance, so `check_balances` has nothing to check), and each STMTTRN as an entry: FITID as the
bank reference, DTPOSTED as the booking date (DTUSER, when given, as the value date), TRNAMT
signed as OFX signs it, NAME (payee) as the counterparty, MEMO as the remittance text, TRNTYPE
as the bank code.

Refused: a file with no bank or card statement in it (an empty <OFX></OFX>, or only an
investment statement INVSTMTRS, which holds trades, not payments), and any file ofxparse
cannot read (the message says what it found, e.g. a TRNAMT of '$120').
"""

from __future__ import annotations

import io
import re
import warnings
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openbill.adapters.bank._common import FILE_BYTES_MAX, check_counts, clean, refuse
from openbill.domain.bank import Balance, Entry, Statement, amount_to_minor
from openbill.domain.rejections import Rejection

__all__ = ["detect", "parse_ofx"]

_TAG_LINE = re.compile(rb"<(TRNAMT|BALAMT|DTPOSTED|DTASOF)>\s*([^<\r\n]*)", re.IGNORECASE)


def detect(data: bytes) -> bool:
    head = data[:4096].lstrip().upper()
    return head.startswith(b"OFXHEADER") or b"<OFX>" in head or b"<?OFX " in head


def _line_of(data: bytes, value: str) -> str:
    """The line of the first field holding `value`, to name it in a refusal."""
    for m in _TAG_LINE.finditer(data):
        if m[2].decode("latin-1").strip() == value:
            line = data.count(b"\n", 0, m.start()) + 1
            return f"line {line} <{m[1].decode().upper()}>"
    return "element OFX"


def parse_ofx(data: bytes, source: str) -> list[Statement]:
    """Every bank or card account statement of an OFX file, or InvalidInput."""
    if len(data) > FILE_BYTES_MAX:
        raise refuse(source, "", "the file is larger than a statement import takes")
    import ofxparse  # type: ignore[import-untyped]  # loaded only for an OFX file: slow

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = ofxparse.OfxParser.parse(io.BytesIO(data), fail_fast=True)
    except Exception as exc:  # ofxparse raises many kinds; all mean "not a readable OFX"
        message = clean(str(exc), 200) or type(exc).__name__
        quoted = re.search(r"'([^']*)'", message)
        where = _line_of(data, quoted[1]) if quoted else "element OFX"
        raise refuse(source, where, f"not a readable OFX statement ({message})") from None
    accounts = list(getattr(parsed, "accounts", None) or [])
    statements = [a for a in accounts if _is_bank(a)]
    if not statements:
        kind = "an investment statement (INVSTMTRS)" if accounts else "no statement"
        raise refuse(
            source,
            "element OFX",
            f"the file holds {kind}; only bank and card statements (STMTRS, CCSTMTRS) import",
        )
    check_counts(source, len(statements), sum(len(a.statement.transactions) for a in statements))
    return [_statement(a, source) for a in statements]


def _is_bank(account: Any) -> bool:
    statement = getattr(account, "statement", None)
    return statement is not None and type(statement).__name__ == "Statement"


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def _minor(value: Any, currency: str, source: str, where: str) -> int:
    if not isinstance(value, Decimal):
        raise refuse(source, where, f"{value!r} is not an amount")
    try:
        return amount_to_minor(value, currency)
    except Rejection as exc:
        raise refuse(source, where, exc.reason) from None


def _statement(account: Any, source: str) -> Statement:
    stmt = account.statement
    currency = clean(getattr(stmt, "currency", "") or getattr(account, "curdef", "")).upper()
    where = f"account {clean(account.account_id)}"
    closing = None
    if getattr(stmt, "balance", None) is not None:
        closing = Balance(
            _minor(stmt.balance, currency, source, f"{where} LEDGERBAL"),
            currency,
            _day(getattr(stmt, "balance_date", None)),
        )
    entries = []
    for tx in stmt.transactions:
        fitid = clean(getattr(tx, "id", ""))
        entries.append(
            Entry(
                booking_date=_day(tx.date),
                value_date=_day(getattr(tx, "user_date", None)) or _day(tx.date),
                amount_minor=_minor(tx.amount, currency, source, f"{where} STMTTRN {fitid}"),
                currency=currency,
                bank_reference=fitid,
                counterparty_name=clean(getattr(tx, "payee", "")),
                remittance=clean(getattr(tx, "memo", "")),
                transaction_code=clean(getattr(tx, "type", "")).upper(),
            )
        )
    return Statement(
        format="ofx",
        account=clean(account.account_id),
        currency=currency,
        period_from=_day(getattr(stmt, "start_date", None)),
        period_to=_day(getattr(stmt, "end_date", None)),
        closing=closing,
        entries=tuple(entries),
    )
