"""Disputes and inquiries: cases on invoices and lines, their timeline and their resolution.

A case is opened on an issued invoice, or on one of its lines, for a reason, over an amount
that is at most what is still open on the invoice (and, for a line, at most the line's total
with tax), less what other active cases already dispute. While the case is active, dunning
pauses for that amount (`disputed_amounts`, `DisputesRepo.disputed_by_document`).

A case ends in one of three ways, each in one unit of work with everything it issues:
- a credit note for the invoice, or for quantities of some lines (a line case: its own line);
- a re-bill: a credit note for the whole invoice and a corrected invoice with the lines the
  user gives, linked to each other in the resolution row; what the customer had already paid
  on the original moves on to the corrected invoice;
- a rejection with a written explanation, queued as an e-mail to the customer. A customer
  without an e-mail address is refused, unless the user says the explanation goes another way
  (`send_mail=False`, `--no-mail`), which the timeline records.

Every change writes an audit event and an event row of the case, which `show_case` prints as
the case's timeline; notes and attachment references are append-only events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from openbill.domain.disputes import (
    ACTIVE,
    CLOSED,
    CaseFacts,
    Reason,
    Report,
    Resolution,
    Status,
    build_report,
    case_number,
    check_amount,
    check_transition,
    line_gross_minor,
)
from openbill.domain.invoice import DocumentKind
from openbill.domain.money import (
    Rounding,
    format_minor,
    minor_to_decimal,
    round_to_minor,
    to_decimal,
)
from openbill.domain.rejections import (
    InvalidInput,
    InvalidState,
    NotFound,
    PreconditionFailed,
    Rejection,
)
from openbill.ports import UnitOfWork
from openbill.usecases import webhooks
from openbill.usecases._support import (
    MAX_LINES_PER_DOCUMENT,
    MAX_LIST_ROWS,
    audit,
    choice,
    document_by_number,
    entity_by_code,
    idempotent,
    revision,
)
from openbill.usecases.invoices import (
    CreateInvoice,
    CreditInvoice,
    LineSpec,
    apply_credit_note,
    create_invoice_in,
    credit_invoice_in,
)
from openbill.usecases.mailing import enqueue_message

__all__ = [
    "OpenCase",
    "CaseOpened",
    "UpdateCase",
    "CaseUpdated",
    "AddNote",
    "AddAttachment",
    "ResolveByCreditNote",
    "ResolveByRebill",
    "RejectCase",
    "Resolved",
    "CaseView",
    "open_case",
    "update_case",
    "add_note",
    "add_attachment",
    "resolve_by_credit_note",
    "resolve_by_rebill",
    "reject_case",
    "list_cases",
    "show_case",
    "dispute_report",
    "disputed_amounts",
    "resolution_of_document",
    "LIST_STATUSES",
    "MAX_EVENTS_PER_CASE",
    "MAX_REPORT_CASES",
]

# Bounds (DESIGN.md principle 8).
MAX_EVENTS_PER_CASE = 500  # notes, attachments and changes; closing a case is always possible
MAX_NOTE_CHARS = 4_000
MAX_REFERENCE_CHARS = 500
MAX_OWNER_CHARS = 100
MAX_REPORT_CASES = 100_000  # cases one report reads; narrow --from/--to beyond that
MIN_EXPLANATION_CHARS = 10  # "no" is not an explanation a customer can act on
CREDIT_REASON_CHARS = 500  # the credit note's reason column

# `list_cases` status filters besides the statuses themselves.
LIST_STATUSES = ("active", "closed", "all")


# ---------------------------------------------------------------------------------------------
# commands and results


@dataclass(frozen=True, slots=True)
class OpenCase:
    entity: str
    invoice: str  # the invoice number
    reason: str  # a Reason value
    amount: str = ""  # in the invoice currency; empty: all that can be disputed
    line_no: int | None = None  # None: the case is on the whole invoice
    owner: str = ""  # who works on it; empty: the person opening it
    due_on: date | None = None  # when it should be answered
    note: str = ""  # what the customer said, as a first note
    opened_on: date | None = None  # empty: today
    idempotency_key: str = ""


@dataclass(frozen=True, slots=True)
class CaseOpened:
    case_no: str
    invoice: str
    line_no: int | None
    reason: str
    amount_minor: int
    currency: str
    status: str
    owner: str
    opened_on: str


@dataclass(frozen=True, slots=True)
class UpdateCase:
    """Change any of status, owner, due date and amount (empty: unchanged), with a note."""

    entity: str
    case_no: str
    status: str = ""
    owner: str = ""
    due_on: date | None = None
    amount: str = ""
    note: str = ""
    if_match: str = ""  # the case's revision the change was based on; empty: whatever is stored


@dataclass(frozen=True, slots=True)
class CaseUpdated:
    case_no: str
    status: str
    owner: str
    due_on: date | None
    amount_minor: int
    currency: str
    changes: tuple[str, ...]  # what changed, in words; empty: nothing did


@dataclass(frozen=True, slots=True)
class AddNote:
    entity: str
    case_no: str
    text: str


@dataclass(frozen=True, slots=True)
class AddAttachment:
    """A reference to a file kept elsewhere (document store, shared drive, ticket, URL)."""

    entity: str
    case_no: str
    reference: str
    label: str = ""


@dataclass(frozen=True, slots=True)
class ResolveByCreditNote:
    entity: str
    case_no: str
    lines: tuple[tuple[int, str], ...] = ()  # (line number, quantity); empty: see below
    on: date | None = None  # the credit note date; empty: today
    note: str = ""


@dataclass(frozen=True, slots=True)
class ResolveByRebill:
    entity: str
    case_no: str
    lines: tuple[LineSpec, ...]  # the corrected invoice's lines
    on: date | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class RejectCase:
    entity: str
    case_no: str
    explanation: str  # sent to the customer
    on: date | None = None
    send_mail: bool = True  # False: the explanation reaches the customer another way
    sender: str = ""  # the From address; empty: the legal entity's e-mail


@dataclass(frozen=True, slots=True)
class Resolved:
    case_no: str
    status: str
    resolution: str
    invoice: str
    currency: str
    credit_note: str = ""
    credit_note_total_minor: int = 0
    rebill_invoice: str = ""
    rebill_total_minor: int = 0
    carried_over_minor: int = 0  # paid on the original, moved on to the corrected invoice
    adjusted_minor: int = 0  # what the resolution took off the customer's debt
    mail: str = ""  # for a rejection: to whom the explanation was queued, or "not sent"


@dataclass(frozen=True, slots=True)
class CaseView:
    case: dict[str, Any]
    resolution: dict[str, Any] | None
    events: list[dict[str, Any]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# shared steps


def _case_no(text: str) -> str:
    """DSP-000001, dsp-000001 or plain 1."""
    text = text.strip()
    if text.isdigit() and int(text) > 0:
        return case_number(int(text))
    return text.upper()


def _lock(uow: UnitOfWork) -> None:
    """Take the chain heads before reading anything a write depends on: on PostgreSQL this
    serialises writers (SQLite's write lock already does), so two people working the same
    case or invoice at once are served one after the other and never resolve a case twice or
    dispute the same euro twice."""
    uow.chains.head("audit")


def _case(uow: UnitOfWork, entity: Any, case_no: str) -> Any:
    row = uow.disputes.case(entity.id, _case_no(case_no))
    if row is None:
        raise NotFound(
            f"no dispute case {case_no!r}; list them with openbill disputes list --status all",
            record="dispute case",
            field="case",
        )
    return row


def _text(value: str, most: int, record: str, field_name: str, least: int = 0) -> str:
    text = value.strip()
    if len(text) > most:
        raise InvalidInput(f"at most {most} characters", record=record, field=field_name)
    if len(text) < least:
        raise InvalidInput(f"write at least {least} characters", record=record, field=field_name)
    return text


def _amount(text: str, currency: str, entity: Any, record: str) -> int:
    try:
        amount = to_decimal(text, field="amount")
    except Rejection as exc:
        raise InvalidInput(exc.reason, record=record, field="amount") from None
    minor = round_to_minor(amount, currency, Rounding(entity.rounding))
    if minor_to_decimal(minor, currency) != amount:
        raise InvalidInput(
            f"{text} has more decimals than {currency} has", record=record, field="amount"
        )
    return minor


def _money(minor: int, currency: str) -> str:
    return f"{format_minor(minor, currency)} {currency}"


def _limit(
    uow: UnitOfWork, entity: Any, invoice: Any, line_no: int | None, exclude: int | None
) -> tuple[int, str]:
    """How much a case can dispute, and that limit in words: what is open on the invoice less
    what other active cases dispute; for a line, also at most the line's total with tax less
    what other active cases dispute on that line."""
    currency = invoice.currency
    open_minor = uow.ledger.document_open(invoice.id)
    if open_minor <= 0:
        raise InvalidState(
            f"{invoice.number} has nothing left to pay; if the customer is owed money back, "
            "credit it (openbill invoices credit) instead of opening a dispute",
            record=f"invoice {invoice.number}",
            field="open",
        )
    others = uow.disputes.disputed_on(invoice.id, None, exclude)
    limit = open_minor - others
    why = f"{_money(open_minor, currency)} open on {invoice.number}"
    if others:
        why += f", of which {_money(others, currency)} already in dispute in other cases"
    if line_no is None:
        return limit, why
    line = _line(uow, invoice, line_no)
    gross = line_gross_minor(
        int(line.net_minor), line.tax_rate, currency, Rounding(entity.rounding)
    )
    on_line = uow.disputes.disputed_on(invoice.id, line_no, exclude)
    if gross - on_line <= limit:
        limit = gross - on_line
        why = f"line {line_no} totals {_money(gross, currency)} with tax"
        if on_line:
            why += f", of which {_money(on_line, currency)} already in dispute"
    return limit, why


def _line(uow: UnitOfWork, invoice: Any, line_no: int) -> Any:
    lines = {line.line_no: line for line in uow.documents.lines(invoice.id)}
    if line_no not in lines:
        raise InvalidInput(
            f"{invoice.number} has no line {line_no}; it has lines 1 to {len(lines)}",
            record=f"invoice {invoice.number}",
            field="line",
        )
    return lines[line_no]


def _event(
    uow: UnitOfWork, case_id: int, kind: str, detail: str, reference: str = "", bounded: bool = True
) -> None:
    if bounded and uow.disputes.event_count(case_id) >= MAX_EVENTS_PER_CASE:
        raise InvalidState(
            f"the case already has {MAX_EVENTS_PER_CASE} entries; resolve it, or open a new case "
            "for a new inquiry",
            record="dispute case",
            field="events",
        )
    uow.disputes.add_event(
        {
            "case_id": case_id,
            "kind": kind,
            "detail": detail,
            "reference": reference,
            "actor": uow.actor,
            "occurred_at": uow.clock.now(),
        }
    )


def _active(case: Any) -> Status:
    status = Status(case.status)
    if status in CLOSED:
        raise InvalidState(
            f"the case is {status.value} and closed; a closed case does not change: open a new "
            "case on the invoice (openbill disputes open)",
            record=f"dispute case {case.case_no}",
            field="status",
        )
    return status


def _where(case: Any) -> str:
    line = f" line {case.line_no} ({case.charge_code})" if case.line_no is not None else ""
    return f"{case.invoice_number}{line}"


# ---------------------------------------------------------------------------------------------
# opening and working a case


def open_case(uow: UnitOfWork, cmd: OpenCase) -> CaseOpened:
    record = f"dispute on {cmd.invoice}"
    reason = Reason(choice(cmd.reason, Reason, record, "reason"))
    owner = _text(cmd.owner, MAX_OWNER_CHARS, record, "owner")
    note = _text(cmd.note, MAX_NOTE_CHARS, record, "note")
    if cmd.line_no is not None and not 1 <= cmd.line_no <= MAX_LINES_PER_DOCUMENT:
        raise InvalidInput("not a line number", record=record, field="line")
    with uow:
        entity = entity_by_code(uow, cmd.entity)

        def run() -> CaseOpened:
            _lock(uow)  # also: two cases opened at once never get the same number
            invoice = document_by_number(uow, entity.id, cmd.invoice)
            if invoice.kind != DocumentKind.INVOICE:
                raise InvalidState(
                    f"{invoice.number} is a credit note; open the case on the invoice it corrects",
                    record=record,
                    field="invoice",
                )
            today = uow.clock.today()
            on = cmd.opened_on or today
            if on < invoice.document_date or on > today:
                raise InvalidInput(
                    f"a case is opened between the invoice date ({invoice.document_date}) and "
                    f"today ({today})",
                    record=record,
                    field="date",
                )
            if cmd.due_on is not None and cmd.due_on < on:
                raise InvalidInput(
                    f"the due date cannot be before the case is opened ({on})",
                    record=record,
                    field="due",
                )
            limit, why = _limit(uow, entity, invoice, cmd.line_no, None)
            currency = invoice.currency
            amount = _amount(cmd.amount, currency, entity, record) if cmd.amount else limit
            check_amount(amount, limit, currency, record, why)
            seq = uow.disputes.next_seq(entity.id)
            case_no = case_number(seq)
            now = uow.clock.now()
            values = {
                "entity_id": entity.id,
                "seq": seq,
                "case_no": case_no,
                "document_id": invoice.id,
                "line_no": cmd.line_no,
                "reason": reason.value,
                "currency": currency,
                "amount_minor": amount,
                "status": Status.OPEN.value,
                "owner": owner or uow.actor,
                "due_on": cmd.due_on,
                "opened_on": on,
                "closed_on": None,
                "resolution": "",
                "adjusted_minor": None,
                "opened_by": uow.actor,
                "created_at": now,
                "updated_at": now,
            }
            case_id = uow.disputes.add_case(values)
            where = (
                invoice.number if cmd.line_no is None else f"{invoice.number} line {cmd.line_no}"
            )
            due = f", due {cmd.due_on}" if cmd.due_on else ""
            _event(
                uow,
                case_id,
                "opened",
                f"opened on {where} for {reason.value}: {_money(amount, currency)} in dispute, "
                f"owner {values['owner']}{due}",
            )
            if note:
                _event(uow, case_id, "note", note)
            after = {k: v for k, v in values.items() if k not in ("created_at", "updated_at")}
            audit(uow, entity.id, "dispute.opened", "dispute_case", case_id, None, after)
            webhooks.dispute_opened(uow, entity.id, case_no)
            return CaseOpened(
                case_no,
                invoice.number,
                cmd.line_no,
                reason.value,
                amount,
                currency,
                Status.OPEN.value,
                values["owner"],
                on.isoformat(),
            )

        result = idempotent(uow, "dispute_open", cmd.idempotency_key, cmd, CaseOpened, run)
        uow.commit()
        return result


def update_case(uow: UnitOfWork, cmd: UpdateCase) -> CaseUpdated:
    record = f"dispute case {cmd.case_no}"
    owner = _text(cmd.owner, MAX_OWNER_CHARS, record, "owner")
    note = _text(cmd.note, MAX_NOTE_CHARS, record, "note")
    new_status = Status(choice(cmd.status, Status, record, "status")) if cmd.status else None
    if new_status is None and not owner and cmd.due_on is None and not cmd.amount:
        raise InvalidInput(
            "say what changes: a new status, --owner, --due or --amount", record=record
        )
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        _lock(uow)
        case = _case(uow, entity, cmd.case_no)
        record = f"dispute case {case.case_no}"
        if cmd.if_match and revision(case) != cmd.if_match:
            raise PreconditionFailed(
                "the case was changed by someone else since you read it; read it again and "
                "repeat your change",
                record=record,
            )
        current = _active(case)
        currency = case.currency
        values: dict[str, Any] = {}
        changes: list[tuple[str, str]] = []
        if new_status is not None and check_transition(current, new_status, record):
            values["status"] = new_status.value
            changes.append(("status", f"status {current.value} -> {new_status.value}"))
        if owner and owner != case.owner:
            values["owner"] = owner
            changes.append(("owner", f"owner {case.owner or '(none)'} -> {owner}"))
        if cmd.due_on is not None and cmd.due_on != case.due_on:
            if cmd.due_on < case.opened_on:
                raise InvalidInput(
                    f"the due date cannot be before the case was opened ({case.opened_on})",
                    record=record,
                    field="due",
                )
            values["due_on"] = cmd.due_on
            changes.append(("due_date", f"due {case.due_on or '(none)'} -> {cmd.due_on}"))
        if cmd.amount:
            amount = _amount(cmd.amount, currency, entity, record)
            if amount != int(case.amount_minor):
                invoice = uow.documents.get(case.document_id)
                limit, why = _limit(uow, entity, invoice, case.line_no, case.id)
                check_amount(amount, limit, currency, record, why)
                values["amount_minor"] = amount
                changes.append(
                    (
                        "amount",
                        f"amount in dispute {_money(int(case.amount_minor), currency)} -> "
                        f"{_money(amount, currency)}",
                    )
                )
        for kind, detail in changes:
            _event(uow, case.id, kind, detail)
        if note:
            _event(uow, case.id, "note", note)
        if values:
            values["updated_at"] = uow.clock.now()
            uow.disputes.update_case(case.id, values)
            before = {k: getattr(case, k) for k in values if k != "updated_at"}
            after = {k: v for k, v in values.items() if k != "updated_at"}
            audit(uow, entity.id, "dispute.updated", "dispute_case", case.id, before, after)
        elif note:
            audit(uow, entity.id, "dispute.noted", "dispute_case", case.id, None, {"note": note})
        uow.commit()
        return CaseUpdated(
            case.case_no,
            values.get("status", case.status),
            values.get("owner", case.owner),
            values.get("due_on", case.due_on),
            values.get("amount_minor", int(case.amount_minor)),
            currency,
            tuple(detail for _, detail in changes),
        )


def add_note(uow: UnitOfWork, cmd: AddNote) -> int:
    """Append a note to a case (append-only); returns how many entries the timeline has."""
    record = f"dispute case {cmd.case_no}"
    text = _text(cmd.text, MAX_NOTE_CHARS, record, "note", least=1)
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        _lock(uow)
        case = _case(uow, entity, cmd.case_no)
        _active(case)
        _event(uow, case.id, "note", text)
        audit(uow, entity.id, "dispute.noted", "dispute_case", case.id, None, {"note": text})
        count = int(uow.disputes.event_count(case.id))
        uow.commit()
        return count


def add_attachment(uow: UnitOfWork, cmd: AddAttachment) -> int:
    """Record where a file about the case is kept (append-only); the file itself stays there."""
    record = f"dispute case {cmd.case_no}"
    reference = _text(cmd.reference, MAX_REFERENCE_CHARS, record, "reference", least=1)
    label = _text(cmd.label, MAX_NOTE_CHARS, record, "label")
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        _lock(uow)
        case = _case(uow, entity, cmd.case_no)
        _active(case)
        _event(uow, case.id, "attachment", label or reference, reference)
        audit(
            uow,
            entity.id,
            "dispute.attached",
            "dispute_case",
            case.id,
            None,
            {"reference": reference, "label": label},
        )
        count = int(uow.disputes.event_count(case.id))
        uow.commit()
        return count


# ---------------------------------------------------------------------------------------------
# resolution


def _closing_date(uow: UnitOfWork, case: Any, on: date | None) -> date:
    today = uow.clock.today()
    on = on or today
    if on < case.opened_on or on > today:
        raise InvalidInput(
            f"a case is closed between the day it was opened ({case.opened_on}) and today "
            f"({today})",
            record=f"dispute case {case.case_no}",
            field="date",
        )
    return on


def _close(
    uow: UnitOfWork,
    entity: Any,
    case: Any,
    status: Status,
    resolution: Resolution,
    on: date,
    adjusted_minor: int,
    row: dict[str, Any],
    detail: str,
) -> None:
    check_transition(
        Status(case.status), status, f"dispute case {case.case_no}", by_resolution=True
    )
    now = uow.clock.now()
    uow.disputes.add_resolution(
        {
            "case_id": case.id,
            "kind": resolution.value,
            "credit_note_id": None,
            "rebill_invoice_id": None,
            "explanation": "",
            "outbox_message_id": None,
            "resolved_on": on,
            "resolved_by": uow.actor,
            "created_at": now,
            **row,
        }
    )
    values = {
        "status": status.value,
        "resolution": resolution.value,
        "closed_on": on,
        "adjusted_minor": adjusted_minor,
        "updated_at": now,
    }
    uow.disputes.update_case(case.id, values)
    _event(uow, case.id, status.value, detail, bounded=False)
    audit(
        uow,
        entity.id,
        f"dispute.{status.value}",
        "dispute_case",
        case.id,
        {"status": case.status},
        {**{k: v for k, v in values.items() if k != "updated_at"}, **row},
    )
    webhooks.dispute_resolved(uow, entity.id, case.case_no)


def _credit_reason(case: Any, note: str) -> str:
    text = f"Dispute {case.case_no} ({case.reason.replace('_', ' ')})"
    return (f"{text}: {note}" if note else text)[:CREDIT_REASON_CHARS]


def resolve_by_credit_note(uow: UnitOfWork, cmd: ResolveByCreditNote) -> Resolved:
    """Credit the invoice: a line case credits its own line (all of it unless quantities are
    given); an invoice case credits the lines given, or the whole invoice."""
    record = f"dispute case {cmd.case_no}"
    note = _text(cmd.note, MAX_NOTE_CHARS, record, "note")
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        _lock(uow)
        case = _case(uow, entity, cmd.case_no)
        record = f"dispute case {case.case_no}"
        _active(case)
        on = _closing_date(uow, case, cmd.on)
        lines = cmd.lines
        if case.line_no is not None:
            others = sorted({no for no, _ in lines if no != case.line_no})
            if others:
                raise InvalidInput(
                    f"the case is about line {case.line_no}; credit that line "
                    f"(--line {case.line_no}:QTY), or open a case on line {others[0]} or on the "
                    "whole invoice",
                    record=record,
                    field="line",
                )
            if not lines:
                line = _line(uow, uow.documents.get(case.document_id), case.line_no)
                lines = ((case.line_no, format(line.quantity, "f")),)
        issued = credit_invoice_in(
            uow,
            entity,
            CreditInvoice(
                entity.code, case.invoice_number, _credit_reason(case, note), on, tuple(lines)
            ),
        )
        if not cmd.lines and issued.total_minor > int(case.amount_minor):
            # Safety first: crediting a whole line or invoice by default is only right when
            # that is what the customer disputes; less must be said line by line.
            what = f"line {case.line_no}" if case.line_no is not None else case.invoice_number
            raise InvalidInput(
                f"the case disputes {_money(int(case.amount_minor), case.currency)} but "
                f"crediting all of {what} is {_money(issued.total_minor, case.currency)}; "
                "give the quantities to credit (--line LINE_NO:QTY), raise the amount in "
                "dispute (openbill disputes update --amount), or re-bill (--rebill)",
                record=record,
                field="line",
            )
        detail = (
            f"resolved by credit note {issued.number} over "
            f"{_money(issued.total_minor, case.currency)}"
        )
        _close(
            uow,
            entity,
            case,
            Status.RESOLVED,
            Resolution.CREDIT_NOTE,
            on,
            issued.total_minor,
            {"credit_note_id": issued.id},
            detail + (f": {note}" if note else ""),
        )
        uow.commit()
        return Resolved(
            case.case_no,
            Status.RESOLVED.value,
            Resolution.CREDIT_NOTE.value,
            case.invoice_number,
            case.currency,
            credit_note=issued.number,
            credit_note_total_minor=issued.total_minor,
            adjusted_minor=issued.total_minor,
        )


def resolve_by_rebill(uow: UnitOfWork, cmd: ResolveByRebill) -> Resolved:
    """Credit the whole invoice and issue the corrected one, linked to each other; what the
    customer already paid on the original is applied to the corrected invoice."""
    record = f"dispute case {cmd.case_no}"
    note = _text(cmd.note, MAX_NOTE_CHARS, record, "note")
    if not cmd.lines:
        raise InvalidInput(
            "a re-bill needs the corrected invoice's lines (--line CODE:QTY[:PRICE])",
            record=record,
            field="lines",
        )
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        _lock(uow)
        case = _case(uow, entity, cmd.case_no)
        record = f"dispute case {case.case_no}"
        _active(case)
        on = _closing_date(uow, case, cmd.on)
        invoice = uow.documents.get(case.document_id)
        already = uow.documents.credited_total(invoice.id)
        if already:
            raise InvalidState(
                f"{invoice.number} was already credited for {_money(already, case.currency)}; "
                "a re-bill credits the whole invoice: resolve by credit note instead "
                "(--credit-note --line LINE_NO:QTY)",
                record=record,
                field="rebill",
            )
        credit = credit_invoice_in(
            uow,
            entity,
            CreditInvoice(entity.code, invoice.number, _credit_reason(case, note or "re-bill"), on),
        )
        rebill = create_invoice_in(
            uow,
            entity,
            CreateInvoice(
                entity.code,
                case.customer_code,
                cmd.lines,
                on,
                invoice.currency,
                invoice.buyer_reference or "",
            ),
        )
        # The credit note first settles what was open on the original; the rest of it is what
        # the customer had paid, which now pays the corrected invoice.
        left = -uow.ledger.document_open(credit.id)
        carried = min(left, rebill.total_minor)
        if carried > 0:
            apply_credit_note(
                uow,
                entity.id,
                invoice.customer_id,
                invoice.currency,
                (credit.id, credit.number),
                (rebill.id, rebill.number),
                carried,
                on,
            )
        adjusted = credit.total_minor - rebill.total_minor
        detail = (
            f"resolved by re-bill: credit note {credit.number} over "
            f"{_money(credit.total_minor, case.currency)} and corrected invoice {rebill.number} "
            f"over {_money(rebill.total_minor, case.currency)}"
        )
        if carried:
            detail += f"; {_money(carried, case.currency)} already paid moved to {rebill.number}"
        _close(
            uow,
            entity,
            case,
            Status.RESOLVED,
            Resolution.REBILL,
            on,
            adjusted,
            {"credit_note_id": credit.id, "rebill_invoice_id": rebill.id},
            detail + (f": {note}" if note else ""),
        )
        uow.commit()
        return Resolved(
            case.case_no,
            Status.RESOLVED.value,
            Resolution.REBILL.value,
            invoice.number,
            case.currency,
            credit_note=credit.number,
            credit_note_total_minor=credit.total_minor,
            rebill_invoice=rebill.number,
            rebill_total_minor=rebill.total_minor,
            carried_over_minor=carried,
            adjusted_minor=adjusted,
        )


def reject_case(uow: UnitOfWork, cmd: RejectCase) -> Resolved:
    """Reject the dispute with an explanation, queued as an e-mail to the customer in the same
    transaction. Without an e-mail address the rejection is refused, unless `send_mail` is
    False: then the timeline says the explanation was not e-mailed."""
    record = f"dispute case {cmd.case_no}"
    explanation = _text(
        cmd.explanation, MAX_NOTE_CHARS, record, "explanation", least=MIN_EXPLANATION_CHARS
    )
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        _lock(uow)
        case = _case(uow, entity, cmd.case_no)
        record = f"dispute case {case.case_no}"
        _active(case)
        on = _closing_date(uow, case, cmd.on)
        invoice = uow.documents.get(case.document_id)
        message_id: int | None = None
        if cmd.send_mail:
            subject = f"Your dispute {case.case_no} on invoice {invoice.number}: not accepted"
            body = _rejection_body(uow, entity, case, invoice, explanation)
            try:
                queued = enqueue_message(
                    uow,
                    entity,
                    invoice,
                    f"dispute-{case.case_no}-rejected",
                    subject,
                    body,
                    sender=cmd.sender,
                )
            except InvalidInput as exc:
                if exc.field != "email":
                    raise
                raise InvalidInput(
                    f"{exc.reason}; or, when the customer hears it another way, reject with "
                    "--no-mail",
                    record=record,
                    field="email",
                ) from None
            message_id = queued.id
            mail = f"explanation queued to {queued.to}"
        else:
            mail = "explanation not e-mailed (--no-mail): tell the customer another way"
        _close(
            uow,
            entity,
            case,
            Status.REJECTED,
            Resolution.REJECTED,
            on,
            0,
            {"explanation": explanation, "outbox_message_id": message_id},
            f"rejected: {explanation} ({mail})",
        )
        uow.commit()
        return Resolved(
            case.case_no,
            Status.REJECTED.value,
            Resolution.REJECTED.value,
            invoice.number,
            case.currency,
            mail=mail,
        )


def _rejection_body(uow: UnitOfWork, entity: Any, case: Any, invoice: Any, explanation: str) -> str:
    customer = uow.customers.get(invoice.customer_id)
    where = f"line {case.line_no} of " if case.line_no is not None else ""
    open_minor = uow.ledger.document_open(invoice.id)
    due = f", due on {invoice.due_date.isoformat()}" if invoice.due_date else ""
    lines = [
        f"Dear {customer.name},",
        "",
        f"we have reviewed your dispute {case.case_no} about {where}invoice {invoice.number} of "
        f"{invoice.document_date.isoformat()} ({case.reason.replace('_', ' ')}, "
        f"{_money(int(case.amount_minor), case.currency)}).",
        "We cannot accept it:",
        "",
        explanation,
        "",
        f"The invoice stays payable: {_money(open_minor, invoice.currency)} is open{due}.",
        "",
        "Kind regards,",
        entity.name,
        "",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# reading


def _statuses(status: str) -> tuple[str, ...]:
    if status == "active":
        return tuple(s.value for s in Status if s in ACTIVE)
    if status == "closed":
        return tuple(s.value for s in Status if s in CLOSED)
    if status == "all":
        return ()
    allowed = ", ".join([*LIST_STATUSES, *(s.value for s in Status)])
    if status not in {s.value for s in Status}:
        raise InvalidInput(f"{status!r} is not one of: {allowed}", field="status")
    return (status,)


def _view(row: Any, today: date) -> dict[str, Any]:
    data = dict(row._mapping)
    data["overdue"] = Status(row.status) in ACTIVE and row.due_on is not None and row.due_on < today
    return data


def list_cases(
    uow: UnitOfWork,
    entity_code: str,
    status: str = "active",
    customer: str = "",
    invoice: str = "",
    owner: str = "",
    reason: str = "",
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Cases, oldest first: active ones by default (`LIST_STATUSES` or one status)."""
    filters = {
        "statuses": _statuses(status),
        "customer": customer,
        "invoice": invoice,
        "owner": owner,
        "reason": choice(reason, Reason, "disputes", "reason") if reason else "",
    }
    with uow:
        entity = entity_by_code(uow, entity_code)
        rows = uow.disputes.listing(entity.id, filters, max(1, min(limit, MAX_LIST_ROWS)))
        today = uow.clock.today()
        return [_view(r, today) for r in rows]


def show_case(uow: UnitOfWork, entity_code: str, case_no: str) -> CaseView:
    """A case whole: its fields, its resolution with the documents it issued, its timeline."""
    with uow:
        entity = entity_by_code(uow, entity_code)
        case = _case(uow, entity, case_no)
        resolution = uow.disputes.resolution(case.id)
        events = uow.disputes.events(case.id, MAX_EVENTS_PER_CASE + 10)
        view = _view(case, uow.clock.today())
        view["open_minor"] = uow.ledger.document_open(case.document_id)
        return CaseView(
            view,
            dict(resolution._mapping) if resolution is not None else None,
            [dict(e._mapping) for e in events],
        )


def dispute_report(
    uow: UnitOfWork, entity_code: str, date_from: date | None = None, date_to: date | None = None
) -> Report:
    """Counts, amounts and time to resolve of the cases opened in [date_from, date_to], by
    reason, by charge code and by both."""
    if date_from is not None and date_to is not None and date_to < date_from:
        raise InvalidInput("--to is before --from", record="disputes report", field="to")
    with uow:
        entity = entity_by_code(uow, entity_code)
        rows = uow.disputes.report_rows(entity.id, date_from, date_to, MAX_REPORT_CASES + 1)
        if len(rows) > MAX_REPORT_CASES:
            raise InvalidInput(
                f"more than {MAX_REPORT_CASES} cases were opened in the period; report on a "
                "shorter period (--from/--to)",
                record="disputes report",
                field="from",
            )
        facts = [
            CaseFacts(
                case_no=r.case_no,
                reason=Reason(r.reason),
                currency=r.currency,
                amount_minor=int(r.amount_minor),
                opened_on=r.opened_on,
                status=Status(r.status),
                closed_on=r.closed_on,
                charge_code=r.charge_code if r.line_no is not None else None,
                adjusted_minor=int(r.adjusted_minor or 0),
            )
            for r in rows
        ]
        return build_report(facts)


def disputed_amounts(
    uow: UnitOfWork, entity_id: int, document_ids: list[int] | None = None
) -> dict[int, int]:
    """Inside the caller's unit of work: the amount in dispute per invoice id, over active
    cases (what dunning pauses for). Callers cap it at what is open on the invoice: payments
    after a case was opened can leave less open than is disputed."""
    result: dict[int, int] = uow.disputes.disputed_by_document(entity_id, document_ids)
    return result


def resolution_of_document(uow: UnitOfWork, entity_code: str, number: str) -> dict[str, Any] | None:
    """The dispute resolution that issued a document (its credit note or its corrected
    invoice), with the numbers of both: how `invoices show` can name the other half."""
    with uow:
        entity = entity_by_code(uow, entity_code)
        doc = document_by_number(uow, entity.id, number)
        row = uow.disputes.resolution_of_document(doc.id)
        return dict(row._mapping) if row is not None else None
