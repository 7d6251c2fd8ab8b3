"""Drafts and their verification: /v1/entities/{entity}/drafts (start, add lines, verify,
approve, issue), /discrepancies (the queue of findings: resolve once the source is fixed, or
override with a reason) and /verification/settings (approval threshold, duplicate window,
price tolerance).

Who may do what: preparing, verifying and resolving a finding after fixing its source is
`invoices.prepare`; approving a draft and overriding a finding need a manager
(`invoices.approve`); issuing is `invoices.issue`; the settings are `settings.admin`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request, Response

from openbill.domain.access import (
    INVOICES_APPROVE,
    INVOICES_ISSUE,
    INVOICES_PREPARE,
    READ,
    SETTINGS_ADMIN,
)
from openbill.domain.rejections import InvalidInput
from openbill.interfaces.api.http import (
    RecordId,
    etag,
    location,
    model_tag,
    require_if_match,
    tagged,
)
from openbill.interfaces.api.idempotency import IdempotentRoute
from openbill.interfaces.api.pagination import DEFAULT_PAGE_SIZE, Limit, decode, encode
from openbill.interfaces.api.routes.commercial_common import (
    IdempotencyKey,
    adjustment_specs,
    discrepancy,
    draft,
    invoice_shown,
    line_specs,
    work_key,
)
from openbill.interfaces.api.routes.invoices import _invoice
from openbill.interfaces.api.schemas import InvoicePage, IsoDate, amount
from openbill.interfaces.api.schemas_commercial import (
    Discrepancy,
    DiscrepancyPage,
    Draft,
    DraftIn,
    InvoiceShown,
    IssueIn,
    LinesIn,
    OverrideIn,
    VerificationSettings,
    VerificationSettingsChange,
    Verified,
    decimal_text,
)
from openbill.interfaces.api.security import Caller, allowed
from openbill.usecases import invoices as inv
from openbill.usecases import pages
from openbill.usecases import pages_commercial as pc
from openbill.usecases import verification as ver

__all__ = ["router"]

router = APIRouter(prefix="/entities/{entity}", tags=["drafts"], route_class=IdempotentRoute)


def _draft(caller: Caller, draft_id: RecordId) -> Draft:
    return draft(pc.draft_record(caller.uow(read_only=True), caller.entity, draft_id))


def _location(caller: Caller, draft_id: int) -> str:
    return location("entities", caller.entity, "drafts", draft_id)


@router.get("/drafts", response_model=InvoicePage, summary="Drafts, oldest first")
def list_drafts(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    customer: Annotated[str, Query(max_length=64)] = "",
    date_from: IsoDate | None = None,
    date_to: IsoDate | None = None,
) -> InvoicePage:
    wanted = pages.InvoiceFilter(customer, "", "draft", date_from, date_to)
    page = pages.invoices_page(
        caller.uow(read_only=True), caller.entity, decode(cursor), limit, wanted
    )
    return InvoicePage(data=[_invoice(r) for r in page.rows], next_cursor=encode(page.after_id))


@router.post(
    "/drafts",
    status_code=201,
    response_model=Draft,
    summary="Start a draft invoice (no number yet)",
)
def create_draft(
    body: DraftIn,
    response: Response,
    caller: Annotated[Caller, allowed(INVOICES_PREPARE)],
    idempotency_key: IdempotencyKey = None,
) -> Draft:
    made = inv.create_draft(
        caller.uow(),
        inv.CreateDraft(
            caller.entity,
            body.customer,
            body.document_date,
            body.currency.upper(),
            line_specs(body.lines),
            body.buyer_reference,
            work_key(caller, idempotency_key),
            adjustment_specs(body.adjustments),
        ),
    )
    response.headers["Location"] = _location(caller, made.id)
    return _draft(caller, made.id)


@router.get(
    "/drafts/{draft_id}",
    response_model=Draft,
    summary="One draft with its findings and approval (or the document it was issued as)",
)
def get_draft(
    draft_id: RecordId,
    request: Request,
    response: Response,
    caller: Annotated[Caller, allowed(READ)],
) -> Any:
    shown = _draft(caller, draft_id)
    return tagged(request, response, model_tag(shown), shown)


@router.post(
    "/drafts/{draft_id}/lines",
    response_model=Draft,
    summary="Add lines to a draft (priced like the draft's others)",
)
def add_lines(
    draft_id: RecordId, body: LinesIn, caller: Annotated[Caller, allowed(INVOICES_PREPARE)]
) -> Draft:
    inv.add_lines(caller.uow(), inv.AddLines(caller.entity, draft_id, line_specs(body.lines)))
    return _draft(caller, draft_id)


def _verified(result: ver.Verified) -> Verified:
    return Verified(
        draft_id=result.draft_id,
        open_blocking=result.open_blocking,
        open_warnings=result.open_warnings,
        overridden=result.overridden,
        resolved_now=result.resolved_now,
    )


@router.post(
    "/drafts/{draft_id}/verify",
    response_model=Verified,
    summary="Check a draft against contracts, purchase orders, deliveries, master data and "
    "history; its findings go to the discrepancy queue",
)
def verify_draft(
    draft_id: RecordId, caller: Annotated[Caller, allowed(INVOICES_PREPARE)]
) -> Verified:
    return _verified(ver.verify_draft(caller.uow(), ver.VerifyDraft(caller.entity, draft_id)))


@router.post(
    "/drafts/{draft_id}/approve",
    response_model=Verified,
    summary="Approve a draft above the approval threshold (not by whoever prepared it)",
)
def approve_draft(
    draft_id: RecordId, caller: Annotated[Caller, allowed(INVOICES_APPROVE)]
) -> Verified:
    return _verified(ver.approve_draft(caller.uow(), ver.ApproveDraft(caller.entity, draft_id)))


@router.post(
    "/drafts/{draft_id}/issue",
    status_code=201,
    response_model=InvoiceShown,
    summary="Issue a draft: it is verified, gets the next number and can no longer change",
    responses={409: {"description": "a blocking discrepancy is open, or it was issued"}},
)
def issue_draft(
    draft_id: RecordId,
    response: Response,
    caller: Annotated[Caller, allowed(INVOICES_ISSUE)],
    body: Annotated[IssueIn | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> InvoiceShown:
    issued = inv.issue_draft(
        caller.uow(),
        inv.IssueDraft(
            caller.entity,
            draft_id,
            body.issue_date if body is not None else None,
            work_key(caller, idempotency_key),
        ),
    )
    response.headers["Location"] = location("entities", caller.entity, "invoices", issued.number)
    return invoice_shown(
        pc.document_record(caller.uow(read_only=True), caller.entity, issued.number)
    )


# ---------------------------------------------------------------------------------------------
# the discrepancy queue


@router.get(
    "/discrepancies",
    response_model=DiscrepancyPage,
    summary="The findings of draft verification, oldest first",
)
def list_discrepancies(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    status: Annotated[str, Query(description="open, resolved or overridden")] = "",
    customer: Annotated[str, Query(max_length=64)] = "",
    draft: Annotated[int | None, Query(description="the draft's id")] = None,
) -> DiscrepancyPage:
    page = pc.discrepancies_page(
        caller.uow(read_only=True),
        caller.entity,
        decode(cursor),
        limit,
        pc.DiscrepancyFilter(status, customer, draft),
    )
    return DiscrepancyPage(
        data=[discrepancy(r) for r in page.rows], next_cursor=encode(page.after_id)
    )


def _discrepancy(caller: Caller, discrepancy_id: RecordId) -> Discrepancy:
    return discrepancy(
        pc.discrepancy_record(caller.uow(read_only=True), caller.entity, discrepancy_id)
    )


@router.get("/discrepancies/{discrepancy_id}", response_model=Discrepancy, summary="One finding")
def get_discrepancy(
    discrepancy_id: RecordId, caller: Annotated[Caller, allowed(READ)]
) -> Discrepancy:
    return _discrepancy(caller, discrepancy_id)


@router.post(
    "/discrepancies/{discrepancy_id}/resolve",
    response_model=Discrepancy,
    summary="The source record was corrected: check the draft again and resolve the finding",
    responses={409: {"description": "still found, or not open"}},
)
def resolve_discrepancy(
    discrepancy_id: RecordId, caller: Annotated[Caller, allowed(INVOICES_PREPARE)]
) -> Discrepancy:
    ver.resolve_discrepancy(
        caller.uow(), ver.ResolveDiscrepancy(caller.entity, discrepancy_id, "fixed")
    )
    return _discrepancy(caller, discrepancy_id)


@router.post(
    "/discrepancies/{discrepancy_id}/override",
    response_model=Discrepancy,
    summary="Accept a finding with a written reason (a manager; audited)",
)
def override_discrepancy(
    discrepancy_id: RecordId, body: OverrideIn, caller: Annotated[Caller, allowed(INVOICES_APPROVE)]
) -> Discrepancy:
    ver.resolve_discrepancy(
        caller.uow(),
        ver.ResolveDiscrepancy(caller.entity, discrepancy_id, "override", body.reason),
    )
    return _discrepancy(caller, discrepancy_id)


# ---------------------------------------------------------------------------------------------
# verification settings


def _settings(caller: Caller) -> VerificationSettings:
    r = pc.verification_settings_record(caller.uow(read_only=True), caller.entity)
    return VerificationSettings(
        approval_threshold=amount(r["approval_threshold_minor"], r["currency"]),
        currency=r["currency"],
        duplicate_window_days=r["duplicate_window_days"],
        price_tolerance=decimal_text(r["price_tolerance"]) or "0",
        revision=r["revision"],
    )


@router.get(
    "/verification/settings",
    response_model=VerificationSettings,
    tags=["verification"],
    summary="The verification settings; the ETag is their revision",
)
def get_settings(
    request: Request, response: Response, caller: Annotated[Caller, allowed(SETTINGS_ADMIN)]
) -> Any:
    shown = _settings(caller)
    return tagged(request, response, etag(shown.revision), shown)


@router.patch(
    "/verification/settings",
    response_model=VerificationSettings,
    tags=["verification"],
    summary="Change the approval threshold, duplicate window or price tolerance (If-Match)",
    responses={412: {"description": "changed by someone else since it was read"}},
)
def change_settings(
    body: VerificationSettingsChange,
    response: Response,
    caller: Annotated[Caller, allowed(SETTINGS_ADMIN)],
    if_match: Annotated[str | None, Header()] = None,
) -> VerificationSettings:
    revision = require_if_match(if_match)
    if not body.model_fields_set:
        raise InvalidInput("name at least one setting to change", record="verification settings")
    now = _settings(caller)
    threshold = now.approval_threshold or ""
    if "approval_threshold" in body.model_fields_set:
        threshold = body.approval_threshold or ""
    ver.set_settings(
        caller.uow(),
        ver.SetVerificationSettings(
            caller.entity,
            threshold,
            now.duplicate_window_days
            if body.duplicate_window_days is None
            else body.duplicate_window_days,
            now.price_tolerance if body.price_tolerance is None else body.price_tolerance,
            if_match=revision,
        ),
    )
    shown = _settings(caller)
    response.headers["ETag"] = etag(shown.revision)
    return shown
