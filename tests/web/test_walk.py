"""Every page, as every kind of visitor: anonymous (to the log-in page), each role of the
entity, and a user of another entity (403). No access where none is due.

The table below is written by hand: the action each page needs. A new page must be added
here, so that nobody adds an unguarded page or lowers a page's requirement unnoticed."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.routing import APIRoute

from openbill.domain.access import ROLE_ACTIONS, Role
from openbill.interfaces.api.security import route_action
from openbill.interfaces.web.pages import router

from .conftest import ENTITY, OTHER, ROLES, log_in

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
    ("GET", "/desk/{entity}/disputes"): "read",
    ("GET", "/desk/{entity}/bank-lines"): "read",
    ("GET", "/desk/{entity}/search"): "read",
}
# Pages that are expensive to render (WeasyPrint) are walked once per role, like the rest.
GUARDED = [(m, p) for (m, p), a in EXPECTED.items() if a is not None]


def _pages():
    for route in router.routes:
        assert isinstance(route, APIRoute)
        for method in sorted(route.methods - {"HEAD"}):
            yield method, route.path, route


def _url(path: str, entity: str) -> str:
    """The path filled in with records of the test book."""
    return (
        path.replace("{entity}", entity)
        .replace("{code}", "C1")
        .replace("{number}", "INV-2026-000001")
        .replace("{syntax}", "ubl")
    )


def test_every_page_is_in_the_table_with_the_action_it_declares():
    declared = {(m, p): route_action(r) for m, p, r in _pages()}
    assert declared == EXPECTED


def test_anonymous_visitors_are_sent_to_log_in_and_back(quarter):
    client = quarter.anonymous()
    for method, path in GUARDED:
        url = _url(path, ENTITY) + "?x=1"
        reply = client.request(method, url, follow_redirects=False)
        assert reply.status_code == 303, (path, reply.text)
        target = urlsplit(reply.headers["location"])
        assert target.path == "/desk/login"
        # Back to the very page, query included, after logging in.
        assert parse_qs(target.query)["next"] == [url]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_the_pages_of_its_actions(quarter, role):
    client = log_in(quarter, role)
    allowed = ROLE_ACTIONS[Role(role)]
    for method, path in GUARDED:
        reply = client.request(method, _url(path, ENTITY), follow_redirects=False)
        if EXPECTED[(method, path)] in allowed:
            assert reply.status_code == 200, (role, path, reply.text[:500])
        else:
            assert reply.status_code == 403, (role, path)
            assert "text/html" in reply.headers["content-type"]
            assert "may not do this" in reply.text


def test_another_entitys_user_is_refused_everywhere_in_this_entity(quarter):
    client = log_in(quarter, "other")
    for method, path in GUARDED:
        if "{entity}" not in path:
            continue
        reply = client.request(method, _url(path, ENTITY), follow_redirects=False)
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
        if path.endswith(("/pdf", "/{syntax}")) or path == "/desk/admin":
            continue
        page = client.request(method, _url(path, ENTITY)).text
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == [], path
        assert " style=" not in page and "<style" not in page, path
        assert re.findall(r"\son[a-z]+=", page) == [], path
