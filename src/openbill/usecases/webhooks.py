"""Outgoing webhooks: endpoints, emitting events, delivery runs, retries.

**Endpoints.** An administrator registers a URL for a legal entity and the events it wants
(`add_endpoint`); openbill makes its signing secret (`whsec_...`), shown once, and again only
when rotated (`rotate_secret`, which keeps signing with the old secret as well for an overlap
so that receivers can switch without losing an event). Every change is in the audit trail,
never with a secret.

**Emitting** (a transactional outbox). The use cases that cause an event call one of the
hooks below inside their own unit of work: `document_issued` (invoice.issued,
credit_note.issued: every way a document is issued goes through `invoices._issue`),
`invoice_settled` after an allocation or a payment's small-difference write-off (invoice.paid
when the open amount reached zero and credit notes did not void it), `payment_received`,
`dispute_opened`, `dispute_resolved`. Each first looks up, in the master-data cache, whether an
enabled endpoint of the entity subscribes to the event; when none does, that lookup is all it
costs. Otherwise it writes the event (its body frozen) and one delivery per endpoint, in the
caller's transaction: a use case that is refused or rolled back emits nothing. Each event
has a dedupe key, unique per entity and type, so that it is written once.
`invoice.overdue` is about time, not about a change: `scan_overdue` emits it once per invoice
and due date, for invoices that fell due in the last OVERDUE_SCAN_DAYS days.

**Delivering** (`deliver_due`). A run takes the due deliveries one at a time: it claims one
(a conditional update; of two runs one wins) and commits, then POSTs the body with the
`Openbill-Event`, `Openbill-Delivery` (the event id) and `Openbill-Signature` headers, then
records the attempt and what follows (`domain.webhooks.decide`): delivered, retried after the
back-off, failed after ATTEMPTS_MAX attempts, or, on 410, failed with the endpoint disabled.
A delivery whose claim is older than SENDING_LEASE_S belongs to a run that died: it is sent
again (receivers de-duplicate on `Openbill-Delivery`; webhooks are at least once).
"""

from __future__ import annotations

import logging
import secrets as secrets_module
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from openbill.domain.rejections import InvalidInput, InvalidState, NotFound, PreconditionFailed
from openbill.domain.webhooks import (
    ATTEMPTS_MAX,
    DELIVERY_HEADER,
    EVENT_HEADER,
    JITTER_PERMILLE_MAX,
    SECRET_PREFIX,
    SIGNATURE_HEADER,
    DisputeRecord,
    DocumentRecord,
    EventType,
    PaymentRecord,
    Verdict,
    check_url,
    decide,
    event_body,
    parse_events,
    signature_header,
)
from openbill.ports import UnitOfWork
from openbill.usecases._support import audit, entity_by_code, revision

__all__ = [
    "AddEndpoint",
    "ChangeEndpoint",
    "DeliveryReport",
    "DeliveryView",
    "DeliveryDetail",
    "AttemptView",
    "EndpointView",
    "EndpointCreated",
    "SecretRotated",
    "SendResult",
    "TestResult",
    "WebhookRequest",
    "WebhookSender",
    "add_endpoint",
    "change_endpoint",
    "deliver_due",
    "dispute_opened",
    "dispute_resolved",
    "document_issued",
    "invoice_settled",
    "list_deliveries",
    "list_endpoints",
    "payment_received",
    "retry_deliveries",
    "rotate_secret",
    "scan_overdue",
    "send_test",
    "show_delivery",
    "show_endpoint",
]

log = logging.getLogger(__name__)

# Bounds (DESIGN.md principle 8).
ENDPOINTS_PER_ENTITY_MAX = 20
DESCRIPTION_CHARS_MAX = 200
REASON_CHARS_MAX = 300
ROTATION_OVERLAP_S = 24 * 3600  # how long the previous secret still signs, by default
ROTATION_OVERLAP_MAX_S = 7 * 24 * 3600
DELIVER_BATCH_MAX = 500  # deliveries one run takes
# Far longer than one request may take (the sender's total timeout is 10 seconds): a delivery
# `sending` for longer belongs to a run that stopped, and is sent again.
SENDING_LEASE_S = 300
STALE_BATCH_MAX = 1_000
ERROR_TEXT_MAX = 500
OVERDUE_SCAN_DAYS = 7  # invoices that fell due this many days back are still announced
OVERDUE_SCAN_MAX = 5_000  # events one scan writes; the next scan goes on
RETRY_BATCH_MAX = 1_000  # deliveries one `retry` requeues
ATTEMPTS_SHOWN_MAX = 100
LIST_ROWS_MAX = 1_000

# Statuses of a delivery (see adapters/sql/tables_webhooks.py).
PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"
STATUSES = (PENDING, SENDING, DELIVERED, FAILED)


# ---------------------------------------------------------------------------------------------
# The sender port (it moves to openbill.ports with the mailer's once both are part of the core)


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    url: str
    body: bytes
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class SendResult:
    """What one POST learnt: the status code (None: no answer: timeout, refused connection,
    TLS failure), how long it took, and an error text (empty after a 2xx)."""

    status_code: int | None
    duration_ms: int
    error: str = ""


class WebhookSender(Protocol):
    """POSTs one request and says what happened, as a value: a timeout or a refused
    connection is a result, not an exception."""

    def send(self, request: WebhookRequest) -> SendResult: ...


# ---------------------------------------------------------------------------------------------
# Small helpers


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else _utc(moment).isoformat(timespec="seconds")


def _new_secret() -> str:
    return SECRET_PREFIX + secrets_module.token_urlsafe(32)


def _new_event_id() -> str:
    return "evt_" + secrets_module.token_hex(16)


def _jitter() -> int:
    return secrets_module.randbelow(JITTER_PERMILLE_MAX + 1)


def _shorten(text: str, hide: Sequence[str] = ()) -> str:
    for secret in hide:
        if secret:
            text = text.replace(secret, "[secret]")
    text = " ".join(text.split())
    return text if len(text) <= ERROR_TEXT_MAX else text[: ERROR_TEXT_MAX - 1] + "…"


def _record(endpoint_id: int) -> str:
    return f"webhook endpoint {endpoint_id}"


# ---------------------------------------------------------------------------------------------
# Endpoints


@dataclass(frozen=True, slots=True)
class EndpointView:
    id: int
    entity: str
    url: str
    description: str
    events: tuple[str, ...]
    enabled: bool
    disabled_reason: str
    created_at: str
    created_by: str
    updated_at: str
    secret_rotated_at: str
    previous_secret_until: str  # while the previous secret still signs, else ""
    revision: str  # changes whenever the endpoint does (the API's ETag); not of the secret
    deliveries: tuple[tuple[str, int], ...] = ()  # (status, count)


@dataclass(frozen=True, slots=True)
class EndpointCreated:
    endpoint: EndpointView
    secret: str  # shown once: keep it now


@dataclass(frozen=True, slots=True)
class SecretRotated:
    endpoint: EndpointView
    secret: str  # the new secret, shown once
    previous_valid_until: str  # until when the old one still signs too ("" : no longer)


@dataclass(frozen=True, slots=True)
class AddEndpoint:
    entity: str
    url: str
    events: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True, slots=True)
class ChangeEndpoint:
    """The fields to change; None leaves a field as it is."""

    entity: str
    endpoint_id: int
    url: str | None = None
    events: tuple[str, ...] | None = None
    description: str | None = None
    enabled: bool | None = None
    reason: str = ""  # why it is disabled (shown in lists)
    if_match: str = ""  # the revision the change is based on; "" : no check


def _view(
    row: Any, entity_code: str, now: datetime, counts: Mapping[str, int] | None = None
) -> EndpointView:
    """An endpoint row (the repository never reads the secrets into it) as shown."""
    until = row.previous_secret_until
    still = until is not None and _utc(until) > _utc(now)
    return EndpointView(
        id=int(row.id),
        entity=entity_code,
        url=row.url,
        description=row.description,
        events=tuple(str(row.events).split()),
        enabled=bool(row.enabled),
        disabled_reason=row.disabled_reason,
        created_at=_iso(row.created_at),
        created_by=row.created_by,
        updated_at=_iso(row.updated_at),
        secret_rotated_at=_iso(row.secret_rotated_at),
        previous_secret_until=_iso(until) if still else "",
        revision=revision(row),
        deliveries=tuple(sorted((counts or {}).items())),
    )


def _endpoint(uow: UnitOfWork, entity: Any, endpoint_id: int, *, lock: bool = False) -> Any:
    row = uow.webhooks.endpoint(endpoint_id, lock=lock)
    if row is None or row.entity_id != entity.id:
        raise NotFound(
            f"{entity.code} has no webhook endpoint {endpoint_id}",
            record="webhook endpoint",
            field="id",
        )
    return row


def _description(text: str, record: str) -> str:
    value = " ".join(text.split())
    if len(value) > DESCRIPTION_CHARS_MAX:
        raise InvalidInput(
            f"a description has at most {DESCRIPTION_CHARS_MAX} characters",
            record=record,
            field="description",
        )
    return value


def add_endpoint(uow: UnitOfWork, cmd: AddEndpoint) -> EndpointCreated:
    record = "webhook endpoint"
    url = check_url(cmd.url, record)
    events = parse_events(cmd.events, record)
    description = _description(cmd.description, record)
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        if uow.webhooks.count_endpoints(entity.id) >= ENDPOINTS_PER_ENTITY_MAX:
            raise InvalidState(
                f"{entity.code} has {ENDPOINTS_PER_ENTITY_MAX} webhook endpoints, the most "
                "allowed; change or reuse one (a disabled endpoint can be given a new URL)",
                record=record,
                field="url",
            )
        now = uow.clock.now()
        secret = _new_secret()
        values = {
            "entity_id": entity.id,
            "url": url,
            "description": description,
            "events": " ".join(e.value for e in events),
            "enabled": True,
            "disabled_reason": "",
            "previous_secret": None,
            "previous_secret_until": None,
            "secret_rotated_at": None,
            "created_at": now,
            "created_by": uow.actor,
            "updated_at": now,
        }
        endpoint_id = uow.webhooks.add_endpoint({**values, "secret": secret})
        shown = {k: values[k] for k in ("url", "description", "events", "enabled")}
        audit(
            uow, entity.id, "webhook.endpoint_added", "webhook_endpoint", endpoint_id, None, shown
        )
        row = uow.webhooks.endpoint(endpoint_id)
        view = _view(row, entity.code, now)
        uow.commit()
    return EndpointCreated(view, secret)


def change_endpoint(uow: UnitOfWork, cmd: ChangeEndpoint) -> EndpointView:
    record = _record(cmd.endpoint_id)
    url = None if cmd.url is None else check_url(cmd.url, record)
    events = None if cmd.events is None else parse_events(cmd.events, record)
    description = None if cmd.description is None else _description(cmd.description, record)
    reason = " ".join(cmd.reason.split())
    if len(reason) > REASON_CHARS_MAX:
        raise InvalidInput(
            f"a reason has at most {REASON_CHARS_MAX} characters", record=record, field="reason"
        )
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        row = _endpoint(uow, entity, cmd.endpoint_id, lock=True)
        now = uow.clock.now()
        if cmd.if_match and cmd.if_match != _view(row, entity.code, now).revision:
            raise PreconditionFailed(
                f"webhook endpoint {cmd.endpoint_id} was changed since you read it; read it "
                "again and repeat the change",
                record=record,
            )
        wanted: dict[str, Any] = {}
        if url is not None:
            wanted["url"] = url
        if events is not None:
            wanted["events"] = " ".join(e.value for e in events)
        if description is not None:
            wanted["description"] = description
        if cmd.enabled is not None:
            wanted["enabled"] = cmd.enabled
            wanted["disabled_reason"] = "" if cmd.enabled else (reason or f"by {uow.actor}")
        changed = {k: v for k, v in wanted.items() if getattr(row, k) != v}
        if changed:
            uow.webhooks.update_endpoint(row.id, {**changed, "updated_at": now})
            before = {k: getattr(row, k) for k in changed}
            action = "webhook.endpoint_changed"
            if set(changed) <= {"enabled", "disabled_reason"} and "enabled" in changed:
                action = "webhook.endpoint_enabled" if cmd.enabled else "webhook.endpoint_disabled"
            audit(uow, entity.id, action, "webhook_endpoint", row.id, before, changed)
            row = uow.webhooks.endpoint(row.id)
        view = _view(row, entity.code, now, uow.webhooks.counts(row.id))
        uow.commit()
    return view


def rotate_secret(
    uow: UnitOfWork, entity_code: str, endpoint_id: int, overlap_s: int = ROTATION_OVERLAP_S
) -> SecretRotated:
    """A new secret for the endpoint. During `overlap_s` seconds every request is signed with
    the new and the old secret (two `v1=`), so that the receiver can switch without a gap;
    0 ends the old secret at once (a leaked secret)."""
    record = _record(endpoint_id)
    if not 0 <= overlap_s <= ROTATION_OVERLAP_MAX_S:
        raise InvalidInput(
            f"the overlap is 0 to {ROTATION_OVERLAP_MAX_S // 3600} hours",
            record=record,
            field="overlap",
        )
    with uow:
        entity = entity_by_code(uow, entity_code)
        row = _endpoint(uow, entity, endpoint_id, lock=True)
        now = uow.clock.now()
        old = uow.webhooks.secrets(row.id)
        secret = _new_secret()
        until = _utc(now) + timedelta(seconds=overlap_s) if overlap_s else None
        uow.webhooks.set_secret(
            row.id,
            {
                "secret": secret,
                "previous_secret": old.secret if until else None,
                "previous_secret_until": until,
                "secret_rotated_at": now,
                "updated_at": now,
            },
        )
        audit(
            uow,
            entity.id,
            "webhook.secret_rotated",
            "webhook_endpoint",
            row.id,
            None,
            {"previous_secret_until": _iso(until) or None},
        )
        view = _view(uow.webhooks.endpoint(row.id), entity.code, now)
        uow.commit()
    return SecretRotated(view, secret, _iso(until))


def list_endpoints(uow: UnitOfWork, entity_code: str) -> list[EndpointView]:
    with uow:
        entity = entity_by_code(uow, entity_code)
        now = uow.clock.now()
        rows = uow.webhooks.endpoints(entity.id, ENDPOINTS_PER_ENTITY_MAX)
        return [_view(r, entity.code, now, uow.webhooks.counts(r.id)) for r in rows]


def show_endpoint(uow: UnitOfWork, entity_code: str, endpoint_id: int) -> EndpointView:
    with uow:
        entity = entity_by_code(uow, entity_code)
        row = _endpoint(uow, entity, endpoint_id)
        return _view(row, entity.code, uow.clock.now(), uow.webhooks.counts(row.id))


# ---------------------------------------------------------------------------------------------
# Emitting (called by other use cases inside their unit of work)


def _emit(
    uow: UnitOfWork,
    entity_id: int,
    event: EventType,
    key: str,
    subject: str,
    data: Callable[[], Mapping[str, Any]],
    endpoints: Sequence[int] | None = None,
    attempts_left: int = ATTEMPTS_MAX,
    may_exist: bool = False,
) -> str | None:
    """Write the event and a delivery per subscribed endpoint; the event id, or None when
    nobody subscribes or (`may_exist`) the event was written before (same dedupe key)."""
    targets = (
        uow.webhooks.subscriptions(entity_id).get(event.value, ())
        if endpoints is None
        else tuple(endpoints)
    )
    if not targets:
        return None
    now = uow.clock.now()
    event_id = _new_event_id()
    body = event_body(event_id, event, _utc(now), uow.webhooks.entity_code(entity_id), data())
    values = {
        "event_id": event_id,
        "entity_id": entity_id,
        "event_type": event.value,
        "dedupe_key": key[:200],
        "subject": subject[:100],
        "payload": body.decode(),
        "created_at": now,
    }
    deliveries = [
        {
            "endpoint_id": endpoint_id,
            "entity_id": entity_id,
            "status": PENDING,
            "attempts": 0,
            "attempts_left": attempts_left,
            "next_attempt_at": now,
            "last_error": "",
            "created_at": now,
        }
        for endpoint_id in targets
    ]
    if uow.webhooks.add_event(values, deliveries, may_exist=may_exist) is None:
        return None
    return event_id


def _subscribed(uow: UnitOfWork, entity_id: int, event: EventType) -> bool:
    return bool(uow.webhooks.subscriptions(entity_id).get(event.value))


def _document_record(uow: UnitOfWork, doc: Mapping[str, Any], customer: Any) -> DocumentRecord:
    """The record of a document, from its stored values (a row's mapping, or the values the
    issue just wrote) and its customer."""
    credited = ""
    if doc["kind"] == "credit_note" and doc.get("credited_document_id") is not None:
        credited = uow.documents.get(doc["credited_document_id"]).number
    invoice = doc["kind"] == "invoice"
    return DocumentRecord(
        number=doc["number"],
        kind=doc["kind"],
        customer=customer.code,
        customer_name=customer.name,
        currency=doc["currency"],
        issue_date=doc["document_date"],
        due_date=doc["due_date"] if invoice else None,
        net_minor=int(doc["net_minor"]),
        tax_minor=int(doc["tax_minor"]),
        total_minor=int(doc["total_minor"]),
        open_minor=int(uow.ledger.document_open(doc["id"])) if invoice else 0,
        buyer_reference=doc.get("buyer_reference") or "",
        credited_invoice=credited,
    )


def _stored(uow: UnitOfWork, document_id: int) -> tuple[Mapping[str, Any], Any]:
    doc = uow.documents.get(document_id)._mapping
    return doc, uow.customers.get(doc["customer_id"])


def document_issued(
    uow: UnitOfWork, entity_id: int, customer: Any, values: Mapping[str, Any]
) -> None:
    """invoice.issued or credit_note.issued, once per document. `values` are what the issue
    wrote (number, kind, dates, totals ..., and `id`), so nothing is read back."""
    kind = str(values["kind"])
    event = EventType.INVOICE_ISSUED if kind == "invoice" else EventType.CREDIT_NOTE_ISSUED
    if not _subscribed(uow, entity_id, event):
        return
    record = _document_record(uow, values, customer)
    _emit(
        uow,
        entity_id,
        event,
        str(values["id"]),
        record.number,
        lambda: {kind: record.as_json()},
    )


def invoice_settled(uow: UnitOfWork, entity_id: int, invoice_id: int, cause: str) -> None:
    """invoice.paid when the invoice has nothing open any more. Call it after each allocation
    to an invoice (a payment, customer credit, a credit note) and after a write-off that is
    part of a payment (a small difference, an early-payment discount); `cause` names that
    record ("allocation:17"), which makes the event once-only. An invoice that credit notes
    cover in full is void, not paid: no event."""
    if not _subscribed(uow, entity_id, EventType.INVOICE_PAID):
        return
    if int(uow.ledger.document_open(invoice_id)) != 0:
        return
    doc, customer = _stored(uow, invoice_id)
    if doc["kind"] != "invoice":
        return
    total = int(doc["total_minor"])
    if total > 0 and int(uow.documents.credited_total(invoice_id)) >= total:
        return
    record = _document_record(uow, doc, customer)
    _emit(
        uow,
        entity_id,
        EventType.INVOICE_PAID,
        f"{invoice_id}:{cause}",
        record.number,
        lambda: {"invoice": record.as_json()},
    )


def payment_received(
    uow: UnitOfWork,
    entity_id: int,
    payment_id: int,
    allocated_minor: int,
    invoices: Sequence[str],
) -> None:
    """payment.received, once per payment, with what it paid."""
    if not _subscribed(uow, entity_id, EventType.PAYMENT_RECEIVED):
        return
    payment = uow.money.payment(payment_id)
    customer = uow.customers.get(payment.customer_id)
    record = PaymentRecord(
        id=int(payment.id),
        customer=customer.code,
        currency=payment.currency,
        amount_minor=int(payment.amount_minor),
        allocated_minor=int(allocated_minor),
        received_on=payment.received_on,
        method=payment.method,
        reference=payment.reference or "",
        invoices=tuple(invoices),
    )
    _emit(
        uow,
        entity_id,
        EventType.PAYMENT_RECEIVED,
        str(payment_id),
        f"payment {payment_id}",
        lambda: {"payment": record.as_json()},
    )


def _dispute_record(uow: UnitOfWork, case: Any) -> DisputeRecord:
    resolution = uow.disputes.resolution(case.id) if case.resolution else None
    adjusted = case.adjusted_minor
    return DisputeRecord(
        case=case.case_no,
        invoice=case.invoice_number,
        line=case.line_no,
        customer=case.customer_code,
        reason=case.reason,
        status=case.status,
        currency=case.currency,
        amount_minor=int(case.amount_minor),
        owner=case.owner,
        opened_on=case.opened_on,
        due_on=case.due_on,
        closed_on=case.closed_on,
        resolution=case.resolution or "",
        credit_note=(resolution.credit_note_number or "") if resolution else "",
        rebill_invoice=(resolution.rebill_number or "") if resolution else "",
        adjusted_minor=None if adjusted is None else int(adjusted),
    )


def _dispute_event(uow: UnitOfWork, entity_id: int, case_no: str, event: EventType) -> None:
    if not _subscribed(uow, entity_id, event):
        return
    case = uow.disputes.case(entity_id, case_no)
    record = _dispute_record(uow, case)
    _emit(
        uow,
        entity_id,
        event,
        str(case.id),
        case.case_no,
        lambda: {"dispute": record.as_json()},
    )


def dispute_opened(uow: UnitOfWork, entity_id: int, case_no: str) -> None:
    _dispute_event(uow, entity_id, case_no, EventType.DISPUTE_OPENED)


def dispute_resolved(uow: UnitOfWork, entity_id: int, case_no: str) -> None:
    """dispute.resolved when a case closes: by credit note, re-bill or rejection (a closed
    case never opens again, so once per case)."""
    _dispute_event(uow, entity_id, case_no, EventType.DISPUTE_RESOLVED)


def _overdue_data(record: DocumentRecord, days: int) -> Callable[[], Mapping[str, Any]]:
    return lambda: {"invoice": record.as_json(), "days_overdue": days}


def scan_overdue(uow: UnitOfWork, limit: int = OVERDUE_SCAN_MAX) -> int:
    """invoice.overdue for every issued invoice still open the day after its due date, once
    per invoice and due date, for the entities with an endpoint subscribed to it. Only
    invoices that fell due in the last OVERDUE_SCAN_DAYS days are announced (a new endpoint is
    not flooded with the book's old debts; a scan missed for a few days catches up). Returns
    the events written; idempotent."""
    written = 0
    limit = max(0, min(limit, OVERDUE_SCAN_MAX))
    with uow:
        today = uow.clock.today()
        since = today - timedelta(days=OVERDUE_SCAN_DAYS)
        for entity_id in uow.webhooks.subscribed_entities(EventType.INVOICE_OVERDUE.value):
            if written >= limit:
                break
            rows = uow.webhooks.overdue_candidates(entity_id, today, since, limit - written)
            for row in rows:
                doc, customer = _stored(uow, row.id)
                due: date = doc["due_date"]
                made = _emit(
                    uow,
                    entity_id,
                    EventType.INVOICE_OVERDUE,
                    f"{row.id}:{due.isoformat()}",
                    row.number,
                    _overdue_data(_document_record(uow, doc, customer), (today - due).days),
                    may_exist=True,
                )
                written += made is not None
        uow.commit()
    return written


# ---------------------------------------------------------------------------------------------
# Delivering


@dataclass
class DeliveryReport:
    delivered: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    disabled_endpoints: list[int] = field(default_factory=list)  # by a 410
    resumed: list[int] = field(default_factory=list)  # claims of stopped runs, sent again
    due: int = 0


@dataclass(frozen=True, slots=True)
class _Claim:
    delivery_id: int
    endpoint_id: int
    attempt_no: int
    attempt_in_round: int
    started_at: datetime
    request: WebhookRequest
    secrets: tuple[str, ...]


def deliver_due(
    uows: Callable[[], UnitOfWork],
    sender: WebhookSender,
    *,
    only: Sequence[int] = (),
    limit: int = DELIVER_BATCH_MAX,
    jitter: Callable[[], int] = _jitter,
    progress: Callable[[int, int], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> DeliveryReport:
    """Send the deliveries due now, one transaction per step. `only` restricts the run to
    those deliveries (still only when due); `progress(done, total)` is told after each;
    `jitter()` gives the thousandths of back-off stretch (0 to JITTER_PERMILLE_MAX); when
    `stop()` says so the run ends before its next delivery (the rest stay due)."""
    report = DeliveryReport()
    with uows() as uow:
        now = uow.clock.now()
        report.resumed += _resume_stale(uow, now)
        due = uow.webhooks.due(now, tuple(only), max(0, min(limit, DELIVER_BATCH_MAX)))
        uow.commit()
    report.due = len(due)
    for done, delivery_id in enumerate(due, start=1):
        if stop is not None and stop():
            break
        claim = _claim(uows(), delivery_id)
        if claim is not None:
            try:
                result = sender.send(claim.request)
            except Exception as exc:
                # The sender's contract is to return results; an exception is a bug in it.
                # Record the attempt (it will be retried), then fail loudly.
                text = f"{type(exc).__name__}: {exc}"
                _finish(uows(), claim, SendResult(None, 0, text), report, jitter)
                raise
            _finish(uows(), claim, result, report, jitter)
        if progress is not None:
            progress(done, len(due))
    return report


def _resume_stale(uow: UnitOfWork, now: datetime) -> list[int]:
    """Deliveries `sending` for longer than the lease: their run stopped. Record the attempt
    as abandoned and make them due again (at least once: the receiver de-duplicates)."""
    moment = _utc(now) - timedelta(seconds=SENDING_LEASE_S)
    resumed = []
    for row in uow.webhooks.sending_since_before(moment, STALE_BATCH_MAX):
        attempt_no = int(row.attempts)
        if not uow.webhooks.has_attempt(row.id, attempt_no):
            uow.webhooks.add_attempt(
                {
                    "delivery_id": row.id,
                    "attempt_no": attempt_no,
                    "started_at": row.claimed_at,
                    "duration_ms": 0,
                    "status_code": None,
                    "outcome": "abandoned",
                    "error": "the delivery run stopped before it learnt the outcome; sent again",
                }
            )
        values: dict[str, Any] = {"status": PENDING, "next_attempt_at": now}
        if int(row.attempts_left) <= 0:
            values["attempts_left"] = 1  # one more try for the attempt that never finished
        if uow.webhooks.finish(row.id, attempt_no, values):
            resumed.append(int(row.id))
            log.warning("webhook delivery %s: its run stopped; due again", row.id)
    return resumed


def _signing_secrets(row: Any, now: datetime) -> tuple[str, ...]:
    out = [str(row.secret)]
    until = row.previous_secret_until
    if row.previous_secret and until is not None and _utc(until) > _utc(now):
        out.append(str(row.previous_secret))
    return tuple(out)


def _claim(uow: UnitOfWork, delivery_id: int) -> _Claim | None:
    """Take the delivery for one attempt and commit, so that no other run sends it while
    this one does."""
    with uow:
        now = uow.clock.now()
        if not uow.webhooks.claim(delivery_id, now):
            return None  # another run took it, or it is no longer due
        row = uow.webhooks.delivery(delivery_id)
        keys = _signing_secrets(uow.webhooks.secrets(row.endpoint_id), now)
        uow.commit()
    body = str(row.payload).encode()
    timestamp = int(_utc(now).timestamp())
    headers = (
        ("Content-Type", "application/json"),
        (EVENT_HEADER, str(row.event_type)),
        (DELIVERY_HEADER, str(row.event_key)),
        (SIGNATURE_HEADER, signature_header(keys, timestamp, body)),
    )
    return _Claim(
        delivery_id=delivery_id,
        endpoint_id=int(row.endpoint_id),
        attempt_no=int(row.attempts),
        attempt_in_round=ATTEMPTS_MAX - int(row.attempts_left),
        started_at=now,
        request=WebhookRequest(str(row.url), body, headers),
        secrets=keys,
    )


def _finish(
    uow: UnitOfWork,
    claim: _Claim,
    result: SendResult,
    report: DeliveryReport,
    jitter: Callable[[], int],
) -> None:
    code = result.status_code
    error = _shorten(result.error, claim.secrets)
    if code is not None and not 200 <= code < 300 and not error:
        error = f"HTTP {code}"
    decision = decide(code, max(1, min(claim.attempt_in_round, ATTEMPTS_MAX)), jitter())
    with uow:
        now = uow.clock.now()
        values: dict[str, Any] = {"last_status_code": code, "last_error": error}
        if decision.verdict is Verdict.DELIVERED:
            values.update(status=DELIVERED, delivered_at=now, last_error="")
        elif decision.verdict is Verdict.RETRY:
            assert decision.delay_s is not None
            values.update(
                status=PENDING,
                next_attempt_at=_utc(now) + timedelta(seconds=decision.delay_s),
            )
        elif decision.verdict is Verdict.GONE:
            values.update(
                status=FAILED,
                last_error="410 Gone: the receiver asked for no more events; endpoint disabled",
            )
        else:
            values.update(status=FAILED)
        held = uow.webhooks.finish(claim.delivery_id, claim.attempt_no, values)
        if held or not uow.webhooks.has_attempt(claim.delivery_id, claim.attempt_no):
            uow.webhooks.add_attempt(
                {
                    "delivery_id": claim.delivery_id,
                    "attempt_no": claim.attempt_no,
                    "started_at": claim.started_at,
                    "duration_ms": max(0, int(result.duration_ms)),
                    "status_code": code,
                    "outcome": decision.verdict.value,
                    "error": error if decision.verdict is not Verdict.DELIVERED else "",
                }
            )
        if not held:
            log.warning(
                "webhook delivery %s: attempt %s finished after its claim was taken over",
                claim.delivery_id,
                claim.attempt_no,
            )
        elif decision.verdict is Verdict.GONE:
            _disable_gone(uow, claim.endpoint_id, report)
        uow.commit()
    if held:
        {
            Verdict.DELIVERED: report.delivered,
            Verdict.RETRY: report.retrying,
            Verdict.FAILED: report.failed,
            Verdict.GONE: report.failed,
        }[decision.verdict].append(claim.delivery_id)
    log.info(
        "webhook delivery %s: attempt %s %s", claim.delivery_id, claim.attempt_no, decision.verdict
    )


def _disable_gone(uow: UnitOfWork, endpoint_id: int, report: DeliveryReport) -> None:
    row = uow.webhooks.endpoint(endpoint_id, lock=True)
    if row is None or not row.enabled:
        return
    reason = "the receiver answered 410 Gone"
    uow.webhooks.update_endpoint(
        endpoint_id, {"enabled": False, "disabled_reason": reason, "updated_at": uow.clock.now()}
    )
    audit(
        uow,
        row.entity_id,
        "webhook.endpoint_disabled",
        "webhook_endpoint",
        endpoint_id,
        {"enabled": True},
        {"enabled": False, "disabled_reason": reason},
    )
    report.disabled_endpoints.append(endpoint_id)


# ---------------------------------------------------------------------------------------------
# Test event, retries


@dataclass(frozen=True, slots=True)
class TestResult:
    delivery_id: int
    event_id: str
    status: str  # delivered or failed
    status_code: int | None
    duration_ms: int
    error: str


def send_test(
    uows: Callable[[], UnitOfWork], sender: WebhookSender, entity_code: str, endpoint_id: int
) -> TestResult:
    """Send a `ping` event to one endpoint now, once (no retries), and say how it went."""
    with uows() as uow:
        entity = entity_by_code(uow, entity_code)
        row = _endpoint(uow, entity, endpoint_id)
        if not row.enabled:
            raise InvalidState(
                f"webhook endpoint {endpoint_id} is disabled ({row.disabled_reason}); enable "
                "it, then test it",
                record=_record(endpoint_id),
                field="enabled",
            )
        event_id = _new_event_id()
        made = _emit(
            uow,
            entity.id,
            EventType.PING,
            event_id,
            f"endpoint {endpoint_id}",
            lambda: {"endpoint": endpoint_id, "message": "a test event from openbill"},
            endpoints=(endpoint_id,),
            attempts_left=1,
        )
        delivery_id = uow.webhooks.deliveries_of_event(str(made))[0]
        audit(
            uow,
            entity.id,
            "webhook.test_sent",
            "webhook_endpoint",
            endpoint_id,
            None,
            {"event_id": made},
        )
        uow.commit()
    deliver_due(uows, sender, only=(delivery_id,))
    with uows() as uow:
        shown = uow.webhooks.delivery(delivery_id)
        attempts = uow.webhooks.attempts(delivery_id, ATTEMPTS_SHOWN_MAX)
    last = attempts[-1] if attempts else None
    return TestResult(
        delivery_id,
        str(made),
        str(shown.status),
        None if last is None or last.status_code is None else int(last.status_code),
        0 if last is None else int(last.duration_ms),
        "" if last is None else str(last.error),
    )


def retry_deliveries(
    uow: UnitOfWork,
    entity_code: str,
    delivery_ids: Sequence[int] = (),
    *,
    all_failed: bool = False,
    endpoint_id: int | None = None,
) -> list[int]:
    """Make failed deliveries due again, with a new round of attempts: the ones named, or with
    `all_failed` every failed one of the entity (of one endpoint). Returns their ids."""
    if not delivery_ids and not all_failed:
        raise InvalidInput("name the deliveries to retry, or ask for all failed ones")
    if len(delivery_ids) > RETRY_BATCH_MAX:
        raise InvalidInput(f"retry at most {RETRY_BATCH_MAX} deliveries at once", field="ids")
    with uow:
        entity = entity_by_code(uow, entity_code)
        if endpoint_id is not None:
            _endpoint(uow, entity, endpoint_id)
        now = uow.clock.now()
        ids = list(delivery_ids)
        if all_failed:
            rows = uow.webhooks.deliveries(
                entity.id, limit=RETRY_BATCH_MAX, status=FAILED, endpoint_id=endpoint_id
            )
            ids += [int(r.id) for r in rows if int(r.id) not in ids]
        done = []
        for delivery_id in ids:
            row = uow.webhooks.delivery(delivery_id)
            record = f"webhook delivery {delivery_id}"
            if row is None or row.entity_id != entity.id:
                raise NotFound(
                    f"{entity.code} has no webhook delivery {delivery_id}", record=record
                )
            if row.status != FAILED:
                raise InvalidState(
                    f"delivery {delivery_id} is {row.status}; only failed deliveries are retried",
                    record=record,
                    field="status",
                )
            values = {"status": PENDING, "attempts_left": ATTEMPTS_MAX, "next_attempt_at": now}
            if not uow.webhooks.requeue(delivery_id, FAILED, values):
                raise InvalidState(
                    f"delivery {delivery_id} changed while being retried; look again",
                    record=record,
                    field="status",
                )
            audit(
                uow,
                entity.id,
                "webhook.delivery_requeued",
                "webhook_delivery",
                delivery_id,
                {"status": FAILED},
                {"status": PENDING},
            )
            done.append(delivery_id)
        uow.commit()
    return done


# ---------------------------------------------------------------------------------------------
# Listings


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: int
    event_id: str
    event_type: str
    subject: str  # the record's number (or the payment's id)
    endpoint_id: int
    url: str
    status: str
    attempts: int
    next_attempt_at: str  # when pending
    delivered_at: str
    last_status_code: int | None
    last_error: str
    created_at: str


@dataclass(frozen=True, slots=True)
class AttemptView:
    attempt_no: int
    started_at: str
    duration_ms: int
    status_code: int | None
    outcome: str
    error: str


@dataclass(frozen=True, slots=True)
class DeliveryDetail:
    delivery: DeliveryView
    attempts: tuple[AttemptView, ...]
    payload: str  # the body sent (the API does not show it: it is a billing record)


def _delivery_view(row: Any) -> DeliveryView:
    return DeliveryView(
        id=int(row.id),
        event_id=str(row.event_key),
        event_type=str(row.event_type),
        subject=str(row.subject),
        endpoint_id=int(row.endpoint_id),
        url=str(row.url),
        status=str(row.status),
        attempts=int(row.attempts),
        next_attempt_at=_iso(row.next_attempt_at) if row.status == PENDING else "",
        delivered_at=_iso(row.delivered_at),
        last_status_code=None if row.last_status_code is None else int(row.last_status_code),
        last_error=str(row.last_error),
        created_at=_iso(row.created_at),
    )


def list_deliveries(
    uow: UnitOfWork,
    entity_code: str,
    *,
    limit: int = 50,
    after_id: int = 0,
    newest_first: bool = False,
    status: str = "",
    endpoint_id: int | None = None,
    event_type: str = "",
) -> list[DeliveryView]:
    if status and status not in STATUSES:
        raise InvalidInput(
            f"{status!r} is not one of {', '.join(STATUSES)}", record="deliveries", field="status"
        )
    if event_type and event_type not in {e.value for e in EventType}:
        raise InvalidInput(f"{event_type!r} is not an event", record="deliveries", field="event")
    with uow:
        entity = entity_by_code(uow, entity_code)
        rows = uow.webhooks.deliveries(
            entity.id,
            limit=max(1, min(limit, LIST_ROWS_MAX)),
            after_id=after_id,
            newest_first=newest_first,
            status=status,
            endpoint_id=endpoint_id,
            event_type=event_type,
        )
    return [_delivery_view(r) for r in rows]


def show_delivery(uow: UnitOfWork, entity_code: str, delivery_id: int) -> DeliveryDetail:
    with uow:
        entity = entity_by_code(uow, entity_code)
        row = uow.webhooks.delivery(delivery_id)
        if row is None or row.entity_id != entity.id:
            raise NotFound(
                f"{entity.code} has no webhook delivery {delivery_id}",
                record="webhook delivery",
                field="id",
            )
        attempts = uow.webhooks.attempts(delivery_id, ATTEMPTS_SHOWN_MAX)
    return DeliveryDetail(
        _delivery_view(row),
        tuple(
            AttemptView(
                int(a.attempt_no),
                _iso(a.started_at),
                int(a.duration_ms),
                None if a.status_code is None else int(a.status_code),
                str(a.outcome),
                str(a.error),
            )
            for a in attempts
        ),
        str(row.payload),
    )
