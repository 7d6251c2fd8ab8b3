"""Comparing a customer's own list of what they believe they owe with openbill's records.

The customer sends a list (their PO, our invoice number, the amount they think is open); each
of their rows and each of our open invoices ends in exactly one outcome, explained in words:
matched, missing on their side, missing on ours, amount differs, or already paid.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from openbill.domain.money import (
    Rounding,
    format_minor,
    minor_to_decimal,
    round_to_minor,
    to_decimal,
)
from openbill.domain.rejections import InvalidAmount, InvalidInput

__all__ = [
    "Outcome",
    "TheirRow",
    "OurInvoice",
    "Difference",
    "parse_client_records",
    "compare",
    "MAX_ROWS",
]

MAX_ROWS = 50_000
_COLUMNS = {
    "po": ("po", "their_po", "purchase_order", "po_number"),
    "invoice": ("invoice", "invoice_number", "our_invoice", "number"),
    "amount": ("amount", "open_amount", "balance", "amount_due"),
}


class Outcome(StrEnum):
    MATCHED = "matched"
    MISSING_ON_THEIR_SIDE = "missing_on_their_side"
    MISSING_ON_OURS = "missing_on_ours"
    AMOUNT_DIFFERS = "amount_differs"
    ALREADY_PAID = "already_paid"


@dataclass(frozen=True, slots=True)
class TheirRow:
    line: int
    po: str
    invoice: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class OurInvoice:
    number: str
    po: str
    total_minor: int
    open_minor: int
    status: str


@dataclass(frozen=True, slots=True)
class Difference:
    outcome: Outcome
    invoice: str
    po: str
    their_minor: int | None
    our_open_minor: int | None
    explanation: str
    line: int | None = None


def parse_client_records(text: str, source: str, currency: str) -> tuple[TheirRow, ...]:
    """Parse the customer's CSV; every bad row is reported (file, line, field, reason)."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    found: dict[str, str] = {}
    for name, aliases in _COLUMNS.items():
        for alias in aliases:
            if alias in header:
                found[name] = reader.fieldnames[header.index(alias)]  # type: ignore[index]
                break
    missing = [n for n in ("invoice", "amount") if n not in found]
    if missing:
        raise InvalidInput(
            f"no column for {', '.join(missing)}; expected one of "
            + "; ".join(f"{n}: {', '.join(_COLUMNS[n])}" for n in missing),
            record=f"{source}:1",
            field=missing[0],
        )
    rows: list[TheirRow] = []
    errors: list[str] = []
    for number, record in enumerate(reader, start=2):
        if len(rows) + len(errors) >= MAX_ROWS:
            raise InvalidInput(f"more than {MAX_ROWS} rows", record=source, field="rows")
        invoice = (record.get(found["invoice"]) or "").strip()
        po = (record.get(found["po"]) or "").strip() if "po" in found else ""
        raw = (record.get(found["amount"]) or "").strip()
        if not invoice and not po:
            errors.append(f"{source}:{number}: field invoice: neither an invoice number nor a PO")
            continue
        try:
            amount = to_decimal(raw.replace(",", ""))
            minor = round_to_minor(amount, currency, Rounding.HALF_UP)
            if minor_to_decimal(minor, currency) != amount:
                raise InvalidAmount(f"more decimals than {currency} has", field="amount")
        except (InvalidAmount, InvalidInput) as exc:
            errors.append(f"{source}:{number}: field amount: {raw!r}: {exc.reason}")
            continue
        rows.append(TheirRow(number, po, invoice, minor))
    if errors:
        raise InvalidInput(
            f"{len(errors)} bad row(s); nothing compared: " + "; ".join(errors[:20]),
            record=source,
            field="rows",
        )
    return tuple(rows)


def _money(minor: int, currency: str) -> str:
    return f"{format_minor(minor, currency)} {currency}"


def compare(
    theirs: Sequence[TheirRow], ours: Sequence[OurInvoice], currency: str
) -> tuple[Difference, ...]:
    by_number = {o.number: o for o in ours}
    by_po: dict[str, list[OurInvoice]] = {}
    for o in ours:
        if o.po:
            by_po.setdefault(o.po, []).append(o)
    claimed: set[str] = set()
    out: list[Difference] = []
    for row in theirs:
        ours_row = by_number.get(row.invoice)
        if ours_row is None and not row.invoice and len(by_po.get(row.po, [])) == 1:
            ours_row = by_po[row.po][0]  # they gave only their PO, and it names one invoice
        if ours_row is None:
            out.append(
                Difference(
                    Outcome.MISSING_ON_OURS,
                    row.invoice,
                    row.po,
                    row.amount_minor,
                    None,
                    f"they list {row.invoice or 'an invoice for PO ' + row.po} with "
                    f"{_money(row.amount_minor, currency)}, which we never issued to them",
                    row.line,
                )
            )
            continue
        claimed.add(ours_row.number)
        d = _match(row, ours_row, currency)
        out.append(d)
    for o in ours:
        if o.number not in claimed and o.open_minor > 0:
            out.append(
                Difference(
                    Outcome.MISSING_ON_THEIR_SIDE,
                    o.number,
                    o.po,
                    None,
                    o.open_minor,
                    f"{o.number} has {_money(o.open_minor, currency)} open with us and is not "
                    "on their list",
                )
            )
    return tuple(out)


def _match(row: TheirRow, o: OurInvoice, currency: str) -> Difference:
    def diff(outcome: Outcome, text: str) -> Difference:
        return Difference(
            outcome, o.number, o.po or row.po, row.amount_minor, o.open_minor, text, row.line
        )

    if row.amount_minor == o.open_minor:
        return diff(Outcome.MATCHED, f"{o.number}: both say {_money(o.open_minor, currency)}")
    if o.open_minor == 0 and o.total_minor > 0:
        return diff(
            Outcome.ALREADY_PAID,
            f"{o.number} is settled in our books ({o.status}); they still list "
            f"{_money(row.amount_minor, currency)}",
        )
    gap = Decimal(row.amount_minor - o.open_minor)
    side = "more" if gap > 0 else "less"
    extra = ""
    if row.amount_minor == o.total_minor and o.open_minor < o.total_minor:
        extra = "; they list the full total, part of it is already paid or credited"
    return diff(
        Outcome.AMOUNT_DIFFERS,
        f"{o.number}: they list {_money(row.amount_minor, currency)}, we have "
        f"{_money(o.open_minor, currency)} open ({_money(abs(int(gap)), currency)} {side})" + extra,
    )
