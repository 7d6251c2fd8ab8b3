"""The API's request and response bodies (pydantic 2). Kept apart from rows and domain values:
routes turn one into the other. Amounts are decimal strings with the currency's places
("1190.00", "1500" for JPY); JSON numbers are refused for money so that nothing passes
through a float."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from openbill.domain.access import Principal
from openbill.domain.money import format_minor
from openbill.domain.tax import CustomerRegime

__all__ = [
    "Amount",
    "IsoDate",
    "Customer",
    "CustomerIn",
    "CustomerChange",
    "CustomerPage",
    "Entity",
    "Invoice",
    "InvoiceDetail",
    "InvoiceIn",
    "InvoicePage",
    "Me",
    "Payment",
    "PaymentIn",
    "PaymentPage",
    "PaymentRecorded",
    "amount",
]

Amount = Annotated[
    str,
    # ASCII digits only, spelled out: JSON Schema's \d is ASCII, Python's and Rust's are not.
    StringConstraints(pattern=r"^-?[0-9]{1,15}(\.[0-9]{1,10})?$"),
    Field(description='a decimal amount as text, e.g. "1190.00"', examples=["1190.00"]),
]


def _utc(value: datetime) -> datetime:
    # Times are stored in UTC; SQLite gives them back without a zone. RFC 3339 (the schema's
    # date-time) needs the offset: "2026-01-01T09:00:00Z".
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_utc)]

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: Any) -> Any:
    # pydantic reads a number as a Unix time (0 is 1970-01-01): a date must be written out.
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("write the date as YYYY-MM-DD, e.g. 2026-03-31")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]

# A record's code as the caller wrote it: no control characters, no space at either end. The
# pattern says it in character ranges, which read the same in JSON Schema, Python and Rust.
Code = Annotated[
    str,
    StringConstraints(
        min_length=1,
        max_length=64,
        pattern=r"^[^\x00-\x20\x7f]([^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?$",
    ),
]
Text = Annotated[str, StringConstraints(max_length=500)]


def amount(minor: int | None, currency: str) -> str | None:
    return None if minor is None else format_minor(int(minor), currency)


class _In(BaseModel):
    # Enumerations arrive as their plain values ("domestic"), as the use cases take them.
    model_config = ConfigDict(extra="forbid", strict=False, use_enum_values=True)


class Me(BaseModel):
    kind: str
    name: str
    role: str | None
    entities: list[str]
    actions: list[str]

    @classmethod
    def of(cls, principal: Principal) -> Me:
        return cls(
            kind=principal.kind,
            name=principal.name,
            role=principal.role.value if principal.role else None,
            entities=sorted(principal.entities),
            actions=sorted(principal.scopes),
        )


class Entity(BaseModel):
    code: str
    name: str
    country: str
    base_currency: str


class Customer(BaseModel):
    code: str
    name: str
    country: str
    currency: str
    regime: str
    segment: str
    payment_terms: str | None
    vat_id: str | None
    tax_number: str | None
    iban: str | None
    email: str
    address: str
    created_at: UtcDateTime
    revision: str = Field(description="changes whenever the customer does; the ETag")


class CustomerPage(BaseModel):
    data: list[Customer]
    next_cursor: str | None


class CustomerIn(_In):
    code: Code
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    country: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")]
    regime: CustomerRegime = CustomerRegime.DOMESTIC
    segment: Text = ""
    payment_terms: Text = ""
    vat_id: Text = ""
    tax_number: Text = ""
    iban: Text = ""
    email: Text = ""
    address: Text = ""


class CustomerChange(_In):
    """The fields to change; a field left out keeps its value."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    regime: CustomerRegime | None = None
    segment: Text | None = None
    payment_terms: Text | None = None
    vat_id: Text | None = None
    tax_number: Text | None = None
    iban: Text | None = None
    email: Text | None = None
    address: Text | None = None


class Invoice(BaseModel):
    number: str
    id: int
    kind: str
    status: str
    customer: str
    document_date: date
    due_date: date | None
    currency: str
    total: str
    open: str


class InvoicePage(BaseModel):
    data: list[Invoice]
    next_cursor: str | None


class InvoiceLine(BaseModel):
    line_no: int
    charge_code: str | None
    description: str
    quantity: str
    unit_price: str
    net: str
    tax_category: str
    tax_rate: str


class InvoiceDetail(Invoice):
    customer_name: str
    payment_reference: str
    net: str
    tax: str
    buyer_reference: str
    lines: list[InvoiceLine]
    settlements: list[dict[str, Any]]


class LineIn(_In):
    charge_code: Code
    quantity: Amount = "1"
    description: Text = ""
    unit_price: Amount | Literal[""] = ""


class InvoiceIn(_In):
    """An invoice to issue at once: priced from the catalog unless a line names its price."""

    customer: Code
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=1000)]
    issue_date: IsoDate | None = None
    currency: str = ""
    buyer_reference: Text = ""


class Payment(BaseModel):
    id: int
    customer: str
    received_on: date
    method: str
    reference: str
    currency: str
    amount: str
    allocated: str
    unallocated: str
    reversed_on: date | None


class PaymentPage(BaseModel):
    data: list[Payment]
    next_cursor: str | None


class AllocationIn(_In):
    invoice: Code
    amount: Amount


class PaymentIn(_In):
    customer: Code
    amount: Amount
    currency: str = ""
    received_on: IsoDate | None = None
    method: Literal["bank_transfer", "card", "cash", "cheque", "direct_debit", "other"] = (
        "bank_transfer"
    )
    reference: Text = ""
    allocate: Literal["auto", "reference", "oldest", "none", "explicit"] = "auto"
    to: Annotated[list[AllocationIn], Field(max_length=1000)] = []


class PaymentRecorded(BaseModel):
    id: int
    currency: str
    amount: str
    allocated: str
    credit: str
    invoices: list[str]
    how: str
