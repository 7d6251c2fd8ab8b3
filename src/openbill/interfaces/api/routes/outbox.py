"""Sending documents by e-mail: /v1/entities/{entity}/invoices/{number}/send queues an issued
document in the outbox (once: asking again answers the first message); /outbox lists the
messages and their delivery attempts, and retries a failed or unknown one on purpose;
/customers/{code}/mail-preferences says where a customer's documents go and whether the
e-invoice XML goes with the PDF.

The API queues; it never talks to the mail server. `openbill outbox deliver` (cron or a job
worker) sends what is due, with back-off, and never resends a message whose outcome is unknown.
The sender address is OPENBILL_SMTP_FROM, else the legal entity's e-mail.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response

from openbill.domain.access import CUSTOMERS_WRITE, INVOICES_ISSUE, READ
from openbill.domain.rejections import InvalidInput
from openbill.interfaces.api.http import (
    RecordId,
    etag,
    location,
    require_if_match,
    tagged,
)
from openbill.interfaces.api.idempotency import IdempotentRoute
from openbill.interfaces.api.pagination import DEFAULT_PAGE_SIZE, Limit, decode, encode
from openbill.interfaces.api.schemas_commercial import (
    Attempt,
    MailPreferences,
    MailPreferencesChange,
    MailPreferencesPage,
    OutboxMessage,
    OutboxMessageDetail,
    OutboxPage,
    Queued,
)
from openbill.interfaces.api.security import Caller, allowed
from openbill.usecases import mailing as ml
from openbill.usecases import pages_commercial as pc

__all__ = ["router", "make_renderer", "sender_address"]

router = APIRouter(prefix="/entities/{entity}", tags=["outbox"], route_class=IdempotentRoute)


# Seams for tests and other deployments: what renders the attachments, who sends.
def make_renderer(caller: Caller) -> ml.DocumentRenderer:
    from openbill.adapters.mail import DocumentsRenderer

    return DocumentsRenderer(lambda: caller.uow(read_only=True))


def sender_address() -> str:
    from openbill.adapters.mail import SmtpSettings

    return SmtpSettings().sender


def _message(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": r["id"],
        "document": r["document_number"],
        "customer": r["customer_code"],
        "to": r["mail_to"],
        "subject": r["subject"],
        "status": r["status"],
        "attempts": r["attempts"],
        "next_attempt_at": r["next_attempt_at"] if r["status"] == "queued" else None,
        "sent_at": r["sent_at"],
        "last_error": r["last_error"] or "",
        "created_at": r["created_at"],
    }


def _detail(caller: Caller, message_id: RecordId) -> OutboxMessageDetail:
    r = pc.outbox_record(caller.uow(read_only=True), caller.entity, message_id)
    return OutboxMessageDetail(
        **_message(r),
        attempt_log=[
            Attempt(
                attempt_no=a["attempt_no"],
                started_at=a["started_at"],
                finished_at=a["finished_at"],
                outcome=a["outcome"],
                smtp_code=a["smtp_code"],
                detail=a["detail"],
            )
            for a in r["attempt_rows"]
        ],
    )


@router.post(
    "/invoices/{number}/send",
    response_model=Queued,
    status_code=201,
    tags=["outbox"],
    summary="Queue an issued invoice or credit note for e-mail (once)",
    description=(
        "The PDF (and the e-invoice XML the customer's mail preferences ask for) is rendered "
        "now and kept with the message; `openbill outbox deliver` sends it. 201 with the new "
        "message; 200 with the first one when the document was queued before."
    ),
)
def send_invoice(
    number: str, response: Response, caller: Annotated[Caller, allowed(INVOICES_ISSUE)]
) -> Queued:
    queued = ml.queue_document(
        caller.uow(),
        ml.QueueDocument(caller.entity, number, sender=sender_address()),
        make_renderer(caller),
    )
    response.headers["Location"] = location("entities", caller.entity, "outbox", queued.id)
    if not queued.created:
        response.status_code = 200
    return Queued(
        id=queued.id,
        created=queued.created,
        status=queued.status,
        to=queued.to,
        attachments=list(queued.attachments),
    )


@router.get("/outbox", response_model=OutboxPage, summary="Outbox messages, oldest first")
def list_outbox(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    status: Annotated[str, Query(description="queued, sending, sent, failed or unknown")] = "",
) -> OutboxPage:
    page = pc.outbox_page(
        caller.uow(read_only=True),
        caller.entity,
        decode(cursor),
        limit,
        pc.OutboxFilter(status),
    )
    return OutboxPage(
        data=[OutboxMessage(**_message(r)) for r in page.rows], next_cursor=encode(page.after_id)
    )


@router.get(
    "/outbox/{message_id}",
    response_model=OutboxMessageDetail,
    summary="One message with every delivery attempt",
)
def get_message(
    message_id: RecordId, caller: Annotated[Caller, allowed(READ)]
) -> OutboxMessageDetail:
    return _detail(caller, message_id)


@router.post(
    "/outbox/{message_id}/retry",
    response_model=OutboxMessageDetail,
    summary="Queue a failed or unknown message again, on purpose (it may arrive twice)",
    responses={409: {"description": "the message is not failed or unknown"}},
)
def retry_message(
    message_id: RecordId, caller: Annotated[Caller, allowed(INVOICES_ISSUE)]
) -> OutboxMessageDetail:
    pc.outbox_record(caller.uow(read_only=True), caller.entity, message_id)  # of this entity
    ml.retry(caller.uow(), message_id)
    return _detail(caller, message_id)


# ---------------------------------------------------------------------------------------------
# mail preferences


def _preferences(r: dict[str, Any]) -> MailPreferences:
    return MailPreferences(
        customer=r["customer"],
        email_to=r["email_to"],
        customer_email=r["customer_email"],
        attach_xml=r["attach_xml"],
        revision=r["revision"],
    )


@router.get(
    "/mail-preferences",
    response_model=MailPreferencesPage,
    tags=["customers"],
    summary="Where each customer's documents go, customers in the order they were created",
)
def list_mail_preferences(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> MailPreferencesPage:
    page = pc.mail_preferences_page(
        caller.uow(read_only=True), caller.entity, decode(cursor), limit
    )
    return MailPreferencesPage(
        data=[_preferences(r) for r in page.rows], next_cursor=encode(page.after_id)
    )


@router.get(
    "/customers/{code}/mail-preferences",
    response_model=MailPreferences,
    tags=["customers"],
    summary="Where a customer's documents go; the ETag is their revision",
)
def get_mail_preferences(
    code: str,
    request: Request,
    response: Response,
    caller: Annotated[Caller, allowed(READ)],
) -> Any:
    shown = _preferences(
        pc.mail_preferences_record(caller.uow(read_only=True), caller.entity, code)
    )
    return tagged(request, response, etag(shown.revision), shown)


@router.patch(
    "/customers/{code}/mail-preferences",
    response_model=MailPreferences,
    tags=["customers"],
    summary="Change where a customer's documents go, or the XML attached (If-Match)",
    responses={412: {"description": "changed by someone else since it was read"}},
)
def change_mail_preferences(
    code: str,
    body: MailPreferencesChange,
    response: Response,
    caller: Annotated[Caller, allowed(CUSTOMERS_WRITE)],
    if_match: Annotated[str | None, Header()] = None,
) -> MailPreferences:
    revision = require_if_match(if_match)
    if body.email_to is None and body.attach_xml is None:
        raise InvalidInput("name at least one preference to change", record=f"customer {code}")
    ml.set_mail_preferences(
        caller.uow(),
        ml.SetMailPreferences(
            caller.entity, code, body.email_to, body.attach_xml, if_match=revision
        ),
    )
    shown = _preferences(
        pc.mail_preferences_record(caller.uow(read_only=True), caller.entity, code)
    )
    response.headers["ETag"] = etag(shown.revision)
    return shown
