"""/v1/entities/{entity}/purchase-orders: customers' purchase orders and their lines, with what
invoices have used of each line. A purchase-order number is unique per customer, so one order
is /purchase-orders/{customer}/{number}."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from openbill.domain.access import INVOICES_PREPARE, READ
from openbill.domain.rejections import InvalidState
from openbill.interfaces.api.http import location
from openbill.interfaces.api.idempotency import IdempotentRoute
from openbill.interfaces.api.pagination import DEFAULT_PAGE_SIZE, Limit, decode, encode
from openbill.interfaces.api.schemas import amount
from openbill.interfaces.api.schemas_commercial import (
    PoLine,
    PoLineIn,
    PurchaseOrder,
    PurchaseOrderIn,
    PurchaseOrderPage,
    decimal_text,
    price_text,
)
from openbill.interfaces.api.security import Caller, allowed
from openbill.usecases import commercial as com
from openbill.usecases import pages_commercial as pc

__all__ = ["router"]

router = APIRouter(
    prefix="/entities/{entity}/purchase-orders",
    tags=["purchase orders"],
    route_class=IdempotentRoute,
)


def _order(r: dict[str, Any]) -> PurchaseOrder:
    cur = r["currency"]
    return PurchaseOrder(
        number=r["number"],
        customer=r["customer_code"],
        contract=r["contract_number"],
        valid_from=r["valid_from"],
        valid_to=r["valid_to"],
        currency=cur,
        created_at=r["created_at"],
        lines=[
            PoLine(
                line_no=ln["line_no"],
                charge_code=ln["charge_code"],
                quantity=decimal_text(ln["quantity"]),
                unit_price=price_text(ln["unit_price"]),
                amount_ceiling=amount(ln["amount_ceiling_minor"], cur),
                used_quantity=decimal_text(ln["used_quantity"]) or "0",
                used_amount=amount(ln["used_minor"], cur) or "",
            )
            for ln in r["lines"]
        ],
    )


def _location(entity: str, customer: str, number: str) -> str:
    return location("entities", entity, "purchase-orders", customer, number)


@router.get(
    "",
    response_model=PurchaseOrderPage,
    summary="Purchase orders with their lines and what was used of them, oldest first",
)
def list_purchase_orders(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    customer: Annotated[str, Query(max_length=64)] = "",
) -> PurchaseOrderPage:
    page = pc.purchase_orders_page(
        caller.uow(read_only=True), caller.entity, decode(cursor), limit, customer
    )
    return PurchaseOrderPage(data=[_order(r) for r in page.rows], next_cursor=encode(page.after_id))


@router.get("/{customer}/{number}", response_model=PurchaseOrder, summary="One purchase order")
def get_purchase_order(
    customer: str, number: str, caller: Annotated[Caller, allowed(READ)]
) -> PurchaseOrder:
    return _order(
        pc.purchase_order_record(caller.uow(read_only=True), caller.entity, customer, number)
    )


@router.post(
    "", status_code=201, response_model=PurchaseOrder, summary="Record a customer's purchase order"
)
def create_purchase_order(
    body: PurchaseOrderIn,
    response: Response,
    caller: Annotated[Caller, allowed(INVOICES_PREPARE)],
) -> PurchaseOrder:
    made = com.create_purchase_order(
        caller.uow(),
        com.CreatePurchaseOrder(
            caller.entity,
            body.customer,
            body.number,
            body.valid_from,
            body.valid_to,
            body.contract,
            body.currency.upper(),
        ),
    )
    if not made.created:
        raise InvalidState(
            f"purchase order {body.number} of {body.customer} exists already",
            record="purchase order",
            field="number",
        )
    response.headers["Location"] = _location(caller.entity, body.customer, body.number)
    return _order(
        pc.purchase_order_record(
            caller.uow(read_only=True), caller.entity, body.customer, body.number
        )
    )


@router.post(
    "/{customer}/{number}/lines",
    status_code=201,
    response_model=PurchaseOrder,
    summary="Add a line to a purchase order (quantity, price and amount ceilings)",
)
def add_po_line(
    customer: str,
    number: str,
    body: PoLineIn,
    response: Response,
    caller: Annotated[Caller, allowed(INVOICES_PREPARE)],
) -> PurchaseOrder:
    made = com.add_po_line(
        caller.uow(),
        com.AddPoLine(
            caller.entity,
            customer,
            number,
            body.line_no,
            body.charge_code,
            body.quantity,
            body.unit_price,
            body.amount_ceiling,
        ),
    )
    if not made.created:
        raise InvalidState(
            f"purchase order {number} has this line {body.line_no} already",
            record="purchase order line",
            field="line_no",
        )
    response.headers["Location"] = _location(caller.entity, customer, number)
    return _order(
        pc.purchase_order_record(caller.uow(read_only=True), caller.entity, customer, number)
    )
