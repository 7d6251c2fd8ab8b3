"""/v1/entities/{entity}/payments: list, record (allocated as asked), one payment whole,
allocate what is left of it, reverse it (it bounced), and import a payments file.

The import takes the file itself as the request body (text/csv, at most
uploads.UPLOAD_BYTES_MAX bytes) read through a column profile: a built-in one
(`GET .../payments/imports/profiles`) or one of the caller's own, sent as TOML in the
`profiles` query parameter. One bad row refuses the whole file, every bad row named (line,
field, reason), unless `keep_good`; `dry_run` checks and reports and records nothing."""

from __future__ import annotations

from dataclasses import fields
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from openbill.domain.access import PAYMENTS_POST, READ
from openbill.domain.payment_import import (
    BUILTIN,
    PROFILES_CHARS_MAX,
    Profile,
    by_name,
    merged,
    profiles_from_toml,
)
from openbill.domain.rejections import InvalidInput
from openbill.interfaces.api.http import RecordId, location, model_tag, tagged
from openbill.interfaces.api.idempotency import IdempotentRoute
from openbill.interfaces.api.pagination import DEFAULT_PAGE_SIZE, Limit, decode, encode
from openbill.interfaces.api.routes.uploads import UploadRoute, csv_body
from openbill.interfaces.api.schemas import IsoDate, Payment, PaymentPage, amount
from openbill.interfaces.api.schemas_receivables import (
    Allocated,
    AllocateIn,
    ImportProfile,
    ImportReport,
    PaymentDetail,
    PaymentRecordedOut,
    PaymentRecordIn,
    Reversed,
    ReverseIn,
)
from openbill.interfaces.api.security import Caller, allowed
from openbill.usecases import pages
from openbill.usecases import pages_receivables as rp
from openbill.usecases import payments as pay
from openbill.usecases.payment_import import PaymentsImported, import_payments

__all__ = ["router", "imports_router", "PROFILES_QUERY_CHARS_MAX", "detail"]

router = APIRouter(
    prefix="/entities/{entity}/payments", tags=["payments"], route_class=IdempotentRoute
)
imports_router = APIRouter(
    prefix="/entities/{entity}/payments/imports", tags=["payments"], route_class=UploadRoute
)

# Characters of the caller's own profiles sent in the query (a TOML table of a profile takes a
# few hundred); the CLI's --profiles file may hold up to PROFILES_CHARS_MAX.
PROFILES_QUERY_CHARS_MAX = min(4_000, PROFILES_CHARS_MAX)


def _payment(r: dict[str, Any]) -> Payment:
    cur = r["currency"]
    return Payment(
        id=r["id"],
        customer=r["customer"],
        received_on=r["received_on"],
        method=r["method"],
        reference=r["reference"] or "",
        currency=cur,
        amount=amount(r["amount_minor"], cur) or "",
        allocated=amount(r["allocated_minor"], cur) or "",
        unallocated=amount(r["unallocated_minor"], cur) or "",
        reversed_on=r["reversed_on"],
    )


def detail(r: dict[str, Any]) -> PaymentDetail:
    """One payment whole (usecases.pages_receivables.payment_record) as the API gives it."""
    cur = r["currency"]
    return PaymentDetail(
        **_payment(r).model_dump(),
        reversal_reason=r["reversal_reason"],
        allocations=[
            {
                "invoice": a["invoice"],
                "currency": a["currency"],
                "amount": amount(a["amount_minor"], a["currency"]),
                "allocated_on": a["allocated_on"],
                "payment_amount": amount(a["payment_minor"], cur),
                "rate": None if a["rate"] is None else format(a["rate"].normalize(), "f"),
                "exchange_difference": (
                    amount(a["difference_minor"], a["base_currency"]) if a["rate"] else None
                ),
            }
            for a in r["allocations"]
        ],
    )


def _location(caller: Caller, payment_id: int) -> str:
    return location("entities", caller.entity, "payments", payment_id)


@router.get("", response_model=PaymentPage, summary="Payments, in the order they were recorded")
def list_payments(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    customer: Annotated[str, Query(max_length=64)] = "",
    date_from: IsoDate | None = None,
    date_to: IsoDate | None = None,
) -> PaymentPage:
    wanted = pages.PaymentFilter(customer, date_from, date_to)
    page = pages.payments_page(
        caller.uow(read_only=True), caller.entity, decode(cursor), limit, wanted
    )
    return PaymentPage(data=[_payment(r) for r in page.rows], next_cursor=encode(page.after_id))


@router.post(
    "",
    status_code=201,
    response_model=PaymentRecordedOut,
    summary="Record a payment received and allocate it (auto: by reference, else oldest first)",
)
def record_payment(
    body: PaymentRecordIn, response: Response, caller: Annotated[Caller, allowed(PAYMENTS_POST)]
) -> PaymentRecordedOut:
    done = pay.record_payment(
        caller.uow(),
        pay.RecordPayment(
            entity=caller.entity,
            customer=body.customer,
            amount=body.amount,
            currency=body.currency.upper(),
            received_on=body.received_on,
            method=body.method,
            reference=body.reference,
            allocate=body.allocate,
            to=tuple((a.invoice, a.amount) for a in body.to),
            rate=body.rate,
            invoice_currency=body.invoice_currency.upper(),
            close_small_difference=not body.keep_difference,
        ),
    )
    response.headers["Location"] = _location(caller, done.id)
    cur, off_cur = done.currency, done.written_off_currency or done.currency
    return PaymentRecordedOut(
        id=done.id,
        currency=cur,
        amount=amount(done.amount_minor, cur) or "",
        allocated=amount(done.allocated_minor, cur) or "",
        credit=amount(done.credit_minor, cur) or "",
        invoices=list(done.invoices),
        how=done.how,
        written_off=amount(done.written_off_minor, off_cur) or "",
        written_off_currency=done.written_off_currency,
        fx_difference=amount(done.fx_difference_minor, done.base_currency or cur) or "",
        base_currency=done.base_currency,
    )


@router.get(
    "/{payment_id}",
    response_model=PaymentDetail,
    summary="One payment: what it paid (with rates across currencies), what is left, reversal",
)
def get_payment(
    payment_id: RecordId,
    request: Request,
    response: Response,
    caller: Annotated[Caller, allowed(READ)],
) -> Any:
    shown = detail(rp.payment_record(caller.uow(read_only=True), caller.entity, payment_id))
    # a derived view: it changes when an allocation or reversal is made
    return tagged(request, response, model_tag(shown), shown)


@router.post(
    "/{payment_id}/allocations",
    response_model=Allocated,
    summary="Allocate what is left of a payment: to the invoices named, else by its reference, "
    "else oldest first",
)
def allocate_payment(
    payment_id: RecordId, body: AllocateIn, caller: Annotated[Caller, allowed(PAYMENTS_POST)]
) -> Allocated:
    done = pay.allocate_payment(
        caller.uow(),
        pay.AllocatePayment(
            caller.entity,
            payment_id,
            tuple((a.invoice, a.amount) for a in body.to),
            body.date,
            rate=body.rate,
            invoice_currency=body.invoice_currency.upper(),
            close_small_difference=not body.keep_difference,
        ),
    )
    now = detail(rp.payment_record(caller.uow(read_only=True), caller.entity, payment_id))
    return Allocated(
        allocated=amount(done.amount_minor, done.currency) or "",
        currency=done.currency,
        payment=now,
    )


@router.post(
    "/{payment_id}/reversal",
    response_model=Reversed,
    summary="Reverse a payment that bounced: the invoices it paid open again",
)
def reverse_payment(
    payment_id: RecordId, body: ReverseIn, caller: Annotated[Caller, allowed(PAYMENTS_POST)]
) -> Reversed:
    done = pay.reverse_payment(
        caller.uow(), pay.ReversePayment(caller.entity, payment_id, body.reason, body.date)
    )
    now = detail(rp.payment_record(caller.uow(read_only=True), caller.entity, payment_id))
    return Reversed(reopened=[n for n in done.detail.split(", ") if n], payment=now)


# --- the payments file ----------------------------------------------------------------------


def _profile_out(p: Profile) -> ImportProfile:
    names = {
        f.name: list(getattr(p, f.name))
        for f in fields(Profile)
        if isinstance(getattr(p, f.name), tuple) and f.name != "paid_statuses"
    }
    return ImportProfile(
        name=p.name,
        description=p.description,
        columns={k: v for k, v in names.items() if v},
        currency=p.currency,
        method=p.method,
        paid_statuses=list(p.paid_statuses),
        date_format=p.date_format,
        decimal=p.decimal,
        thousands=p.thousands,
        delimiter=p.delimiter,
        encoding=p.encoding,
    )


@imports_router.get(
    "/profiles",
    response_model=list[ImportProfile],
    summary="The built-in column profiles of payments files",
)
def import_profiles(caller: Annotated[Caller, allowed(READ)]) -> list[ImportProfile]:
    return [_profile_out(p) for p in BUILTIN.values()]


def _chosen(profile: str, profiles: str, date_format: str) -> Profile:
    own = profiles_from_toml(profiles, "profiles") if profiles else {}
    try:
        found = by_name(profile, own)
    except InvalidInput as exc:
        raise InvalidInput(exc.reason, record="import", field="profile") from None
    return merged(found, date_format)


def _report(r: PaymentsImported) -> ImportReport:
    return ImportReport(
        source=r.source,
        profile=r.profile,
        dry_run=r.dry_run,
        rows_read=r.rows_read,
        recorded=r.recorded,
        already_imported=r.already_imported,
        debits_skipped=r.debits_skipped,
        not_paid_skipped=r.not_paid_skipped,
        refunded_skipped=r.refunded_skipped,
        allocation=dict(r.allocation),
        totals=[
            {
                "currency": t.currency,
                "payments": t.payments,
                "received": amount(t.amount_minor, t.currency),
                "allocated": amount(t.allocated_minor, t.currency),
                "credit_left": amount(t.credit_minor, t.currency),
                "written_off": amount(t.written_off_minor, t.currency),
            }
            for t in r.totals
        ],
        payments=[
            {
                "line": p.line,
                "payment_id": None if r.dry_run else p.payment_id,
                "customer": p.customer,
                "currency": p.currency,
                "amount": amount(p.amount_minor, p.currency),
                "allocated": amount(p.allocated_minor, p.currency),
                "how": p.how,
                "invoices": list(p.invoices),
                "written_off": amount(p.written_off_minor, p.written_off_currency or p.currency),
                "payer": p.payer,
            }
            for p in r.payments
        ],
        rejected=[
            {"line": e.line, "field": e.field, "reason": e.reason, "row": dict(e.raw)}
            for e in r.rejected
        ],
    )


@imports_router.post(
    "",
    response_model=ImportReport,
    summary="Import a payments file (text/csv body): all or nothing unless keep_good; "
    "dry_run records nothing",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def import_file(
    caller: Annotated[Caller, allowed(PAYMENTS_POST)],
    data: Annotated[bytes, Depends(csv_body)],
    profile: Annotated[str, Query(min_length=1, max_length=64)] = "openbill",
    profiles: Annotated[
        str,
        Query(
            max_length=PROFILES_QUERY_CHARS_MAX,
            description="your own profiles as TOML ([profiles.NAME] tables)",
        ),
    ] = "",
    date_format: Literal["", "ISO", "DD.MM.YYYY", "MM/DD/YYYY", "DD/MM/YYYY"] = "",
    allocate: Literal["auto", "reference", "oldest", "none"] = "auto",
    keep_good: Annotated[
        bool, Query(description="record the good rows; the bad ones come back in `rejected`")
    ] = False,
    dry_run: Annotated[bool, Query(description="check and report; record nothing")] = False,
    filename: Annotated[
        str,
        Query(
            pattern=r"^[\w][\w .,()+-]{0,99}$",
            description="the file's name, as errors and the audit trail give it",
        ),
    ] = "payments.csv",
) -> ImportReport:
    chosen = _chosen(profile, profiles, date_format)
    result = import_payments(
        caller.uow, caller.entity, data, filename, chosen, keep_good, dry_run, allocate=allocate
    )
    return _report(result)
