"""The desk's pages that read: log-in and log-out, the dashboard, customers, invoices,
payments, the aging, search, and the administrator's users and keys. Each is as thin as an
API route: check (through `page(action)`), call one use case, render a template.

The work queues and their actions are in `queues_billing` (drafts, discrepancies,
approvals), `queues_receivables` (overdue invoices and dunning, dispute cases, recording a
payment) and `queues_bank` (bank lines to review); how an action answers is `actions.answer`
(docs/web.md: how to add a page with a form).
"""

from __future__ import annotations

import secrets
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from openbill.domain.access import (
    AUDIT_READ,
    READ,
    USERS_ADMIN,
    Throttled,
    TwoFactorRequired,
    Unauthenticated,
)
from openbill.domain.rejections import InvalidInput
from openbill.interfaces.api.pagination import decode, encode
from openbill.interfaces.api.routes.sessions import address_of, set_session_cookie
from openbill.interfaces.api.security import SESSION_COOKIE, book_of, principal_of
from openbill.interfaces.web import charts, fmt
from openbill.interfaces.web.guard import (
    DESK,
    LOGIN_COOKIE,
    Desk,
    csrf_token,
    entities_of,
    home_of,
    local_next,
    login_url,
    new_login_token,
    page,
)
from openbill.interfaces.web.render import html
from openbill.usecases import access, desk_queues, pages, statements
from openbill.usecases import desk as uc
from openbill.usecases import reports as rep

__all__ = ["router", "LIST_PAGE_SIZE", "MAX_CHART_CURRENCIES"]

router = APIRouter(prefix=DESK, include_in_schema=False)

LIST_PAGE_SIZE = 50  # rows of a customers, invoices or payments page
MAX_CHART_CURRENCIES = 4  # aging bar charts on the dashboard; further currencies: table only
MAX_FILTER_CHARS = 64
Text = Annotated[str, Query(max_length=MAX_FILTER_CHARS)]
Cursor = Annotated[str, Query(max_length=200)]

_WHY = {
    "expired": "Your session has ended. Please log in again.",
    "logged_out": "You are logged out.",
}


# ---------------------------------------------------------------------------------------------
# log-in and log-out


@router.get("")
def start(request: Request) -> Response:
    """The desk's front door: log in, or go to where this person starts."""
    principal = principal_of(request)
    if principal is None:
        return RedirectResponse(login_url(), status_code=303)
    return RedirectResponse(home_of(principal, entities_of(book_of(request), principal)), 303)


def _login_form(
    request: Request,
    *,
    status: int = 200,
    message: str = "",
    username: str = "",
    code_needed: bool = False,
    next_path: str = "",
) -> Response:
    token = request.cookies.get(LOGIN_COOKIE, "") or new_login_token()
    context = {
        "title": "Log in",
        "message": message,
        "notice": _WHY.get(request.query_params.get("why", ""), ""),
        "username": username,
        "code_needed": code_needed,
        "next": next_path or request.query_params.get("next", ""),
        "login_token": token,
    }
    response = html(request, "login.html", context, status=status)
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=f"{DESK}/login",
    )
    return response


@router.get("/login")
def login_page(request: Request) -> Response:
    return _login_form(request)


@router.post("/login")
async def log_in(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    code: Annotated[str, Form(max_length=10)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Log in through the same use case as POST /v1/sessions: throttling, the second factor
    and the audit of every attempt are its."""
    book = book_of(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, csrf_token):
        await run_in_threadpool(
            uc.record_forged_request,
            book.uow(actor=username or "anonymous"),
            username or "anonymous",
            "POST /desk/login",
            address_of(request),
        )
        message = "The log-in form had expired. Please enter your details again."
        return _login_form(request, status=403, message=message, username=username)
    if not username.strip() or not password:
        return _login_form(
            request,
            status=422,
            message="Enter your user name and your password.",
            username=username,
            next_path=next,
        )
    command = access.LogIn(username, password, code, address_of(request))
    try:
        done = await run_in_threadpool(
            access.log_in, book.uow(actor=username), book.hasher, book.codes, command
        )
    except TwoFactorRequired as refusal:
        text = f"{refusal.reason[:1].upper()}{refusal.reason[1:]}."
        if refusal.reason == access.CODE_NEEDED:
            text += " Enter your password again with it."
        return _login_form(
            request, status=401, message=text, username=username, code_needed=True, next_path=next
        )
    except Throttled as refusal:
        return _login_form(
            request,
            status=429,
            message=f"{refusal.reason[:1].upper()}{refusal.reason[1:]}.",
            username=username,
            next_path=next,
        )
    except Unauthenticated as refusal:
        return _login_form(
            request,
            status=401,
            message=f"{refusal.reason[:1].upper()}{refusal.reason[1:]}.",
            username=username,
            code_needed=bool(code),
            next_path=next,
        )
    target = local_next(next)
    if target == DESK:
        target = home_of(done.principal, entities_of(book, done.principal))
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, done.token)
    response.delete_cookie(LOGIN_COOKIE, path=f"{DESK}/login")
    return response


@router.post("/logout")
async def log_out(request: Request) -> Response:
    """End this session (a form with the session's anti-forgery token), then the log-in
    page. Without a session there is nothing to end: to the log-in page."""
    from openbill.interfaces.web.guard import check_csrf

    book = book_of(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    principal = await run_in_threadpool(principal_of, request) if token else None
    if principal is None:
        return RedirectResponse(login_url(), status_code=303)
    await check_csrf(request, book, csrf_token(token), principal.name)
    await run_in_threadpool(access.log_out, book.uow(actor=principal.name), token)
    response = RedirectResponse(login_url(why="logged_out"), status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/switch")
def switch(request: Request, entity: Text = "") -> Response:
    """The entity switcher's target (a GET form, so it works without JavaScript): the
    dashboard of the entity chosen, whose page checks access as every page does."""
    code = entity.strip()
    if not code:
        return RedirectResponse(DESK, status_code=303)
    return RedirectResponse(f"{DESK}/{fmt.segment(code)}", status_code=303)


# ---------------------------------------------------------------------------------------------
# the administrator


@router.get("/admin")
def admin(request: Request, desk: Desk = page(USERS_ADMIN)) -> Response:
    """Users and API keys, read-only: what an administrator, who reads no billing records,
    needs to see. Keys of the administrator's own legal entities only."""
    users = access.list_users(desk.uow())
    keys = [
        k for k in access.list_api_keys(desk.uow(), None) if desk.principal.may_entity(k.entity)
    ]
    context = {"title": "Users and API keys", "users": users, "keys": keys}
    return html(request, "admin.html", {"desk": desk, "nav": "admin", **context})


@router.get("/nothing")
def nothing(request: Request) -> Response:
    """Where someone with no legal entity to read lands after logging in."""
    principal = principal_of(request)
    if principal is None:
        return RedirectResponse(login_url(f"{DESK}/nothing"), status_code=303)
    context = {
        "title": "No legal entity",
        "status": 403,
        "message": "your user has no legal entity whose records you may read; ask an "
        "administrator to give you one",
        "field": "",
    }
    return html(request, "error.html", context, status=403)


# ---------------------------------------------------------------------------------------------
# the dashboard


def _as_of(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("give the date as YYYY-MM-DD", field="as_of") from None


def _aging_chart(desk: Desk, labels: tuple[str, ...], row: uc.AgingBuckets) -> charts.BarChart:
    base = f"{DESK}/{fmt.segment(desk.entity)}/aging"
    return charts.bar_chart(
        labels,
        row.buckets,
        [fmt.money(v, row.currency) for v in row.buckets],
        [f"{base}#{row.currency}" for _ in labels],
    )


def _dso_chart(board: uc.Dashboard) -> charts.LineChart:
    currencies = [a.currency for a in board.aging][: charts.MAX_SERIES] or sorted(
        {p.currency for p in board.dso}
    )[: charts.MAX_SERIES]
    ends = sorted({p.on for p in board.dso})
    series = []
    for currency in currencies:
        points = {p.on: p for p in board.dso if p.currency == currency}
        values: list[Decimal | None] = []
        texts = []
        for end in ends:
            point = points.get(end)
            dso = point.dso if point is not None else None
            # Not enough data (receivables older than the countback reaches) breaks the line.
            values.append(dso if isinstance(dso, Decimal) else None)
            texts.append(fmt.metric(dso))
        series.append((currency, values, texts))
    return charts.line_chart([f"{e:%b %Y}" for e in ends], series, "days")


@router.get("/{entity}")
def dashboard(request: Request, desk: Desk = page(READ), as_of: Text = "") -> Response:
    board = uc.dashboard(desk.uow(), desk.entity, _as_of(as_of))
    if board.as_of == desk.book.clock.today():
        # The navigation's counts are the dashboard's own for today: one statement, not two.
        desk.counted(
            desk_queues.QueueCounts(
                drafts=board.drafts,
                discrepancies=board.discrepancies,
                approvals=board.approvals,
                overdue=board.overdue,
                disputes=board.disputes_open,
                bank_lines=board.bank_lines_unmatched,
            )
        )
    aging_charts = [
        (row, _aging_chart(desk, board.aging_labels, row))
        for row in board.aging[:MAX_CHART_CURRENCIES]
    ]
    context = {
        "title": f"Dashboard {board.entity_name}",
        "board": board,
        "aging_charts": aging_charts,
        "dso_chart": _dso_chart(board),
        "dso_ends": sorted({p.on for p in board.dso}),
        "dso_currencies": sorted({p.currency for p in board.dso}),
        "dso_by": {(p.currency, p.on): p for p in board.dso},
        "as_of_given": as_of,
    }
    return html(request, "dashboard.html", {"desk": desk, "nav": "dashboard", **context})


@router.get("/{entity}/aging")
def aging(request: Request, desk: Desk = page(READ), as_of: Text = "") -> Response:
    day = _as_of(as_of) or desk.book.clock.today()
    labels, rows, rates = rep.aging_in_base(desk.uow(), desk.entity, day)
    currencies = sorted({r.currency for r in rows})
    totals = {
        c: [sum(r.buckets[i] for r in rows if r.currency == c) for i in range(len(labels))]
        for c in currencies
    }
    context = {
        "title": "Receivables aging",
        "labels": labels,
        "rows": rows,
        "rates": rates,
        "currencies": currencies,
        "totals": totals,
        "as_of": day,
    }
    return html(request, "aging.html", {"desk": desk, "nav": "aging", **context})


# ---------------------------------------------------------------------------------------------
# customers


@router.get("/{entity}/customers")
def customers(
    request: Request, desk: Desk = page(READ), q: Text = "", cursor: Cursor = ""
) -> Response:
    found = pages.customers_page(desk.uow(), desk.entity, decode(cursor), LIST_PAGE_SIZE, q.strip())
    context = {
        "title": "Customers",
        "rows": found.rows,
        "q": q,
        "next_cursor": encode(found.after_id),
        "first_page": not cursor,
    }
    return html(request, "customers.html", {"desk": desk, "nav": "customers", **context})


@router.get("/{entity}/customers/{code}")
def customer(request: Request, code: str, desk: Desk = page(READ)) -> Response:
    view = uc.customer_page(desk.uow(), desk.entity, code)
    context = {"title": f"{view.customer['code']} {view.customer['name']}", "view": view}
    return html(request, "customer.html", {"desk": desk, "nav": "customers", **context})


@router.get("/{entity}/customers/{code}/statement")
def statement(
    request: Request,
    code: str,
    desk: Desk = page(READ),
    start: Annotated[str, Query(alias="from", max_length=10)] = "",
    end: Annotated[str, Query(alias="to", max_length=10)] = "",
) -> Response:
    last = _day(end, "to") or desk.book.clock.today()
    first = _day(start, "from") or last.replace(day=1)
    found = statements.customer_statement(desk.uow(), desk.entity, code, first, last)
    context = {"title": f"Statement {found.parties.buyer.code}", "statement": found, "code": code}
    return html(request, "statement.html", {"desk": desk, "nav": "customers", **context})


def _day(text: str, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("give the date as YYYY-MM-DD", field=field) from None


# ---------------------------------------------------------------------------------------------
# invoices


INVOICE_STATUSES = (
    "draft",
    "issued",
    "partially_paid",
    "paid",
    "overdue",
    "void",
    "applied",
    "written_off",
)


@router.get("/{entity}/invoices")
def invoices(
    request: Request,
    desk: Desk = page(READ),
    status: Text = "",
    customer: Text = "",
    kind: Text = "",
    number: Text = "",
    date_from: Annotated[str, Query(max_length=10)] = "",
    date_to: Annotated[str, Query(max_length=10)] = "",
    cursor: Cursor = "",
) -> Response:
    wanted = pages.InvoiceFilter(
        customer.strip(),
        kind.strip(),
        status.strip(),
        _day(date_from, "date_from"),
        _day(date_to, "date_to"),
        number.strip(),
    )
    found = pages.invoices_page(desk.uow(), desk.entity, decode(cursor), LIST_PAGE_SIZE, wanted)
    context = {
        "title": "Drafts" if status == "draft" else "Invoices",
        "rows": found.rows,
        "filters": {
            "status": status,
            "customer": customer,
            "kind": kind,
            "number": number,
            "date_from": date_from,
            "date_to": date_to,
        },
        "statuses": INVOICE_STATUSES,
        "next_cursor": encode(found.after_id),
        "first_page": not cursor,
    }
    return html(request, "invoices.html", {"desk": desk, "nav": "invoices", **context})


@router.get("/{entity}/invoices/{number}")
def invoice(request: Request, number: str, desk: Desk = page(READ)) -> Response:
    view = uc.invoice_page(desk.uow(), desk.entity, number)
    trail = uc.invoice_audit(desk.uow(), desk.entity, number) if desk.may(AUDIT_READ) else None
    h = view.view.header
    title = h["number"] or f"Draft {h['id']}"
    context = {"title": title, "page": view, "h": h, "trail": trail}
    return html(request, "invoice.html", {"desk": desk, "nav": "invoices", **context})


@router.get("/{entity}/invoices/{number}/pdf")
def invoice_pdf(
    request: Request, number: str, desk: Desk = page(READ), download: bool = False
) -> Response:
    """The PDF as the customer gets it (WeasyPrint; company templates apply), shown in the
    browser or, with ?download=1, saved."""
    from openbill.adapters.documents import pdf

    view = rep.show_document(desk.uow(), desk.entity, number)
    header = view.header
    _issued(header)
    who = statements.parties(desk.uow(), desk.entity, header["customer_code"])
    credited = ""
    if header.get("credited_document_id"):
        other = rep.show_document(desk.uow(), desk.entity, str(header["credited_document_id"]))
        credited = other.header["number"] or ""
    data = pdf.render_document(view, who, credited_number=credited)
    how = "attachment" if download else "inline"
    name = f"{header['number']}.pdf"
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'{how}; filename="{name}"'},
    )


def _issued(header: dict[str, Any]) -> None:
    if header["status"] != "issued" or not header["number"]:
        raise InvalidInput(
            "a draft has no PDF or e-invoice yet: it gets them when it is issued",
            record="document",
            field="number",
        )


@router.get("/{entity}/invoices/{number}/einvoice/{syntax}")
def invoice_einvoice(
    request: Request, number: str, syntax: str, desk: Desk = page(READ)
) -> Response:
    """The EN 16931 e-invoice as UBL (Peppol BIS 3.0) or CII, downloaded."""
    from openbill.adapters.documents.einvoice_io import WRITERS
    from openbill.usecases.einvoicing import export_einvoice

    if syntax not in WRITERS:
        raise InvalidInput("choose ubl or cii", field="syntax")
    data = export_einvoice(desk.uow(), desk.entity, number, syntax, WRITERS)
    name = f"{fmt.segment(number)}-{syntax}.xml"
    return Response(
        data,
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/{entity}/invoices/{number}/audit")
def invoice_audit(request: Request, number: str, desk: Desk = page(AUDIT_READ)) -> Response:
    """The audit trail of a document (auditors, managers, administrators). htmx loads it
    into the invoice page; alone it is a page of its own."""
    trail = uc.invoice_audit(desk.uow(), desk.entity, number)
    context = {"title": f"Audit trail of {number}", "number": number, "trail": trail}
    template = "_audit.html" if desk.htmx else "audit.html"
    return html(request, template, {"desk": desk, "nav": "invoices", **context})


# ---------------------------------------------------------------------------------------------
# payments (the dispute cases and bank lines, with their actions: queues_receivables.py and
# queues_bank.py)


@router.get("/{entity}/payments")
def payments(
    request: Request,
    desk: Desk = page(READ),
    customer: Text = "",
    date_from: Annotated[str, Query(max_length=10)] = "",
    date_to: Annotated[str, Query(max_length=10)] = "",
    cursor: Cursor = "",
) -> Response:
    wanted = pages.PaymentFilter(
        customer.strip(), _day(date_from, "date_from"), _day(date_to, "date_to")
    )
    found = pages.payments_page(desk.uow(), desk.entity, decode(cursor), LIST_PAGE_SIZE, wanted)
    context = {
        "title": "Payments",
        "rows": found.rows,
        "filters": {"customer": customer, "date_from": date_from, "date_to": date_to},
        "next_cursor": encode(found.after_id),
        "first_page": not cursor,
    }
    return html(request, "payments.html", {"desk": desk, "nav": "payments", **context})


# ---------------------------------------------------------------------------------------------
# search


@router.get("/{entity}/search")
def search(
    request: Request,
    desk: Desk = page(READ),
    q: Annotated[str, Query(max_length=uc.MAX_SEARCH_CHARS)] = "",
) -> Response:
    found = uc.search(desk.uow(), desk.entity, q)
    context = {"title": f"Search: {found.query}" if found.query else "Search", "found": found}
    return html(request, "search.html", {"desk": desk, "nav": "search", **context})
