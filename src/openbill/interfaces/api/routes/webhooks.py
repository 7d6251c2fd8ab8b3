"""/v1/entities/{entity}/webhooks: endpoints (list, add, read, change, rotate the secret, send a
test event) and deliveries (list, read with attempts, retry). Every route needs
`settings.admin`, reading deliveries too.

A signing secret is in the response that makes it (adding an endpoint, rotating its secret),
and nowhere else: not in the Idempotency-Key store either. A replay of such a request (the same
Idempotency-Key) returns the first response with `"secret": null`. A delivery is shown without
its body: the body is a billing record, which the administrator role does not read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from openbill.adapters.webhook_sender import HttpxSender
from openbill.domain.access import SETTINGS_ADMIN
from openbill.domain.rejections import InvalidInput
from openbill.domain.webhooks import SUBSCRIBABLE
from openbill.interfaces.api.http import (
    RecordId,
    etag,
    location,
    require_if_match,
    tagged,
)
from openbill.interfaces.api.idempotency import IdempotentRoute
from openbill.interfaces.api.pagination import DEFAULT_PAGE_SIZE, Limit, decode, encode
from openbill.interfaces.api.security import Caller, allowed
from openbill.usecases import webhooks as wh

__all__ = ["router"]

_SECRET_STATE = "openbill_webhook_secret"
_EVENTS = ", ".join(e.value for e in SUBSCRIBABLE)
EventName = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Url = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
Description = Annotated[str, StringConstraints(max_length=200)]


class _SecretOnceRoute(IdempotentRoute):
    """The route class of this router: like every POST, idempotent; a route that makes a
    secret puts it on `request.state`, and it is added to the response on its way out, after
    the Idempotency-Key store kept the response without it."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            response: Response = await inner(request)
            secret = getattr(request.state, _SECRET_STATE, None)
            if secret is None or response.headers.get("idempotent-replayed"):
                return response
            body = json.loads(bytes(response.body))
            body["secret"] = secret
            headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
            return Response(
                json.dumps(body, separators=(",", ":")).encode(),
                status_code=response.status_code,
                headers=headers,
            )

        return handler


router = APIRouter(
    prefix="/entities/{entity}/webhooks", tags=["webhooks"], route_class=_SecretOnceRoute
)


# ---------------------------------------------------------------------------------------------
# Bodies


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookEndpoint(BaseModel):
    id: int
    url: str
    description: str
    events: list[str]
    enabled: bool
    disabled_reason: str
    created_at: str
    created_by: str
    updated_at: str
    secret_rotated_at: str | None
    previous_secret_until: str | None = Field(
        description="while requests are also signed with the previous secret (a rotation)"
    )
    deliveries: dict[str, int] = Field(description="deliveries by status")
    revision: str = Field(description="changes whenever the endpoint does; the ETag")


class WebhookEndpointCreated(WebhookEndpoint):
    secret: str | None = Field(
        description="the signing secret (whsec_...): shown in this response only; keep it now. "
        "A replay of the request (same Idempotency-Key) shows null."
    )


class WebhookEndpointList(BaseModel):
    data: list[WebhookEndpoint]


class WebhookEndpointIn(_In):
    url: Url = Field(description="https://... (http only to 127.0.0.1 or localhost, for tests)")
    events: list[EventName] = Field(
        min_length=1, max_length=20, description=f"any of: {_EVENTS}; or all"
    )
    description: Description = ""


class WebhookEndpointChange(_In):
    """The fields to change; a field left out keeps its value."""

    url: Url | None = None
    events: list[EventName] | None = Field(default=None, min_length=1, max_length=20)
    description: Description | None = None
    enabled: bool | None = None
    reason: Annotated[str, StringConstraints(max_length=300)] = Field(
        default="", description="why it is disabled (with enabled: false)"
    )


class RotateSecretIn(_In):
    overlap_hours: int = Field(
        default=wh.ROTATION_OVERLAP_S // 3600,
        ge=0,
        le=wh.ROTATION_OVERLAP_MAX_S // 3600,
        description="how long requests are signed with the old secret too (0: a leaked secret)",
    )


class SecretRotated(BaseModel):
    endpoint: WebhookEndpoint
    secret: str | None = Field(
        description="the new secret: shown in this response only (null in a replay)"
    )
    previous_secret_until: str | None


class WebhookTest(BaseModel):
    delivery_id: RecordId
    event_id: str
    status: str = Field(description="delivered or failed (a test is tried once)")
    status_code: int | None
    duration_ms: int
    error: str


class WebhookDelivery(BaseModel):
    id: int
    event_id: str = Field(description="also the Openbill-Delivery header the receiver got")
    event_type: str
    subject: str = Field(description="the record the event is about (its number)")
    endpoint_id: RecordId
    url: str
    status: Literal["pending", "sending", "delivered", "failed"]
    attempts: int
    next_attempt_at: str | None
    delivered_at: str | None
    last_status_code: int | None
    last_error: str
    created_at: str


class WebhookDeliveryPage(BaseModel):
    data: list[WebhookDelivery]
    next_cursor: str | None


class WebhookAttempt(BaseModel):
    attempt_no: int
    started_at: str
    duration_ms: int
    status_code: int | None
    outcome: str = Field(description="delivered, retry, failed, gone or abandoned")
    error: str


class WebhookDeliveryDetail(WebhookDelivery):
    attempts_made: list[WebhookAttempt]


class Retried(BaseModel):
    retried: list[int]


def _or_none(text: str) -> str | None:
    return text or None


def _endpoint(v: wh.EndpointView) -> dict[str, Any]:
    return {
        "id": v.id,
        "url": v.url,
        "description": v.description,
        "events": list(v.events),
        "enabled": v.enabled,
        "disabled_reason": v.disabled_reason,
        "created_at": v.created_at,
        "created_by": v.created_by,
        "updated_at": v.updated_at,
        "secret_rotated_at": _or_none(v.secret_rotated_at),
        "previous_secret_until": _or_none(v.previous_secret_until),
        "deliveries": dict(v.deliveries),
        "revision": v.revision,
    }


def _delivery(d: wh.DeliveryView) -> dict[str, Any]:
    return {
        "id": d.id,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "subject": d.subject,
        "endpoint_id": d.endpoint_id,
        "url": d.url,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": _or_none(d.next_attempt_at),
        "delivered_at": _or_none(d.delivered_at),
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "created_at": d.created_at,
    }


def _sender(request: Request) -> Any:
    """The app's sender when one was set (tests), else a new httpx sender."""
    return getattr(request.app.state, "webhook_sender", None) or HttpxSender()


# ---------------------------------------------------------------------------------------------
# Endpoints


@router.get("/endpoints", response_model=WebhookEndpointList, summary="The webhook endpoints")
def list_endpoints(caller: Annotated[Caller, allowed(SETTINGS_ADMIN)]) -> WebhookEndpointList:
    views = wh.list_endpoints(caller.uow(read_only=True), caller.entity)
    return WebhookEndpointList(data=[WebhookEndpoint(**_endpoint(v)) for v in views])


@router.post(
    "/endpoints",
    status_code=201,
    response_model=WebhookEndpointCreated,
    summary="Add a webhook endpoint; its signing secret is in this response only",
)
def add_endpoint(
    body: WebhookEndpointIn,
    request: Request,
    response: Response,
    caller: Annotated[Caller, allowed(SETTINGS_ADMIN)],
) -> WebhookEndpointCreated:
    made = wh.add_endpoint(
        caller.uow(),
        wh.AddEndpoint(caller.entity, body.url, tuple(body.events), body.description),
    )
    setattr(request.state, _SECRET_STATE, made.secret)
    response.headers["ETag"] = etag(made.endpoint.revision)
    response.headers["Location"] = location(
        "entities", caller.entity, "webhooks", "endpoints", made.endpoint.id
    )
    return WebhookEndpointCreated(**_endpoint(made.endpoint), secret=None)


@router.get(
    "/endpoints/{endpoint_id}",
    response_model=WebhookEndpoint,
    summary="One webhook endpoint; its ETag is its revision",
)
def get_endpoint(
    endpoint_id: RecordId,
    request: Request,
    response: Response,
    caller: Annotated[Caller, allowed(SETTINGS_ADMIN)],
) -> Any:
    view = wh.show_endpoint(caller.uow(read_only=True), caller.entity, endpoint_id)
    return tagged(request, response, etag(view.revision), WebhookEndpoint(**_endpoint(view)))


@router.patch(
    "/endpoints/{endpoint_id}",
    response_model=WebhookEndpoint,
    summary="Change, disable or enable a webhook endpoint (If-Match with its ETag)",
    responses={412: {"description": "changed by someone else since it was read"}},
)
def change_endpoint(
    endpoint_id: RecordId,
    body: WebhookEndpointChange,
    response: Response,
    caller: Annotated[Caller, allowed(SETTINGS_ADMIN)],
    if_match: Annotated[str | None, Header()] = None,
) -> WebhookEndpoint:
    revision = require_if_match(if_match)
    fields = body.model_dump(exclude_none=True, exclude={"reason"})
    if not fields:
        raise InvalidInput("name at least one field to change", record="webhook endpoint")
    view = wh.change_endpoint(
        caller.uow(),
        wh.ChangeEndpoint(
            caller.entity,
            endpoint_id,
            url=body.url,
            events=None if body.events is None else tuple(body.events),
            description=body.description,
            enabled=body.enabled,
            reason=body.reason,
            if_match=revision,
        ),
    )
    response.headers["ETag"] = etag(view.revision)
    return WebhookEndpoint(**_endpoint(view))


@router.post(
    "/endpoints/{endpoint_id}/rotate-secret",
    response_model=SecretRotated,
    summary="A new signing secret (in this response only); the old one signs too for a while",
)
def rotate_secret(
    endpoint_id: RecordId,
    request: Request,
    caller: Annotated[Caller, allowed(SETTINGS_ADMIN)],
    body: RotateSecretIn | None = None,
) -> SecretRotated:
    hours = (body or RotateSecretIn()).overlap_hours
    r = wh.rotate_secret(caller.uow(), caller.entity, endpoint_id, hours * 3600)
    setattr(request.state, _SECRET_STATE, r.secret)
    return SecretRotated(
        endpoint=WebhookEndpoint(**_endpoint(r.endpoint)),
        secret=None,
        previous_secret_until=_or_none(r.previous_valid_until),
    )


@router.post(
    "/endpoints/{endpoint_id}/test",
    response_model=WebhookTest,
    summary="Send a ping event to the endpoint now, once, and say how it went",
)
def test_endpoint(
    endpoint_id: RecordId, request: Request, caller: Annotated[Caller, allowed(SETTINGS_ADMIN)]
) -> WebhookTest:
    sender = _sender(request)
    try:
        r = wh.send_test(caller.uow, sender, caller.entity, endpoint_id)
    finally:
        if sender is not getattr(request.app.state, "webhook_sender", None):
            sender.close()
    return WebhookTest(
        delivery_id=r.delivery_id,
        event_id=r.event_id,
        status=r.status,
        status_code=r.status_code,
        duration_ms=r.duration_ms,
        error=r.error,
    )


# ---------------------------------------------------------------------------------------------
# Deliveries


@router.get(
    "/deliveries",
    response_model=WebhookDeliveryPage,
    summary="Deliveries of events to endpoints, in the order they were made",
)
def list_deliveries(
    caller: Annotated[Caller, allowed(SETTINGS_ADMIN)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    status: Annotated[str, Query(max_length=16, description="pending, sending, ...")] = "",
    endpoint: Annotated[int | None, Query(ge=1, description="of one endpoint")] = None,
    event: Annotated[str, Query(max_length=40, description="of one event type")] = "",
) -> WebhookDeliveryPage:
    rows = wh.list_deliveries(
        caller.uow(read_only=True),
        caller.entity,
        limit=limit + 1,
        after_id=decode(cursor),
        status=status,
        endpoint_id=endpoint,
        event_type=event,
    )
    page, more = rows[:limit], len(rows) > limit
    return WebhookDeliveryPage(
        data=[WebhookDelivery(**_delivery(d)) for d in page],
        next_cursor=encode(page[-1].id) if more else None,
    )


@router.get(
    "/deliveries/{delivery_id}",
    response_model=WebhookDeliveryDetail,
    summary="One delivery with every attempt (not its body)",
)
def get_delivery(
    delivery_id: RecordId, caller: Annotated[Caller, allowed(SETTINGS_ADMIN)]
) -> WebhookDeliveryDetail:
    detail = wh.show_delivery(caller.uow(read_only=True), caller.entity, delivery_id)
    attempts = [
        WebhookAttempt(
            attempt_no=a.attempt_no,
            started_at=a.started_at,
            duration_ms=a.duration_ms,
            status_code=a.status_code,
            outcome=a.outcome,
            error=a.error,
        )
        for a in detail.attempts
    ]
    return WebhookDeliveryDetail(**_delivery(detail.delivery), attempts_made=attempts)


@router.post(
    "/deliveries/{delivery_id}/retry",
    response_model=Retried,
    summary="Make a failed delivery due again, with a new round of attempts",
)
def retry_delivery(
    delivery_id: RecordId, caller: Annotated[Caller, allowed(SETTINGS_ADMIN)]
) -> Retried:
    done = wh.retry_deliveries(caller.uow(), caller.entity, (delivery_id,))
    return Retried(retried=done)
