"""Sending documents by e-mail through an outbox.

Queuing writes the message, with its attachments frozen as bytes, in the transaction of the
caller, at most once per (document, purpose): asking again returns the first message. A
delivery run takes the due messages one at a time and, for each, first marks it `sending` and
commits; only then does it talk to the SMTP server, and afterwards it records the attempt and
marks the message `sent`, schedules a retry with exponential back-off (transient refusals, a
bounded number of attempts) or marks it `failed` (permanent refusals).

A message still `sending` after the longest possible SMTP conversation belongs to a run that
crashed or lost its connection after the data went out: whether the server took it is unknown.
It is never resent automatically, because nothing may be sent twice; it is shown as `unknown`
until a person requeues it on purpose (`retry`). Every attempt is recorded with its times,
outcome and the server's reply or the error; no secret ever reaches the outbox tables.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from openbill.domain.money import format_minor
from openbill.domain.rejections import InvalidInput, InvalidState, NotFound, PreconditionFailed
from openbill.ports import UnitOfWork
from openbill.usecases._support import (
    MAX_LIST_ROWS,
    audit,
    customer_by_code,
    document_by_number,
    entity_by_code,
    revision,
)

__all__ = [
    "Attachment",
    "AttachXml",
    "DeliveryReport",
    "DocumentRenderer",
    "Envelope",
    "MailUnitOfWork",
    "Mailer",
    "MessageStatus",
    "Outcome",
    "QueueDocument",
    "Queued",
    "SendResult",
    "SetMailPreferences",
    "backoff_delay",
    "deliver_due",
    "enqueue_document",
    "enqueue_message",
    "list_attempts",
    "list_outbox",
    "mail_preferences",
    "message_id_for",
    "preferences_revision",
    "queue_document",
    "retry",
    "set_mail_preferences",
]

log = logging.getLogger(__name__)

# Bounds (DESIGN.md principle 8).
ATTEMPTS_PER_ROUND_MAX = 6  # transient refusals in a row before a message is `failed`
RETRY_DELAY_BASE_S = 60  # the first retry waits this long, each further one twice as long
RETRY_DELAY_MAX_S = 6 * 3600
DELIVER_BATCH_MAX = 500  # messages one delivery run takes
# Longer than any SMTP conversation can last (adapters.mail bounds every socket operation by
# its timeout and a conversation has a dozen round trips): a message `sending` for longer
# belongs to a run that died, and its outcome is unknown.
SENDING_LEASE_S = 600
ATTACHMENT_BYTES_MAX = 15 * 1024 * 1024
RECIPIENTS_MAX = 10
ERROR_TEXT_MAX = 2_000

DOCUMENT_PURPOSE = "document"


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"


class Outcome(StrEnum):
    """What one delivery attempt learnt."""

    SENT = "sent"  # the server accepted the message (2xx after the data)
    TRANSIENT = "transient"  # refused for now (4xx, no connection): nothing went out, retry
    PERMANENT = "permanent"  # refused for good (5xx): nothing went out, do not retry
    UNKNOWN = "unknown"  # the data may have gone out but no reply came: never resend by itself


class AttachXml(StrEnum):
    NONE = "none"
    UBL = "ubl"
    CII = "cii"


# Ports of this module (they move to openbill.ports once the outbox is part of the core).


class MailUnitOfWork(UnitOfWork, Protocol):
    outbox: Any


class DocumentRenderer(Protocol):
    """Renders an issued document; called inside the caller's unit of work."""

    def pdf(self, uow: UnitOfWork, entity_code: str, number: str) -> bytes: ...

    def xml(self, uow: UnitOfWork, entity_code: str, number: str, syntax: str) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message as the mailer sends it."""

    message_id: str
    mail_from: str
    to: tuple[str, ...]
    subject: str
    body: str
    date: datetime
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    smtp_code: int | None
    detail: str


class Mailer(Protocol):
    """Sends one envelope and says what happened, as a value: an SMTP refusal, a lost
    connection and a timeout are outcomes, not exceptions."""

    def send(self, envelope: Envelope) -> SendResult: ...


# Pure helpers.


def backoff_delay(attempt_in_round: int) -> timedelta:
    """The wait after the `attempt_in_round`-th transient refusal: 1, 2, 4 ... minutes, capped."""
    if attempt_in_round < 1:
        raise ValueError("attempts are counted from 1")
    seconds = RETRY_DELAY_BASE_S * 2 ** (attempt_in_round - 1)
    return timedelta(seconds=min(seconds, RETRY_DELAY_MAX_S))


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_ADDRESS = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")


def message_id_for(entity_code: str, number: str, purpose: str, sender: str) -> str:
    """The Message-ID of a document's message: the same on every attempt, so that a receiver
    that sees it twice (after a deliberate retry) can tell it is one message."""
    domain = sender.rpartition("@")[2] or "openbill.invalid"
    local = ".".join(_UNSAFE.sub("-", part) for part in ("openbill", entity_code, number, purpose))
    return f"<{local}@{_UNSAFE.sub('-', domain)}>"


def parse_addresses(text: str, record: str, field_name: str) -> tuple[str, ...]:
    addresses = tuple(a.strip() for a in re.split(r"[,;]", text) if a.strip())
    for address in addresses:
        if not _ADDRESS.match(address):
            raise InvalidInput(
                f"{address!r} is not an e-mail address", record=record, field=field_name
            )
    if len(addresses) > RECIPIENTS_MAX:
        raise InvalidInput(
            f"at most {RECIPIENTS_MAX} recipients per message", record=record, field=field_name
        )
    return addresses


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# Delivery preferences.


@dataclass(frozen=True, slots=True)
class SetMailPreferences:
    entity: str
    customer: str
    email_to: str | None = None  # None: unchanged; "": the customer's own address
    attach_xml: str | None = None  # None: unchanged; none | ubl | cii
    if_match: str = ""  # the revision the change was based on (preferences_revision); empty: any


def preferences_revision(row: Any | None) -> str:
    """The revision of a customer's stored mail preferences (the API's ETag); "defaults" while
    none were saved."""
    return revision(row) if row is not None else "defaults"


@dataclass(frozen=True, slots=True)
class MailPreferences:
    customer: str
    email_to: str  # the override, "" when the customer's own address is used
    customer_email: str
    attach_xml: str


def set_mail_preferences(uow: MailUnitOfWork, cmd: SetMailPreferences) -> MailPreferences:
    record = f"customer {cmd.customer}"
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        customer = customer_by_code(uow, entity.id, cmd.customer)
        row = uow.outbox.preferences(customer.id)
        if cmd.if_match and preferences_revision(row) != cmd.if_match:
            raise PreconditionFailed(
                "the mail preferences were changed by someone else since you read them; "
                "read them again and repeat your change",
                record=record,
            )
        before = {"email_to": row.email_to, "attach_xml": row.attach_xml} if row else None
        email_to = (row.email_to if row else "") if cmd.email_to is None else cmd.email_to
        attach = (row.attach_xml if row else "none") if cmd.attach_xml is None else cmd.attach_xml
        if attach not in {a.value for a in AttachXml}:
            raise InvalidInput(
                f"{attach!r} is not one of none, ubl, cii", record=record, field="attach_xml"
            )
        email_to = ", ".join(parse_addresses(email_to, record, "email_to"))
        after = {"email_to": email_to, "attach_xml": attach}
        uow.outbox.save_preferences(customer.id, {**after, "updated_at": uow.clock.now()})
        audit(uow, entity.id, "mail.preferences_set", "customer", customer.id, before, after)
        uow.commit()
        return MailPreferences(customer.code, email_to, customer.email or "", attach)


def mail_preferences(uow: MailUnitOfWork, entity_code: str) -> list[MailPreferences]:
    with uow:
        entity = entity_by_code(uow, entity_code)
        out = []
        for customer in uow.customers.all(entity.id):
            row = uow.outbox.preferences(customer.id)
            out.append(
                MailPreferences(
                    customer.code,
                    row.email_to if row else "",
                    customer.email or "",
                    row.attach_xml if row else AttachXml.NONE.value,
                )
            )
        return out


# Queuing.


@dataclass(frozen=True, slots=True)
class QueueDocument:
    entity: str
    number: str
    sender: str = ""  # the From address; "" takes the legal entity's e-mail
    purpose: str = DOCUMENT_PURPOSE


@dataclass(frozen=True, slots=True)
class Queued:
    id: int
    created: bool  # False: the document was queued before, this is that message
    status: str
    to: str
    attachments: tuple[str, ...] = ()


def queue_document(uow: MailUnitOfWork, cmd: QueueDocument, renderer: DocumentRenderer) -> Queued:
    """Queue an issued document for sending, in its own transaction."""
    with uow:
        queued = enqueue_document(uow, cmd, renderer)
        uow.commit()
        return queued


def enqueue_document(uow: MailUnitOfWork, cmd: QueueDocument, renderer: DocumentRenderer) -> Queued:
    """Queue inside the caller's (entered) unit of work; the caller commits."""
    entity = entity_by_code(uow, cmd.entity)
    doc = document_by_number(uow, entity.id, cmd.number)
    existing = uow.outbox.by_document(doc.id, cmd.purpose)
    if existing is not None:
        return Queued(existing.id, False, existing.status, existing.mail_to, ())
    customer = uow.customers.get(doc.customer_id)
    prefs = uow.outbox.preferences(customer.id)
    if not ((prefs.email_to if prefs else "") or (customer.email or "")).strip():
        raise InvalidInput(
            f"customer {customer.code} has no e-mail address; set one with "
            "`openbill customers update` or `openbill outbox prefs`",
            record=f"document {cmd.number}",
            field="email",
        )
    attachments = _render(uow, renderer, cmd.entity, doc.number, prefs, f"document {cmd.number}")
    return enqueue_message(
        uow,
        entity,
        doc,
        cmd.purpose,
        _subject(doc, entity),
        _body(doc, entity, customer),
        attachments,
        cmd.sender,
    )


def enqueue_message(
    uow: MailUnitOfWork,
    entity: Any,
    doc: Any,
    purpose: str,
    subject: str,
    body: str,
    attachments: Sequence[Attachment] = (),
    sender: str = "",
) -> Queued:
    """Queue a message about an issued document (a reminder, a dispute answer) with a text the
    caller wrote, inside the caller's unit of work. At most one message per (document, purpose):
    asking again returns the first one, so a re-run never writes to the customer twice."""
    if not purpose or len(purpose) > 32:
        raise InvalidInput("a message purpose has 1 to 32 characters", field="purpose")
    existing = uow.outbox.by_document(doc.id, purpose)
    if existing is not None:
        return Queued(existing.id, False, existing.status, existing.mail_to, ())
    record = f"document {doc.number}"
    customer = uow.customers.get(doc.customer_id)
    prefs = uow.outbox.preferences(customer.id)
    to = parse_addresses(
        (prefs.email_to if prefs else "") or (customer.email or ""),
        f"customer {customer.code}",
        "email",
    )
    if not to:
        raise InvalidInput(
            f"customer {customer.code} has no e-mail address; set one with "
            "`openbill customers update` or `openbill outbox prefs`",
            record=record,
            field="email",
        )
    sender = sender or (entity.email or "")
    if len(parse_addresses(sender, "sender", "from")) != 1:
        raise InvalidInput(
            "no sender address: set OPENBILL_SMTP_FROM or the legal entity's e-mail",
            record=record,
            field="from",
        )
    now = uow.clock.now()
    values = {
        "entity_id": entity.id,
        "document_id": doc.id,
        "purpose": purpose,
        "status": MessageStatus.QUEUED.value,
        "message_id": message_id_for(entity.code, doc.number, purpose, sender),
        "mail_from": sender,
        "mail_to": ", ".join(to),
        "subject": _one_line(subject)[:300],
        "body": body,
        "attempts": 0,
        "attempts_left": ATTEMPTS_PER_ROUND_MAX,
        "next_attempt_at": now,
        "last_error": "",
        "created_at": now,
    }
    message_id = uow.outbox.add_message(values, list(attachments))
    summary = {k: values[k] for k in ("document_id", "purpose", "message_id", "mail_to")}
    summary["attachments"] = [a.filename for a in attachments]
    audit(uow, entity.id, "mail.queued", "outbox_message", message_id, None, summary)
    return Queued(
        message_id,
        True,
        MessageStatus.QUEUED.value,
        values["mail_to"],
        tuple(a.filename for a in attachments),
    )


def _render(
    uow: UnitOfWork,
    renderer: DocumentRenderer,
    entity_code: str,
    number: str,
    prefs: Any,
    record: str,
) -> list[Attachment]:
    files = [Attachment(f"{number}.pdf", "application/pdf", renderer.pdf(uow, entity_code, number))]
    syntax = prefs.attach_xml if prefs else AttachXml.NONE.value
    if syntax != AttachXml.NONE.value:
        content = renderer.xml(uow, entity_code, number, syntax)
        files.append(Attachment(f"{number}-{syntax}.xml", "application/xml", content))
    size = sum(len(a.content) for a in files)
    if size > ATTACHMENT_BYTES_MAX:
        raise InvalidInput(
            f"attachments of {size} bytes exceed the limit of {ATTACHMENT_BYTES_MAX}",
            record=record,
            field="attachments",
        )
    return files


_TITLES = {"invoice": "Invoice", "credit_note": "Credit note"}


def _subject(doc: Any, entity: Any) -> str:
    title = _TITLES.get(doc.kind, "Document")
    return _one_line(f"{title} {doc.number} from {entity.name}")[:300]


def _body(doc: Any, entity: Any, customer: Any) -> str:
    title = _TITLES.get(doc.kind, "Document").lower()
    lines = [
        f"Dear {customer.name},",
        "",
        f"please find attached our {title} {doc.number} of {doc.document_date.isoformat()}",
        f"over {format_minor(int(doc.total_minor), doc.currency)} {doc.currency}.",
    ]
    if doc.kind == "invoice" and doc.due_date is not None:
        lines.append(f"It is due on {doc.due_date.isoformat()}.")
    lines += ["", "Kind regards,", entity.name, ""]
    return "\n".join(lines)


# Delivery.


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)


def deliver_due(
    uows: Callable[[], MailUnitOfWork],
    mailer: Mailer,
    *,
    now: datetime | None = None,
    only: Sequence[int] = (),
    limit: int = DELIVER_BATCH_MAX,
) -> DeliveryReport:
    """Send the messages due at `now` (default: the clock's now), one transaction per step.

    `only` restricts the run to those message ids (they are still sent only when due)."""
    report = DeliveryReport()
    uow = uows()
    with uow:
        moment = _utc(now or uow.clock.now())
        report.unknown += _expire_sending(uow, moment)
        due = uow.outbox.due(moment, tuple(only), min(limit, DELIVER_BATCH_MAX))
        uow.commit()
    for message_id in due:
        envelope = _claim(uows(), message_id)
        if envelope is None:
            continue  # another run took it first
        try:
            result = mailer.send(envelope)
        except Exception as exc:
            # The mailer's contract is to return outcomes; an exception is a bug in it. The
            # data may have gone out, so the outcome is unknown: record that, then fail loudly.
            detail = f"{type(exc).__name__}: {exc}"
            _record(uows(), message_id, SendResult(Outcome.UNKNOWN, None, detail), report)
            raise
        _record(uows(), message_id, result, report)
    return report


def _expire_sending(uow: MailUnitOfWork, now: datetime) -> list[int]:
    """Messages `sending` for longer than the lease: their outcome is unknown."""
    stale = uow.outbox.sending_since_before(now - timedelta(seconds=SENDING_LEASE_S))
    return [_mark_unknown(uow, row, now) for row in stale]


def _mark_unknown(uow: MailUnitOfWork, row: Any, now: datetime) -> int:
    detail = (
        "no outcome recorded: the delivery run stopped after the message was handed to the "
        "mail server; check with the recipient, then `openbill outbox retry` if needed"
    )
    uow.outbox.add_attempt(
        {
            "message_id": row.id,
            "attempt_no": row.attempts,
            "started_at": row.claimed_at,
            "finished_at": now,
            "outcome": Outcome.UNKNOWN.value,
            "smtp_code": None,
            "detail": detail,
        }
    )
    uow.outbox.finish(row.id, {"status": MessageStatus.UNKNOWN.value, "last_error": detail})
    log.warning("outbox message %s: outcome unknown, not resent", row.id)
    return int(row.id)


def _claim(uow: MailUnitOfWork, message_id: int) -> Envelope | None:
    """Mark the message `sending` and commit, so that a crash from here on can never lead to
    sending it again without a person deciding to."""
    with uow:
        if not uow.outbox.claim(message_id, uow.clock.now()):
            return None
        row = uow.outbox.get(message_id)
        files = tuple(
            Attachment(a.filename, a.content_type, bytes(a.content))
            for a in uow.outbox.attachments(message_id)
        )
        uow.commit()
    return Envelope(
        row.message_id,
        row.mail_from,
        tuple(a.strip() for a in row.mail_to.split(",") if a.strip()),
        row.subject,
        row.body,
        _utc(row.created_at),
        files,
    )


def _record(
    uow: MailUnitOfWork, message_id: int, result: SendResult, report: DeliveryReport
) -> None:
    detail = result.detail[:ERROR_TEXT_MAX]
    with uow:
        row = uow.outbox.get(message_id)
        now = uow.clock.now()
        uow.outbox.add_attempt(
            {
                "message_id": message_id,
                "attempt_no": row.attempts,
                "started_at": row.claimed_at,
                "finished_at": now,
                "outcome": result.outcome.value,
                "smtp_code": result.smtp_code,
                "detail": detail,
            }
        )
        values: dict[str, Any]
        if result.outcome is Outcome.SENT:
            values = {"status": MessageStatus.SENT.value, "sent_at": now, "last_error": ""}
            report.sent.append(message_id)
        elif result.outcome is Outcome.TRANSIENT and row.attempts_left > 0:
            used = ATTEMPTS_PER_ROUND_MAX - int(row.attempts_left)
            values = {
                "status": MessageStatus.QUEUED.value,
                "next_attempt_at": _utc(now) + backoff_delay(used),
                "last_error": detail,
            }
            report.retrying.append(message_id)
        elif result.outcome is Outcome.UNKNOWN:
            values = {"status": MessageStatus.UNKNOWN.value, "last_error": detail}
            report.unknown.append(message_id)
        else:  # permanent, or transient with the attempts of this round used up
            values = {"status": MessageStatus.FAILED.value, "last_error": detail}
            report.failed.append(message_id)
        uow.outbox.finish(message_id, values)
        uow.commit()
    log.info("outbox message %s: attempt %s %s", message_id, row.attempts, result.outcome.value)


def retry(uow: MailUnitOfWork, message_id: int) -> Queued:
    """Requeue a `failed` or `unknown` message on purpose: a person decided it must go (again).
    It keeps its Message-ID, so a receiver that got it before can tell."""
    with uow:
        row = uow.outbox.get(message_id)
        if row is None:
            raise NotFound(f"no outbox message {message_id}", record="outbox message", field="id")
        status = _shown_status(row, uow.clock.now())
        if status not in (MessageStatus.FAILED, MessageStatus.UNKNOWN):
            raise InvalidState(
                f"message {message_id} is {status}; only failed or unknown messages are retried",
                record=f"outbox message {message_id}",
                field="status",
            )
        current = row.status
        if current == MessageStatus.SENDING:  # shown unknown: record it as such first
            _mark_unknown(uow, row, _utc(uow.clock.now()))
            current = MessageStatus.UNKNOWN.value
        values = {
            "status": MessageStatus.QUEUED.value,
            "attempts_left": ATTEMPTS_PER_ROUND_MAX,
            "next_attempt_at": uow.clock.now(),
        }
        if not uow.outbox.requeue(message_id, current, values):
            raise InvalidState(
                f"message {message_id} changed while being retried; look again",
                record=f"outbox message {message_id}",
                field="status",
            )
        audit(
            uow,
            row.entity_id,
            "mail.requeued",
            "outbox_message",
            message_id,
            {"status": status},
            {"status": MessageStatus.QUEUED.value},
        )
        uow.commit()
        return Queued(message_id, False, MessageStatus.QUEUED.value, row.mail_to, ())


# Listings.


def _shown_status(row: Any, now: datetime) -> str:
    if row.status == MessageStatus.SENDING and row.claimed_at is not None:
        claimed = _utc(row.claimed_at)
        if _utc(now) - claimed > timedelta(seconds=SENDING_LEASE_S):
            return MessageStatus.UNKNOWN.value
    return str(row.status)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    document: str
    customer: str
    to: str
    subject: str
    status: str
    attempts: int
    next_attempt_at: str
    sent_at: str
    last_error: str


def list_outbox(
    uow: MailUnitOfWork, entity_code: str, *, status: str = "", limit: int = 1000
) -> list[OutboxRow]:
    with uow:
        entity = entity_by_code(uow, entity_code)
        now = uow.clock.now()
        rows = uow.outbox.listing(entity.id, min(limit, MAX_LIST_ROWS))
    out = []
    for r in rows:
        shown = _shown_status(r, now)
        if status and shown != status:
            continue
        waiting = shown == MessageStatus.QUEUED and r.next_attempt_at is not None
        out.append(
            OutboxRow(
                int(r.id),
                r.document_number,
                r.customer_code,
                r.mail_to,
                r.subject,
                shown,
                int(r.attempts),
                _utc(r.next_attempt_at).isoformat(timespec="seconds") if waiting else "",
                _utc(r.sent_at).isoformat(timespec="seconds") if r.sent_at else "",
                r.last_error,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class AttemptRow:
    attempt_no: int
    started_at: datetime
    finished_at: datetime
    outcome: str
    smtp_code: int | None
    detail: str


def list_attempts(uow: MailUnitOfWork, message_id: int) -> list[AttemptRow]:
    with uow:
        if uow.outbox.get(message_id) is None:
            raise NotFound(f"no outbox message {message_id}", record="outbox message", field="id")
        rows = uow.outbox.attempts(message_id)
    return [
        AttemptRow(
            int(r.attempt_no),
            _utc(r.started_at),
            _utc(r.finished_at),
            r.outcome,
            None if r.smtp_code is None else int(r.smtp_code),
            r.detail,
        )
        for r in rows
    ]
