"""The signature scheme: openbill signs (domain.webhooks), the receiver verifies
(openbill.webhook_signature, standard library only). Two implementations of one scheme,
checked against each other for any body, secret and time, and against values computed
independently with openssl."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import openbill.webhook_signature as receiving
from openbill.domain.webhooks import signature, signature_header
from openbill.webhook_signature import SignatureError, sign, verify

bodies = st.binary(max_size=2048)
secret_texts = st.text(min_size=1, max_size=80).filter(lambda s: "\x00" not in s)
secrets = st.builds(lambda s: "whsec_" + s, secret_texts)
times = st.integers(min_value=0, max_value=10**10)
TOLERANCE_S = 300

# Computed with:  printf '%s' '1767258000.{"id":"evt_1"}' | openssl dgst -sha256 -hmac KEY
OPENSSL = {
    "whsec_example": "e918a3b97a4f647e8606e31b65fe078e389150750e39b05e0a4b1f642647916a",
    "whsec_old": "9fc781e32c81a6548d978e332b67add9ba5dcc4756025df1968c73a623b17d64",
}
BODY = b'{"id":"evt_1"}'
T = 1767258000  # 2026-01-01T09:00:00Z


def test_signatures_match_openssl():
    for key, expected in OPENSSL.items():
        assert signature(key, T, BODY) == expected
        assert sign(key, BODY, T) == f"t={T},v1={expected}"


def test_a_rotation_header_carries_both_signatures_and_either_secret_verifies_it():
    header = signature_header(["whsec_example", "whsec_old"], T, BODY)
    assert header == f"t={T},v1={OPENSSL['whsec_example']},v1={OPENSSL['whsec_old']}"
    assert verify("whsec_example", header, BODY, T) == T
    assert verify("whsec_old", header, BODY, T + 300) == T
    assert verify(["whsec_other", "whsec_old"], header, BODY, T) == T
    with pytest.raises(SignatureError, match="does not match"):
        verify("whsec_third", header, BODY, T)


@given(secret=secrets, body=bodies, t=times, skew=st.integers(-TOLERANCE_S, TOLERANCE_S))
def test_any_body_signed_by_openbill_verifies_within_the_tolerance(secret, body, t, skew):
    header = signature_header([secret], t, body)
    assert verify(secret, header, body, t + skew, tolerance_s=TOLERANCE_S) == t


@given(secret=secrets, body=bodies, t=times, other=bodies)
def test_any_change_of_the_body_fails(secret, body, t, other):
    assume(other != body)
    header = signature_header([secret], t, body)
    with pytest.raises(SignatureError, match="does not match"):
        verify(secret, header, other, t)


@given(secret=secrets, body=bodies, t=times, shift=st.integers(1, TOLERANCE_S))
def test_a_changed_timestamp_fails_even_within_the_tolerance(secret, body, t, shift):
    """Another t= on the same v1 (a replay dressed up as new) does not verify."""
    header = signature_header([secret], t, body)
    forged = header.replace(f"t={t},", f"t={t + shift},", 1)
    with pytest.raises(SignatureError, match="does not match"):
        verify(secret, forged, body, t + shift)


@given(secret=secrets, other=secrets, body=bodies, t=times)
def test_another_secret_fails(secret, other, body, t):
    assume(other != secret)
    header = signature_header([secret], t, body)
    with pytest.raises(SignatureError, match="does not match"):
        verify(other, header, body, t)


@given(
    secret=secrets,
    body=bodies,
    t=times,
    late=st.integers(TOLERANCE_S + 1, 10**6),
    sign_=st.sampled_from([-1, 1]),
)
def test_outside_the_tolerance_fails_even_when_genuine(secret, body, t, late, sign_):
    header = signature_header([secret], t, body)
    with pytest.raises(SignatureError, match="more than 300 s"):
        verify(secret, header, body, t + sign_ * late, tolerance_s=TOLERANCE_S)


@given(secret=secrets, body=bodies, t=times, flip=st.integers(0, 63))
def test_one_changed_hex_digit_fails(secret, body, t, flip):
    header = signature_header([secret], t, body)
    digits = list(header.partition("v1=")[2])
    digits[flip] = "0" if digits[flip] != "0" else "1"
    forged = header.partition("v1=")[0] + "v1=" + "".join(digits)
    with pytest.raises(SignatureError):
        verify(secret, forged, body, t)


@pytest.mark.parametrize(
    "header, why",
    [
        ("", "no signature header"),
        ("v1=abc", "no time"),
        (f"t={T}", "no v1="),
        (f"t=soon,v1={OPENSSL['whsec_example']}", "no valid time"),
        (f"t=-5,v1={OPENSSL['whsec_example']}", "no valid time"),
        (f"t={T},t={T},v1={OPENSSL['whsec_example']}", "no valid time"),
        (f"t={T};v1={OPENSSL['whsec_example']}", "no valid time"),
        ("t=1," + "v1=00," * 200, "too long"),
        (f"t={T}," + ",".join(["v1=00"] * 9), "too many"),
        (f"t={T},v0={OPENSSL['whsec_example']}", "no v1="),
    ],
)
def test_malformed_headers_are_refused_with_the_reason(header, why):
    with pytest.raises(SignatureError, match=why):
        verify("whsec_example", header, BODY, T)


def test_an_unknown_scheme_beside_v1_is_ignored():
    header = f"t={T},v2=whatever,v1={OPENSSL['whsec_example']}"
    assert verify("whsec_example", header, BODY, T) == T


def test_now_as_an_aware_datetime_and_misuse_refused():
    header = sign("whsec_example", BODY, T)
    assert verify("whsec_example", header, BODY, datetime(2026, 1, 1, 9, 4, tzinfo=UTC)) == T
    with pytest.raises(TypeError, match="aware"):
        verify("whsec_example", header, BODY, datetime(2026, 1, 1, 9, 0))
    with pytest.raises(TypeError, match="raw body"):
        verify("whsec_example", header, BODY.decode(), T)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="secret"):
        verify("", header, BODY, T)


def test_the_receiving_helper_imports_only_the_standard_library():
    """An integrator copies the file: it must run without openbill or any package."""
    tree = ast.parse(Path(receiving.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {"__future__", "hashlib", "hmac", "collections", "datetime"}
