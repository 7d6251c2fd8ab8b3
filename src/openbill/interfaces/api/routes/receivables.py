"""Money back and money given up: refunds of customer credit, credit applied to open
invoices, write-offs, and the small-difference tolerance per currency.

    /v1/entities/{entity}/refunds                      list, pay one (payments.post)
    /v1/entities/{entity}/refunds/{id}                 one
    /v1/entities/{entity}/customers/{code}/apply-credit   use credit on open invoices
    /v1/entities/{entity}/writeoffs                    list, write one off (writeoffs.write)
    /v1/entities/{entity}/writeoffs/{id}               one
    /v1/entities/{entity}/payment-tolerances           list
    /v1/entities/{entity}/payment-tolerances/{currency}   set (writeoffs.write)

The tolerance needs `writeoffs.write`, not `payments.post`: it lets payments close small
remainders with a write-off automatically, so it is a write-off decided in advance."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from openbill.domain.access import PAYMENTS_POST, READ, WRITEOFFS_WRITE
from openbill.interfaces.api.http import RecordId, location
from openbill.interfaces.api.idempotency import IdempotentRoute
from openbill.interfaces.api.pagination import DEFAULT_PAGE_SIZE, Limit, decode, encode
from openbill.interfaces.api.schemas import IsoDate, amount
from openbill.interfaces.api.schemas_receivables import (
    CreditApplied,
    CreditApplyIn,
    Refund,
    RefundIn,
    RefundPage,
    Tolerance,
    ToleranceIn,
    WriteOff,
    WriteOffIn,
    WriteOffPage,
)
from openbill.interfaces.api.security import Caller, allowed
from openbill.usecases import pages_receivables as rp
from openbill.usecases import payments as pay

__all__ = ["router"]

router = APIRouter(prefix="/entities/{entity}", tags=["receivables"], route_class=IdempotentRoute)
CurrencyPath = Annotated[str, Path(pattern=r"^[A-Za-z]{3}$", description="e.g. EUR")]


def _refund(r: dict[str, Any]) -> Refund:
    return Refund(
        id=r["id"],
        customer=r["customer_code"],
        currency=r["currency"],
        amount=amount(r["amount_minor"], r["currency"]) or "",
        refunded_on=r["refunded_on"],
        method=r["method"],
        reference=r["reference"] or "",
    )


def _write_off(r: dict[str, Any]) -> WriteOff:
    return WriteOff(
        id=r["id"],
        invoice=r["invoice_number"],
        customer=r["customer_code"],
        currency=r["currency"],
        amount=amount(r["amount_minor"], r["currency"]) or "",
        reason=r["reason"],
        written_off_on=r["written_off_on"],
        small_difference=r["small_difference"],
        reversed_on=r["reversed_on"],
        reversal_reason=r["reversal_reason"] or "",
    )


# --- refunds --------------------------------------------------------------------------------


@router.get("/refunds", response_model=RefundPage, summary="Refunds paid, oldest first")
def list_refunds(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    customer: Annotated[str, Query(max_length=64)] = "",
    date_from: IsoDate | None = None,
    date_to: IsoDate | None = None,
) -> RefundPage:
    wanted = rp.RefundFilter(customer, date_from, date_to)
    page = rp.refunds_page(caller.uow(read_only=True), caller.entity, decode(cursor), limit, wanted)
    return RefundPage(data=[_refund(r) for r in page.rows], next_cursor=encode(page.after_id))


@router.get("/refunds/{refund_id}", response_model=Refund, summary="One refund")
def get_refund(refund_id: RecordId, caller: Annotated[Caller, allowed(READ)]) -> Refund:
    return _refund(rp.refund_record(caller.uow(read_only=True), caller.entity, refund_id))


@router.post(
    "/refunds",
    status_code=201,
    response_model=Refund,
    summary="Pay customer credit back (at most the credit the customer has)",
)
def pay_refund(
    body: RefundIn, response: Response, caller: Annotated[Caller, allowed(PAYMENTS_POST)]
) -> Refund:
    done = pay.refund(
        caller.uow(),
        pay.Refund(
            caller.entity,
            body.customer,
            body.amount,
            body.currency.upper(),
            body.date,
            body.method,
            body.reference,
        ),
    )
    response.headers["Location"] = location("entities", caller.entity, "refunds", done.id)
    return _refund(rp.refund_record(caller.uow(read_only=True), caller.entity, done.id))


# --- customer credit ------------------------------------------------------------------------


@router.post(
    "/customers/{code}/apply-credit",
    response_model=CreditApplied,
    summary="Use a customer's unapplied payments and credit notes on their open invoices, "
    "oldest first",
)
def apply_credit(
    code: str, body: CreditApplyIn, caller: Annotated[Caller, allowed(PAYMENTS_POST)]
) -> CreditApplied:
    done = pay.apply_credit(
        caller.uow(), pay.ApplyCredit(caller.entity, code, body.currency.upper(), body.date)
    )
    return CreditApplied(
        customer=code,
        currency=done.currency,
        applied=amount(done.amount_minor, done.currency) or "",
    )


# --- write-offs -----------------------------------------------------------------------------


@router.get("/writeoffs", response_model=WriteOffPage, summary="Write-offs, oldest first")
def list_write_offs(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    customer: Annotated[str, Query(max_length=64)] = "",
    invoice: Annotated[str, Query(max_length=40)] = "",
    date_from: IsoDate | None = None,
    date_to: IsoDate | None = None,
) -> WriteOffPage:
    wanted = rp.WriteOffFilter(customer, invoice, date_from, date_to)
    page = rp.write_offs_page(
        caller.uow(read_only=True), caller.entity, decode(cursor), limit, wanted
    )
    return WriteOffPage(data=[_write_off(r) for r in page.rows], next_cursor=encode(page.after_id))


@router.get("/writeoffs/{write_off_id}", response_model=WriteOff, summary="One write-off")
def get_write_off(write_off_id: RecordId, caller: Annotated[Caller, allowed(READ)]) -> WriteOff:
    return _write_off(rp.write_off_record(caller.uow(read_only=True), caller.entity, write_off_id))


@router.post(
    "/writeoffs",
    status_code=201,
    response_model=WriteOff,
    summary="Write off what is open on an invoice (or part of it)",
)
def write_off(
    body: WriteOffIn, response: Response, caller: Annotated[Caller, allowed(WRITEOFFS_WRITE)]
) -> WriteOff:
    done = pay.write_off(
        caller.uow(),
        pay.WriteOff(caller.entity, body.invoice, body.reason, body.amount, body.date),
    )
    response.headers["Location"] = location("entities", caller.entity, "writeoffs", done.id)
    return _write_off(rp.write_off_record(caller.uow(read_only=True), caller.entity, done.id))


# --- small-difference tolerance -------------------------------------------------------------


@router.get(
    "/payment-tolerances",
    response_model=list[Tolerance],
    summary="The small-difference tolerance of each currency that has one set",
)
def list_tolerances(caller: Annotated[Caller, allowed(READ)]) -> list[Tolerance]:
    rows = rp.tolerances(caller.uow(read_only=True), caller.entity)
    return [
        Tolerance(currency=r["currency"], amount=amount(r["tolerance_minor"], r["currency"]) or "")
        for r in rows
    ]


@router.put(
    "/payment-tolerances/{currency}",
    response_model=Tolerance,
    summary="Set the small-difference tolerance of a currency (0 switches it off)",
)
def set_tolerance(
    currency: CurrencyPath, body: ToleranceIn, caller: Annotated[Caller, allowed(WRITEOFFS_WRITE)]
) -> Tolerance:
    code = currency.upper()
    minor = pay.set_tolerance(caller.uow(), pay.SetTolerance(caller.entity, code, body.amount))
    return Tolerance(currency=code, amount=amount(minor, code) or "")
