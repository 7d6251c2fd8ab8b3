"""`openbill serve`: the API and the web desk on uvicorn, with housekeeping in the background."""

from __future__ import annotations

import logging
import threading
from typing import Annotated

import typer

from openbill.bootstrap import Book
from openbill.interfaces.cli._common import DbOption, book_of, err, handle
from openbill.usecases.access import prune

__all__ = ["serve", "Housekeeping", "HOUSEKEEPING_INTERVAL_S"]

HOUSEKEEPING_INTERVAL_S = 3600
log = logging.getLogger("openbill.serve")


class Housekeeping:
    """Forgets, at the start and every hour, what access control keeps only for a while
    (`usecases.access.prune`: old sign-in attempts and Idempotency-Key records), in a daemon
    thread of the server."""

    def __init__(self, book: Book, interval_s: float = HOUSEKEEPING_INTERVAL_S) -> None:
        self.book = book
        self.interval_s = interval_s
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="openbill-housekeeping", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                prune(self.book.uow())
                self.runs += 1
            except Exception:  # keep serving; the next round tries again
                log.exception("housekeeping failed")
            self._stop.wait(self.interval_s)


LOOPBACK = "127.0.0.1"


@handle
def serve(
    db: DbOption = None,
    host: Annotated[
        str, typer.Option("--host", help="address to listen on (loopback unless you say so)")
    ] = LOOPBACK,
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    deliver_webhooks: Annotated[
        bool,
        typer.Option(
            "--deliver-webhooks",
            help="also send webhooks in the background (otherwise run `openbill webhooks deliver`)",
        ),
    ] = False,
) -> None:
    """Serve the REST API under /v1 (schema at /v1/openapi.json, documentation at /v1/docs)
    and the web desk under /desk."""
    import uvicorn
    from sqlalchemy.engine import make_url

    from openbill.interfaces.api import create_app

    book = book_of(db)
    where = make_url(book.url).render_as_string(hide_password=True)
    err().print(
        f"openbill: serving {where} on http://{host}:{port}/v1/docs (API) and "
        f"http://{host}:{port}/desk (web desk)",
        markup=False,
    )
    housekeeping = Housekeeping(book)
    housekeeping.start()
    loop = None
    if deliver_webhooks:
        from openbill.interfaces.cli.webhooks_cmds import DeliveryLoop

        loop = DeliveryLoop(book)
        loop.start()
        err().print("openbill: delivering webhooks in the background", markup=False)
    try:
        uvicorn.run(
            create_app(book),
            host=host,
            port=port,
            log_level="info",
            access_log=False,  # request lines may carry customer codes; errors are still logged
            proxy_headers=False,
        )
    finally:
        housekeeping.stop()
        if loop is not None:
            loop.stop()
        book.close()
