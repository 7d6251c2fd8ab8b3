"""The pure rules of webhooks: the back-off schedule, the decision after an attempt, endpoint
URLs, event names and the shape of the body."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbill.domain.rejections import InvalidInput, InvariantError
from openbill.domain.webhooks import (
    ATTEMPTS_MAX,
    JITTER_PERMILLE_MAX,
    RETRY_DELAY_MAX_S,
    SUBSCRIBABLE,
    DisputeRecord,
    DocumentRecord,
    EventType,
    PaymentRecord,
    Verdict,
    check_url,
    decide,
    event_body,
    parse_events,
    retry_delay_s,
    schedule_s,
)

jitters = st.lists(
    st.integers(0, JITTER_PERMILLE_MAX), min_size=ATTEMPTS_MAX - 1, max_size=ATTEMPTS_MAX - 1
)
DAY_S = 24 * 3600


def test_the_schedule_without_jitter_by_hand():
    # 60 s times 3 per retry: 60, 180, 540, 1620, 4860, 14580; then 43740 capped at 12 h.
    assert schedule_s() == (60, 180, 540, 1620, 4860, 14580, 43200)
    # Seven waits between eight attempts: 18 h 4 min, "about a day".
    assert sum(schedule_s()) == 65040


def test_the_schedule_with_the_most_jitter_by_hand():
    # Each wait 25 % longer (integer seconds, rounded down), the last one still capped.
    most = schedule_s([JITTER_PERMILLE_MAX] * (ATTEMPTS_MAX - 1))
    assert most == (75, 225, 675, 2025, 6075, 18225, 43200)


@given(jitters)
def test_the_schedule_increases_and_stays_within_bounds_for_any_jitter(draws):
    waits = schedule_s(draws)
    assert len(waits) == ATTEMPTS_MAX - 1
    assert all(a < b for a, b in zip(waits, waits[1:], strict=False))
    assert all(0 < w <= RETRY_DELAY_MAX_S for w in waits)
    assert 18 * 3600 <= sum(waits) <= DAY_S  # spread over about a day, never more


@given(st.integers(1, ATTEMPTS_MAX - 1), st.integers(0, JITTER_PERMILLE_MAX))
def test_jitter_only_ever_lengthens_a_wait_by_at_most_a_quarter(retry_no, jitter):
    plain = retry_delay_s(retry_no, 0)
    stretched = retry_delay_s(retry_no, jitter)
    assert plain <= stretched <= plain * 5 // 4


def test_out_of_range_retries_and_jitters_are_bugs():
    for retry_no, jitter in ((0, 0), (ATTEMPTS_MAX, 0), (1, -1), (1, JITTER_PERMILLE_MAX + 1)):
        with pytest.raises(InvariantError):
            retry_delay_s(retry_no, jitter)


@given(st.integers(200, 299), st.integers(1, ATTEMPTS_MAX), st.integers(0, JITTER_PERMILLE_MAX))
def test_2xx_is_delivered_on_any_attempt(code, attempt, jitter):
    assert decide(code, attempt, jitter).verdict is Verdict.DELIVERED


@given(st.integers(1, ATTEMPTS_MAX), st.integers(0, JITTER_PERMILLE_MAX))
def test_410_disables_on_any_attempt(attempt, jitter):
    assert decide(410, attempt, jitter).verdict is Verdict.GONE


codes_that_retry = st.one_of(
    st.none(), st.integers(100, 199), st.integers(300, 409), st.integers(411, 599)
)


@given(codes_that_retry, st.integers(1, ATTEMPTS_MAX - 1), st.integers(0, JITTER_PERMILLE_MAX))
def test_anything_else_retries_after_the_schedule_until_the_last_attempt(code, attempt, jitter):
    decision = decide(code, attempt, jitter)
    assert decision.verdict is Verdict.RETRY
    assert decision.delay_s == retry_delay_s(attempt, jitter)


@given(codes_that_retry, st.integers(0, JITTER_PERMILLE_MAX))
def test_the_last_attempt_fails_for_good(code, jitter):
    assert decide(code, ATTEMPTS_MAX, jitter).verdict is Verdict.FAILED


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/openbill",
        "https://hooks.example.com:8443/in?source=openbill",
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]:9000/hook",
    ],
)
def test_urls_accepted(url):
    assert check_url(f"  {url} ") == url


@pytest.mark.parametrize(
    "url, why",
    [
        ("", "give the URL"),
        ("hooks.example.com/in", "must start with https://"),
        ("ftp://hooks.example.com/in", "must start with https://"),
        ("http://hooks.example.com/in", "use https"),
        ("http://10.0.0.5/in", "use https"),
        ("https://user:pw@hooks.example.com/in", "no user name or password"),
        ("https://hooks.example.com/in#part", "no #fragment"),
        ("https://hooks.example.com/a b", "no spaces"),
        ("https://hooks.example.com:http/in", "not a URL"),
        ("https://" + "a" * 2050 + ".example", "at most 2048"),
    ],
)
def test_urls_refused_with_the_reason(url, why):
    with pytest.raises(InvalidInput, match=why) as refused:
        check_url(url)
    assert refused.value.field == "url"


def test_event_names():
    assert parse_events(["payment.received", " Invoice.Paid "]) == (
        EventType.INVOICE_PAID,
        EventType.PAYMENT_RECEIVED,
    )
    assert parse_events(["all"]) == SUBSCRIBABLE
    assert EventType.PING not in SUBSCRIBABLE
    for wrong in (["invoice.voided"], ["ping"], []):
        with pytest.raises(InvalidInput) as refused:
            parse_events(wrong)
        assert refused.value.field == "events"


def test_the_body_of_an_invoice_event_by_hand():
    record = DocumentRecord(
        number="INV-2026-000001",
        kind="invoice",
        customer="C1",
        customer_name="Alpha GmbH",
        currency="EUR",
        issue_date=date(2026, 1, 1),
        due_date=date(2026, 1, 31),
        net_minor=2500,
        tax_minor=475,
        total_minor=2975,
        open_minor=2975,
    )
    created = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    body = event_body(
        "evt_1", EventType.INVOICE_ISSUED, created, "ACME", {"invoice": record.as_json()}
    )
    assert body == (
        b'{"id":"evt_1","type":"invoice.issued","created":"2026-01-01T10:00:00Z",'
        b'"entity":"ACME","data":{"invoice":{"number":"INV-2026-000001","kind":"invoice",'
        b'"customer":{"code":"C1","name":"Alpha GmbH"},"currency":"EUR",'
        b'"issue_date":"2026-01-01","due_date":"2026-01-31","net":"25.00","tax":"4.75",'
        b'"total":"29.75","open":"29.75","buyer_reference":""}}}'
    )


@given(st.integers(-(10**12), 10**12), st.sampled_from(["EUR", "JPY", "KWD"]))
def test_amounts_in_bodies_are_decimal_strings_never_numbers(minor, currency):
    payment = PaymentRecord(1, "C1", currency, minor, 0, date(2026, 1, 1), "sepa", "", ())
    dispute = DisputeRecord(
        "DSP-000001", "INV-1", None, "C1", "price", "open", currency, minor, "anna", date.today()
    )
    for record in (payment, dispute):
        data = json.loads(
            event_body("evt_1", EventType.PING, datetime.now(UTC), "ACME", {"r": record.as_json()})
        )["data"]["r"]
        money = [v for k, v in data.items() if k in ("amount", "allocated", "unapplied")]
        assert money and all(isinstance(v, str) for v in money)
        # The text is exact: parsed back into minor units it gives the same integer.
        places = {"EUR": 2, "JPY": 0, "KWD": 3}[currency]
        assert int(money[0].replace(".", "")) == minor and (
            places == 0 or len(money[0].rsplit(".", 1)[1]) == places
        )


def test_event_times_must_be_aware():
    with pytest.raises(InvariantError):
        event_body("evt_1", EventType.PING, datetime(2026, 1, 1), "ACME", {})
