"""Access control: users and their roles, signing in and out, sessions, two-factor
authentication, API keys, and the audit of refused permissions.

A user has one role (`domain.access.Role`) and acts for the legal entities given to them. They
sign in with a user name and a password, and a 6-digit code from an authenticator app when
they are enrolled in two-factor authentication (TOTP) or it is required of them or of
everyone. Signing in gives a session token; only its SHA-256 is stored. A session ends when
the user signs out, after `SessionPolicy.idle_timeout_s` without a request, or
`SessionPolicy.absolute_timeout_s` after it began.

Failed sign-ins are throttled per user name (5 within 15 minutes lock it for 15 minutes after
the last one) and per remote address (20). A failure is recorded, in `login_attempts` and in
the audit trail, and committed before the refusal is raised: an attacker cannot make their
attempts vanish by failing. A wrong user name, a wrong password and a disabled user get the
same message, and an unknown user name costs a password verification too, so that neither
the message nor the time taken tells which user names exist.

An API key belongs to one legal entity and carries scopes (the actions it may do). It is shown
once when created (`obk_` and 43 characters); only its SHA-256 and its first 8 characters are
kept. No password, hash, token or TOTP secret ever reaches the audit trail.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn
from weakref import WeakKeyDictionary

from openbill.domain.access import (
    ACTIONS,
    ADDRESS_THROTTLE,
    MAX_PASSWORD_CHARS,
    MAX_USERNAME_CHARS,
    ROLE_ACTIONS,
    USER_THROTTLE,
    Principal,
    Role,
    SessionPolicy,
    check_scopes,
    check_username,
    password_problem,
    session_state,
    throttle,
)
from openbill.domain.rejections import (
    InvalidInput,
    InvalidState,
    NotFound,
    Rejection,
    Throttled,
    TwoFactorRequired,
    Unauthenticated,
)
from openbill.ports import OneTimeCodes, PasswordHasher, UnitOfWork
from openbill.usecases._support import MAX_LIST_ROWS, audit, choice, entity_by_code

__all__ = [
    "AddUser",
    "UserAdded",
    "SetPassword",
    "SetRole",
    "SetEntities",
    "DisableUser",
    "RequireTwoFactor",
    "UserChanged",
    "UserView",
    "TotpEnrolment",
    "ConfirmTotp",
    "LogIn",
    "LoggedIn",
    "CreateApiKey",
    "ApiKeyCreated",
    "ApiKeyView",
    "add_user",
    "set_password",
    "set_role",
    "set_entities",
    "disable_user",
    "list_users",
    "require_two_factor",
    "two_factor_for_everyone",
    "enrol_totp",
    "confirm_totp",
    "log_in",
    "session_principal",
    "log_out",
    "create_api_key",
    "api_key_principal",
    "revoke_api_key",
    "list_api_keys",
    "record_refusal",
    "token_hash",
    "WRONG_CREDENTIALS",
    "CODE_NEEDED",
    "CODE_USED",
    "ATTEMPTS_KEPT_S",
    "IDEMPOTENCY_KEYS_KEPT_S",
    "Pruned",
    "prune",
    "ENROL_FIRST",
    "LAST_SEEN_RESOLUTION_S",
    "API_KEY_PREFIX",
]

# Bounds (DESIGN.md principle 8).
LAST_SEEN_RESOLUTION_S = 60  # a session's last_seen_at, a key's last_used_at: one write a minute
MAX_ADDRESS_CHARS = 64  # an IPv6 address with its zone fits
MAX_DISPLAY_NAME_CHARS = 200
MAX_TOKEN_CHARS = 200  # longer is not one of ours: refused without a lookup
MIN_REASON_CHARS = 3
MAX_REASON_CHARS = 500
MAX_API_KEY_NAME_CHARS = 48  # "api-key:<name>" stays within an audit record id (64)
MAX_CREATED_BY_CHARS = 100
MAX_ENTITIES_PER_USER = 100
MAX_FAILURES_READ = 100  # the most recent failures throttling looks at; it needs 20 at most
MAX_TARGET_CHARS = 500
MAX_CODE_CHARS = 16
TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 256 bits, 43 characters
API_KEY_PREFIX = "obk_"
API_KEY_SHOWN_CHARS = 8  # the first characters of a key, kept to tell keys apart in lists
TOTP_ISSUER = "openbill"
TWO_FACTOR_SETTING = "two_factor_required"

WRONG_CREDENTIALS = "wrong user name or password"
CODE_NEEDED = "enter the 6-digit code from your authenticator app"
ENROL_FIRST = "two-factor authentication is required: ask an administrator to enrol you"
WRONG_CODE = "the code is not right: enter the code your authenticator app shows now"
CODE_USED = "that code was used already: wait for the next code your authenticator app shows"

# How long housekeeping (`prune`) keeps what only the moment needs. Sign-in attempts serve
# throttling, which looks back 30 minutes at most; the audit trail keeps every sign-in and
# failure for good. An API Idempotency-Key answers a retry for a day, as payment APIs do; the
# documents and payments a key made stay idempotent in their own use cases after that.
ATTEMPTS_KEPT_S = 7 * 86400
IDEMPOTENCY_KEYS_KEPT_S = 86400

# Reasons of failed sign-ins that count towards throttling. Attempts refused while throttled,
# and a right password of a user not yet enrolled in a required second factor, do not.
_COUNTED = ("unknown_user", "wrong_password", "disabled", "wrong_code", "code_reused")
_ALLOWED_NAME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


# ---------------------------------------------------------------------------------------------
# commands and results


@dataclass(frozen=True, slots=True)
class AddUser:
    username: str
    display_name: str
    role: str  # a Role value
    entities: tuple[str, ...]  # legal entity codes
    password: str


@dataclass(frozen=True, slots=True)
class UserAdded:
    user_id: int
    username: str


@dataclass(frozen=True, slots=True)
class SetPassword:
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class SetRole:
    username: str
    role: str


@dataclass(frozen=True, slots=True)
class SetEntities:
    username: str
    entities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DisableUser:
    username: str
    reason: str


@dataclass(frozen=True, slots=True)
class RequireTwoFactor:
    username: str | None  # None: every user
    required: bool


@dataclass(frozen=True, slots=True)
class UserChanged:
    username: str  # "(everyone)" for a setting of every user
    change: str  # what changed, in words
    sessions_ended: int = 0


@dataclass(frozen=True, slots=True)
class UserView:
    username: str
    display_name: str
    role: str
    entities: tuple[str, ...]
    two_factor: bool  # enrolled: a confirmed TOTP secret
    two_factor_required: bool  # of this user, or of everyone
    disabled: bool


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    secret: str  # base32, for typing into an authenticator app
    uri: str  # otpauth://, for a QR code


@dataclass(frozen=True, slots=True)
class ConfirmTotp:
    username: str
    code: str


@dataclass(frozen=True, slots=True)
class LogIn:
    username: str
    password: str
    code: str = ""  # the one-time code, when two-factor authentication applies
    address: str = ""  # the remote address


@dataclass(frozen=True, slots=True)
class LoggedIn:
    token: str  # the session token: the caller hands it to the client, nobody stores it
    principal: Principal
    user_id: int


@dataclass(frozen=True, slots=True)
class CreateApiKey:
    entity: str
    name: str
    scopes: tuple[str, ...]
    created_by: str = ""  # empty: the unit of work's actor


@dataclass(frozen=True, slots=True)
class ApiKeyCreated:
    key_id: int
    token: str  # shown once; only its SHA-256 is kept
    prefix: str


@dataclass(frozen=True, slots=True)
class ApiKeyView:
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool
    entity: str = ""


# ---------------------------------------------------------------------------------------------
# shared steps


def token_hash(token: str) -> str:
    """How a session token or API key is stored: SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _utc(moment: datetime) -> datetime:
    """SQLite gives stored times back without their zone (they are UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _now(uow: UnitOfWork) -> datetime:
    return _utc(uow.clock.now())


def _lock(uow: UnitOfWork) -> None:
    """Take the chain heads first: writers are served one after the other (PostgreSQL; SQLite's
    write lock already does), so two people adding the same user name never race."""
    uow.chains.head("audit")


def _user(uow: UnitOfWork, username: str) -> Any:
    name = username.strip().lower()
    row = uow.access.user_by_name(name) if name else None
    if row is None:
        raise NotFound(
            f"no user named {username!r}; list them with openbill users list",
            record="user",
            field="username",
        )
    return row


def _entity_ids(uow: UnitOfWork, codes: Iterable[str], record: str) -> dict[str, int]:
    wanted = sorted({c.strip() for c in codes if c.strip()})
    if len(wanted) > MAX_ENTITIES_PER_USER:
        raise InvalidInput(
            f"at most {MAX_ENTITIES_PER_USER} legal entities per user",
            record=record,
            field="entity",
        )
    out: dict[str, int] = {}
    for code in wanted:
        row = uow.entities.by_code(code)
        if row is None:
            raise NotFound(f"no legal entity with code {code!r}", record=record, field="entity")
        out[code] = int(row.id)
    return out


def _password(password: str, username: str, record: str) -> str:
    problem = password_problem(password, username)
    if problem is not None:
        raise InvalidInput(problem, record=record, field="password")
    return password


def _reason(text: str, record: str) -> str:
    reason = " ".join(text.split())
    if not MIN_REASON_CHARS <= len(reason) <= MAX_REASON_CHARS:
        raise InvalidInput(
            f"give a reason of {MIN_REASON_CHARS} to {MAX_REASON_CHARS} characters",
            record=record,
            field="reason",
        )
    return reason


def _keep_an_administrator(uow: UnitOfWork, user: Any, record: str) -> None:
    """Refuse to take away the last active administrator: nobody could manage users."""
    if user.role == Role.ADMINISTRATOR and user.disabled_at is None:
        if uow.access.active_administrators() <= 1:
            raise InvalidState(
                f"{user.username} is the only active administrator; make another user "
                "administrator first",
                record=record,
                field="role",
            )


def _everyone(uow: UnitOfWork) -> bool:
    return bool(uow.access.setting(TWO_FACTOR_SETTING) == "true")


def _enrolled(user: Any) -> bool:
    return bool(user.totp_secret) and bool(user.totp_confirmed)


def _user_principal(uow: UnitOfWork, user: Any) -> Principal:
    role = Role(user.role)
    return Principal(
        kind="user",
        id=int(user.id),
        name=str(user.username),
        role=role,
        entities=frozenset(uow.access.entity_codes(user.id)),
        scopes=ROLE_ACTIONS[role],
    )


# ---------------------------------------------------------------------------------------------
# users


def add_user(uow: UnitOfWork, hasher: PasswordHasher, cmd: AddUser) -> UserAdded:
    username = check_username(cmd.username)
    record = f"user {username}"
    role = choice(cmd.role, Role, record, "role")
    display = " ".join(cmd.display_name.split()) or username
    if len(display) > MAX_DISPLAY_NAME_CHARS:
        raise InvalidInput(
            f"at most {MAX_DISPLAY_NAME_CHARS} characters", record=record, field="display_name"
        )
    password = _password(cmd.password, username, record)
    with uow:
        _lock(uow)
        if uow.access.user_by_name(username) is not None:
            raise InvalidState(
                f"a user named {username} exists already", record=record, field="username"
            )
        entities = _entity_ids(uow, cmd.entities, record)
        now = _now(uow)
        user_id = int(
            uow.access.add_user(
                {
                    "username": username,
                    "display_name": display,
                    "role": role,
                    "password_hash": hasher.hash(password),
                    "totp_secret": None,
                    "totp_confirmed": False,
                    "two_factor_required": False,
                    "disabled_at": None,
                    "created_at": now,
                    "password_changed_at": now,
                }
            )
        )
        uow.access.set_entities(user_id, entities.values())
        after = {
            "username": username,
            "display_name": display,
            "role": role,
            "entities": sorted(entities),
        }
        audit(uow, None, "user_added", "user", username, None, after)
        uow.commit()
        return UserAdded(user_id, username)


def set_password(uow: UnitOfWork, hasher: PasswordHasher, cmd: SetPassword) -> UserChanged:
    """A new password; it ends the user's sessions."""
    with uow:
        _lock(uow)
        user = _user(uow, cmd.username)
        record = f"user {user.username}"
        password = _password(cmd.password, user.username, record)
        now = _now(uow)
        uow.access.update_user(
            user.id, {"password_hash": hasher.hash(password), "password_changed_at": now}
        )
        ended = int(uow.access.end_sessions_of(user.id, now, "password_changed"))
        after = {"username": user.username, "sessions_ended": ended}
        audit(uow, None, "password_set", "user", user.username, None, after)
        uow.commit()
        return UserChanged(user.username, "password set", ended)


def set_role(uow: UnitOfWork, cmd: SetRole) -> UserChanged:
    with uow:
        _lock(uow)
        user = _user(uow, cmd.username)
        record = f"user {user.username}"
        role = choice(cmd.role, Role, record, "role")
        if role == user.role:
            return UserChanged(user.username, f"role stays {role}")
        _keep_an_administrator(uow, user, record)
        uow.access.update_user(user.id, {"role": role})
        audit(uow, None, "role_set", "user", user.username, {"role": user.role}, {"role": role})
        uow.commit()
        return UserChanged(user.username, f"role {user.role} -> {role}")


def set_entities(uow: UnitOfWork, cmd: SetEntities) -> UserChanged:
    with uow:
        _lock(uow)
        user = _user(uow, cmd.username)
        record = f"user {user.username}"
        entities = _entity_ids(uow, cmd.entities, record)
        before = list(uow.access.entity_codes(user.id))
        after = sorted(entities)
        if before == after:
            return UserChanged(user.username, f"entities stay {', '.join(after) or '(none)'}")
        uow.access.set_entities(user.id, entities.values())
        audit(
            uow,
            None,
            "entities_set",
            "user",
            user.username,
            {"entities": before},
            {"entities": after},
        )
        uow.commit()
        return UserChanged(
            user.username,
            f"entities {', '.join(before) or '(none)'} -> {', '.join(after) or '(none)'}",
        )


def disable_user(uow: UnitOfWork, cmd: DisableUser) -> UserChanged:
    """The user can no longer sign in; their sessions end at once."""
    with uow:
        _lock(uow)
        user = _user(uow, cmd.username)
        record = f"user {user.username}"
        reason = _reason(cmd.reason, record)
        if user.disabled_at is not None:
            raise InvalidState(
                f"{user.username} was disabled on {_utc(user.disabled_at):%Y-%m-%d}",
                record=record,
                field="disabled",
            )
        _keep_an_administrator(uow, user, record)
        now = _now(uow)
        uow.access.update_user(user.id, {"disabled_at": now})
        ended = int(uow.access.end_sessions_of(user.id, now, "disabled"))
        after = {"disabled": True, "reason": reason, "sessions_ended": ended}
        audit(uow, None, "user_disabled", "user", user.username, {"disabled": False}, after)
        uow.commit()
        return UserChanged(user.username, "disabled", ended)


def list_users(uow: UnitOfWork) -> tuple[UserView, ...]:
    with uow:
        everyone = _everyone(uow)
        codes = uow.access.entity_codes_by_user()
        return tuple(
            UserView(
                username=u.username,
                display_name=u.display_name,
                role=u.role,
                entities=tuple(codes.get(int(u.id), ())),
                two_factor=_enrolled(u),
                two_factor_required=everyone or bool(u.two_factor_required),
                disabled=u.disabled_at is not None,
            )
            for u in uow.access.users(MAX_LIST_ROWS)
        )


def two_factor_for_everyone(uow: UnitOfWork) -> bool:
    """Whether every user must sign in with a one-time code."""
    with uow:
        return _everyone(uow)


def require_two_factor(uow: UnitOfWork, cmd: RequireTwoFactor) -> UserChanged:
    """Require (or stop requiring) a one-time code of one user, or of everyone (None)."""
    words = "required" if cmd.required else "not required"
    with uow:
        _lock(uow)
        if cmd.username is None:
            before = _everyone(uow)
            uow.access.put_setting(TWO_FACTOR_SETTING, "true" if cmd.required else "false")
            audit(
                uow,
                None,
                "two_factor_required",
                "access_settings",
                TWO_FACTOR_SETTING,
                {"required": before},
                {"required": cmd.required},
            )
            uow.commit()
            return UserChanged("(everyone)", f"two-factor authentication {words} of everyone")
        user = _user(uow, cmd.username)
        uow.access.update_user(user.id, {"two_factor_required": cmd.required})
        audit(
            uow,
            None,
            "two_factor_required",
            "user",
            user.username,
            {"required": bool(user.two_factor_required)},
            {"required": cmd.required},
        )
        uow.commit()
        return UserChanged(user.username, f"two-factor authentication {words}")


def enrol_totp(uow: UnitOfWork, codes: OneTimeCodes, username: str) -> TotpEnrolment:
    """A new TOTP secret for the user, kept unconfirmed until `confirm_totp` sees a code made
    from it. A confirmed secret is replaced (a lost phone): the user enrols again."""
    with uow:
        _lock(uow)
        user = _user(uow, username)
        secret = codes.new_secret()
        uow.access.update_user(user.id, {"totp_secret": secret, "totp_confirmed": False})
        audit(
            uow,
            None,
            "totp_enrolled",
            "user",
            user.username,
            {"two_factor": _enrolled(user)},
            {"two_factor": False, "confirmed": False},
        )
        uow.commit()
        return TotpEnrolment(secret, codes.provisioning_uri(secret, user.username, TOTP_ISSUER))


def confirm_totp(uow: UnitOfWork, codes: OneTimeCodes, cmd: ConfirmTotp) -> UserChanged:
    with uow:
        _lock(uow)
        user = _user(uow, cmd.username)
        record = f"user {user.username}"
        if not user.totp_secret:
            raise InvalidState(
                f"{user.username} is not enrolled; enrol first (openbill users totp)",
                record=record,
                field="totp",
            )
        if user.totp_confirmed:
            return UserChanged(user.username, "two-factor authentication was already confirmed")
        code = cmd.code.strip()[:MAX_CODE_CHARS]
        step = codes.step_of(user.totp_secret, code, _now(uow))
        if step is None:
            raise InvalidInput(WRONG_CODE, record=record, field="code")
        uow.access.update_user(user.id, {"totp_confirmed": True, "totp_last_step": step})
        audit(
            uow,
            None,
            "totp_confirmed",
            "user",
            user.username,
            {"two_factor": False},
            {"two_factor": True},
        )
        uow.commit()
        return UserChanged(user.username, "two-factor authentication confirmed")


# ---------------------------------------------------------------------------------------------
# signing in and out

_DUMMY_HASHES: WeakKeyDictionary[Any, str] = WeakKeyDictionary()


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash of a random password made by this hasher (so with its parameters), verified
    against for unknown user names so that they cost what a wrong password costs."""
    try:
        return _DUMMY_HASHES[hasher]
    except (KeyError, TypeError):
        pass
    made = hasher.hash(secrets.token_urlsafe(TOKEN_BYTES))
    try:
        _DUMMY_HASHES[hasher] = made
    except TypeError:  # a hasher that cannot be weakly referenced: made each time
        pass
    return made


def _wait_words(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _throttle_wait(uow: UnitOfWork, username: str, address: str, now: datetime) -> int:
    """Seconds until a sign-in may be tried again: per user name (failures since the user's
    last success) and per remote address."""
    reach = max(p.window_s + p.lockout_s for p in (USER_THROTTLE, ADDRESS_THROTTLE))
    horizon = now - timedelta(seconds=reach)
    last_ok = uow.access.last_success(username)
    since = max(horizon, _utc(last_ok)) if last_ok is not None else horizon
    by_user = uow.access.failures(
        since=since, reasons=_COUNTED, limit=MAX_FAILURES_READ, username=username
    )
    by_address = uow.access.failures(
        since=horizon, reasons=_COUNTED, limit=MAX_FAILURES_READ, address=address
    )
    return max(
        throttle([_utc(f) for f in by_user], now, USER_THROTTLE),
        throttle([_utc(f) for f in by_address], now, ADDRESS_THROTTLE),
    )


def _attempt(
    uow: UnitOfWork, username: str, address: str, now: datetime, succeeded: bool, reason: str
) -> None:
    uow.access.add_attempt(
        {
            "username": username,
            "address": address,
            "attempted_at": now,
            "succeeded": succeeded,
            "reason": reason,
        }
    )


def _refuse(
    uow: UnitOfWork, username: str, address: str, now: datetime, reason: str, refusal: Rejection
) -> NoReturn:
    """Record the failed attempt and its audit event, commit them, then refuse."""
    _attempt(uow, username, address, now, False, reason)
    after = {"username": username, "address": address, "reason": reason}
    audit(uow, None, "log_in_failed", "user", username, None, after)
    uow.commit()
    raise refusal


def log_in(uow: UnitOfWork, hasher: PasswordHasher, codes: OneTimeCodes, cmd: LogIn) -> LoggedIn:
    username = cmd.username.strip().lower()[:MAX_USERNAME_CHARS]
    address = cmd.address.strip()[:MAX_ADDRESS_CHARS]
    password = cmd.password
    with uow:
        _lock(uow)
        now = _now(uow)
        wait = _throttle_wait(uow, username, address, now)
        if wait:
            refusal = Throttled(f"too many failed sign-ins; try again in {_wait_words(wait)}", wait)
            _refuse(uow, username, address, now, "throttled", refusal)
        user = uow.access.user_by_name(username) if username else None
        if len(password) > MAX_PASSWORD_CHARS:
            right = False  # never set (refused by password_problem), never hashed
        elif user is None:
            hasher.verify(_dummy_hash(hasher), password)
            right = False
        else:
            right = hasher.verify(user.password_hash, password)
        wrong = Unauthenticated(WRONG_CREDENTIALS)
        if user is None:
            _refuse(uow, username, address, now, "unknown_user", wrong)
        if not right:
            _refuse(uow, username, address, now, "wrong_password", wrong)
        if user.disabled_at is not None:
            _refuse(uow, username, address, now, "disabled", wrong)
        enrolled = _enrolled(user)
        if not enrolled and (bool(user.two_factor_required) or _everyone(uow)):
            _refuse(uow, username, address, now, "not_enrolled", TwoFactorRequired(ENROL_FIRST))
        if enrolled:
            code = cmd.code.strip()[:MAX_CODE_CHARS]
            if not code:
                raise TwoFactorRequired(CODE_NEEDED)  # the first step: nothing to record
            step = codes.step_of(user.totp_secret, code, now)
            if step is None:
                _refuse(uow, username, address, now, "wrong_code", Unauthenticated(WRONG_CODE))
            last = user.totp_last_step
            if last is not None and step <= int(last):
                # The code (or an older one) was accepted before: a code is good once.
                _refuse(uow, username, address, now, "code_reused", Unauthenticated(CODE_USED))
            uow.access.update_user(user.id, {"totp_last_step": step})
        token = secrets.token_urlsafe(TOKEN_BYTES)
        session_id = uow.access.add_session(
            {
                "token_hash": token_hash(token),
                "user_id": user.id,
                "address": address,
                "created_at": now,
                "last_seen_at": now,
                "ended_at": None,
                "end_reason": None,
            }
        )
        if hasher.needs_rehash(user.password_hash):
            uow.access.update_user(user.id, {"password_hash": hasher.hash(password)})
        _attempt(uow, username, address, now, True, "ok")
        after = {"username": username, "address": address, "session": int(session_id)}
        audit(uow, None, "log_in", "user", username, None, after)
        principal = _user_principal(uow, user)
        uow.commit()
        return LoggedIn(token, principal, int(user.id))


Writer = Callable[[], UnitOfWork]


def _write(uow: UnitOfWork, writer: Writer | None, change: Callable[[UnitOfWork], Any]) -> None:
    """Make `change` in `uow` (entered) or, given a writer, in a unit of work of its own."""
    if writer is None:
        change(uow)
        uow.commit()
        return
    with writer() as other:
        change(other)
        other.commit()


def session_principal(
    uow: UnitOfWork,
    token: str,
    policy: SessionPolicy = SessionPolicy(),
    writer: Writer | None = None,
) -> Principal | None:
    """Who a session token signs in, or None: unknown, ended, expired (the session is ended
    then) or of a disabled user. Notes the request time, at most once a minute.

    With `writer`, `uow` may be read-only: the rare writes (the note, ending an expired
    session) go through a unit of work of `writer`, so that the requests in between take no
    write lock (on SQLite a writable unit of work begins with BEGIN IMMEDIATE)."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    change: Callable[[UnitOfWork], Any] | None = None
    principal: Principal | None = None
    with uow:
        session = uow.access.session_by_hash(token_hash(token))
        if session is None or session.ended_at is not None:
            return None
        now = _now(uow)
        last_seen = _utc(session.last_seen_at)
        state = session_state(_utc(session.created_at), last_seen, now, policy)
        if state != "active":

            def change(w: UnitOfWork) -> Any:
                return w.access.end_session(session.id, now, state)

        else:
            user = uow.access.user_by_id(session.user_id)
            if user is None or user.disabled_at is not None:
                return None
            principal = _user_principal(uow, user)
            if now - last_seen >= timedelta(seconds=LAST_SEEN_RESOLUTION_S):

                def change(w: UnitOfWork) -> Any:
                    return w.access.touch_session(session.id, now)

        if change is not None and writer is None:
            _write(uow, None, change)
    if change is not None and writer is not None:
        _write(uow, writer, change)
    return principal


def log_out(uow: UnitOfWork, token: str) -> bool:
    """End the session of `token`; False when there was no such session still open."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return False
    with uow:
        session = uow.access.session_by_hash(token_hash(token))
        if session is None or session.ended_at is not None:
            return False
        _lock(uow)
        now = _now(uow)
        if not uow.access.end_session(session.id, now, "logged_out"):
            return False
        user = uow.access.user_by_id(session.user_id)
        name = str(user.username) if user is not None else str(session.user_id)
        audit(uow, None, "log_out", "user", name, None, {"session": int(session.id)})
        uow.commit()
        return True


# ---------------------------------------------------------------------------------------------
# API keys


def _api_key_name(text: str) -> str:
    name = text.strip()
    if not 1 <= len(name) <= MAX_API_KEY_NAME_CHARS or not set(name) <= _ALLOWED_NAME:
        raise InvalidInput(
            f"an API key name has 1 to {MAX_API_KEY_NAME_CHARS} letters, digits and . _ -",
            record="API key",
            field="name",
        )
    return name


def _ordered(scopes: Iterable[str]) -> tuple[str, ...]:
    given = set(scopes)
    return tuple(a for a in ACTIONS if a in given)


def _key_view(row: Any) -> ApiKeyView:
    return ApiKeyView(
        name=row.name,
        prefix=row.prefix,
        scopes=tuple(row.scopes.split()),
        created_at=_utc(row.created_at),
        last_used_at=_utc(row.last_used_at) if row.last_used_at is not None else None,
        revoked=row.revoked_at is not None,
        entity=row.entity_code,
    )


def create_api_key(uow: UnitOfWork, cmd: CreateApiKey) -> ApiKeyCreated:
    name = _api_key_name(cmd.name)
    scopes = _ordered(check_scopes(cmd.scopes))
    record = f"API key {name}"
    with uow:
        _lock(uow)
        entity = entity_by_code(uow, cmd.entity)
        if uow.access.api_key(entity.id, name) is not None:
            raise InvalidState(
                f"{entity.code} has an API key named {name} already (revoked keys keep their "
                "name); choose another name",
                record=record,
                field="name",
            )
        token = API_KEY_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
        prefix = token[:API_KEY_SHOWN_CHARS]
        created_by = (cmd.created_by.strip() or uow.actor)[:MAX_CREATED_BY_CHARS]
        key_id = int(
            uow.access.add_api_key(
                {
                    "entity_id": entity.id,
                    "name": name,
                    "prefix": prefix,
                    "token_hash": token_hash(token),
                    "scopes": " ".join(scopes),
                    "created_at": _now(uow),
                    "created_by": created_by,
                    "last_used_at": None,
                    "revoked_at": None,
                }
            )
        )
        after = {
            "name": name,
            "prefix": prefix,
            "scopes": list(scopes),
            "created_by": created_by,
        }
        audit(uow, entity.id, "api_key_created", "api_key", key_id, None, after)
        uow.commit()
        return ApiKeyCreated(key_id, token, prefix)


def api_key_principal(
    uow: UnitOfWork, token: str, writer: Writer | None = None
) -> Principal | None:
    """Who an API key acts as, or None (unknown or revoked). Notes when it was used, at most
    once a minute: with `writer`, in a unit of work of its own, so that `uow` may be
    read-only (see session_principal)."""
    if not token.startswith(API_KEY_PREFIX) or len(token) > MAX_TOKEN_CHARS:
        return None
    due = False
    with uow:
        key = uow.access.api_key_by_hash(token_hash(token))
        if key is None or key.revoked_at is not None:
            return None
        now = _now(uow)
        due = key.last_used_at is None or now - _utc(key.last_used_at) >= timedelta(
            seconds=LAST_SEEN_RESOLUTION_S
        )

        def change(w: UnitOfWork) -> Any:
            return w.access.update_api_key(key.id, {"last_used_at": now})

        if due and writer is None:
            _write(uow, None, change)
        principal = Principal(
            kind="api_key",
            id=int(key.id),
            name=f"api-key:{key.name}",
            role=None,
            entities=frozenset({str(key.entity_code)}),
            scopes=frozenset(key.scopes.split()),
        )
    if due and writer is not None:
        _write(uow, writer, change)
    return principal


def revoke_api_key(uow: UnitOfWork, entity: str, name: str) -> ApiKeyView:
    with uow:
        _lock(uow)
        row = entity_by_code(uow, entity)
        key = uow.access.api_key(row.id, name.strip())
        record = f"API key {name}"
        if key is None:
            raise NotFound(
                f"{row.code} has no API key named {name!r}; list them with openbill apikeys list",
                record=record,
                field="name",
            )
        if key.revoked_at is not None:
            raise InvalidState(
                f"the key was revoked on {_utc(key.revoked_at):%Y-%m-%d %H:%M} UTC",
                record=record,
                field="revoked",
            )
        now = _now(uow)
        uow.access.update_api_key(key.id, {"revoked_at": now})
        audit(
            uow,
            row.id,
            "api_key_revoked",
            "api_key",
            key.id,
            {"revoked": False},
            {"name": key.name, "prefix": key.prefix, "revoked": True},
        )
        uow.commit()
        return replace(_key_view(key), revoked=True)


def list_api_keys(uow: UnitOfWork, entity: str | None) -> tuple[ApiKeyView, ...]:
    """The API keys of an entity (None: of every entity), revoked ones included."""
    with uow:
        entity_id = entity_by_code(uow, entity).id if entity is not None else None
        return tuple(_key_view(k) for k in uow.access.api_keys(entity_id, MAX_LIST_ROWS))


# ---------------------------------------------------------------------------------------------
# refusals


def record_refusal(uow: UnitOfWork, principal_name: str, action: str, target: str) -> None:
    """Audit a refused permission: who tried what on which record."""
    with uow:
        after = {
            "principal": principal_name[:MAX_TARGET_CHARS],
            "action": action[:MAX_TARGET_CHARS],
            "target": target[:MAX_TARGET_CHARS],
        }
        audit(uow, None, "permission_refused", "access", principal_name[:64], None, after)
        uow.commit()


@dataclass(frozen=True, slots=True)
class Pruned:
    attempts: int  # sign-in attempts forgotten
    idempotency_keys: int  # API requests forgotten (their keys may be used again)


def prune(uow: UnitOfWork) -> Pruned:
    """Housekeeping: forget sign-in attempts older than ATTEMPTS_KEPT_S and API
    Idempotency-Key records older than IDEMPOTENCY_KEYS_KEPT_S. Audited when it forgot any."""
    with uow:
        now = _now(uow)
        attempts = uow.access.delete_attempts_before(now - timedelta(seconds=ATTEMPTS_KEPT_S))
        keys = uow.api_requests.delete_before(now - timedelta(seconds=IDEMPOTENCY_KEYS_KEPT_S))
        if attempts or keys:
            after = {"login_attempts": attempts, "api_requests": keys}
            audit(uow, None, "records_pruned", "housekeeping", "access", None, after)
        uow.commit()
        return Pruned(attempts, keys)
