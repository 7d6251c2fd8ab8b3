"""`openbill webhooks ...`: endpoints that receive events, their deliveries, delivery runs.

Registered in main.py with:

    from openbill.interfaces.cli import webhooks_cmds
    app.add_typer(webhooks_cmds.webhooks_app, name="webhooks")

`DeliveryLoop` is the in-process delivery loop `openbill serve --deliver-webhooks` runs.
"""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from openbill.adapters.webhook_sender import HttpxSender
from openbill.bootstrap import Book
from openbill.domain.webhooks import SUBSCRIBABLE
from openbill.interfaces.cli._common import (
    Col,
    CsvOption,
    DbOption,
    EntityOption,
    JsonOption,
    UsageError,
    emit,
    entity_code,
    err,
    handle,
    opened,
    out,
)
from openbill.usecases import webhooks as wh

__all__ = ["webhooks_app", "DeliveryLoop", "make_sender", "LOOP_INTERVAL_S"]

log = logging.getLogger(__name__)

LOOP_INTERVAL_S = 10.0  # the serve loop looks for due deliveries this often
OVERDUE_SCAN_INTERVAL_S = 3600.0  # ... and for newly overdue invoices this often
EVENTS = ", ".join(e.value for e in SUBSCRIBABLE)


# The seam for tests and other deployments: what sends the requests.
def make_sender() -> Any:
    return HttpxSender()


webhooks_app = typer.Typer(
    help="Outgoing webhooks: endpoints, the events they get, deliveries.", no_args_is_help=True
)

EventOption = Annotated[
    list[str] | None,
    typer.Option("--event", help=f"repeatable; one of: {EVENTS}; or all", show_default=False),
]


def _endpoint_row(v: wh.EndpointView) -> dict[str, Any]:
    counts = dict(v.deliveries)
    return {
        "id": v.id,
        "url": v.url,
        "events": " ".join(v.events),
        "enabled": "yes" if v.enabled else f"no ({v.disabled_reason})",
        "description": v.description,
        "pending": counts.get(wh.PENDING, 0) + counts.get(wh.SENDING, 0),
        "failed": counts.get(wh.FAILED, 0),
        "delivered": counts.get(wh.DELIVERED, 0),
        "created": v.created_at,
        "rotated": v.secret_rotated_at,
        "previous_secret_until": v.previous_secret_until,
    }


_ENDPOINT_COLS = [
    Col("id", "id", True),
    Col("url", "url", wrap=True),
    Col("events", "events", wrap=True),
    Col("enabled", "enabled", wrap=True),
    Col("description", "description", wrap=True),
    Col("pending", "pending", True),
    Col("failed", "failed", True),
    Col("delivered", "delivered", True),
]


@webhooks_app.command("add")
@handle
def webhooks_add(
    url: Annotated[str, typer.Argument(help="https://... (http only to 127.0.0.1, for tests)")],
    event: EventOption = None,
    description: Annotated[str, typer.Option("--description")] = "",
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Add an endpoint. Its signing secret is printed once, alone on stdout: keep it now."""
    with opened(db) as book:
        code = entity_code(book, entity)
        made = wh.add_endpoint(
            book.uow(), wh.AddEndpoint(code, url, tuple(event or ()), description)
        )
    typer.echo(made.secret)
    err().print(
        f"added webhook endpoint {made.endpoint.id} for {code}: {made.endpoint.url} "
        f"({', '.join(made.endpoint.events)})",
        markup=False,
    )
    err().print(
        "keep the secret now: it is not shown again (`openbill webhooks rotate-secret` makes "
        "a new one)",
        style="yellow",
        markup=False,
    )


@webhooks_app.command("list")
@handle
def webhooks_list(
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """The endpoints of the legal entity, with their deliveries by status."""
    with opened(db) as book:
        views = wh.list_endpoints(book.uow(read_only=True), entity_code(book, entity))
    rows = [_endpoint_row(v) for v in views]
    emit(rows, _ENDPOINT_COLS, as_json=as_json, as_csv=as_csv, title="webhook endpoints")


@webhooks_app.command("show")
@handle
def webhooks_show(
    endpoint_id: int,
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """One endpoint and its latest deliveries."""
    with opened(db) as book:
        code = entity_code(book, entity)
        view = wh.show_endpoint(book.uow(read_only=True), code, endpoint_id)
        latest = wh.list_deliveries(
            book.uow(read_only=True), code, limit=10, newest_first=True, endpoint_id=endpoint_id
        )
    row = _endpoint_row(view)
    if as_json:
        emit([row], [Col(k, k) for k in row], as_json=True)
        return
    for key, value in row.items():
        out().print(f"{key + ':':24}{value}", markup=False)
    _deliveries_table([_delivery_row(d) for d in latest], title="latest deliveries")


def _set_enabled(endpoint_id: int, enabled: bool, reason: str, entity: str | None, db: Any) -> None:
    with opened(db) as book:
        code = entity_code(book, entity)
        cmd = wh.ChangeEndpoint(code, endpoint_id, enabled=enabled, reason=reason)
        view = wh.change_endpoint(book.uow(), cmd)
    state = "enabled" if view.enabled else f"disabled ({view.disabled_reason})"
    out().print(f"webhook endpoint {view.id} ({view.url}): {state}", markup=False)


@webhooks_app.command("disable")
@handle
def webhooks_disable(
    endpoint_id: int,
    reason: Annotated[str, typer.Option("--reason", help="shown in lists")] = "",
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Stop sending to an endpoint.

    Its waiting deliveries wait until it is enabled again; no new events are written for it
    meanwhile."""
    _set_enabled(endpoint_id, False, reason, entity, db)


@webhooks_app.command("enable")
@handle
def webhooks_enable(endpoint_id: int, entity: EntityOption = None, db: DbOption = None) -> None:
    """Send to an endpoint again (its waiting deliveries go on)."""
    _set_enabled(endpoint_id, True, "", entity, db)


@webhooks_app.command("change")
@handle
def webhooks_change(
    endpoint_id: int,
    url: Annotated[str | None, typer.Option("--url")] = None,
    event: EventOption = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Change an endpoint's URL, events (the list given replaces the old one) or description."""
    if url is None and not event and description is None:
        raise UsageError("say what changes: --url, --event or --description")
    with opened(db) as book:
        code = entity_code(book, entity)
        cmd = wh.ChangeEndpoint(
            code,
            endpoint_id,
            url=url,
            events=tuple(event) if event else None,
            description=description,
        )
        view = wh.change_endpoint(book.uow(), cmd)
    out().print(f"webhook endpoint {view.id}: {view.url} ({', '.join(view.events)})", markup=False)


@webhooks_app.command("rotate-secret")
@handle
def webhooks_rotate_secret(
    endpoint_id: int,
    overlap_hours: Annotated[
        int,
        typer.Option(
            "--overlap-hours",
            min=0,
            max=wh.ROTATION_OVERLAP_MAX_S // 3600,
            help="how long requests are signed with the old secret too (0: a leaked secret)",
        ),
    ] = wh.ROTATION_OVERLAP_S // 3600,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """A new signing secret, printed once alone on stdout; the old one signs too for a while."""
    with opened(db) as book:
        code = entity_code(book, entity)
        r = wh.rotate_secret(book.uow(), code, endpoint_id, overlap_hours * 3600)
    typer.echo(r.secret)
    until = (
        f"requests carry a signature with the old secret too until {r.previous_valid_until}"
        if r.previous_valid_until
        else "the old secret no longer signs anything"
    )
    err().print(f"new secret for webhook endpoint {endpoint_id}; {until}", markup=False)
    err().print("keep the secret now: it is not shown again", style="yellow", markup=False)


def _delivery_row(d: wh.DeliveryView) -> dict[str, Any]:
    return {
        "id": d.id,
        "event": d.event_type,
        "subject": d.subject,
        "endpoint": d.endpoint_id,
        "status": d.status,
        "attempts": d.attempts,
        "code": "" if d.last_status_code is None else d.last_status_code,
        "next_attempt_at": d.next_attempt_at,
        "delivered_at": d.delivered_at,
        "last_error": d.last_error,
        "event_id": d.event_id,
        "created": d.created_at,
    }


_DELIVERY_COLS = [
    Col("id", "id", True),
    Col("event", "event"),
    Col("subject", "subject"),
    Col("endpoint", "endpoint", True),
    Col("status", "status"),
    Col("attempts", "attempts", True),
    Col("code", "last code", True),
    Col("next_attempt_at", "next attempt"),
    Col("last_error", "last error", wrap=True),
]


def _deliveries_table(rows: list[dict[str, Any]], *, title: str, **fmt: bool) -> None:
    cols = _DELIVERY_COLS
    if fmt.get("as_json") or fmt.get("as_csv"):
        cols = [*cols, Col("delivered_at", "delivered"), Col("event_id", "event id")]
    emit(rows, cols, title=title, **fmt)


@webhooks_app.command("deliveries")
@handle
def webhooks_deliveries(
    delivery_id: Annotated[
        int | None, typer.Argument(help="one delivery: its attempts", show_default=False)
    ] = None,
    endpoint: Annotated[int | None, typer.Option("--endpoint", help="of one endpoint")] = None,
    status: Annotated[
        str, typer.Option("--status", help="pending, sending, delivered, failed")
    ] = "",
    event: Annotated[str, typer.Option("--event", help="of one event type")] = "",
    payload: Annotated[
        bool, typer.Option("--payload", help="with one delivery: print its body")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=wh.LIST_ROWS_MAX)] = 50,
    entity: EntityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Deliveries, newest first; with an id, that delivery and every attempt of it."""
    with opened(db) as book:
        code = entity_code(book, entity)
        if delivery_id is None:
            views = wh.list_deliveries(
                book.uow(read_only=True),
                code,
                limit=limit,
                newest_first=True,
                status=status,
                endpoint_id=endpoint,
                event_type=event,
            )
            rows = [_delivery_row(v) for v in views]
            _deliveries_table(rows, title="webhook deliveries", as_json=as_json, as_csv=as_csv)
            return
        detail = wh.show_delivery(book.uow(read_only=True), code, delivery_id)
    if payload:
        typer.echo(detail.payload)
        return
    cols = [
        Col("attempt", "attempt", True),
        Col("started", "started"),
        Col("duration_ms", "ms", True),
        Col("code", "code", True),
        Col("outcome", "outcome"),
        Col("error", "error", wrap=True),
    ]
    rows = [
        {
            "attempt": a.attempt_no,
            "started": a.started_at,
            "duration_ms": a.duration_ms,
            "code": "" if a.status_code is None else a.status_code,
            "outcome": a.outcome,
            "error": a.error,
        }
        for a in detail.attempts
    ]
    d = detail.delivery
    if not (as_json or as_csv):
        out().print(
            f"delivery {d.id}: {d.event_type} {d.subject} (event {d.event_id}) to endpoint "
            f"{d.endpoint_id} {d.url}: {d.status}"
            + (f", next attempt {d.next_attempt_at}" if d.next_attempt_at else ""),
            markup=False,
        )
    emit(rows, cols, as_json=as_json, as_csv=as_csv, title="attempts")


def _report(report: wh.DeliveryReport, overdue: int | None = None) -> None:
    first = f"{overdue} invoice.overdue event(s) written; " if overdue is not None else ""
    out().print(
        f"{first}deliveries: {len(report.delivered)} delivered, {len(report.retrying)} to "
        f"retry, {len(report.failed)} failed"
        + (f", {len(report.resumed)} resumed after a stopped run" if report.resumed else ""),
        markup=False,
    )
    for endpoint_id in report.disabled_endpoints:
        out().print(
            f"webhook endpoint {endpoint_id} answered 410 Gone and was disabled "
            "(`openbill webhooks enable` when the receiver wants events again)",
            style="yellow",
            markup=False,
        )


@webhooks_app.command("deliver")
@handle
def webhooks_deliver(
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=wh.DELIVER_BATCH_MAX, help="deliveries this run")
    ] = wh.DELIVER_BATCH_MAX,
    db: DbOption = None,
) -> None:
    """Send every delivery that is due, after writing the invoice.overdue events that are due.

    Run it from cron, or let `openbill serve --deliver-webhooks` do it."""
    with opened(db) as book:
        overdue = wh.scan_overdue(book.uow())
        sender = make_sender()
        try:
            with Progress(
                TextColumn("delivering webhooks"),
                BarColumn(),
                MofNCompleteColumn(),
                console=err(),
                transient=True,
            ) as bar:
                task = bar.add_task("deliver", total=None)

                def tick(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                report = wh.deliver_due(book.uow, sender, limit=limit, progress=tick)
        finally:
            _close(sender)
    _report(report, overdue)


@webhooks_app.command("retry")
@handle
def webhooks_retry(
    delivery_ids: Annotated[list[int] | None, typer.Argument(show_default=False)] = None,
    failed: Annotated[
        bool, typer.Option("--failed", help="every failed delivery (of --endpoint)")
    ] = False,
    endpoint: Annotated[int | None, typer.Option("--endpoint")] = None,
    entity: EntityOption = None,
    db: DbOption = None,
) -> None:
    """Make failed deliveries due again, with a new round of attempts."""
    if not delivery_ids and not failed:
        raise UsageError("name the deliveries to retry, or --failed for all failed ones")
    with opened(db) as book:
        code = entity_code(book, entity)
        done = wh.retry_deliveries(
            book.uow(), code, tuple(delivery_ids or ()), all_failed=failed, endpoint_id=endpoint
        )
    if not done:
        out().print("no failed delivery to retry", markup=False)
        return
    out().print(
        f"{len(done)} deliver{'y' if len(done) == 1 else 'ies'} due again "
        f"({', '.join(map(str, done[:20]))}{' ...' if len(done) > 20 else ''}); "
        "`openbill webhooks deliver` sends them",
        markup=False,
    )


@webhooks_app.command("test")
@handle
def webhooks_test(endpoint_id: int, entity: EntityOption = None, db: DbOption = None) -> None:
    """Send a `ping` event to an endpoint now, once, and say how it went.

    Exit code 1 when it was not delivered."""
    with opened(db) as book:
        code = entity_code(book, entity)
        sender = make_sender()
        try:
            r = wh.send_test(book.uow, sender, code, endpoint_id)
        finally:
            _close(sender)
    code_text = "no answer" if r.status_code is None else f"HTTP {r.status_code}"
    line = (
        f"ping {r.event_id} to endpoint {endpoint_id}: {r.status} ({code_text}, {r.duration_ms} ms)"
    )
    if r.status == wh.DELIVERED:
        out().print(line, markup=False)
        return
    err().print(f"{line}: {r.error}", style="red", markup=False)
    raise typer.Exit(1)


def _close(sender: Any) -> None:
    close = getattr(sender, "close", None)
    if callable(close):
        close()


class DeliveryLoop:
    """Deliveries in the background of `openbill serve`: every LOOP_INTERVAL_S a delivery run,
    every OVERDUE_SCAN_INTERVAL_S an overdue scan, in one daemon thread. Several servers may
    run it on one book: a delivery is claimed before it is sent, so none is sent twice."""

    def __init__(
        self,
        book: Book,
        *,
        interval_s: float = LOOP_INTERVAL_S,
        scan_interval_s: float = OVERDUE_SCAN_INTERVAL_S,
    ) -> None:
        self.book = book
        self.interval_s = interval_s
        self.scan_interval_s = scan_interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="openbill-webhooks", daemon=True)
        self._next_scan = 0.0
        self.runs = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def run_once(self, sender: Any) -> wh.DeliveryReport:
        import time

        if time.monotonic() >= self._next_scan:
            wh.scan_overdue(self.book.uow())
            self._next_scan = time.monotonic() + self.scan_interval_s
        report = wh.deliver_due(self.book.uow, sender, stop=self._stop.is_set)
        self.runs += 1
        return report

    def _run(self) -> None:
        sender = make_sender()
        try:
            while not self._stop.is_set():
                try:
                    self.run_once(sender)
                except Exception:  # keep serving; the next run tries again
                    log.exception("webhook delivery run failed")
                self._stop.wait(self.interval_s)
        finally:
            _close(sender)
