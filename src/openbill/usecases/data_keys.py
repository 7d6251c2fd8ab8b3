"""The audit trail's record of a key rotation (`openbill keys rotate`, docs/security.md).

Re-sealing the sensitive fields under a new data key changes no value a user sees, so it is not
a change of master data; an auditor still wants to know when the keys changed and how much was
re-sealed. The rotation itself is storage work (adapters/sql/rotation.py); this writes its
outcome into the hash-chained audit trail. No key, secret or value is written, only key ids
and counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from openbill.ports import UnitOfWork
from openbill.usecases._support import audit

__all__ = ["KeysRotated", "record_rotation"]


@dataclass(frozen=True, slots=True)
class KeysRotated:
    key_id: str  # the data key every value is sealed under now
    values_resealed: int
    indexes_remade: int
    batches: int
    complete: bool  # False: stopped before the end; a new run goes on


def record_rotation(uow: UnitOfWork, done: KeysRotated) -> None:
    with uow:
        audit(uow, None, "data_keys_rotated", "data_keys", done.key_id, None, asdict(done))
        uow.commit()
