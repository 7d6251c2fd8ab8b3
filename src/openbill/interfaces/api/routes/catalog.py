"""Legal entities (/v1/entities: create; /v1/entities/{entity}: read) and the catalog of a
legal entity: tax rules, charge codes and prices (/v1/entities/{entity}/tax-rules,
/charge-codes, /prices). Catalog records are never edited: a new price or tax rule takes over
from its date."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from openbill.domain.access import CATALOG_WRITE, READ, SETTINGS_ADMIN
from openbill.domain.rejections import InvalidInput, InvalidState
from openbill.interfaces.api.http import RecordId, location
from openbill.interfaces.api.idempotency import IdempotentRoute
from openbill.interfaces.api.pagination import DEFAULT_PAGE_SIZE, Limit, decode, encode
from openbill.interfaces.api.schemas_commercial import (
    ChargeCode,
    ChargeCodeIn,
    ChargeCodePage,
    EntityIn,
    EntityOut,
    Price,
    PriceIn,
    PricePage,
    TaxRule,
    TaxRuleIn,
    TaxRulePage,
    decimal_text,
)
from openbill.interfaces.api.security import Caller, allowed
from openbill.usecases import masterdata as md
from openbill.usecases import pages_commercial as pc

__all__ = ["entities_router", "router", "PARAMS_DEPTH_MAX"]

entities_router = APIRouter(prefix="/entities", tags=["entities"], route_class=IdempotentRoute)
router = APIRouter(prefix="/entities/{entity}", tags=["catalog"], route_class=IdempotentRoute)

PARAMS_DEPTH_MAX = 4  # nesting of a price's parameters (an object of tiers of objects)


def _entity(row: dict[str, Any]) -> EntityOut:
    return EntityOut(
        code=row["code"],
        name=row["name"],
        country=row["country"],
        base_currency=row["base_currency"],
        rounding=row["rounding"],
        vat_id=row["vat_id"],
        tax_number=row["tax_number"],
        iban=row["iban"],
        address=row["address"] or "",
        email=row["email"] or "",
        payment_terms=row["payment_terms"],
        created_at=row["created_at"],
    )


@entities_router.post(
    "",
    status_code=201,
    response_model=EntityOut,
    summary="Create a legal entity (administrators; users get access to it separately)",
)
def create_entity(
    body: EntityIn, response: Response, caller: Annotated[Caller, allowed(SETTINGS_ADMIN)]
) -> EntityOut:
    made = md.create_entity(
        caller.uow(),
        md.CreateEntity(
            code=body.code,
            name=body.name,
            country=body.country.upper(),
            base_currency=body.base_currency.upper(),
            rounding=body.rounding,
            vat_id=body.vat_id,
            tax_number=body.tax_number,
            iban=body.iban,
            address=body.address,
            email=body.email,
            payment_terms=body.payment_terms,
        ),
    )
    if not made.created:
        raise InvalidState(
            f"a legal entity with code {body.code!r} exists already",
            record="legal entity",
            field="code",
        )
    response.headers["Location"] = location("entities", body.code)
    return _entity(pc.entity_record(caller.uow(read_only=True), body.code))


@router.get("", response_model=EntityOut, tags=["entities"], summary="One legal entity")
def get_entity(caller: Annotated[Caller, allowed(READ)]) -> EntityOut:
    return _entity(pc.entity_record(caller.uow(read_only=True), caller.entity))


# ---------------------------------------------------------------------------------------------
# tax rules


def _tax_rule(r: dict[str, Any]) -> TaxRule:
    return TaxRule(
        id=r["id"],
        jurisdiction=r["jurisdiction"],
        tax_class=r["tax_class"],
        valid_from=r["valid_from"],
        category=r["category"],
        rate=decimal_text(r["rate"]) or "0",
        exemption_reason=r["exemption_reason"] or "",
        exemption_code=r["exemption_code"] or "",
    )


@router.get("/tax-rules", response_model=TaxRulePage, summary="Tax rules, oldest first")
def list_tax_rules(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> TaxRulePage:
    page = pc.tax_rules_page(caller.uow(read_only=True), caller.entity, decode(cursor), limit)
    return TaxRulePage(data=[_tax_rule(r) for r in page.rows], next_cursor=encode(page.after_id))


@router.get("/tax-rules/{rule_id}", response_model=TaxRule, summary="One tax rule")
def get_tax_rule(rule_id: RecordId, caller: Annotated[Caller, allowed(READ)]) -> TaxRule:
    return _tax_rule(pc.tax_rule_record(caller.uow(read_only=True), caller.entity, rule_id))


@router.post(
    "/tax-rules",
    status_code=201,
    response_model=TaxRule,
    summary="Add a tax rule: from a date, a tax class maps to a category and a rate",
)
def add_tax_rule(
    body: TaxRuleIn, response: Response, caller: Annotated[Caller, allowed(CATALOG_WRITE)]
) -> TaxRule:
    made = md.add_tax_rule(
        caller.uow(),
        md.AddTaxRule(
            caller.entity,
            body.jurisdiction,
            body.tax_class,
            body.valid_from,
            body.category,
            body.rate,
            body.exemption_reason,
            body.exemption_code,
        ),
    )
    if not made.created:
        raise InvalidState(
            f"a tax rule for {body.jurisdiction.upper()}/{body.tax_class} from "
            f"{body.valid_from} exists already (id {made.id}); rules are never edited, add one "
            "from a later date",
            record="tax rule",
            field="valid_from",
        )
    response.headers["Location"] = location("entities", caller.entity, "tax-rules", made.id)
    return _tax_rule(pc.tax_rule_record(caller.uow(read_only=True), caller.entity, made.id))


# ---------------------------------------------------------------------------------------------
# charge codes


def _charge_code(r: dict[str, Any]) -> ChargeCode:
    return ChargeCode(
        code=r["code"],
        name=r["name"],
        unit=r["unit"],
        revenue_account=r["revenue_account"],
        tax_class=r["tax_class"],
        active=bool(r["active"]),
        created_at=r["created_at"],
    )


@router.get("/charge-codes", response_model=ChargeCodePage, summary="Charge codes, oldest first")
def list_charge_codes(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> ChargeCodePage:
    page = pc.charge_codes_page(caller.uow(read_only=True), caller.entity, decode(cursor), limit)
    return ChargeCodePage(
        data=[_charge_code(r) for r in page.rows], next_cursor=encode(page.after_id)
    )


@router.get("/charge-codes/{code}", response_model=ChargeCode, summary="One charge code")
def get_charge_code(code: str, caller: Annotated[Caller, allowed(READ)]) -> ChargeCode:
    return _charge_code(pc.charge_code_record(caller.uow(read_only=True), caller.entity, code))


@router.post(
    "/charge-codes", status_code=201, response_model=ChargeCode, summary="Create a charge code"
)
def create_charge_code(
    body: ChargeCodeIn, response: Response, caller: Annotated[Caller, allowed(CATALOG_WRITE)]
) -> ChargeCode:
    made = md.create_charge_code(
        caller.uow(),
        md.CreateChargeCode(
            caller.entity, body.code, body.name, body.unit, body.revenue_account, body.tax_class
        ),
    )
    if not made.created:
        raise InvalidState(
            f"a charge code {body.code!r} exists already", record="charge code", field="code"
        )
    response.headers["Location"] = location("entities", caller.entity, "charge-codes", body.code)
    return _charge_code(pc.charge_code_record(caller.uow(read_only=True), caller.entity, body.code))


# ---------------------------------------------------------------------------------------------
# prices


def _price(r: dict[str, Any]) -> Price:
    return Price(
        id=r["id"],
        charge_code=r["charge_code"],
        currency=r["currency"],
        effective_from=r["effective_from"],
        model=r["model"],
        params=json.loads(r["params"]),
        includes_tax=bool(r["includes_tax"]),
        created_at=r["created_at"],
    )


def numbers_as_text(value: Any, where: str = "params", depth: int = 0) -> None:
    """Refuse a JSON number anywhere in a price's parameters: money never passes through a
    float, so amounts, quantities and rates come as decimal strings."""
    if depth > PARAMS_DEPTH_MAX:
        raise InvalidInput(f"nested deeper than {PARAMS_DEPTH_MAX} levels", field=where)
    if isinstance(value, bool | int | float):
        raise InvalidInput(
            f'write numbers as decimal strings, e.g. "12.50", not {value!r}', field=where
        )
    if isinstance(value, dict):
        for key, item in value.items():
            numbers_as_text(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            numbers_as_text(item, f"{where}[{index}]", depth + 1)


@router.get("/prices", response_model=PricePage, summary="Prices of the catalog, oldest first")
def list_prices(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    charge_code: Annotated[str, Query(max_length=32)] = "",
    currency: Annotated[str, Query(max_length=3)] = "",
) -> PricePage:
    page = pc.prices_page(
        caller.uow(read_only=True),
        caller.entity,
        decode(cursor),
        limit,
        pc.PriceFilter(charge_code, currency),
    )
    return PricePage(data=[_price(r) for r in page.rows], next_cursor=encode(page.after_id))


@router.get("/prices/{price_id}", response_model=Price, summary="One price")
def get_price(price_id: RecordId, caller: Annotated[Caller, allowed(READ)]) -> Price:
    return _price(pc.price_record(caller.uow(read_only=True), caller.entity, price_id))


@router.post(
    "/prices",
    status_code=201,
    response_model=Price,
    summary="Add a price of a charge code in a currency, in force from a date",
)
def add_price(
    body: PriceIn, response: Response, caller: Annotated[Caller, allowed(CATALOG_WRITE)]
) -> Price:
    numbers_as_text(body.params)
    made = md.add_price(
        caller.uow(),
        md.AddPrice(
            caller.entity,
            body.charge_code,
            body.currency,
            body.effective_from,
            body.model,
            json.dumps(body.params),
            body.includes_tax,
        ),
    )
    if not made.created:
        raise InvalidState(
            f"this price of {body.charge_code} exists already (id {made.id})",
            record="price",
            field="effective_from",
        )
    response.headers["Location"] = location("entities", caller.entity, "prices", made.id)
    return _price(pc.price_record(caller.uow(read_only=True), caller.entity, made.id))
