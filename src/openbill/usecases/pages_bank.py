"""Pages and views of the bank and the books for the API: bank statements, bank lines, the
review queue with every line's candidates, journal entries with their lines, the audit trail,
and `verify` with what a caller may see of it.

Keyset pagination as in `usecases.pages`: a page ends at the id of its last record and the next
one starts after it, so records added meanwhile never shift a page or show twice. Every page
holds at most `pages.MAX_PAGE_SIZE` records; everything here only reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from openbill.domain.rejections import InvalidInput, NotFound
from openbill.ports import UnitOfWork
from openbill.usecases._support import entity_by_code
from openbill.usecases.bank import account_by_ref
from openbill.usecases.bank_matching import _line_dict, from_payload
from openbill.usecases.masterdata import list_entities
from openbill.usecases.pages import Page, _dates, _size
from openbill.usecases.verify import Violation, verify

__all__ = [
    "LINE_STATUSES",
    "VIOLATIONS_SHOWN_MAX",
    "AuditFilter",
    "EntryFilter",
    "LineFilter",
    "VerifyView",
    "audit_page",
    "entries_page",
    "lines_page",
    "review_page",
    "statement_record",
    "statements_page",
    "verify_book",
]

LINE_STATUSES = ("new", "review", "matched")
# Violations described in one verify answer; the count per check always covers all of them.
VIOLATIONS_SHOWN_MAX = 1_000
_TEXT_FILTER_MAX = 100  # characters of a filter value (actor, action, record id ...)


@dataclass(frozen=True, slots=True)
class LineFilter:
    account: str = ""  # name, IBAN or account number
    status: str = ""  # new, review or matched
    statement_id: int | None = None
    date_from: date | None = None  # booking date, inclusive
    date_to: date | None = None


@dataclass(frozen=True, slots=True)
class EntryFilter:
    account: str = ""  # ledger account, e.g. 1200
    kind: str = ""  # invoice, payment, bank_booked ...
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    record_type: str = ""
    record_id: str = ""
    actor: str = ""
    action: str = ""
    date_from: date | None = None  # days in UTC, inclusive
    date_to: date | None = None


def _account_id(uow: UnitOfWork, entity_id: int, ref: str) -> int | None:
    if not ref:
        return None
    found = account_by_ref(uow, entity_id, ref)
    if found is None:
        raise NotFound(
            f"no bank account {ref!r}; the bank accounts are listed at .../bank/accounts",
            record="bank account",
            field="account",
        )
    return int(found.id)


def _utc(moment: datetime) -> datetime:
    """A stored time with its zone (SQLite gives naive UTC datetimes back)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _next(rows: list[Any], limit: int) -> int | None:
    return int(rows[limit - 1].id) if len(rows) > limit else None


# -- statements ----------------------------------------------------------------------------------


def statement_view(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    data["problems"] = json.loads(row.problems or "[]")
    data["imported_at"] = _utc(row.imported_at)
    data.pop("content_key", None)
    return data


def statements_page(
    uow: UnitOfWork,
    entity: str,
    after_id: int,
    limit: int,
    account: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> Page:
    _size(limit)
    _dates(date_from, date_to)
    with uow:
        entity_id = entity_by_code(uow, entity).id
        filters = {
            "account_id": _account_id(uow, entity_id, account),
            "date_from": date_from,
            "date_to": date_to,
        }
        rows = list(uow.bank.statements_page(entity_id, filters, after_id, limit + 1))
    return Page(tuple(statement_view(r) for r in rows[:limit]), _next(rows, limit))


def statement_record(uow: UnitOfWork, entity: str, statement_id: int) -> dict[str, Any]:
    with uow:
        entity_id = entity_by_code(uow, entity).id
        row = uow.bank.statement(statement_id)
        if row is None or row.entity_id != entity_id:
            raise NotFound(f"no bank statement {statement_id}", record="bank statement", field="id")
        return statement_view(row)


# -- lines and the review queue ------------------------------------------------------------------


def lines_page(
    uow: UnitOfWork, entity: str, after_id: int, limit: int, wanted: LineFilter = LineFilter()
) -> Page:
    _size(limit)
    _dates(wanted.date_from, wanted.date_to)
    if wanted.status and wanted.status not in LINE_STATUSES:
        raise InvalidInput(
            f"{wanted.status!r} is not a line status; use {', '.join(LINE_STATUSES)}",
            record="bank lines",
            field="status",
        )
    with uow:
        entity_id = entity_by_code(uow, entity).id
        if wanted.statement_id is not None:
            row = uow.bank.statement(wanted.statement_id)
            if row is None or row.entity_id != entity_id:
                raise NotFound(
                    f"no bank statement {wanted.statement_id}",
                    record="bank statement",
                    field="statement",
                )
        filters = {
            "account_id": _account_id(uow, entity_id, wanted.account),
            "statement_id": wanted.statement_id,
            "status": wanted.status,
            "date_from": wanted.date_from,
            "date_to": wanted.date_to,
        }
        rows = list(uow.bank.lines_page(entity_id, filters, after_id, limit + 1))
    return Page(tuple(_line_dict(r) for r in rows[:limit]), _next(rows, limit))


def _candidate(p: Any, codes: dict[int, str]) -> dict[str, Any]:
    c = from_payload(json.loads(p.payload))
    return {
        "rank": int(p.rank),
        "confidence": int(p.confidence),
        "rule": p.rule,
        "action": c.action.value,
        "customer": codes.get(c.customer_id or 0, ""),
        "explanation": p.explanation,
        "allocations": [(a.number, a.amount_minor, a.discount_minor) for a in c.allocations],
        "fee_minor": c.fee_minor,
        "credit_minor": c.credit_minor,
        "category": c.category,
    }


def review_page(uow: UnitOfWork, entity: str, after_id: int, limit: int, account: str = "") -> Page:
    """The lines waiting for a person, each with every candidate stored for it (best first,
    numbered as `bank_matching.confirm` takes them)."""
    _size(limit)
    with uow:
        entity_id = entity_by_code(uow, entity).id
        filters = {"account_id": _account_id(uow, entity_id, account), "status": "review"}
        rows = list(uow.bank.lines_page(entity_id, filters, after_id, limit + 1))
        shown = rows[:limit]
        proposals = uow.bank.proposals_of([r.id for r in shown])
        codes: dict[int, str] = {}
        for p in proposals:
            customer_id = json.loads(p.payload).get("customer_id")
            if customer_id and customer_id not in codes:
                customer = uow.customers.get(customer_id)
                codes[customer_id] = customer.code if customer is not None else ""
        by_line: dict[int, list[dict[str, Any]]] = {}
        for p in proposals:
            by_line.setdefault(int(p.line_id), []).append(_candidate(p, codes))
    items = tuple({**_line_dict(r), "candidates": by_line.get(int(r.id), [])} for r in shown)
    return Page(items, _next(rows, limit))


# -- journal entries -----------------------------------------------------------------------------


def entries_page(
    uow: UnitOfWork, entity: str, after_id: int, limit: int, wanted: EntryFilter = EntryFilter()
) -> Page:
    """Journal entries of the entity with their lines (account, currency, amount: debit
    positive, credit negative; the customer and document a line names)."""
    _size(limit)
    _dates(wanted.date_from, wanted.date_to)
    with uow:
        entity_id = entity_by_code(uow, entity).id
        filters = {
            "account": wanted.account.strip()[:_TEXT_FILTER_MAX],
            "kind": wanted.kind.strip()[:_TEXT_FILTER_MAX],
            "date_from": wanted.date_from,
            "date_to": wanted.date_to,
        }
        rows = list(uow.ledger.entries_page(entity_id, filters, after_id, limit + 1))
        shown = rows[:limit]
        lines: dict[int, list[dict[str, Any]]] = {}
        for ln in uow.ledger.lines_of_entries([int(r.id) for r in shown]):
            lines.setdefault(int(ln.entry_id), []).append(
                {
                    "line_no": int(ln.line_no),
                    "account": ln.account,
                    "currency": ln.currency,
                    "amount_minor": int(ln.amount_minor),
                    "customer": ln.customer_code or "",
                    "document": ln.document_number or "",
                }
            )
    items = tuple(
        {
            "id": int(r.id),
            "entry_date": r.entry_date,
            "kind": r.kind,
            "description": r.description,
            "source_table": r.source_table,
            "source_id": int(r.source_id),
            "created_at": _utc(r.created_at),
            "chain_seq": r.chain_seq,
            "lines": lines.get(int(r.id), []),
        }
        for r in shown
    )
    return Page(items, _next(rows, limit))


# -- the audit trail -----------------------------------------------------------------------------


def _audit_view(row: Any) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "chain_seq": row.chain_seq,
        "occurred_at": _utc(row.occurred_at),
        "actor": row.actor,
        "action": row.action,
        "record_type": row.record_type,
        "record_id": row.record_id,
        "before": json.loads(row.before) if row.before else None,
        "after": json.loads(row.after) if row.after else None,
    }


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def audit_page(
    uow: UnitOfWork, entity: str | None, after_id: int, limit: int, wanted: AuditFilter
) -> Page:
    """The audit trail of one legal entity, or (entity None) the events that belong to no
    entity: users, sign-ins, sessions and refused permissions."""
    _size(limit)
    _dates(wanted.date_from, wanted.date_to)
    for name in ("record_type", "record_id", "actor", "action"):
        if len(getattr(wanted, name)) > _TEXT_FILTER_MAX:
            raise InvalidInput(
                f"a filter holds at most {_TEXT_FILTER_MAX} characters",
                record="audit trail",
                field=name,
            )
    filters: dict[str, Any] = {
        "record_type": wanted.record_type,
        "record_id": wanted.record_id,
        "actor": wanted.actor,
        "action": wanted.action,
        "since": _midnight(wanted.date_from) if wanted.date_from else None,
        "before": _midnight(wanted.date_to + timedelta(days=1)) if wanted.date_to else None,
    }
    with uow:
        entity_id = entity_by_code(uow, entity).id if entity is not None else None
        rows = list(uow.audit.page(entity_id, filters, after_id, limit + 1))
    return Page(tuple(_audit_view(r) for r in rows[:limit]), _next(rows, limit))


# -- verify --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifyView:
    checks: tuple[tuple[str, int], ...]  # (check, violations found), every check
    violations: tuple[Violation, ...]  # at most VIOLATIONS_SHOWN_MAX, none when withheld
    violations_total: int
    details_withheld: str  # why the violations are not described, or ""

    @property
    def ok(self) -> bool:
        return self.violations_total == 0


def verify_book(
    uow_factory: Callable[..., UnitOfWork], may_entity: Callable[[str], bool]
) -> VerifyView:
    """Run every check of `verify` over the whole book (the hash chains are one per kind of
    record, across legal entities). The result of each check is always given; the violations
    name records of any legal entity, so they are described only to a caller who may act for
    every legal entity of the book."""
    report = verify(uow_factory(read_only=True))
    codes = [e.code for e in list_entities(uow_factory(read_only=True))]
    hidden = [c for c in codes if not may_entity(c)]
    withheld = ""
    if hidden and report.violations:
        withheld = (
            "the violations name records of every legal entity; they are described only to "
            f"someone with access to all of them (not to {', '.join(sorted(hidden))})"
        )
    shown = () if withheld else report.violations[:VIOLATIONS_SHOWN_MAX]
    return VerifyView(report.checks, tuple(shown), len(report.violations), withheld)
