"""Sensitive fields at rest: a ring of data keys, authenticated encryption that names its key
in every value, and blind indexes (docs/security.md).

**Keys.** `OPENBILL_DATA_KEYS` holds one or more keys, `ID:SECRET` separated by commas (or
blanks, or lines): the first one seals, every one opens. SECRET is 32 random bytes in base64
(`openbill keys generate` makes one); ID names it in every value it sealed, 1 to 24 letters,
digits, `_` or `-`. A local SQLite book with no keys in the environment gets a key file
beside it instead (`<book>.keys`, mode 0600, the same format one key a line), made on first
use; any other database without the variable is refused.

**Sealed values** read `enc1:<key id>:<base64url of nonce | ciphertext | tag>`: AES-256-GCM
(authenticated: a changed byte is refused, not misread) with a random 96-bit nonce, and the
field's name (`customers.iban`) as associated data, so that a value copied into another column
does not open there. A value names its key, so a ring with a new first key opens the old
values and re-sealing them can go in batches (`openbill keys rotate`). A value under a key
the ring lacks, or one that was changed, raises `DataKeyError` with a message that says which
key and what to do; the message never holds the value.

**Blind indexes** read `bi1:<key id>:<hex HMAC-SHA256>` of the normalised value (blanks out,
upper case): equal values give equal indexes under the same key, so an account is looked up
by its index and nothing is decrypted. The HMAC key and the encryption key are derived apart
from the data key (HKDF-SHA256 with their own labels), so neither reveals the other, and
each kind of value has its own HMAC key.

Cost on this machine: sealing about 3 microseconds a value, opening 2, an index 2.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "KEYS_ENV",
    "KEYS_MAX",
    "SEALED_TEXT_MAX",
    "SEALED_PREFIX",
    "INDEX_PREFIX",
    "DataKey",
    "KeyRing",
    "DataKeyError",
    "KeyConfigError",
    "UnknownDataKey",
    "TamperedValue",
    "KeySource",
    "generate_key",
    "parse_keys",
    "is_sealed",
    "key_id_of",
    "key_file_for",
    "keys_for",
    "add_to_key_file",
]

KEYS_ENV = "OPENBILL_DATA_KEYS"
KEYS_MAX = 16  # keys in one ring: a new one first, the old ones until they hold nothing
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96 bits, random per value: safe for far more than 2**32 values per key
SEALED_TEXT_MAX = 4 * 1024 * 1024  # characters of one sealed value (an API response at most)
SEALED_PREFIX = "enc1:"
INDEX_PREFIX = "bi1:"
KEY_FILE_SUFFIX = ".keys"

_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,24}")
_SEAL_INFO = b"openbill/v1/seal"
_INDEX_INFO = b"openbill/v1/blind-index/"


class DataKeyError(Exception):
    """The data keys are missing, malformed or do not open a stored value."""


class KeyConfigError(DataKeyError):
    """No usable keys: the variable is missing or malformed, or the key file is unsafe."""


class UnknownDataKey(DataKeyError):
    """A stored value names a key the ring does not have."""


class TamperedValue(DataKeyError):
    """A stored value does not authenticate under the key it names."""


def _derive(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(secret)


@dataclass(frozen=True)
class DataKey:
    id: str
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not _KEY_ID.fullmatch(self.id):
            raise KeyConfigError(
                f"data key id {self.id!r}: use 1 to 24 letters, digits, '_' or '-'"
            )
        if len(self.secret) != KEY_BYTES:
            raise KeyConfigError(
                f"data key {self.id}: the secret must be {KEY_BYTES} bytes in base64 "
                "(make one with `openbill keys generate`)"
            )


class KeyRing:
    """Data keys, the first one sealing. Opening, sealing and indexing are thread-safe."""

    def __init__(self, keys: Iterable[DataKey]) -> None:
        self.keys = tuple(keys)
        if not self.keys:
            raise KeyConfigError(f"no data key given ({KEYS_ENV} is empty)")
        if len(self.keys) > KEYS_MAX:
            raise KeyConfigError(f"{len(self.keys)} data keys given; at most {KEYS_MAX}")
        ids = [k.id for k in self.keys]
        doubled = sorted({i for i in ids if ids.count(i) > 1})
        if doubled:
            raise KeyConfigError(f"data key id {doubled[0]} is given twice")
        self._aead = {k.id: AESGCM(_derive(k.secret, _SEAL_INFO)) for k in self.keys}
        self._index: dict[tuple[str, str], bytes] = {}
        self._secrets = {k.id: k.secret for k in self.keys}

    def __repr__(self) -> str:
        return f"KeyRing({', '.join(self.ids)})"

    @property
    def primary(self) -> str:
        """The id of the key that seals."""
        return self.keys[0].id

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(k.id for k in self.keys)

    # -- sealing ------------------------------------------------------------------------------

    def seal(self, text: str, context: str) -> str:
        """`text` sealed under the first key, bound to `context` (the field's name)."""
        if len(text) > SEALED_TEXT_MAX:
            raise ValueError(f"{context}: a value of {len(text)} characters is too long to seal")
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead[self.primary].encrypt(nonce, text.encode(), context.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()
        return f"{SEALED_PREFIX}{self.primary}:{body}"

    def open(self, value: str, context: str) -> str:
        """The text of a sealed value of the field `context`."""
        key_id, body = _split(value, context)
        aead = self._aead.get(key_id)
        if aead is None:
            raise UnknownDataKey(
                f"a value of {context} is sealed under data key {key_id!r}, which is not among "
                f"the keys given ({', '.join(self.ids)}): add that key to {KEYS_ENV} (or the "
                "book's key file) after the first one"
            )
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            text = aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
        except (InvalidTag, ValueError, binascii.Error):
            raise TamperedValue(
                f"a value of {context} does not open under data key {key_id!r}: it was changed "
                f"outside openbill, or the key given as {key_id!r} is not the one that sealed it"
            ) from None
        return text.decode()

    # -- blind indexes --------------------------------------------------------------------------

    def blind(self, kind: str, text: str, key_id: str | None = None) -> str:
        """The blind index of `text` under the first key (or `key_id`)."""
        kid = key_id or self.primary
        digest = hmac.new(self._index_key(kid, kind), normalise(text).encode(), hashlib.sha256)
        return f"{INDEX_PREFIX}{kid}:{digest.hexdigest()}"

    def blinds(self, kind: str, text: str) -> tuple[str, ...]:
        """The blind index of `text` under every key of the ring, for a lookup that must also
        find rows whose index was made before the first key changed."""
        return tuple(self.blind(kind, text, kid) for kid in self.ids)

    def is_current(self, index: str | None) -> bool:
        """Whether a stored blind index was made under the first key."""
        return index is not None and index.startswith(f"{INDEX_PREFIX}{self.primary}:")

    def _index_key(self, key_id: str, kind: str) -> bytes:
        found = self._index.get((key_id, kind))
        if found is None:
            if key_id not in self._secrets:
                raise UnknownDataKey(f"no data key {key_id!r} among {', '.join(self.ids)}")
            found = _derive(self._secrets[key_id], _INDEX_INFO + kind.encode())
            self._index[(key_id, kind)] = found
        return found


def normalise(text: str) -> str:
    """What a blind index is made of: the value without blanks, in upper case (the form bank
    matching compares accounts in)."""
    return "".join(text.split()).upper()


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(SEALED_PREFIX)


def key_id_of(value: str) -> str:
    """The id of the key a sealed value names."""
    return _split(value, "value")[0]


def _split(value: str, context: str) -> tuple[str, str]:
    if not value.startswith(SEALED_PREFIX):
        raise TamperedValue(f"a value of {context} is not a sealed value")
    key_id, sep, body = value[len(SEALED_PREFIX) :].partition(":")
    if not sep or not key_id:
        raise TamperedValue(f"a value of {context} is a broken sealed value")
    return key_id, body


# -- keys from text -------------------------------------------------------------------------------


def generate_key() -> str:
    """A new key as `ID:SECRET`: 32 random bytes, its id derived from them (`k` and 8 hex
    digits), so two keys never share an id by accident."""
    secret = secrets.token_bytes(KEY_BYTES)
    key_id = "k" + hashlib.sha256(b"openbill key id" + secret).hexdigest()[:8]
    return f"{key_id}:{base64.b64encode(secret).decode()}"


def parse_keys(text: str, where: str = KEYS_ENV) -> KeyRing:
    """A ring from `ID:SECRET` entries separated by commas, blanks or lines; `#` starts a
    comment line. Errors name the entry by its position, never its secret."""
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    entries = [e for e in re.split(r"[,\s]+", " ".join(lines)) if e]
    keys: list[DataKey] = []
    for n, entry in enumerate(entries, start=1):
        key_id, sep, secret = entry.partition(":")
        if not sep:
            raise KeyConfigError(
                f"{where}: entry {n} is not ID:SECRET (make a key with `openbill keys generate`)"
            )
        try:
            raw = base64.b64decode(secret + "=" * (-len(secret) % 4), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise KeyConfigError(f"{where}: the secret of key {key_id!r} is not base64") from None
        keys.append(DataKey(key_id, raw))
    if not keys:
        raise KeyConfigError(f"{where} holds no key")
    return KeyRing(keys)


# -- where a book's keys come from --------------------------------------------------------------


@dataclass(frozen=True)
class KeySource:
    ring: KeyRing
    origin: str  # "environment", "key file", "memory"
    path: Path | None = None  # the key file
    created: bool = False  # the key file was made just now


def key_file_for(database: str) -> Path:
    """The key file of a SQLite book: beside it, its name and `.keys`."""
    path = Path(database)
    return path.with_name(path.name + KEY_FILE_SUFFIX)


def keys_for(backend: str, database: str | None, env_value: str) -> KeySource:
    """The keys of a book: from `OPENBILL_DATA_KEYS` when it is set; else, for a SQLite file,
    from the key file beside it (made now when there is none); else refused.

    `backend` is the SQLAlchemy dialect name, `database` the SQLite file (None or ":memory:"
    for a database in memory, which gets a key of its own that dies with it)."""
    if env_value.strip():
        return KeySource(parse_keys(env_value), "environment")
    if backend != "sqlite":
        raise KeyConfigError(
            f"{KEYS_ENV} is not set: a {backend} book needs its data keys from the "
            f"environment. Make one with `openbill keys generate` and set {KEYS_ENV}=ID:SECRET "
            "in the environment of every openbill process of this book (docs/security.md)"
        )
    if not database or database == ":memory:":
        return KeySource(parse_keys(generate_key(), "a new key"), "memory")
    path = key_file_for(database)
    created = _create_key_file(path)
    return KeySource(read_key_file(path), "key file", path, created)


def _create_key_file(path: Path) -> bool:
    """Make the key file unless it exists; False when it did (or another process made it just
    now). Written whole under a temporary name, then linked into place, so that a process
    opening the same new book at the same moment never reads half a file."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), 0o600)
            handle.write(_KEY_FILE_HEADER.format(book=path.name[: -len(KEY_FILE_SUFFIX)]))
            handle.write(generate_key() + "\n")
        os.link(temp, path)
    except FileExistsError:  # another process made it just now: theirs counts
        return False
    finally:
        temp.unlink(missing_ok=True)
    return True


_KEY_FILE_HEADER = """\
# openbill data keys of {book}: the first key seals, every key opens (docs/security.md).
# Back this file up, but apart from the book: without it the bank accounts, tax numbers and
# secrets in the book cannot be read; with it, anyone holding a copy of the book can read them.
"""


def read_key_file(path: Path) -> KeyRing:
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise KeyConfigError(
                f"the data key file {path} can be read by others (mode {mode:04o}): "
                f"run `chmod 600 {path}`"
            )
    return parse_keys(path.read_text(encoding="utf-8"), f"the data key file {path}")


def add_to_key_file(path: Path, key: str) -> None:
    """Put `key` (ID:SECRET) first in a key file, keeping the others after it."""
    ring = read_key_file(path)
    new = parse_keys(key, "the new key")
    if new.primary in ring.ids:
        raise KeyConfigError(f"{path} holds a key {new.primary!r} already")
    lines = path.read_text(encoding="utf-8").splitlines()
    comments = [ln for ln in lines if ln.lstrip().startswith("#")]
    entries = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    parse_keys(key + "\n" + "\n".join(entries), str(path))  # still a valid ring
    temp = path.with_name(path.name + ".new")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join([*comments, key, *entries]) + "\n")
    os.replace(temp, path)
