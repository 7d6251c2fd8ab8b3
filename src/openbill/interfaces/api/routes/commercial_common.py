"""What the invoicing routes share: documents, drafts and findings as the API shows them
(amounts with the currency's places, quantities and rates without trailing zeros, unit prices
with at least two places, whatever the database gave back), request lines as the use cases
take them, and the use case's own idempotency key for an HTTP Idempotency-Key."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import JSONResponse

from openbill.interfaces.api.idempotency import HEADER
from openbill.interfaces.api.problems import problem
from openbill.interfaces.api.schemas import InvoiceLine, amount
from openbill.interfaces.api.schemas_commercial import (
    Adjustment,
    Approval,
    Discrepancy,
    Draft,
    DraftLine,
    InvoiceShown,
    TaxSubtotal,
    WriteOff,
    decimal_text,
    price_text,
)
from openbill.interfaces.api.security import Caller
from openbill.usecases import invoices as inv
from openbill.usecases.pages_commercial import DocumentRecord, DraftRecord

__all__ = [
    "IdempotencyKey",
    "bounded_body",
    "too_large",
    "adjustment_specs",
    "discrepancy",
    "draft",
    "invoice_shown",
    "line_specs",
    "settlements",
    "work_key",
]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        description="a replay returns the first response and issues or creates nothing twice",
    ),
]


def work_key(caller: Caller, key: str | None) -> str:
    """The use case's own idempotency key for an HTTP Idempotency-Key. The HTTP store records
    a response after the work committed; with this key in the work's own transaction, work
    whose response was never recorded (the server stopped in between) still runs once."""
    if not key:
        return ""
    who = f"{caller.principal.kind}:{caller.principal.id}\n{key}"
    return "api:" + hashlib.sha256(who.encode()).hexdigest()[:48]


def bounded_body(max_bytes: int) -> Callable[[Request], Awaitable[bytes | None]]:
    """A dependency giving the raw request body, read at most `max_bytes` far; None when it is
    larger (refused without reading it when Content-Length says so)."""

    async def read(request: Request) -> bytes | None:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            return None
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > max_bytes:
                return None
        return bytes(data)

    return read


def too_large(request: Request, max_bytes: int, what: str) -> JSONResponse:
    return problem(
        request,
        413,
        "payload_too_large",
        f"{what} holds at most {max_bytes:,} bytes",
        field="body",
    )


def line_specs(lines: Any) -> tuple[inv.LineSpec, ...]:
    return tuple(
        inv.LineSpec(ln.charge_code, ln.quantity, ln.description, ln.unit_price) for ln in lines
    )


def adjustment_specs(adjustments: Any) -> tuple[inv.AdjustmentSpec, ...]:
    return tuple(
        inv.AdjustmentSpec(a.kind, a.amount, a.reason, a.tax_class, a.reason_code)
        for a in adjustments
    )


def _money(minor: Any, currency: str) -> str:
    return amount(int(minor), currency) or ""


def _taxes(record: DocumentRecord, cur: str) -> list[TaxSubtotal]:
    return [
        TaxSubtotal(
            category=x["category"],
            rate=decimal_text(x["rate"]) or "0",
            taxable=_money(x["taxable_minor"], cur),
            tax=_money(x["tax_minor"], cur),
            exemption_reason=x["exemption_reason"] or "",
            exemption_code=x["exemption_code"] or "",
        )
        for x in record.view.taxes
    ]


def _adjustments(record: DocumentRecord, cur: str) -> list[Adjustment]:
    return [
        Adjustment(
            kind="charge" if a["is_charge"] else "allowance",
            reason=a["reason"],
            amount=_money(a["amount_minor"], cur),
            tax_category=a["tax_category"],
            tax_rate=decimal_text(a["tax_rate"]) or "0",
        )
        for a in record.view.adjustments
    ]


def settlements(record: DocumentRecord, cur: str) -> list[dict[str, Any]]:
    return [
        {
            "payment_id": s["payment_id"],
            "credit_note_id": s["credit_note_id"],
            "on": s["allocated_on"].isoformat() if s["allocated_on"] else None,
            "amount": amount(s["amount_minor"], cur),
            "reversed_on": s["reversed_on"].isoformat() if s["reversed_on"] else None,
        }
        for s in record.view.settlements
    ]


def invoice_shown(record: DocumentRecord) -> InvoiceShown:
    h = record.view.header
    cur = h["currency"]
    return InvoiceShown(
        number=h["number"] or "",
        id=h["id"],
        kind=h["kind"],
        status=h["derived_status"],
        customer=h["customer_code"],
        customer_name=h["customer_name"],
        document_date=h["document_date"],
        due_date=h["due_date"],
        currency=cur,
        net=_money(h["net_minor"], cur),
        tax=_money(h["tax_minor"], cur),
        total=_money(h["total_minor"], cur),
        open=amount(h["open_minor"], cur) or "",
        payment_reference=h["payment_reference"],
        buyer_reference=h["buyer_reference"],
        payment_terms=h["payment_terms"],
        reason=h["reason"] or "",
        credited_invoice=record.credited_number,
        lines=[
            InvoiceLine(
                line_no=ln["line_no"],
                charge_code=record.charge_codes.get(int(ln["charge_code_id"])),
                description=ln["description"],
                quantity=decimal_text(ln["quantity"]) or "0",
                unit_price=price_text(ln["unit_price"]) or "",
                net=_money(ln["net_minor"], cur),
                tax_category=ln["tax_category"],
                tax_rate=decimal_text(ln["tax_rate"]) or "0",
            )
            for ln in record.view.lines
        ],
        taxes=_taxes(record, cur),
        adjustments=_adjustments(record, cur),
        settlements=settlements(record, cur),
        write_offs=[
            WriteOff(
                on=w["written_off_on"],
                amount=_money(w["amount_minor"], cur),
                reason=w["reason"],
                reversed_on=w.get("reversed_on"),
            )
            for w in record.view.write_offs
        ],
    )


def discrepancy(row: dict[str, Any], customer: str = "", number: str = "") -> Discrepancy:
    """A finding of the queue; `customer` and `number` where the row does not carry them."""
    return Discrepancy(
        id=row["id"],
        draft_id=row["document_id"],
        document_number=row.get("document_number") or number,
        customer=row.get("customer_code") or customer,
        rule=row["rule"],
        severity=row["severity"],
        record=row["record"],
        field=row["field"],
        message=row["message"],
        status=row["status"],
        resolution=row["resolution"] or "",
        resolved_by=row["resolved_by"],
        resolved_at=row["resolved_at"],
        created_at=row["created_at"],
    )


def draft(found: DraftRecord) -> Draft:
    record = found.document
    h = record.view.header
    cur = h["currency"]
    number = h["number"] or ""
    approval = found.approval
    return Draft(
        id=h["id"],
        status=h["status"],
        number=number,
        customer=h["customer_code"],
        customer_name=h["customer_name"],
        document_date=h["document_date"],
        currency=cur,
        payment_terms=h["payment_terms"],
        buyer_reference=h["buyer_reference"],
        net=_money(h["net_minor"], cur),
        tax=_money(h["tax_minor"], cur),
        total=_money(h["total_minor"], cur),
        lines=[
            DraftLine(
                line_no=ln["line_no"],
                charge_code=record.charge_codes.get(int(ln["charge_code_id"])),
                description=ln["description"],
                quantity=decimal_text(ln["quantity"]) or "0",
                unit=ln["unit"],
                unit_price=price_text(ln["unit_price"]) or "",
                net=_money(ln["net_minor"], cur),
                tax_category=ln["tax_category"],
                tax_rate=decimal_text(ln["tax_rate"]) or "0",
            )
            for ln in record.view.lines
        ],
        taxes=_taxes(record, cur),
        adjustments=_adjustments(record, cur),
        discrepancies=[discrepancy(f, h["customer_code"], number) for f in found.findings],
        approval=None
        if approval is None
        else Approval(
            approved_by=approval["approved_by"],
            approved_at=approval["approved_at"],
            total=_money(approval["total_minor"], cur),
        ),
    )
