"""Webhooks through the API: endpoints added, read, changed with If-Match, secrets shown once
(and never kept in the Idempotency-Key store), test events, delivery pages and retries."""

from __future__ import annotations

from fixtures_book import invoice
from sqlalchemy import select

from openbill.adapters.sql.tables_access import api_requests
from openbill.adapters.webhook_sender import MemorySender

from .conftest import ENTITY

BASE = f"/v1/entities/{ENTITY}/webhooks"
NEW = {"url": "https://hooks.example/in", "events": ["invoice.issued", "invoice.paid"]}


def _stored_requests(desk):
    """The stored responses of the Idempotency-Key store, opened (they are sealed at rest)."""
    with desk.book.engine.connect() as conn:
        return [r.body or "" for r in conn.execute(select(api_requests.c.body))]


def test_an_endpoint_is_added_with_its_secret_once(desk):
    admin = desk.client("administrator")
    reply = admin.post(f"{BASE}/endpoints", json=NEW, headers={"Idempotency-Key": "hook-1"})
    assert reply.status_code == 201, reply.text
    made = reply.json()
    secret = made["secret"]
    assert secret.startswith("whsec_") and len(secret) == len("whsec_") + 43
    assert (made["id"], made["url"], made["events"], made["enabled"]) == (
        1,
        "https://hooks.example/in",
        ["invoice.issued", "invoice.paid"],
        True,
    )
    assert reply.headers["Location"] == f"{BASE}/endpoints/1"
    assert reply.headers["ETag"] == f'"{made["revision"]}"'

    replay = admin.post(f"{BASE}/endpoints", json=NEW, headers={"Idempotency-Key": "hook-1"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == {**made, "secret": None}
    assert all(secret not in body for body in _stored_requests(desk))
    assert any('"secret":null' in body for body in _stored_requests(desk))

    read = admin.get(f"{BASE}/endpoints/1")
    assert read.status_code == 200 and "secret" not in read.json()
    assert secret not in admin.get(f"{BASE}/endpoints").text
    again = admin.get(f"{BASE}/endpoints/1", headers={"If-None-Match": read.headers["ETag"]})
    assert again.status_code == 304


def test_changes_need_the_current_etag(desk):
    admin = desk.client("administrator")
    tag = admin.post(f"{BASE}/endpoints", json=NEW).headers["ETag"]
    change = {"events": ["all"], "description": "ERP"}
    assert admin.patch(f"{BASE}/endpoints/1", json=change).status_code == 428
    changed = admin.patch(f"{BASE}/endpoints/1", json=change, headers={"If-Match": tag})
    assert changed.status_code == 200, changed.text
    assert changed.json()["description"] == "ERP" and len(changed.json()["events"]) == 7
    stale = admin.patch(f"{BASE}/endpoints/1", json={"enabled": False}, headers={"If-Match": tag})
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    off = admin.patch(
        f"{BASE}/endpoints/1",
        json={"enabled": False, "reason": "maintenance"},
        headers={"If-Match": changed.headers["ETag"]},
    )
    assert (off.json()["enabled"], off.json()["disabled_reason"]) == (False, "maintenance")
    with desk.book.uow(read_only=True) as uow:
        actions = [e.action for e in uow.audit.events() if e.record_type == "webhook_endpoint"]
    assert actions == [
        "webhook.endpoint_added",
        "webhook.endpoint_changed",
        "webhook.endpoint_disabled",
    ]


def test_bad_input_names_the_field(desk):
    admin = desk.client("administrator")
    reply = admin.post(f"{BASE}/endpoints", json={**NEW, "url": "http://hooks.example/in"})
    assert reply.status_code == 422 and reply.json()["field"] == "url"
    reply = admin.post(f"{BASE}/endpoints", json={**NEW, "events": ["invoice.lost"]})
    assert reply.status_code == 422 and reply.json()["field"] == "events"
    reply = admin.post(f"{BASE}/endpoints", json={**NEW, "events": []})
    assert reply.status_code == 422 and reply.json()["field"] == "events"
    assert admin.get(f"{BASE}/endpoints").json() == {"data": []}


def test_rotation_shows_the_new_secret_once(desk):
    admin = desk.client("administrator")
    first = admin.post(f"{BASE}/endpoints", json=NEW).json()["secret"]
    headers = {"Idempotency-Key": "rotate-1"}
    reply = admin.post(
        f"{BASE}/endpoints/1/rotate-secret", json={"overlap_hours": 1}, headers=headers
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != first
    assert body["previous_secret_until"] == "2026-01-01T10:00:00+00:00"  # the clock + 1 h
    replay = admin.post(
        f"{BASE}/endpoints/1/rotate-secret", json={"overlap_hours": 1}, headers=headers
    )
    assert replay.json()["secret"] is None
    assert all(body["secret"] not in stored for stored in _stored_requests(desk))
    assert admin.post(f"{BASE}/endpoints/1/rotate-secret").status_code == 200  # body optional


def test_a_test_event_and_the_deliveries(desk):
    sender = MemorySender.answering(200)
    desk.app.state.webhook_sender = sender
    admin = desk.client("administrator")
    admin.post(f"{BASE}/endpoints", json=NEW)
    tested = admin.post(f"{BASE}/endpoints/1/test")
    assert tested.status_code == 200
    assert (tested.json()["status"], tested.json()["status_code"]) == ("delivered", 200)
    assert dict(sender.sent[0].headers)["Openbill-Event"] == "ping"

    for _ in range(3):
        invoice(desk.book, "C1", desk.book.clock.today(), ("WIDGET", "1"))
    page = admin.get(f"{BASE}/deliveries", params={"limit": 2}).json()
    assert [d["id"] for d in page["data"]] == [1, 2] and page["next_cursor"]
    rest = admin.get(f"{BASE}/deliveries", params={"cursor": page["next_cursor"]}).json()
    assert [d["id"] for d in rest["data"]] == [3, 4] and rest["next_cursor"] is None
    pending = admin.get(f"{BASE}/deliveries", params={"status": "pending"}).json()["data"]
    assert [(d["event_type"], d["status"]) for d in pending] == [("invoice.issued", "pending")] * 3
    one = admin.get(f"{BASE}/deliveries/1").json()
    assert [a["outcome"] for a in one["attempts_made"]] == ["delivered"]
    assert "payload" not in one  # a billing record: not for the administrator role
    refused = admin.post(f"{BASE}/deliveries/1/retry")
    assert refused.status_code == 409 and refused.json()["field"] == "status"
    bad = admin.get(f"{BASE}/deliveries", params={"status": "lost"})
    assert bad.status_code == 422 and bad.json()["field"] == "status"


def test_a_failed_delivery_is_retried_through_the_api(desk):
    from openbill.usecases import webhooks as wh

    admin = desk.client("administrator")
    admin.post(f"{BASE}/endpoints", json=NEW)
    desk.app.state.webhook_sender = MemorySender.answering(500)
    tested = admin.post(f"{BASE}/endpoints/1/test").json()
    assert tested["status"] == "failed" and tested["error"] == "HTTP 500"
    reply = admin.post(f"{BASE}/deliveries/1/retry")
    assert reply.status_code == 200 and reply.json() == {"retried": [1]}
    assert wh.list_deliveries(desk.book.uow(read_only=True), ENTITY)[0].status == "pending"


def test_other_roles_and_entities_see_no_webhooks(desk):
    desk.client("administrator").post(f"{BASE}/endpoints", json=NEW)
    for role in ("auditor", "manager"):
        assert desk.client(role).get(f"{BASE}/endpoints").status_code == 403
    assert desk.client("other").get(f"{BASE}/deliveries").status_code == 403
    assert desk.with_key("reader").get(f"{BASE}/endpoints").status_code == 403
