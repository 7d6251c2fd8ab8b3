"""`openbill serve`: the API (and, as they come, the web pages) on uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from openbill.interfaces.cli._common import DbOption, book_of, err, handle

__all__ = ["serve"]

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
        if loop is not None:
            loop.stop()
        book.close()
