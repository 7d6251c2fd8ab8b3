"""The outbox against a real SMTP server on loopback: what arrives, how often, and what is
recorded about each attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fixtures_book import ENTITY, invoice
from sqlalchemy import text

from openbill.usecases import mailing as ml

from .conftest import EMAILS, SENDER, SMTP_PASSWORD, SMTP_USER, parts, queue

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def _issue(book, customer="C1"):
    return invoice(book, customer, T0.date(), ("WIDGET", "2")).number


def _status(uows, message_id):
    with uows() as uow:
        return uow.outbox.get(message_id).status


def test_an_invoice_arrives_once_with_its_pdf(mail_book, uows, renderer, smtp):
    number = _issue(mail_book)
    queued = queue(uows, renderer, number)
    assert queued.created and queued.to == EMAILS["C1"]
    assert queued.attachments == (f"{number}.pdf",)

    report = ml.deliver_due(uows, smtp.mailer())

    assert report.sent == [queued.id]
    [got] = smtp.handler.arrived
    assert got.rcpt_tos == [EMAILS["C1"]]
    assert got.mail_from == SENDER
    assert got.message["To"] == EMAILS["C1"]
    assert number in got.message["Subject"]
    assert got.message["Message-ID"] == f"<openbill.{ENTITY}.{number}.document@acme.example>"
    assert parts(got.message) == {
        f"{number}.pdf": ("application/pdf", renderer.pdf(None, ENTITY, number)),
    }
    assert "over 29.75 EUR" in got.message.get_body(("plain",)).get_content()  # 25.00 + 19 %
    assert _status(uows, queued.id) == "sent"
    [attempt] = ml.list_attempts(uows(), queued.id)
    assert (attempt.attempt_no, attempt.outcome, attempt.smtp_code) == (1, "sent", 250)
    assert "queued as 42" in attempt.detail


def test_the_xml_goes_only_to_customers_who_want_it(mail_book, uows, renderer, smtp):
    ml.set_mail_preferences(uows(), ml.SetMailPreferences(ENTITY, "C1", attach_xml="ubl"))
    ml.set_mail_preferences(
        uows(), ml.SetMailPreferences(ENTITY, "C3", email_to="a@gamma.example, b@gamma.example")
    )
    first, second = _issue(mail_book, "C1"), _issue(mail_book, "C3")
    queue(uows, renderer, first)
    queue(uows, renderer, second)

    ml.deliver_due(uows, smtp.mailer())

    by_number = {a.message["Subject"].split()[1]: a for a in smtp.handler.arrived}
    assert set(by_number) == {first, second}
    with_xml = parts(by_number[first].message)
    assert set(with_xml) == {f"{first}.pdf", f"{first}-ubl.xml"}
    assert with_xml[f"{first}-ubl.xml"] == (
        "application/xml",
        renderer.xml(None, ENTITY, first, "ubl"),
    )
    assert set(parts(by_number[second].message)) == {f"{second}.pdf"}
    assert by_number[second].rcpt_tos == ["a@gamma.example", "b@gamma.example"]


def test_queuing_and_delivering_twice_sends_once(mail_book, uows, renderer, smtp):
    number = _issue(mail_book)
    first = queue(uows, renderer, number)
    again = queue(uows, renderer, number)
    assert (again.id, again.created) == (first.id, False)

    ml.deliver_due(uows, smtp.mailer())
    ml.deliver_due(uows, smtp.mailer(), now=T0 + timedelta(days=30))
    after_sent = queue(uows, renderer, number)

    assert (after_sent.id, after_sent.created, after_sent.status) == (first.id, False, "sent")
    assert len(smtp.handler.arrived) == 1
    assert smtp.handler.data_commands == 1
    assert len(ml.list_attempts(uows(), first.id)) == 1


def test_a_server_saying_try_later_twice_gets_three_attempts_with_back_off(
    mail_book, uows, renderer, smtp, clock
):
    smtp.handler.script = ["451 4.3.0 try again later", "451 4.3.0 still busy"]
    number = _issue(mail_book)
    message = queue(uows, renderer, number).id
    mailer = smtp.mailer()

    assert ml.deliver_due(uows, mailer).retrying == [message]  # T0
    assert ml.deliver_due(uows, mailer).retrying == []  # not due before the back-off ends
    clock.advance(seconds=60)
    assert ml.deliver_due(uows, mailer).retrying == [message]  # T0 + 1 min
    clock.advance(seconds=119)
    assert ml.deliver_due(uows, mailer).sent == []  # 2 min wait, 1 s short
    clock.advance(seconds=1)
    assert ml.deliver_due(uows, mailer).sent == [message]  # T0 + 3 min

    attempts = ml.list_attempts(uows(), message)
    assert [(a.attempt_no, a.outcome, a.smtp_code) for a in attempts] == [
        (1, "transient", 451),
        (2, "transient", 451),
        (3, "sent", 250),
    ]
    assert [a.finished_at for a in attempts] == [
        T0,
        T0 + timedelta(minutes=1),
        T0 + timedelta(minutes=3),
    ]
    assert "try again later" in attempts[0].detail
    assert len(smtp.handler.arrived) == 1
    assert _status(uows, message) == "sent"


class SimulatedCrash(BaseException):
    """The process dies: not an error the program handles."""


class CrashAfterHandover:
    """Hands the message to the server, then dies before the reply is recorded."""

    def __init__(self, inner):
        self.inner = inner

    def send(self, envelope):
        self.inner.send(envelope)
        raise SimulatedCrash


def test_a_crash_after_handover_leaves_the_message_unknown_and_never_resent(
    mail_book, uows, renderer, smtp, clock
):
    number = _issue(mail_book)
    message = queue(uows, renderer, number).id
    try:
        ml.deliver_due(uows, CrashAfterHandover(smtp.mailer()))
    except SimulatedCrash:
        pass
    assert len(smtp.handler.arrived) == 1
    assert _status(uows, message) == "sending"  # committed before talking to the server

    # The next run, at once: it may be another run still sending, so it is left alone.
    assert ml.deliver_due(uows, smtp.mailer()) == ml.DeliveryReport()
    clock.advance(seconds=ml.SENDING_LEASE_S + 1)
    [row] = ml.list_outbox(uows(), ENTITY)
    assert row.status == "unknown"  # shown so before any run marks it

    report = ml.deliver_due(uows, smtp.mailer())
    assert report.unknown == [message] and report.sent == []
    clock.advance(days=7)
    assert ml.deliver_due(uows, smtp.mailer()) == ml.DeliveryReport()
    assert len(smtp.handler.arrived) == 1  # never resent on its own
    assert _status(uows, message) == "unknown"
    [attempt] = ml.list_attempts(uows(), message)
    assert (attempt.outcome, attempt.smtp_code) == ("unknown", None)

    # A person decides it must go again: the same Message-ID, so the receiver can tell.
    ml.retry(uows(), message)
    assert ml.deliver_due(uows, smtp.mailer()).sent == [message]
    first, second = smtp.handler.arrived
    assert first.message["Message-ID"] == second.message["Message-ID"]
    assert [a.outcome for a in ml.list_attempts(uows(), message)] == ["unknown", "sent"]


def test_a_permanent_refusal_fails_without_retry(mail_book, uows, renderer, smtp, clock):
    smtp.handler.script = ["550 5.1.1 mailbox unavailable"]
    message = queue(uows, renderer, _issue(mail_book)).id

    assert ml.deliver_due(uows, smtp.mailer()).failed == [message]
    clock.advance(days=2)
    assert ml.deliver_due(uows, smtp.mailer()) == ml.DeliveryReport()

    assert smtp.handler.data_commands == 1 and smtp.handler.arrived == []
    [attempt] = ml.list_attempts(uows(), message)
    assert (attempt.outcome, attempt.smtp_code) == ("permanent", 550)
    [row] = ml.list_outbox(uows(), ENTITY)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "mailbox unavailable" in row.last_error


def test_a_refused_recipient_is_permanent_and_no_data_is_sent(mail_book, uows, renderer, smtp):
    smtp.handler.rcpt_refusal = "550 5.1.1 no such user"
    message = queue(uows, renderer, _issue(mail_book)).id
    assert ml.deliver_due(uows, smtp.mailer()).failed == [message]
    assert smtp.handler.data_commands == 0


def test_no_server_is_transient(mail_book, uows, renderer, smtp):
    from .conftest import free_port

    message = queue(uows, renderer, _issue(mail_book)).id
    report = ml.deliver_due(uows, smtp.mailer(port=free_port()))
    assert report.retrying == [message]
    [attempt] = ml.list_attempts(uows(), message)
    assert attempt.outcome == "transient" and "during connect" in attempt.detail


def _everything_stored(book) -> str:
    with book.engine.connect() as conn:
        dump = []
        for table in ("outbox_messages", "outbox_attempts", "outbox_attachments", "audit_events"):
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                dump.append(repr(tuple(row)))
    return "\n".join(dump)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_nothing_secret_is_stored_or_logged(mail_book, uows, renderer, smtp_auth, caplog):
    caplog.set_level("DEBUG")
    good = queue(uows, renderer, _issue(mail_book)).id
    assert ml.deliver_due(uows, smtp_auth.mailer()).sent == [good]
    assert len(smtp_auth.handler.arrived) == 1

    bad = queue(uows, renderer, _issue(mail_book, "C3")).id
    wrong = smtp_auth.mailer(password=SMTP_PASSWORD + "-wrong")
    assert ml.deliver_due(uows, wrong).failed == [bad]  # 535 authentication failed

    [attempt] = ml.list_attempts(uows(), bad)
    assert attempt.smtp_code == 535
    stored = _everything_stored(mail_book)
    assert SMTP_USER in repr(smtp_auth.settings())  # the user may show, the password never
    for secret in (SMTP_PASSWORD, SMTP_PASSWORD + "-wrong"):
        assert secret not in stored
        assert secret not in caplog.text
        assert secret not in repr(smtp_auth.settings()) and secret not in repr(wrong)
