"""Contracts, purchase orders, deliveries, and turning confirmed deliveries into draft invoices.

`prepare_billing` is a pipeline of small steps: read every delivery up to a date with what
already billed it; work out per delivery what is still to bill or to take back
(`domain.commercial.correction_plan`); price what is to bill from the contract in force on the
delivery date, else the catalog; hold back what a contract or purchase order forbids (with the
reason); group the rest as the contract says; then write each draft invoice, credit note or
correcting line through the invoice use cases, and link every line to its delivery and
purchase-order line in the same step's transaction. Each document is created with an
idempotency key derived from the deliveries it bills, so a run that is interrupted and run
again finds the same document instead of billing twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from openbill.domain import chain
from openbill.domain.commercial import (
    Billed,
    ContractPrice,
    Correction,
    DeliveryKind,
    DeliveryRow,
    Grouping,
    Period,
    RowError,
    ToBill,
    contract_price,
    correction_plan,
    discounted,
    group_items,
    milestone_amount,
    parse_deliveries,
)
from openbill.domain.currencies import exponent_of
from openbill.domain.invoice import PaymentTerms
from openbill.domain.money import (
    UNIT_PRICE_PLACES,
    Rounding,
    minor_to_decimal,
    round_to_minor,
    to_decimal,
)
from openbill.domain.pricing import (
    EffectivePrice,
    PriceModel,
    price_amount,
    select_price,
    spec_from_params,
)
from openbill.domain.rejections import InvalidInput, NotFound, Rejection
from openbill.ports import UnitOfWork
from openbill.usecases import invoices as inv
from openbill.usecases._support import (
    MAX_LINES_PER_DOCUMENT,
    MAX_LIST_ROWS,
    audit,
    choice,
    customer_by_code,
    entity_by_code,
    plain,
)
from openbill.usecases.masterdata import Created
from openbill.usecases.verification import refresh_findings

__all__ = [
    "CreateContract",
    "AddContractPrice",
    "CreatePurchaseOrder",
    "AddPoLine",
    "ImportDeliveries",
    "Imported",
    "ImportRejected",
    "PrepareBilling",
    "Prepared",
    "PreparedDocument",
    "Held",
    "create_contract",
    "add_contract_price",
    "create_purchase_order",
    "add_po_line",
    "import_deliveries",
    "prepare_billing",
    "list_contracts",
    "list_contract_prices",
    "list_purchase_orders",
    "list_deliveries",
    "PREPARE_DELIVERIES_MAX",
]

# Bounds (DESIGN.md principle 8).
PREPARE_DELIVERIES_MAX = 50_000  # deliveries one billing run looks at
_QUANTUM = Decimal(1).scaleb(-UNIT_PRICE_PLACES)


def _decimal(text: str, record: str, field_name: str, *, positive: bool = False) -> Decimal:
    try:
        value = to_decimal(text, field=field_name)
    except Rejection as exc:
        raise InvalidInput(exc.reason, record=record, field=field_name) from None
    if value < 0 or (positive and value == 0):
        raise InvalidInput(
            "must be above zero" if positive else "must not be negative",
            record=record,
            field=field_name,
        )
    return value


# ---------------------------------------------------------------------------------------------
# contracts


@dataclass(frozen=True, slots=True)
class CreateContract:
    entity: str
    number: str
    customer: str
    valid_from: date
    valid_to: date | None = None
    currency: str = ""  # empty: the customer's currency
    payment_terms: str = ""  # empty: the customer's terms
    grouping: str = Grouping.PER_PERIOD.value
    period: str = Period.MONTH.value
    discount_percent: str = "0"
    po_required: bool = False
    spending_cap: str = ""  # an amount in the contract currency; empty: no cap


def create_contract(uow: UnitOfWork, cmd: CreateContract) -> Created:
    record = f"contract {cmd.number}"
    if not cmd.number.strip() or len(cmd.number) > 40:
        raise InvalidInput(
            "a contract number has 1 to 40 characters", record=record, field="number"
        )
    if cmd.valid_to is not None and cmd.valid_to < cmd.valid_from:
        raise InvalidInput("ends before it starts", record=record, field="valid_to")
    discount = _decimal(cmd.discount_percent or "0", record, "discount_percent")
    if discount > 100:
        raise InvalidInput("at most 100 percent", record=record, field="discount_percent")
    grouping = choice(cmd.grouping, Grouping, record, "grouping")
    period = choice(cmd.period, Period, record, "period")
    terms = ""
    if cmd.payment_terms:
        try:
            terms = str(PaymentTerms.parse(cmd.payment_terms))
        except InvalidInput as exc:
            raise InvalidInput(exc.reason, record=record, field="payment_terms") from None
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        customer = customer_by_code(uow, entity.id, cmd.customer)
        currency = (cmd.currency or customer.currency).strip().upper()
        try:
            exponent_of(currency)
        except Rejection as exc:
            raise InvalidInput(exc.reason, record=record, field="currency") from None
        cap = None
        if cmd.spending_cap:
            amount = _decimal(cmd.spending_cap, record, "spending_cap", positive=True)
            cap = round_to_minor(amount, currency, Rounding(entity.rounding))
        values = {
            "entity_id": entity.id,
            "customer_id": customer.id,
            "number": cmd.number.strip(),
            "valid_from": cmd.valid_from,
            "valid_to": cmd.valid_to,
            "currency": currency,
            "payment_terms": terms or None,
            "grouping": grouping,
            "period": period,
            "discount_percent": discount,
            "po_required": cmd.po_required,
            "spending_cap_minor": cap,
        }
        repo = uow.commercial
        existing = repo.contract(entity.id, values["number"])
        if existing is not None:
            if all(getattr(existing, k) == v for k, v in values.items()):
                return Created(existing.id, cmd.number, False)
            raise InvalidInput(
                "a different contract with this number exists; contracts are not edited here",
                record=record,
                field="number",
            )
        values["created_at"] = uow.clock.now()
        contract_id = repo.add_contract(values)
        audit(uow, entity.id, "contract.created", "contract", contract_id, None, values)
        uow.commit()
        return Created(contract_id, cmd.number, True)


@dataclass(frozen=True, slots=True)
class AddContractPrice:
    entity: str
    contract: str
    charge_code: str
    effective_from: date
    unit_price: str


def add_contract_price(uow: UnitOfWork, cmd: AddContractPrice) -> Created:
    record = f"contract {cmd.contract} price of {cmd.charge_code} from {cmd.effective_from}"
    unit_price = _decimal(cmd.unit_price, record, "unit_price")
    exponent = unit_price.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -UNIT_PRICE_PLACES:
        raise InvalidInput(
            f"at most {UNIT_PRICE_PLACES} decimal places", record=record, field="unit_price"
        )
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        repo = uow.commercial
        contract = _contract(uow, entity, cmd.contract)
        code = uow.catalog.charge_code(entity.id, cmd.charge_code)
        if code is None:
            raise InvalidInput(
                f"no charge code {cmd.charge_code!r}", record=record, field="charge_code"
            )
        for price in repo.contract_prices([contract.id]):
            if price.charge_code_id == code.id and price.effective_from == cmd.effective_from:
                if price.unit_price == unit_price:
                    return Created(price.id, cmd.charge_code, False)
                raise InvalidInput(
                    "a different contract price already starts on this date; prices are never "
                    "edited, add one from a later date",
                    record=record,
                    field="effective_from",
                )
        values = {
            "contract_id": contract.id,
            "charge_code_id": code.id,
            "effective_from": cmd.effective_from,
            "unit_price": unit_price,
            "created_at": uow.clock.now(),
        }
        price_id = repo.add_contract_price(values)
        audit(uow, entity.id, "contract_price.created", "contract_price", price_id, None, values)
        uow.commit()
        return Created(price_id, cmd.charge_code, True)


def _contract(uow: UnitOfWork, entity: Any, number: str) -> Any:
    row = uow.commercial.contract(entity.id, number)
    if row is None:
        raise NotFound(f"no contract {number!r}", record="contract", field="number")
    return row


# ---------------------------------------------------------------------------------------------
# purchase orders


@dataclass(frozen=True, slots=True)
class CreatePurchaseOrder:
    entity: str
    customer: str
    number: str
    valid_from: date | None = None
    valid_to: date | None = None
    contract: str = ""
    currency: str = ""


def create_purchase_order(uow: UnitOfWork, cmd: CreatePurchaseOrder) -> Created:
    record = f"purchase order {cmd.number}"
    if not cmd.number.strip() or len(cmd.number) > 40:
        raise InvalidInput("a PO number has 1 to 40 characters", record=record, field="number")
    if cmd.valid_from and cmd.valid_to and cmd.valid_to < cmd.valid_from:
        raise InvalidInput("ends before it starts", record=record, field="valid_to")
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        customer = customer_by_code(uow, entity.id, cmd.customer)
        repo = uow.commercial
        contract = _contract(uow, entity, cmd.contract) if cmd.contract else None
        if contract is not None and contract.customer_id != customer.id:
            raise InvalidInput(
                f"contract {cmd.contract} is not with customer {cmd.customer}",
                record=record,
                field="contract",
            )
        currency = (cmd.currency or (contract.currency if contract else customer.currency)).upper()
        values = {
            "entity_id": entity.id,
            "customer_id": customer.id,
            "contract_id": contract.id if contract else None,
            "number": cmd.number.strip(),
            "valid_from": cmd.valid_from,
            "valid_to": cmd.valid_to,
            "currency": currency,
        }
        existing = repo.po(customer.id, values["number"])
        if existing is not None:
            if all(getattr(existing, k) == v for k, v in values.items()):
                return Created(existing.id, cmd.number, False)
            raise InvalidInput(
                "a different purchase order with this number exists", record=record, field="number"
            )
        values["created_at"] = uow.clock.now()
        po_id = repo.add_po(values)
        audit(uow, entity.id, "purchase_order.created", "purchase_order", po_id, None, values)
        uow.commit()
        return Created(po_id, cmd.number, True)


@dataclass(frozen=True, slots=True)
class AddPoLine:
    entity: str
    customer: str
    po: str
    line_no: int
    charge_code: str
    quantity: str = ""  # ceiling on quantity; empty: none
    unit_price: str = ""  # the ordered price; empty: none given
    amount_ceiling: str = ""  # ceiling on the net amount, in the PO currency; empty: none


def add_po_line(uow: UnitOfWork, cmd: AddPoLine) -> Created:
    record = f"purchase order {cmd.po} line {cmd.line_no}"
    if not 0 < cmd.line_no < 100_000:
        raise InvalidInput("a line number is 1 to 99999", record=record, field="line_no")
    quantity = _decimal(cmd.quantity, record, "quantity", positive=True) if cmd.quantity else None
    unit_price = _decimal(cmd.unit_price, record, "unit_price") if cmd.unit_price else None
    ceiling = (
        _decimal(cmd.amount_ceiling, record, "amount_ceiling", positive=True)
        if cmd.amount_ceiling
        else None
    )
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        customer = customer_by_code(uow, entity.id, cmd.customer)
        repo = uow.commercial
        po = repo.po(customer.id, cmd.po)
        if po is None:
            raise NotFound(f"no purchase order {cmd.po!r}", record=record, field="po")
        code = uow.catalog.charge_code(entity.id, cmd.charge_code)
        if code is None:
            raise InvalidInput(
                f"no charge code {cmd.charge_code!r}", record=record, field="charge_code"
            )
        values = {
            "po_id": po.id,
            "line_no": cmd.line_no,
            "charge_code_id": code.id,
            "quantity": quantity,
            "unit_price": unit_price,
            "amount_ceiling_minor": (
                None
                if ceiling is None
                else round_to_minor(ceiling, po.currency, Rounding(entity.rounding))
            ),
        }
        existing = repo.po_line(po.id, cmd.line_no)
        if existing is not None:
            if all(getattr(existing, k) == v for k, v in values.items()):
                return Created(existing.id, str(cmd.line_no), False)
            raise InvalidInput(
                "a different line with this number exists", record=record, field="line_no"
            )
        values["created_at"] = uow.clock.now()
        line_id = repo.add_po_line(values)
        audit(uow, entity.id, "po_line.created", "po_line", line_id, None, values)
        uow.commit()
        return Created(line_id, str(cmd.line_no), True)


# ---------------------------------------------------------------------------------------------
# deliveries


@dataclass(frozen=True, slots=True)
class ImportDeliveries:
    entity: str
    text: str
    source: str  # the file name, for error messages
    fmt: str = ""  # csv | json; empty: from the file name or the content
    keep_good: bool = False  # import the good rows and return the bad ones, instead of nothing


@dataclass(frozen=True, slots=True)
class Imported:
    created: int
    corrected: int
    unchanged: int
    errors: tuple[RowError, ...] = ()  # the rows refused (with their fields as given)


class ImportRejected(InvalidInput):
    """An import with bad rows, refused as a whole: every bad row is in `errors`."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(
            f"{first.reason}{more}; nothing was imported",
            record=f"{first.source}:{first.line}" if first.line else first.source,
            field=first.field,
        )
        self.errors = tuple(errors)


_IDENTITY = ("kind", "customer_id", "contract_id", "po_line_id", "charge_code_id")
_CONTENT = (
    *_IDENTITY,
    "delivered_on",
    "confirmed",
    "shipped",
    "accepted",
    "hours",
    "role",
    "percent",
    "quantity",
    "fixed_price",
    "description",
)


class _Lookups:
    """Master data an import refers to, read once per code."""

    def __init__(self, uow: UnitOfWork, entity: Any) -> None:
        self.uow, self.entity, self.repo = uow, entity, uow.commercial
        self.customers: dict[str, Any] = {}
        self.codes: dict[str, Any] = {}
        self.contracts: dict[str, Any] = {}
        self.pos: dict[tuple[int, str], Any] = {}
        self.po_lines: dict[tuple[int, int], Any] = {}

    def customer(self, code: str) -> Any:
        if code not in self.customers:
            self.customers[code] = self.uow.customers.by_code(self.entity.id, code)
        return self.customers[code]

    def code(self, code: str) -> Any:
        if code not in self.codes:
            self.codes[code] = self.uow.catalog.charge_code(self.entity.id, code)
        return self.codes[code]

    def contract(self, number: str) -> Any:
        if number not in self.contracts:
            self.contracts[number] = self.repo.contract(self.entity.id, number)
        return self.contracts[number]

    def po(self, customer_id: int, number: str) -> Any:
        key = (customer_id, number)
        if key not in self.pos:
            self.pos[key] = self.repo.po(customer_id, number)
        return self.pos[key]

    def po_line(self, po_id: int, line_no: int) -> Any:
        key = (po_id, line_no)
        if key not in self.po_lines:
            self.po_lines[key] = self.repo.po_line(po_id, line_no)
        return self.po_lines[key]


class _RowBad(Exception):
    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


def _delivery_values(row: DeliveryRow, look: _Lookups) -> dict[str, Any]:
    """The stored values of a parsed row, checked against master data."""
    customer = look.customer(row.customer)
    if customer is None:
        raise _RowBad("customer", f"no customer {row.customer!r}")
    code = look.code(row.charge_code)
    if code is None:
        raise _RowBad("charge_code", f"no charge code {row.charge_code!r}")
    contract = None
    if row.contract:
        contract = look.contract(row.contract)
        if contract is None:
            raise _RowBad("contract", f"no contract {row.contract!r}")
        if contract.customer_id != customer.id:
            raise _RowBad("contract", f"contract {row.contract} is not with {row.customer}")
        if row.delivered_on < contract.valid_from or (
            contract.valid_to is not None and row.delivered_on > contract.valid_to
        ):
            raise _RowBad("date", f"contract {row.contract} is not in force on {row.delivered_on}")
    po_line = None
    if row.po:
        po = look.po(customer.id, row.po)
        if po is None:
            raise _RowBad("po", f"no purchase order {row.po!r} of {row.customer}")
        if row.po_line is not None:
            po_line = look.po_line(po.id, row.po_line)
            if po_line is None:
                raise _RowBad("po_line", f"purchase order {row.po} has no line {row.po_line}")
        else:
            for line_no in range(1, 1000):
                candidate = look.po_line(po.id, line_no)
                if candidate is None:
                    break
                if candidate.charge_code_id == code.id:
                    po_line = candidate
                    break
            if po_line is None:
                raise _RowBad("po", f"purchase order {row.po} has no line for {row.charge_code}")
        if po_line.charge_code_id != code.id:
            raise _RowBad("po_line", f"line {po_line.line_no} of {row.po} is for another charge")
    fixed = None
    if row.kind is DeliveryKind.MILESTONE:
        base = None
        if row.percent is not None:
            assert po_line is not None  # the parser insists on a PO line for percentages
            po = look.po(customer.id, row.po)
            if po_line.amount_ceiling_minor is not None:
                base = minor_to_decimal(int(po_line.amount_ceiling_minor), po.currency)
            elif po_line.quantity is not None and po_line.unit_price is not None:
                base = po_line.quantity * po_line.unit_price
            else:
                raise _RowBad("percent", f"line {po_line.line_no} of {row.po} has no value")
        fixed = milestone_amount(row.percent, row.amount, base)
    return {
        "kind": row.kind.value,
        "customer_id": customer.id,
        "contract_id": contract.id if contract else None,
        "po_line_id": po_line.id if po_line else None,
        "charge_code_id": code.id,
        "delivered_on": row.delivered_on,
        "confirmed": row.confirmed,
        "shipped": row.shipped,
        "accepted": row.accepted,
        "hours": row.hours,
        "role": row.role,
        "percent": row.percent,
        "quantity": row.quantity,
        "fixed_price": fixed,
        "description": row.description,
    }


def _same(existing: Any, values: dict[str, Any]) -> bool:
    return all(getattr(existing, k) == values[k] for k in _CONTENT)


def import_deliveries(uow: UnitOfWork, cmd: ImportDeliveries) -> Imported:
    """Import deliveries: new refs are created, known refs with other content are corrected
    (audited, a new revision), the same content is left alone. Any bad row refuses the whole
    file (ImportRejected, naming every bad row) unless `keep_good`; a file that cannot be read
    as deliveries at all (RowError.whole_file) is refused even then."""
    rows, errors = parse_deliveries(cmd.text, cmd.source, cmd.fmt)
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        repo = uow.commercial
        look = _Lookups(uow, entity)
        known = repo.deliveries_by_ref(entity.id, [r.ref for r in rows])
        billed = {b.delivery_id for b in repo.billings([d.id for d in known.values()])}
        seen: set[str] = set()
        plan: list[tuple[DeliveryRow, dict[str, Any], Any]] = []
        for row in rows:
            try:
                if row.ref in seen:
                    raise _RowBad("ref", f"delivery {row.ref} appears twice in this file")
                seen.add(row.ref)
                values = _delivery_values(row, look)
                existing = known.get(row.ref)
                if existing is not None and existing.id in billed:
                    changed = [k for k in _IDENTITY if getattr(existing, k) != values[k]]
                    if changed:
                        raise _RowBad(
                            changed[0].removesuffix("_id"),
                            f"delivery {row.ref} is already invoiced; only its quantities, "
                            "amount, date, status and description can be corrected",
                        )
                plan.append((row, values, existing))
            except _RowBad as bad:
                errors.append(RowError(row.source, row.line, bad.field, bad.reason, row.raw))
        errors.sort(key=lambda e: e.line)
        if errors and (not cmd.keep_good or any(e.whole_file for e in errors)):
            raise ImportRejected(errors)
        created = corrected = unchanged = 0
        now = uow.clock.now()
        for row, values, existing in plan:
            if existing is None:
                stored = {
                    **values,
                    "entity_id": entity.id,
                    "ref": row.ref,
                    "revision": 1,
                    "source": f"{row.source}:{row.line}"[:200],
                    "created_at": now,
                    "updated_at": now,
                }
                delivery_id = repo.add_delivery(stored)
                audit(uow, entity.id, "delivery.created", "delivery", delivery_id, None, stored)
                created += 1
            elif _same(existing, values):
                unchanged += 1
            else:
                before = plain(existing)
                change = {
                    **values,
                    "revision": int(existing.revision) + 1,
                    "source": f"{row.source}:{row.line}"[:200],
                    "updated_at": now,
                }
                repo.update_delivery(existing.id, change)
                audit(
                    uow,
                    entity.id,
                    "delivery.corrected",
                    "delivery",
                    existing.id,
                    before,
                    {**before, **change},
                )
                corrected += 1
        uow.commit()
    return Imported(created, corrected, unchanged, tuple(errors))


# ---------------------------------------------------------------------------------------------
# billing


@dataclass(frozen=True, slots=True)
class PrepareBilling:
    entity: str
    through: date
    document_date: date | None = None  # of the drafts and credit notes; default: today
    # False: a delivery whose correction needs a credit note (it takes back from an issued
    # invoice) is held instead, for someone who may issue credit notes (the API passes
    # whether its caller may).
    issue_credit_notes: bool = True


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    kind: str  # draft | correcting_line | credit_note
    document_id: int
    number: str  # a credit note's number; "" for drafts
    customer: str
    lines: int
    net_minor: int
    currency: str
    deliveries: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Held:
    """A delivery not billed in this run, and why (a business rule, fixable at the source)."""

    delivery: str
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class Prepared:
    documents: tuple[PreparedDocument, ...] = ()
    held: tuple[Held, ...] = field(default=())
    looked_at: int = 0


@dataclass(slots=True)
class _Due:
    """A delivery's pending work in this run."""

    row: Any
    contract: Any
    correction: Correction
    unit_price: Decimal = Decimal(0)
    net_minor: int = 0


def prepare_billing(uow: UnitOfWork, cmd: PrepareBilling) -> Prepared:
    """Turn every confirmed delivery up to `through` that is not (fully) billed into draft
    invoice lines, and every corrected delivery into a correcting line or credit note."""
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        on = cmd.document_date or uow.clock.today()
        dues, held, looked_at = _plan(uow, entity, cmd.through)
    if not cmd.issue_credit_notes:
        dues = _hold_credit_notes(dues, held)
    documents: list[PreparedDocument] = []
    documents.extend(_take_back(uow, entity, dues, on))
    documents.extend(_bill(uow, entity, dues, on))
    _verify_drafts(uow, cmd.entity, documents)
    return Prepared(tuple(documents), tuple(held), looked_at)


def _hold_credit_notes(dues: list[_Due], held: list[Held]) -> list[_Due]:
    """The dues that need no credit note; the others are added to `held`, whole."""
    kept = []
    for due in dues:
        if any(billed.issued for billed, _ in due.correction.take_back):
            held.append(
                Held(
                    due.row.ref,
                    "quantity",
                    "the correction takes back from an issued invoice: the credit note needs "
                    "someone who may issue invoices",
                )
            )
        else:
            kept.append(due)
    return kept


def _verify_drafts(uow: UnitOfWork, entity_code: str, documents: list[PreparedDocument]) -> None:
    """Verification runs on every draft the run made or changed: its findings land in the
    discrepancy queue before anyone tries to issue it."""
    for prepared in documents:
        if prepared.kind == "credit_note":
            continue
        with uow:
            entity = entity_by_code(uow, entity_code)
            doc = uow.documents.get(prepared.document_id)
            if doc is not None and doc.status == "draft":
                refresh_findings(uow, entity, doc)
                uow.commit()


def _plan(uow: UnitOfWork, entity: Any, through: date) -> tuple[list[_Due], list[Held], int]:
    repo = uow.commercial
    rows = repo.deliveries(entity.id, through, False, PREPARE_DELIVERIES_MAX, unsettled_only=True)
    by_delivery: dict[int, list[Any]] = {}
    for b in repo.billings([r.id for r in rows]):
        by_delivery.setdefault(int(b.delivery_id), []).append(b)
    contracts = _contracts_in_force(uow, entity, rows)
    prices = _contract_prices(repo, [c.id for c in contracts.values() if c is not None])
    po_lines = repo.po_lines_by_id([r.po_line_id for r in rows if r.po_line_id])
    consumed = {k: list(v) for k, v in repo.po_consumption(list(po_lines)).items()}
    contract_billed: dict[int, int] = {}
    dues: list[_Due] = []
    held: list[Held] = []
    for row in rows:
        billings = by_delivery.get(int(row.id), [])
        target = row.quantity if row.confirmed else Decimal(0)
        if not billings and target == 0:
            continue
        plan = correction_plan(target, row.fixed_price, _billed(billings))
        if plan.nothing:
            continue
        contract = contracts.get(int(row.id))
        due = _Due(row, contract, plan)
        if plan.bill_quantity > 0:
            try:
                _price_and_check(uow, entity, due, prices, po_lines, consumed, contract_billed)
            except _RowBad as bad:
                held.append(Held(row.ref, bad.field, bad.reason))
                if not plan.take_back:
                    continue
                due.correction = Correction(Decimal(0), plan.take_back)
        dues.append(due)
    return dues, held, len(rows)


def _billed(billings: Sequence[Any]) -> list[Billed]:
    taken: dict[int, Decimal] = {}
    for b in billings:
        if b.reverses_id is not None:
            taken[int(b.reverses_id)] = taken.get(int(b.reverses_id), Decimal(0)) - b.quantity
    return [
        Billed(
            int(b.id),
            int(b.document_id),
            int(b.line_no),
            b.quantity,
            b.unit_price,
            b.document_status == "issued",
            taken.get(int(b.id), Decimal(0)),
        )
        for b in billings
        if b.reverses_id is None
    ]


def _contracts_in_force(uow: UnitOfWork, entity: Any, rows: Sequence[Any]) -> dict[int, Any]:
    """Per delivery: its contract, else the customer's contract in force on the delivery date
    (the latest to start), else None."""
    repo = uow.commercial
    all_contracts = repo.contracts(entity.id, PREPARE_DELIVERIES_MAX)
    by_id = {int(c.id): c for c in all_contracts}
    by_customer: dict[int, list[Any]] = {}
    for c in all_contracts:
        by_customer.setdefault(int(c.customer_id), []).append(c)
    out: dict[int, Any] = {}
    for row in rows:
        if row.contract_id is not None:
            out[int(row.id)] = by_id[int(row.contract_id)]
            continue
        candidates = [
            c
            for c in by_customer.get(int(row.customer_id), [])
            if c.valid_from <= row.delivered_on
            and (c.valid_to is None or row.delivered_on <= c.valid_to)
        ]
        out[int(row.id)] = max(candidates, key=lambda c: (c.valid_from, c.id), default=None)
    return out


def _contract_prices(repo: Any, contract_ids: Sequence[int]) -> dict[int, list[ContractPrice]]:
    out: dict[int, list[ContractPrice]] = {}
    if not contract_ids:
        return out
    for p in repo.contract_prices(contract_ids):
        out.setdefault(int(p.contract_id), []).append(
            ContractPrice(p.charge_code, p.effective_from, p.unit_price)
        )
    return out


def _currency_of(due: _Due) -> str:
    return str(due.contract.currency if due.contract is not None else due.row.customer_currency)


def _price_and_check(
    uow: UnitOfWork,
    entity: Any,
    due: _Due,
    prices: dict[int, list[ContractPrice]],
    po_lines: dict[int, Any],
    consumed: dict[int, list[Any]],
    contract_billed: dict[int, int],
) -> None:
    """Price what a delivery still needs billed, and hold it back (raise _RowBad) when its
    contract or purchase order forbids billing it now."""
    row, contract, qty = due.row, due.contract, due.correction.bill_quantity
    currency = _currency_of(due)
    unit: Decimal | None = row.fixed_price
    if unit is None and contract is not None:
        unit = contract_price(prices.get(int(contract.id), []), row.charge_code, row.delivered_on)
    if unit is None:
        unit = _catalog_unit_price(uow, row, currency, qty)
        if contract is not None:
            unit = discounted(unit, contract.discount_percent)
    due.unit_price = unit
    due.net_minor = round_to_minor(qty * unit, currency, Rounding(entity.rounding))
    if contract is not None and contract.po_required and row.po_line_id is None:
        raise _RowBad("po", f"contract {contract.number} requires a purchase order")
    if row.po_line_id is not None:
        line = po_lines[int(row.po_line_id)]
        if (line.valid_from and row.delivered_on < line.valid_from) or (
            line.valid_to and row.delivered_on > line.valid_to
        ):
            raise _RowBad(
                "po", f"purchase order {line.po_number} is not valid on {row.delivered_on}"
            )
        used = consumed.setdefault(int(line.id), [Decimal(0), 0])
        if line.quantity is not None and used[0] + qty > line.quantity:
            raise _RowBad(
                "quantity",
                f"line {line.line_no} of {line.po_number} allows {line.quantity}; "
                f"{used[0]} billed, {qty} more would exceed it",
            )
        if line.amount_ceiling_minor is not None and used[1] + due.net_minor > int(
            line.amount_ceiling_minor
        ):
            raise _RowBad(
                "amount",
                f"line {line.line_no} of {line.po_number} would exceed its amount ceiling",
            )
        used[0] += qty
        used[1] += due.net_minor
    if contract is not None and contract.spending_cap_minor is not None:
        key = int(contract.id)
        if key not in contract_billed:
            contract_billed[key] = uow.commercial.contract_billed_minor(key)
        if contract_billed[key] + due.net_minor > int(contract.spending_cap_minor):
            raise _RowBad("amount", f"contract {contract.number} would exceed its spending cap")
        contract_billed[key] += due.net_minor


def _catalog_unit_price(uow: UnitOfWork, row: Any, currency: str, qty: Decimal) -> Decimal:
    """The catalog's price per unit for `qty` units on the delivery date."""
    stored = [p for p in uow.catalog.prices_of(row.charge_code_id) if p.currency == currency]
    options = [
        EffectivePrice(
            p.currency,
            p.effective_from,
            spec_from_params(p.model, json.loads(p.params)),
            bool(p.includes_tax),
            int(p.id),
        )
        for p in stored
    ]
    try:
        price = select_price(options, currency, row.delivered_on)
    except InvalidInput:
        raise _RowBad(
            "charge_code",
            f"{row.charge_code} has no {currency} catalog or contract price on {row.delivered_on}",
        ) from None
    if price.includes_tax:
        raise _RowBad(
            "charge_code",
            f"the catalog price of {row.charge_code} includes tax; give the contract a net price",
        )
    if price.spec.model is PriceModel.PERCENTAGE:
        raise _RowBad("charge_code", f"{row.charge_code} has a percentage price")
    if price.spec.model is PriceModel.PER_UNIT:
        return price.spec.unit_price
    amount = price_amount(price.spec, qty)
    return (amount / qty).quantize(_QUANTUM)


def _key(kind: str, parts: Sequence[Any]) -> str:
    return f"{kind}:" + hashlib.sha256(chain.canonical({"p": list(parts)})).hexdigest()[:48]


def _describe(row: Any) -> str:
    what = {"shipment": "Delivery", "timesheet": "Timesheet", "milestone": "Milestone"}[row.kind]
    extra = f", {row.role}" if row.role else ""
    text = f"{what} {row.ref} of {row.delivered_on.isoformat()}{extra}"
    if row.description:
        text += f": {row.description}"
    return text[:500]


def _bill(uow: UnitOfWork, entity: Any, dues: list[_Due], on: date) -> list[PreparedDocument]:
    to_bill = [d for d in dues if d.correction.bill_quantity > 0]
    by_id = {int(d.row.id): d for d in to_bill}
    items = [
        ToBill(
            int(d.row.id),
            int(d.row.customer_id),
            _currency_of(d),
            int(d.contract.id) if d.contract is not None else None,
            Grouping(d.contract.grouping) if d.contract is not None else Grouping.PER_PERIOD,
            Period(d.contract.period) if d.contract is not None else Period.MONTH,
            d.row.po_number or "",
            d.row.delivered_on,
            d.row.ref,
        )
        for d in to_bill
    ]
    out: list[PreparedDocument] = []
    for group in group_items(items, MAX_LINES_PER_DOCUMENT):
        members = [by_id[i.delivery_id] for i in group]
        first = members[0]
        specs = tuple(
            inv.LineSpec(
                d.row.charge_code,
                format(d.correction.bill_quantity, "f"),
                _describe(d.row),
                format(d.unit_price, "f"),
            )
            for d in members
        )
        pos = {d.row.po_number for d in members if d.row.po_number}
        key = _key(
            "prepare",
            [
                [int(d.row.id), int(d.row.revision), str(d.correction.bill_quantity)]
                for d in members
            ],
        )
        created = inv.create_draft(
            uow,
            inv.CreateDraft(
                entity.code,
                first.row.customer_code,
                on,
                group[0].currency,
                specs,
                buyer_reference=pos.pop() if len(pos) == 1 else "",
                idempotency_key=key,
            ),
        )
        out.append(_link_draft(uow, entity, created, members))
    return out


def _link_draft(
    uow: UnitOfWork, entity: Any, created: inv.DraftCreated, members: list[_Due]
) -> PreparedDocument:
    with uow:
        repo = uow.commercial
        if not repo.billings_of_document(created.id):  # an earlier, interrupted run linked it
            lines = {int(ln.line_no): ln for ln in uow.documents.lines(created.id)}
            now = uow.clock.now()
            repo.add_billings(
                [
                    {
                        "delivery_id": int(d.row.id),
                        "document_id": created.id,
                        "line_no": n,
                        "po_line_id": d.row.po_line_id,
                        "quantity": d.correction.bill_quantity,
                        "unit_price": lines[n].unit_price,
                        "net_minor": int(lines[n].net_minor),
                        "reverses_id": None,
                        "revision": int(d.row.revision),
                        "created_at": now,
                    }
                    for n, d in enumerate(members, start=1)
                ]
            )
            terms = members[0].contract.payment_terms if members[0].contract is not None else None
            if terms:
                uow.documents.update(created.id, {"payment_terms": terms})
            audit(
                uow,
                entity.id,
                "billing.prepared",
                "document",
                created.id,
                None,
                {"deliveries": [d.row.ref for d in members], "net_minor": created.net_minor},
            )
            uow.commit()
    return PreparedDocument(
        "draft",
        created.id,
        "",
        members[0].row.customer_code,
        created.lines,
        created.net_minor,
        created.currency,
        tuple(d.row.ref for d in members),
    )


def _take_back(uow: UnitOfWork, entity: Any, dues: list[_Due], on: date) -> list[PreparedDocument]:
    """Credit notes for issued lines, correcting lines on drafts, for every quantity a
    corrected delivery takes back."""
    by_document: dict[int, list[tuple[_Due, Billed, Decimal]]] = {}
    for due in dues:
        for billed, qty in due.correction.take_back:
            by_document.setdefault(billed.document_id, []).append((due, billed, qty))
    out: list[PreparedDocument] = []
    for document_id in sorted(by_document):
        entries = sorted(by_document[document_id], key=lambda e: e[1].line_no)
        if entries[0][1].issued:
            out.append(_credit(uow, entity, document_id, entries, on))
        else:
            out.append(_correct_draft(uow, entity, document_id, entries))
    return out


def _credit(
    uow: UnitOfWork,
    entity: Any,
    document_id: int,
    entries: list[tuple[_Due, Billed, Decimal]],
    on: date,
) -> PreparedDocument:
    with uow:
        invoice = uow.documents.get(document_id)
        on = max(on, invoice.document_date)
    refs = sorted({e[0].row.ref for e in entries})
    key = _key(
        "prepare-credit",
        [[e[1].billing_id, int(e[0].row.revision), str(e[2])] for e in entries],
    )
    issued = inv.credit_invoice(
        uow,
        inv.CreditInvoice(
            entity.code,
            invoice.number,
            f"correction of deliver{'y' if len(refs) == 1 else 'ies'} {', '.join(refs)}"[:500],
            on,
            tuple((e[1].line_no, format(e[2], "f")) for e in entries),
            idempotency_key=key,
        ),
    )
    with uow:
        repo = uow.commercial
        if not repo.billings_of_document(issued.id):
            lines = {int(ln.line_no): ln for ln in uow.documents.lines(issued.id)}
            now = uow.clock.now()
            repo.add_billings(
                [
                    {
                        "delivery_id": int(due.row.id),
                        "document_id": issued.id,
                        "line_no": n,
                        "po_line_id": due.row.po_line_id,
                        "quantity": -qty,
                        "unit_price": billed.unit_price,
                        "net_minor": -int(lines[n].net_minor),
                        "reverses_id": billed.billing_id,
                        "revision": int(due.row.revision),
                        "created_at": now,
                    }
                    for n, (due, billed, qty) in enumerate(entries, start=1)
                ]
            )
            audit(
                uow,
                entity.id,
                "billing.credited",
                "document",
                issued.id,
                None,
                {"deliveries": refs, "invoice": invoice.number},
            )
            uow.commit()
    return PreparedDocument(
        "credit_note",
        issued.id,
        issued.number,
        entries[0][0].row.customer_code,
        len(entries),
        -issued.net_minor,
        issued.currency,
        tuple(refs),
    )


def _correct_draft(
    uow: UnitOfWork, entity: Any, document_id: int, entries: list[tuple[_Due, Billed, Decimal]]
) -> PreparedDocument:
    """Correcting lines (negative quantities at the billed price) added to the draft that
    billed the deliveries. Their descriptions name delivery and revision, so a run interrupted
    after adding them finds them instead of adding them again."""
    specs = [
        (
            due,
            billed,
            qty,
            inv.LineSpec(
                due.row.charge_code,
                format(-qty, "f"),
                f"Correction of {due.row.ref} (revision {due.row.revision})",
                format(billed.unit_price, "f"),
            ),
        )
        for due, billed, qty in entries
    ]
    with uow:
        present = {ln.description for ln in uow.documents.lines(document_id)}
    missing = tuple(s for *_, s in specs if s.description not in present)
    if missing:
        inv.add_lines(uow, inv.AddLines(entity.code, document_id, missing))
    with uow:
        repo = uow.commercial
        linked = {int(b.line_no) for b in repo.billings_of_document(document_id)}
        lines = uow.documents.lines(document_id)
        by_description = {ln.description: ln for ln in lines}
        now = uow.clock.now()
        rows = []
        for due, billed, qty, spec in specs:
            line = by_description[spec.description]
            if int(line.line_no) in linked:
                continue
            rows.append(
                {
                    "delivery_id": int(due.row.id),
                    "document_id": document_id,
                    "line_no": int(line.line_no),
                    "po_line_id": due.row.po_line_id,
                    "quantity": -qty,
                    "unit_price": billed.unit_price,
                    "net_minor": int(line.net_minor),
                    "reverses_id": billed.billing_id,
                    "revision": int(due.row.revision),
                    "created_at": now,
                }
            )
        repo.add_billings(rows)
        net = sum(int(r["net_minor"]) for r in rows)
        audit(
            uow,
            entity.id,
            "billing.corrected",
            "document",
            document_id,
            None,
            {"deliveries": [e[0].row.ref for e in entries], "net_minor": net},
        )
        doc = uow.documents.get(document_id)
        uow.commit()
    return PreparedDocument(
        "correcting_line",
        document_id,
        "",
        entries[0][0].row.customer_code,
        len(rows),
        net,
        doc.currency,
        tuple(sorted({e[0].row.ref for e in entries})),
    )


# ---------------------------------------------------------------------------------------------
# listings (read-only)


def list_contracts(uow: UnitOfWork, entity: str) -> list[Any]:
    with uow:
        return list(uow.commercial.contracts(entity_by_code(uow, entity).id, MAX_LIST_ROWS))


def list_contract_prices(uow: UnitOfWork, entity: str, contract: str) -> list[Any]:
    with uow:
        row = _contract(uow, entity_by_code(uow, entity), contract)
        return list(uow.commercial.contract_prices([row.id]))


def list_purchase_orders(uow: UnitOfWork, entity: str) -> list[dict[str, Any]]:
    """Every PO line with what has been billed on it (quantity and net minor units)."""
    with uow:
        repo = uow.commercial
        rows = repo.po_lines(entity_by_code(uow, entity).id, MAX_LIST_ROWS)
        used = repo.po_consumption([r.line_id for r in rows if r.line_id is not None])
        return [
            {
                **dict(r._mapping),
                "used_quantity": used.get(r.line_id, (Decimal(0), 0))[0],
                "used_minor": used.get(r.line_id, (Decimal(0), 0))[1],
            }
            for r in rows
        ]


def list_deliveries(uow: UnitOfWork, entity: str, through: date | None = None) -> list[Any]:
    """Deliveries with what billed them: (row, billed quantity, documents)."""
    with uow:
        repo = uow.commercial
        rows = repo.deliveries(entity_by_code(uow, entity).id, through, False, MAX_LIST_ROWS)
        billings: dict[int, list[Any]] = {}
        for b in repo.billings([r.id for r in rows]):
            billings.setdefault(int(b.delivery_id), []).append(b)
        return [
            (
                r,
                sum((b.quantity for b in billings.get(int(r.id), [])), Decimal(0)),
                tuple(
                    f"{b.document_number or f'draft {b.document_id}'}/{b.line_no}"
                    for b in billings.get(int(r.id), [])
                ),
            )
            for r in rows
        ]
