"""Outgoing webhooks, the pure part: the events an integrator can subscribe to and the shape of
their payloads, the signature scheme, the retry schedule and the decision after each attempt.

**Events.** Each event names what happened to one record (`invoice.issued`, `invoice.paid`,
`invoice.overdue`, `credit_note.issued`, `payment.received`, `dispute.opened`,
`dispute.resolved`); `ping` is the test event, sent only to the endpoint it tests. The body is
one JSON object, the same bytes on every attempt:

    {"id": "evt_...", "type": "invoice.issued", "created": "2026-03-01T09:00:00Z",
     "entity": "ACME", "data": {"invoice": {...}}}

Amounts in the record are decimal strings with the currency's places ("1190.00"), never JSON
numbers.

**Signature** (the scheme Stripe made familiar): the header

    Openbill-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

with one `v1=` per secret in use (two while a rotated secret is still honoured). The key is
the secret's text as UTF-8, prefix `whsec_` included. `openbill.webhook_signature.verify` is
the receiving side.

**Retries.** 2xx is delivered; 410 Gone means the receiver wants no more (the endpoint is
disabled); anything else (another status, a timeout, a refused connection) is tried again
after `retry_delay_s`, at most `ATTEMPTS_MAX` attempts per round, spread over about a day:
delays of 1, 3, 9, 27, 81 and 243 minutes and then 12 hours, each stretched by up to 25 %
of jitter (drawn by the caller and passed in, so that this stays a function).

Nothing here reads the clock, draws random numbers or does I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from openbill.domain.money import format_minor
from openbill.domain.rejections import InvalidInput, InvariantError

__all__ = [
    "EventType",
    "SUBSCRIBABLE",
    "Verdict",
    "Decision",
    "DocumentRecord",
    "PaymentRecord",
    "DisputeRecord",
    "ATTEMPTS_MAX",
    "RETRY_BASE_S",
    "RETRY_FACTOR",
    "RETRY_DELAY_MAX_S",
    "JITTER_PERMILLE_MAX",
    "SECRET_PREFIX",
    "SIGNATURE_HEADER",
    "EVENT_HEADER",
    "DELIVERY_HEADER",
    "PAYLOAD_BYTES_MAX",
    "URL_CHARS_MAX",
    "parse_events",
    "check_url",
    "is_loopback_host",
    "event_body",
    "signature",
    "signature_header",
    "retry_delay_s",
    "schedule_s",
    "decide",
]

# Bounds (DESIGN.md principle 8).
ATTEMPTS_MAX = 8  # attempts per round; then the delivery is failed until an operator retries
RETRY_BASE_S = 60  # the wait after the first failed attempt
RETRY_FACTOR = 3  # each further wait is this many times the one before ...
RETRY_DELAY_MAX_S = 12 * 3600  # ... up to this
JITTER_PERMILLE_MAX = 250  # a wait is stretched by 0 to 25 %, so that retries do not bunch
PAYLOAD_BYTES_MAX = 64 * 1024  # a record without its lines is a few hundred bytes
URL_CHARS_MAX = 2048

SECRET_PREFIX = "whsec_"
SIGNATURE_HEADER = "Openbill-Signature"
EVENT_HEADER = "Openbill-Event"
DELIVERY_HEADER = "Openbill-Delivery"
SIGNATURE_SCHEME = "v1"


class EventType(StrEnum):
    INVOICE_ISSUED = "invoice.issued"
    INVOICE_PAID = "invoice.paid"  # its open amount reached zero (not voided by credit notes)
    INVOICE_OVERDUE = "invoice.overdue"  # still open the day after its due date
    CREDIT_NOTE_ISSUED = "credit_note.issued"
    PAYMENT_RECEIVED = "payment.received"
    DISPUTE_OPENED = "dispute.opened"
    DISPUTE_RESOLVED = "dispute.resolved"  # closed: by credit note, re-bill or rejection
    PING = "ping"  # the test event of `openbill webhooks test`; nobody subscribes to it


SUBSCRIBABLE: tuple[EventType, ...] = tuple(e for e in EventType if e is not EventType.PING)


def parse_events(names: Iterable[str], record: str = "webhook endpoint") -> tuple[EventType, ...]:
    """The event types named (`all` for every one), each once, in the order of SUBSCRIBABLE."""
    wanted: set[EventType] = set()
    for raw in names:
        name = raw.strip().lower()
        if name in ("all", "*"):
            wanted.update(SUBSCRIBABLE)
            continue
        try:
            event = EventType(name)
        except ValueError:
            event = None
        if event is None or event is EventType.PING:
            options = ", ".join(e.value for e in SUBSCRIBABLE)
            raise InvalidInput(
                f"{raw!r} is not an event; choose from {options}, or all",
                record=record,
                field="events",
            )
        wanted.add(event)
    if not wanted:
        raise InvalidInput(
            "subscribe the endpoint to at least one event", record=record, field="events"
        )
    return tuple(e for e in SUBSCRIBABLE if e in wanted)


# ---------------------------------------------------------------------------------------------
# Endpoint URLs


def is_loopback_host(host: str) -> bool:
    """localhost, 127.0.0.0/8 and ::1: this machine, where plain http is allowed for testing."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(text: str, record: str = "webhook endpoint") -> str:
    """An endpoint URL as stored: https, or http to this machine only (for testing); no user
    name or password in it (it is shown in lists), no fragment."""
    url = text.strip()

    def no(reason: str) -> InvalidInput:
        return InvalidInput(reason, record=record, field="url")

    if not url:
        raise no("give the URL openbill should send events to")
    if len(url) > URL_CHARS_MAX:
        raise no(f"a URL has at most {URL_CHARS_MAX} characters")
    if any(c.isspace() or not c.isprintable() for c in url):
        raise no("a URL has no spaces or control characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port  # refuses a port that is not a number
    except ValueError as exc:
        raise no(f"not a URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not host:
        raise no("the URL must start with https:// and name a host")
    if scheme == "http" and not is_loopback_host(host):
        raise no("use https; plain http is only allowed to this machine (127.0.0.1, for tests)")
    if parts.username is not None or parts.password is not None:
        raise no("put no user name or password in the URL: receivers check the signature")
    if parts.fragment:
        raise no("a URL for webhooks has no #fragment")
    return url


# ---------------------------------------------------------------------------------------------
# Records and the body


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """An issued invoice or credit note as the payload shows it (without its lines: an
    integrator reads those through the API)."""

    number: str
    kind: str  # invoice | credit_note
    customer: str  # the customer's code
    customer_name: str
    currency: str
    issue_date: date
    due_date: date | None
    net_minor: int
    tax_minor: int
    total_minor: int
    open_minor: int  # an invoice's open amount; not shown for a credit note
    buyer_reference: str = ""
    credited_invoice: str = ""  # a credit note: the invoice it corrects

    def as_json(self) -> dict[str, Any]:
        money = {
            "net": format_minor(self.net_minor, self.currency),
            "tax": format_minor(self.tax_minor, self.currency),
            "total": format_minor(self.total_minor, self.currency),
        }
        if self.kind == "invoice":  # what the customer still owes, when the event was made
            money["open"] = format_minor(self.open_minor, self.currency)
        out: dict[str, Any] = {
            "number": self.number,
            "kind": self.kind,
            "customer": {"code": self.customer, "name": self.customer_name},
            "currency": self.currency,
            "issue_date": self.issue_date.isoformat(),
            "due_date": _day(self.due_date),
            **money,
            "buyer_reference": self.buyer_reference,
        }
        if self.kind == "credit_note":
            out["credited_invoice"] = self.credited_invoice
        return out


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    id: int
    customer: str
    currency: str
    amount_minor: int
    allocated_minor: int  # what went to invoices; the rest is the customer's credit
    received_on: date
    method: str
    reference: str
    invoices: tuple[str, ...]  # the invoices it paid (in part or in full)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customer": self.customer,
            "currency": self.currency,
            "amount": format_minor(self.amount_minor, self.currency),
            "allocated": format_minor(self.allocated_minor, self.currency),
            "unapplied": format_minor(self.amount_minor - self.allocated_minor, self.currency),
            "received_on": self.received_on.isoformat(),
            "method": self.method,
            "reference": self.reference,
            "invoices": list(self.invoices),
        }


@dataclass(frozen=True, slots=True)
class DisputeRecord:
    case: str  # DSP-000001
    invoice: str
    line: int | None  # None: the whole invoice
    customer: str
    reason: str
    status: str
    currency: str
    amount_minor: int  # in dispute
    owner: str
    opened_on: date
    due_on: date | None = None
    closed_on: date | None = None
    resolution: str = ""  # credit_note | rebill | rejected, once closed
    credit_note: str = ""
    rebill_invoice: str = ""
    adjusted_minor: int | None = None  # what the resolution took off the debt

    def as_json(self) -> dict[str, Any]:
        adjusted = self.adjusted_minor
        return {
            "case": self.case,
            "invoice": self.invoice,
            "line": self.line,
            "customer": self.customer,
            "reason": self.reason,
            "status": self.status,
            "currency": self.currency,
            "amount": format_minor(self.amount_minor, self.currency),
            "owner": self.owner,
            "opened_on": self.opened_on.isoformat(),
            "due_on": _day(self.due_on),
            "closed_on": _day(self.closed_on),
            "resolution": self.resolution or None,
            "credit_note": self.credit_note or None,
            "rebill_invoice": self.rebill_invoice or None,
            "adjusted": None if adjusted is None else format_minor(adjusted, self.currency),
        }


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise InvariantError("event times are aware datetimes")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_body(
    event_id: str, event_type: EventType, created: datetime, entity: str, data: Mapping[str, Any]
) -> bytes:
    """The JSON body of an event: compact, UTF-8, keys in a fixed order. Stored once and sent
    byte for byte on every attempt, so that a signature is always over the same bytes."""
    body = json.dumps(
        {
            "id": event_id,
            "type": event_type.value,
            "created": _utc_text(created),
            "entity": entity,
            "data": dict(data),
        },
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode()
    if len(body) > PAYLOAD_BYTES_MAX:
        raise InvariantError(f"an event body of {len(body)} bytes exceeds {PAYLOAD_BYTES_MAX}")
    return body


# ---------------------------------------------------------------------------------------------
# Signature


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret's UTF-8 bytes."""
    if timestamp < 0:
        raise InvariantError("a signature timestamp is unix seconds, never negative")
    content = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def signature_header(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    """`t=<timestamp>,v1=<sig>[,v1=<sig of the previous secret>]`."""
    if not secrets:
        raise InvariantError("a webhook is signed with at least one secret")
    parts = [f"t={int(timestamp)}"]
    parts += [f"{SIGNATURE_SCHEME}={signature(s, timestamp, body)}" for s in secrets]
    return ",".join(parts)


# ---------------------------------------------------------------------------------------------
# Retries


def retry_delay_s(retry_no: int, jitter_permille: int) -> int:
    """Seconds to wait before retry number `retry_no` (1 after the first failed attempt):
    RETRY_BASE_S * RETRY_FACTOR ** (retry_no - 1), stretched by `jitter_permille` thousandths
    (0 to JITTER_PERMILLE_MAX), at most RETRY_DELAY_MAX_S. Integer arithmetic throughout.

    Increasing in `retry_no` whatever the jitter: the next nominal wait is 3 times this one,
    more than this one stretched by 25 %, and the cap is above every stretched wait before it.
    """
    if not 1 <= retry_no < ATTEMPTS_MAX:
        raise InvariantError(f"retry {retry_no} is outside 1..{ATTEMPTS_MAX - 1}")
    if not 0 <= jitter_permille <= JITTER_PERMILLE_MAX:
        raise InvariantError(f"jitter {jitter_permille} is outside 0..{JITTER_PERMILLE_MAX}")
    nominal: int = RETRY_BASE_S * int(RETRY_FACTOR ** (retry_no - 1))
    stretched = nominal * (1000 + jitter_permille) // 1000
    return min(stretched, RETRY_DELAY_MAX_S)


def schedule_s(jitters_permille: Sequence[int] = ()) -> tuple[int, ...]:
    """Every wait of one round (ATTEMPTS_MAX - 1 of them), with the given jitters (0 when
    missing)."""
    count = ATTEMPTS_MAX - 1
    jitters = list(jitters_permille) + [0] * (count - len(jitters_permille))
    return tuple(retry_delay_s(n, jitters[n - 1]) for n in range(1, count + 1))


class Verdict(StrEnum):
    DELIVERED = "delivered"  # 2xx
    RETRY = "retry"  # try again after the delay
    FAILED = "failed"  # the attempts of this round are used up; an operator may retry
    GONE = "gone"  # 410: the receiver asks for no more; the endpoint is disabled


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    delay_s: int | None = None  # for RETRY


def decide(status_code: int | None, attempt_in_round: int, jitter_permille: int) -> Decision:
    """What follows an attempt that got `status_code` (None: no answer at all: a timeout, a
    refused or broken connection, a TLS error). Redirects are not followed and count as
    failures, like any other status outside 2xx."""
    if not 1 <= attempt_in_round <= ATTEMPTS_MAX:
        raise InvariantError(f"attempt {attempt_in_round} is outside 1..{ATTEMPTS_MAX}")
    if status_code is not None and 200 <= status_code < 300:
        return Decision(Verdict.DELIVERED)
    if status_code == 410:
        return Decision(Verdict.GONE)
    if attempt_in_round >= ATTEMPTS_MAX:
        return Decision(Verdict.FAILED)
    return Decision(Verdict.RETRY, retry_delay_s(attempt_in_round, jitter_permille))
