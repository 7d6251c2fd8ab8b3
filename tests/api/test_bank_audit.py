"""The audit trail and verify by API: audit.read only; a legal entity's trail filtered by
record, actor, action and days, in pages; the events of no entity apart; verify's result per
check, and its violations described only to someone with access to every legal entity."""

from __future__ import annotations

from datetime import date

import pytest
from fixtures_book import ENTITY, invoice, tamper
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbill.usecases import access

from .conftest import OTHER, PASSWORD

BASE = f"/v1/entities/{ENTITY}"


@pytest.fixture
def auditor(desk):
    return desk.client("auditor")


def _change_email(desk, who: str, email: str) -> None:
    client = desk.client(who)
    tag = client.get(f"{BASE}/customers/C1").headers["etag"]
    reply = client.patch(f"{BASE}/customers/C1", json={"email": email}, headers={"If-Match": tag})
    assert reply.status_code == 200, reply.text


def _events(client, url, **params):
    reply = client.get(url, params=params)
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]


def test_the_trail_of_an_entity_filtered_by_record_actor_action_and_day(desk):
    _change_email(desk, "clerk", "a@alpha.example")
    desk.book.clock.advance(days=1)  # 2026-01-02
    _change_email(desk, "specialist", "b@alpha.example")
    auditor = desk.client("auditor")
    url = f"{BASE}/audit"
    with desk.book.uow(read_only=True) as uow:
        c1 = uow.customers.by_code(uow.entities.by_code(ENTITY).id, "C1").id

    updates = _events(auditor, url, action="customer.updated")
    assert [(e["actor"], e["after"]["email"]) for e in updates] == [
        ("clerk", "a@alpha.example"),
        ("specialist", "b@alpha.example"),
    ]
    assert updates[1]["before"]["email"] == "a@alpha.example"
    record = _events(auditor, url, record_type="customer", record_id=str(c1))
    assert [e["action"] for e in record] == [
        "customer.created",
        "customer.updated",
        "customer.updated",
    ]
    assert [e["action"] for e in _events(auditor, url, actor="specialist")] == ["customer.updated"]
    day2 = _events(auditor, url, date_from="2026-01-02", date_to="2026-01-02")
    assert [(e["actor"], e["occurred_at"]) for e in day2] == [
        ("specialist", "2026-01-02T09:00:00Z")
    ]
    assert _events(auditor, url, date_to="2025-12-31") == []
    # OTHER's creation is OTHER's: not in ACME's trail; sign-ins belong to no entity.
    everything = _events(auditor, url, limit=200)
    assert all(e["action"] not in ("log_in", "user_added") for e in everything)
    assert not any(e["record_id"] == OTHER for e in everything)
    reply = auditor.get(url, params={"date_from": "2026-01-02", "date_to": "2026-01-01"})
    assert reply.status_code == 422 and reply.json()["field"] == "date_from"
    reply = auditor.get(url, params={"actor": "x" * 101})
    assert reply.status_code == 422 and reply.json()["field"] == "actor"


def test_the_events_of_no_entity_sign_ins_and_refusals(desk):
    desk.client("clerk").get("/v1/verify")  # refused: a clerk has no audit.read
    admin = desk.client("administrator")
    added = _events(admin, "/v1/audit", action="user_added")
    assert [e["record_id"] for e in added] == [
        "clerk",
        "specialist",
        "manager",
        "auditor",
        "administrator",
        "other",
    ]
    assert all("password" not in (e["after"] or {}) for e in added)
    sign_ins = _events(admin, "/v1/audit", action="log_in", record_id="clerk")
    assert len(sign_ins) == 1 and sign_ins[0]["actor"] == "clerk"
    [refused] = _events(admin, "/v1/audit", action="permission_refused")
    assert refused["after"] == {
        "principal": "clerk",
        "action": "audit.read",
        "target": "GET /v1/verify",
    }
    # An administrator reads the trail, never a billing record.
    assert admin.get(f"{BASE}/bank/lines").status_code == 403


def test_who_reads_the_trail(desk):
    for role, status in (
        ("clerk", 403),
        ("specialist", 403),
        ("manager", 200),
        ("auditor", 200),
        ("administrator", 200),
    ):
        assert desk.client(role).get(f"{BASE}/audit").status_code == status, role
        assert desk.client(role).get("/v1/audit").status_code == status, role
        assert desk.client(role).get("/v1/verify").status_code == status, role
    assert desk.with_key("reader").get(f"{BASE}/audit").status_code == 403
    assert desk.client("other").get(f"{BASE}/audit").status_code == 403


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    limit=st.integers(1, 7),
    action=st.sampled_from(["", "customer.created", "charge_code.created", "tax_rule.added"]),
)
def test_pages_of_the_trail_hold_each_event_once_in_order(desk, auditor, limit, action):
    # Read straight from the repository the audit trail is written to, as the expectation.
    with desk.book.uow(read_only=True) as uow:
        entity_id = uow.entities.by_code(ENTITY).id
        expected = [
            int(e.id)
            for e in uow.audit.events()
            if e.entity_id == entity_id and action in ("", e.action)
        ]
    seen, cursor = [], None
    for _ in range(60):
        params = {"limit": limit, "action": action} | ({"cursor": cursor} if cursor else {})
        page = auditor.get(f"{BASE}/audit", params=params).json()
        assert len(page["data"]) <= limit
        seen += [e["id"] for e in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected


def test_verify_gives_each_check_and_describes_violations_to_whom_sees_every_entity(desk):
    inv = invoice(desk.book, "C1", date(2025, 12, 1), ("WIDGET", "2"))  # 25.00 + 4.75
    manager = desk.client("manager")
    clean = manager.get("/v1/verify").json()
    assert clean["ok"] is True and clean["details_withheld"] == ""
    names = [c["check"] for c in clean["checks"]]
    assert "hash chains intact" in names and "ledger balances per currency" in names

    # Someone with database access adds a cent to the invoice's revenue line (4000): its entry
    # no longer balances (1), the ledger is off by a cent (2), and the journal chain sees the
    # entry changed (3).
    tamper(
        desk.book,
        "UPDATE journal_lines SET amount_minor = amount_minor + 1 WHERE account = '4000' AND "
        "entry_id = (SELECT id FROM journal_entries WHERE source_table = 'documents' "
        f"AND source_id = {inv.id})",
    )
    seen = manager.get("/v1/verify").json()
    assert seen["ok"] is False and seen["violations_total"] == 3
    failed = {c["check"]: c["violations"] for c in seen["checks"] if not c["passed"]}
    assert failed == {"ledger balances per currency": 2, "hash chains intact": 1}
    # The manager acts for ACME only; the book holds OTHER too: no details.
    assert seen["violations"] == [] and "OTHER" in seen["details_withheld"]

    access.add_user(
        desk.book.uow(),
        desk.book.hasher,
        access.AddUser("chief", "Chief Auditor", "auditor", (ENTITY, OTHER), PASSWORD),
    )
    full = desk.client("chief").get("/v1/verify").json()
    assert full["details_withheld"] == "" and len(full["violations"]) == 3
    messages = {(v["check"], v["message"]) for v in full["violations"]}
    assert ("ledger balances", "the ledger is off by 1 minor units of EUR") in messages
    assert any(m == "content changed after it was written" for _, m in messages)
