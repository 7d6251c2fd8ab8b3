"""API keys (created, used, revoked; only their SHA-256 kept) and the HTTP Idempotency-Key
store (`uow.api_requests`) on a real book."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from fixtures_book import ENTITY
from sqlalchemy import select

from openbill.adapters.sql import tables_access as ta
from openbill.domain.rejections import InvalidInput, InvalidState, NotFound
from openbill.usecases import access as ua
from openbill.usecases import masterdata as m


def create(book, name="erp", scopes=("read", "invoices.issue"), entity=ENTITY):
    return ua.create_api_key(book.uow(), ua.CreateApiKey(entity, name, tuple(scopes), "admin"))


def keys(book):
    with book.engine.connect() as conn:
        return conn.execute(select(ta.api_keys).order_by(ta.api_keys.c.id)).all()


def test_an_api_key_is_shown_once_and_only_its_sha256_is_kept(desk):
    made = create(desk)
    assert made.token.startswith("obk_") and len(made.token) == 4 + 43
    assert made.prefix == made.token[:8]
    (row,) = keys(desk)
    assert row.token_hash == hashlib.sha256(made.token.encode()).hexdigest()
    assert made.token not in " ".join(str(v) for v in row)
    assert (row.name, row.prefix, row.scopes, row.created_by) == (
        "erp",
        made.prefix,
        "read invoices.issue",
        "admin",
    )


def test_an_api_key_acts_for_its_entity_with_its_scopes(desk):
    made = create(desk)
    p = ua.api_key_principal(desk.uow(), made.token)
    assert p is not None
    assert (p.kind, p.id, p.name, p.role) == ("api_key", made.key_id, "api-key:erp", None)
    assert p.entities == {ENTITY} and p.scopes == {"read", "invoices.issue"}
    assert p.may("invoices.issue") and not p.may("payments.post")
    assert ua.api_key_principal(desk.uow(), made.token[:-1] + "x") is None
    assert ua.api_key_principal(desk.uow(), "not-a-key") is None


def test_last_used_is_noted_at_most_once_a_minute(desk):
    made = create(desk)
    ua.api_key_principal(desk.uow(), made.token)
    first = keys(desk)[0].last_used_at
    assert first is not None
    desk.clock.advance(seconds=59)
    ua.api_key_principal(desk.uow(), made.token)
    assert keys(desk)[0].last_used_at == first
    desk.clock.advance(seconds=1)
    ua.api_key_principal(desk.uow(), made.token)
    assert keys(desk)[0].last_used_at != first
    (view,) = ua.list_api_keys(desk.uow(), ENTITY)
    assert view.last_used_at == desk.clock.now()


def test_revoked_keys_are_refused_and_listed(desk):
    made = create(desk)
    create(desk, "bank-feed", ("payments.post",))
    revoked = ua.revoke_api_key(desk.uow(), ENTITY, "erp")
    assert revoked.revoked and revoked.prefix == made.prefix
    assert ua.api_key_principal(desk.uow(), made.token) is None
    listed = {k.name: (k.revoked, k.scopes, k.entity) for k in ua.list_api_keys(desk.uow(), None)}
    assert listed == {
        "erp": (True, ("read", "invoices.issue"), ENTITY),
        "bank-feed": (False, ("payments.post",), ENTITY),
    }
    with pytest.raises(InvalidState, match="revoked on 2026-01-01 09:00"):
        ua.revoke_api_key(desk.uow(), ENTITY, "erp")
    with pytest.raises(NotFound, match="no API key named 'nope'"):
        ua.revoke_api_key(desk.uow(), ENTITY, "nope")
    actions = [r.action for r in ua_audit(desk)]
    assert actions == ["api_key_created", "api_key_created", "api_key_revoked"]


def ua_audit(book):
    with book.uow(read_only=True) as uow:
        return [e for e in uow.audit.events() if e.record_type == "api_key"]


def test_api_key_refusals(desk):
    with pytest.raises(InvalidInput) as refused:
        create(desk, scopes=("read", "everything"))
    assert "'everything' is not a scope; allowed: read, audit.read" in refused.value.reason
    with pytest.raises(InvalidInput, match="at least one scope"):
        create(desk, scopes=())
    with pytest.raises(InvalidInput, match="1 to 48 letters"):
        create(desk, name="has spaces")
    with pytest.raises(NotFound):
        create(desk, entity="NOPE")
    create(desk)
    with pytest.raises(InvalidState, match="has an API key named erp already"):
        create(desk)
    m.create_entity(desk.uow(), m.CreateEntity("BETA", "Beta AG", "DE", "EUR"))
    other = create(desk, entity="BETA")  # names are per entity
    assert ua.api_key_principal(desk.uow(), other.token).entities == {"BETA"}
    assert [k.name for k in ua.list_api_keys(desk.uow(), "BETA")] == ["erp"]


# the Idempotency-Key store


def request(book, key="k-1", principal="api_key:1", **extra):
    return {
        "principal": principal,
        "idem_key": key,
        "method": "POST",
        "path": "/v1/payments",
        "request_hash": "a" * 64,
        "created_at": book.clock.now(),
        **extra,
    }


def test_begin_returns_none_on_a_duplicate_and_the_transaction_goes_on(desk):
    with desk.uow() as uow:
        first = uow.api_requests.begin(request(desk))
        assert isinstance(first, int)
        assert uow.api_requests.begin(request(desk)) is None
        # the transaction is still usable: read, write more, commit
        assert uow.api_requests.get("api_key:1", "k-1").state == "in_flight"
        second = uow.api_requests.begin(request(desk, "k-2"))
        assert isinstance(second, int) and second != first
        other = uow.api_requests.begin(request(desk, principal="user:3"))  # per principal
        assert isinstance(other, int)
        uow.api_requests.finish(
            first,
            201,
            "application/json",
            '{"id": 7}',
            '{"Location": "/v1/payments/7"}',
            desk.clock.now(),
        )
        uow.commit()
    with desk.uow() as uow:
        done = uow.api_requests.get("api_key:1", "k-1")
        assert (done.state, done.status_code, done.content_type) == (
            "done",
            201,
            "application/json",
        )
        assert (done.body, done.headers) == ('{"id": 7}', '{"Location": "/v1/payments/7"}')
        assert done.finished_at is not None
        assert uow.api_requests.begin(request(desk)) is None
        uow.api_requests.release(second)
        uow.commit()
    with desk.uow() as uow:
        assert uow.api_requests.get("api_key:1", "k-2") is None
        assert isinstance(uow.api_requests.begin(request(desk, "k-2")), int)  # may retry
        uow.commit()


def test_a_duplicate_inside_a_larger_transaction_keeps_its_other_writes(desk):
    with desk.uow() as uow:
        uow.api_requests.begin(request(desk))
        uow.commit()
    with desk.uow() as uow:
        uow.access.put_setting("probe", "1")
        assert uow.api_requests.begin(request(desk)) is None
        uow.commit()
    with desk.uow() as uow:
        assert uow.access.setting("probe") == "1"


def test_reclaim_takes_over_an_abandoned_request_once(desk):
    with desk.uow() as uow:
        request_id = uow.api_requests.begin(request(desk))
        uow.commit()
    desk.clock.advance(minutes=10)
    now = desk.clock.now()
    fresh = {"request_hash": "b" * 64, "created_at": now}
    with desk.uow() as uow:
        # not older than the bound: stays with its first owner
        assert not uow.api_requests.reclaim(request_id, fresh, older_than=now - timedelta(hours=1))
        assert uow.api_requests.reclaim(request_id, fresh, older_than=now - timedelta(minutes=5))
        # a second reclaim with the same bound finds a fresh row
        assert not uow.api_requests.reclaim(
            request_id, fresh, older_than=now - timedelta(minutes=5)
        )
        uow.commit()
    with desk.uow() as uow:
        row = uow.api_requests.get("api_key:1", "k-1")
        assert (row.state, row.request_hash) == ("in_flight", "b" * 64)
        uow.api_requests.finish(request_id, 200, None, None, None, now)
        assert not uow.api_requests.reclaim(request_id, fresh)  # done: never reclaimed
        uow.commit()
