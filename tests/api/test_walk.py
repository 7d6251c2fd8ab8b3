"""Every route, as every kind of caller: anonymous, each role of the entity, a user of another
entity, and API keys with narrow scopes. No access where none is due.

The table below is written by hand: the action each operation needs. A new route must be added
here, so that nobody adds an unguarded route or lowers a route's requirement unnoticed."""

from __future__ import annotations

import re

import pytest

from openbill.domain.access import ROLE_ACTIONS, Role
from openbill.interfaces.api.app import operations
from openbill.interfaces.api.security import route_action

from . import walk_bank, walk_commercial, walk_integration, walk_receivables
from .conftest import ENTITY, OTHER, ROLES

# (method, path) -> the action it needs; None: public (no log-in needed). The areas added
# later keep their own tables (walk_*.py), merged here.
EXPECTED = {
    ("GET", "/v1/health"): None,
    ("GET", "/v1/me"): None,  # answers 401 itself when nobody is logged in
    ("POST", "/v1/sessions"): None,
    ("DELETE", "/v1/sessions/current"): None,
    ("GET", "/v1/entities"): "read",
    ("GET", "/v1/entities/{entity}/customers"): "read",
    ("GET", "/v1/entities/{entity}/customers/{code}"): "read",
    ("POST", "/v1/entities/{entity}/customers"): "customers.write",
    ("PATCH", "/v1/entities/{entity}/customers/{code}"): "customers.write",
    ("GET", "/v1/entities/{entity}/invoices"): "read",
    ("GET", "/v1/entities/{entity}/invoices/{number}"): "read",
    ("POST", "/v1/entities/{entity}/invoices"): "invoices.issue",
    ("GET", "/v1/entities/{entity}/payments"): "read",
    ("POST", "/v1/entities/{entity}/payments"): "payments.post",
    **walk_commercial.EXPECTED,
    **walk_receivables.EXPECTED,
    **walk_bank.EXPECTED,
    **walk_integration.EXPECTED,
}
PUBLIC_STATUS = {  # what an anonymous caller gets from the public routes
    ("GET", "/v1/health"): 200,
    ("GET", "/v1/me"): 401,
    ("POST", "/v1/sessions"): 422,  # no body
    ("DELETE", "/v1/sessions/current"): 401,
}


def _operations(app):
    return operations()


def _url(path: str, entity: str) -> str:
    """The path with its parameters filled in: the entity, C1 for a code, X-1 for a number,
    and 999999 for any other parameter (ids), so that a guarded route answers 404 or 422."""
    filled = path.replace("{entity}", entity).replace("{code}", "C1").replace("{number}", "X-1")
    return re.sub(r"\{[a-z_]+\}", "999999", filled)


def test_every_route_is_in_the_table_with_the_action_it_declares(desk):
    declared = {(m, p): route_action(r) for m, p, r in _operations(desk.app)}
    assert declared == EXPECTED


def test_anonymous_callers_get_401_from_every_guarded_route(desk):
    client = desk.anonymous()
    for method, path, _ in _operations(desk.app):
        reply = client.request(method, _url(path, ENTITY), json={})
        if EXPECTED[(method, path)] is None:
            assert reply.status_code == PUBLIC_STATUS[(method, path)], (method, path)
        else:
            assert reply.status_code == 401, (method, path, reply.text)
            assert reply.headers["content-type"] == "application/problem+json"
            assert reply.json()["code"] == "unauthenticated"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_the_routes_of_its_actions(desk, role):
    client = desk.client(role)
    allowed = ROLE_ACTIONS[Role(role)]
    for method, path, _ in _operations(desk.app):
        action = EXPECTED[(method, path)]
        if action is None:
            continue
        reply = client.request(method, _url(path, ENTITY), json={})
        if action in allowed:
            # Past the guard: the route answers for itself (200, 404 for X-1, 422 for {} ...).
            assert reply.status_code not in (401, 403), (role, method, path, reply.text)
        else:
            assert reply.status_code == 403, (role, method, path, reply.text)
            assert reply.json()["code"] == "forbidden"


def test_another_entitys_user_is_refused_everywhere_in_this_entity(desk):
    client = desk.client("other")
    for method, path, _ in _operations(desk.app):
        if "{entity}" not in path:
            continue
        reply = client.request(method, _url(path, ENTITY), json={})
        assert reply.status_code == 403, (method, path, reply.text)
        assert "ACME" in reply.json()["detail"]
    # ... and still reaches its own.
    assert client.get(f"/v1/entities/{OTHER}/customers").status_code == 200
    assert [e["code"] for e in client.get("/v1/entities").json()] == [OTHER]


def test_api_keys_reach_only_their_scopes(desk):
    reader, poster = desk.with_key("reader"), desk.with_key("poster")
    body = {"customer": "C1", "amount": "10.00"}
    assert reader.get(f"/v1/entities/{ENTITY}/invoices").status_code == 200
    assert reader.post(f"/v1/entities/{ENTITY}/payments", json=body).status_code == 403
    assert poster.post(f"/v1/entities/{ENTITY}/payments", json=body).status_code == 201
    assert poster.post(f"/v1/entities/{ENTITY}/customers", json={}).status_code == 403
    assert reader.get(f"/v1/entities/{OTHER}/customers").status_code == 403


def test_a_revoked_or_mistyped_key_is_401(desk):
    client = desk.anonymous()
    client.headers["Authorization"] = "Bearer obk_not-a-key"
    reply = client.get(f"/v1/entities/{ENTITY}/invoices")
    assert reply.status_code == 401
    assert "revoked or mistyped" in reply.json()["detail"]
    client.headers["Authorization"] = "Basic dXNlcjpwYXNz"
    assert client.get(f"/v1/entities/{ENTITY}/invoices").status_code == 401


def test_refusals_are_in_the_audit_trail(desk):
    desk.client("auditor").post(f"/v1/entities/{ENTITY}/payments", json={})
    with desk.book.uow(read_only=True) as uow:
        refused = [e for e in uow.audit.events() if e.action == "permission_refused"]
    assert refused and refused[-1].actor == "auditor"
    assert "payments.post" in (refused[-1].after or "")
