"""`openbill invoices send` and `openbill outbox ...`: sending documents by e-mail.

Registered in main.py with:

    from openbill.interfaces.cli.mail_cmds import invoices_send, outbox_app
    invoices_app.command("send")(invoices_send)
    app.add_typer(outbox_app, name="outbox")

SMTP settings come from the environment (OPENBILL_SMTP_HOST, _PORT, _USER, _PASSWORD,
_STARTTLS, _FROM, _TIMEOUT_S); the password is never printed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from openbill.adapters.mail import DocumentsRenderer, SmtpMailer, SmtpSettings
from openbill.bootstrap import Book
from openbill.interfaces.cli._common import (
    Col,
    CsvOption,
    DbOption,
    EntityOption,
    JsonOption,
    emit,
    entity_code,
    handle,
    opened,
    out,
)
from openbill.usecases import mailing as ml

__all__ = ["invoices_send", "mail_prefs", "outbox_app"]


# Seams for tests and for other deployments: what renders attachments and what sends mail.
def make_renderer(book: Book) -> ml.DocumentRenderer:
    return DocumentsRenderer(lambda: book.uow(read_only=True))


def make_mailer() -> ml.Mailer:
    return SmtpMailer(SmtpSettings())


def sender_address() -> str:
    return SmtpSettings().sender


def uows(book: Book, read_only: bool = False) -> Callable[[], ml.MailUnitOfWork]:
    def make() -> Any:
        return book.uow(read_only=read_only)

    return make


outbox_app = typer.Typer(
    help="The e-mail outbox: queued, sent, failed and unknown messages.", no_args_is_help=True
)


def _report(report: ml.DeliveryReport) -> None:
    out().print(
        f"delivered: {len(report.sent)} sent, {len(report.retrying)} to retry, "
        f"{len(report.failed)} failed, {len(report.unknown)} unknown"
    )
    if report.unknown:
        out().print(
            "unknown: the server may have taken these; check, then `openbill outbox retry ID` "
            f"to send again: {', '.join(map(str, report.unknown))}"
        )


@handle
def invoices_send(
    number: str,
    deliver_now: Annotated[
        bool, typer.Option("--deliver-now", help="send at once instead of on the next delivery")
    ] = False,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Queue an issued invoice or credit note for e-mail (once; again is a no-op)."""
    with opened(db) as book:
        make = uows(book)
        cmd = ml.QueueDocument(entity_code(book, entity), number, sender=sender_address())
        queued = ml.queue_document(make(), cmd, make_renderer(book))
        if queued.created:
            files = ", ".join(queued.attachments)
            out().print(f"queued {number} for {queued.to} as message {queued.id} ({files})")
        else:
            out().print(f"{number} was queued before as message {queued.id} ({queued.status})")
        if deliver_now:
            _report(ml.deliver_due(make, make_mailer(), only=(queued.id,)))


@outbox_app.command("list")
@handle
def outbox_list(
    status: Annotated[
        str, typer.Option("--status", help="queued, sending, sent, failed or unknown")
    ] = "",
    limit: Annotated[int, typer.Option("--limit")] = 1000,
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """List outbox messages, newest first."""
    with opened(db) as book:
        code = entity_code(book, entity)
        rows = ml.list_outbox(uows(book, read_only=True)(), code, status=status, limit=limit)
    cols = [
        Col("id", "id", True),
        Col("document", "document"),
        Col("customer", "customer"),
        Col("to", "to", wrap=True),
        Col("status", "status"),
        Col("attempts", "attempts", True),
        Col("next_attempt_at", "next attempt"),
        Col("sent_at", "sent"),
        Col("last_error", "last error", wrap=True),
    ]
    emit(
        [{c.key: getattr(r, c.key) for c in cols} for r in rows],
        cols,
        as_json=as_json,
        as_csv=as_csv,
        title="outbox",
    )


@outbox_app.command("deliver")
@handle
def outbox_deliver(db: DbOption = None) -> None:
    """Send every message that is due (run it from cron or a job worker)."""
    with opened(db) as book:
        _report(ml.deliver_due(uows(book), make_mailer()))


@outbox_app.command("retry")
@handle
def outbox_retry(message_id: int, db: DbOption = None) -> None:
    """Queue a failed or unknown message again, on purpose (it may arrive twice)."""
    with opened(db) as book:
        ml.retry(uows(book)(), message_id)
    out().print(f"message {message_id} queued again; `openbill outbox deliver` sends it")


@outbox_app.command("attempts")
@handle
def outbox_attempts(
    message_id: int,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Every delivery attempt of a message: times, outcome, the server's reply or the error."""
    with opened(db) as book:
        rows = ml.list_attempts(uows(book, read_only=True)(), message_id)
    cols = [
        Col("attempt", "attempt", True),
        Col("started", "started"),
        Col("finished", "finished"),
        Col("outcome", "outcome"),
        Col("code", "code", True),
        Col("detail", "detail", wrap=True),
    ]
    data = [
        {
            "attempt": r.attempt_no,
            "started": r.started_at.isoformat(timespec="seconds"),
            "finished": r.finished_at.isoformat(timespec="seconds"),
            "outcome": r.outcome,
            "code": "" if r.smtp_code is None else r.smtp_code,
            "detail": r.detail,
        }
        for r in rows
    ]
    emit(data, cols, as_json=as_json, as_csv=as_csv, title=f"attempts of message {message_id}")


@outbox_app.command("prefs")
@handle
def mail_prefs(
    customer: Annotated[
        str, typer.Argument(help="customer code; omit to list every customer")
    ] = "",
    to: Annotated[
        str | None,
        typer.Option("--to", help="addresses for documents, comma-separated; '' for the default"),
    ] = None,
    xml: Annotated[
        str | None, typer.Option("--xml", help="e-invoice XML to attach: none, ubl or cii")
    ] = None,
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Show or set where a customer's documents go and whether the XML goes with the PDF."""
    with opened(db) as book:
        code = entity_code(book, entity)
        if customer and (to is not None or xml is not None):
            cmd = ml.SetMailPreferences(code, customer, email_to=to, attach_xml=xml)
            rows = [ml.set_mail_preferences(uows(book)(), cmd)]
        else:
            rows = ml.mail_preferences(uows(book, read_only=True)(), code)
            rows = [r for r in rows if not customer or r.customer == customer]
    cols = [
        Col("customer", "customer"),
        Col("to", "documents to", wrap=True),
        Col("attach_xml", "xml"),
    ]
    data = [
        {"customer": r.customer, "to": r.email_to or r.customer_email, "attach_xml": r.attach_xml}
        for r in rows
    ]
    emit(data, cols, as_json=as_json, as_csv=as_csv, title="mail preferences")
