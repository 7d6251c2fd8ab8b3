"""Sensitive fields: which stored fields hold a bank account, a tax number or a secret, and how
they are shown masked.

`SENSITIVE_FIELDS` is the one list that says so. The SQL adapter seals (encrypts) every field
listed here at rest and keeps a blind index beside the ones marked `indexed`, so that they can
be looked up by value without decrypting anything (adapters/crypto.py, adapters/sql/sealed.py,
docs/security.md); the audit trail shows them masked (`masked`). Adding a field is one line
here; on PostgreSQL its column must also be TEXT (migration 0013 did that for the fields
listed when it ran).

Left out on purpose:

- **VAT identification numbers** are public by law: they are printed on every invoice, the
  EU publishes them for checking (VIES), and the e-invoice and reverse-charge rules need them
  readable. Sealing them would hide nothing and cost the lookups.
- **E-mail and postal addresses** are personal data but not secrets: every invoice, reminder
  and statement prints them, the outbox sends to them, and a billing specialist searches and
  corrects them every day. Access control guards them; encrypting them would protect a stolen
  database a little and make every document slower and every search impossible.
- **Names** of customers and payers, for the same reasons, and because bank matching compares
  them fuzzily (an equality index cannot).

Pure: data and string functions only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "Kind",
    "SensitiveField",
    "SENSITIVE_FIELDS",
    "MASK_KEEP",
    "mask",
    "masked",
    "fields_of",
]


class Kind(StrEnum):
    ACCOUNT = "account"  # an IBAN or a bank's account number: shown as its last four characters
    TAX_NUMBER = "tax_number"  # a national tax number: shown as its last four characters
    SECRET = "secret"  # TOTP seeds, signing secrets: never shown, not even in part
    RECORD = "record"  # a stored copy of a response that may hold any of the above


@dataclass(frozen=True, slots=True)
class SensitiveField:
    table: str
    column: str
    kind: Kind
    record: str  # the record type the audit trail files changes of this table under
    indexed: bool = False  # looked up by value: a blind index column `<column>_bidx` beside it

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}"

    @property
    def index_column(self) -> str:
        return f"{self.column}_bidx"


SENSITIVE_FIELDS: tuple[SensitiveField, ...] = (
    SensitiveField("customers", "iban", Kind.ACCOUNT, "customer", indexed=True),
    SensitiveField("customers", "tax_number", Kind.TAX_NUMBER, "customer"),
    SensitiveField("legal_entities", "iban", Kind.ACCOUNT, "legal_entity"),
    SensitiveField("legal_entities", "tax_number", Kind.TAX_NUMBER, "legal_entity"),
    SensitiveField("bank_accounts", "iban", Kind.ACCOUNT, "bank_account", indexed=True),
    SensitiveField("bank_accounts", "number", Kind.ACCOUNT, "bank_account", indexed=True),
    SensitiveField("bank_lines", "counterparty_account", Kind.ACCOUNT, "bank_line", indexed=True),
    SensitiveField("bank_payers", "iban", Kind.ACCOUNT, "bank_payer", indexed=True),
    SensitiveField("users", "totp_secret", Kind.SECRET, "user"),
    # The HTTP API keeps the first response to each Idempotency-Key to replay it; a customer's
    # response holds the IBAN and tax number.
    SensitiveField("api_requests", "body", Kind.RECORD, "api_request"),
    # The signing secrets of webhook endpoints (migration 0012): the server signs with them, so
    # they are sealed, not hashed.
    SensitiveField("webhook_endpoints", "secret", Kind.SECRET, "webhook_endpoint"),
    SensitiveField("webhook_endpoints", "previous_secret", Kind.SECRET, "webhook_endpoint"),
)

MASK_KEEP = 4  # characters of an account or tax number the audit trail and logs still show
_MASK = "****"
_SHORT = 2 * MASK_KEEP  # values shorter than this are hidden whole: four would be too many

# Column names that mean the same thing in any record: masked wherever an audit payload has
# them. A generic name (a bank account's "number") is masked only in its own record type.
_GENERIC = frozenset({"number", "body"})
_BY_RECORD = {(f.record, f.column): f.kind for f in SENSITIVE_FIELDS}
_BY_NAME = {f.column: f.kind for f in SENSITIVE_FIELDS if f.column not in _GENERIC}


def fields_of(table: str) -> tuple[SensitiveField, ...]:
    return tuple(f for f in SENSITIVE_FIELDS if f.table == table)


def mask(kind: Kind, value: Any) -> Any:
    """`value` as the audit trail and logs may show it: `****3000` of an account or tax number
    (the last four characters, blanks left out), `****` of a short one or a secret; None and ""
    stay what they are (that a field is empty is no secret)."""
    if value is None or value == "":
        return value
    if kind in (Kind.SECRET, Kind.RECORD):
        return _MASK
    text = "".join(str(value).split())
    if len(text) < _SHORT:
        return _MASK
    return _MASK + text[-MASK_KEEP:]


def masked(record_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of an audit before/after mapping with every sensitive field masked (nested
    mappings too)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        kind = _BY_RECORD.get((record_type, key)) or _BY_NAME.get(key)
        if kind is not None:
            out[key] = mask(kind, value)
        elif isinstance(value, Mapping):
            out[key] = masked(record_type, value)
        else:
            out[key] = value
    return out
