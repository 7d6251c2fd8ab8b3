"""Money in and out: payments, allocations, customer credit, refunds and write-offs.

A payment first becomes customer credit (Dr bank / Cr customer credit); allocating it to
invoices moves that credit onto their receivables. What is not allocated stays customer credit,
to be applied later or refunded. Every step posts its journal entry in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from openbill.domain.invoice import DocumentKind
from openbill.domain.ledger import (
    payment_allocated,
    payment_received,
    refund_paid,
    written_off,
)
from openbill.domain.money import Rounding, format_minor, round_to_minor, to_decimal
from openbill.domain.payment import OpenItem, check_explicit, plan_oldest_first
from openbill.domain.rejections import InvalidAmount, InvalidInput, NotFound
from openbill.ports import UnitOfWork
from openbill.usecases._support import (
    audit,
    chained_insert,
    customer_by_code,
    document_by_number,
    entity_by_code,
    idempotent,
    post,
)
from openbill.usecases.invoices import apply_credit_note

__all__ = [
    "RecordPayment",
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
    allocate: str = "oldest"  # "oldest", "none", or "explicit" with `to`
    to: tuple[tuple[str, str], ...] = ()  # (invoice number, amount)
    idempotency_key: str = ""


@dataclass(frozen=True, slots=True)
class PaymentRecorded:
    id: int
    currency: str
    amount_minor: int
    allocated_minor: int
    credit_minor: int  # what the customer has as credit after this payment


@dataclass(frozen=True, slots=True)
class AllocatePayment:
    entity: str
    payment_id: int
    to: tuple[tuple[str, str], ...] = ()  # empty: oldest first
    on: date | None = None


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


def _explicit(
    uow: UnitOfWork, entity: Any, currency: str, to: tuple[tuple[str, str], ...]
) -> list[tuple[int, int]]:
    wanted = []
    for number, amount in to:
        doc = document_by_number(uow, entity.id, number)
        wanted.append((doc.id, _minor(amount, currency, entity, f"allocation to {number}")))
    return wanted


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
        total += amount
    return total


def record_payment(uow: UnitOfWork, cmd: RecordPayment) -> PaymentRecorded:
    if cmd.method not in METHODS:
        raise InvalidInput(
            f"{cmd.method!r} is not a payment method; use one of {', '.join(METHODS)}",
            record="payment",
            field="method",
        )
    if cmd.allocate not in ("oldest", "none", "explicit"):
        raise InvalidInput(
            "allocate is oldest, none or explicit", record="payment", field="allocate"
        )
    with uow:
        entity = entity_by_code(uow, cmd.entity)

        def run() -> PaymentRecorded:
            customer = customer_by_code(uow, entity.id, cmd.customer)
            currency = (cmd.currency or customer.currency).upper()
            amount = _minor(cmd.amount, currency, entity, "payment")
            on = cmd.received_on or uow.clock.today()
            wanted = _explicit(uow, entity, currency, cmd.to) if cmd.to else []
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
            entry = payment_received(on, text, customer.id, currency, amount)
            post(uow, entity.id, entry, "payments", payment_id)
            items = _open_invoices(uow, customer.id, currency)
            if wanted:
                plan = check_explicit(amount, items, wanted)
            elif cmd.allocate == "oldest":
                plan = plan_oldest_first(amount, items)
            else:
                plan = ()
            allocated = _allocate(uow, entity, customer.id, payment_id, currency, plan, on)
            audit(
                uow,
                entity.id,
                "payment.recorded",
                "payment",
                payment_id,
                None,
                {**values, "allocated_minor": allocated},
            )
            return PaymentRecorded(
                payment_id,
                currency,
                amount,
                allocated,
                uow.ledger.customer_credit(customer.id, currency),
            )

        result = idempotent(uow, "record_payment", cmd.idempotency_key, cmd, PaymentRecorded, run)
        uow.commit()
        return result


def allocate_payment(uow: UnitOfWork, cmd: AllocatePayment) -> Done:
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        payment = uow.money.payment(cmd.payment_id)
        if payment is None or payment.entity_id != entity.id:
            raise NotFound(f"no payment with id {cmd.payment_id}", record="payment", field="id")
        room = min(
            payment.amount_minor - uow.money.payment_used(payment.id),
            uow.ledger.customer_credit(payment.customer_id, payment.currency),
        )
        if room <= 0:
            raise InvalidAmount(
                f"payment {payment.id} has nothing left to allocate",
                record="payment",
                field="amount",
            )
        items = _open_invoices(uow, payment.customer_id, payment.currency)
        if cmd.to:
            plan = check_explicit(room, items, _explicit(uow, entity, payment.currency, cmd.to))
        else:
            plan = plan_oldest_first(room, items)
        on = cmd.on or uow.clock.today()
        total = _allocate(uow, entity, payment.customer_id, payment.id, payment.currency, plan, on)
        audit(
            uow,
            entity.id,
            "payment.allocated",
            "payment",
            payment.id,
            None,
            {"allocations": [list(p) for p in plan]},
        )
        uow.commit()
        return Done(payment.id, payment.currency, total, f"{len(plan)} invoice(s)")


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
    if cmd.method not in METHODS:
        raise InvalidInput(
            f"{cmd.method!r} is not a payment method", record="refund", field="method"
        )
    with uow:
        entity = entity_by_code(uow, cmd.entity)
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
            on, f"refund {refund_id} to {customer.code}", customer.id, currency, amount
        )
        post(uow, entity.id, entry, "refunds", refund_id)
        audit(uow, entity.id, "refund.paid", "refund", refund_id, None, values)
        uow.commit()
        return Done(refund_id, currency, amount)


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
