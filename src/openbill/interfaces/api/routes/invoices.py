"""/v1/entities/{entity}/invoices: list with filters, read one, issue one."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response

from openbill.domain.access import INVOICES_ISSUE, READ
from openbill.domain.invoice import DocumentKind, DocumentStatus
from openbill.interfaces.api.http import model_tag, not_modified
from openbill.interfaces.api.idempotency import IdempotentRoute
from openbill.interfaces.api.pagination import DEFAULT_PAGE_SIZE, Limit, decode, encode
from openbill.interfaces.api.schemas import (
    Invoice,
    InvoiceDetail,
    InvoiceIn,
    InvoiceLine,
    InvoicePage,
    IsoDate,
    amount,
)
from openbill.interfaces.api.security import Caller, allowed
from openbill.usecases import invoices as inv
from openbill.usecases import pages
from openbill.usecases import reports as rep

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
) -> InvoicePage:
    wanted = pages.InvoiceFilter(
        customer,
        kind,
        status,
        date_from,
        date_to,
        number,
    )
    page = pages.invoices_page(
        caller.uow(read_only=True), caller.entity, decode(cursor), limit, wanted
    )
    return InvoicePage(data=[_invoice(r) for r in page.rows], next_cursor=encode(page.after_id))


def _detail(view: rep.DocumentView) -> InvoiceDetail:
    h = view.header
    cur = h["currency"]
    lines = [
        InvoiceLine(
            line_no=ln["line_no"],
            charge_code=ln.get("charge_code"),
            description=ln["description"],
            quantity=str(ln["quantity"]),
            unit_price=str(ln["unit_price"]),
            net=amount(ln["net_minor"], cur) or "",
            tax_category=ln["tax_category"],
            tax_rate=str(ln["tax_rate"]),
        )
        for ln in view.lines
    ]
    settlements = [
        {
            "payment_id": s["payment_id"],
            "credit_note_id": s["credit_note_id"],
            "on": s["allocated_on"].isoformat() if s["allocated_on"] else None,
            "amount": amount(s["amount_minor"], cur),
            "reversed_on": s["reversed_on"].isoformat() if s["reversed_on"] else None,
        }
        for s in view.settlements
    ]
    return InvoiceDetail(
        number=h["number"] or "",
        id=h["id"],
        kind=h["kind"],
        status=h["derived_status"],
        customer=h["customer_code"],
        customer_name=h["customer_name"],
        document_date=h["document_date"],
        due_date=h["due_date"],
        currency=cur,
        net=amount(h["net_minor"], cur) or "",
        tax=amount(h["tax_minor"], cur) or "",
        total=amount(h["total_minor"], cur) or "",
        open=amount(h["open_minor"], cur) or "",
        payment_reference=h["payment_reference"],
        buyer_reference=h["buyer_reference"],
        lines=lines,
        settlements=settlements,
    )


@router.get(
    "/{number}",
    response_model=InvoiceDetail,
    summary="One invoice or credit note",
    responses={304: {"description": "not changed since the ETag sent as If-None-Match"}},
)
def get_invoice(
    number: str, request: Request, response: Response, caller: Annotated[Caller, allowed(READ)]
) -> Any:
    view = rep.show_document(caller.uow(read_only=True), caller.entity, number)
    detail = _detail(view)
    # An issued document never changes; what is paid of it does: the tag covers both.
    tag = model_tag(detail)
    if not_modified(request, tag):
        return Response(status_code=304, headers={"ETag": tag})
    response.headers["ETag"] = tag
    return detail


@router.post(
    "", status_code=201, response_model=InvoiceDetail, summary="Issue an invoice (numbered now)"
)
def issue_invoice(
    body: InvoiceIn, response: Response, caller: Annotated[Caller, allowed(INVOICES_ISSUE)]
) -> InvoiceDetail:
    issued = inv.create_invoice(
        caller.uow(),
        inv.CreateInvoice(
            entity=caller.entity,
            customer=body.customer,
            lines=tuple(
                inv.LineSpec(ln.charge_code, ln.quantity, ln.description, ln.unit_price)
                for ln in body.lines
            ),
            issue_date=body.issue_date,
            currency=body.currency.upper(),
            buyer_reference=body.buyer_reference,
        ),
    )
    response.headers["Location"] = (
        f"/v1/entities/{quote(caller.entity, safe='')}/invoices/{quote(issued.number, safe='')}"
    )
    return _detail(rep.show_document(caller.uow(read_only=True), caller.entity, issued.number))
