"""Who am I, which legal entities, and is the server up."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from openbill.domain.access import READ, Unauthenticated
from openbill.interfaces.api.idempotency import IdempotentRoute
from openbill.interfaces.api.openapi import LOGGED_IN
from openbill.interfaces.api.schemas import Entity, Me
from openbill.interfaces.api.security import LOG_IN_FIRST, Caller, allowed, principal_of
from openbill.usecases import masterdata as md

router = APIRouter(route_class=IdempotentRoute)


@router.get("/health", tags=["meta"], summary="Is the server up (no log-in needed)")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/me",
    tags=["meta"],
    response_model=Me,
    summary="The caller: role, entities, actions",
    responses={401: {"description": "not logged in: no API key or session, or a bad one"}},
    openapi_extra={"security": LOGGED_IN},
)
async def me(request: Request) -> Me:
    principal = await run_in_threadpool(principal_of, request)
    if principal is None:
        raise Unauthenticated(LOG_IN_FIRST)
    return Me.of(principal)


@router.get(
    "/entities", tags=["meta"], response_model=list[Entity], summary="The caller's legal entities"
)
def entities(request: Request, caller: Caller = allowed(READ)) -> list[Entity]:
    rows = md.list_entities(caller.uow(read_only=True))
    return [
        Entity(code=r.code, name=r.name, country=r.country, base_currency=r.base_currency)
        for r in rows
        if caller.principal.may_entity(r.code)
    ]
