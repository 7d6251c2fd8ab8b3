"""The receivables queues: overdue invoices with their next dunning step (run dunning, promises
to pay, holds), dispute cases (open one, add a note, resolve by credit note, re-bill or
rejection), and recording a payment.

Each action calls the use case of the command line (`dunning`, `disputes`,
`payments.record_payment`) and is guarded by the least action of `domain.access`: a dunning
run, a promise to pay and a hold or its release `dunning.run` (they decide whether and how a
customer is chased); opening a case and adding a note `disputes.open`; resolving
`disputes.resolve`; a payment `payments.post`. How an action answers: `actions.answer`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from openbill.domain.access import (
    DISPUTES_OPEN,
    DISPUTES_RESOLVE,
    DUNNING_RUN,
    PAYMENTS_POST,
    READ,
)
from openbill.domain.disputes import Reason
from openbill.domain.rejections import InvalidInput, Rejection
from openbill.interfaces.web import fmt
from openbill.interfaces.web.actions import Done, answer, work_key
from openbill.interfaces.web.forms import LongText, ShortText, day_of, plural
from openbill.interfaces.web.guard import DESK, Desk, page
from openbill.interfaces.web.render import html
from openbill.usecases import desk_queues
from openbill.usecases import disputes as ds
from openbill.usecases import dunning as dn
from openbill.usecases import payments as pay
from openbill.usecases import reports as rep
from openbill.usecases.invoices import LineSpec

__all__ = ["router", "MAX_REBILL_LINES", "MAX_TAKEN_SHOWN"]

router = APIRouter(prefix=DESK, include_in_schema=False)

MAX_REBILL_LINES = 10  # lines of a corrected invoice entered on the case page
MAX_TAKEN_SHOWN = 10  # steps of a dunning run named in its message (the report has all)
DISPUTE_LISTS = ("active", "closed", "all")
_CREDIT_FIELD = re.compile(r"^credit_(\d{1,4})$")


def _base(desk: Desk) -> str:
    return f"{DESK}/{fmt.segment(desk.entity)}"


# ---------------------------------------------------------------------------------------------
# overdue invoices and collections


def _overdue_page(
    request: Request,
    desk: Desk,
    as_of: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    queue = desk_queues.overdue_queue(desk.uow(), desk.entity, day_of(as_of, "as_of"))
    context = {
        "title": "Overdue invoices",
        "queue": queue,
        "as_of_given": as_of,
        "errors": errors or {},
        "hold_kinds": dn.HOLD_KINDS,
        "min_reason": dn.MIN_REASON,
    }
    return html(request, "overdue.html", {"desk": desk, "nav": "overdue", **context}, status=status)


@router.get("/{entity}/overdue")
def overdue(
    request: Request,
    desk: Desk = page(READ),
    as_of: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    """Invoices overdue on a day (today unless `as_of` says), each with its next dunning step
    and the day it falls due; each customer's holds and promise to pay."""
    return _overdue_page(request, desk, as_of)


@router.post("/{entity}/dunning/run")
def run_dunning(
    request: Request,
    as_of: ShortText = "",
    dry_run: ShortText = "",
    desk: Desk = page(DUNNING_RUN),
) -> Response:
    """Take every dunning step due on a day (`openbill dunning run`); a dry run decides and
    reports, changing nothing. A second run on the same day takes nothing new."""
    from openbill.adapters.documents.dunning_mail import TemplateLetters
    from openbill.adapters.mail import SmtpSettings

    def run() -> Done:
        day = day_of(as_of, "as_of", "dunning run") or desk.book.clock.today()
        trial = bool(dry_run)
        report = dn.run_dunning(
            desk.caller.uow(),
            dn.RunDunning(desk.entity, day, trial, SmtpSettings().sender),
            TemplateLetters(),
        )
        skipped = sum(1 for s in report.skipped if not s.step_no)
        text = (
            f"{'Dry run' if trial else 'Dunning run'} as of {day}: {report.invoices_seen} "
            f"{plural(report.invoices_seen, 'invoice')} with a step due, {report.steps_taken} "
            f"{plural(report.steps_taken, 'step')} taken, {report.fee_invoices} fee "
            f"{plural(report.fee_invoices, 'invoice')}, {report.emails} "
            f"{plural(report.emails, 'e-mail')} queued, {skipped} "
            f"{plural(skipped, 'invoice')} skipped"
        )
        taken = [f"{t.invoice} step {t.step_no} ({t.reason})" for t in report.taken]
        if taken:
            more = len(taken) - MAX_TAKEN_SHOWN
            text += (
                ": "
                + "; ".join(taken[:MAX_TAKEN_SHOWN])
                + (f" and {more} more" if more > 0 else "")
            )
        if report.message:
            text += f". {report.message}"
        if trial:
            text += ". Nothing was changed"
        return Done(text + ".", f"{_base(desk)}/overdue")

    # The queue as of today beside the refusal (the date given may be what was refused).
    again = lambda errors, status: _overdue_page(request, desk, "", errors, status)  # noqa: E731
    return answer(request, desk, "run", run, again)


def _customer_answer(request: Request, desk: Desk, code: str, run: Callable[[], Done]) -> Response:
    key = f"customer-{fmt.dom_id(code)}"

    def fragment(done: Done | None, error: str) -> Response:
        queue = desk_queues.overdue_queue(desk.uow(), desk.entity)
        found = [c for c in queue.customers if c.code == code]
        context = {
            "desk": desk,
            "done": done,
            "error": error,
            "hold_kinds": dn.HOLD_KINDS,
            "min_reason": dn.MIN_REASON,
            "queue": queue,
        }
        if not found:
            return html(request, "_done_block.html", {**context, "block_id": key})
        return html(request, "_collection.html", {**context, "c": found[0]})

    again = lambda errors, status: _overdue_page(request, desk, "", errors, status)  # noqa: E731
    return answer(request, desk, key, run, again, fragment)


@router.post("/{entity}/customers/{code}/promise")
def promise(
    request: Request,
    code: str,
    amount: ShortText = "",
    pay_by: ShortText = "",
    note: Annotated[str, Form(max_length=dn.MAX_REASON)] = "",
    desk: Desk = page(DUNNING_RUN),
) -> Response:
    """Record a customer's promise to pay (`openbill dunning promise`): dunning skips the
    customer until the promised day plus the policy's grace days."""

    def run() -> Done:
        day = day_of(pay_by, "pay_by", f"promise of customer {code}")
        if day is None:
            raise InvalidInput(
                "give the day the customer promised to pay by",
                record=f"promise of customer {code}",
                field="pay_by",
            )
        made = dn.add_promise(
            desk.caller.uow(), dn.AddPromise(desk.entity, code, day, amount, note)
        )
        text = f"{code} promised to pay {made.amount} {made.currency} by {made.pay_by}"
        if made.replaced:
            text += " (it replaces the open promise)"
        return Done(text + ".", f"{_base(desk)}/overdue#customer-{fmt.dom_id(code)}")

    return _customer_answer(request, desk, code, run)


@router.post("/{entity}/customers/{code}/hold")
def hold(
    request: Request,
    code: str,
    kind: ShortText = "",
    reason: Annotated[str, Form(max_length=dn.MAX_REASON)] = "",
    desk: Desk = page(DUNNING_RUN),
) -> Response:
    """Put a customer on dunning hold (no steps) or credit hold (no new invoices)."""

    def run() -> Done:
        made = dn.set_hold(desk.caller.uow(), dn.SetHold(desk.entity, code, kind, reason))
        return Done(
            f"{code} is on {made.kind} hold: {made.reason}.",
            f"{_base(desk)}/overdue#customer-{fmt.dom_id(code)}",
        )

    return _customer_answer(request, desk, code, run)


@router.post("/{entity}/customers/{code}/release")
def release(
    request: Request,
    code: str,
    kind: ShortText = "",
    reason: Annotated[str, Form(max_length=dn.MAX_REASON)] = "",
    desk: Desk = page(DUNNING_RUN),
) -> Response:
    """Release a customer's dunning or credit hold, with a reason."""

    def run() -> Done:
        made = dn.release_hold(desk.caller.uow(), dn.ReleaseHold(desk.entity, code, kind, reason))
        return Done(
            f"{code}'s {made.kind} hold is released: {made.release_reason}.",
            f"{_base(desk)}/overdue#customer-{fmt.dom_id(code)}",
        )

    return _customer_answer(request, desk, code, run)


# ---------------------------------------------------------------------------------------------
# dispute cases


@router.get("/{entity}/disputes")
def disputes(
    request: Request,
    desk: Desk = page(READ),
    status: Annotated[str, Query(max_length=32)] = "active",
) -> Response:
    """Dispute cases: active, closed or all."""
    wanted = status if status in DISPUTE_LISTS else "active"
    rows = ds.list_cases(desk.uow(), desk.entity, status=wanted, limit=desk_queues.MAX_QUEUE_ROWS)
    context = {"title": "Dispute cases", "rows": rows, "status": wanted, "lists": DISPUTE_LISTS}
    return html(request, "disputes.html", {"desk": desk, "nav": "disputes", **context})


def _new_dispute_page(
    request: Request,
    desk: Desk,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    invoice = values.get("invoice", "").strip()
    lines: list[dict[str, Any]] = []
    if invoice and not errors:
        lines = rep.show_document(desk.uow(), desk.entity, invoice).lines
    context = {
        "title": "Open a dispute case",
        "values": values,
        "lines": lines,
        "reasons": [r.value for r in Reason],
        "errors": errors or {},
    }
    return html(
        request, "dispute_new.html", {"desk": desk, "nav": "disputes", **context}, status=status
    )


@router.get("/{entity}/disputes/new")
def new_dispute(
    request: Request,
    desk: Desk = page(DISPUTES_OPEN),
    invoice: Annotated[str, Query(max_length=40)] = "",
    line: Annotated[str, Query(max_length=6)] = "",
) -> Response:
    """The form to open a case on an invoice (from the invoice page: its number filled in)."""
    return _new_dispute_page(request, desk, {"invoice": invoice, "line": line})


@router.post("/{entity}/disputes")
def open_dispute(
    request: Request,
    invoice: ShortText = "",
    line: ShortText = "",
    reason: ShortText = "",
    amount: ShortText = "",
    due: ShortText = "",
    owner: Annotated[str, Form(max_length=ds.MAX_OWNER_CHARS)] = "",
    note: LongText = "",
    key: ShortText = "",
    desk: Desk = page(DISPUTES_OPEN),
) -> Response:
    """Open a case (`openbill disputes open`); dunning pauses for its amount."""
    values = {
        "invoice": invoice,
        "line": line,
        "reason": reason,
        "amount": amount,
        "due": due,
        "owner": owner,
        "note": note,
    }

    def run() -> Done:
        line_no = None
        if line.strip():
            if not line.strip().isdigit():
                raise InvalidInput("choose a line of the invoice", record="dispute", field="line")
            line_no = int(line)
        made = ds.open_case(
            desk.caller.uow(),
            ds.OpenCase(
                desk.entity,
                invoice.strip(),
                reason,
                amount.strip(),
                line_no,
                owner,
                day_of(due, "due", "dispute"),
                note,
                idempotency_key=work_key(desk, key),
            ),
        )
        link = f"{_base(desk)}/disputes/{fmt.segment(made.case_no)}"
        where = made.invoice if made.line_no is None else f"{made.invoice} line {made.line_no}"
        text = (
            f"Case {made.case_no} opened on {where} ({made.reason}): "
            f"{fmt.money(made.amount_minor, made.currency)} in dispute, owner {made.owner}; "
            "dunning pauses for this amount."
        )
        return Done(text, link, link, made.case_no)

    again = lambda errors, status: _new_dispute_page(  # noqa: E731
        request, desk, values, errors, status
    )
    return answer(request, desk, "dispute", run, again)


def _case_page(
    request: Request,
    desk: Desk,
    case_no: str,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    found = desk_queues.dispute_case_page(desk.uow(), desk.entity, case_no)
    context = {
        "title": f"Dispute case {found.case['case_no']}",
        "page": found,
        "c": found.case,
        "errors": errors or {},
        "reasons": [r.value for r in Reason],
        "rebill_rows": range(1, MAX_REBILL_LINES + 1),
        "min_explanation": ds.MIN_EXPLANATION_CHARS,
    }
    return html(
        request, "dispute_case.html", {"desk": desk, "nav": "disputes", **context}, status=status
    )


@router.get("/{entity}/disputes/{case_no}")
def dispute_case(request: Request, case_no: str, desk: Desk = page(READ)) -> Response:
    """A case whole: its fields, the timeline, its resolution, and the forms to work it."""
    return _case_page(request, desk, case_no)


@router.post("/{entity}/disputes/{case_no}/notes")
def add_note(
    request: Request, case_no: str, note: LongText = "", desk: Desk = page(DISPUTES_OPEN)
) -> Response:
    """Add a note to the case's timeline (`openbill disputes note`; notes are never changed)."""

    def run() -> Done:
        count = ds.add_note(desk.caller.uow(), ds.AddNote(desk.entity, case_no, note))
        return Done(
            f"Note added; the timeline has {count} entries.",
            f"{_base(desk)}/disputes/{fmt.segment(case_no)}#timeline",
        )

    again = lambda errors, status: _case_page(request, desk, case_no, errors, status)  # noqa: E731
    return answer(request, desk, "note", run, again)


def _credit_lines(form: Any) -> tuple[tuple[int, str], ...]:
    """(line number, quantity) from the fields credit_<line_no>; empty ones left out."""
    out = []
    for name, value in form.multi_items():
        found = _CREDIT_FIELD.match(name)
        if found and isinstance(value, str) and value.strip():
            out.append((int(found.group(1)), value.strip()[:40]))
    return tuple(sorted(out))


def _rebill_lines(form: Any) -> tuple[LineSpec, ...]:
    """The corrected invoice's lines from rebill_code_N, rebill_qty_N, rebill_price_N."""
    specs = []
    for i in range(1, MAX_REBILL_LINES + 1):
        code = str(form.get(f"rebill_code_{i}", "") or "").strip()[:64]
        qty = str(form.get(f"rebill_qty_{i}", "") or "").strip()[:40]
        price = str(form.get(f"rebill_price_{i}", "") or "").strip()[:40]
        if not (code or qty or price):
            continue
        if not code or not qty:
            raise InvalidInput(
                f"line {i} of the corrected invoice needs a charge code and a quantity",
                record="re-bill",
                field=f"rebill_line_{i}",
            )
        specs.append(LineSpec(code, qty, unit_price=price))
    return tuple(specs)


@router.post("/{entity}/disputes/{case_no}/resolve")
async def resolve_dispute(
    request: Request, case_no: str, desk: Desk = page(DISPUTES_RESOLVE)
) -> Response:
    """Close a case (`openbill disputes resolve`): by a credit note (for quantities of some
    lines, or as the case says), by a re-bill (a credit note for the whole invoice and a
    corrected one), or by a rejection whose explanation is e-mailed to the customer."""
    form = await request.form()  # bounded by the desk's body limit (middleware)
    how = str(form.get("how", "") or "")
    note = str(form.get("note", "") or "")[:4000]
    on = str(form.get("date", "") or "")[:10]

    def run() -> Done:
        day = day_of(on, "date", f"dispute case {case_no}")
        uow = desk.caller.uow()
        if how == "credit_note":
            done = ds.resolve_by_credit_note(
                uow, ds.ResolveByCreditNote(desk.entity, case_no, _credit_lines(form), day, note)
            )
        elif how == "rebill":
            done = ds.resolve_by_rebill(
                uow, ds.ResolveByRebill(desk.entity, case_no, _rebill_lines(form), day, note)
            )
        elif how == "reject":
            from openbill.adapters.mail import SmtpSettings

            explanation = str(form.get("explanation", "") or "")[:4000]
            send = str(form.get("send_mail", "") or "") == "yes"
            done = ds.reject_case(
                uow,
                ds.RejectCase(desk.entity, case_no, explanation, day, send, SmtpSettings().sender),
            )
        else:
            raise InvalidInput(
                "choose how the case ends: credit note, re-bill or rejection",
                record=f"dispute case {case_no}",
                field="how",
            )
        return Done(_resolved_text(done), f"{_base(desk)}/disputes/{fmt.segment(case_no)}")

    again = lambda errors, status: _case_page(request, desk, case_no, errors, status)  # noqa: E731
    return await run_in_threadpool(answer, request, desk, "resolve", run, again)


def _resolved_text(r: ds.Resolved) -> str:
    cur = r.currency
    if r.resolution == "credit_note":
        return (
            f"{r.case_no} resolved: credit note {r.credit_note} over "
            f"{fmt.money(r.credit_note_total_minor, cur)} credits {r.invoice}."
        )
    if r.resolution == "rebill":
        text = (
            f"{r.case_no} resolved by re-bill: credit note {r.credit_note} over "
            f"{fmt.money(r.credit_note_total_minor, cur)} credits {r.invoice}; corrected "
            f"invoice {r.rebill_invoice} over {fmt.money(r.rebill_total_minor, cur)}"
        )
        if r.carried_over_minor:
            text += f"; {fmt.money(r.carried_over_minor, cur)} already paid moved to it"
        return text + "."
    return f"{r.case_no} rejected; {r.mail}."


# ---------------------------------------------------------------------------------------------
# recording a payment


def _payment_page(
    request: Request,
    desk: Desk,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    try:
        form = desk_queues.payment_form(
            desk.uow(), desk.entity, values.get("customer", ""), values.get("invoice", "")
        )
    except Rejection:
        if not errors:
            raise
        # Beside a refusal, the form as typed (the customer or invoice may be what is wrong).
        form = desk_queues.payment_form(desk.uow(), desk.entity)
    context = {"title": "Record a payment", "form": form, "values": values, "errors": errors or {}}
    return html(
        request, "payment_new.html", {"desk": desk, "nav": "payments", **context}, status=status
    )


@router.get("/{entity}/payments/new")
def new_payment(
    request: Request,
    desk: Desk = page(PAYMENTS_POST),
    customer: Annotated[str, Query(max_length=64)] = "",
    invoice: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """The payment form; from a customer's or an invoice's page with it filled in."""
    return _payment_page(request, desk, {"customer": customer, "invoice": invoice})


@router.post("/{entity}/payments")
def record_payment(
    request: Request,
    customer: ShortText = "",
    invoice: ShortText = "",
    amount: ShortText = "",
    currency: ShortText = "",
    received_on: ShortText = "",
    method: ShortText = "bank_transfer",
    reference: Annotated[str, Form(max_length=500)] = "",
    allocate: ShortText = "auto",
    key: ShortText = "",
    desk: Desk = page(PAYMENTS_POST),
) -> Response:
    """Record a payment received and allocate it (`openbill payments record`): by its
    reference, else oldest first (auto); all of it to the invoice it was recorded from; or
    kept as the customer's credit (none)."""
    values = {
        "customer": customer,
        "invoice": invoice,
        "amount": amount,
        "currency": currency,
        "received_on": received_on,
        "method": method,
        "reference": reference,
        "allocate": allocate,
    }

    def run() -> Done:
        to: tuple[tuple[str, str], ...] = ()
        how = allocate
        if allocate == "invoice":
            if not invoice.strip():
                raise InvalidInput(
                    "say which invoice the payment pays", record="payment", field="invoice"
                )
            how, to = "explicit", ((invoice.strip(), amount.strip()),)
        elif allocate not in ("auto", "oldest", "none"):
            raise InvalidInput(
                "allocate it automatically, to the invoice, or keep it as credit",
                record="payment",
                field="allocate",
            )
        done = pay.record_payment(
            desk.caller.uow(),
            pay.RecordPayment(
                entity=desk.entity,
                customer=customer.strip(),
                amount=amount.strip(),
                currency=currency.strip().upper(),
                received_on=day_of(received_on, "received_on", "payment"),
                method=method,
                reference=reference.strip(),
                allocate=how,
                to=to,
                idempotency_key=work_key(desk, key),
            ),
        )
        cur = done.currency
        text = (
            f"Payment {done.id} of {fmt.money(done.amount_minor, cur)} from {customer.strip()} "
            f"recorded: {fmt.money(done.allocated_minor, cur)} allocated"
        )
        if done.invoices:
            text += f" to {', '.join(done.invoices)}"
        text += f"; the customer's credit is {fmt.money(done.credit_minor, cur)}."
        if invoice.strip():
            to_page = f"{_base(desk)}/invoices/{fmt.segment(invoice.strip())}"
        else:
            to_page = f"{_base(desk)}/customers/{fmt.segment(customer.strip())}"
        return Done(text, to_page)

    again = lambda errors, status: _payment_page(request, desk, values, errors, status)  # noqa: E731
    return answer(request, desk, "payment", run, again)
