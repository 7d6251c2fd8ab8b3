"""The audit trail and `verify`, for those with `audit.read` (managers, auditors,
administrators).

- /v1/entities/{entity}/audit: the trail of one legal entity, filtered by record, actor,
  action and days; /v1/audit: the events that belong to no legal entity (users, sign-ins,
  sessions, refused permissions).
- /v1/verify: every invariant and hash chain of the book recomputed. `audit.read`, not
  `read`: it checks the audit trail itself and the whole book across legal entities (the
  chains are one per kind of record), which is an auditor's question, not a clerk's. The
  result of each check is given to everyone with the action; the violations, which name
  records of any legal entity, only to someone with access to all of them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from openbill.domain.access import AUDIT_READ
from openbill.interfaces.api.idempotency import IdempotentRoute
from openbill.interfaces.api.pagination import DEFAULT_PAGE_SIZE, Limit, decode, encode
from openbill.interfaces.api.schemas import IsoDate
from openbill.interfaces.api.schemas_bank import (
    AuditEvent,
    AuditPage,
    VerifyCheck,
    VerifyResult,
    VerifyViolation,
)
from openbill.interfaces.api.security import Caller, allowed
from openbill.usecases import pages_bank as pb

__all__ = ["router"]

router = APIRouter(tags=["audit"], route_class=IdempotentRoute)


def _page(page: pb.Page) -> AuditPage:
    return AuditPage(data=[AuditEvent(**r) for r in page.rows], next_cursor=encode(page.after_id))


@router.get(
    "/entities/{entity}/audit",
    response_model=AuditPage,
    summary="The audit trail of a legal entity, oldest first, with the values before and after",
    description="Days are UTC days; `date_to` is inclusive.",
)
def entity_audit(
    caller: Annotated[Caller, allowed(AUDIT_READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    record_type: Annotated[str, Query(max_length=100, description="customer, document ...")] = "",
    record_id: Annotated[str, Query(max_length=100, description="with record_type")] = "",
    actor: Annotated[str, Query(max_length=100, description="user name or api-key:NAME")] = "",
    action: Annotated[str, Query(max_length=100, description="e.g. customer.updated")] = "",
    date_from: IsoDate | None = None,
    date_to: IsoDate | None = None,
) -> AuditPage:
    wanted = pb.AuditFilter(record_type, record_id, actor, action, date_from, date_to)
    return _page(
        pb.audit_page(caller.uow(read_only=True), caller.entity, decode(cursor), limit, wanted)
    )


@router.get(
    "/audit",
    response_model=AuditPage,
    summary="The audit events of no legal entity: users, sign-ins, sessions, refusals",
    description="Days are UTC days; `date_to` is inclusive.",
)
def book_audit(
    caller: Annotated[Caller, allowed(AUDIT_READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    record_type: Annotated[str, Query(max_length=100, description="user, access ...")] = "",
    record_id: Annotated[str, Query(max_length=100, description="with record_type")] = "",
    actor: Annotated[str, Query(max_length=100, description="user name or api-key:NAME")] = "",
    action: Annotated[str, Query(max_length=100, description="e.g. log_in_failed")] = "",
    date_from: IsoDate | None = None,
    date_to: IsoDate | None = None,
) -> AuditPage:
    wanted = pb.AuditFilter(record_type, record_id, actor, action, date_from, date_to)
    return _page(pb.audit_page(caller.uow(read_only=True), None, decode(cursor), limit, wanted))


@router.get(
    "/verify",
    response_model=VerifyResult,
    summary="Recompute every invariant and every hash chain of the book; the result per check",
    description=(
        "Reads the whole book in one read-only transaction: seconds on a large one. `ok` is "
        "false when any check found a violation. The violations (at most 1,000 described) "
        "name records of every legal entity: they are described only to a caller with access "
        "to all of them; the others get the count per check and `details_withheld`."
    ),
)
def verify(caller: Annotated[Caller, allowed(AUDIT_READ)]) -> VerifyResult:
    view = pb.verify_book(caller.uow, caller.principal.may_entity)
    return VerifyResult(
        ok=view.ok,
        checks=[VerifyCheck(check=c, passed=n == 0, violations=n) for c, n in view.checks],
        violations=[
            VerifyViolation(check=v.check, record=v.record, message=v.message)
            for v in view.violations
        ],
        violations_total=view.violations_total,
        details_withheld=view.details_withheld,
    )
