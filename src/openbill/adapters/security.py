"""Password hashes and one-time codes: the `PasswordHasher` and `OneTimeCodes` ports.

`Argon2Hasher` makes argon2id hashes with argon2-cffi's defaults (RFC 9106's second
recommended profile); tests pass cheaper parameters. A hash made with other parameters still
verifies, and `needs_rehash` says so, so that signing in can upgrade it.

`TotpCodes` are RFC 6238 codes through pyotp: 6 digits, 30-second steps, one step of
tolerance before and after for clocks that drift. `step_of` names the step a code belongs
to, so that signing in can accept each code once (a code seen over someone's shoulder, or
replayed from a proxy's log, is refused).
"""

from __future__ import annotations

import binascii
import hmac
from datetime import datetime
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["Argon2Hasher", "TotpCodes", "TOTP_TOLERANCE_STEPS", "TOTP_DIGITS"]

TOTP_TOLERANCE_STEPS = 1  # one 30-second step either side
TOTP_DIGITS = 6


class Argon2Hasher:
    def __init__(
        self,
        *,
        time_cost: int | None = None,
        memory_cost: int | None = None,
        parallelism: int | None = None,
    ) -> None:
        params: dict[str, Any] = {}
        if time_cost is not None:
            params["time_cost"] = time_cost
        if memory_cost is not None:
            params["memory_cost"] = memory_cost
        if parallelism is not None:
            params["parallelism"] = parallelism
        self._hasher = PasswordHasher(**params)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, hash: str, password: str) -> bool:
        try:
            return bool(self._hasher.verify(hash, password))
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, hash: str) -> bool:
        try:
            return bool(self._hasher.check_needs_rehash(hash))
        except (InvalidHashError, ValueError):
            return True


class TotpCodes:
    def new_secret(self) -> str:
        return pyotp.random_base32()

    def step_of(self, secret: str, code: str, at: datetime) -> int | None:
        code = "".join(code.split())
        if len(code) != TOTP_DIGITS or not code.isdigit():
            return None
        try:
            totp = pyotp.TOTP(secret, digits=TOTP_DIGITS)
            now = totp.timecode(at)
            found = None
            for step in range(now - TOTP_TOLERANCE_STEPS, now + TOTP_TOLERANCE_STEPS + 1):
                # every step compared, in constant time, so the time taken tells nothing
                if hmac.compare_digest(totp.generate_otp(step), code):
                    found = step
            return found
        except (ValueError, TypeError, binascii.Error):  # a secret that is not base32
            return None

    def provisioning_uri(self, secret: str, name: str, issuer: str) -> str:
        return pyotp.TOTP(secret, digits=TOTP_DIGITS).provisioning_uri(
            name=name, issuer_name=issuer
        )
