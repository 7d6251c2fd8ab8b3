"""/v1/entities/{entity}/customers: list, read, create, change (with If-Match)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response

from openbill.domain.access import CUSTOMERS_WRITE, READ
from openbill.domain.rejections import InvalidInput, InvalidState
from openbill.interfaces.api.http import etag, location, require_if_match, tagged
from openbill.interfaces.api.idempotency import IdempotentRoute
from openbill.interfaces.api.pagination import DEFAULT_PAGE_SIZE, Limit, decode, encode
from openbill.interfaces.api.schemas import Customer, CustomerChange, CustomerIn, CustomerPage
from openbill.interfaces.api.security import Caller, allowed
from openbill.usecases import masterdata as md
from openbill.usecases import pages

router = APIRouter(
    prefix="/entities/{entity}/customers", tags=["customers"], route_class=IdempotentRoute
)


def _customer(row: dict[str, Any]) -> Customer:
    return Customer(
        code=row["code"],
        name=row["name"],
        country=row["country"],
        currency=row["currency"],
        regime=row["regime"],
        segment=row["segment"] or "",
        payment_terms=row["payment_terms"],
        vat_id=row["vat_id"],
        tax_number=row["tax_number"],
        iban=row["iban"],
        email=row["email"] or "",
        address=row["address"] or "",
        created_at=row["created_at"],
        revision=row["revision"],
    )


@router.get("", response_model=CustomerPage, summary="Customers, in the order they were created")
def list_customers(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    q: Annotated[str, Query(max_length=100, description="part of the code or name")] = "",
) -> CustomerPage:
    page = pages.customers_page(caller.uow(read_only=True), caller.entity, decode(cursor), limit, q)
    return CustomerPage(data=[_customer(r) for r in page.rows], next_cursor=encode(page.after_id))


@router.get(
    "/{code}",
    response_model=Customer,
    summary="One customer; its ETag is its revision",
    responses={304: {"description": "not changed since the ETag sent as If-None-Match"}},
)
def get_customer(
    code: str,
    request: Request,
    response: Response,
    caller: Annotated[Caller, allowed(READ)],
) -> Any:
    row = pages.customer_record(caller.uow(read_only=True), caller.entity, code)
    return tagged(request, response, etag(row["revision"]), _customer(row))


@router.post("", status_code=201, response_model=Customer, summary="Create a customer")
def create_customer(
    body: CustomerIn, response: Response, caller: Annotated[Caller, allowed(CUSTOMERS_WRITE)]
) -> Customer:
    made = md.create_customer(
        caller.uow(),
        md.CreateCustomer(
            entity=caller.entity,
            code=body.code,
            name=body.name,
            country=body.country.upper(),
            currency=body.currency.upper(),
            regime=body.regime,
            segment=body.segment,
            payment_terms=body.payment_terms,
            vat_id=body.vat_id,
            tax_number=body.tax_number,
            iban=body.iban,
            email=body.email,
            address=body.address,
        ),
    )
    if not made.created:
        raise InvalidState(
            f"a customer with code {body.code!r} exists already; change it with PATCH",
            record="customer",
            field="code",
        )
    row = pages.customer_record(caller.uow(read_only=True), caller.entity, body.code)
    response.headers["ETag"] = etag(row["revision"])
    # Header values are Latin-1: the code, any Unicode, travels percent-encoded.
    response.headers["Location"] = location("entities", caller.entity, "customers", body.code)
    return _customer(row)


@router.patch(
    "/{code}",
    response_model=Customer,
    summary="Change a customer (If-Match with its ETag is required)",
    responses={412: {"description": "changed by someone else since it was read"}},
)
def change_customer(
    code: str,
    body: CustomerChange,
    response: Response,
    caller: Annotated[Caller, allowed(CUSTOMERS_WRITE)],
    if_match: Annotated[str | None, Header()] = None,
) -> Customer:
    revision = require_if_match(if_match)
    changes = tuple((k, v) for k, v in body.model_dump(exclude_none=True).items())
    if not changes:
        raise InvalidInput("name at least one field to change", record="customer")
    md.update_customer(
        caller.uow(),
        md.UpdateCustomer(entity=caller.entity, code=code, changes=changes, if_match=revision),
    )
    row = pages.customer_record(caller.uow(read_only=True), caller.entity, code)
    response.headers["ETag"] = etag(row["revision"])
    return _customer(row)
