"""Anti-forgery tokens on every change, security headers on every page, bounded bodies."""

from __future__ import annotations

from fastapi import Form, Request
from fastapi.responses import PlainTextResponse

from openbill.domain.access import CUSTOMERS_WRITE
from openbill.interfaces.api.security import SESSION_COOKIE
from openbill.interfaces.web.guard import Desk, csrf_token, page
from openbill.interfaces.web.middleware import CONTENT_SECURITY_POLICY, MAX_FORM_BYTES

from .conftest import ENTITY, csrf_of, log_in

FORM = f"/desk/{ENTITY}/test-form"


def _forged(book):
    with book.uow(read_only=True) as uow:
        return [e for e in uow.audit.events() if e.action == "csrf_refused"]


def _with_a_form(desk):
    """A page with a form as part 2 adds them: a POST guarded by page(action)."""
    if not any(getattr(r, "path", "") == FORM for r in desk.app.router.routes):

        def change(request: Request, note: str = Form(""), desk: Desk = page(CUSTOMERS_WRITE)):
            return PlainTextResponse(f"changed by {desk.principal.name}: {note}")

        desk.app.router.add_api_route("/desk/{entity}/test-form", change, methods=["POST"])
    return desk


def test_a_form_with_the_sessions_token_goes_through(quarter):
    client = log_in(_with_a_form(quarter), "clerk")
    token = csrf_of(client.get(f"/desk/{ENTITY}").text)
    assert token == csrf_token(client.cookies[SESSION_COOKIE])
    reply = client.post(FORM, data={"note": "hello", "csrf_token": token})
    assert reply.status_code == 200
    assert reply.text == "changed by clerk: hello"
    # htmx sends it as a header instead (base.html puts it into hx-headers).
    reply = client.post(FORM, data={"note": "by htmx"}, headers={"X-CSRF-Token": token})
    assert reply.status_code == 200


def test_a_form_without_or_with_a_wrong_token_is_refused_and_audited(quarter):
    desk = _with_a_form(quarter)
    client = log_in(desk, "specialist")
    before = len(_forged(desk.book))
    for data in ({"note": "x"}, {"note": "x", "csrf_token": "0" * 64}):
        reply = client.post(FORM, data=data)
        assert reply.status_code == 403
        assert "anti-forgery token is missing or wrong" in reply.text
        assert "nothing was changed" in reply.text
    refused = _forged(desk.book)[before:]
    assert [e.actor for e in refused] == ["specialist", "specialist"]
    assert f"POST {FORM}" in refused[0].after
    assert "0" * 64 not in refused[1].after  # the token given is not recorded


def test_another_sessions_token_does_not_do(quarter):
    desk = _with_a_form(quarter)
    mine, theirs = log_in(desk, "manager"), log_in(desk, "clerk")
    their_token = csrf_of(theirs.get(f"/desk/{ENTITY}").text)
    assert mine.post(FORM, data={"csrf_token": their_token}).status_code == 403
    # Two sessions of the same user have different tokens too.
    again = log_in(desk, "manager")
    assert csrf_of(again.get(f"/desk/{ENTITY}").text) != csrf_of(mine.get(f"/desk/{ENTITY}").text)


def test_the_role_is_checked_before_the_token(quarter):
    client = log_in(_with_a_form(quarter), "auditor")  # may not write customers
    token = csrf_of(client.get(f"/desk/{ENTITY}").text)
    reply = client.post(FORM, data={"csrf_token": token})
    assert reply.status_code == 403
    assert "may not do this (it needs 'customers.write')" in reply.text.replace("&#39;", "'")


def test_log_out_without_the_token_is_refused_and_the_session_lives(quarter):
    client = log_in(quarter, "clerk")
    before = len(_forged(quarter.book))
    reply = client.post("/desk/logout", follow_redirects=False)
    assert reply.status_code == 403
    assert len(_forged(quarter.book)) == before + 1
    assert client.get(f"/desk/{ENTITY}").status_code == 200  # still logged in


def test_a_log_in_without_its_forms_token_is_refused_and_audited(quarter):
    client = quarter.anonymous()
    before = len(_forged(quarter.book))
    reply = client.post(
        "/desk/login",
        data={"username": "clerk", "password": "correct horse battery staple"},
        follow_redirects=False,
    )
    assert reply.status_code == 403
    assert "The log-in form had expired" in reply.text
    assert SESSION_COOKIE not in client.cookies
    refused = _forged(quarter.book)[before:]
    assert len(refused) == 1 and "POST /desk/login" in refused[0].after


def test_pages_carry_the_security_headers(quarter):
    client = log_in(quarter, "specialist")
    for path in ("/desk/login", f"/desk/{ENTITY}", f"/desk/{ENTITY}/nothing-here"):
        headers = client.get(path).headers
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "'unsafe-inline'" not in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["cache-control"] == "no-store"
    css = client.get("/desk/static/desk.css")
    assert css.status_code == 200 and css.headers["x-content-type-options"] == "nosniff"
    # The API keeps its own headers: the pages' policy is not forced on JSON clients.
    assert "content-security-policy" not in client.get("/v1/health").headers


def test_a_body_larger_than_a_form_is_refused_before_it_is_read(quarter):
    client = log_in(quarter, "clerk")
    reply = client.post("/desk/logout", content=b"x" * (MAX_FORM_BYTES + 1))
    assert reply.status_code == 413
    assert client.get(f"/desk/{ENTITY}").status_code == 200


def test_the_session_cookie_is_httponly_and_samesite_strict(quarter):
    client = quarter.anonymous()
    form = client.get("/desk/login")
    reply = client.post(
        "/desk/login",
        data={
            "username": "clerk",
            "password": "correct horse battery staple",
            "csrf_token": csrf_of(form.text),
        },
        follow_redirects=False,
    )
    cookie = next(v for v in reply.headers.get_list("set-cookie") if SESSION_COOKIE in v).lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie


def test_htmx_is_configured_for_the_policy(quarter):
    page = log_in(quarter, "clerk").get(f"/desk/{ENTITY}").text
    assert '"includeIndicatorStyles": false' in page
    assert '"allowEval": false' in page
    assert '<script src="/desk/static/htmx.min.js" defer></script>' in page
    assert 'hx-headers=\'{"X-CSRF-Token": "' in page
