"""Money in and out: payments, allocations, customer credit, refunds and write-offs.

A payment first becomes customer credit (Dr bank / Cr customer credit); allocating it to
invoices moves that credit onto their receivables. What is not allocated stays customer credit,
to be applied later or refunded. Every step posts its journal entry in the same transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from openbill.domain.fx import convert_minor, parse_rate, realised
from openbill.domain.invoice import DocumentKind
from openbill.domain.ledger import (
    Account,
    fx_payment_allocated,
    payment_allocated,
    payment_received,
    payment_reversed,
    refund_paid,
    written_off,
)
from openbill.domain.money import Rounding, format_minor, round_to_minor, to_decimal
from openbill.domain.payment import OpenItem, plan_oldest_first
from openbill.domain.reference import referenced_keys
from openbill.domain.rejections import InvalidAmount, InvalidInput, InvalidState, NotFound
from openbill.ports import UnitOfWork
from openbill.usecases import webhooks
from openbill.usecases._support import (
    audit,
    chained_insert,
    customer_by_code,
    document_by_number,
    entity_by_code,
    idempotent,
    post,
)
from openbill.usecases.fx import rate_between
from openbill.usecases.invoices import apply_credit_note

__all__ = [
    "ALLOCATE",
    "RecordPayment",
    "ReversePayment",
    "SetTolerance",
    "named_invoices",
    "record_payment_in",
    "reverse_payment",
    "reverse_payment_in",
    "refund_in",
    "bank_account_of_payment",
    "set_tolerance",
    "PaymentRecorded",
    "AllocatePayment",
    "ApplyCredit",
    "Refund",
    "WriteOff",
    "Done",
    "record_payment",
    "allocate_payment",
    "apply_credit",
    "refund",
    "write_off",
    "payment_payload",
    "METHODS",
]

METHODS = ("bank_transfer", "card", "direct_debit", "cash", "cheque", "other")
# How a payment is allocated: "auto" pays the invoices its reference names, or oldest first
# when it names none; "reference" only the named ones; "oldest" oldest due first; "explicit"
# the (invoice, amount) pairs given; "none" keeps it all as customer credit.
ALLOCATE = ("auto", "reference", "oldest", "explicit", "none")
MAX_PAYMENT_MINOR = 10**15


@dataclass(frozen=True, slots=True)
class RecordPayment:
    entity: str
    customer: str
    amount: str
    currency: str = ""
    received_on: date | None = None
    method: str = "bank_transfer"
    reference: str = ""
    allocate: str = "oldest"  # one of ALLOCATE; "explicit" with `to`
    to: tuple[tuple[str, str], ...] = ()  # (invoice number, amount in the invoice's currency)
    idempotency_key: str = ""
    # Settling invoices in another currency than the payment's: 1 invoice-currency unit =
    # `rate` payment-currency units; empty: the stored rate of the payment date.
    rate: str = ""
    invoice_currency: str = ""  # for oldest-first across currencies; "" = the payment's
    close_small_difference: bool = True  # within the currency's tolerance


@dataclass(frozen=True, slots=True)
class PaymentRecorded:
    id: int
    currency: str
    amount_minor: int
    allocated_minor: int  # of the payment, in its currency
    credit_minor: int  # what the customer has as credit after this payment
    invoices: tuple[str, ...] = ()  # the invoices it paid (numbers)
    written_off_minor: int = 0  # small differences closed
    fx_difference_minor: int = 0  # realised, in base currency (+ gain)
    how: str = ""  # how it was allocated: reference, oldest, explicit, none
    written_off_currency: str = ""
    base_currency: str = ""
    write_off_ids: tuple[int, ...] = ()  # the small-difference write-offs it made
    entry_id: int = 0  # the journal entry of the money received


@dataclass(frozen=True, slots=True)
class ReversePayment:
    entity: str
    payment_id: int
    reason: str
    on: date | None = None


@dataclass(frozen=True, slots=True)
class SetTolerance:
    entity: str
    currency: str
    amount: str  # "0" switches small-difference write-offs off


@dataclass(frozen=True, slots=True)
class AllocatePayment:
    entity: str
    payment_id: int
    to: tuple[tuple[str, str], ...] = ()  # empty: by its reference, else oldest first
    on: date | None = None
    rate: str = ""
    invoice_currency: str = ""
    close_small_difference: bool = True


@dataclass(frozen=True, slots=True)
class ApplyCredit:
    entity: str
    customer: str
    currency: str = ""
    on: date | None = None


@dataclass(frozen=True, slots=True)
class Refund:
    entity: str
    customer: str
    amount: str
    currency: str = ""
    refunded_on: date | None = None
    method: str = "bank_transfer"
    reference: str = ""


@dataclass(frozen=True, slots=True)
class WriteOff:
    entity: str
    invoice: str
    reason: str
    amount: str = ""  # empty: everything still open
    on: date | None = None


@dataclass(frozen=True, slots=True)
class Done:
    id: int
    currency: str
    amount_minor: int
    detail: str = ""


def payment_payload(values: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "entity_id",
        "customer_id",
        "currency",
        "amount_minor",
        "method",
        "received_on",
        "reference",
    )
    return {k: values[k] for k in keys}


def _minor(text: str, currency: str, entity: Any, record: str, field: str = "amount") -> int:
    try:
        amount = to_decimal(text, field=field)
    except InvalidAmount as exc:
        raise InvalidAmount(exc.reason, record=record, field=field) from None
    minor = round_to_minor(amount, currency, Rounding(entity.rounding))
    if minor <= 0:
        raise InvalidAmount("the amount must be above zero", record=record, field=field)
    if minor > MAX_PAYMENT_MINOR:
        raise InvalidAmount(
            "the amount is beyond any plausible payment", record=record, field=field
        )
    if to_decimal(format_minor(minor, currency)) != amount:
        raise InvalidAmount(
            f"{text} has more decimals than {currency} allows", record=record, field=field
        )
    return minor


def _open_invoices(uow: UnitOfWork, customer_id: int, currency: str) -> list[OpenItem]:
    rows = uow.ledger.open_documents(customer_id, currency, DocumentKind.INVOICE.value)
    return [OpenItem(r.id, r.number, int(r.open_minor)) for r in rows if r.open_minor > 0]


def _allocate(
    uow: UnitOfWork,
    entity: Any,
    customer_id: int,
    payment_id: int,
    currency: str,
    plan: tuple[tuple[int, int], ...],
    on: date,
) -> int:
    numbers = {item.document_id: item.number for item in _open_invoices(uow, customer_id, currency)}
    total = 0
    for invoice_id, amount in plan:
        allocation_id = uow.money.add_allocation(
            {
                "entity_id": entity.id,
                "customer_id": customer_id,
                "payment_id": payment_id,
                "credit_note_id": None,
                "invoice_id": invoice_id,
                "amount_minor": amount,
                "allocated_on": on,
                "created_at": uow.clock.now(),
            }
        )
        text = f"payment {payment_id} to {numbers.get(invoice_id, invoice_id)}"
        entry = payment_allocated(on, text, customer_id, currency, invoice_id, amount)
        post(uow, entity.id, entry, "allocations", allocation_id)
        webhooks.invoice_settled(uow, entity.id, invoice_id, f"allocation:{allocation_id}")
        total += amount
    return total


@dataclass(frozen=True, slots=True)
class _Target:
    id: int
    number: str
    currency: str
    open_minor: int
    document_date: date


@dataclass(frozen=True, slots=True)
class _Piece:
    target: _Target
    amount_minor: int  # in the invoice's currency
    cost_minor: int  # in the payment's currency
    rate: Decimal | None  # 1 invoice-currency unit = rate payment-currency units; None: same


@dataclass
class _Outcome:
    allocated_minor: int = 0
    invoices: list[str] = field(default_factory=list)
    written_off_minor: int = 0
    written_off_currency: str = ""
    fx_difference_minor: int = 0
    write_off_ids: list[int] = field(default_factory=list)


_KEY = re.compile(r"([A-Z]+)(\d{4})(\d{6})")


def _target(uow: UnitOfWork, doc: Any) -> _Target:
    return _Target(
        doc.id, doc.number, doc.currency, uow.ledger.document_open(doc.id), doc.document_date
    )


def named_invoices(uow: UnitOfWork, entity: Any, reference: str) -> list[Any]:
    """The issued invoices a payment reference names (RF creditor references first, then
    invoice numbers in the text), open or not, each once, whoever's they are."""
    rf_keys, number_keys = referenced_keys(reference)
    found: list[Any] = []
    for key in rf_keys + number_keys:
        match = _KEY.fullmatch(key)
        if match is None:
            continue
        doc = uow.documents.brief_by_number(entity.id, f"{match[1]}-{match[2]}-{match[3]}")
        if doc is None or doc.kind != DocumentKind.INVOICE or doc.status != "issued":
            continue
        if all(d.id != doc.id for d in found):
            found.append(doc)
    return found


def _referenced(uow: UnitOfWork, entity: Any, customer: Any, reference: str) -> list[_Target]:
    """The invoices a payment reference names. A reference naming another customer's invoice
    is refused: paying it here would settle the wrong customer's debt."""
    out: list[_Target] = []
    for doc in named_invoices(uow, entity, reference):
        if doc.customer_id != customer.id:
            other = uow.customers.get(doc.customer_id)
            raise InvalidInput(
                f"the reference names {doc.number}, an invoice of {other.code}, not of "
                f"{customer.code}; record the payment for {other.code}, or allocate it by hand",
                record="payment",
                field="reference",
            )
        out.append(_target(uow, doc))
    return out


def _oldest(uow: UnitOfWork, customer_id: int, currency: str) -> list[_Target]:
    rows = uow.ledger.open_documents(customer_id, currency, DocumentKind.INVOICE.value)
    return [
        _Target(r.id, r.number, currency, int(r.open_minor), r.document_date)
        for r in rows
        if r.open_minor > 0
    ]


class _Rates:
    """The settlement rate per invoice currency: the one the user gave, else the stored rate
    of the payment date."""

    def __init__(self, uow: UnitOfWork, entity: Any, currency: str, on: date, given: str) -> None:
        self.uow, self.entity, self.currency, self.on = uow, entity, currency, on
        self.given = parse_rate(given) if given else None
        self.cache: dict[str, Decimal] = {}

    def __call__(self, invoice_currency: str) -> Decimal:
        if invoice_currency not in self.cache:
            self.cache[invoice_currency] = self.given or (
                rate_between(self.uow, self.entity, invoice_currency, self.currency, self.on).rate
            )
        return self.cache[invoice_currency]


def _cost(
    piece_minor: int, target: _Target, currency: str, rates: _Rates
) -> tuple[int, Decimal | None]:
    if target.currency == currency:
        return piece_minor, None
    rate = rates(target.currency)
    return convert_minor(piece_minor, target.currency, currency, rate), rate


def _plan_in_order(left: int, targets: list[_Target], currency: str, rates: _Rates) -> list[_Piece]:
    """Pay `targets` in order until the money runs out; across currencies at the rate."""
    pieces: list[_Piece] = []
    for target in targets:
        if left <= 0:
            break
        if target.open_minor <= 0:
            continue
        cost, rate = _cost(target.open_minor, target, currency, rates)
        if cost <= left:
            pieces.append(_Piece(target, target.open_minor, cost, rate))
            left -= cost
            continue
        if rate is None:
            pieces.append(_Piece(target, left, left, None))
        else:
            amount = min(
                target.open_minor,
                convert_minor(left, currency, target.currency, Decimal(1) / rate),
            )
            if amount <= 0:
                break
            pieces.append(_Piece(target, amount, left, rate))
        left = 0
    return pieces


def _plan_explicit(
    uow: UnitOfWork,
    entity: Any,
    customer: Any,
    available: int,
    currency: str,
    to: tuple[tuple[str, str], ...],
    rates: _Rates,
) -> list[_Piece]:
    pieces: list[_Piece] = []
    for number, text in to:
        record = f"allocation to {number}"
        doc = uow.documents.brief_by_number(entity.id, number)
        if doc is None:
            raise NotFound(
                f"no issued document numbered {number!r}", record="document", field="number"
            )
        if doc.kind != DocumentKind.INVOICE or doc.customer_id != customer.id:
            raise InvalidAmount(
                f"{number} is not an invoice of {customer.code}", record=record, field="invoice"
            )
        target = _target(uow, doc)
        amount = _minor(text, target.currency, entity, record)
        if amount > target.open_minor:
            raise InvalidAmount(
                f"{format_minor(amount, target.currency)} is more than the "
                f"{format_minor(max(target.open_minor, 0), target.currency)} {target.currency} "
                f"open on {number}",
                record=record,
                field="amount",
            )
        cost, rate = _cost(amount, target, currency, rates)
        pieces.append(_Piece(target, amount, cost, rate))
    if sum(p.cost_minor for p in pieces) > available:
        raise InvalidAmount(
            f"the allocations add up to more than the {format_minor(available, currency)} "
            f"{currency} available",
            record="payment",
            field="to",
        )
    return pieces


def _apply(
    uow: UnitOfWork,
    entity: Any,
    customer: Any,
    payment: Any,
    pieces: list[_Piece],
    on: date,
) -> _Outcome:
    """Write the allocations and their journal entries; cross-currency ones with the rate
    used and the realised exchange difference."""
    outcome = _Outcome()
    base = entity.base_currency
    for piece in pieces:
        target = piece.target
        allocation_id = uow.money.add_allocation(
            {
                "entity_id": entity.id,
                "customer_id": customer.id,
                "payment_id": payment.id,
                "credit_note_id": None,
                "invoice_id": target.id,
                "amount_minor": piece.amount_minor,
                "allocated_on": on,
                "created_at": uow.clock.now(),
            }
        )
        text = f"payment {payment.id} to {target.number}"
        if piece.rate is None:
            entry = payment_allocated(
                on, text, customer.id, payment.currency, target.id, piece.amount_minor
            )
        else:
            diff = _fx_difference(uow, entity, payment, piece, allocation_id)
            outcome.fx_difference_minor += diff
            entry = fx_payment_allocated(
                on,
                f"{text}: 1 {target.currency} = {piece.rate} {payment.currency}",
                customer.id,
                target.id,
                (payment.currency, piece.cost_minor),
                (target.currency, piece.amount_minor),
                base,
                diff,
            )
        post(uow, entity.id, entry, "allocations", allocation_id)
        webhooks.invoice_settled(uow, entity.id, target.id, f"allocation:{allocation_id}")
        outcome.allocated_minor += piece.cost_minor
        if target.number not in outcome.invoices:
            outcome.invoices.append(target.number)
    return outcome


def _fx_difference(
    uow: UnitOfWork, entity: Any, payment: Any, piece: _Piece, allocation_id: int
) -> int:
    base = entity.base_currency
    target, rate = piece.target, piece.rate
    assert rate is not None
    if target.currency == base:
        # Settled in base currency at the rate used: received and carried are the same.
        payment_rate, invoice_rate = Decimal(1) / rate, Decimal(1)
        received = carried = piece.amount_minor
    else:
        payment_rate = (
            Decimal(1)
            if payment.currency == base
            else rate_between(uow, entity, payment.currency, base, payment.received_on).rate
        )
        invoice_rate = rate_between(uow, entity, target.currency, base, target.document_date).rate
        result = realised(
            piece.cost_minor,
            payment.currency,
            payment_rate,
            piece.amount_minor,
            target.currency,
            invoice_rate,
            base,
        )
        received, carried = result.received_base_minor, result.carried_base_minor
    uow.fx.add_fx_allocation(
        {
            "allocation_id": allocation_id,
            "payment_id": payment.id,
            "payment_currency": payment.currency,
            "payment_minor": piece.cost_minor,
            "rate": rate,
            "base_currency": base,
            "payment_rate_to_base": payment_rate.quantize(Decimal("1e-10")),
            "invoice_rate_to_base": invoice_rate,
            "received_base_minor": received,
            "carried_base_minor": carried,
            "difference_minor": received - carried,
        }
    )
    return received - carried


def _close_small_differences(
    uow: UnitOfWork,
    entity: Any,
    customer: Any,
    payment: Any,
    pieces: list[_Piece],
    on: date,
    made: list[int],
) -> tuple[int, str]:
    """A payment used up that leaves an invoice with a small amount open (within the
    currency's tolerance) closes it with a small-difference write-off."""
    total = 0
    tolerances: dict[str, int] = {}
    for piece in pieces:
        target = piece.target
        if target.currency not in tolerances:
            tolerances[target.currency] = uow.fx.tolerance(entity.id, target.currency)
        tolerance = tolerances[target.currency]
        if tolerance <= 0 or piece.amount_minor >= target.open_minor:
            continue  # no tolerance, or the payment settled the invoice in full
        left = uow.ledger.document_open(target.id)
        if not 0 < left <= tolerance:
            continue
        values = {
            "entity_id": entity.id,
            "invoice_id": target.id,
            "amount_minor": left,
            "reason": f"small difference on payment {payment.id}",
            "written_off_on": on,
            "created_at": uow.clock.now(),
        }
        write_off_id = uow.money.add_write_off(values)
        entry = written_off(
            on,
            f"small difference {target.number} (payment {payment.id})",
            customer.id,
            target.currency,
            target.id,
            left,
            Account.PAYMENT_DIFFERENCES,
        )
        post(uow, entity.id, entry, "write_offs", write_off_id)
        audit(uow, entity.id, "invoice.small_difference", "document", target.id, None, values)
        webhooks.invoice_settled(uow, entity.id, target.id, f"write_off:{write_off_id}")
        made.append(write_off_id)
        total += left
    return total, (pieces[0].target.currency if total else "")


def _allocate_new(
    uow: UnitOfWork,
    entity: Any,
    customer: Any,
    payment: Any,
    cmd: RecordPayment | AllocatePayment,
    available: int,
    on: date,
) -> tuple[_Outcome, str]:
    mode = cmd.allocate if isinstance(cmd, RecordPayment) else ("explicit" if cmd.to else "auto")
    rates = _Rates(uow, entity, payment.currency, on, cmd.rate)
    how = mode
    if mode == "none":
        return _Outcome(), "none"
    if mode == "explicit" or cmd.to:
        pieces = _plan_explicit(uow, entity, customer, available, payment.currency, cmd.to, rates)
        how = "explicit"
    else:
        named = (
            _referenced(uow, entity, customer, payment.reference)
            if mode in ("auto", "reference")
            else []
        )
        if named or mode == "reference":
            pieces = _plan_in_order(available, named, payment.currency, rates)
            how = "reference"
        else:
            currency = (cmd.invoice_currency or payment.currency).upper()
            targets = _oldest(uow, customer.id, currency)
            pieces = _plan_in_order(available, targets, payment.currency, rates)
            how = "oldest"
    outcome = _apply(uow, entity, customer, payment, pieces, on)
    if cmd.close_small_difference and outcome.allocated_minor == available and pieces:
        outcome.written_off_minor, outcome.written_off_currency = _close_small_differences(
            uow, entity, customer, payment, pieces, on, outcome.write_off_ids
        )
    return outcome, how


def record_payment_in(
    uow: UnitOfWork, entity: Any, cmd: RecordPayment, bank_account: str = Account.BANK
) -> PaymentRecorded:
    """Record (and allocate) a payment inside the caller's unit of work; the caller commits.
    The payments import runs a whole file through it in one transaction; bank matching names
    the ledger account of the bank account the money arrived on (`bank_account`)."""
    if cmd.method not in METHODS:
        raise InvalidInput(
            f"{cmd.method!r} is not a payment method; use one of {', '.join(METHODS)}",
            record="payment",
            field="method",
        )
    if cmd.allocate not in ALLOCATE:
        raise InvalidInput(
            f"allocate is one of {', '.join(ALLOCATE)}", record="payment", field="allocate"
        )
    if cmd.allocate == "explicit" and not cmd.to:
        raise InvalidInput(
            "say which invoices the payment pays (NUMBER:AMOUNT)", record="payment", field="to"
        )
    customer = customer_by_code(uow, entity.id, cmd.customer)
    currency = (cmd.currency or customer.currency).upper()
    amount = _minor(cmd.amount, currency, entity, "payment")
    on = cmd.received_on or uow.clock.today()
    values = {
        "entity_id": entity.id,
        "customer_id": customer.id,
        "currency": currency,
        "amount_minor": amount,
        "method": cmd.method,
        "received_on": on,
        "reference": cmd.reference,
        "created_at": uow.clock.now(),
    }
    payment_id = chained_insert(
        uow,
        "payments",
        payment_payload(values),
        lambda c: uow.money.add_payment({**values, **c}),
    )
    text = f"payment {payment_id} from {customer.code} {cmd.reference}".strip()
    entry_id = post(
        uow,
        entity.id,
        payment_received(on, text[:300], customer.id, currency, amount, bank_account),
        "payments",
        payment_id,
    )
    payment = _PaymentView(payment_id, currency, amount, on, cmd.reference)
    outcome, how = _allocate_new(uow, entity, customer, payment, cmd, amount, on)
    audit(
        uow,
        entity.id,
        "payment.recorded",
        "payment",
        payment_id,
        None,
        {
            **values,
            "allocated_minor": outcome.allocated_minor,
            "allocation": how,
            "invoices": outcome.invoices,
            "rate": cmd.rate,
        },
    )
    webhooks.payment_received(uow, entity.id, payment_id, outcome.allocated_minor, outcome.invoices)
    return PaymentRecorded(
        payment_id,
        currency,
        amount,
        outcome.allocated_minor,
        uow.ledger.customer_credit(customer.id, currency),
        tuple(outcome.invoices),
        outcome.written_off_minor,
        outcome.fx_difference_minor,
        how,
        outcome.written_off_currency,
        entity.base_currency if outcome.fx_difference_minor else "",
        tuple(outcome.write_off_ids),
        int(entry_id),
    )


@dataclass(frozen=True, slots=True)
class _PaymentView:
    id: int
    currency: str
    amount_minor: int
    received_on: date
    reference: str


def record_payment(uow: UnitOfWork, cmd: RecordPayment) -> PaymentRecorded:
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        result = idempotent(
            uow,
            "record_payment",
            cmd.idempotency_key,
            cmd,
            PaymentRecorded,
            lambda: record_payment_in(uow, entity, cmd),
        )
        uow.commit()
        return result


def allocate_payment(uow: UnitOfWork, cmd: AllocatePayment) -> Done:
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        row = uow.money.payment(cmd.payment_id)
        if row is None or row.entity_id != entity.id:
            raise NotFound(f"no payment with id {cmd.payment_id}", record="payment", field="id")
        if uow.fx.reversal_of(row.id) is not None:
            raise InvalidState(
                f"payment {row.id} was reversed; nothing of it can be allocated",
                record="payment",
                field="id",
            )
        room = min(
            row.amount_minor - uow.money.payment_used(row.id),
            uow.ledger.customer_credit(row.customer_id, row.currency),
        )
        if room <= 0:
            raise InvalidAmount(
                f"payment {row.id} has nothing left to allocate",
                record="payment",
                field="amount",
            )
        customer = uow.customers.get(row.customer_id)
        payment = _PaymentView(
            row.id, row.currency, row.amount_minor, row.received_on, row.reference
        )
        on = cmd.on or uow.clock.today()
        outcome, how = _allocate_new(uow, entity, customer, payment, cmd, room, on)
        audit(
            uow,
            entity.id,
            "payment.allocated",
            "payment",
            row.id,
            None,
            {
                "allocation": how,
                "invoices": outcome.invoices,
                "allocated_minor": outcome.allocated_minor,
            },
        )
        uow.commit()
        return Done(
            row.id, row.currency, outcome.allocated_minor, f"{len(outcome.invoices)} invoice(s)"
        )


def reverse_payment(uow: UnitOfWork, cmd: ReversePayment) -> Done:
    """A payment that bounced: the invoices it paid open again (and dunning takes them up
    again), the money leaves the bank, and the payment can no longer be allocated."""
    if not cmd.reason.strip():
        raise InvalidInput("say why the payment is reversed", record="reversal", field="reason")
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        done, _ = reverse_payment_in(uow, entity, cmd)
        uow.commit()
        return done


def bank_account_of_payment(uow: UnitOfWork, payment_id: int) -> str:
    """The ledger account the payment's money was booked on (1200, or its bank account's)."""
    for _, _, _, account, _, amount, _, _ in uow.ledger.lines_of_source("payments", payment_id):
        if account != Account.CUSTOMER_CREDIT and amount > 0:
            return str(account)
    return Account.BANK.value


def reverse_payment_in(uow: UnitOfWork, entity: Any, cmd: ReversePayment) -> tuple[Done, int]:
    """Reverse a payment inside the caller's unit of work; the caller commits. Returns the
    result and the journal entry of the reversal."""
    if not cmd.reason.strip():
        raise InvalidInput("say why the payment is reversed", record="reversal", field="reason")
    row = uow.money.payment(cmd.payment_id)
    if row is None or row.entity_id != entity.id:
        raise NotFound(f"no payment with id {cmd.payment_id}", record="payment", field="id")
    if uow.fx.reversal_of(row.id) is not None:
        raise InvalidState(f"payment {row.id} was already reversed", record="payment", field="id")
    on = cmd.on or uow.clock.today()
    if on < row.received_on:
        raise InvalidInput(
            f"a reversal cannot be dated before the payment ({row.received_on})",
            record="reversal",
            field="date",
        )
    fx_rows = {x.allocation_id: x for x in uow.fx.fx_allocations_of_payment(row.id)}
    same: list[tuple[int, str, int]] = []
    crossed: list[tuple[int, str, int, int, str, int]] = []
    numbers: list[str] = []
    used = 0
    for a in uow.fx.allocations_of_payment(row.id):
        x = fx_rows.get(a.id)
        if x is None:
            same.append((a.invoice_id, a.currency, int(a.amount_minor)))
            used += int(a.amount_minor)
        else:
            crossed.append(
                (
                    a.invoice_id,
                    a.currency,
                    int(a.amount_minor),
                    int(x.payment_minor),
                    x.base_currency,
                    int(x.difference_minor),
                )
            )
            used += int(x.payment_minor)
        if a.number not in numbers:
            numbers.append(a.number)
    unallocated = int(row.amount_minor) - used
    credit = uow.ledger.customer_credit(row.customer_id, row.currency)
    if unallocated > credit:
        raise InvalidState(
            f"{format_minor(unallocated, row.currency)} {row.currency} of payment {row.id} "
            f"is no longer held as customer credit (refunded or applied elsewhere); undo "
            "that first",
            record="payment",
            field="id",
        )
    customer = uow.customers.get(row.customer_id)
    values = {
        "entity_id": entity.id,
        "payment_id": row.id,
        "reversed_on": on,
        "reason": cmd.reason[:300],
        "created_at": uow.clock.now(),
    }
    reversal_id = uow.fx.add_reversal(values)
    entry = payment_reversed(
        on,
        f"payment {row.id} from {customer.code} reversed: {cmd.reason}"[:300],
        customer.id,
        row.currency,
        int(row.amount_minor),
        tuple(same),
        tuple(crossed),
        bank_account_of_payment(uow, row.id),
    )
    entry_id = post(uow, entity.id, entry, "payment_reversals", reversal_id)
    audit(
        uow,
        entity.id,
        "payment.reversed",
        "payment",
        row.id,
        None,
        {**values, "reopened": numbers},
    )
    return Done(row.id, row.currency, int(row.amount_minor), ", ".join(numbers)), entry_id


def set_tolerance(uow: UnitOfWork, cmd: SetTolerance) -> int:
    """The most a short payment may leave open on an invoice for it to be closed with a
    small-difference write-off, per currency; 0 switches it off."""
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        currency = cmd.currency.strip().upper()
        try:
            amount = to_decimal(cmd.amount, field="tolerance")
            minor = round_to_minor(amount, currency, Rounding(entity.rounding))
        except InvalidAmount as exc:
            raise InvalidAmount(exc.reason, record="tolerance", field="amount") from None
        if minor < 0 or to_decimal(format_minor(minor, currency)) != amount:
            raise InvalidAmount(
                f"{cmd.amount} is not a {currency} amount of zero or more",
                record="tolerance",
                field="amount",
            )
        before = uow.fx.tolerance(entity.id, currency)
        if before == minor:
            return minor  # nothing changes, nothing to audit
        uow.fx.set_tolerance(
            {
                "entity_id": entity.id,
                "currency": currency,
                "tolerance_minor": minor,
                "updated_at": uow.clock.now(),
            }
        )
        audit(
            uow,
            entity.id,
            "receivables.tolerance_set",
            "legal_entity",
            entity.id,
            {"currency": currency, "tolerance_minor": before},
            {"currency": currency, "tolerance_minor": minor},
        )
        uow.commit()
        return minor


def apply_credit(uow: UnitOfWork, cmd: ApplyCredit) -> Done:
    """Use a customer's unapplied payments, then what is left on their credit notes, on their
    open invoices, oldest first."""
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        customer = customer_by_code(uow, entity.id, cmd.customer)
        currency = (cmd.currency or customer.currency).upper()
        on = cmd.on or uow.clock.today()
        credit = uow.ledger.customer_credit(customer.id, currency)
        total = 0
        for payment_id, room in uow.money.payments_with_room(customer.id, currency):
            usable = min(room, credit - total)
            if usable <= 0:
                break
            plan = plan_oldest_first(usable, _open_invoices(uow, customer.id, currency))
            if not plan:
                break
            total += _allocate(uow, entity, customer.id, payment_id, currency, plan, on)
        total += _apply_credit_notes(uow, entity, customer.id, currency, on)
        if total:
            audit(
                uow,
                entity.id,
                "credit.applied",
                "customer",
                customer.id,
                None,
                {"currency": currency, "amount_minor": total},
            )
        uow.commit()
        return Done(customer.id, currency, total)


def _apply_credit_notes(
    uow: UnitOfWork, entity: Any, customer_id: int, currency: str, on: date
) -> int:
    """Use what is left on a customer's credit notes against their open invoices."""
    total = 0
    notes = uow.ledger.open_documents(customer_id, currency, DocumentKind.CREDIT_NOTE.value)
    for note in notes:
        left = -int(note.open_minor)
        if left <= 0:
            continue
        items = _open_invoices(uow, customer_id, currency)
        by_id = {item.document_id: item for item in items}
        for invoice_id, amount in plan_oldest_first(left, items):
            apply_credit_note(
                uow,
                entity.id,
                customer_id,
                currency,
                (note.id, note.number),
                (invoice_id, by_id[invoice_id].number),
                amount,
                on,
            )
            total += amount
    return total


def refund(uow: UnitOfWork, cmd: Refund) -> Done:
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        done, _ = refund_in(uow, entity, cmd)
        uow.commit()
        return done


def refund_in(
    uow: UnitOfWork, entity: Any, cmd: Refund, bank_account: str = Account.BANK
) -> tuple[Done, int]:
    """Pay customer credit back inside the caller's unit of work (the caller commits), from the
    bank account booked on `bank_account`. Returns the result and the refund's journal entry."""
    if cmd.method not in METHODS:
        raise InvalidInput(
            f"{cmd.method!r} is not a payment method", record="refund", field="method"
        )
    customer = customer_by_code(uow, entity.id, cmd.customer)
    currency = (cmd.currency or customer.currency).upper()
    amount = _minor(cmd.amount, currency, entity, "refund")
    credit = uow.ledger.customer_credit(customer.id, currency)
    if amount > credit:
        raise InvalidAmount(
            f"{customer.code} has {format_minor(credit, currency)} {currency} of credit; "
            f"cannot refund {format_minor(amount, currency)}",
            record="refund",
            field="amount",
        )
    on = cmd.refunded_on or uow.clock.today()
    values = {
        "entity_id": entity.id,
        "customer_id": customer.id,
        "currency": currency,
        "amount_minor": amount,
        "method": cmd.method,
        "refunded_on": on,
        "reference": cmd.reference,
        "created_at": uow.clock.now(),
    }
    refund_id = uow.money.add_refund(values)
    entry = refund_paid(
        on, f"refund {refund_id} to {customer.code}", customer.id, currency, amount, bank_account
    )
    entry_id = post(uow, entity.id, entry, "refunds", refund_id)
    audit(uow, entity.id, "refund.paid", "refund", refund_id, None, values)
    return Done(refund_id, currency, amount), entry_id


def write_off(uow: UnitOfWork, cmd: WriteOff) -> Done:
    if not cmd.reason.strip():
        raise InvalidInput("a write-off needs a reason", record="write-off", field="reason")
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        invoice = document_by_number(uow, entity.id, cmd.invoice)
        if invoice.kind != DocumentKind.INVOICE:
            raise InvalidInput(
                f"{cmd.invoice} is not an invoice", record="write-off", field="invoice"
            )
        open_minor = uow.ledger.document_open(invoice.id)
        if open_minor <= 0:
            raise InvalidAmount(
                f"{cmd.invoice} has nothing open", record="write-off", field="invoice"
            )
        amount = (
            _minor(cmd.amount, invoice.currency, entity, "write-off") if cmd.amount else open_minor
        )
        if amount > open_minor:
            raise InvalidAmount(
                f"{cmd.invoice} has only {format_minor(open_minor, invoice.currency)} open",
                record="write-off",
                field="amount",
            )
        on = cmd.on or uow.clock.today()
        values = {
            "entity_id": entity.id,
            "invoice_id": invoice.id,
            "amount_minor": amount,
            "reason": cmd.reason,
            "written_off_on": on,
            "created_at": uow.clock.now(),
        }
        write_off_id = uow.money.add_write_off(values)
        entry = written_off(
            on,
            f"write-off {cmd.invoice}: {cmd.reason}"[:300],
            invoice.customer_id,
            invoice.currency,
            invoice.id,
            amount,
        )
        post(uow, entity.id, entry, "write_offs", write_off_id)
        audit(uow, entity.id, "invoice.written_off", "document", invoice.id, None, values)
        uow.commit()
        return Done(write_off_id, invoice.currency, amount, cmd.invoice)
