"""Master data: legal entities, tax rules, customers, charge codes and prices.

Every change writes an audit event with the values before and after.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from openbill.domain.currencies import exponent_of
from openbill.domain.invoice import PaymentTerms
from openbill.domain.money import Rounding, to_decimal
from openbill.domain.pricing import spec_from_params, spec_to_params
from openbill.domain.rejections import InvalidInput, PreconditionFailed
from openbill.domain.tax import CustomerRegime, TaxCategory
from openbill.domain.units import unit_code
from openbill.ports import UnitOfWork
from openbill.usecases._support import (
    audit,
    choice,
    customer_by_code,
    entity_by_code,
    plain,
    revision,
)

__all__ = [
    "CreateEntity",
    "AddTaxRule",
    "CreateCustomer",
    "UpdateCustomer",
    "CreateChargeCode",
    "AddPrice",
    "create_entity",
    "add_tax_rule",
    "create_customer",
    "update_customer",
    "create_charge_code",
    "add_price",
]


def _terms(value: str, record: str) -> str:
    try:
        return str(PaymentTerms.parse(value))
    except InvalidInput as exc:
        raise InvalidInput(exc.reason, record=record, field="payment_terms") from None


def _currency(value: str, record: str) -> str:
    code = value.strip().upper()
    try:
        exponent_of(code)
    except InvalidInput:
        raise
    except Exception as exc:
        raise InvalidInput(str(exc), record=record, field="currency") from None
    return code


def _identifiers(
    record: str, country: str, vat_id: str, tax_number: str, iban: str
) -> dict[str, Any]:
    from openbill import identifiers

    out: dict[str, Any] = {}
    try:
        out["country"] = identifiers.validate_country(country)
        out["vat_id"] = identifiers.validate_vat_number(vat_id) if vat_id else None
        out["tax_number"] = (
            identifiers.validate_tax_number(tax_number, out["country"]) if tax_number else None
        )
        out["iban"] = identifiers.validate_iban(iban) if iban else None
    except InvalidInput as exc:
        raise InvalidInput(exc.reason, record=record, field=exc.field) from None
    return out


@dataclass(frozen=True, slots=True)
class CreateEntity:
    code: str
    name: str
    country: str
    base_currency: str
    rounding: str = Rounding.HALF_UP.value
    vat_id: str = ""
    tax_number: str = ""
    iban: str = ""
    address: str = ""
    email: str = ""
    payment_terms: str = "net30"


@dataclass(frozen=True, slots=True)
class Created:
    id: int
    code: str
    created: bool


def create_entity(uow: UnitOfWork, cmd: CreateEntity) -> Created:
    record = f"legal entity {cmd.code}"
    with uow:
        existing = uow.entities.by_code(cmd.code)
        if existing is not None:
            return Created(existing.id, cmd.code, False)
        values = {
            "code": cmd.code,
            "name": cmd.name,
            "base_currency": _currency(cmd.base_currency, record),
            "rounding": choice(cmd.rounding, Rounding, record, "rounding"),
            "address": cmd.address,
            "email": cmd.email,
            "payment_terms": _terms(cmd.payment_terms, record),
            "created_at": uow.clock.now(),
            **_identifiers(record, cmd.country, cmd.vat_id, cmd.tax_number, cmd.iban),
        }
        entity_id = uow.entities.add(values)
        audit(uow, entity_id, "entity.created", "legal_entity", entity_id, None, values)
        uow.commit()
        return Created(entity_id, cmd.code, True)


@dataclass(frozen=True, slots=True)
class AddTaxRule:
    entity: str
    jurisdiction: str
    tax_class: str
    valid_from: date
    category: str
    rate: str
    exemption_reason: str = ""
    exemption_code: str = ""


def add_tax_rule(uow: UnitOfWork, cmd: AddTaxRule) -> Created:
    record = f"tax rule {cmd.jurisdiction}/{cmd.tax_class}"
    rate = to_decimal(cmd.rate, field="rate")
    category = choice(cmd.category, TaxCategory, record, "category")
    if category == TaxCategory.STANDARD and rate <= 0:
        raise InvalidInput("a standard rate must be above zero", record=record, field="rate")
    if category != TaxCategory.STANDARD and rate != 0:
        raise InvalidInput(f"category {category} has rate 0", record=record, field="rate")
    if category in {"E", "AE", "K", "G", "O"} and not (cmd.exemption_reason or cmd.exemption_code):
        raise InvalidInput(
            "this category needs the legal note printed on the document",
            record=record,
            field="exemption_reason",
        )
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        for rule in uow.entities.tax_rules(entity.id):
            if (rule.jurisdiction, rule.tax_class, rule.valid_from) == (
                cmd.jurisdiction.upper(),
                cmd.tax_class,
                cmd.valid_from,
            ):
                return Created(rule.id, cmd.tax_class, False)
        values = {
            "entity_id": entity.id,
            "jurisdiction": cmd.jurisdiction.upper(),
            "tax_class": cmd.tax_class,
            "valid_from": cmd.valid_from,
            "category": category,
            "rate": rate,
            "exemption_reason": cmd.exemption_reason,
            "exemption_code": cmd.exemption_code,
        }
        rule_id = uow.entities.add_tax_rule(values)
        audit(uow, entity.id, "tax_rule.created", "tax_rule", rule_id, None, values)
        uow.commit()
        return Created(rule_id, cmd.tax_class, True)


@dataclass(frozen=True, slots=True)
class CreateCustomer:
    entity: str
    code: str
    name: str
    country: str
    currency: str
    regime: str = CustomerRegime.DOMESTIC.value
    segment: str = ""
    payment_terms: str = ""
    vat_id: str = ""
    tax_number: str = ""
    iban: str = ""
    email: str = ""
    address: str = ""


def create_customer(uow: UnitOfWork, cmd: CreateCustomer) -> Created:
    record = f"customer {cmd.code}"
    if not cmd.code.strip() or not cmd.name.strip():
        raise InvalidInput("code and name are required", record=record, field="code")
    regime = choice(cmd.regime, CustomerRegime, record, "regime")
    if regime in (CustomerRegime.REVERSE_CHARGE, CustomerRegime.INTRA_COMMUNITY) and not cmd.vat_id:
        raise InvalidInput(
            "reverse charge and intra-community supplies need the customer's VAT number",
            record=record,
            field="vat_id",
        )
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        existing = uow.customers.by_code(entity.id, cmd.code)
        if existing is not None:
            return Created(existing.id, cmd.code, False)
        values = {
            "entity_id": entity.id,
            "code": cmd.code,
            "name": cmd.name,
            "segment": cmd.segment,
            "regime": regime,
            "currency": _currency(cmd.currency, record),
            "payment_terms": _terms(cmd.payment_terms, record) if cmd.payment_terms else None,
            "email": cmd.email,
            "address": cmd.address,
            "created_at": uow.clock.now(),
            **_identifiers(record, cmd.country, cmd.vat_id, cmd.tax_number, cmd.iban),
        }
        customer_id = uow.customers.add(values)
        audit(uow, entity.id, "customer.created", "customer", customer_id, None, values)
        uow.commit()
        return Created(customer_id, cmd.code, True)


@dataclass(frozen=True, slots=True)
class UpdateCustomer:
    entity: str
    code: str
    changes: tuple[tuple[str, str], ...] = field(default=())
    if_match: str = ""  # the revision the change was based on; empty: whatever is stored


_UPDATABLE = {
    "name",
    "segment",
    "payment_terms",
    "vat_id",
    "tax_number",
    "iban",
    "email",
    "address",
    "regime",
}


def update_customer(uow: UnitOfWork, cmd: UpdateCustomer) -> Created:
    record = f"customer {cmd.code}"
    changes = dict(cmd.changes)
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise InvalidInput(
            f"cannot change {', '.join(sorted(unknown))}; "
            f"changeable: {', '.join(sorted(_UPDATABLE))}",
            record=record,
            field=sorted(unknown)[0],
        )
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        row = uow.customers.locked(customer_by_code(uow, entity.id, cmd.code).id)
        if cmd.if_match and revision(row) != cmd.if_match:
            raise PreconditionFailed(
                "the customer was changed by someone else since you read it; "
                "read it again and repeat your change",
                record=record,
            )
        before = plain(row)
        values: dict[str, Any] = {}
        for key, value in changes.items():
            if key == "payment_terms":
                values[key] = _terms(value, record) if value else None
            elif key == "regime":
                values[key] = choice(value, CustomerRegime, record, "regime")
            elif key in ("vat_id", "tax_number", "iban"):
                checked = _identifiers(
                    record,
                    row.country,
                    value if key == "vat_id" else "",
                    value if key == "tax_number" else "",
                    value if key == "iban" else "",
                )
                values[key] = checked[key]
            else:
                values[key] = value
        uow.customers.update(row.id, values)
        audit(uow, entity.id, "customer.updated", "customer", row.id, before, {**before, **values})
        uow.commit()
        return Created(row.id, cmd.code, False)


@dataclass(frozen=True, slots=True)
class CreateChargeCode:
    entity: str
    code: str
    name: str
    unit: str
    revenue_account: str
    tax_class: str = "standard"


def create_charge_code(uow: UnitOfWork, cmd: CreateChargeCode) -> Created:
    record = f"charge code {cmd.code}"
    if not cmd.revenue_account.isdigit():
        raise InvalidInput(
            "a revenue account is a number from the chart of accounts, e.g. 4000",
            record=record,
            field="revenue_account",
        )
    try:
        unit = unit_code(cmd.unit)
    except InvalidInput as exc:
        raise InvalidInput(exc.reason, record=record, field="unit") from None
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        existing = uow.catalog.charge_code(entity.id, cmd.code)
        if existing is not None:
            return Created(existing.id, cmd.code, False)
        values = {
            "entity_id": entity.id,
            "code": cmd.code,
            "name": cmd.name,
            "unit": unit,
            "revenue_account": cmd.revenue_account,
            "tax_class": cmd.tax_class,
            "active": True,
            "created_at": uow.clock.now(),
        }
        code_id = uow.catalog.add_charge_code(values)
        audit(uow, entity.id, "charge_code.created", "charge_code", code_id, None, values)
        uow.commit()
        return Created(code_id, cmd.code, True)


@dataclass(frozen=True, slots=True)
class AddPrice:
    entity: str
    charge_code: str
    currency: str
    effective_from: date
    model: str
    params: str  # JSON object with decimal strings, e.g. {"unit_price": "12.50"}
    includes_tax: bool = False


def add_price(uow: UnitOfWork, cmd: AddPrice) -> Created:
    record = f"price of {cmd.charge_code} in {cmd.currency} from {cmd.effective_from}"
    try:
        raw = json.loads(cmd.params, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"params are not valid JSON: {exc.msg}", record=record, field="params"
        ) from None
    if not isinstance(raw, dict):
        raise InvalidInput("params must be a JSON object", record=record, field="params")
    try:
        spec = spec_from_params(cmd.model, raw)
    except InvalidInput as exc:
        raise InvalidInput(exc.reason, record=record, field=exc.field or "params") from None
    currency = _currency(cmd.currency, record)
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        code = uow.catalog.charge_code(entity.id, cmd.charge_code)
        if code is None:
            raise InvalidInput(
                f"no charge code {cmd.charge_code!r}", record=record, field="charge_code"
            )
        stored = json.dumps(spec_to_params(spec), sort_keys=True)
        for price in uow.catalog.prices_of(code.id):
            if price.currency == currency and price.effective_from == cmd.effective_from:
                if price.params == stored and price.model == spec.model.value:
                    return Created(price.id, cmd.charge_code, False)
                raise InvalidInput(
                    "a different price already starts on this date; prices are never edited, "
                    "add one from a later date",
                    record=record,
                    field="effective_from",
                )
        values = {
            "charge_code_id": code.id,
            "currency": currency,
            "effective_from": cmd.effective_from,
            "model": spec.model.value,
            "params": stored,
            "includes_tax": cmd.includes_tax,
            "created_at": uow.clock.now(),
        }
        price_id = uow.catalog.add_price(values)
        audit(uow, entity.id, "price.created", "price", price_id, None, values)
        uow.commit()
        return Created(price_id, cmd.charge_code, True)


# ---------------------------------------------------------------------------------------------
# listings (read-only)


def list_entities(uow: UnitOfWork) -> list[Any]:
    with uow:
        return list(uow.entities.all())


def list_tax_rules(uow: UnitOfWork, entity: str) -> list[Any]:
    with uow:
        return list(uow.entities.tax_rules(entity_by_code(uow, entity).id))


def list_customers(uow: UnitOfWork, entity: str) -> list[Any]:
    with uow:
        return list(uow.customers.all(entity_by_code(uow, entity).id))


def list_charge_codes(uow: UnitOfWork, entity: str) -> list[Any]:
    with uow:
        return list(uow.catalog.charge_codes(entity_by_code(uow, entity).id))


def list_prices(uow: UnitOfWork, entity: str) -> list[Any]:
    with uow:
        return list(uow.catalog.prices(entity_by_code(uow, entity).id))
