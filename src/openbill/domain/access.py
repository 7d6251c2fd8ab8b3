"""Access control: roles and the actions they allow, the principal a request acts as, and the
pure policies of signing in (session timeouts, throttling of failed attempts, password rules,
API key scopes).

Roles follow least privilege. A clerk prepares work; a specialist issues, collects and
resolves it; a manager approves, writes off and closes periods. An auditor reads everything,
the audit trail included, and changes nothing. An administrator manages users, API keys and
settings and reads the audit trail, but does not read billing records.

A principal is a signed-in user (its role's actions) or an API key (the scopes it was given),
each limited to the legal entities it may act for. Nothing here reads a database or the clock:
the times are passed in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from openbill.domain.rejections import (
    Forbidden,
    InvalidInput,
    Throttled,
    TwoFactorRequired,
    Unauthenticated,
)

__all__ = [
    "Role",
    "READ",
    "AUDIT_READ",
    "CUSTOMERS_WRITE",
    "CATALOG_WRITE",
    "INVOICES_PREPARE",
    "INVOICES_ISSUE",
    "INVOICES_APPROVE",
    "PAYMENTS_POST",
    "DISPUTES_OPEN",
    "DISPUTES_RESOLVE",
    "DUNNING_RUN",
    "WRITEOFFS_WRITE",
    "PERIODS_CLOSE",
    "USERS_ADMIN",
    "SETTINGS_ADMIN",
    "ACTIONS",
    "ROLE_ACTIONS",
    "Principal",
    "Unauthenticated",
    "Forbidden",
    "Throttled",
    "TwoFactorRequired",
    "SessionPolicy",
    "SessionState",
    "session_state",
    "ThrottlePolicy",
    "USER_THROTTLE",
    "ADDRESS_THROTTLE",
    "throttle",
    "password_problem",
    "check_scopes",
    "check_username",
    "MIN_PASSWORD_CHARS",
    "MAX_PASSWORD_CHARS",
    "MAX_USERNAME_CHARS",
]


class Role(StrEnum):
    CLERK = "clerk"
    SPECIALIST = "specialist"
    MANAGER = "manager"
    AUDITOR = "auditor"
    ADMINISTRATOR = "administrator"


# Actions. A use case, API route or page names the one it needs.
READ = "read"  # read every record of the entity (not the audit trail)
AUDIT_READ = "audit.read"  # read the audit trail
CUSTOMERS_WRITE = "customers.write"  # customers, mail preferences
CATALOG_WRITE = "catalog.write"  # charge codes, prices, tax rules
INVOICES_PREPARE = "invoices.prepare"  # drafts, contracts, POs, deliveries, verification
INVOICES_ISSUE = "invoices.issue"  # issue, void by credit note, export, send
INVOICES_APPROVE = "invoices.approve"
PAYMENTS_POST = "payments.post"  # payments, refunds, reversals, bank import, matching, fx rates
DISPUTES_OPEN = "disputes.open"
DISPUTES_RESOLVE = "disputes.resolve"
DUNNING_RUN = "dunning.run"
WRITEOFFS_WRITE = "writeoffs.write"
PERIODS_CLOSE = "periods.close"
USERS_ADMIN = "users.admin"  # users, roles, API keys
SETTINGS_ADMIN = "settings.admin"  # settings, webhooks

ACTIONS: tuple[str, ...] = (
    READ,
    AUDIT_READ,
    CUSTOMERS_WRITE,
    CATALOG_WRITE,
    INVOICES_PREPARE,
    INVOICES_ISSUE,
    INVOICES_APPROVE,
    PAYMENTS_POST,
    DISPUTES_OPEN,
    DISPUTES_RESOLVE,
    DUNNING_RUN,
    WRITEOFFS_WRITE,
    PERIODS_CLOSE,
    USERS_ADMIN,
    SETTINGS_ADMIN,
)

_CLERK = frozenset({READ, CUSTOMERS_WRITE, INVOICES_PREPARE, DISPUTES_OPEN})
_SPECIALIST = _CLERK | {INVOICES_ISSUE, PAYMENTS_POST, DISPUTES_RESOLVE, DUNNING_RUN, CATALOG_WRITE}
_MANAGER = _SPECIALIST | {INVOICES_APPROVE, WRITEOFFS_WRITE, PERIODS_CLOSE, AUDIT_READ}

ROLE_ACTIONS: Mapping[Role, frozenset[str]] = MappingProxyType(
    {
        Role.CLERK: _CLERK,
        Role.SPECIALIST: _SPECIALIST,
        Role.MANAGER: _MANAGER,
        Role.AUDITOR: frozenset({READ, AUDIT_READ}),
        Role.ADMINISTRATOR: frozenset({USERS_ADMIN, SETTINGS_ADMIN, AUDIT_READ}),
    }
)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as."""

    kind: str  # "user" or "api_key"
    id: int
    name: str  # the username, or "api-key:<name>"
    role: Role | None  # None for API keys
    entities: frozenset[str]  # legal entity codes this principal may act for
    scopes: frozenset[str]  # API keys: the actions granted; users: ROLE_ACTIONS[role]

    def may(self, action: str) -> bool:
        return action in self.scopes

    def may_entity(self, code: str) -> bool:
        return code in self.entities


# ---------------------------------------------------------------------------------------------
# sessions

SessionState = Literal["active", "idle_expired", "absolute_expired"]


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """A session ends after `idle_timeout_s` without a request, and `absolute_timeout_s` after
    it began whatever happens (30 minutes and 12 hours)."""

    idle_timeout_s: int = 1800
    absolute_timeout_s: int = 43200

    def __post_init__(self) -> None:
        if self.idle_timeout_s <= 0 or self.absolute_timeout_s <= 0:
            raise InvalidInput("session timeouts are positive numbers of seconds")


def session_state(
    created_at: datetime,
    last_seen_at: datetime,
    now: datetime,
    policy: SessionPolicy = SessionPolicy(),
) -> SessionState:
    """The state of a session: expired at a bound itself, "active" while both are ahead."""
    if now - created_at >= timedelta(seconds=policy.absolute_timeout_s):
        return "absolute_expired"
    if now - last_seen_at >= timedelta(seconds=policy.idle_timeout_s):
        return "idle_expired"
    return "active"


# ---------------------------------------------------------------------------------------------
# throttling of failed sign-ins


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """After `max_failures` failed attempts within `window_s` seconds, further attempts are
    refused until `lockout_s` seconds after the last failure."""

    window_s: int = 900
    max_failures: int = 5
    lockout_s: int = 900

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.max_failures <= 0 or self.lockout_s <= 0:
            raise InvalidInput("throttling bounds are positive numbers")


USER_THROTTLE = ThrottlePolicy()  # per user name
ADDRESS_THROTTLE = ThrottlePolicy(max_failures=20)  # per remote address, over every user name


def throttle(
    failures: Sequence[datetime], now: datetime, policy: ThrottlePolicy = USER_THROTTLE
) -> int:
    """Seconds to wait before the next attempt (0: it may go ahead).

    Locked when at least `max_failures` failures fall within `window_s` seconds ending at the
    last failure, until `lockout_s` seconds after that last failure. The caller passes the
    failures that count (those since the last success, for a user name)."""
    if len(failures) < policy.max_failures:
        return 0
    last = max(failures)
    window_start = last - timedelta(seconds=policy.window_s)
    recent = sum(1 for f in failures if window_start < f <= last)
    if recent < policy.max_failures:
        return 0
    remaining = (last + timedelta(seconds=policy.lockout_s) - now).total_seconds()
    return math.ceil(remaining) if remaining > 0 else 0


# ---------------------------------------------------------------------------------------------
# passwords, user names, API key scopes

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024  # longer input is refused before it reaches the hash function
MAX_USERNAME_CHARS = 64
_USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-@")


def password_problem(password: str, username: str) -> str | None:
    """Why a password is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"a password needs at least {MIN_PASSWORD_CHARS} characters"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"a password has at most {MAX_PASSWORD_CHARS} characters"
    name = username.strip().casefold()
    if name and name in password.casefold():
        return "the password must not be or contain the user name"
    return None


def check_username(text: str) -> str:
    """The user name in lower case, or a refusal: 1 to 64 of a-z, 0-9 and . _ - @."""
    name = text.strip().lower()
    if not name or len(name) > MAX_USERNAME_CHARS:
        raise InvalidInput(
            f"a user name has 1 to {MAX_USERNAME_CHARS} characters", record="user", field="username"
        )
    if not set(name) <= _USERNAME_CHARS or not name[0].isalnum():
        raise InvalidInput(
            f"{text!r} is not a user name: use letters, digits and . _ - @, starting with a "
            "letter or digit",
            record="user",
            field="username",
        )
    return name


def check_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """The scopes of an API key: known actions only, at least one."""
    given = [s.strip() for s in scopes if s.strip()]
    if not given:
        raise InvalidInput(
            f"give at least one scope; allowed: {', '.join(ACTIONS)}",
            record="API key",
            field="scopes",
        )
    for scope in given:
        if scope not in ACTIONS:
            raise InvalidInput(
                f"{scope!r} is not a scope; allowed: {', '.join(ACTIONS)}",
                record="API key",
                field="scopes",
            )
    return frozenset(given)
