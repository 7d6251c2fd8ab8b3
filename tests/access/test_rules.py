"""The pure rules of access control: the role matrix (written out here by hand), principals,
session timeouts and throttling at and around each bound, passwords, user names, scopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbill.domain import access as ac
from openbill.domain.access import (
    ACTIONS,
    ADDRESS_THROTTLE,
    ROLE_ACTIONS,
    USER_THROTTLE,
    Principal,
    Role,
    SessionPolicy,
    ThrottlePolicy,
    check_scopes,
    check_username,
    password_problem,
    session_state,
    throttle,
)
from openbill.domain.rejections import InvalidInput, Rejection

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)

# role -> allowed actions, by hand from the brief (least privilege).
CLERK = {"read", "customers.write", "invoices.prepare", "disputes.open"}
SPECIALIST = CLERK | {
    "invoices.issue",
    "payments.post",
    "disputes.resolve",
    "dunning.run",
    "catalog.write",
}
MANAGER = SPECIALIST | {"invoices.approve", "writeoffs.write", "periods.close", "audit.read"}
MATRIX = {
    "clerk": CLERK,
    "specialist": SPECIALIST,
    "manager": MANAGER,
    "auditor": {"read", "audit.read"},
    "administrator": {"users.admin", "settings.admin", "audit.read"},
}
ALL = {
    "read",
    "audit.read",
    "customers.write",
    "catalog.write",
    "invoices.prepare",
    "invoices.issue",
    "invoices.approve",
    "payments.post",
    "disputes.open",
    "disputes.resolve",
    "dunning.run",
    "writeoffs.write",
    "periods.close",
    "users.admin",
    "settings.admin",
}


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_the_role_matrix_is_the_one_written_out_by_hand():
    assert {role.value: set(actions) for role, actions in ROLE_ACTIONS.items()} == MATRIX
    assert set(ACTIONS) == ALL and len(ACTIONS) == len(ALL) == 15
    assert [r.value for r in Role] == list(MATRIX)


def test_action_names_are_the_agreed_strings():
    assert (ac.READ, ac.AUDIT_READ, ac.USERS_ADMIN, ac.SETTINGS_ADMIN) == (
        "read",
        "audit.read",
        "users.admin",
        "settings.admin",
    )
    assert ac.INVOICES_PREPARE == "invoices.prepare" and ac.PAYMENTS_POST == "payments.post"


def test_an_auditor_can_change_nothing():
    writes = ALL - {"read", "audit.read"}
    assert ROLE_ACTIONS[Role.AUDITOR] & writes == set()


def test_an_administrator_cannot_read_billing_records():
    admin = ROLE_ACTIONS[Role.ADMINISTRATOR]
    assert "read" not in admin
    assert admin & (ALL - {"users.admin", "settings.admin", "audit.read"}) == set()


def test_only_manager_auditor_and_administrator_read_the_audit_trail():
    assert {r.value for r, acts in ROLE_ACTIONS.items() if "audit.read" in acts} == {
        "manager",
        "auditor",
        "administrator",
    }


def test_the_role_matrix_cannot_be_changed_at_run_time():
    with pytest.raises(TypeError):
        ROLE_ACTIONS[Role.CLERK] = frozenset(ALL)  # type: ignore[index]


def test_a_principal_may_what_its_scopes_say_for_its_entities():
    p = Principal("user", 1, "anna", Role.CLERK, frozenset({"ACME"}), ROLE_ACTIONS[Role.CLERK])
    assert p.may("read") and p.may("invoices.prepare")
    assert not p.may("invoices.issue") and not p.may("audit.read")
    assert p.may_entity("ACME") and not p.may_entity("BETA")
    key = Principal("api_key", 5, "api-key:erp", None, frozenset({"ACME"}), frozenset({"read"}))
    assert key.may("read") and not key.may("customers.write")


def test_refusals_have_their_codes():
    assert ac.Unauthenticated("x").code == "unauthenticated"
    assert ac.Forbidden("x").code == "forbidden"
    assert ac.TwoFactorRequired("x").code == "two_factor_required"
    throttled = ac.Throttled("wait", 42)
    assert throttled.code == "throttled" and throttled.retry_after_s == 42
    assert all(issubclass(c, Rejection) for c in (ac.Unauthenticated, ac.Throttled))


# sessions: 30 minutes idle, 12 hours at most


def test_session_idle_bound():
    policy = SessionPolicy()
    assert (policy.idle_timeout_s, policy.absolute_timeout_s) == (1800, 43200)
    assert session_state(T0, T0, s(1799), policy) == "active"
    assert session_state(T0, T0, s(1800), policy) == "idle_expired"
    assert session_state(T0, T0, s(1801), policy) == "idle_expired"
    # seen again at 09:20: idle from then on
    assert session_state(T0, s(1200), s(2999), policy) == "active"
    assert session_state(T0, s(1200), s(3000), policy) == "idle_expired"


def test_session_absolute_bound_wins_over_recent_activity():
    policy = SessionPolicy()
    assert session_state(T0, s(43199), s(43199), policy) == "active"  # 20:59:59
    assert session_state(T0, s(43199), s(43200), policy) == "absolute_expired"  # 21:00:00
    assert session_state(T0, T0, s(43200), policy) == "absolute_expired"  # both: absolute


def test_session_policy_bounds_are_positive():
    with pytest.raises(InvalidInput):
        SessionPolicy(idle_timeout_s=0)


# throttling: 5 failures within 15 minutes lock for 15 minutes after the last


def test_four_failures_never_lock():
    assert throttle([s(0), s(1), s(2), s(3)], s(3)) == 0


def test_five_failures_lock_until_fifteen_minutes_after_the_last():
    failures = [s(0), s(1), s(2), s(3), s(4)]
    assert throttle(failures, s(4)) == 900
    assert throttle(failures, s(5)) == 899
    assert throttle(failures, s(4 + 899)) == 1
    assert throttle(failures, s(4 + 899.5)) == 1  # a part of a second is a second to wait
    assert throttle(failures, s(4 + 900)) == 0
    assert throttle(failures, s(4 + 901)) == 0


def test_the_window_ends_at_the_last_failure():
    # 0, 100, 200, 300, 900: the first is exactly 900 s before the last, outside the window
    assert throttle([s(0), s(100), s(200), s(300), s(900)], s(900)) == 0
    # 1 s later it is inside: five within the window, locked for 900 s from the last
    assert throttle([s(1), s(100), s(200), s(300), s(900)], s(900)) == 900
    assert throttle([s(1), s(100), s(200), s(300), s(900)], s(1799)) == 1


def test_failures_after_a_lock_expired_start_again():
    old = [s(0), s(1), s(2), s(3), s(4)]
    # one more failure at 1000 s: the old five are outside its window
    assert throttle([*old, s(1000)], s(1000)) == 0


def test_the_address_bound_is_twenty():
    assert (ADDRESS_THROTTLE.max_failures, ADDRESS_THROTTLE.window_s) == (20, 900)
    assert (USER_THROTTLE.max_failures, USER_THROTTLE.lockout_s) == (5, 900)
    nineteen = [s(i) for i in range(19)]
    assert throttle(nineteen, s(19), ADDRESS_THROTTLE) == 0
    assert throttle([*nineteen, s(19)], s(19), ADDRESS_THROTTLE) == 900


def test_throttle_policy_bounds_are_positive():
    with pytest.raises(InvalidInput):
        ThrottlePolicy(max_failures=0)


@given(
    recent=st.lists(st.integers(min_value=0, max_value=899_999), min_size=5, max_size=30),
    older=st.lists(st.integers(min_value=900_000, max_value=10**8), max_size=10),
)
def test_a_sixth_failure_within_the_window_is_never_allowed(recent, older):
    """Any five (or more) failures within the last 15 minutes: the next attempt must wait, and
    never longer than the lockout."""
    now = s(10**5)
    failures = [now - timedelta(milliseconds=ms) for ms in recent + older]
    wait = throttle(failures, now)
    assert 0 < wait <= USER_THROTTLE.lockout_s


@given(st.lists(st.integers(min_value=0, max_value=10**7), max_size=4))
def test_fewer_than_five_failures_are_always_allowed(offsets):
    now = s(10**7)
    assert throttle([s(o) for o in offsets], now) == 0


# passwords, user names, scopes


def test_password_bounds():
    assert password_problem("a" * 11, "anna") == "a password needs at least 12 characters"
    assert password_problem("a" * 12, "anna") is None
    assert password_problem("a" * 1024, "anna") is None
    assert password_problem("a" * 1025, "anna") == "a password has at most 1024 characters"


def test_a_password_must_not_contain_the_user_name():
    reason = "the password must not be or contain the user name"
    assert password_problem("annabellelee", "annabellelee") == reason
    assert password_problem("my-ANNA-password", "anna") == reason
    assert password_problem("my-hanna-password", "bob") is None


def test_user_names_are_lower_case_and_plain():
    assert check_username("  Anna.Meyer@ACME ") == "anna.meyer@acme"
    for bad in ("", "a" * 65, "anna meyer", ".anna", "anna;drop"):
        with pytest.raises(InvalidInput):
            check_username(bad)
    assert check_username("a" * 64) == "a" * 64


def test_scopes_are_known_actions():
    assert check_scopes(["read", " invoices.issue "]) == {"read", "invoices.issue"}
    with pytest.raises(InvalidInput) as refused:
        check_scopes(["read", "invoices.delete"])
    assert "'invoices.delete' is not a scope" in refused.value.reason
    assert "allowed: read, audit.read, customers.write" in refused.value.reason
    with pytest.raises(InvalidInput, match="at least one scope"):
        check_scopes([])
