"""/v1/entities/{entity}/contracts: contracts with customers (terms, grouping, discount, cap)
and their negotiated prices. Contracts are not edited: a different contract under an existing
number is refused; a new negotiated price takes over from its date."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from openbill.domain.access import INVOICES_PREPARE, READ
from openbill.domain.rejections import InvalidState
from openbill.interfaces.api.http import location
from openbill.interfaces.api.idempotency import IdempotentRoute
from openbill.interfaces.api.pagination import DEFAULT_PAGE_SIZE, Limit, decode, encode
from openbill.interfaces.api.schemas import IsoDate, amount
from openbill.interfaces.api.schemas_commercial import (
    Contract,
    ContractIn,
    ContractPage,
    ContractPrice,
    ContractPriceIn,
    decimal_text,
    price_text,
)
from openbill.interfaces.api.security import Caller, allowed
from openbill.usecases import commercial as com
from openbill.usecases import pages_commercial as pc

__all__ = ["router"]

router = APIRouter(
    prefix="/entities/{entity}/contracts", tags=["contracts"], route_class=IdempotentRoute
)


def _contract(r: dict[str, Any]) -> Contract:
    prices = r.get("prices")
    return Contract(
        number=r["number"],
        customer=r["customer_code"],
        valid_from=r["valid_from"],
        valid_to=r["valid_to"],
        currency=r["currency"],
        payment_terms=r["payment_terms"],
        grouping=r["grouping"],
        period=r["period"],
        discount_percent=decimal_text(r["discount_percent"]) or "0",
        po_required=bool(r["po_required"]),
        spending_cap=amount(r["spending_cap_minor"], r["currency"]),
        created_at=r["created_at"],
        prices=None
        if prices is None
        else [
            ContractPrice(
                charge_code=p["charge_code"],
                effective_from=p["effective_from"],
                unit_price=price_text(p["unit_price"]) or "",
            )
            for p in prices
        ],
    )


@router.get("", response_model=ContractPage, summary="Contracts, oldest first")
def list_contracts(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    customer: Annotated[str, Query(max_length=64)] = "",
    active_on: Annotated[
        IsoDate | None, Query(description="only those in force on this date")
    ] = None,
) -> ContractPage:
    page = pc.contracts_page(
        caller.uow(read_only=True),
        caller.entity,
        decode(cursor),
        limit,
        pc.ContractFilter(customer, active_on),
    )
    return ContractPage(data=[_contract(r) for r in page.rows], next_cursor=encode(page.after_id))


@router.get("/{number}", response_model=Contract, summary="One contract with its prices")
def get_contract(number: str, caller: Annotated[Caller, allowed(READ)]) -> Contract:
    return _contract(pc.contract_record(caller.uow(read_only=True), caller.entity, number))


@router.post("", status_code=201, response_model=Contract, summary="Create a contract")
def create_contract(
    body: ContractIn, response: Response, caller: Annotated[Caller, allowed(INVOICES_PREPARE)]
) -> Contract:
    made = com.create_contract(
        caller.uow(),
        com.CreateContract(
            caller.entity,
            body.number,
            body.customer,
            body.valid_from,
            body.valid_to,
            body.currency.upper(),
            body.payment_terms,
            body.grouping,
            body.period,
            body.discount_percent,
            body.po_required,
            body.spending_cap,
        ),
    )
    if not made.created:
        raise InvalidState(
            f"contract {body.number} exists already", record="contract", field="number"
        )
    response.headers["Location"] = location("entities", caller.entity, "contracts", body.number)
    return _contract(pc.contract_record(caller.uow(read_only=True), caller.entity, body.number))


@router.post(
    "/{number}/prices",
    status_code=201,
    response_model=Contract,
    summary="Add a negotiated price of a charge code from a date (overrides the catalog)",
)
def add_contract_price(
    number: str,
    body: ContractPriceIn,
    response: Response,
    caller: Annotated[Caller, allowed(INVOICES_PREPARE)],
) -> Contract:
    made = com.add_contract_price(
        caller.uow(),
        com.AddContractPrice(
            caller.entity, number, body.charge_code, body.effective_from, body.unit_price
        ),
    )
    if not made.created:
        raise InvalidState(
            f"contract {number} has this price of {body.charge_code} from "
            f"{body.effective_from} already",
            record="contract price",
            field="effective_from",
        )
    response.headers["Location"] = location("entities", caller.entity, "contracts", number)
    return _contract(pc.contract_record(caller.uow(read_only=True), caller.entity, number))
