"""Files sent as the request body: a payments file or a file of exchange rates, as
`Content-Type: text/csv`, at most UPLOAD_BYTES_MAX bytes.

`UploadRoute` (an IdempotentRoute) refuses a larger body with 413 before reading more of it
than the bound, whoever sends it, so a huge upload costs the server nothing; the route's
`csv_body` dependency, which runs after the caller's access was checked, refuses another
content type with 415. A payments file refused as a whole is answered with 422 and every bad
row in `errors` (line, field, reason)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request, Response

from openbill.interfaces.api.idempotency import IdempotentRoute
from openbill.interfaces.api.problems import problem
from openbill.usecases.payment_import import PaymentsImportRefused

__all__ = ["UPLOAD_BYTES_MAX", "CSV_TYPES", "UploadRoute", "csv_body", "WrongContentType"]

UPLOAD_BYTES_MAX = 10_000_000  # bytes of one uploaded file (a payments file of 20,000 rows: ~3 MB)
CSV_TYPES = ("text/csv", "application/csv", "text/plain")


class WrongContentType(Exception):
    """The body is not a CSV file (answered with 415 by UploadRoute)."""


class _TooLarge(Exception):
    pass


def _too_large(request: Request) -> Response:
    return problem(
        request,
        413,
        "too_large",
        f"the file is larger than {UPLOAD_BYTES_MAX:,} bytes; split it and send the parts",
        field="body",
    )


async def _read_bounded(request: Request) -> None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > UPLOAD_BYTES_MAX:
        raise _TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > UPLOAD_BYTES_MAX:
            raise _TooLarge
    # Starlette keeps the body it read here for request.body() (the Idempotency-Key digest).
    request._body = bytes(body)


class UploadRoute(IdempotentRoute):
    """An IdempotentRoute whose request body is a file of bounded size."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                await _read_bounded(request)
            except _TooLarge:
                return _too_large(request)
            try:
                response: Response = await inner(request)
            except WrongContentType as exc:
                return problem(
                    request, 415, "unsupported_media_type", str(exc), field="Content-Type"
                )
            except PaymentsImportRefused as exc:
                # Raised through the Idempotency-Key handling (which frees the key), answered
                # here with every bad row, not only the first.
                return problem(
                    request,
                    422,
                    exc.code,
                    exc.reason,
                    record=exc.record,
                    field=exc.field,
                    errors=[
                        {"line": e.line, "field": e.field, "reason": e.reason}  # type: ignore[misc]
                        for e in exc.errors
                    ],
                )
            return response

        return handler


async def csv_body(request: Request) -> bytes:
    """The request body, when it is sent as text/csv (declare after the caller's guard)."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind not in CSV_TYPES:
        raise WrongContentType(
            "send the file itself as the request body with Content-Type: text/csv"
        )
    return await request.body()
