"""/v1/entities/{entity}/disputes: dispute cases on invoices and lines, their timeline, their
resolution, and the root-cause report.

Opening a case, notes and attachment references need `disputes.open`, and so does changing
what the case is about (owner, due date, amount in dispute: PATCH with If-Match), the same
power as opening it with those values; moving its status and resolving it (credit note,
re-bill, rejection) need `disputes.resolve`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response

from openbill.domain.access import DISPUTES_OPEN, DISPUTES_RESOLVE, READ
from openbill.domain.disputes import Group
from openbill.domain.rejections import InvalidInput
from openbill.interfaces.api.http import etag, location, require_if_match, tagged
from openbill.interfaces.api.idempotency import IdempotentRoute
from openbill.interfaces.api.pagination import DEFAULT_PAGE_SIZE, Limit, decode, encode
from openbill.interfaces.api.routes.dunning import sender_address
from openbill.interfaces.api.schemas import IsoDate, amount
from openbill.interfaces.api.schemas_receivables import (
    AttachmentIn,
    CreditNoteIn,
    Dispute,
    DisputeChange,
    DisputeDetail,
    DisputeIn,
    DisputePage,
    DisputeReport,
    DisputeStatusIn,
    NoteIn,
    RebillIn,
    RejectionIn,
    Resolved,
    TimelineAdded,
)
from openbill.interfaces.api.security import Caller, allowed
from openbill.usecases import disputes as ds
from openbill.usecases import pages_receivables as rp
from openbill.usecases.invoices import LineSpec

__all__ = ["router"]

router = APIRouter(
    prefix="/entities/{entity}/disputes", tags=["disputes"], route_class=IdempotentRoute
)
StatusQuery = Annotated[
    str,
    Query(
        description="active (open or waiting), closed (resolved or rejected), all, or one of "
        "open, waiting_on_customer, waiting_on_internal, resolved, rejected"
    ),
]


def _dispute(c: dict[str, Any]) -> dict[str, Any]:
    cur = c["currency"]
    return {
        "case": c["case_no"],
        "invoice": c["invoice_number"],
        "line": c["line_no"],
        "charge_code": c["charge_code"] if c["line_no"] is not None else None,
        "customer": c["customer_code"],
        "reason": c["reason"],
        "amount": amount(c["amount_minor"], cur) or "",
        "currency": cur,
        "status": c["status"],
        "owner": c["owner"],
        "due_on": c["due_on"],
        "overdue": bool(c["overdue"]),
        "opened_on": c["opened_on"],
        "opened_by": c["opened_by"],
        "closed_on": c["closed_on"],
        "resolution": c["resolution"] or "",
    }


def _detail(view: ds.CaseView) -> DisputeDetail:
    c, r, cur = view.case, view.resolution, view.case["currency"]
    resolution = None
    if r is not None:
        resolution = {
            "kind": r["kind"],
            "resolved_on": r["resolved_on"],
            "resolved_by": r["resolved_by"],
            "credit_note": r["credit_note_number"],
            "credit_note_total": amount(r["credit_note_total_minor"], cur),
            "rebill_invoice": r["rebill_number"],
            "rebill_total": amount(r["rebill_total_minor"], cur),
            "explanation": r["explanation"] or "",
        }
    return DisputeDetail(
        **_dispute(c),
        customer_name=c["customer_name"],
        open=amount(c["open_minor"], cur) or "",
        resolution_detail=resolution,
        timeline=[
            {
                "at": e["occurred_at"],
                "actor": e["actor"],
                "kind": e["kind"],
                "detail": e["detail"],
                "reference": e["reference"] or "",
            }
            for e in view.events
        ],
    )


def _read(caller: Caller, case: str, response: Response) -> DisputeDetail:
    view, revision = rp.dispute_record(caller.uow(read_only=True), caller.entity, case)
    response.headers["ETag"] = etag(revision)
    return _detail(view)


def _location(caller: Caller, case_no: str) -> str:
    return location("entities", caller.entity, "disputes", case_no)


def _resolved(r: ds.Resolved) -> Resolved:
    cur = r.currency
    return Resolved(
        case=r.case_no,
        status=r.status,
        resolution=r.resolution,
        invoice=r.invoice,
        currency=cur,
        credit_note=r.credit_note,
        credit_note_total=amount(r.credit_note_total_minor, cur) or "",
        rebill_invoice=r.rebill_invoice,
        rebill_total=amount(r.rebill_total_minor, cur) or "",
        carried_over=amount(r.carried_over_minor, cur) or "",
        adjusted=amount(r.adjusted_minor, cur) or "",
        mail=r.mail,
    )


@router.get("", response_model=DisputePage, summary="Dispute cases in the order they were opened")
def list_disputes(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    status: StatusQuery = "active",
    customer: Annotated[str, Query(max_length=64)] = "",
    invoice: Annotated[str, Query(max_length=40)] = "",
    owner: Annotated[str, Query(max_length=100)] = "",
    reason: Annotated[str, Query(max_length=32)] = "",
    opened_from: IsoDate | None = None,
    opened_to: IsoDate | None = None,
) -> DisputePage:
    wanted = rp.DisputeFilter(status, customer, invoice, owner, reason, opened_from, opened_to)
    page = rp.disputes_page(
        caller.uow(read_only=True), caller.entity, decode(cursor), limit, wanted
    )
    return DisputePage(
        data=[Dispute(**_dispute(c)) for c in page.rows], next_cursor=encode(page.after_id)
    )


def _group(g: Group) -> dict[str, Any]:
    return {
        "key": g.key,
        "cases": g.cases,
        "active": g.active,
        "resolved": g.resolved,
        "rejected": g.rejected,
        "disputed": [{"currency": c, "amount": amount(m, c)} for c, m in g.disputed],
        "adjusted": [{"currency": c, "amount": amount(m, c)} for c, m in g.adjusted],
        "days_mean": None if g.days_mean is None else str(g.days_mean),
        "days_median": None if g.days_median is None else str(g.days_median),
    }


@router.get(
    "/report",
    response_model=DisputeReport,
    summary="Counts, amounts and days to resolve by reason, by charge code and by both",
)
def report(
    caller: Annotated[Caller, allowed(READ)],
    date_from: Annotated[IsoDate | None, Query(description="cases opened on or after")] = None,
    date_to: Annotated[IsoDate | None, Query(description="cases opened on or before")] = None,
) -> DisputeReport:
    if date_from and date_to and date_from > date_to:
        raise InvalidInput(
            "date_from is after date_to", record="disputes report", field="date_from"
        )
    found = ds.dispute_report(caller.uow(read_only=True), caller.entity, date_from, date_to)
    return DisputeReport(
        date_from=date_from,
        date_to=date_to,
        total=_group(found.total),
        by_reason=[_group(g) for g in found.by_reason],
        by_charge_code=[_group(g) for g in found.by_charge_code],
        by_cause=[_group(g) for g in found.by_cause],
    )


@router.get(
    "/{case}", response_model=DisputeDetail, summary="One case whole; its ETag is its revision"
)
def get_dispute(
    case: str, request: Request, response: Response, caller: Annotated[Caller, allowed(READ)]
) -> Any:
    view, revision = rp.dispute_record(caller.uow(read_only=True), caller.entity, case)
    return tagged(request, response, etag(revision), _detail(view))


@router.post(
    "",
    status_code=201,
    response_model=DisputeDetail,
    summary="Open a case on an invoice or one of its lines; dunning pauses for its amount",
)
def open_dispute(
    body: DisputeIn, response: Response, caller: Annotated[Caller, allowed(DISPUTES_OPEN)]
) -> DisputeDetail:
    opened = ds.open_case(
        caller.uow(),
        ds.OpenCase(
            caller.entity,
            body.invoice,
            body.reason,
            body.amount,
            body.line,
            body.owner,
            body.due_on,
            body.note,
            body.opened_on,
        ),
    )
    response.headers["Location"] = _location(caller, opened.case_no)
    return _read(caller, opened.case_no, response)


@router.patch(
    "/{case}",
    response_model=DisputeDetail,
    summary="Change an active case's owner, due date or amount in dispute (If-Match required)",
    responses={412: {"description": "changed by someone else since it was read"}},
)
def change_dispute(
    case: str,
    body: DisputeChange,
    response: Response,
    caller: Annotated[Caller, allowed(DISPUTES_OPEN)],
    if_match: Annotated[str | None, Header()] = None,
) -> DisputeDetail:
    revision = require_if_match(if_match)
    if body.owner is None and body.due_on is None and body.amount is None:
        raise InvalidInput(
            "name at least one of owner, due_on and amount to change (a note alone goes to "
            "POST .../notes)",
            record=f"dispute case {case}",
        )
    done = ds.update_case(
        caller.uow(),
        ds.UpdateCase(
            caller.entity,
            case,
            owner=body.owner or "",
            due_on=body.due_on,
            amount=body.amount or "",
            note=body.note,
            if_match=revision,
        ),
    )
    return _read(caller, done.case_no, response)


@router.post(
    "/{case}/status",
    response_model=DisputeDetail,
    summary="Move an active case to open, waiting_on_customer or waiting_on_internal "
    "(If-Match honoured when sent)",
)
def set_status(
    case: str,
    body: DisputeStatusIn,
    response: Response,
    caller: Annotated[Caller, allowed(DISPUTES_RESOLVE)],
    if_match: Annotated[str | None, Header()] = None,
) -> DisputeDetail:
    revision = require_if_match(if_match) if if_match else ""
    done = ds.update_case(
        caller.uow(),
        ds.UpdateCase(caller.entity, case, status=body.status, note=body.note, if_match=revision),
    )
    return _read(caller, done.case_no, response)


@router.post(
    "/{case}/notes",
    status_code=201,
    response_model=TimelineAdded,
    summary="Add a note to a case's timeline (never changed or removed)",
)
def add_note(
    case: str, body: NoteIn, response: Response, caller: Annotated[Caller, allowed(DISPUTES_OPEN)]
) -> TimelineAdded:
    count = ds.add_note(caller.uow(), ds.AddNote(caller.entity, case, body.text))
    case_no = ds._case_no(case)
    response.headers["Location"] = _location(caller, case_no)
    return TimelineAdded(case=case_no, entries=count)


@router.post(
    "/{case}/attachments",
    status_code=201,
    response_model=TimelineAdded,
    summary="Record where a file about the case is kept (the file stays where it is)",
)
def add_attachment(
    case: str,
    body: AttachmentIn,
    response: Response,
    caller: Annotated[Caller, allowed(DISPUTES_OPEN)],
) -> TimelineAdded:
    count = ds.add_attachment(
        caller.uow(), ds.AddAttachment(caller.entity, case, body.reference, body.label)
    )
    case_no = ds._case_no(case)
    response.headers["Location"] = _location(caller, case_no)
    return TimelineAdded(case=case_no, entries=count)


@router.post(
    "/{case}/credit-note",
    status_code=201,
    response_model=Resolved,
    summary="Resolve by credit note: the lines and quantities given, else the case's line or "
    "the whole invoice",
)
def resolve_by_credit_note(
    case: str,
    body: CreditNoteIn,
    response: Response,
    caller: Annotated[Caller, allowed(DISPUTES_RESOLVE)],
) -> Resolved:
    done = ds.resolve_by_credit_note(
        caller.uow(),
        ds.ResolveByCreditNote(
            caller.entity,
            case,
            tuple((ln.line, ln.quantity) for ln in body.lines),
            body.date,
            body.note,
        ),
    )
    response.headers["Location"] = location("entities", caller.entity, "invoices", done.credit_note)
    return _resolved(done)


@router.post(
    "/{case}/rebill",
    status_code=201,
    response_model=Resolved,
    summary="Resolve by re-bill: credit the whole invoice and issue the corrected one",
)
def resolve_by_rebill(
    case: str,
    body: RebillIn,
    response: Response,
    caller: Annotated[Caller, allowed(DISPUTES_RESOLVE)],
) -> Resolved:
    done = ds.resolve_by_rebill(
        caller.uow(),
        ds.ResolveByRebill(
            caller.entity,
            case,
            tuple(
                LineSpec(ln.charge_code, ln.quantity, ln.description, ln.unit_price)
                for ln in body.lines
            ),
            body.date,
            body.note,
        ),
    )
    response.headers["Location"] = location(
        "entities", caller.entity, "invoices", done.rebill_invoice
    )
    return _resolved(done)


@router.post(
    "/{case}/rejection",
    response_model=Resolved,
    summary="Reject the dispute with an explanation, e-mailed to the customer unless "
    "send_mail is false",
)
def reject(
    case: str, body: RejectionIn, caller: Annotated[Caller, allowed(DISPUTES_RESOLVE)]
) -> Resolved:
    done = ds.reject_case(
        caller.uow(),
        ds.RejectCase(
            caller.entity, case, body.explanation, body.date, body.send_mail, sender_address()
        ),
    )
    return _resolved(done)
