"""Named business refusals and invariant errors.

A *rejection* is a business rule saying no to input: it carries a stable code, the record and
field at fault and a reason a billing specialist understands. Interfaces turn it into a message
and a non-zero exit (CLI) or a problem+json response (API). An *invariant error* means the
program itself is wrong: it is never caught to carry on.
"""

from __future__ import annotations

__all__ = [
    "Rejection",
    "InvariantError",
    "UnknownCurrency",
    "InvalidAmount",
    "NotFound",
    "InvalidState",
    "IdempotencyConflict",
    "InvalidInput",
    "PreconditionFailed",
]


class Rejection(Exception):
    """A business refusal: stable `code`, the `record` and `field` at fault, and a `reason`."""

    code = "rejected"

    def __init__(self, reason: str, *, record: str = "", field: str = "") -> None:
        self.reason = reason
        self.record = record
        self.field = field
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = " ".join(p for p in (self.record, f"field {self.field}" if self.field else "") if p)
        return f"{where}: {self.reason}" if where else self.reason

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "record": self.record,
            "field": self.field,
            "reason": self.reason,
        }


class InvariantError(AssertionError):
    """A broken invariant: a bug or tampering, never a user mistake."""


class InvalidInput(Rejection):
    code = "invalid_input"


class UnknownCurrency(Rejection):
    code = "unknown_currency"

    def __init__(self, currency: str, *, record: str = "", field: str = "currency") -> None:
        super().__init__(
            f"{currency!r} is not an ISO 4217 currency code", record=record, field=field
        )


class InvalidAmount(Rejection):
    code = "invalid_amount"


class NotFound(Rejection):
    code = "not_found"


class InvalidState(Rejection):
    code = "invalid_state"


class IdempotencyConflict(Rejection):
    code = "idempotency_conflict"


class PreconditionFailed(Rejection):
    """A write that names the revision it was based on, when the record has changed since
    (HTTP If-Match): nothing is written, the caller reads the record again."""

    code = "precondition_failed"


class Unauthenticated(Rejection):
    """No valid credentials: a wrong user name or password, an expired session, a bad key."""

    code = "unauthenticated"


class Forbidden(Rejection):
    """Signed in, but the role or the key's scopes do not allow this action or entity."""

    code = "forbidden"


class Throttled(Rejection):
    """Too many failed attempts: try again in `retry_after_s` seconds."""

    code = "throttled"

    def __init__(
        self, reason: str, retry_after_s: int, *, record: str = "", field: str = ""
    ) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(reason, record=record, field=field)


class TwoFactorRequired(Rejection):
    """The password was right; a one-time code is needed, or enrolment in two-factor
    authentication is required first."""

    code = "two_factor_required"
