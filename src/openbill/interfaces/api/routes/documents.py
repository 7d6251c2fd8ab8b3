"""An issued invoice or credit note as a file: /v1/entities/{entity}/invoices/{number}/pdf,
/ubl (Peppol BIS 3.0), /cii (UN/CEFACT CII) and /facturx (PDF/A-3 with the CII embedded), each
with its media type and a Content-Disposition naming the file; and /v1/entities/{entity}/
einvoices/read, which reads an e-invoice from outside (UBL, CII or a Factur-X PDF), checks
that its totals add up and answers what it says. Nothing is stored.

PDFs come from the Jinja2/WeasyPrint templates (a company folder in $OPENBILL_TEMPLATES_DIR
overrides any of them); the XML from the EN 16931 model of the document as issued.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from openbill.domain.access import READ
from openbill.domain.rejections import InvalidState
from openbill.interfaces.api.http import etag, not_modified
from openbill.interfaces.api.idempotency import IdempotentRoute
from openbill.interfaces.api.routes.commercial_common import bounded_body, too_large
from openbill.interfaces.api.security import Caller, allowed
from openbill.usecases import einvoicing
from openbill.usecases import pages_commercial as pc
from openbill.usecases import statements as st

__all__ = ["router", "EINVOICE_BODY_BYTES_MAX", "MEDIA_TYPES"]

router = APIRouter(prefix="/entities/{entity}", tags=["documents"], route_class=IdempotentRoute)

EINVOICE_BODY_BYTES_MAX = 20_000_000  # bytes of an e-invoice to read (XML or PDF)
PDF = "application/pdf"
XML = "application/xml"
MEDIA_TYPES = {"pdf": PDF, "ubl": XML, "cii": XML, "facturx": PDF}
_SUFFIXES = {"pdf": ".pdf", "ubl": "-ubl.xml", "cii": "-cii.xml", "facturx": "-facturx.pdf"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _issued(caller: Caller, number: str) -> pc.DocumentRecord:
    record = pc.document_record(caller.uow(read_only=True), caller.entity, number)
    header = record.view.header
    if header["status"] != "issued" or not header["number"]:
        raise InvalidState(
            f"draft {header['id']} has no number yet; issue it before downloading it",
            record=f"draft {header['id']}",
            field="status",
        )
    return record


def _pdf(caller: Caller, record: pc.DocumentRecord, variant: str | None = None) -> bytes:
    from openbill.adapters.documents import pdf

    header = record.view.header
    who = st.parties(caller.uow(read_only=True), caller.entity, header["customer_code"])
    return pdf.render_document(
        record.view, who, credited_number=record.credited_number, pdf_variant=variant
    )


def _xml(caller: Caller, number: str, syntax: str) -> bytes:
    from openbill.adapters.documents.einvoice_io import WRITERS

    return einvoicing.export_einvoice(
        caller.uow(read_only=True), caller.entity, number, syntax, WRITERS
    )


def _facturx(caller: Caller, record: pc.DocumentRecord) -> bytes:
    from openbill.adapters.documents import facturx

    number = record.view.header["number"]
    printed = _pdf(caller, record, facturx.PDF_VARIANT)
    seller = st.parties(
        caller.uow(read_only=True), caller.entity, record.view.header["customer_code"]
    ).seller
    return facturx.embed_cii(
        printed, _xml(caller, number, "cii"), number=number, seller_name=seller.name
    )


def _file(request: Request, number: str, fmt: str, data: bytes) -> Response:
    tag = etag(hashlib.sha256(data).hexdigest()[:32])
    if not_modified(request, tag):
        return Response(status_code=304, headers={"ETag": tag})
    name = _UNSAFE.sub("-", number) + _SUFFIXES[fmt]
    return Response(
        content=data,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"', "ETag": tag},
    )


def _responses(fmt: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"content": {MEDIA_TYPES[fmt]: {}}, "description": "the file"},
        409: {"description": "a draft: issue it first"},
    }


@router.get(
    "/invoices/{number}/pdf",
    response_class=Response,
    responses=_responses("pdf"),
    summary="The PDF of an issued invoice or credit note",
)
def download_pdf(number: str, request: Request, caller: Annotated[Caller, allowed(READ)]) -> Any:
    record = _issued(caller, number)
    return _file(request, record.view.header["number"], "pdf", _pdf(caller, record))


@router.get(
    "/invoices/{number}/ubl",
    response_class=Response,
    responses=_responses("ubl"),
    summary="The EN 16931 e-invoice in UBL 2.1 (Peppol BIS Billing 3.0)",
)
def download_ubl(number: str, request: Request, caller: Annotated[Caller, allowed(READ)]) -> Any:
    record = _issued(caller, number)
    issued = record.view.header["number"]
    return _file(request, issued, "ubl", _xml(caller, issued, "ubl"))


@router.get(
    "/invoices/{number}/cii",
    response_class=Response,
    responses=_responses("cii"),
    summary="The EN 16931 e-invoice in UN/CEFACT CII D16B",
)
def download_cii(number: str, request: Request, caller: Annotated[Caller, allowed(READ)]) -> Any:
    record = _issued(caller, number)
    issued = record.view.header["number"]
    return _file(request, issued, "cii", _xml(caller, issued, "cii"))


@router.get(
    "/invoices/{number}/facturx",
    response_class=Response,
    responses=_responses("facturx"),
    summary="The Factur-X PDF (PDF/A-3 with the CII e-invoice embedded)",
)
def download_facturx(
    number: str, request: Request, caller: Annotated[Caller, allowed(READ)]
) -> Any:
    record = _issued(caller, number)
    return _file(request, record.view.header["number"], "facturx", _facturx(caller, record))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


@router.post(
    "/einvoices/read",
    response_model=dict[str, Any],
    tags=["documents"],
    summary="Read an e-invoice from outside (UBL, CII or Factur-X PDF); nothing is stored",
    description=(
        "The body is the file itself (application/xml or application/pdf), at most "
        f"{EINVOICE_BODY_BYTES_MAX:,} bytes. Its declared totals are checked against its "
        "lines (BR-CO-10 to BR-CO-16); the answer is the EN 16931 content: parties, lines, "
        "VAT breakdown and totals, amounts as decimal strings; `kind` says invoice or "
        "credit_note."
    ),
    responses={413: {"description": "the body is larger than the bound"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                XML: {"schema": {"type": "string"}},
                PDF: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
def read_einvoice(
    request: Request,
    caller: Annotated[Caller, allowed(READ)],
    data: bytes | None = Depends(bounded_body(EINVOICE_BODY_BYTES_MAX)),
) -> Any:
    if data is None:
        return too_large(request, EINVOICE_BODY_BYTES_MAX, "an e-invoice to read")
    from openbill.adapters.documents.einvoice_io import read_any

    found = einvoicing.read_einvoice(data, read_any)
    return {
        "kind": "credit_note" if found.is_credit_note else "invoice",
        **_jsonable(asdict(found)),
    }
