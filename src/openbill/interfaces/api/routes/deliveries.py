"""/v1/entities/{entity}/deliveries: deliveries, timesheets and milestones, imported as CSV or
JSON and listed with what billed them; /v1/entities/{entity}/billing/prepare turns every
confirmed, unbilled delivery into draft invoices.

An import is all or nothing: one bad row refuses the body (422, every bad row named with its
line, field and reason) unless the caller asks `keep_good=true`, which imports the good rows
and answers the bad ones. The body is bounded (DELIVERIES_BODY_BYTES_MAX bytes, and
IMPORT_ROWS_MAX rows from domain.commercial) and refused before it is read whole when its
Content-Length says it is larger.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from openbill.domain.access import INVOICES_ISSUE, INVOICES_PREPARE, READ
from openbill.domain.commercial import IMPORT_ROWS_MAX, RowError
from openbill.domain.rejections import InvalidInput
from openbill.interfaces.api.idempotency import IdempotentRoute
from openbill.interfaces.api.pagination import DEFAULT_PAGE_SIZE, Limit, decode, encode
from openbill.interfaces.api.routes.commercial_common import bounded_body, too_large
from openbill.interfaces.api.schemas import IsoDate, amount
from openbill.interfaces.api.schemas_commercial import (
    BillingIn,
    DeliveriesImported,
    Delivery,
    DeliveryBilling,
    DeliveryPage,
    HeldDelivery,
    Prepared,
    PreparedDocument,
    RowProblem,
    decimal_text,
)
from openbill.interfaces.api.security import Caller, allowed
from openbill.usecases import commercial as com
from openbill.usecases import pages_commercial as pc

__all__ = [
    "router",
    "DELIVERIES_BODY_BYTES_MAX",
    "IMPORT_ROWS_MAX",
    "SOURCE",
    "money_numbers",
    "ImportRefused",
]

router = APIRouter(prefix="/entities/{entity}", tags=["deliveries"], route_class=IdempotentRoute)

DELIVERIES_BODY_BYTES_MAX = 20_000_000  # bytes of one import body (CSV or JSON)
SOURCE = "body"  # how row errors name the request body ("body:12: field hours: ...")
_MEDIA = {"text/csv": "csv", "application/json": "json"}


class _Number(str):
    """A JSON number, as the text it was written with (never a float)."""


def money_numbers(text: str, source: str = SOURCE) -> list[RowError]:
    """A row error for every delivery of a JSON body whose `amount` is a JSON number: money
    comes as a decimal string ("1500.00"). The line is where the delivery's object starts, as
    the import counts it. A body that is not JSON is left to the import to refuse."""
    decoder = json.JSONDecoder(parse_float=_Number, parse_int=_Number)
    try:
        doc = decoder.decode(text)
    except (ValueError, RecursionError):
        return []
    items = doc["deliveries"] if isinstance(doc, dict) and set(doc) == {"deliveries"} else doc
    if not isinstance(items, list):
        return []
    errors = []
    pos = text.find("[") + 1
    for item in items:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        line = text.count("\n", 0, pos) + 1
        _, pos = decoder.raw_decode(text, pos)
        if isinstance(item, dict) and isinstance(item.get("amount"), _Number):
            errors.append(
                RowError(
                    source,
                    line,
                    "amount",
                    f'write amounts as decimal strings, e.g. "{item["amount"]}" in quotes',
                )
            )
    return errors


def _row_problem(e: RowError) -> RowProblem:
    return RowProblem(line=e.line, field=e.field, reason=e.reason, row=dict(e.raw))


class ImportRefused(InvalidInput):
    """An import refused for bad rows: the problem names every one (line, field, reason).
    Raised, not returned, so that the Idempotency-Key is freed for the corrected body."""

    def __init__(self, errors: list[RowError] | tuple[RowError, ...]) -> None:
        first = errors[0]
        more = f" (and {len(errors) - 1} more bad row(s))" if len(errors) > 1 else ""
        hint = (
            "the file cannot be read as deliveries"
            if any(e.whole_file for e in errors)
            else "keep_good=true imports the good rows"
        )
        super().__init__(
            f"{first.message}{more}; nothing was imported ({hint})",
            record=f"{first.source}:{first.line}" if first.line else first.source,
            field=first.field,
        )
        self.problem_errors = [
            {"line": e.line, "field": e.field, "reason": e.reason} for e in errors
        ]


@router.post(
    "/deliveries/import",
    response_model=DeliveriesImported,
    summary="Import deliveries, timesheets and milestones (CSV or JSON body)",
    description=(
        "The body is the file itself: `text/csv` with a header row, or `application/json` "
        'with an array of objects (or `{"deliveries": [...]}`); fields: ref, kind (shipment, '
        "timesheet, milestone), customer, contract, po, po_line, charge_code, date, status "
        "(confirmed, pending), shipped, accepted, hours, role, percent, amount, description. "
        f"At most {DELIVERIES_BODY_BYTES_MAX:,} bytes and {IMPORT_ROWS_MAX:,} rows. A known "
        "ref with other content is corrected (a new revision); the same content is left alone."
    ),
    responses={
        413: {"description": "the body is larger than the bound"},
        422: {"description": "bad rows: each in `errors` with its line, field and reason"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            },
        }
    },
)
def import_deliveries(
    request: Request,
    caller: Annotated[Caller, allowed(INVOICES_PREPARE)],
    keep_good: Annotated[
        bool, Query(description="import the good rows and answer the bad ones")
    ] = False,
    data: bytes | None = Depends(bounded_body(DELIVERIES_BODY_BYTES_MAX)),
) -> Any:
    if data is None:
        return too_large(request, DELIVERIES_BODY_BYTES_MAX, "an import body (split the file)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"the body is not UTF-8 text (byte {exc.start})", record=SOURCE, field="body"
        ) from None
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    fmt = _MEDIA.get(media, "")
    if fmt != "csv":
        wrong = money_numbers(text)
        if wrong:
            raise ImportRefused(wrong)
    try:
        result = com.import_deliveries(
            caller.uow(), com.ImportDeliveries(caller.entity, text, SOURCE, fmt, keep_good)
        )
    except com.ImportRejected as exc:
        raise ImportRefused(exc.errors) from None
    return DeliveriesImported(
        created=result.created,
        corrected=result.corrected,
        unchanged=result.unchanged,
        rejected=[_row_problem(e) for e in result.errors],
    )


def _delivery(r: dict[str, Any]) -> Delivery:
    currency = r["customer_currency"]
    return Delivery(
        ref=r["ref"],
        kind=r["kind"],
        customer=r["customer_code"],
        contract=r["contract_number"],
        po=r["po_number"],
        po_line=r["po_line_no"],
        charge_code=r["charge_code"],
        date=r["delivered_on"],
        status="confirmed" if r["confirmed"] else "pending",
        shipped=decimal_text(r["shipped"]),
        accepted=decimal_text(r["accepted"]),
        hours=decimal_text(r["hours"]),
        role=r["role"] or "",
        percent=decimal_text(r["percent"]),
        amount=decimal_text(r["fixed_price"]),
        quantity=decimal_text(r["quantity"]) or "0",
        description=r["description"] or "",
        revision=r["revision"],
        source=r["source"] or "",
        billed_quantity=decimal_text(r["billed_quantity"]) or "0",
        billings=[
            DeliveryBilling(
                document_id=b["document_id"],
                document_number=b["document_number"],
                document_kind=b["document_kind"],
                document_status=b["document_status"],
                line_no=b["line_no"],
                quantity=decimal_text(b["quantity"]) or "0",
                net=amount(b["net_minor"], currency) or "",
            )
            for b in r["billings"]
        ],
    )


@router.get(
    "/deliveries",
    response_model=DeliveryPage,
    summary="Deliveries with what billed them, in the order they were imported",
)
def list_deliveries(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    customer: Annotated[str, Query(max_length=64)] = "",
    status: Annotated[
        str,
        Query(description="confirmed, pending, or to_bill (what the next billing run looks at)"),
    ] = "",
    date_from: IsoDate | None = None,
    date_to: IsoDate | None = None,
) -> DeliveryPage:
    page = pc.deliveries_page(
        caller.uow(read_only=True),
        caller.entity,
        decode(cursor),
        limit,
        pc.DeliveryFilter(customer, status, date_from, date_to),
    )
    return DeliveryPage(data=[_delivery(r) for r in page.rows], next_cursor=encode(page.after_id))


@router.get("/deliveries/{ref}", response_model=Delivery, summary="One delivery")
def get_delivery(ref: str, caller: Annotated[Caller, allowed(READ)]) -> Delivery:
    return _delivery(pc.delivery_record(caller.uow(read_only=True), caller.entity, ref))


@router.post(
    "/billing/prepare",
    response_model=Prepared,
    tags=["drafts"],
    summary="Turn confirmed, unbilled deliveries up to a date into draft invoices",
    description=(
        "Every confirmed delivery up to `through` that is not (fully) billed is priced from "
        "the contract in force on its date (else the catalog) and grouped into drafts as its "
        "contract says; a corrected delivery becomes a correcting line on its draft or a "
        "credit note on its issued invoice. A delivery a contract or purchase order forbids "
        "billing now is held, with the reason. Credit notes are issued only when the caller "
        "may issue invoices (`invoices.issue`); otherwise those corrections are held too. "
        "Running it again bills nothing twice. Each draft is verified: its findings are in "
        "the discrepancy queue."
    ),
)
def prepare_billing(
    body: BillingIn, caller: Annotated[Caller, allowed(INVOICES_PREPARE)]
) -> Prepared:
    result = com.prepare_billing(
        caller.uow(),
        com.PrepareBilling(
            caller.entity,
            body.through,
            body.document_date,
            issue_credit_notes=caller.principal.may(INVOICES_ISSUE),
        ),
    )
    return Prepared(
        documents=[
            PreparedDocument(
                kind=d.kind,
                document_id=d.document_id,
                number=d.number,
                customer=d.customer,
                lines=d.lines,
                net=amount(d.net_minor, d.currency) or "",
                currency=d.currency,
                deliveries=list(d.deliveries),
            )
            for d in result.documents
        ],
        held=[
            HeldDelivery(delivery=h.delivery, field=h.field, reason=h.reason) for h in result.held
        ],
        looked_at=result.looked_at,
    )
