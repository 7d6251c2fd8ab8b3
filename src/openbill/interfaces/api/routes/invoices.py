"""/v1/entities/{entity}/invoices: list with filters, read one whole, issue one at once, and
credit notes: for some lines or quantities, or for all of it (void). Drafts are under
/drafts (routes.drafts); an issued document's files and e-mail under routes.documents and
routes.outbox."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from openbill.domain.access import INVOICES_ISSUE, READ
from openbill.domain.invoice import DocumentKind, DocumentStatus
from openbill.interfaces.api.http import location, model_tag, tagged
from openbill.interfaces.api.idempotency import IdempotentRoute
from openbill.interfaces.api.pagination import DEFAULT_PAGE_SIZE, Limit, decode, encode
from openbill.interfaces.api.routes.commercial_common import (
    IdempotencyKey,
    adjustment_specs,
    invoice_shown,
    line_specs,
    work_key,
)
from openbill.interfaces.api.schemas import Invoice, InvoicePage, IsoDate, amount
from openbill.interfaces.api.schemas_commercial import CreditIn, InvoiceCreate, InvoiceShown, VoidIn
from openbill.interfaces.api.security import Caller, allowed
from openbill.usecases import invoices as inv
from openbill.usecases import pages
from openbill.usecases import pages_commercial as pc

router = APIRouter(
    prefix="/entities/{entity}/invoices", tags=["invoices"], route_class=IdempotentRoute
)
# The values of the filters, and empty (as a form sends a filter left unchosen): any. One
# Literal rather than a union with the enumeration, so that a refusal names the field alone.
Status = Annotated[
    Literal[("", *(s.value for s in DocumentStatus))],  # type: ignore[valid-type]
    Query(
        description="draft, issued (open, not due), partially_paid, paid, overdue, void, "
        "applied or written_off; empty: any"
    ),
]
Kind = Annotated[
    Literal[("", *(k.value for k in DocumentKind))],  # type: ignore[valid-type]
    Query(description="invoice or credit_note; empty: any"),
]


def _invoice(r: dict[str, Any]) -> Invoice:
    return Invoice(
        number=r["number"],
        id=r["id"],
        kind=r["kind"],
        status=r["status"],
        customer=r["customer"],
        document_date=r["document_date"],
        due_date=r["due_date"],
        currency=r["currency"],
        total=amount(r["total_minor"], r["currency"]) or "",
        open=amount(r["open_minor"], r["currency"]) or "",
    )


@router.get("", response_model=InvoicePage, summary="Invoices and credit notes, oldest first")
def list_invoices(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    status: Status = "",
    customer: Annotated[str, Query(max_length=64)] = "",
    kind: Kind = "",
    date_from: IsoDate | None = None,
    date_to: IsoDate | None = None,
    number: Annotated[str, Query(max_length=40)] = "",
    as_of: Annotated[
        IsoDate | None, Query(description="the status as of this date [today]")
    ] = None,
) -> InvoicePage:
    wanted = pages.InvoiceFilter(customer, kind, status, date_from, date_to, number)
    page = pages.invoices_page(
        caller.uow(read_only=True), caller.entity, decode(cursor), limit, wanted, as_of
    )
    return InvoicePage(data=[_invoice(r) for r in page.rows], next_cursor=encode(page.after_id))


def _shown(caller: Caller, number: str) -> InvoiceShown:
    return invoice_shown(pc.document_record(caller.uow(read_only=True), caller.entity, number))


def _created(response: Response, caller: Caller, number: str) -> InvoiceShown:
    response.headers["Location"] = location("entities", caller.entity, "invoices", number)
    return _shown(caller, number)


@router.get(
    "/{number}",
    response_model=InvoiceShown,
    summary="One invoice or credit note whole: lines, tax subtotals, allowances and charges, "
    "settlements, write-offs",
)
def get_invoice(
    number: str, request: Request, response: Response, caller: Annotated[Caller, allowed(READ)]
) -> Any:
    shown = _shown(caller, number)
    # An issued document never changes; what is paid of it does: the tag covers both.
    return tagged(request, response, model_tag(shown), shown)


@router.post(
    "", status_code=201, response_model=InvoiceShown, summary="Issue an invoice (numbered now)"
)
def issue_invoice(
    body: InvoiceCreate,
    response: Response,
    caller: Annotated[Caller, allowed(INVOICES_ISSUE)],
    idempotency_key: IdempotencyKey = None,
) -> InvoiceShown:
    issued = inv.create_invoice(
        caller.uow(),
        inv.CreateInvoice(
            entity=caller.entity,
            customer=body.customer,
            lines=line_specs(body.lines),
            issue_date=body.issue_date,
            currency=body.currency.upper(),
            buyer_reference=body.buyer_reference,
            idempotency_key=work_key(caller, idempotency_key),
            adjustments=adjustment_specs(body.adjustments),
        ),
    )
    return _created(response, caller, issued.number)


@router.post(
    "/{number}/credit-notes",
    status_code=201,
    response_model=InvoiceShown,
    summary="Issue a credit note for an invoice, or for quantities of some of its lines",
    description=(
        "The credit note is applied to what is still open on the invoice; the rest stays as "
        "credit for the customer. Without `lines` it credits the whole invoice (see also "
        "`void`). An invoice is never credited for more than its total."
    ),
)
def credit_invoice(
    number: str,
    body: CreditIn,
    response: Response,
    caller: Annotated[Caller, allowed(INVOICES_ISSUE)],
    idempotency_key: IdempotencyKey = None,
) -> InvoiceShown:
    issued = inv.credit_invoice(
        caller.uow(),
        inv.CreditInvoice(
            caller.entity,
            number,
            body.reason,
            body.date,
            tuple((ln.line_no, ln.quantity) for ln in body.lines),
            work_key(caller, idempotency_key),
        ),
    )
    return _created(response, caller, issued.number)


@router.post(
    "/{number}/void",
    status_code=201,
    response_model=InvoiceShown,
    summary="Void an invoice by a credit note for all of it (answers the credit note)",
)
def void_invoice(
    number: str,
    body: VoidIn,
    response: Response,
    caller: Annotated[Caller, allowed(INVOICES_ISSUE)],
    idempotency_key: IdempotencyKey = None,
) -> InvoiceShown:
    issued = inv.credit_invoice(
        caller.uow(),
        inv.CreditInvoice(
            caller.entity, number, body.reason, body.date, (), work_key(caller, idempotency_key)
        ),
    )
    return _created(response, caller, issued.number)
