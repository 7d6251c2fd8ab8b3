"""Every page and every action, as every kind of visitor: anonymous (to the log-in page),
each role of the entity, and a user of another entity (403). No access where none is due.

The table below is written by hand: the action each page needs. A new page must be added
here, so that nobody adds an unguarded page or lowers a page's requirement unnoticed.

Actions (POST) are walked with the session's anti-forgery token, on records that do not exist
and with values no use case accepts: a role the action allows passes the guard and gets the
use case's refusal (404, 409, 422), one it does not allow gets 403, and nothing changes."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.routing import APIRoute
from fixtures_book import row_counts

from openbill.domain.access import ROLE_ACTIONS, Role
from openbill.interfaces.api.security import route_action
from openbill.interfaces.web import pages, queues_bank, queues_billing, queues_receivables

from .conftest import ENTITY, OTHER, ROLES, csrf_of, log_in

# (method, path) -> the action it needs; None: public (the page answers anonymous visitors
# itself: the log-in page, the front door, the log-out that needs a session of its own).
EXPECTED = {
    ("GET", "/desk"): None,
    ("GET", "/desk/login"): None,
    ("POST", "/desk/login"): None,
    ("POST", "/desk/logout"): None,
    ("GET", "/desk/switch"): None,
    ("GET", "/desk/nothing"): None,
    ("GET", "/desk/admin"): "users.admin",
    ("GET", "/desk/{entity}"): "read",
    ("GET", "/desk/{entity}/aging"): "read",
    ("GET", "/desk/{entity}/customers"): "read",
    ("GET", "/desk/{entity}/customers/{code}"): "read",
    ("GET", "/desk/{entity}/customers/{code}/statement"): "read",
    ("GET", "/desk/{entity}/invoices"): "read",
    ("GET", "/desk/{entity}/invoices/{number}"): "read",
    ("GET", "/desk/{entity}/invoices/{number}/pdf"): "read",
    ("GET", "/desk/{entity}/invoices/{number}/einvoice/{syntax}"): "read",
    ("GET", "/desk/{entity}/invoices/{number}/audit"): "audit.read",
    ("GET", "/desk/{entity}/payments"): "read",
    ("GET", "/desk/{entity}/search"): "read",
    # the billing queues
    ("GET", "/desk/{entity}/drafts"): "read",
    ("POST", "/desk/{entity}/drafts/prepare"): "invoices.prepare",
    ("POST", "/desk/{entity}/drafts/{draft_id}/verify"): "invoices.prepare",
    ("POST", "/desk/{entity}/drafts/{draft_id}/issue"): "invoices.issue",
    ("GET", "/desk/{entity}/approvals"): "read",
    ("POST", "/desk/{entity}/drafts/{draft_id}/approve"): "invoices.approve",
    ("GET", "/desk/{entity}/discrepancies"): "read",
    ("POST", "/desk/{entity}/discrepancies/{finding_id}/resolve"): "invoices.prepare",
    ("POST", "/desk/{entity}/discrepancies/{finding_id}/override"): "invoices.approve",
    # the receivables queues
    ("GET", "/desk/{entity}/overdue"): "read",
    ("POST", "/desk/{entity}/dunning/run"): "dunning.run",
    ("POST", "/desk/{entity}/customers/{code}/promise"): "dunning.run",
    ("POST", "/desk/{entity}/customers/{code}/hold"): "dunning.run",
    ("POST", "/desk/{entity}/customers/{code}/release"): "dunning.run",
    ("GET", "/desk/{entity}/disputes"): "read",
    ("GET", "/desk/{entity}/disputes/new"): "disputes.open",
    ("POST", "/desk/{entity}/disputes"): "disputes.open",
    ("GET", "/desk/{entity}/disputes/{case_no}"): "read",
    ("POST", "/desk/{entity}/disputes/{case_no}/notes"): "disputes.open",
    ("POST", "/desk/{entity}/disputes/{case_no}/resolve"): "disputes.resolve",
    ("GET", "/desk/{entity}/payments/new"): "payments.post",
    ("POST", "/desk/{entity}/payments"): "payments.post",
    # the bank lines to review
    ("GET", "/desk/{entity}/bank-lines"): "read",
    ("POST", "/desk/{entity}/bank-lines/match"): "payments.post",
    ("POST", "/desk/{entity}/bank-lines/{line_id}/confirm"): "payments.post",
    ("POST", "/desk/{entity}/bank-lines/{line_id}/other"): "payments.post",
    ("POST", "/desk/{entity}/bank-lines/{line_id}/undo"): "payments.post",
}
# Pages that are expensive to render (WeasyPrint) are walked once per role, like the rest.
GUARDED = [(m, p) for (m, p), a in EXPECTED.items() if a is not None]


ROUTERS = (pages.router, queues_billing.router, queues_receivables.router, queues_bank.router)
# What an action is sent in the walk: the token, and values no use case takes (a date that is
# none, an unknown kind, an empty reason ...), so that an allowed role gets a refusal.
NONSENSE = {
    name: "x"
    for name in (
        "through document_date issue_date as_of amount pay_by kind line how candidate "
        "category allocate received_on"
    ).split()
} | {"reason": " ", "note": "", "invoice": "NOPE", "customer": "NOPE", "account": "NOPE"}


def _pages():
    for router in ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute)
            for method in sorted(route.methods - {"HEAD"}):
                yield method, route.path, route


def _url(path: str, entity: str, method: str = "GET") -> str:
    """The path filled in with records of the test book; for an action, records that do not
    exist (the walk changes nothing)."""
    records = {
        "{code}": "C1",
        "{number}": "INV-2026-000001",
        "{syntax}": "ubl",
        "{draft_id}": "7",
        "{finding_id}": "1",
        "{case_no}": "DSP-000001",
        "{line_id}": "1",
    }
    if method != "GET":
        records |= {
            "{code}": "NOPE",
            "{draft_id}": "999999",
            "{finding_id}": "999999",
            "{case_no}": "DSP-999999",
            "{line_id}": "999999",
        }
    url = path.replace("{entity}", entity)
    for name, value in records.items():
        url = url.replace(name, value)
    return url


def test_every_page_is_in_the_table_with_the_action_it_declares():
    declared = {(m, p): route_action(r) for m, p, r in _pages()}
    assert declared == EXPECTED


def test_anonymous_visitors_are_sent_to_log_in_and_back(quarter):
    client = quarter.anonymous()
    for method, path in GUARDED:
        url = _url(path, ENTITY, method) + "?x=1"
        reply = client.request(method, url, follow_redirects=False)
        assert reply.status_code == 303, (path, reply.text)
        target = urlsplit(reply.headers["location"])
        assert target.path == "/desk/login"
        # Back to the very page, query included, after logging in; an action is not
        # repeated after a log-in (the person sees its page again first).
        if method == "GET":
            assert parse_qs(target.query)["next"] == [url]
        else:
            assert "next" not in parse_qs(target.query)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_the_pages_of_its_actions(quarter, role):
    client = log_in(quarter, role)
    allowed = ROLE_ACTIONS[Role(role)]
    for method, path in GUARDED:
        if method != "GET":
            continue
        reply = client.get(_url(path, ENTITY), follow_redirects=False)
        if EXPECTED[(method, path)] in allowed:
            assert reply.status_code == 200, (role, path, reply.text[:500])
        else:
            assert reply.status_code == 403, (role, path)
            assert "text/html" in reply.headers["content-type"]
            assert "may not do this" in reply.text


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_do_exactly_the_actions_of_its_role(quarter, role):
    client = log_in(quarter, role)
    token = csrf_of(
        client.get("/desk/admin" if role == "administrator" else f"/desk/{ENTITY}").text
    )
    allowed = ROLE_ACTIONS[Role(role)]
    before = row_counts(quarter.book)
    for method, path in GUARDED:
        if method == "GET":
            continue
        data = {"csrf_token": token, **NONSENSE}
        reply = client.request(
            method, _url(path, ENTITY, method), data=data, follow_redirects=False
        )
        if EXPECTED[(method, path)] in allowed:
            # Past the guard: the use case refuses the nonsense, on a page.
            assert reply.status_code in (404, 409, 422), (role, path, reply.text[:800])
            assert "may not do this" not in reply.text
        else:
            assert reply.status_code == 403, (role, path, reply.text[:500])
            assert "may not do this" in reply.text
    after = row_counts(quarter.book)
    assert {k for k in after if after[k] != before[k]} <= {"audit_events"}


def test_every_action_without_the_token_is_refused(quarter):
    client = log_in(quarter, "manager")
    for method, path in GUARDED:
        if method == "GET" or EXPECTED[(method, path)] not in ROLE_ACTIONS[Role.MANAGER]:
            continue
        reply = client.request(method, _url(path, ENTITY, method), data=NONSENSE)
        assert reply.status_code == 403, path
        assert "anti-forgery token is missing or wrong" in reply.text, path


def test_another_entitys_user_is_refused_everywhere_in_this_entity(quarter):
    client = log_in(quarter, "other")
    token = csrf_of(client.get(f"/desk/{OTHER}").text)
    for method, path in GUARDED:
        if "{entity}" not in path:
            continue
        data = None if method == "GET" else {"csrf_token": token, **NONSENSE}
        reply = client.request(
            method, _url(path, ENTITY, method), data=data, follow_redirects=False
        )
        assert reply.status_code == 403, (path, reply.text[:300])
        assert "no access to legal entity" in reply.text
        assert "Alpha GmbH" not in reply.text  # nothing of ACME leaks into the refusal
    # ... and still reaches its own.
    assert client.get(f"/desk/{OTHER}").status_code == 200


def test_refused_pages_are_in_the_audit_trail(quarter):
    log_in(quarter, "other").get(f"/desk/{ENTITY}/customers/C1")
    log_in(quarter, "clerk").get(f"/desk/{ENTITY}/invoices/INV-2026-000001/audit")
    with quarter.book.uow(read_only=True) as uow:
        refused = [e for e in uow.audit.events() if e.action == "permission_refused"]
    assert [e.actor for e in refused[-2:]] == ["other", "clerk"]
    assert f"GET /desk/{ENTITY}/customers/C1" in (refused[-2].after or "")
    assert "audit.read" in (refused[-1].after or "")


@pytest.mark.parametrize(
    "user, home", [("specialist", f"/desk/{ENTITY}"), ("administrator", "/desk/admin")]
)
def test_the_front_door_sends_each_person_to_their_start(quarter, user, home):
    client = log_in(quarter, user)
    reply = client.get("/", follow_redirects=False)
    assert reply.headers["location"] == "/desk"
    assert client.get("/desk", follow_redirects=False).headers["location"] == home
    assert quarter.anonymous().get("/desk", follow_redirects=False).headers["location"] == (
        "/desk/login"
    )


def test_pages_have_no_inline_script_style_or_handler(quarter):
    """The Content-Security-Policy forbids inline code: no page may need any."""
    client = log_in(quarter, "manager")
    for method, path in GUARDED:
        if method != "GET" or path.endswith(("/pdf", "/{syntax}")) or path == "/desk/admin":
            continue
        page = client.request(method, _url(path, ENTITY)).text
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == [], path
        assert " style=" not in page and "<style" not in page, path
        assert re.findall(r"\son[a-z]+=", page) == [], path
