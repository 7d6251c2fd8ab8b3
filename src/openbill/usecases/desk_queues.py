"""What the desk's work queues read: the drafts to verify and issue, the discrepancies, the
drafts waiting for approval, the overdue invoices with their next dunning step, a dispute case
with what its resolution needs, the bank lines to review, and the defaults of a payment form.

Each function is one read-only unit of work and a few statements (docs/web.md counts them);
none changes anything. The actions on these queues call the use cases the command line and
the API call (`commercial.prepare_billing`, `verification`, `invoices.issue_draft`,
`dunning`, `disputes`, `bank_matching`, `payments.record_payment`); the pages only read here.
Amounts stay integer minor units; the pages format them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from openbill.domain.dunning import Policy, Step
from openbill.domain.rejections import InvalidInput, NotFound
from openbill.ports import UnitOfWork
from openbill.usecases._support import customer_by_code, document_by_number, entity_by_code
from openbill.usecases.bank_matching import _line_dict, from_payload
from openbill.usecases.disputes import _case
from openbill.usecases.dunning import HOLD_KINDS, _policy_of
from openbill.usecases.payments import ALLOCATE, METHODS

__all__ = [
    "MAX_QUEUE_ROWS",
    "MAX_DELIVERIES_SHOWN",
    "RECENT_DECISIONS",
    "FINDING_STATUSES",
    "QueueCounts",
    "DraftRow",
    "DraftsQueue",
    "Finding",
    "OverdueRow",
    "CustomerCollection",
    "OverdueQueue",
    "DisputeCasePage",
    "BankQueue",
    "PaymentForm",
    "queue_counts",
    "drafts_queue",
    "findings_queue",
    "overdue_queue",
    "dispute_case_page",
    "bank_queue",
    "payment_form",
    "next_step",
]

# Bounds (DESIGN.md principle 8): a queue page lists at most this many records; the counts in
# the navigation and on the dashboard cover all of them.
MAX_QUEUE_ROWS = 500
MAX_DELIVERIES_SHOWN = 50  # confirmed deliveries not billed yet, on the drafts page
RECENT_DECISIONS = 20  # bank lines decided lately, each with its undo, on the bank page
MAX_CASE_EVENTS = 500  # a dispute case's timeline (disputes.MAX_EVENTS_PER_CASE)
FINDING_STATUSES = ("open", "resolved", "overridden")


def _size(limit: int) -> int:
    return max(1, min(limit, MAX_QUEUE_ROWS))


# ---------------------------------------------------------------------------------------------
# the counts


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """How many records wait in each queue (all of them, not only those a page lists)."""

    drafts: int
    discrepancies: int
    approvals: int
    overdue: int
    disputes: int
    bank_lines: int


def queue_counts(uow: UnitOfWork, entity_code: str, today: date | None = None) -> QueueCounts:
    """The count of every queue in one statement (the navigation shows them on each page):
    all 0 for a legal entity that does not exist."""
    with uow:
        waiting = uow.desk.waiting_of(entity_code, today or uow.clock.today())
    return QueueCounts(
        drafts=waiting["drafts"],
        discrepancies=waiting["discrepancies"],
        approvals=waiting["approvals"],
        overdue=waiting["overdue"],
        disputes=waiting["disputes"],
        bank_lines=waiting["bank_lines"],
    )


# ---------------------------------------------------------------------------------------------
# drafts, discrepancies, approvals


@dataclass(frozen=True, slots=True)
class Finding:
    id: int
    draft_id: int
    rule: str
    severity: str  # block | warn
    record: str
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class DraftRow:
    id: int
    customer: str
    customer_name: str
    document_date: date
    currency: str
    net_minor: int
    total_minor: int
    buyer_reference: str
    prepared_by: str
    blocking: int  # open blocking findings: the draft cannot be issued
    warnings: int  # open warnings: accepted by whoever issues
    approval_needed: bool  # an open approval finding: a second person must approve
    approved_by: str
    findings: tuple[Finding, ...]  # the open ones


@dataclass(frozen=True, slots=True)
class DraftsQueue:
    rows: tuple[DraftRow, ...]  # oldest first, at most MAX_QUEUE_ROWS
    deliveries: tuple[dict[str, Any], ...]  # confirmed, not billed: what preparing bills
    more_deliveries: bool  # more than MAX_DELIVERIES_SHOWN wait
    today: date


def _finding(r: Any) -> Finding:
    return Finding(int(r.id), int(r.document_id), r.rule, r.severity, r.record, r.field, r.message)


def drafts_queue(uow: UnitOfWork, entity_code: str, draft_id: int | None = None) -> DraftsQueue:
    """The drafts with their open findings, approval and who prepared them, and the confirmed
    deliveries a billing run would turn into drafts. With `draft_id`: that draft alone (the
    row a page updates in place), NotFound when it is no draft (any more)."""
    with uow:
        entity = entity_by_code(uow, entity_code)
        rows = uow.desk.drafts(entity.id, MAX_QUEUE_ROWS, draft_id)
        if draft_id is not None and not rows:
            raise NotFound(
                f"there is no draft {draft_id} (it may have been issued meanwhile)",
                record="draft",
                field="id",
            )
        ids = [int(r.id) for r in rows]
        findings = uow.desk.open_findings_of(ids)
        creators = uow.desk.draft_creators(ids)
        deliveries: Any = []
        if draft_id is None:
            deliveries = uow.commercial.deliveries_page(
                entity.id, {"to_bill": True}, 0, MAX_DELIVERIES_SHOWN + 1
            )
        today = uow.clock.today()
    by_draft: dict[int, list[Finding]] = {}
    for f in findings:
        by_draft.setdefault(int(f.document_id), []).append(_finding(f))
    out = tuple(
        DraftRow(
            id=int(r.id),
            customer=r.customer_code,
            customer_name=r.customer_name,
            document_date=r.document_date,
            currency=r.currency,
            net_minor=int(r.net_minor),
            total_minor=int(r.total_minor),
            buyer_reference=r.buyer_reference or "",
            prepared_by=creators.get(int(r.id), ""),
            blocking=int(r.blocking),
            warnings=int(r.warnings),
            approval_needed=int(r.approval_open) > 0,
            approved_by=r.approved_by or "",
            findings=tuple(by_draft.get(int(r.id), ())),
        )
        for r in rows
    )
    shown = [
        {
            "ref": d.ref,
            "kind": d.kind,
            "customer": d.customer_code,
            "delivered_on": d.delivered_on,
            "charge_code": d.charge_code,
            "quantity": d.quantity,
            "contract": d.contract_number or "",
            "po": d.po_number or "",
            "confirmed": bool(d.confirmed),
        }
        for d in deliveries[:MAX_DELIVERIES_SHOWN]
    ]
    return DraftsQueue(out, tuple(shown), len(deliveries) > MAX_DELIVERIES_SHOWN, today)


def findings_queue(
    uow: UnitOfWork,
    entity_code: str,
    status: str = "open",
    approvals: bool = False,
    finding_id: int | None = None,
) -> tuple[dict[str, Any], ...]:
    """The discrepancy queue (findings of one status, oldest first; open ones only of drafts
    not issued yet), or with `approvals` the drafts waiting for a second person: their
    approval findings, with who prepared each draft (who may not approve it). With
    `finding_id`: that finding alone, NotFound when it is not in the queue."""
    if status and status not in FINDING_STATUSES:
        raise InvalidInput(
            f"{status!r} is not one of: {', '.join(FINDING_STATUSES)}",
            record="discrepancies",
            field="status",
        )
    with uow:
        entity = entity_by_code(uow, entity_code)
        rows = uow.desk.findings(entity.id, status, approvals, MAX_QUEUE_ROWS, finding_id)
        if finding_id is not None and not rows:
            raise NotFound(
                f"there is no {status or ''} finding {finding_id} here".replace("  ", " "),
                record="discrepancy",
                field="id",
            )
        creators = uow.desk.draft_creators(sorted({int(r.document_id) for r in rows}))
    return tuple(
        {**dict(r._mapping), "prepared_by": creators.get(int(r.document_id), "")} for r in rows
    )


# ---------------------------------------------------------------------------------------------
# overdue invoices and collections


@dataclass(frozen=True, slots=True)
class OverdueRow:
    id: int
    number: str
    customer: str
    customer_name: str
    document_date: date
    due_date: date
    days_past_due: int
    currency: str
    total_minor: int
    open_minor: int
    disputed_minor: int  # in active dispute cases (dunning pauses for it)
    fee_invoice: bool  # issued by a dunning step: not dunned on its own
    policy: str  # the customer's dunning policy ("" when none applies)
    last_step: int  # the last step taken (0: none)
    next_step: int  # the next one (0: none left, or no policy)
    next_on: date | None  # the day it falls due
    next_actions: str  # what it does: "reminder", "reminder+late_fee" ...


@dataclass(frozen=True, slots=True)
class CustomerCollection:
    """A customer's state in collections: holds and the open promise to pay."""

    code: str
    name: str
    currency: str
    dunning_hold: dict[str, Any] | None
    credit_hold: dict[str, Any] | None
    promise: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class OverdueQueue:
    as_of: date
    rows: tuple[OverdueRow, ...]  # the oldest due first, at most MAX_QUEUE_ROWS
    count: int  # all overdue invoices (the rows may be fewer)
    customers: tuple[CustomerCollection, ...]  # those of the rows, by code
    last_run: date | None  # the latest dunning run's date
    default_policy: str


def next_step(policy: Policy | None, due: date, last_step: int) -> Step | None:
    """The step a run takes next for an invoice: the first numbered after the last one
    taken (its day is `step.day(due)`); None when no policy applies or none is left.

    >>> from openbill.domain.dunning import Action
    >>> p = Policy("P", "EUR", (Step(1, 7, (Action.REMINDER,)), Step(2, 21, (Action.REMINDER,))))
    >>> next_step(p, date(2026, 3, 12), 0).day(date(2026, 3, 12))
    datetime.date(2026, 3, 19)
    >>> next_step(p, date(2026, 3, 12), 2) is None
    True
    """
    if policy is None:
        return None
    return next((s for s in policy.steps if s.step_no > last_step), None)


def overdue_queue(uow: UnitOfWork, entity_code: str, as_of: date | None = None) -> OverdueQueue:
    """Invoices overdue on `as_of` (default today) with their next dunning step and its day,
    and each of their customers' holds and open promise to pay."""
    with uow:
        entity = entity_by_code(uow, entity_code)
        today = as_of or uow.clock.today()
        rows = uow.desk.overdue_invoices(entity.id, today, MAX_QUEUE_ROWS + 1)
        count = len(rows)
        if count > MAX_QUEUE_ROWS:
            count = uow.desk.waiting(entity.id, today)["overdue"]
        rows = rows[:MAX_QUEUE_ROWS]
        ids = [int(r.id) for r in rows]
        progress = uow.dunning.progress(ids)
        fees = uow.dunning.fee_documents(ids)
        disputed = uow.disputes.disputed_by_document(entity.id, ids)
        settings = uow.dunning.settings(entity.id)
        default_id = settings.default_policy_id if settings is not None else None
        chosen = uow.dunning.customer_settings_of(entity.id)
        policies: dict[int, Policy] = {}
        names: dict[int, str] = {}

        def policy_of(customer_id: int) -> Policy | None:
            row = chosen.get(customer_id)
            policy_id = row.policy_id if row is not None and row.policy_id else default_id
            if policy_id is None:
                return None
            if policy_id not in policies:
                found = uow.dunning.policy(policy_id)
                policies[policy_id] = _policy_of(uow, found)
                names[policy_id] = found.code
            return policies[policy_id]

        holds, promises = uow.desk.collections_of(
            entity.id, sorted({int(r.customer_id) for r in rows})
        )
        out = []
        for r in rows:
            policy = policy_of(int(r.customer_id))
            last = progress.get(int(r.id), (0, 0, False))[0]
            fee = int(r.id) in fees
            step = None if fee else next_step(policy, r.due_date, last)
            out.append(
                OverdueRow(
                    id=int(r.id),
                    number=r.number,
                    customer=r.customer_code,
                    customer_name=r.customer_name,
                    document_date=r.document_date,
                    due_date=r.due_date,
                    days_past_due=(today - r.due_date).days,
                    currency=r.currency,
                    total_minor=int(r.total_minor),
                    open_minor=int(r.open_minor),
                    disputed_minor=min(int(r.open_minor), disputed.get(int(r.id), 0)),
                    fee_invoice=fee,
                    policy=policy.code if policy is not None else "",
                    last_step=last,
                    next_step=step.step_no if step is not None else 0,
                    next_on=step.day(r.due_date) if step is not None else None,
                    next_actions="+".join(a.value for a in step.actions) if step else "",
                )
            )
        last_run = uow.dunning.last_run_date(entity.id)
        default_code = ""
        if default_id is not None:
            default_code = names.get(default_id) or uow.dunning.policy(default_id).code
    customers: dict[str, CustomerCollection] = {}
    for r in rows:
        code = r.customer_code
        if code in customers:
            continue
        mine = [h for h in holds if h.customer_id == r.customer_id]
        kinds = {k: next((dict(h._mapping) for h in mine if h.kind == k), None) for k in HOLD_KINDS}
        promise = next((dict(p._mapping) for p in promises if p.customer_id == r.customer_id), None)
        customers[code] = CustomerCollection(
            code, r.customer_name, r.currency, kinds["dunning"], kinds["credit"], promise
        )
    return OverdueQueue(
        today,
        tuple(out),
        count,
        tuple(customers[c] for c in sorted(customers)),
        last_run,
        default_code,
    )


# ---------------------------------------------------------------------------------------------
# a dispute case


@dataclass(frozen=True, slots=True)
class DisputeCasePage:
    case: dict[str, Any]  # the case's fields, `active`, `overdue` and `open_minor`
    resolution: dict[str, Any] | None  # with `credit_note` and `rebill_invoice` numbers
    events: tuple[dict[str, Any], ...]  # the timeline, oldest first
    lines: tuple[dict[str, Any], ...]  # the invoice's lines (what a credit note may credit)


def dispute_case_page(uow: UnitOfWork, entity_code: str, case_no: str) -> DisputeCasePage:
    """A dispute case whole (as `disputes.show_case`), with the invoice's lines and the
    numbers of the documents its resolution issued."""
    from openbill.domain.disputes import ACTIVE, Status

    with uow:
        entity = entity_by_code(uow, entity_code)
        row = _case(uow, entity, case_no)
        resolution = uow.disputes.resolution(row.id)
        events = uow.disputes.events(row.id, MAX_CASE_EVENTS + 10)
        today = uow.clock.today()
        case = dict(row._mapping)
        case["active"] = Status(row.status) in ACTIVE
        case["overdue"] = case["active"] and row.due_on is not None and row.due_on < today
        case["open_minor"] = int(uow.ledger.document_open(row.document_id))
        lines = uow.documents.lines(row.document_id)
        codes: dict[int, str] = {}
        for ln in lines:
            if ln.charge_code_id not in codes:
                found_code = uow.catalog.charge_code_by_id(ln.charge_code_id)
                codes[ln.charge_code_id] = found_code.code if found_code is not None else ""
        numbers: dict[str, str] = {}
        if resolution is not None:
            for key in ("credit_note_id", "rebill_invoice_id"):
                doc_id = getattr(resolution, key)
                if doc_id is not None:
                    found = uow.documents.get(int(doc_id))
                    numbers[key.removesuffix("_id")] = found.number if found else ""
    shown = None
    if resolution is not None:
        shown = {**dict(resolution._mapping), "credit_note": "", "rebill_invoice": "", **numbers}
    return DisputeCasePage(
        case,
        shown,
        tuple(dict(e._mapping) for e in events),
        tuple(
            {
                "line_no": int(ln.line_no),
                "charge_code": codes.get(ln.charge_code_id, ""),
                "description": ln.description,
                "quantity": ln.quantity,
                "unit": ln.unit,
                "unit_price": ln.unit_price,
                "net_minor": int(ln.net_minor),
            }
            for ln in lines
        ),
    )


# ---------------------------------------------------------------------------------------------
# bank lines to review


@dataclass(frozen=True, slots=True)
class BankQueue:
    review: tuple[dict[str, Any], ...]  # waiting for a person, each with its candidates
    new: tuple[dict[str, Any], ...]  # no matching run has looked at them yet
    decided: tuple[dict[str, Any], ...]  # the latest decisions standing, each can be undone
    customers: tuple[str, ...]  # codes, for "mark as other: refund returned"


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


def bank_queue(uow: UnitOfWork, entity_code: str, line_id: int | None = None) -> BankQueue:
    """The bank lines waiting for a person with every candidate stored for each (best first,
    numbered as `bank_matching.confirm` takes them), the lines no run has looked at, and the
    latest decisions. With `line_id`: that line alone (in whichever list it is)."""
    size = MAX_QUEUE_ROWS
    with uow:
        entity = entity_by_code(uow, entity_code)
        review = list(uow.bank.lines(entity.id, status="review", limit=size))
        new = list(uow.bank.lines(entity.id, status="new", limit=size))
        decided = list(uow.desk.decided_lines(entity.id, RECENT_DECISIONS))
        if line_id is not None:
            review = [r for r in review if int(r.id) == line_id]
            new = [r for r in new if int(r.id) == line_id]
            decided = [r for r in decided if int(r.id) == line_id]
        proposals = uow.bank.proposals_of([int(r.id) for r in review])
        customers = uow.customers.all(entity.id)
    codes = {int(c.id): c.code for c in customers}
    by_line: dict[int, list[dict[str, Any]]] = {}
    for p in proposals:
        by_line.setdefault(int(p.line_id), []).append(_candidate(p, codes))
    return BankQueue(
        tuple({**_line_dict(r), "candidates": by_line.get(int(r.id), [])} for r in review),
        tuple(_line_dict(r) for r in new),
        tuple(dict(r._mapping) for r in decided),
        tuple(sorted(codes.values())),
    )


# ---------------------------------------------------------------------------------------------
# recording a payment


@dataclass(frozen=True, slots=True)
class PaymentForm:
    customer: str
    customer_name: str
    currency: str
    invoice: str  # the invoice the payment is for ("" from the customer or payments page)
    invoice_open_minor: int
    invoice_currency: str
    methods: tuple[str, ...]
    allocations: tuple[str, ...]
    today: date


def payment_form(
    uow: UnitOfWork, entity_code: str, customer: str = "", invoice: str = ""
) -> PaymentForm:
    """What the payment form starts with: the customer (the invoice's, when one is named),
    its currency, what is open on the invoice, today."""
    with uow:
        entity = entity_by_code(uow, entity_code)
        open_minor, invoice_currency, number = 0, "", ""
        if invoice:
            doc = document_by_number(uow, entity.id, invoice)
            if doc.kind != "invoice" or doc.status != "issued":
                raise InvalidInput(
                    f"{invoice} is no issued invoice; a payment pays invoices",
                    record="payment",
                    field="invoice",
                )
            number, invoice_currency = doc.number, doc.currency
            open_minor = int(uow.ledger.document_open(doc.id))
            row = uow.customers.get(doc.customer_id)
        elif customer:
            row = customer_by_code(uow, entity.id, customer)
        else:
            row = None
        today = uow.clock.today()
    return PaymentForm(
        customer=row.code if row is not None else "",
        customer_name=row.name if row is not None else "",
        currency=(invoice_currency or row.currency) if row is not None else "",
        invoice=number,
        invoice_open_minor=max(open_minor, 0),
        invoice_currency=invoice_currency,
        methods=METHODS,
        allocations=ALLOCATE,
        today=today,
    )
