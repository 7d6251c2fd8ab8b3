"""Delivery runs against a real HTTP receiver on loopback, which checks every request with
openbill.webhook_signature.verify: signed bodies, retries at the back-off times (a fixed
clock, moved by hand), failure after the last attempt and an operator's retry, 410 disabling
the endpoint, timeouts, claims that keep two runs from sending one attempt twice, and secrets
that never reach an attempt or the audit trail."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import httpx
import pytest
from fixtures_book import ENTITY, invoice
from sqlalchemy import text

from openbill.adapters.webhook_sender import RESPONSE_BYTES_MAX, HttpxSender, MemorySender
from openbill.domain.rejections import InvalidState
from openbill.domain.webhooks import ATTEMPTS_MAX, schedule_s
from openbill.usecases import webhooks as wh

from .conftest import add_endpoint, events


def _issue(book, qty="2"):
    return invoice(book, "C1", book.clock.today(), ("WIDGET", qty))


def _deliver(book, sender=None, jitter=0, **kw):
    sender = sender or HttpxSender()
    try:
        return wh.deliver_due(book.uow, sender, jitter=lambda: jitter, **kw)
    finally:
        if isinstance(sender, HttpxSender):
            sender.close()


def _delivery(book, delivery_id=1):
    return wh.show_delivery(book.uow(read_only=True), ENTITY, delivery_id)


@pytest.fixture
def receiving(book, receiver_for):
    """An endpoint on a receiver that knows its secret, and an invoice issued (one event)."""

    def make(*answers, events_=("invoice.issued",)):
        receiver = receiver_for([], book.clock.now, *answers)
        made = add_endpoint(book, *events_, url=receiver.url)
        receiver.secrets.append(made.secret)
        return receiver, made

    return make


def test_a_delivered_event_is_signed_and_carries_its_id(book, receiving):
    receiver, made = receiving(200)
    doc = _issue(book)
    report = _deliver(book)
    assert (report.delivered, report.retrying, report.failed) == ([1], [], [])
    [got] = receiver.arrived
    assert got.verified, got.why
    [event] = events(book)
    assert got.body == json.dumps(event.body, separators=(",", ":")).encode()
    assert got.headers["Openbill-Event"] == "invoice.issued"
    assert got.headers["Openbill-Delivery"] == event.event_id == json.loads(got.body)["id"]
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"].startswith("openbill-webhooks/")
    assert json.loads(got.body)["data"]["invoice"]["number"] == doc.number
    detail = _delivery(book)
    assert (detail.delivery.status, detail.delivery.attempts) == ("delivered", 1)
    [attempt] = detail.attempts
    assert (attempt.status_code, attempt.outcome, attempt.error) == (200, "delivered", "")
    assert _deliver(book).due == 0  # nothing is sent twice


def test_500_then_200_is_retried_at_the_back_off_time(book, receiving):
    receiver, _ = receiving(500, 200)
    _issue(book)
    start = book.clock.now()
    assert _deliver(book).retrying == [1]
    wait = schedule_s()[0]  # 60 s without jitter
    assert _delivery(book).delivery.next_attempt_at == (start + timedelta(seconds=wait)).isoformat()
    book.clock.advance(seconds=wait - 1)
    assert _deliver(book).due == 0 and len(receiver.arrived) == 1  # not yet
    book.clock.advance(seconds=1)
    assert _deliver(book).delivered == [1]
    assert [r.verified for r in receiver.arrived] == [True, True]
    attempts = _delivery(book).attempts
    assert [(a.attempt_no, a.status_code, a.outcome) for a in attempts] == [
        (1, 500, "retry"),
        (2, 200, "delivered"),
    ]
    assert attempts[0].error.startswith("HTTP 500")
    assert [a.started_at for a in attempts] == [
        start.isoformat(),
        (start + timedelta(seconds=wait)).isoformat(),
    ]


def test_every_attempt_at_its_time_then_failed_then_retried_by_an_operator(book, receiving):
    """A receiver down for a day: eight attempts at the back-off times with the most jitter
    (75 s, 225 s, ... by hand in test_rules.py), then failed; an operator's retry starts a new
    round."""
    receiver, made = receiving(503)
    _issue(book)
    start = book.clock.now()
    waits = schedule_s([250] * (ATTEMPTS_MAX - 1))
    for wait in waits:
        assert _deliver(book, jitter=250).retrying == [1]
        book.clock.advance(seconds=wait - 1)
        assert _deliver(book, jitter=250).due == 0
        book.clock.advance(seconds=1)
    assert _deliver(book, jitter=250).failed == [1]
    assert len(receiver.arrived) == ATTEMPTS_MAX and all(r.verified for r in receiver.arrived)
    detail = _delivery(book)
    assert detail.delivery.status == "failed" and detail.delivery.next_attempt_at == ""
    offsets, at = [0], 0
    for wait in waits:
        at += wait
        offsets.append(at)
    assert [a.started_at for a in detail.attempts] == [
        (start + timedelta(seconds=s)).isoformat() for s in offsets
    ]
    assert [a.outcome for a in detail.attempts] == ["retry"] * (ATTEMPTS_MAX - 1) + ["failed"]
    book.clock.advance(hours=1)
    assert _deliver(book).due == 0  # failed stays failed

    receiver.answers = [200]
    assert wh.retry_deliveries(book.uow(), ENTITY, (1,)) == [1]
    with pytest.raises(InvalidState, match="only failed deliveries"):
        wh.retry_deliveries(book.uow(), ENTITY, (1,))
    assert _deliver(book).delivered == [1]
    assert _delivery(book).delivery.attempts == ATTEMPTS_MAX + 1
    with book.uow(read_only=True) as uow:
        actions = [e.action for e in uow.audit.events()]
    assert actions.count("webhook.delivery_requeued") == 1


def test_410_fails_the_delivery_and_disables_the_endpoint(book, receiving):
    receiver, made = receiving(410, 200)
    _issue(book)
    _issue(book, qty="1")
    report = _deliver(book, limit=1)
    assert (report.failed, report.disabled_endpoints) == ([1], [made.endpoint.id])
    detail = _delivery(book)
    assert detail.attempts[0].outcome == "gone" and detail.delivery.status == "failed"
    view = wh.show_endpoint(book.uow(read_only=True), ENTITY, made.endpoint.id)
    assert (view.enabled, view.disabled_reason) == (False, "the receiver answered 410 Gone")
    # The other delivery waits; new events are not written for a disabled endpoint.
    assert _deliver(book).due == 0
    _issue(book)
    assert len(events(book)) == 2
    assert len(receiver.arrived) == 1
    wh.change_endpoint(book.uow(), wh.ChangeEndpoint(ENTITY, made.endpoint.id, enabled=True))
    assert _deliver(book).delivered == [2]
    with book.uow(read_only=True) as uow:
        disabled = [e for e in uow.audit.events() if e.action == "webhook.endpoint_disabled"]
    assert len(disabled) == 1 and "410" in (disabled[0].after or "")


def test_a_receiver_that_does_not_answer_times_out_and_is_retried(book, receiving):
    receiving("hang")
    _issue(book)
    report = _deliver(book, HttpxSender(timeout_s=0.5))
    assert report.retrying == [1]
    [attempt] = _delivery(book).attempts
    assert attempt.status_code is None and attempt.outcome == "retry"
    assert "no answer within 0.5 s" in attempt.error


def test_a_refused_connection_and_a_redirect_are_retried(book, receiver_for):
    add_endpoint(book, "invoice.issued", url="http://127.0.0.1:1/hook")  # nothing listens
    redirecting = receiver_for([], book.clock.now, 302)
    made = add_endpoint(book, "invoice.issued", url=redirecting.url)
    redirecting.secrets.append(made.secret)
    _issue(book)
    report = _deliver(book)
    assert sorted(report.retrying) == [1, 2]
    refused, redirected = _delivery(book, 1).attempts[0], _delivery(book, 2).attempts[0]
    assert refused.status_code is None and "ConnectError" in refused.error
    assert redirected.status_code == 302 and len(redirecting.arrived) == 1


def test_the_answer_is_read_only_so_far():
    """A receiver that answers an endless body: at most RESPONSE_BYTES_MAX are read."""
    chunks_read = []

    def endless():
        while True:
            chunks_read.append(1)
            yield b"x" * 1024

    transport = httpx.MockTransport(lambda request: httpx.Response(500, content=endless()))
    with HttpxSender(transport=transport) as sender:
        result = sender.send(wh.WebhookRequest("https://hooks.example/in", b"{}", ()))
    assert result.status_code == 500
    assert len(chunks_read) <= RESPONSE_BYTES_MAX // 1024 + 1
    assert result.error == "HTTP 500 Internal Server Error: " + "x" * 200  # the excerpt kept


def test_a_claimed_delivery_is_not_sent_by_another_run(book):
    add_endpoint(book, "invoice.issued")
    _issue(book)
    claim = wh._claim(book.uow(), 1)  # run A took it and is sending
    assert claim is not None and claim.attempt_no == 1
    other = MemorySender()
    assert _deliver(book, other).due == 0 and other.sent == []
    assert wh._claim(book.uow(), 1) is None  # nobody claims it twice
    wh._finish(book.uow(), claim, wh.SendResult(200, 3), wh.DeliveryReport(), lambda: 0)
    assert _delivery(book).delivery.status == "delivered"


def test_a_claim_left_by_a_stopped_run_is_sent_again_once(book):
    add_endpoint(book, "invoice.issued")
    _issue(book)
    stale = wh._claim(book.uow(), 1)
    book.clock.advance(seconds=wh.SENDING_LEASE_S - 1)
    assert _deliver(book, MemorySender()).due == 0  # still within its lease
    book.clock.advance(seconds=2)
    sender = MemorySender()
    report = _deliver(book, sender)
    assert (report.resumed, report.delivered, len(sender.sent)) == ([1], [1], 1)
    # The stopped run comes back: its late result changes nothing and records nothing twice.
    late = wh.DeliveryReport()
    wh._finish(book.uow(), stale, wh.SendResult(500, 3, "HTTP 500"), late, lambda: 0)
    assert late.retrying == [] and late.failed == []
    detail = _delivery(book)
    assert detail.delivery.status == "delivered"
    assert [(a.attempt_no, a.outcome) for a in detail.attempts] == [
        (1, "abandoned"),
        (2, "delivered"),
    ]


def test_two_runs_at_once_send_each_delivery_exactly_once(book, receiver_for):
    receiver = receiver_for([], book.clock.now, 200)
    made = add_endpoint(book, "invoice.issued", url=receiver.url)
    receiver.secrets.append(made.secret)
    for _ in range(12):
        _issue(book, qty="1")
    reports: list[wh.DeliveryReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            reports.append(_deliver(book))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    delivered = sorted(d for r in reports for d in r.delivered)
    assert delivered == list(range(1, 13))
    ids = [r.headers["Openbill-Delivery"] for r in receiver.arrived]
    assert len(ids) == 12 and len(set(ids)) == 12 and all(r.verified for r in receiver.arrived)


def test_during_a_rotation_both_secrets_sign_then_only_the_new_one(book, receiver_for):
    old_only = receiver_for([], book.clock.now, 200)
    made = add_endpoint(book, "invoice.issued", url=old_only.url)
    old_only.secrets.append(made.secret)
    rotated = wh.rotate_secret(book.uow(), ENTITY, made.endpoint.id, overlap_s=3600)
    assert rotated.secret != made.secret and rotated.secret.startswith("whsec_")
    assert rotated.previous_valid_until == "2026-01-01T10:00:00+00:00"
    _issue(book)
    _deliver(book)
    [got] = old_only.arrived
    assert got.verified and got.headers["Openbill-Signature"].count("v1=") == 2
    # The receiver switches to the new secret; the old one stops signing after the overlap.
    old_only.secrets[:] = [rotated.secret]
    book.clock.advance(seconds=3601)
    _issue(book)
    _deliver(book)
    second = old_only.arrived[1]
    assert second.verified and second.headers["Openbill-Signature"].count("v1=") == 1
    wh.rotate_secret(book.uow(), ENTITY, made.endpoint.id, overlap_s=0)  # a leaked secret
    _issue(book)
    _deliver(book)
    assert not old_only.arrived[2].verified


def test_secrets_never_reach_attempts_audit_or_listings(book):
    made = add_endpoint(book, "invoice.issued")
    rotated = wh.rotate_secret(book.uow(), ENTITY, made.endpoint.id)
    keys = (made.secret, rotated.secret)

    def echoing(request):
        # A receiver (or a proxy) that echoes what it can: the error text gets it back.
        return wh.SendResult(400, 1, f"HTTP 400: bad secret {keys[0]} / {keys[1]}")

    _issue(book)
    _deliver(book, MemorySender(answers=[echoing]))
    with book.engine.connect() as conn:
        stored = [
            conn.execute(text(f"SELECT * FROM {table}")).all()
            for table in (
                "webhook_attempts",
                "webhook_deliveries",
                "audit_events",
                "webhook_events",
            )
        ]
    everything = repr(stored)
    assert "[secret]" in everything
    assert all(k not in everything for k in keys)
    views = wh.list_endpoints(book.uow(read_only=True), ENTITY)
    assert all(k not in repr(views) for k in keys)


def test_a_sender_that_raises_is_a_bug_recorded_then_raised(book):
    add_endpoint(book, "invoice.issued")
    _issue(book)

    def broken(request):
        raise RuntimeError("the sender is broken")

    with pytest.raises(RuntimeError, match="broken"):
        _deliver(book, MemorySender(answers=[broken]))
    [attempt] = _delivery(book).attempts
    assert (attempt.status_code, attempt.outcome) == (None, "retry")
    assert "RuntimeError: the sender is broken" in attempt.error


def test_a_test_event_is_tried_once(book, receiver_for):
    receiver = receiver_for([], book.clock.now, 500)
    made = add_endpoint(book, "invoice.paid", url=receiver.url)
    receiver.secrets.append(made.secret)
    with HttpxSender() as sender:
        result = wh.send_test(book.uow, sender, ENTITY, made.endpoint.id)
    assert (result.status, result.status_code) == ("failed", 500)
    [got] = receiver.arrived
    assert got.verified and got.headers["Openbill-Event"] == "ping"
    assert json.loads(got.body)["data"] == {
        "endpoint": made.endpoint.id,
        "message": "a test event from openbill",
    }
    receiver.answers = [204]
    with HttpxSender() as sender:
        again = wh.send_test(book.uow, sender, ENTITY, made.endpoint.id)
    assert (again.status, again.status_code) == ("delivered", 204)
    book.clock.advance(days=2)
    assert _deliver(book).due == 0  # the failed ping is not retried
