"""Verification of drafts, the discrepancy queue and approvals.

`verify_draft` gathers the facts of a draft (its lines, the customer's master data and history,
and whatever contract, purchase-order and delivery facts the registered providers add), runs
the pure rules of `domain.verification`, and brings the draft's findings in the queue up to
date: new findings open, findings that no longer appear are resolved, and a finding a person
overrode stays overridden while it stays the same. Issuing a draft runs the same check and is
refused while a blocking finding is open.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from openbill.domain.money import Rounding, format_minor, round_to_minor, to_decimal
from openbill.domain.rejections import InvalidInput, InvalidState, NotFound, PreconditionFailed
from openbill.domain.verification import (
    CustomerFacts,
    DraftFacts,
    Finding,
    LineFacts,
    PastDocument,
    Settings,
    Severity,
)
from openbill.domain.verification import verify_draft as run_rules
from openbill.ports import UnitOfWork
from openbill.usecases._support import MAX_LIST_ROWS, audit, entity_by_code, revision
from openbill.usecases.commercial_facts import add_commercial_facts

__all__ = [
    "FactProvider",
    "FACT_PROVIDERS",
    "VerifyDraft",
    "Verified",
    "ResolveDiscrepancy",
    "ApproveDraft",
    "SetVerificationSettings",
    "verify_draft",
    "list_discrepancies",
    "show_discrepancy",
    "resolve_discrepancy",
    "approve_draft",
    "set_settings",
    "settings_revision",
    "check_before_issue",
    "acknowledge_warnings",
    "refresh_findings",
    "MAX_HISTORY",
]

MAX_HISTORY = 24  # invoices of the customer the unusual-amount rule looks back on
MIN_OVERRIDE_REASON = 10  # characters: "ok" is not a reason an auditor accepts

# A provider adds facts from other records (contracts, purchase orders, deliveries): it gets
# the unit of work, the draft row and the facts so far, and returns the facts it improved.
FactProvider = Callable[[UnitOfWork, Any, DraftFacts], DraftFacts]
FACT_PROVIDERS: list[FactProvider] = []

_NEEDS_VAT_ID = {"reverse_charge", "intra_community"}


@dataclass(frozen=True, slots=True)
class VerifyDraft:
    entity: str
    draft_id: int


@dataclass(frozen=True, slots=True)
class Verified:
    draft_id: int
    open_blocking: int
    open_warnings: int
    overridden: int
    resolved_now: int


@dataclass(frozen=True, slots=True)
class ResolveDiscrepancy:
    entity: str
    discrepancy_id: int
    action: str  # "fixed": the source record was corrected; "override": accept with a reason
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ApproveDraft:
    entity: str
    draft_id: int


@dataclass(frozen=True, slots=True)
class SetVerificationSettings:
    entity: str
    approval_threshold: str = ""  # an amount in the entity's base currency; empty: no approvals
    duplicate_window_days: int = 30
    price_tolerance: str = "0"
    if_match: str = ""  # the revision the change was based on (settings_revision); empty: any


def settings_revision(row: Any | None) -> str:
    """The revision of an entity's stored verification settings (the API's ETag); "defaults"
    while none were saved."""
    return revision(row) if row is not None else "defaults"


def _settings(uow: UnitOfWork, entity: Any) -> Settings:
    row = uow.verification.settings(entity.id)
    if row is None:
        return Settings()
    return Settings(
        duplicate_window_days=int(row.duplicate_window_days),
        price_tolerance=Decimal(row.price_tolerance),
        approval_threshold_minor=row.approval_threshold_minor,
    )


def _facts(uow: UnitOfWork, entity: Any, doc: Any) -> DraftFacts:
    customer = uow.customers.get(doc.customer_id)
    lines = []
    codes: dict[int, Any] = {}
    for line in uow.documents.lines(doc.id):
        if line.charge_code_id not in codes:
            codes[line.charge_code_id] = uow.catalog.charge_code_by_id(line.charge_code_id)
        code = codes[line.charge_code_id]
        lines.append(
            LineFacts(line.line_no, code.code, line.quantity, line.unit_price, int(line.net_minor))
        )
    history = tuple(
        PastDocument(h.number, h.document_date, int(h.total_minor), h.buyer_reference or "")
        for h in uow.verification.history(customer.id, doc.currency, doc.document_date, MAX_HISTORY)
    )
    facts = DraftFacts(
        draft=f"draft {doc.id}",
        document_date=doc.document_date,
        currency=doc.currency,
        total_minor=int(doc.total_minor),
        reference=doc.buyer_reference or "",
        customer=CustomerFacts(
            customer.code,
            customer.name,
            customer.address or "",
            customer.country,
            customer.vat_id or "",
            customer.email or "",
            customer.regime,
            needs_vat_id=customer.regime in _NEEDS_VAT_ID,
        ),
        lines=tuple(lines),
        regime=customer.regime,
        history=history,
    )
    facts = add_commercial_facts(uow, doc, facts)
    for provider in FACT_PROVIDERS:
        facts = provider(uow, doc, facts)
    return facts


def _key(rule: str, record: str, field: str) -> tuple[str, str, str]:
    return (rule, record, field)


def refresh_findings(uow: UnitOfWork, entity: Any, doc: Any) -> Verified:
    """Run the rules on a draft and bring its findings in the queue up to date."""
    settings = _settings(uow, entity)
    foreign = settings.approval_threshold_minor is not None and doc.currency != entity.base_currency
    if foreign:
        settings = replace(settings, approval_threshold_minor=None)
    findings: list[Finding] = list(run_rules(_facts(uow, entity, doc), settings))
    if foreign:
        # Safety first: without an exchange rate a foreign total cannot be compared with the
        # threshold, so every such draft needs the second person.
        findings.append(
            Finding(
                "approval_required",
                Severity.BLOCK,
                f"draft {doc.id}",
                "total",
                f"the approval threshold is set in {entity.base_currency}; a {doc.currency} "
                "draft needs a second person's approval",
            )
        )
    approval = uow.verification.approval(doc.id)
    if approval is not None and int(approval.total_minor) == int(doc.total_minor):
        findings = [f for f in findings if f.rule != "approval_required"]
    now = uow.clock.now()
    existing = {_key(r.rule, r.record, r.field): r for r in uow.verification.findings(doc.id)}
    seen = set()
    for f in findings:
        key = _key(f.rule, f.record, f.field)
        seen.add(key)
        row = existing.get(key)
        if row is None or row.status == "resolved":
            uow.verification.add_finding(
                {
                    "entity_id": entity.id,
                    "document_id": doc.id,
                    "rule": f.rule,
                    "severity": f.severity.value,
                    "record": f.record,
                    "field": f.field,
                    "message": f.message,
                    "status": "open",
                    "resolution": "",
                    "created_at": now,
                }
            )
        elif row.status == "open" and (row.message, row.severity) != (f.message, f.severity):
            uow.verification.update_finding(
                row.id, {"message": f.message, "severity": f.severity.value}
            )
    resolved_now = 0
    for key, row in existing.items():
        if key not in seen and row.status == "open":
            uow.verification.update_finding(
                row.id,
                {
                    "status": "resolved",
                    "resolution": "no longer found: the source record was corrected",
                    "resolved_by": uow.actor,
                    "resolved_at": now,
                },
            )
            resolved_now += 1
    rows = uow.verification.findings(doc.id)
    return Verified(
        doc.id,
        sum(1 for r in rows if r.status == "open" and r.severity == Severity.BLOCK),
        sum(1 for r in rows if r.status == "open" and r.severity == Severity.WARN),
        sum(1 for r in rows if r.status == "overridden"),
        resolved_now,
    )


def _draft(uow: UnitOfWork, entity: Any, draft_id: int) -> Any:
    doc = uow.documents.get(draft_id)
    if doc is None or doc.entity_id != entity.id:
        raise NotFound(f"no draft with id {draft_id}", record="draft", field="id")
    if doc.status != "draft":
        raise InvalidState(f"{doc.number} is already issued", record=f"draft {draft_id}")
    return doc


def verify_draft(uow: UnitOfWork, cmd: VerifyDraft) -> Verified:
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        result = refresh_findings(uow, entity, _draft(uow, entity, cmd.draft_id))
        uow.commit()
        return result


def check_before_issue(uow: UnitOfWork, entity: Any, doc: Any) -> None:
    """Called inside the issuing unit of work: refuse while a blocking finding is open."""
    result = refresh_findings(uow, entity, doc)
    if result.open_blocking:
        blocking = [
            f"{r.rule} ({r.record}): {r.message}"
            for r in uow.verification.findings(doc.id)
            if r.status == "open" and r.severity == Severity.BLOCK
        ]
        raise InvalidState(
            f"{result.open_blocking} blocking discrepancy(ies) open; resolve or override them "
            "first (openbill discrepancies list): " + "; ".join(blocking),
            record=f"draft {doc.id}",
            field="discrepancies",
        )


def acknowledge_warnings(uow: UnitOfWork, document_id: int) -> None:
    """On issue, open warnings are closed as accepted by the person who issued."""
    for row in uow.verification.findings(document_id):
        if row.status == "open" and row.severity == Severity.WARN:
            uow.verification.update_finding(
                row.id,
                {
                    "status": "overridden",
                    "resolution": "issued with this warning",
                    "resolved_by": uow.actor,
                    "resolved_at": uow.clock.now(),
                },
            )


def list_discrepancies(
    uow: UnitOfWork, entity_code: str, status: str = "open", limit: int = 1000
) -> list[dict[str, Any]]:
    with uow:
        entity = entity_by_code(uow, entity_code)
        rows = uow.verification.queue(entity.id, status, min(limit, MAX_LIST_ROWS))
        return [dict(r._mapping) for r in rows]


def show_discrepancy(uow: UnitOfWork, entity_code: str, discrepancy_id: int) -> dict[str, Any]:
    with uow:
        entity = entity_by_code(uow, entity_code)
        row = _finding(uow, entity, discrepancy_id)
        return dict(row._mapping)


def _finding(uow: UnitOfWork, entity: Any, discrepancy_id: int) -> Any:
    row = uow.verification.finding(discrepancy_id)
    if row is None or row.entity_id != entity.id:
        raise NotFound(f"no discrepancy with id {discrepancy_id}", record="discrepancy", field="id")
    return row


def resolve_discrepancy(uow: UnitOfWork, cmd: ResolveDiscrepancy) -> dict[str, Any]:
    record = f"discrepancy {cmd.discrepancy_id}"
    if cmd.action not in ("fixed", "override"):
        raise InvalidInput("action is fixed or override", record=record, field="action")
    if cmd.action == "override" and len(cmd.reason.strip()) < MIN_OVERRIDE_REASON:
        raise InvalidInput(
            f"an override needs a written reason of at least {MIN_OVERRIDE_REASON} characters",
            record=record,
            field="reason",
        )
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        row = _finding(uow, entity, cmd.discrepancy_id)
        if row.status != "open":
            raise InvalidState(f"is already {row.status}", record=record, field="status")
        doc = _draft(uow, entity, row.document_id)
        if cmd.action == "fixed":
            refresh_findings(uow, entity, doc)
            after = uow.verification.finding(row.id)
            if after.status == "open":
                raise InvalidState(
                    f"still found after checking the draft again: {after.message}",
                    record=record,
                    field="status",
                )
        else:
            uow.verification.update_finding(
                row.id,
                {
                    "status": "overridden",
                    "resolution": cmd.reason.strip(),
                    "resolved_by": uow.actor,
                    "resolved_at": uow.clock.now(),
                },
            )
        after = uow.verification.finding(row.id)
        audit(
            uow,
            entity.id,
            f"discrepancy.{after.status}",
            "discrepancy",
            row.id,
            {"status": row.status},
            {"status": after.status, "resolution": after.resolution, "rule": row.rule},
        )
        uow.commit()
        return dict(after._mapping)


def approve_draft(uow: UnitOfWork, cmd: ApproveDraft) -> Verified:
    """A second person approves a draft above the approval threshold."""
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        doc = _draft(uow, entity, cmd.draft_id)
        creator = uow.verification.draft_creator(doc.id)
        if creator is not None and creator == uow.actor:
            raise InvalidState(
                f"{uow.actor} prepared this draft; another person must approve it",
                record=f"draft {doc.id}",
                field="approved_by",
            )
        uow.verification.add_approval(
            {
                "entity_id": entity.id,
                "document_id": doc.id,
                "approved_by": uow.actor,
                "total_minor": int(doc.total_minor),
                "approved_at": uow.clock.now(),
            }
        )
        audit(
            uow,
            entity.id,
            "invoice.approved",
            "document",
            doc.id,
            None,
            {"approved_by": uow.actor, "total_minor": int(doc.total_minor)},
        )
        result = refresh_findings(uow, entity, doc)
        uow.commit()
        return result


def set_settings(uow: UnitOfWork, cmd: SetVerificationSettings) -> dict[str, Any]:
    record = f"verification settings of {cmd.entity}"
    if not 0 <= cmd.duplicate_window_days <= 366:
        raise InvalidInput("between 0 and 366 days", record=record, field="duplicate_window_days")
    tolerance = to_decimal(cmd.price_tolerance, field="price_tolerance")
    if tolerance < 0:
        raise InvalidInput("must not be negative", record=record, field="price_tolerance")
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        threshold = None
        if cmd.approval_threshold:
            amount = to_decimal(cmd.approval_threshold, field="approval_threshold")
            threshold = round_to_minor(amount, entity.base_currency, Rounding(entity.rounding))
        before = uow.verification.settings(entity.id)
        if cmd.if_match and settings_revision(before) != cmd.if_match:
            raise PreconditionFailed(
                "the verification settings were changed by someone else since you read them; "
                "read them again and repeat your change",
                record=record,
            )
        values = {
            "approval_threshold_minor": threshold,
            "duplicate_window_days": cmd.duplicate_window_days,
            "price_tolerance": format(tolerance, "f"),
        }
        uow.verification.save_settings(entity.id, values)
        audit(
            uow,
            entity.id,
            "verification.settings_changed",
            "legal_entity",
            entity.id,
            dict(before._mapping) if before is not None else None,
            values,
        )
        uow.commit()
        shown = format_minor(threshold, entity.base_currency) if threshold is not None else ""
        return {**values, "approval_threshold": shown}
