"""/v1/entities/{entity}/payments: list, record (allocated as asked)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from openbill.domain.access import PAYMENTS_POST, READ
from openbill.interfaces.api.idempotency import IdempotentRoute
from openbill.interfaces.api.pagination import DEFAULT_PAGE_SIZE, Limit, decode, encode
from openbill.interfaces.api.schemas import (
    IsoDate,
    Payment,
    PaymentIn,
    PaymentPage,
    PaymentRecorded,
    amount,
)
from openbill.interfaces.api.security import Caller, allowed
from openbill.usecases import pages
from openbill.usecases import payments as pay

router = APIRouter(
    prefix="/entities/{entity}/payments", tags=["payments"], route_class=IdempotentRoute
)


def _payment(r: dict[str, Any]) -> Payment:
    cur = r["currency"]
    return Payment(
        id=r["id"],
        customer=r["customer"],
        received_on=r["received_on"],
        method=r["method"],
        reference=r["reference"] or "",
        currency=cur,
        amount=amount(r["amount_minor"], cur) or "",
        allocated=amount(r["allocated_minor"], cur) or "",
        unallocated=amount(r["unallocated_minor"], cur) or "",
        reversed_on=r["reversed_on"],
    )


@router.get("", response_model=PaymentPage, summary="Payments, in the order they were recorded")
def list_payments(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    customer: Annotated[str, Query(max_length=64)] = "",
    date_from: IsoDate | None = None,
    date_to: IsoDate | None = None,
) -> PaymentPage:
    wanted = pages.PaymentFilter(customer, date_from, date_to)
    page = pages.payments_page(
        caller.uow(read_only=True), caller.entity, decode(cursor), limit, wanted
    )
    return PaymentPage(data=[_payment(r) for r in page.rows], next_cursor=encode(page.after_id))


@router.post(
    "",
    status_code=201,
    response_model=PaymentRecorded,
    summary="Record a payment received and allocate it (auto: by reference, else oldest first)",
)
def record_payment(
    body: PaymentIn, caller: Annotated[Caller, allowed(PAYMENTS_POST)]
) -> PaymentRecorded:
    done = pay.record_payment(
        caller.uow(),
        pay.RecordPayment(
            entity=caller.entity,
            customer=body.customer,
            amount=body.amount,
            currency=body.currency.upper(),
            received_on=body.received_on,
            method=body.method,
            reference=body.reference,
            allocate=body.allocate,
            to=tuple((a.invoice, a.amount) for a in body.to),
        ),
    )
    return PaymentRecorded(
        id=done.id,
        currency=done.currency,
        amount=amount(done.amount_minor, done.currency) or "",
        allocated=amount(done.allocated_minor, done.currency) or "",
        credit=amount(done.credit_minor, done.currency) or "",
        invoices=list(done.invoices),
        how=done.how,
    )
