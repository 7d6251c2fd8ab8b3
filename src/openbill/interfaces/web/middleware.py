"""Headers every desk response carries, and the bound on what a page request may send.

Pure ASGI (no response buffering): it only touches requests under /desk.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Receive, Scope, Send

from openbill.interfaces.web.guard import SAFE_METHODS, is_desk

__all__ = ["MAX_FORM_BYTES", "CONTENT_SECURITY_POLICY", "SECURITY_HEADERS", "DeskMiddleware"]

# A page's form is a few fields; part 2's uploads (bank statements ...) name their own bound
# and go through the API. Bigger bodies are refused before they are read.
MAX_FORM_BYTES = 64 * 1024

# No inline script or style anywhere (htmx is told not to add its indicator style), no
# plugins, no framing, forms only to this server.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: Mapping[str, str] = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Pages show billing records: no copy in a shared browser's or proxy's cache.
_NO_STORE = "no-store"
_FILES = ("application/pdf", "application/xml")  # downloads: the PDF viewer needs no CSP


class DeskMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_desk(scope["path"]):
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/desk/static/")
        if scope["method"] not in SAFE_METHODS:
            refusal = _too_big(Headers(scope=scope))
            if refusal is not None:
                await _plain(send, *refusal)
                return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                kind = headers.get("content-type", "")
                if not kind.startswith(_FILES):
                    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
                if not static:
                    headers["Cache-Control"] = _NO_STORE
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _too_big(headers: Headers) -> tuple[int, str] | None:
    length = headers.get("content-length")
    if length is None:
        if headers.get("transfer-encoding"):
            return 411, "send the form with a Content-Length"
        return None  # no body at all
    if not length.isdigit():
        return 400, "the Content-Length is not a number"
    if int(length) > MAX_FORM_BYTES:
        return 413, f"a page's form takes at most {MAX_FORM_BYTES // 1024} KiB"
    return None


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()),
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
