"""E-mail: SMTP settings, an SMTP mailer (smtplib) and its in-memory twin, and the renderer
that turns issued documents into the PDF and XML attachments.

The mailer tells the outbox what happened as a value (`SendResult`):

- `sent`: the server answered 2xx to the end of the message data;
- `transient`: a 4xx reply, or no connection, before the data went out: safe to try again;
- `permanent`: a 5xx reply before or to the data: the server refused it, do not retry;
- `unknown`: the connection broke or timed out while the data was being handed over or before
  the server's reply to it: the server may have taken the message, so it is not retried.

The password lives only in `SmtpSettings.password` (a SecretStr) and in the SMTP conversation;
it is removed from every reply or error text the mailer returns and is never logged.
"""

from __future__ import annotations

import base64
import logging
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from openbill.domain.rejections import InvalidState
from openbill.usecases.mailing import Envelope, Outcome, SendResult

__all__ = [
    "SMTP_TIMEOUT_S",
    "DocumentsRenderer",
    "MemoryMailer",
    "SmtpMailer",
    "SmtpSettings",
    "build_message",
]

log = logging.getLogger(__name__)

# Every socket operation of one SMTP conversation (connect, each command, the data) waits at
# most this long; mailing.SENDING_LEASE_S is chosen well above a whole conversation's worst.
SMTP_TIMEOUT_S = 30.0


class SmtpSettings(BaseSettings):
    """OPENBILL_SMTP_HOST, _PORT, _USER, _PASSWORD, _STARTTLS, _FROM, _TIMEOUT_S."""

    model_config = SettingsConfigDict(env_prefix="OPENBILL_SMTP_", populate_by_name=True)

    host: str = "localhost"
    port: int = 25
    user: str = ""
    password: SecretStr = SecretStr("")
    starttls: bool = False
    sender: str = Field(default="", validation_alias=AliasChoices("OPENBILL_SMTP_FROM", "sender"))
    timeout_s: float = SMTP_TIMEOUT_S
    helo: str = ""  # the name the client gives in EHLO [default: this host's name]


def build_message(envelope: Envelope) -> EmailMessage:
    msg = EmailMessage(policy=policy.SMTP)
    msg["Message-ID"] = envelope.message_id
    msg["Date"] = format_datetime(envelope.date)
    msg["From"] = envelope.mail_from
    msg["To"] = ", ".join(envelope.to)
    msg["Subject"] = envelope.subject
    msg.set_content(envelope.body)
    for a in envelope.attachments:
        maintype, _, subtype = a.content_type.partition("/")
        msg.add_attachment(a.content, maintype=maintype, subtype=subtype, filename=a.filename)
    return msg


def _classify(code: int | None) -> Outcome:
    if code is not None and 200 <= code < 300:
        return Outcome.SENT
    if code is not None and 500 <= code < 600:
        return Outcome.PERMANENT
    return Outcome.TRANSIENT


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class SmtpMailer:
    """Sends through one SMTP server, one connection per message."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, envelope: Envelope) -> SendResult:
        data = build_message(envelope).as_bytes()
        stage = "connect"
        smtp: smtplib.SMTP | None = None
        s = self.settings
        try:
            smtp = smtplib.SMTP(
                s.host, s.port, local_hostname=s.helo or socket.gethostname(), timeout=s.timeout_s
            )
            stage = "session"
            smtp.ehlo()
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.user:
                smtp.login(s.user, s.password.get_secret_value())
            code, reply = smtp.mail(envelope.mail_from)
            if code != 250:
                return self._refused(smtp, code, reply)
            for rcpt in envelope.to:
                code, reply = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    return self._refused(smtp, code, reply)
            stage = "data"
            # data() raises SMTPDataError when DATA itself is refused, and returns the reply to
            # the end of the data, whatever it is: the server's decision on the message.
            code, reply = smtp.data(data)
            stage = "done"
            return SendResult(_classify(code), code, self._scrub(f"{code} {_text(reply)}"))
        except smtplib.SMTPResponseException as exc:
            # The server answered: its code decides, whatever the stage.
            detail = self._scrub(f"{exc.smtp_code} {_text(exc.smtp_error)}")
            return SendResult(_classify(exc.smtp_code), exc.smtp_code, detail)
        except (smtplib.SMTPException, OSError) as exc:
            detail = self._scrub(f"{type(exc).__name__} during {stage}: {exc}")
            if stage == "data":
                return SendResult(Outcome.UNKNOWN, None, detail)
            return SendResult(Outcome.TRANSIENT, None, detail)
        finally:
            if smtp is not None:
                self._quit(smtp)

    def _refused(self, smtp: smtplib.SMTP, code: int, reply: bytes) -> SendResult:
        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError):
            pass  # the message is refused either way
        return SendResult(_classify(code), code, self._scrub(f"{code} {_text(reply)}"))

    @staticmethod
    def _quit(smtp: smtplib.SMTP) -> None:
        # The outcome is known before QUIT; a server that hangs up rudely changes nothing.
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def _scrub(self, text: str) -> str:
        secret = self.settings.password.get_secret_value()
        if not secret:
            return text
        user = self.settings.user
        forms = {
            secret,
            base64.b64encode(f"\0{user}\0{secret}".encode()).decode(),
            base64.b64encode(secret.encode()).decode(),
        }
        for form in forms:
            text = text.replace(form, "***")
        return text

    def __repr__(self) -> str:
        s = self.settings
        return f"SmtpMailer({s.host}:{s.port}, user={s.user!r}, starttls={s.starttls})"


@dataclass
class MemoryMailer:
    """The in-memory twin: keeps every envelope and the bytes an SMTP server would get, and
    answers from a script of results (then `sent`)."""

    script: list[SendResult] = field(default_factory=list)
    sent: list[Envelope] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    calls: int = 0

    def send(self, envelope: Envelope) -> SendResult:
        self.calls += 1
        result = self.script.pop(0) if self.script else SendResult(Outcome.SENT, 250, "250 OK")
        if result.outcome is Outcome.SENT or result.outcome is Outcome.UNKNOWN:
            # An unknown outcome in the twin means: it did arrive, the reply was lost.
            self.sent.append(envelope)
            self.raw.append(build_message(envelope).as_bytes())
        return result


class DocumentsRenderer:
    """The PDF (openbill.adapters.documents.pdf) and the EN 16931 XML
    (openbill.usecases.einvoicing) of an issued document, imported when first used so that
    mail works with whichever of them is installed.

    Those modules run their own units of work, so this renderer reads through fresh read-only
    ones from `read_uow` rather than the caller's (entered) unit of work: an issued document
    is committed and immutable, so both see the same document."""

    def __init__(self, read_uow: Callable[[], Any], templates_dir: str | None = None) -> None:
        self.read_uow = read_uow
        self.templates_dir = templates_dir

    def pdf(self, uow: Any, entity_code: str, number: str) -> bytes:
        try:
            from openbill.adapters.documents import pdf
        except ImportError as exc:
            raise InvalidState(
                f"PDF rendering is not available in this installation ({exc})",
                record=f"document {number}",
                field="pdf",
            ) from None
        from openbill.usecases import reports, statements

        view = reports.show_document(self.read_uow(), entity_code, number)
        header = view.header
        who = statements.parties(self.read_uow(), entity_code, header["customer_code"])
        credited = ""
        if header.get("credited_document_id"):
            of = str(header["credited_document_id"])
            credited = reports.show_document(self.read_uow(), entity_code, of).header["number"]
        data = pdf.render_document(
            view, who, credited_number=credited or "", templates_dir=self.templates_dir
        )
        return bytes(data)

    def xml(self, uow: Any, entity_code: str, number: str, syntax: str) -> bytes:
        try:
            from openbill.adapters.documents.einvoice_io import WRITERS
            from openbill.usecases.einvoicing import export_einvoice
        except ImportError as exc:
            raise InvalidState(
                f"e-invoice export is not available in this installation ({exc})",
                record=f"document {number}",
                field="attach_xml",
            ) from None
        return bytes(export_einvoice(self.read_uow(), entity_code, number, syntax, WRITERS))
