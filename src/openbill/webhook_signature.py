"""Verify the signature of a webhook from openbill. Standard library only: import it
(`from openbill.webhook_signature import verify`) or copy this file into your receiver.

openbill sends every event as a POST with a JSON body and the header

    Openbill-Signature: t=<unix seconds>,v1=<64 hex digits>

where `v1` is the hex HMAC-SHA256 of `"<t>.<raw body>"`, keyed with the endpoint's secret
(`whsec_...`, the whole text, as UTF-8). While a secret is being rotated the header carries
two `v1=` values, one per secret; either one matching is enough.

    from openbill.webhook_signature import SignatureError, verify

    def receive(request):                      # any web framework
        body = request.body                    # the RAW bytes, before any JSON parsing
        try:
            verify(SECRET, request.headers["Openbill-Signature"], body, time.time())
        except (KeyError, SignatureError):
            return 400
        event = json.loads(body)
        if already_seen(request.headers["Openbill-Delivery"]):   # retries resend the event
            return 200
        ...
        return 200                             # any 2xx; 410 asks openbill to stop sending

Checks, in this order: the header is well formed; its time `t` is within `tolerance_s` of
`now` (300 seconds by default, against replays of an old request); one `v1` signature matches
one of the secrets, compared in constant time. Anything else raises `SignatureError` with the
reason.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime

__all__ = ["SignatureError", "verify", "sign", "DEFAULT_TOLERANCE_S", "HEADER_CHARS_MAX"]

DEFAULT_TOLERANCE_S = 300
HEADER_CHARS_MAX = 1_000  # a header with two signatures has about 150 characters
SIGNATURES_MAX = 8


class SignatureError(ValueError):
    """The request is not a genuine, fresh webhook from openbill."""


def _hmac_hex(secret: str, timestamp: int, body: bytes) -> str:
    content = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode("utf-8"), content, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header openbill would send for `body` at `timestamp` (for testing a receiver)."""
    return f"t={int(timestamp)},v1={_hmac_hex(secret, int(timestamp), body)}"


def _seconds(now: float | int | datetime) -> float:
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise TypeError("now must be an aware datetime (or unix seconds)")
        return now.timestamp()
    return float(now)


def _parse(header: str) -> tuple[int, list[str]]:
    if not isinstance(header, str) or not header:
        raise SignatureError("no signature header")
    if len(header) > HEADER_CHARS_MAX:
        raise SignatureError("the signature header is too long")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise SignatureError("the signature header is not t=...,v1=...")
        if key == "t":
            if timestamp is not None or not value.isdigit() or len(value) > 12:
                raise SignatureError("the signature header has no valid time t=")
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value.lower())
        # Other schemes (a future v2) are ignored, so that receivers keep working.
    if timestamp is None:
        raise SignatureError("the signature header has no time t=")
    if not signatures:
        raise SignatureError("the signature header has no v1= signature")
    if len(signatures) > SIGNATURES_MAX:
        raise SignatureError("the signature header has too many signatures")
    return timestamp, signatures


def verify(
    secret: str | Sequence[str],
    header: str,
    body: bytes,
    now: float | int | datetime,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> int:
    """Check an `Openbill-Signature` header against the raw `body`; return the signed time
    (unix seconds). `secret` may be a list of secrets (during a rotation on your side).
    `now` is unix seconds (`time.time()`) or an aware datetime. Raises SignatureError."""
    if isinstance(body, str):
        raise TypeError("verify the raw body bytes, not a decoded or re-serialised text")
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets or not all(isinstance(s, str) and s for s in secrets):
        raise TypeError("give the endpoint's secret (whsec_...)")
    timestamp, signatures = _parse(header)
    if abs(_seconds(now) - timestamp) > tolerance_s:
        raise SignatureError(
            f"the signature is from {timestamp}, more than {tolerance_s} s from now: "
            "an old request replayed, or a clock that is off"
        )
    expected = [_hmac_hex(s, timestamp, bytes(body)) for s in secrets]
    matched = False
    for candidate in signatures:
        for wanted in expected:
            # Compare every pair, so that the time taken says nothing about which one matched.
            matched |= hmac.compare_digest(candidate.encode(), wanted.encode())
    if not matched:
        raise SignatureError("the signature does not match: wrong secret, or the body changed")
    return timestamp
