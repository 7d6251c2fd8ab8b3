"""The outbox's rules with the in-memory mailer: back-off, bounds, refusals, preferences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fixtures_book import ENTITY, invoice, row_counts

from openbill.adapters.mail import MemoryMailer, SmtpSettings, build_message
from openbill.domain.rejections import InvalidInput, InvalidState, NotFound
from openbill.usecases import mailing as ml
from openbill.usecases import masterdata as m

from .conftest import SENDER, queue

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def _issue(book, customer="C1"):
    return invoice(book, customer, T0.date(), ("BOOK", "1")).number


def test_back_off_doubles_from_a_minute_and_is_capped():
    assert [ml.backoff_delay(n).total_seconds() for n in range(1, 6)] == [60, 120, 240, 480, 960]
    assert ml.backoff_delay(40) == timedelta(seconds=ml.RETRY_DELAY_MAX_S)
    with pytest.raises(ValueError):
        ml.backoff_delay(0)


def test_message_ids_are_deterministic_and_safe():
    first = ml.message_id_for("ACME", "INV-2026-000001", "document", "billing@acme.example")
    assert first == ml.message_id_for("ACME", "INV-2026-000001", "document", "x@acme.example")
    assert first == "<openbill.ACME.INV-2026-000001.document@acme.example>"
    assert ml.message_id_for("A B", "1/2", "document", "") == (
        "<openbill.A-B.1-2.document@openbill.invalid>"
    )


def test_transient_refusals_stop_after_the_bounded_attempts(mail_book, uows, renderer, clock):
    busy = ml.SendResult(ml.Outcome.TRANSIENT, 421, "421 busy")
    mailer = MemoryMailer(script=[busy] * ml.ATTEMPTS_PER_ROUND_MAX)
    message = queue(uows, renderer, _issue(mail_book)).id
    for n in range(1, ml.ATTEMPTS_PER_ROUND_MAX):
        assert ml.deliver_due(uows, mailer).retrying == [message]
        clock.advance(seconds=ml.backoff_delay(n).total_seconds())
    assert ml.deliver_due(uows, mailer).failed == [message]
    clock.advance(days=30)
    assert ml.deliver_due(uows, mailer) == ml.DeliveryReport()
    assert mailer.calls == ml.ATTEMPTS_PER_ROUND_MAX and mailer.sent == []

    ml.retry(uows(), message)  # a new round, on purpose
    assert ml.deliver_due(uows, mailer).sent == [message]
    attempts = ml.list_attempts(uows(), message)
    assert [a.attempt_no for a in attempts] == list(range(1, ml.ATTEMPTS_PER_ROUND_MAX + 2))


def test_a_lost_reply_is_unknown_at_once_and_not_resent(mail_book, uows, renderer, clock):
    lost = ml.SendResult(ml.Outcome.UNKNOWN, None, "TimeoutError during data: timed out")
    mailer = MemoryMailer(script=[lost])
    message = queue(uows, renderer, _issue(mail_book)).id
    assert ml.deliver_due(uows, mailer).unknown == [message]
    clock.advance(days=1)
    assert ml.deliver_due(uows, mailer) == ml.DeliveryReport()
    assert mailer.calls == 1


class BrokenMailer:
    def send(self, envelope):
        raise RuntimeError("bug in the mailer")


def test_a_mailer_bug_is_recorded_as_unknown_and_raised(mail_book, uows, renderer):
    message = queue(uows, renderer, _issue(mail_book)).id
    with pytest.raises(RuntimeError, match="bug in the mailer"):
        ml.deliver_due(uows, BrokenMailer())
    [attempt] = ml.list_attempts(uows(), message)
    assert attempt.outcome == "unknown" and "bug in the mailer" in attempt.detail
    [row] = ml.list_outbox(uows(), ENTITY)
    assert row.status == "unknown"


def test_only_failed_or_unknown_messages_are_retried(mail_book, uows, renderer):
    message = queue(uows, renderer, _issue(mail_book)).id
    with pytest.raises(InvalidState, match="queued"):
        ml.retry(uows(), message)
    ml.deliver_due(uows, MemoryMailer())
    with pytest.raises(InvalidState, match="sent"):
        ml.retry(uows(), message)
    with pytest.raises(NotFound):
        ml.retry(uows(), 999)


def test_refusals_leave_nothing_behind(mail_book, uows, renderer):
    number = _issue(mail_book, "C2")  # Beta SARL has no e-mail address
    before = row_counts(mail_book)
    with pytest.raises(InvalidInput, match="no e-mail address"):
        queue(uows, renderer, number)
    with pytest.raises(InvalidInput, match="no sender address"):
        ml.queue_document(uows(), ml.QueueDocument(ENTITY, _issue(mail_book, "C1")), renderer)
    with pytest.raises(NotFound):
        queue(uows, renderer, "INV-1999-000001")
    with pytest.raises(InvalidInput, match="not one of none, ubl, cii"):
        ml.set_mail_preferences(uows(), ml.SetMailPreferences(ENTITY, "C1", attach_xml="pdf"))
    with pytest.raises(InvalidInput, match="not an e-mail address"):
        ml.set_mail_preferences(uows(), ml.SetMailPreferences(ENTITY, "C1", email_to="nobody"))
    after = row_counts(mail_book)
    changed = {k for k in after if after[k] != before[k]}
    assert not changed & {"outbox_messages", "outbox_attachments", "mail_preferences"}


def test_the_sender_falls_back_to_the_entity_address(mail_book, uows, renderer):
    with uows() as uow:
        entity = uow.entities.by_code(ENTITY)
        uow.connection.exec_driver_sql(
            f"UPDATE legal_entities SET email = 'ar@acme.example' WHERE id = {entity.id}"
        )
        # as a master-data write does: the cached entity is stale now
        uow.connection.exec_driver_sql(
            "UPDATE revisions SET value = value + 1 WHERE name = 'masterdata'"
        )
        uow.commit()
    number = _issue(mail_book)
    queued = ml.queue_document(uows(), ml.QueueDocument(ENTITY, number), renderer)
    mailer = MemoryMailer()
    ml.deliver_due(uows, mailer)
    assert mailer.sent[0].mail_from == "ar@acme.example"
    assert queued.created


def test_preferences_are_kept_and_listed(mail_book, uows):
    ml.set_mail_preferences(uows(), ml.SetMailPreferences(ENTITY, "C1", attach_xml="cii"))
    kept = ml.set_mail_preferences(
        uows(), ml.SetMailPreferences(ENTITY, "C1", email_to="x@alpha.example")
    )
    assert (kept.email_to, kept.attach_xml) == ("x@alpha.example", "cii")
    listed = {p.customer: p for p in ml.mail_preferences(uows(), ENTITY)}
    assert listed["C1"].attach_xml == "cii" and listed["C3"].attach_xml == "none"
    assert listed["C3"].customer_email == "invoices@gamma.example"


def test_the_mime_message_carries_the_envelope():
    envelope = ml.Envelope(
        "<a@b.example>",
        SENDER,
        ("x@y.example",),
        "Invoice 1",
        "hello",
        T0,
        (ml.Attachment("1.pdf", "application/pdf", b"%PDF"),),
    )
    msg = build_message(envelope)
    assert msg["Message-ID"] == "<a@b.example>"
    assert msg["Date"] == "Thu, 01 Jan 2026 09:00:00 +0000"
    [part] = msg.iter_attachments()
    assert part.get_payload(decode=True) == b"%PDF"


def test_smtp_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("OPENBILL_SMTP_HOST", "mail.example")
    monkeypatch.setenv("OPENBILL_SMTP_PORT", "587")
    monkeypatch.setenv("OPENBILL_SMTP_USER", "u")
    monkeypatch.setenv("OPENBILL_SMTP_PASSWORD", "hunter2")
    monkeypatch.setenv("OPENBILL_SMTP_STARTTLS", "true")
    monkeypatch.setenv("OPENBILL_SMTP_FROM", "billing@acme.example")
    s = SmtpSettings()
    assert (s.host, s.port, s.user, s.starttls, s.sender) == (
        "mail.example",
        587,
        "u",
        True,
        "billing@acme.example",
    )
    assert s.password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(s) and "hunter2" not in str(s)


def test_customers_update_email_reaches_the_next_message(mail_book, uows, renderer):
    m.update_customer(
        mail_book.uow(), m.UpdateCustomer(ENTITY, "C1", (("email", "new@alpha.example"),))
    )
    assert queue(uows, renderer, _issue(mail_book)).to == "new@alpha.example"


class Crash(BaseException):
    pass


class CrashingMailer:
    def send(self, envelope):
        raise Crash


def test_retrying_a_stale_sending_message_records_its_unknown_attempt_first(
    mail_book, uows, renderer, clock
):
    message = queue(uows, renderer, _issue(mail_book)).id
    with pytest.raises(Crash):
        ml.deliver_due(uows, CrashingMailer())
    with pytest.raises(InvalidState, match="sending"):
        ml.retry(uows(), message)  # within the lease: maybe still being sent
    clock.advance(seconds=ml.SENDING_LEASE_S + 1)
    ml.retry(uows(), message)
    mailer = MemoryMailer()
    assert ml.deliver_due(uows, mailer).sent == [message]
    attempts = ml.list_attempts(uows(), message)
    assert [(a.attempt_no, a.outcome) for a in attempts] == [(1, "unknown"), (2, "sent")]
