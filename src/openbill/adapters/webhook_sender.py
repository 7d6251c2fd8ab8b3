"""Sending webhooks: POST over httpx (`HttpxSender`), and its in-memory twin for tests
(`MemorySender`).

Every request is bounded: CONNECT_TIMEOUT_S to connect, REQUEST_TIMEOUT_S for the whole
exchange (httpx's own timeouts bound each read and write; the total is checked while the
answer is read), at most RESPONSE_BYTES_MAX of the answer read (the rest is not waited for).
Redirects are not followed (a 3xx is a failed attempt: the receiver should give its final
URL). Certificates are verified. Whatever happens comes back as a `SendResult`: a timeout or a
refused connection is a result with no status code, not an exception.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import version

import httpx

from openbill.usecases.webhooks import SendResult, WebhookRequest

__all__ = [
    "HttpxSender",
    "MemorySender",
    "CONNECT_TIMEOUT_S",
    "REQUEST_TIMEOUT_S",
    "RESPONSE_BYTES_MAX",
]

CONNECT_TIMEOUT_S = 5.0
REQUEST_TIMEOUT_S = 10.0
RESPONSE_BYTES_MAX = 16 * 1024
ANSWER_EXCERPT_CHARS = 200  # of a refusal's body, kept in the attempt's error text


def _user_agent() -> str:
    return f"openbill-webhooks/{version('openbill')}"


class HttpxSender:
    """POSTs webhooks with one shared httpx client (connection reuse across a run)."""

    def __init__(
        self,
        *,
        timeout_s: float = REQUEST_TIMEOUT_S,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        response_bytes_max: int = RESPONSE_BYTES_MAX,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.response_bytes_max = response_bytes_max
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=min(connect_timeout_s, timeout_s)),
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": _user_agent()},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpxSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, request: WebhookRequest) -> SendResult:
        started = time.monotonic()

        def elapsed_ms() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            with self._client.stream(
                "POST", request.url, content=request.body, headers=list(request.headers)
            ) as response:
                answer = self._read(response, started)
                code = response.status_code
        except TimeoutError:
            return SendResult(None, elapsed_ms(), f"no answer within {self.timeout_s:g} s")
        except httpx.TimeoutException as exc:
            what = type(exc).__name__  # ConnectTimeout, ReadTimeout, WriteTimeout, PoolTimeout
            return SendResult(None, elapsed_ms(), f"{what}: no answer within {self.timeout_s:g} s")
        except httpx.HTTPError as exc:  # refused, reset, DNS, TLS, a malformed answer
            return SendResult(None, elapsed_ms(), f"{type(exc).__name__}: {exc}")
        if 200 <= code < 300:
            return SendResult(code, elapsed_ms(), "")
        excerpt = " ".join(answer.decode("utf-8", "replace").split())[:ANSWER_EXCERPT_CHARS]
        reason = response.reason_phrase or ""
        text = f"HTTP {code} {reason}".strip() + (f": {excerpt}" if excerpt else "")
        return SendResult(code, elapsed_ms(), text)

    def _read(self, response: httpx.Response, started: float) -> bytes:
        """At most response_bytes_max of the answer, and only until the total timeout."""
        kept = bytearray()
        for chunk in response.iter_bytes():
            if time.monotonic() - started > self.timeout_s:
                raise TimeoutError
            kept += chunk[: self.response_bytes_max - len(kept)]
            if len(kept) >= self.response_bytes_max:
                break
        return bytes(kept)


@dataclass
class MemorySender:
    """The in-memory twin: records every request and answers from `answers` in turn (a status
    code, None for no answer, or a callable taking the request), repeating the last one."""

    answers: list[int | None | Callable[[WebhookRequest], SendResult]] = field(
        default_factory=lambda: [200]
    )
    sent: list[WebhookRequest] = field(default_factory=list)
    duration_ms: int = 5

    @classmethod
    def answering(cls, *answers: int | None) -> MemorySender:
        return cls(answers=list(answers))

    def send(self, request: WebhookRequest) -> SendResult:
        self.sent.append(request)
        index = min(len(self.sent), len(self.answers)) - 1
        answer = self.answers[index]
        if callable(answer):
            return answer(request)
        if answer is None:
            return SendResult(None, self.duration_ms, "ReadTimeout: no answer within 10 s")
        error = "" if 200 <= answer < 300 else f"HTTP {answer}"
        return SendResult(answer, self.duration_ms, error)

    def headers_of(self, index: int) -> dict[str, str]:
        return dict(self.sent[index].headers)

    def bodies(self) -> Iterable[bytes]:
        return (r.body for r in self.sent)
