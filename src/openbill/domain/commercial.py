"""Contracts, purchase orders and deliveries, as pure functions (issue #3).

- `contract_price`: the negotiated unit price of a charge code in force on a date (None: the
  catalog applies); `discounted`: a contract's percentage discount on a catalog unit price.
- `milestone_amount`: a milestone's amount, a fixed amount or a percentage of a base.
- `group_key` / `group_items`: which deliveries go on one invoice, as the contract says
  (one invoice per delivery, per purchase order, or per period).
- `correction_plan`: what a delivery still needs after earlier billings (more to bill, or
  quantities to take back from the lines that billed it), so that nothing is billed twice and
  a corrected delivery produces a correcting line or a credit note, never a silent change.
- `parse_deliveries`: CSV and JSON text into delivery rows, with every bad row returned as a
  `RowError` (source, line, field, reason) instead of stopping at the first.

No database, no clock, no files: the use cases read and write, these decide.
"""

from __future__ import annotations

import csv
import decimal
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from openbill.domain.money import UNIT_PRICE_PLACES
from openbill.domain.rejections import InvariantError

__all__ = [
    "Grouping",
    "Period",
    "DeliveryKind",
    "ContractPrice",
    "contract_price",
    "discounted",
    "milestone_amount",
    "period_start",
    "ToBill",
    "group_key",
    "group_items",
    "Billed",
    "Correction",
    "correction_plan",
    "DeliveryRow",
    "RowError",
    "parse_deliveries",
    "DELIVERY_FIELDS",
    "IMPORT_ROWS_MAX",
    "IMPORT_BYTES_MAX",
    "FIELD_CHARS_MAX",
]

# Bounds (DESIGN.md principle 8).
IMPORT_ROWS_MAX = 10_000  # rows per import file
IMPORT_BYTES_MAX = 20_000_000  # characters per import file
FIELD_CHARS_MAX = 200  # characters per text field of a delivery row
_NUMBER_LIMIT = Decimal(10) ** 15  # quantities, hours, amounts stay below this
_QUANTUM = Decimal(1).scaleb(-UNIT_PRICE_PLACES)
_HUNDRED = Decimal(100)
_ZERO = Decimal(0)


class Grouping(StrEnum):
    PER_DELIVERY = "per_delivery"  # one invoice for each delivery
    PER_PO = "per_po"  # one invoice per purchase order (deliveries without one together)
    PER_PERIOD = "per_period"  # one invoice per invoicing period (see Period)


class Period(StrEnum):
    """The invoicing frequency of a contract grouped per period."""

    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


class DeliveryKind(StrEnum):
    SHIPMENT = "shipment"  # quantities shipped and (optionally) accepted
    TIMESHEET = "timesheet"  # hours by role
    MILESTONE = "milestone"  # a percentage of a base amount or a fixed amount


# ---------------------------------------------------------------------------------------------
# prices


@dataclass(frozen=True, slots=True)
class ContractPrice:
    """A negotiated per-unit price of one charge code, in force from `effective_from` on."""

    charge_code: str
    effective_from: date
    unit_price: Decimal


def contract_price(prices: Iterable[ContractPrice], charge_code: str, on: date) -> Decimal | None:
    """The contract's unit price for `charge_code` in force on `on`: the one with the latest
    `effective_from` not after `on`. None when the contract has none (the catalog applies).

    >>> p = [ContractPrice("W", date(2026, 1, 1), Decimal("10")),
    ...      ContractPrice("W", date(2026, 3, 1), Decimal("9"))]
    >>> contract_price(p, "W", date(2026, 2, 28)), contract_price(p, "W", date(2026, 3, 1))
    (Decimal('10'), Decimal('9'))
    >>> contract_price(p, "W", date(2025, 12, 31)) is None
    True
    """
    best: ContractPrice | None = None
    for p in prices:
        if p.charge_code != charge_code or p.effective_from > on:
            continue
        if best is not None and p.effective_from == best.effective_from:
            raise InvariantError(f"two contract prices of {charge_code} from {p.effective_from}")
        if best is None or p.effective_from > best.effective_from:
            best = p
    return None if best is None else best.unit_price


def discounted(unit_price: Decimal, percent: Decimal) -> Decimal:
    """A unit price less `percent` %, kept to the unit-price precision (half up).

    >>> discounted(Decimal("12.50"), Decimal("10"))
    Decimal('11.2500000000')
    """
    if not _ZERO <= percent <= _HUNDRED:
        raise InvariantError(f"a discount is between 0 and 100 percent, got {percent}")
    if percent == 0:
        return unit_price
    exact = unit_price * (_HUNDRED - percent) / _HUNDRED
    return exact.quantize(_QUANTUM, rounding=decimal.ROUND_HALF_UP)


def milestone_amount(
    percent: Decimal | None, amount: Decimal | None, base: Decimal | None
) -> Decimal:
    """A fixed `amount`, or `percent` % of `base` (the purchase-order line's value).

    >>> milestone_amount(Decimal("30"), None, Decimal("5000"))
    Decimal('1500.0000000000')
    """
    if amount is not None:
        return amount
    if percent is None or base is None:
        raise InvariantError("a milestone needs an amount, or a percent and a base")
    return (base * percent / _HUNDRED).quantize(_QUANTUM, rounding=decimal.ROUND_HALF_UP)


# ---------------------------------------------------------------------------------------------
# grouping


def period_start(on: date, period: Period) -> date:
    """The first day of the invoicing period `on` falls in (weeks start on Monday)."""
    if period is Period.WEEK:
        return on - timedelta(days=on.weekday())
    if period is Period.MONTH:
        return on.replace(day=1)
    return date(on.year, 3 * ((on.month - 1) // 3) + 1, 1)


@dataclass(frozen=True, slots=True)
class ToBill:
    """One delivery (or correction of one) to put on an invoice."""

    delivery_id: int
    customer_id: int
    currency: str
    contract_id: int | None
    grouping: Grouping
    period: Period
    po_number: str  # "" without a purchase order
    delivered_on: date
    ref: str


def group_key(item: ToBill) -> tuple[Any, ...]:
    """Items with the same key go on the same invoice."""
    base = (item.customer_id, item.currency, item.contract_id or 0)
    if item.grouping is Grouping.PER_DELIVERY:
        return (*base, "delivery", item.delivery_id)
    if item.grouping is Grouping.PER_PO:
        return (*base, "po", item.po_number)
    return (*base, "period", period_start(item.delivered_on, item.period).isoformat())


def group_items(items: Iterable[ToBill], lines_max: int) -> list[list[ToBill]]:
    """Items grouped by `group_key`, each group in delivery order and cut into invoices of at
    most `lines_max` items; groups in key order, so a run is deterministic."""
    if lines_max < 1:
        raise InvariantError("an invoice holds at least one line")
    groups: dict[tuple[Any, ...], list[ToBill]] = {}
    for item in items:
        groups.setdefault(group_key(item), []).append(item)
    out: list[list[ToBill]] = []
    for key in sorted(groups, key=repr):
        members = sorted(groups[key], key=lambda i: (i.delivered_on, i.ref, i.delivery_id))
        out.extend(members[i : i + lines_max] for i in range(0, len(members), lines_max))
    return out


# ---------------------------------------------------------------------------------------------
# corrections


@dataclass(frozen=True, slots=True)
class Billed:
    """A document line that billed (quantity > 0) a delivery, with what was taken back from it
    since (`reversed_quantity`, by credit notes or correcting lines)."""

    billing_id: int
    document_id: int
    line_no: int
    quantity: Decimal
    unit_price: Decimal
    issued: bool
    reversed_quantity: Decimal = Decimal(0)

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.reversed_quantity


@dataclass(frozen=True, slots=True)
class Correction:
    """What a delivery needs now: `bill_quantity` more units at the current price, and
    quantities to take back from earlier lines: by credit note where the document was issued,
    by a correcting line on the draft where it was not."""

    bill_quantity: Decimal = Decimal(0)
    take_back: tuple[tuple[Billed, Decimal], ...] = field(default=())

    @property
    def nothing(self) -> bool:
        return self.bill_quantity == 0 and not self.take_back


def correction_plan(
    target_quantity: Decimal, target_unit_price: Decimal | None, billed: Sequence[Billed]
) -> Correction:
    """Compare what a delivery should have billed with what its lines billed.

    `target_unit_price` is given for deliveries of a fixed price (milestones): when it differs
    from a billed line's price, that line is taken back in full and the target billed anew.
    Otherwise the difference in quantity is billed, or taken back from the newest lines first.

    >>> b = Billed(1, 10, 1, Decimal(10), Decimal(5), issued=True)
    >>> correction_plan(Decimal(10), None, [b]).nothing
    True
    >>> c = correction_plan(Decimal(7), None, [b])
    >>> c.bill_quantity, [(x.line_no, q) for x, q in c.take_back]
    (Decimal('0'), [(1, Decimal('3'))])
    """
    if target_quantity < 0:
        raise InvariantError("a delivery cannot need a negative quantity")
    take_back: list[tuple[Billed, Decimal]] = []
    live = [b for b in billed if b.remaining > 0]
    if target_unit_price is not None:
        stale = [b for b in live if b.unit_price != target_unit_price]
        take_back.extend((b, b.remaining) for b in stale)
        live = [b for b in live if b.unit_price == target_unit_price]
    have = sum((b.remaining for b in live), _ZERO)
    if target_quantity >= have:
        return Correction(target_quantity - have, tuple(take_back))
    excess = have - target_quantity
    for b in sorted(live, key=lambda x: x.billing_id, reverse=True):
        if excess == 0:
            break
        qty = min(excess, b.remaining)
        take_back.append((b, qty))
        excess -= qty
    return Correction(_ZERO, tuple(take_back))


# ---------------------------------------------------------------------------------------------
# parsing


DELIVERY_FIELDS = (
    "ref",
    "kind",
    "customer",
    "contract",
    "po",
    "po_line",
    "charge_code",
    "date",
    "status",
    "shipped",
    "accepted",
    "hours",
    "role",
    "percent",
    "amount",
    "description",
)
_REQUIRED = ("ref", "kind", "customer", "charge_code", "date")
_STATUSES = ("confirmed", "pending")


@dataclass(frozen=True, slots=True)
class RowError:
    """A refused row: where it is (file, line), which field, and why."""

    source: str
    line: int
    field: str
    reason: str
    raw: tuple[tuple[str, str], ...] = ()  # the row's fields as given, for a rejects file
    # The file itself cannot be read as deliveries (not JSON, not an array, a CSV header with
    # an unknown column, too large): no row is good, so keep_good refuses it all the same.
    whole_file: bool = False

    @property
    def message(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return (
            f"{where}: field {self.field}: {self.reason}"
            if self.field
            else f"{where}: {self.reason}"
        )


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One delivery or service confirmation as imported; `raw` keeps the text of the row for a
    rejects file."""

    source: str
    line: int
    ref: str
    kind: DeliveryKind
    customer: str
    contract: str
    po: str
    po_line: int | None
    charge_code: str
    delivered_on: date
    confirmed: bool
    shipped: Decimal | None
    accepted: Decimal | None
    hours: Decimal | None
    role: str
    percent: Decimal | None
    amount: Decimal | None
    description: str
    raw: tuple[tuple[str, str], ...] = ()

    @property
    def quantity(self) -> Decimal:
        """The billable quantity: accepted (else shipped) units, hours, or one milestone."""
        if self.kind is DeliveryKind.SHIPMENT:
            value = self.accepted if self.accepted is not None else self.shipped
            return value if value is not None else _ZERO
        if self.kind is DeliveryKind.TIMESHEET:
            return self.hours if self.hours is not None else _ZERO
        return Decimal(1)


class _Bad(Exception):
    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


def parse_deliveries(
    text: str, source: str, fmt: str = ""
) -> tuple[list[DeliveryRow], list[RowError]]:
    """Parse CSV or JSON text (`fmt` "csv" or "json"; empty: from the source's extension, else
    from the first character). Returns the good rows and an error for every bad one; never
    raises for bad input."""
    if len(text) > IMPORT_BYTES_MAX:
        reason = f"file larger than {IMPORT_BYTES_MAX} characters"
        return [], [RowError(source, 0, "", reason, whole_file=True)]
    kind = fmt.lower() or _format_of(text, source)
    records = _json_records(text, source) if kind == "json" else _csv_records(text, source)
    rows: list[DeliveryRow] = []
    errors: list[RowError] = []
    for line, record in records:
        if isinstance(record, RowError):
            errors.append(record)
            continue
        if len(rows) + len(errors) >= IMPORT_ROWS_MAX:
            reason = f"more than {IMPORT_ROWS_MAX} rows per import"
            errors.append(RowError(source, line, "", reason, whole_file=True))
            break
        try:
            rows.append(_row(record, source, line))
        except _Bad as bad:
            errors.append(RowError(source, line, bad.field, bad.reason, _raw_of(record)))
    return rows, errors


def _format_of(text: str, source: str) -> str:
    lowered = source.lower()
    if lowered.endswith(".json"):
        return "json"
    if lowered.endswith(".csv"):
        return "csv"
    return "json" if text.lstrip()[:1] in ("[", "{") else "csv"


Record = tuple[int, "Mapping[str, Any] | RowError"]


def _csv_records(text: str, source: str) -> Iterator[Record]:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        yield 1, RowError(source, 1, "", f"not readable as CSV: {exc}", whole_file=True)
        return
    if header is None:
        return
    names = [h.strip().lower() for h in header]
    unknown = [n for n in names if n not in DELIVERY_FIELDS]
    missing = [n for n in _REQUIRED if n not in names]
    if unknown or missing or len(set(names)) != len(names):
        reason = (
            f"unknown column {unknown[0]!r}"
            if unknown
            else f"missing column {missing[0]!r}"
            if missing
            else "a column is named twice"
        )
        yield (
            1,
            RowError(
                source,
                1,
                unknown[0] if unknown else missing[0] if missing else "",
                reason,
                whole_file=True,
            ),
        )
        return
    line = reader.line_num
    while True:
        start = line + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, RowError(source, start, "", f"not readable as CSV: {exc}")
            return
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(names):
            yield (
                start,
                RowError(source, start, "", f"{len(values)} values for {len(names)} columns"),
            )
            continue
        yield start, dict(zip(names, values, strict=True))


def _json_records(text: str, source: str) -> Iterator[Record]:
    """Records of a JSON array (or of {"deliveries": [...]}) with the line each starts on."""
    decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constant)
    try:
        doc = decoder.decode(text)
    except (json.JSONDecodeError, ValueError, RecursionError) as exc:
        line = exc.lineno if isinstance(exc, json.JSONDecodeError) else 1
        yield line, RowError(source, line, "", f"not valid JSON: {_short(exc)}", whole_file=True)
        return
    if isinstance(doc, dict) and set(doc) == {"deliveries"}:
        doc = doc["deliveries"]
    if not isinstance(doc, list):
        yield (
            1,
            RowError(
                source,
                1,
                "",
                'expected a JSON array of deliveries, or {"deliveries": [...]}',
                whole_file=True,
            ),
        )
        return
    starts = _element_lines(text, decoder, len(doc))
    for index, item in enumerate(doc):
        line = starts[index] if index < len(starts) else 0
        if not isinstance(item, dict):
            yield line, RowError(source, line, "", f"item {index + 1} is not a JSON object")
            continue
        unknown = [k for k in item if k not in DELIVERY_FIELDS]
        if unknown:
            yield line, RowError(source, line, str(unknown[0])[:40], "unknown field")
            continue
        yield line, item


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _short(exc: Exception) -> str:
    return (exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc))[:120]


def _element_lines(text: str, decoder: json.JSONDecoder, count: int) -> list[int]:
    """The line each element of the top-level array starts on (the text already parsed)."""
    at = text.find("[")
    starts: list[int] = []
    pos = at + 1
    ws = " \t\r\n"
    for _ in range(count):
        while pos < len(text) and text[pos] in ws + ",":
            pos += 1
        starts.append(text.count("\n", 0, pos) + 1)
        try:
            _, pos = decoder.raw_decode(text, pos)
        except (json.JSONDecodeError, ValueError, RecursionError):
            break
    return starts


def _text(record: Mapping[str, Any], name: str, required: bool = False) -> str:
    value = record.get(name)
    if value is None:
        value = ""
    if isinstance(value, bool | dict | list):
        raise _Bad(name, "expected text")
    text = str(value).strip()
    if required and not text:
        raise _Bad(name, "is required")
    if len(text) > FIELD_CHARS_MAX:
        raise _Bad(name, f"longer than {FIELD_CHARS_MAX} characters")
    return text


def _number(record: Mapping[str, Any], name: str) -> Decimal | None:
    value = record.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise _Bad(name, f"{str(value)[:40]!r} is not a number")
    try:
        number = (
            Decimal(value.strip().replace("_", "")) if isinstance(value, str) else Decimal(value)
        )
    except decimal.InvalidOperation:
        raise _Bad(name, f"{str(value)[:40]!r} is not a number") from None
    if not number.is_finite():
        raise _Bad(name, "is not a finite number")
    if abs(number) >= _NUMBER_LIMIT:
        raise _Bad(name, f"must be below {_NUMBER_LIMIT:,}")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -UNIT_PRICE_PLACES:
        raise _Bad(name, f"more than {UNIT_PRICE_PLACES} decimal places")
    if number < 0:
        raise _Bad(name, "must not be negative")
    return number


def _row(record: Mapping[str, Any], source: str, line: int) -> DeliveryRow:
    ref = _text(record, "ref", required=True)
    kind_text = _text(record, "kind", required=True).lower()
    try:
        kind = DeliveryKind(kind_text)
    except ValueError:
        raise _Bad("kind", f"{kind_text!r} is not one of: shipment, timesheet, milestone") from None
    date_text = _text(record, "date", required=True)
    try:
        delivered_on = date.fromisoformat(date_text)
    except ValueError:
        raise _Bad("date", f"{date_text!r} is not a date (YYYY-MM-DD)") from None
    status = _text(record, "status").lower() or "confirmed"
    if status not in _STATUSES:
        raise _Bad("status", f"{status!r} is not one of: confirmed, pending")
    po_line_text = _text(record, "po_line")
    po = _text(record, "po")
    po_line: int | None = None
    if po_line_text:
        if not po_line_text.isdigit() or not 0 < int(po_line_text) < 100_000:
            raise _Bad("po_line", f"{po_line_text!r} is not a line number")
        if not po:
            raise _Bad("po", "a purchase-order line needs the purchase order")
        po_line = int(po_line_text)
    row = DeliveryRow(
        source=source,
        line=line,
        ref=ref,
        kind=kind,
        customer=_text(record, "customer", required=True),
        contract=_text(record, "contract"),
        po=po,
        po_line=po_line,
        charge_code=_text(record, "charge_code", required=True),
        delivered_on=delivered_on,
        confirmed=status == "confirmed",
        shipped=_number(record, "shipped"),
        accepted=_number(record, "accepted"),
        hours=_number(record, "hours"),
        role=_text(record, "role"),
        percent=_number(record, "percent"),
        amount=_number(record, "amount"),
        description=_text(record, "description"),
        raw=_raw_of(record),
    )
    _check_kind(row)
    return row


def _raw_of(record: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((k, _raw_text(record.get(k))) for k in DELIVERY_FIELDS if k in record)


def _raw_text(value: Any) -> str:
    return "" if value is None else str(value)


def _check_kind(row: DeliveryRow) -> None:
    """The fields each kind needs, and only those."""
    given = {
        n
        for n in ("shipped", "accepted", "hours", "percent", "amount")
        if getattr(row, n) is not None
    }
    allowed = {
        DeliveryKind.SHIPMENT: {"shipped", "accepted"},
        DeliveryKind.TIMESHEET: {"hours"},
        DeliveryKind.MILESTONE: {"percent", "amount"},
    }[row.kind]
    stray = sorted(given - allowed)
    if stray:
        raise _Bad(stray[0], f"a {row.kind.value} has no {stray[0]}")
    if row.kind is DeliveryKind.SHIPMENT:
        if row.shipped is None:
            raise _Bad("shipped", "a shipment needs the quantity shipped")
        if row.accepted is not None and row.accepted > row.shipped:
            raise _Bad("accepted", f"accepted {row.accepted} is more than shipped {row.shipped}")
    elif row.kind is DeliveryKind.TIMESHEET:
        if row.hours is None or row.hours == 0:
            raise _Bad("hours", "a timesheet needs the hours worked")
        if not row.role:
            raise _Bad("role", "a timesheet needs the role the hours were worked in")
    else:
        if (row.percent is None) == (row.amount is None):
            raise _Bad("percent", "a milestone has either a percent or an amount")
        if row.percent is not None:
            if not 0 < row.percent <= _HUNDRED:
                raise _Bad("percent", "must be above 0 and at most 100")
            if row.po_line is None:
                raise _Bad("po_line", "a percentage milestone is a percentage of a PO line")
