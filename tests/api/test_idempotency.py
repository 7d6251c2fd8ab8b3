"""Idempotency-Key on POST: a replay returns the first response and runs nothing again; other
content under the same key is 422; a request still running is 409; a refusal frees the key."""

from __future__ import annotations

import json

from fixtures_book import row_counts

from openbill.interfaces.api.idempotency import IN_FLIGHT_MAX_S, request_digest

from .conftest import ENTITY

URL = f"/v1/entities/{ENTITY}/payments"
PAYMENT = {"customer": "C1", "amount": "100.00", "reference": "wire 1"}
K1 = {"Idempotency-Key": "k-1"}


def _payments(desk) -> int:
    return row_counts(desk.book)["payments"]


def test_a_replay_returns_the_first_response_and_records_one_payment(desk):
    client = desk.client("specialist")
    first = client.post(URL, json=PAYMENT, headers=K1)
    assert first.status_code == 201
    again = client.post(URL, json=dict(reversed(PAYMENT.items())), headers=K1)
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert _payments(desk) == 1
    other = client.post(URL, json=PAYMENT, headers={"Idempotency-Key": "k-2"})
    assert other.json()["id"] != first.json()["id"] and _payments(desk) == 2


def test_the_same_key_with_other_content_is_422(desk):
    client = desk.client("specialist")
    client.post(URL, json=PAYMENT, headers=K1)
    reply = client.post(URL, json=PAYMENT | {"amount": "100.01"}, headers=K1)
    assert reply.status_code == 422
    assert (reply.json()["code"], reply.json()["field"]) == (
        "idempotency_conflict",
        "Idempotency-Key",
    )
    assert _payments(desk) == 1


def test_keys_belong_to_their_caller(desk):
    desk.client("specialist").post(URL, json=PAYMENT, headers=K1)
    reply = desk.client("manager").post(URL, json=PAYMENT, headers=K1)
    assert reply.status_code == 201 and "idempotent-replayed" not in reply.headers
    assert _payments(desk) == 2


def _hold(desk, key: str, body: dict) -> None:
    """A request of the specialist with `key` and `body` that began and has not finished."""
    digest = request_digest("POST", URL, "", json.dumps(body).encode())
    with desk.book.uow() as uow:
        user = uow.access.user_by_name("specialist")
        uow.api_requests.begin(
            {
                "principal": f"user:{user.id}",
                "idem_key": key,
                "method": "POST",
                "path": URL,
                "request_hash": digest,
                "state": "in_flight",
                "created_at": desk.book.clock.now(),
            }
        )
        uow.commit()


def test_a_request_still_in_flight_is_409_and_one_abandoned_is_taken_over(desk):
    client = desk.client("specialist")
    _hold(desk, "k-1", PAYMENT)
    held = client.post(URL, json=PAYMENT, headers=K1)
    assert held.status_code == 409, held.text
    assert held.json()["code"] == "in_flight" and held.headers["retry-after"] == "1"
    other = client.post(URL, json=PAYMENT | {"amount": "1.00"}, headers=K1)
    assert other.status_code == 422
    assert _payments(desk) == 0
    desk.book.clock.advance(seconds=IN_FLIGHT_MAX_S + 1)  # the first one never finished
    taken = client.post(URL, json=PAYMENT, headers=K1)
    assert taken.status_code == 201 and _payments(desk) == 1
    again = client.post(URL, json=PAYMENT, headers=K1)
    assert again.content == taken.content and _payments(desk) == 1


def test_a_refused_request_frees_its_key(desk):
    client = desk.client("specialist")
    bad = client.post(URL, json=PAYMENT | {"customer": "NOBODY"}, headers={"Idempotency-Key": "k"})
    assert bad.status_code == 404
    good = client.post(URL, json=PAYMENT | {"customer": "NOBODY"}, headers={"Idempotency-Key": "k"})
    assert good.status_code == 404 and "idempotent-replayed" not in good.headers


def test_a_key_must_be_printable_and_bounded(desk):
    client = desk.client("specialist")
    reply = client.post(URL, json=PAYMENT, headers={"Idempotency-Key": "x" * 201})
    assert reply.status_code == 422 and reply.json()["field"] == "Idempotency-Key"
    assert _payments(desk) == 0
