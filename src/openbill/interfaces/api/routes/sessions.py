"""/v1/sessions: log in (a session cookie for the web pages and API calls from a browser)
and log out. Throttling, two-factor codes and the audit of every attempt are the use case's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, StringConstraints
from starlette.concurrency import run_in_threadpool

from openbill.domain.access import Unauthenticated
from openbill.interfaces.api.idempotency import IdempotentRoute
from openbill.interfaces.api.schemas import Me
from openbill.interfaces.api.security import SESSION_COOKIE, book_of
from openbill.usecases import access

router = APIRouter(prefix="/sessions", tags=["sessions"], route_class=IdempotentRoute)


class LogInBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    code: Annotated[str, StringConstraints(max_length=10)] = ""


def address_of(request: Request) -> str:
    return request.client.host if request.client else ""


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


@router.post(
    "",
    status_code=201,
    response_model=Me,
    summary="Log in: sets the session cookie (429 after too many failures)",
    responses={
        401: {"description": "wrong user name or password, or the two-factor code is needed"},
        429: {"description": "too many failed log-ins: wait Retry-After seconds"},
    },
)
async def log_in(body: LogInBody, request: Request, response: Response) -> Me:
    book = book_of(request)
    done = await run_in_threadpool(
        access.log_in,
        book.uow(actor=body.username),
        book.hasher,
        book.codes,
        access.LogIn(body.username, body.password, body.code, address_of(request)),
    )
    set_session_cookie(request, response, done.token)
    return Me.of(done.principal)


@router.delete(
    "/current",
    status_code=204,
    summary="Log out: ends this session",
    responses={401: {"description": "there is no session to end"}},
    openapi_extra={"security": [{"session": []}]},
)
async def log_out(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    book = book_of(request)
    principal = await run_in_threadpool(access.session_principal, book.uow(), token)
    if not token or principal is None:
        raise Unauthenticated("there is no session to end: you are not logged in")
    await run_in_threadpool(access.log_out, book.uow(actor=principal.name), token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
