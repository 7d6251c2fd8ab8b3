"""What every use case shares: lookups that refuse clearly, hash-chained appends, journal
postings, audit events and idempotency keys."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, fields, is_dataclass
from typing import Any, TypeVar

from openbill.domain import chain
from openbill.domain.ledger import JournalEntry
from openbill.domain.rejections import (
    IdempotencyConflict,
    InvalidInput,
    InvariantError,
    NotFound,
)
from openbill.domain.sensitive import masked
from openbill.ports import UnitOfWork

R = TypeVar("R")

# Bounds (DESIGN.md principle 8).
MAX_LINES_PER_DOCUMENT = 1_000
MAX_LIST_ROWS = 10_000
MAX_IDEMPOTENCY_KEY = 200


def choice(value: str, allowed: type, record: str, field_name: str) -> str:
    """`value` as a member of the enum `allowed`, or a refusal listing what is allowed."""
    try:
        return str(allowed(value))
    except ValueError:
        options = ", ".join(str(v.value) for v in allowed)  # type: ignore[attr-defined]
        raise InvalidInput(
            f"{value!r} is not one of: {options}", record=record, field=field_name
        ) from None


def entity_by_code(uow: UnitOfWork, code: str) -> Any:
    row = uow.entities.by_code(code)
    if row is None:
        raise NotFound(f"no legal entity with code {code!r}", record="legal entity", field="code")
    return row


def customer_by_code(uow: UnitOfWork, entity_id: int, code: str) -> Any:
    row = uow.customers.by_code(entity_id, code)
    if row is None:
        raise NotFound(f"no customer with code {code!r}", record="customer", field="code")
    return row


def document_by_number(uow: UnitOfWork, entity_id: int, number: str) -> Any:
    row = uow.documents.by_number(entity_id, number)
    if row is None:
        raise NotFound(f"no issued document numbered {number!r}", record="document", field="number")
    return row


def chained_insert(
    uow: UnitOfWork,
    chain_name: str,
    payload: Mapping[str, Any],
    insert: Callable[[dict[str, Any]], R],
) -> R:
    """Append a record to a hash chain: the row gets the next chain_seq, the previous hash and
    its own hash; the chain head moves on in the same transaction."""
    seq, prev = uow.chains.head(chain_name)
    link = chain.link(prev, payload)
    result = insert({"chain_seq": seq + 1, "prev_hash": prev, "hash": link})
    uow.chains.advance(chain_name, seq + 1, link)
    return result


def journal_payload(
    entity_id: int, entry: JournalEntry, source_table: str, source_id: int
) -> dict[str, Any]:
    return {
        "entity_id": entity_id,
        "entry_date": entry.entry_date,
        "kind": entry.kind,
        "source_table": source_table,
        "source_id": source_id,
        "description": entry.description,
        "lines": [
            [i, p.account, p.currency, p.amount_minor, p.customer_id, p.document_id]
            for i, p in enumerate(entry.postings, start=1)
        ],
    }


def post(
    uow: UnitOfWork, entity_id: int, entry: JournalEntry, source_table: str, source_id: int
) -> int:
    """Write a balanced journal entry (the domain refused to build an unbalanced one)."""
    lines = [
        {
            "line_no": i,
            "account": p.account,
            "currency": p.currency,
            "amount_minor": p.amount_minor,
            "customer_id": p.customer_id,
            "document_id": p.document_id,
        }
        for i, p in enumerate(entry.postings, start=1)
    ]
    payload = journal_payload(entity_id, entry, source_table, source_id)
    values = {
        "entity_id": entity_id,
        "entry_date": entry.entry_date,
        "kind": entry.kind,
        "source_table": source_table,
        "source_id": source_id,
        "description": entry.description,
        "created_at": uow.clock.now(),
    }
    return int(
        chained_insert(
            uow, "journal", payload, lambda c: uow.ledger.add_entry({**values, **c}, lines)
        )
    )


def audit_payload(row: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("entity_id", "actor", "occurred_at", "action", "record_type", "record_id")
    return {**{k: row[k] for k in keys}, "before": row["before"], "after": row["after"]}


def audit(
    uow: UnitOfWork,
    entity_id: int | None,
    action: str,
    record_type: str,
    record_id: object,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> None:
    """Record who changed what, when, and the values before and after (bank accounts and
    tax numbers masked to their last four characters, secrets hidden: domain/sensitive.py)."""
    values: dict[str, Any] = {
        "entity_id": entity_id,
        "actor": uow.actor,
        "occurred_at": uow.clock.now(),
        "action": action,
        "record_type": record_type,
        "record_id": str(record_id),
        "before": _json(masked(record_type, before)) if before is not None else None,
        "after": _json(masked(record_type, after)) if after is not None else None,
    }
    chained_insert(uow, "audit", audit_payload(values), lambda c: uow.audit.add({**values, **c}))


def _json(data: Mapping[str, Any]) -> str:
    return chain.canonical(data).decode()


def plain(row: Any) -> dict[str, Any]:
    """A row or dataclass as a plain dict, for audit before/after values."""
    if is_dataclass(row) and not isinstance(row, type):
        return asdict(row)
    return dict(row._mapping)


def revision(row: Any) -> str:
    """A stored record's revision tag: a digest of every stored field, so it changes whenever
    the record does (the API's ETag; a write naming an older one is refused)."""
    return hashlib.sha256(chain.canonical(plain(row))).hexdigest()[:32]


def idempotent(
    uow: UnitOfWork,
    scope: str,
    key: str | None,
    request: Any,
    result_type: type[R],
    run: Callable[[], R],
) -> R:
    """Run `run` once per (scope, key). A replay with the same request returns the first
    result; the same key with a different request is refused. Call inside the unit of work,
    before any other write, so the key and the work commit together or not at all."""
    if not key:
        return run()
    if len(key) > MAX_IDEMPOTENCY_KEY:
        raise IdempotencyConflict(
            f"idempotency key longer than {MAX_IDEMPOTENCY_KEY} characters", field="idempotency_key"
        )
    request_hash = hashlib.sha256(chain.canonical(_request_dict(request))).hexdigest()
    seen = uow.idempotency.get(scope, key)
    if seen is not None:
        if seen.request_hash != request_hash:
            raise IdempotencyConflict(
                f"idempotency key {key!r} was already used for a different {scope} request; "
                "use a new key for new work",
                field="idempotency_key",
            )
        return _restore(result_type, json.loads(seen.result))
    result = run()
    uow.idempotency.put(
        {
            "scope": scope,
            "key": key,
            "request_hash": request_hash,
            "result": _json(plain(result)),
            "created_at": uow.clock.now(),
        }
    )
    return result


def _request_dict(request: Any) -> dict[str, Any]:
    data = plain(request)
    data.pop("idempotency_key", None)
    return data


def _restore(result_type: type[R], data: dict[str, Any]) -> R:
    if not is_dataclass(result_type):
        raise InvariantError("idempotent results must be dataclasses")
    names = {f.name for f in fields(result_type)}
    # JSON has no tuples: sequences in results are tuples (frozen dataclasses).
    return result_type(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in names}
    )
