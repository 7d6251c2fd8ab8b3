"""The key ring (adapters/crypto.py) and masking (domain/sensitive.py): sealing round-trips any
text, a changed byte or another field is refused, a wrong or missing key is refused with a
message that names the key and never the value, blind indexes are equal exactly for equal
(normalised) values, and rotation at the ring level keeps every value."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbill.adapters.crypto import (
    KEYS_MAX,
    SEALED_TEXT_MAX,
    DataKey,
    KeyConfigError,
    KeyRing,
    TamperedValue,
    UnknownDataKey,
    generate_key,
    is_sealed,
    key_id_of,
    parse_keys,
)
from openbill.domain.sensitive import SENSITIVE_FIELDS, Kind, mask, masked

# Two fixed keys (32 bytes each, written out so that a test never depends on randomness).
SECRET_A = bytes(range(32))
SECRET_B = bytes(range(100, 132))
RING_A = KeyRing([DataKey("ka", SECRET_A)])
RING_B = KeyRing([DataKey("kb", SECRET_B)])
RING_BA = KeyRing([DataKey("kb", SECRET_B), DataKey("ka", SECRET_A)])

contexts = st.sampled_from([f.name for f in SENSITIVE_FIELDS])


@given(st.text(max_size=300), contexts)
def test_any_text_round_trips(text: str, context: str) -> None:
    sealed = RING_A.seal(text, context)
    assert is_sealed(sealed)
    assert key_id_of(sealed) == "ka"
    assert RING_A.open(sealed, context) == text


@given(st.text(min_size=1, max_size=50))
def test_sealing_twice_gives_different_values(text: str) -> None:
    # A random nonce per value: equal texts do not give equal ciphertexts (only blind
    # indexes are meant to show equality).
    assert RING_A.seal(text, "customers.iban") != RING_A.seal(text, "customers.iban")


def _flip(sealed: str, position: int) -> str:
    """The sealed value with one bit of its nonce, ciphertext or tag changed."""
    prefix, _, body = sealed.rpartition(":")
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[position % len(raw)] ^= 1 << (position % 8)
    return f"{prefix}:{base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()}"


@given(st.text(max_size=100), st.integers(min_value=0, max_value=10_000))
def test_a_changed_bit_anywhere_is_refused(text: str, position: int) -> None:
    tampered = _flip(RING_A.seal(text, "customers.iban"), position)
    with pytest.raises(TamperedValue, match="does not open under data key 'ka'"):
        RING_A.open(tampered, "customers.iban")


@given(st.text(min_size=1, max_size=60))
def test_a_value_does_not_open_in_another_field(text: str) -> None:
    sealed = RING_A.seal(text, "customers.iban")
    with pytest.raises(TamperedValue):
        RING_A.open(sealed, "bank_payers.iban")


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=8, max_size=34))
def test_a_wrong_key_under_the_same_id_is_refused(text: str) -> None:
    impostor = KeyRing([DataKey("ka", SECRET_B)])
    sealed = RING_A.seal(text, "customers.iban")
    with pytest.raises(TamperedValue) as caught:
        impostor.open(sealed, "customers.iban")
    assert text not in str(caught.value)


def test_a_missing_key_is_named_and_the_value_is_not() -> None:
    iban = "DE89370400440532013000"
    sealed = RING_A.seal(iban, "customers.iban")
    with pytest.raises(UnknownDataKey) as caught:
        RING_B.open(sealed, "customers.iban")
    message = str(caught.value)
    assert "'ka'" in message and "kb" in message and "OPENBILL_DATA_KEYS" in message
    assert iban not in message and sealed not in message


@given(st.lists(st.text(max_size=40), max_size=20))
def test_rotation_keeps_every_value(texts: list[str]) -> None:
    """Sealed under ka; the ring (kb, ka) opens them and re-seals under kb; then kb alone
    opens every value and each reads as before."""
    old = [RING_A.seal(t, "bank_lines.counterparty_account") for t in texts]
    moved = [
        RING_BA.seal(
            RING_BA.open(v, "bank_lines.counterparty_account"), "bank_lines.counterparty_account"
        )
        for v in old
    ]
    assert all(key_id_of(v) == "kb" for v in moved)
    assert [RING_B.open(v, "bank_lines.counterparty_account") for v in moved] == texts


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=34))
def test_a_blind_index_ignores_blanks_and_case(account: str) -> None:
    spaced = " ".join(account[i : i + 4] for i in range(0, len(account), 4)).lower()
    assert RING_A.blind(Kind.ACCOUNT, spaced) == RING_A.blind(Kind.ACCOUNT, account)


@given(
    st.text(alphabet="ABCDEF0123456789", min_size=1, max_size=34),
    st.text(alphabet="ABCDEF0123456789", min_size=1, max_size=34),
)
def test_blind_indexes_differ_for_different_values(a: str, b: str) -> None:
    # HMAC-SHA256: a collision between two different accounts would be a break of SHA-256.
    assert (RING_A.blind(Kind.ACCOUNT, a) == RING_A.blind(Kind.ACCOUNT, b)) == (a == b)


def test_blind_indexes_depend_on_the_key_and_the_kind() -> None:
    iban = "DE89370400440532013000"
    under_a, under_b = RING_A.blind(Kind.ACCOUNT, iban), RING_B.blind(Kind.ACCOUNT, iban)
    assert under_a.startswith("bi1:ka:") and under_b.startswith("bi1:kb:")
    assert under_a[7:] != under_b[7:]
    assert RING_A.blind(Kind.TAX_NUMBER, iban)[7:] != under_a[7:]
    # A lookup during a rotation searches under every key of the ring, the first one first.
    assert RING_BA.blinds(Kind.ACCOUNT, iban) == (under_b, under_a)
    assert RING_BA.is_current(under_b) and not RING_BA.is_current(under_a)
    assert not RING_BA.is_current(None)


def test_the_index_is_the_hmac_of_the_normalised_value() -> None:
    """Checked against the standard library's HMAC and HKDF written out by hand (RFC 5869:
    with no salt, PRK = HMAC(zeros, key); the 32-byte OKM = HMAC(PRK, info | 0x01))."""
    import hashlib
    import hmac

    prk = hmac.new(b"\0" * 32, SECRET_A, hashlib.sha256).digest()
    info = b"openbill/v1/blind-index/account"
    okm = hmac.new(prk, info + b"\x01", hashlib.sha256).digest()
    expected = hmac.new(okm, b"DE89370400440532013000", hashlib.sha256).hexdigest()
    assert RING_A.blind(Kind.ACCOUNT, "de89 3704 0044 0532 0130 00") == f"bi1:ka:{expected}"


def test_too_long_a_value_is_refused() -> None:
    with pytest.raises(ValueError, match="too long"):
        RING_A.seal("x" * (SEALED_TEXT_MAX + 1), "api_requests.body")


# -- keys as text ----------------------------------------------------------------------------------


def test_generated_keys_parse_and_differ() -> None:
    one, two = generate_key(), generate_key()
    assert one != two
    ring = parse_keys(f"{one}, {two}")
    assert ring.ids == (one.split(":")[0], two.split(":")[0])
    assert ring.primary == one.split(":")[0]


def test_keys_in_lines_with_comments_and_urlsafe_base64() -> None:
    text = (
        "# a comment\n"
        f"kb:{base64.urlsafe_b64encode(SECRET_B).decode().rstrip('=')}\n"
        f"ka:{base64.b64encode(SECRET_A).decode()}\n"
    )
    ring = parse_keys(text)
    assert ring.ids == ("kb", "ka")
    assert ring.open(RING_A.seal("x", "users.totp_secret"), "users.totp_secret") == "x"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "holds no key"),
        ("nocolon", "entry 1 is not ID:SECRET"),
        ("ka:!!!!", "the secret of key 'ka' is not base64"),
        (f"ka:{base64.b64encode(b'short').decode()}", "must be 32 bytes"),
        (f"k a:{base64.b64encode(SECRET_A).decode()}", "entry 1 is not ID:SECRET"),
        (f"bad.id:{base64.b64encode(SECRET_A).decode()}", "use 1 to 24 letters"),
        (
            f"ka:{base64.b64encode(SECRET_A).decode()},ka:{base64.b64encode(SECRET_B).decode()}",
            "given twice",
        ),
    ],
)
def test_malformed_keys_are_refused_without_showing_a_secret(text: str, message: str) -> None:
    with pytest.raises(KeyConfigError, match=message) as caught:
        parse_keys(text)
    for secret in (SECRET_A, SECRET_B):
        assert base64.b64encode(secret).decode() not in str(caught.value)


def test_at_most_keys_max_keys() -> None:
    many = ",".join(
        f"k{i}:{base64.b64encode(bytes([i]) * 32).decode()}" for i in range(KEYS_MAX + 1)
    )
    with pytest.raises(KeyConfigError, match=f"at most {KEYS_MAX}"):
        parse_keys(many)


def test_a_ring_does_not_show_its_secrets() -> None:
    assert repr(RING_BA) == "KeyRing(kb, ka)"
    assert repr(DataKey("ka", SECRET_A)) == "DataKey(id='ka')"


# -- masking ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "shown"),
    [
        (Kind.ACCOUNT, "DE89370400440532013000", "****3000"),
        (Kind.ACCOUNT, "DE89 3704 0044 0532 0130 00", "****3000"),
        (Kind.TAX_NUMBER, "18181508155", "****8155"),
        (Kind.ACCOUNT, "1234567", "****"),  # shorter than 8: nothing of it
        (Kind.SECRET, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "****"),
        (Kind.ACCOUNT, "", ""),
        (Kind.ACCOUNT, None, None),
    ],
)
def test_mask(kind: Kind, value: str | None, shown: str | None) -> None:
    assert mask(kind, value) == shown


def test_masked_audit_values() -> None:
    data = {
        "iban": "DE89370400440532013000",
        "tax_number": "18181508155",
        "vat_id": "DE136695976",  # public: stays
        "number": "INV-2026-000001",  # an invoice's number is no bank account
        "nested": {"counterparty_account": "DE44500105175407324931"},
    }
    assert masked("customer", data) == {
        "iban": "****3000",
        "tax_number": "****8155",
        "vat_id": "DE136695976",
        "number": "INV-2026-000001",
        "nested": {"counterparty_account": "****4931"},
    }
    # a bank account's number is masked in the events of bank accounts
    assert masked("bank_account", {"number": "0532013000"}) == {"number": "****3000"}
