"""Users, signing in, throttling, two-factor authentication and sessions on a real book (the
`book` fixture: SQLite, or PostgreSQL on the suite's second pass), with the clock of the
fixture (2026-01-01 09:00 UTC) moved by hand."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pyotp
import pytest
from fixtures_book import ENTITY
from sqlalchemy import select, text

from openbill.adapters.sql import tables as t
from openbill.adapters.sql import tables_access as ta
from openbill.domain.access import ROLE_ACTIONS, Role
from openbill.domain.rejections import (
    InvalidInput,
    InvalidState,
    NotFound,
    Throttled,
    TwoFactorRequired,
    Unauthenticated,
)
from openbill.usecases import access as ua
from openbill.usecases import masterdata as m

PW = "correct horse battery staple"
PW2 = "another long passphrase 42"


def add(book, username="anna", role="clerk", entities=(ENTITY,), password=PW):
    return ua.add_user(
        book.uow(), book.hasher, ua.AddUser(username, "", role, tuple(entities), password)
    )


def log_in(book, username="anna", password=PW, code="", address="10.0.0.1"):
    return ua.log_in(
        book.uow(), book.hasher, book.codes, ua.LogIn(username, password, code, address)
    )


def rows(book, table, *where):
    with book.engine.connect() as conn:
        return conn.execute(select(table).where(*where)).all()


def audit_rows(book, action=None):
    with book.engine.connect() as conn:
        stmt = select(t.audit_events).order_by(t.audit_events.c.chain_seq)
        if action:
            stmt = stmt.where(t.audit_events.c.action == action)
        return conn.execute(stmt).all()


def all_text(book):
    """Every audit row's before and after, and every login attempt, as one text."""
    parts = [f"{r.action} {r.record_id} {r.before} {r.after}" for r in audit_rows(book)]
    parts += [str(tuple(r)) for r in rows(book, ta.login_attempts)]
    return "\n".join(parts)


def current_code(book, secret, seconds=0):
    return pyotp.TOTP(secret).at(book.clock.now() + timedelta(seconds=seconds))


def enrol(book, username="anna"):
    """Enrol and confirm with the code of 30 seconds ago, so that the current code is still
    unused (each code is accepted once)."""
    enrolment = ua.enrol_totp(book.uow(), book.codes, username)
    earlier = current_code(book, enrolment.secret, -30)
    ua.confirm_totp(book.uow(), book.codes, ua.ConfirmTotp(username, earlier))
    return enrolment.secret


# users


def test_add_user_and_log_in_gives_the_principal_with_its_entities(desk):
    m.create_entity(desk.uow(), m.CreateEntity("BETA", "Beta AG", "DE", "EUR"))
    added = add(desk, "Anna", "specialist", (ENTITY, "BETA"))
    assert added.username == "anna"
    add(desk, "carl", "clerk", ("BETA",))
    signed = log_in(desk, "ANNA ")  # user names are not case-sensitive
    p = signed.principal
    assert (p.kind, p.id, p.name, p.role) == ("user", added.user_id, "anna", Role.SPECIALIST)
    assert p.entities == {"ACME", "BETA"} and p.scopes == ROLE_ACTIONS[Role.SPECIALIST]
    assert signed.user_id == added.user_id
    assert len(signed.token) == 43
    assert log_in(desk, "carl").principal.entities == {"BETA"}
    assert ua.session_principal(desk.uow(), signed.token) == p
    session = rows(desk, ta.user_sessions, ta.user_sessions.c.user_id == added.user_id)[0]
    assert session.token_hash == hashlib.sha256(signed.token.encode()).hexdigest()
    assert session.address == "10.0.0.1"
    assert [r.action for r in audit_rows(desk)][-3:] == ["user_added", "log_in", "log_in"]


def test_the_password_is_stored_as_an_argon2id_hash(desk):
    add(desk)
    (user,) = rows(desk, ta.users)
    assert user.password_hash.startswith("$argon2id$")
    assert PW not in user.password_hash
    assert user.totp_secret is None and not user.totp_confirmed


def test_add_user_refusals(desk):
    add(desk)
    with pytest.raises(InvalidState, match="a user named anna exists already"):
        add(desk, "ANNA")
    with pytest.raises(InvalidInput) as refused:
        add(desk, "bob", role="boss")
    assert refused.value.field == "role" and "clerk, specialist, manager" in refused.value.reason
    with pytest.raises(NotFound, match="no legal entity with code 'NOPE'"):
        add(desk, "bob", entities=("NOPE",))
    with pytest.raises(InvalidInput, match="at least 12 characters"):
        add(desk, "bob", password="short")
    with pytest.raises(InvalidInput, match="must not be or contain the user name"):
        add(desk, "bob", password="bob-is-my-password")
    assert [u.username for u in ua.list_users(desk.uow())] == ["anna"]


def test_list_set_role_set_entities(desk):
    m.create_entity(desk.uow(), m.CreateEntity("BETA", "Beta AG", "DE", "EUR"))
    add(desk)
    add(desk, "root", "administrator", ())
    assert ua.set_role(desk.uow(), ua.SetRole("anna", "manager")).change == "role clerk -> manager"
    changed = ua.set_entities(desk.uow(), ua.SetEntities("anna", ("BETA", ENTITY)))
    assert changed.change == "entities ACME -> ACME, BETA"
    ua.require_two_factor(desk.uow(), ua.RequireTwoFactor("root", True))
    anna, root = ua.list_users(desk.uow())
    assert anna == ua.UserView("anna", "anna", "manager", ("ACME", "BETA"), False, False, False)
    assert root == ua.UserView("root", "root", "administrator", (), False, True, False)
    assert log_in(desk).principal.scopes == ROLE_ACTIONS[Role.MANAGER]
    before_after = [(r.before, r.after) for r in audit_rows(desk, "role_set")]
    assert before_after == [('{"role":"clerk"}', '{"role":"manager"}')]


def test_the_last_administrator_stays(desk):
    add(desk, "root", "administrator", ())
    with pytest.raises(InvalidState, match="only active administrator"):
        ua.set_role(desk.uow(), ua.SetRole("root", "clerk"))
    with pytest.raises(InvalidState, match="only active administrator"):
        ua.disable_user(desk.uow(), ua.DisableUser("root", "left the company"))
    add(desk, "root2", "administrator", ())
    ua.disable_user(desk.uow(), ua.DisableUser("root", "left the company"))


# refusals: one message for unknown user, wrong password and disabled user


def test_wrong_password_unknown_user_and_disabled_user_get_the_same_message(desk):
    add(desk)
    add(desk, "bob")
    ua.disable_user(desk.uow(), ua.DisableUser("bob", "left the company"))
    messages = []
    for username, password in (("anna", PW2), ("nobody", PW), ("bob", PW)):
        with pytest.raises(Unauthenticated) as refused:
            log_in(desk, username, password)
        messages.append(str(refused.value))
    assert messages == ["wrong user name or password"] * 3
    attempts = rows(desk, ta.login_attempts)
    assert [(a.username, a.succeeded, a.reason) for a in attempts] == [
        ("anna", False, "wrong_password"),
        ("nobody", False, "unknown_user"),
        ("bob", False, "disabled"),
    ]
    failed = [r.after for r in audit_rows(desk, "log_in_failed")]
    assert failed == [
        '{"address":"10.0.0.1","reason":"wrong_password","username":"anna"}',
        '{"address":"10.0.0.1","reason":"unknown_user","username":"nobody"}',
        '{"address":"10.0.0.1","reason":"disabled","username":"bob"}',
    ]


def test_an_overlong_password_is_refused_like_a_wrong_one(desk):
    add(desk)
    with pytest.raises(Unauthenticated, match="wrong user name or password"):
        log_in(desk, password="x" * 5000)


def test_the_sixth_attempt_is_throttled_even_with_the_right_password(desk):
    add(desk)
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            log_in(desk, password=PW2)
    with pytest.raises(Throttled) as refused:
        log_in(desk)
    # five failures at 09:00:00, locked until 09:15:00
    assert refused.value.retry_after_s == 900
    assert refused.value.code == "throttled"
    assert "try again in 15 minutes" in str(refused.value)
    # the failures were committed although every attempt raised
    reasons = [(a.succeeded, a.reason) for a in rows(desk, ta.login_attempts)]
    assert reasons == [(False, "wrong_password")] * 5 + [(False, "throttled")]
    assert len(audit_rows(desk, "log_in_failed")) == 6
    desk.clock.advance(seconds=899)
    with pytest.raises(Throttled) as refused:
        log_in(desk)
    assert refused.value.retry_after_s == 1
    desk.clock.advance(seconds=1)
    assert log_in(desk).principal.name == "anna"
    # a success starts the count again: one more failure does not lock
    with pytest.raises(Unauthenticated):
        log_in(desk, password=PW2)
    log_in(desk)


def test_throttling_by_address_covers_every_user_name(desk):
    add(desk)
    for i in range(20):
        with pytest.raises(Unauthenticated):
            log_in(desk, f"guess{i}", PW, address="203.0.113.9")
    with pytest.raises(Throttled):
        log_in(desk, address="203.0.113.9")
    assert log_in(desk, address="198.51.100.7").principal.name == "anna"


def test_no_password_token_hash_or_secret_reaches_the_audit_trail(desk):
    add(desk)
    session = log_in(desk).token
    with pytest.raises(Unauthenticated):
        log_in(desk, password=PW2 + "x")
    ua.set_password(desk.uow(), desk.hasher, ua.SetPassword("anna", PW2))
    secret = enrol(desk)
    second = log_in(desk, password=PW2, code=current_code(desk, secret)).token
    key = ua.create_api_key(desk.uow(), ua.CreateApiKey(ENTITY, "erp", ("read",)))
    ua.api_key_principal(desk.uow(), key.token)
    ua.log_out(desk.uow(), second)
    ua.record_refusal(desk.uow(), "anna", "payments.post", "payment 7")
    everything = all_text(desk)
    (user,) = rows(desk, ta.users)
    secrets_ = [PW, PW2, PW2 + "x", session, second, key.token, secret, user.password_hash]
    secrets_ += [hashlib.sha256(s.encode()).hexdigest() for s in (session, second, key.token)]
    for value in secrets_:
        assert value not in everything
    assert {"user_added", "log_in", "log_in_failed", "password_set", "totp_enrolled"} <= {
        r.action for r in audit_rows(desk)
    }


def test_needs_rehash_upgrades_the_hash_at_sign_in(desk):
    from openbill.adapters.security import Argon2Hasher

    add(desk)
    (before,) = rows(desk, ta.users)
    desk.hasher = Argon2Hasher(time_cost=2, memory_cost=8192, parallelism=1)
    log_in(desk)
    (after,) = rows(desk, ta.users)
    assert after.password_hash != before.password_hash and "t=2" in after.password_hash
    log_in(desk)


def test_set_password_ends_sessions_and_the_old_password_stops_working(desk):
    add(desk)
    token = log_in(desk).token
    changed = ua.set_password(desk.uow(), desk.hasher, ua.SetPassword("anna", PW2))
    assert changed.sessions_ended == 1
    assert ua.session_principal(desk.uow(), token) is None
    with pytest.raises(Unauthenticated):
        log_in(desk)
    log_in(desk, password=PW2)
    with pytest.raises(InvalidInput, match="at least 12"):
        ua.set_password(desk.uow(), desk.hasher, ua.SetPassword("anna", "short"))


# two-factor authentication


def test_totp_enrol_confirm_and_sign_in_with_a_code(desk):
    add(desk)
    enrolment = ua.enrol_totp(desk.uow(), desk.codes, "anna")
    assert enrolment.uri.startswith("otpauth://totp/openbill:anna?secret=")
    assert enrolment.secret in enrolment.uri
    # not confirmed yet: the password alone still signs in
    log_in(desk)
    wrong = ua.ConfirmTotp("anna", other_code(desk, enrolment.secret))
    with pytest.raises(InvalidInput, match="the code is not right"):
        ua.confirm_totp(desk.uow(), desk.codes, wrong)
    right = ua.ConfirmTotp("anna", current_code(desk, enrolment.secret, -30))
    assert ua.confirm_totp(desk.uow(), desk.codes, right).change.endswith("confirmed")
    (view,) = ua.list_users(desk.uow())
    assert view.two_factor and not view.two_factor_required

    with pytest.raises(TwoFactorRequired) as refused:
        log_in(desk)
    assert str(refused.value) == "enter the 6-digit code from your authenticator app"
    assert refused.value.code == "two_factor_required"
    with pytest.raises(Unauthenticated):
        log_in(desk, code=other_code(desk, enrolment.secret))
    assert rows(desk, ta.login_attempts)[-1].reason == "wrong_code"
    assert log_in(desk, code=current_code(desk, enrolment.secret)).principal.name == "anna"
    # one 30-second step of tolerance either side, two steps away is wrong
    with pytest.raises(Unauthenticated, match="not right"):
        log_in(desk, code=current_code(desk, enrolment.secret, -60))
    with pytest.raises(Unauthenticated, match="not right"):
        log_in(desk, code=current_code(desk, enrolment.secret, 60))
    assert log_in(desk, code=current_code(desk, enrolment.secret, 30)).principal.name == "anna"


def test_a_code_signs_in_once_and_an_older_one_never_after_it(desk):
    """A code seen over a shoulder or replayed from a log is refused: each 30-second step is
    accepted once, and no step before the last one accepted."""
    add(desk)
    secret = enrol(desk)  # confirmed with the code of the step before now
    with pytest.raises(Unauthenticated, match="used already"):
        log_in(desk, code=current_code(desk, secret, -30))  # the confirming code itself
    assert rows(desk, ta.login_attempts)[-1].reason == "code_reused"
    log_in(desk, code=current_code(desk, secret))
    with pytest.raises(Unauthenticated, match="used already"):
        log_in(desk, code=current_code(desk, secret))
    log_in(desk, code=current_code(desk, secret, 30))  # the next step: still within tolerance
    with pytest.raises(Unauthenticated, match="used already"):
        log_in(desk, code=current_code(desk, secret))  # older than the last one accepted
    desk.clock.advance(seconds=60)  # two steps on: the code of now is new again
    assert log_in(desk, code=current_code(desk, secret)).principal.name == "anna"
    failed = [r.reason for r in rows(desk, ta.login_attempts) if not r.succeeded]
    assert failed == ["code_reused", "code_reused", "code_reused"]


def test_reused_codes_count_towards_throttling(desk):
    add(desk)
    secret = enrol(desk)
    log_in(desk, code=current_code(desk, secret))
    desk.clock.advance(seconds=1)  # the failures come after the success (same 30-second step)
    for _ in range(5):
        with pytest.raises(Unauthenticated, match="used already"):
            log_in(desk, code=current_code(desk, secret))
    with pytest.raises(Throttled):
        log_in(desk, code=current_code(desk, secret, 30))


def other_code(book, secret):
    """A 6-digit code that is none of the three accepted now."""
    valid = {current_code(book, secret, d) for d in (-30, 0, 30)}
    return next(f"{n:06d}" for n in range(10**6) if f"{n:06d}" not in valid)


def test_wrong_codes_count_towards_throttling(desk):
    add(desk)
    secret = enrol(desk)
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            log_in(desk, code=other_code(desk, secret))
    with pytest.raises(Throttled):
        log_in(desk, code=current_code(desk, secret))


def test_two_factor_required_of_everyone_blocks_a_user_not_enrolled(desk):
    add(desk)
    add(desk, "bob")
    changed = ua.require_two_factor(desk.uow(), ua.RequireTwoFactor(None, True))
    assert changed.username == "(everyone)"
    for name in ("anna", "bob"):
        with pytest.raises(TwoFactorRequired) as refused:
            log_in(desk, name)
        assert str(refused.value) == (
            "two-factor authentication is required: ask an administrator to enrol you"
        )
    assert all(u.two_factor_required for u in ua.list_users(desk.uow()))
    secret = enrol(desk, "anna")
    assert log_in(desk, code=current_code(desk, secret)).principal.name == "anna"
    ua.require_two_factor(desk.uow(), ua.RequireTwoFactor(None, False))
    log_in(desk, "bob")
    ua.require_two_factor(desk.uow(), ua.RequireTwoFactor("bob", True))
    with pytest.raises(TwoFactorRequired):
        log_in(desk, "bob")
    actions = [r.record_id for r in audit_rows(desk, "two_factor_required")]
    assert actions == ["two_factor_required", "two_factor_required", "bob"]


# sessions


def test_a_session_expires_after_thirty_idle_minutes(desk):
    add(desk)
    token = log_in(desk).token
    desk.clock.advance(seconds=30)
    assert ua.session_principal(desk.uow(), token) is not None
    (session,) = rows(desk, ta.user_sessions)
    assert session.last_seen_at == session.created_at  # less than 60 s: not written
    desk.clock.advance(seconds=30)
    assert ua.session_principal(desk.uow(), token) is not None  # 60 s: noted, 09:01:00
    desk.clock.advance(seconds=1799)  # 09:30:59, 29:59 idle
    assert ua.session_principal(desk.uow(), token) is not None
    desk.clock.advance(seconds=1800)  # 30:00 after 09:30:59
    assert ua.session_principal(desk.uow(), token) is None
    (session,) = rows(desk, ta.user_sessions)
    assert session.end_reason == "idle_expired" and session.ended_at is not None
    assert ua.session_principal(desk.uow(), token) is None


def test_a_session_ends_twelve_hours_after_it_began_however_busy(desk):
    add(desk)
    token = log_in(desk).token
    for _ in range(28):  # 28 x 25 min = 11 h 40 min, never idle for 30 min
        desk.clock.advance(minutes=25)
        assert ua.session_principal(desk.uow(), token) is not None
    desk.clock.advance(minutes=19, seconds=59)  # 20:59:59
    assert ua.session_principal(desk.uow(), token) is not None
    desk.clock.advance(seconds=1)  # 21:00:00
    assert ua.session_principal(desk.uow(), token) is None
    assert rows(desk, ta.user_sessions)[0].end_reason == "absolute_expired"


def test_log_out_ends_the_session(desk):
    add(desk)
    token = log_in(desk).token
    other = log_in(desk).token
    assert ua.log_out(desk.uow(), token) is True
    assert ua.session_principal(desk.uow(), token) is None
    assert ua.session_principal(desk.uow(), other) is not None
    assert ua.log_out(desk.uow(), token) is False
    assert ua.log_out(desk.uow(), "not-a-token") is False
    ended = rows(desk, ta.user_sessions, ta.user_sessions.c.ended_at.is_not(None))
    assert [s.end_reason for s in ended] == ["logged_out"]
    assert [r.record_id for r in audit_rows(desk, "log_out")] == ["anna"]


def test_disabling_a_user_ends_their_sessions(desk):
    add(desk)
    token = log_in(desk).token
    changed = ua.disable_user(desk.uow(), ua.DisableUser("anna", "left the company"))
    assert (changed.change, changed.sessions_ended) == ("disabled", 1)
    assert ua.session_principal(desk.uow(), token) is None
    assert rows(desk, ta.user_sessions)[0].end_reason == "disabled"
    with pytest.raises(InvalidState, match="was disabled on 2026-01-01"):
        ua.disable_user(desk.uow(), ua.DisableUser("anna", "again"))
    with pytest.raises(InvalidInput, match="give a reason"):
        ua.disable_user(desk.uow(), ua.DisableUser("anna", "x"))
    (view,) = ua.list_users(desk.uow())
    assert view.disabled


def test_unknown_tokens_are_nobody(desk):
    assert ua.session_principal(desk.uow(), "") is None
    assert ua.session_principal(desk.uow(), "x" * 5000) is None
    assert ua.session_principal(desk.uow(), "made-up-token") is None


def test_record_refusal_is_audited(desk):
    ua.record_refusal(desk.uow(), "api-key:erp", "payments.post", "POST /payments")
    (row,) = audit_rows(desk, "permission_refused")
    assert (row.record_type, row.record_id, row.entity_id) == ("access", "api-key:erp", None)
    assert row.after == (
        '{"action":"payments.post","principal":"api-key:erp","target":"POST /payments"}'
    )


def test_audit_chain_still_verifies(desk):
    from fixtures_book import verify_clean

    add(desk)
    with pytest.raises(Unauthenticated):
        log_in(desk, password=PW2)
    log_in(desk)
    verify_clean(desk)
    with desk.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM login_attempts")).scalar_one() == 2
