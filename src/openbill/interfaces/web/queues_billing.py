"""The billing queues: drafts to prepare, verify and issue; the discrepancies the verification
found; the drafts waiting for a second person's approval.

Each action calls the use case the command line and the API call (`commercial.prepare_billing`,
`verification.verify_draft`, `invoices.issue_draft`, `verification.approve_draft`,
`verification.resolve_discrepancy`) and is guarded by the least action of `domain.access`:
preparing, verifying and resolving after a fix `invoices.prepare`; issuing `invoices.issue`;
approving and overriding `invoices.approve`. How an action answers: `actions.answer`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from openbill.domain.access import INVOICES_APPROVE, INVOICES_ISSUE, INVOICES_PREPARE, READ
from openbill.domain.rejections import NotFound
from openbill.interfaces.web import fmt
from openbill.interfaces.web.actions import Done, answer, work_key
from openbill.interfaces.web.forms import ShortText, day_of, plural
from openbill.interfaces.web.guard import DESK, Desk, page
from openbill.interfaces.web.render import html
from openbill.usecases import commercial, desk_queues, verification
from openbill.usecases import invoices as inv

__all__ = ["router"]

router = APIRouter(prefix=DESK, include_in_schema=False)


def _base(desk: Desk) -> str:
    return f"{DESK}/{fmt.segment(desk.entity)}"


# ---------------------------------------------------------------------------------------------
# drafts


def _drafts_page(
    request: Request, desk: Desk, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    queue = desk_queues.drafts_queue(desk.uow(), desk.entity)
    context = {
        "title": "Drafts",
        "queue": queue,
        "errors": errors or {},
    }
    return html(request, "drafts.html", {"desk": desk, "nav": "drafts", **context}, status=status)


def _again(request: Request, desk: Desk) -> Callable[[dict[str, str], int], Response]:
    return lambda errors, status: _drafts_page(request, desk, errors, status)


def _draft_fragment(request: Request, desk: Desk, draft_id: int) -> Callable[..., Response]:
    """htmx: the draft's row again (with what was done, or why not), or, once it is no
    draft any more (issued), a row saying so."""

    def fragment(done: Done | None, error: str) -> Response:
        context = {"desk": desk, "done": done, "error": error, "row_id": f"draft-{draft_id}"}
        try:
            queue = desk_queues.drafts_queue(desk.uow(), desk.entity, draft_id)
        except NotFound:
            return html(request, "_done_row.html", {**context, "cols": 7})
        row = queue.rows[0]
        return html(request, "_draft_row.html", {**context, "r": row})

    return fragment


@router.get("/{entity}/drafts")
def drafts(request: Request, desk: Desk = page(READ)) -> Response:
    """Drafts with their findings, and the deliveries waiting to be billed."""
    return _drafts_page(request, desk)


@router.post("/{entity}/drafts/prepare")
def prepare(
    request: Request,
    through: ShortText = "",
    document_date: ShortText = "",
    desk: Desk = page(INVOICES_PREPARE),
) -> Response:
    """Turn confirmed deliveries up to a date into drafts (`openbill billing prepare`)."""

    def run() -> Done:
        last = day_of(through, "through", "billing run") or desk.book.clock.today()
        on = day_of(document_date, "document_date", "billing run")
        made = commercial.prepare_billing(
            desk.caller.uow(),
            # Credit notes for corrections only for whoever may issue (as the API does).
            commercial.PrepareBilling(desk.entity, last, on, desk.may(INVOICES_ISSUE)),
        )
        drafts_made = sum(1 for d in made.documents if d.kind == "draft")
        text = (
            f"Billing run through {last}: {made.looked_at} "
            f"{plural(made.looked_at, 'delivery', 'deliveries')} looked at, "
            f"{drafts_made} {plural(drafts_made, 'draft')} made"
        )
        others = len(made.documents) - drafts_made
        if others:
            text += f", {others} correction{'' if others == 1 else 's'}"
        if made.held:
            held = "; ".join(f"{h.delivery}: {h.reason}" for h in made.held[:10])
            more = f" and {len(made.held) - 10} more" if len(made.held) > 10 else ""
            text += f". Held back: {held}{more}"
        return Done(text + ".", f"{_base(desk)}/drafts")

    return answer(request, desk, "prepare", run, _again(request, desk))


@router.post("/{entity}/drafts/{draft_id}/verify")
def verify(request: Request, draft_id: int, desk: Desk = page(INVOICES_PREPARE)) -> Response:
    """Check a draft again (`openbill drafts verify`); its findings go to the queue."""

    def run() -> Done:
        got = verification.verify_draft(
            desk.caller.uow(), verification.VerifyDraft(desk.entity, draft_id)
        )
        text = (
            f"Draft {draft_id} checked: {got.open_blocking} blocking "
            f"{plural(got.open_blocking, 'finding')}, {got.open_warnings} "
            f"{plural(got.open_warnings, 'warning')} open"
        )
        if got.resolved_now:
            text += f", {got.resolved_now} no longer found"
        return Done(text + ".", f"{_base(desk)}/drafts#draft-{draft_id}")

    return answer(
        request,
        desk,
        f"draft-{draft_id}",
        run,
        _again(request, desk),
        _draft_fragment(request, desk, draft_id),
    )


@router.post("/{entity}/drafts/{draft_id}/issue")
def issue(
    request: Request,
    draft_id: int,
    issue_date: ShortText = "",
    key: Annotated[str, Form(max_length=64)] = "",
    desk: Desk = page(INVOICES_ISSUE),
) -> Response:
    """Issue a draft (`openbill drafts issue`): it is checked once more and refused while a
    blocking finding is open; it gets the next number and cannot change any more."""

    def run() -> Done:
        issued = inv.issue_draft(
            desk.caller.uow(),
            inv.IssueDraft(
                desk.entity,
                draft_id,
                day_of(issue_date, "issue_date", f"draft {draft_id}"),
                work_key(desk, key),
            ),
        )
        link = f"{_base(desk)}/invoices/{fmt.segment(issued.number)}"
        text = (
            f"Draft {draft_id} issued as {issued.number}: "
            f"{fmt.money(issued.total_minor, issued.currency)}, due {issued.due_date or '—'}."
        )
        return Done(text, link, link, issued.number)

    return answer(
        request,
        desk,
        f"draft-{draft_id}",
        run,
        _again(request, desk),
        _draft_fragment(request, desk, draft_id),
    )


# ---------------------------------------------------------------------------------------------
# approvals


def _approvals_page(
    request: Request, desk: Desk, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    rows = desk_queues.findings_queue(desk.uow(), desk.entity, "open", approvals=True)
    context = {"title": "Approvals", "rows": rows, "errors": errors or {}}
    return html(
        request, "approvals.html", {"desk": desk, "nav": "approvals", **context}, status=status
    )


@router.get("/{entity}/approvals")
def approvals(request: Request, desk: Desk = page(READ)) -> Response:
    """Drafts above the approval threshold, waiting for a second person."""
    return _approvals_page(request, desk)


@router.post("/{entity}/drafts/{draft_id}/approve")
def approve(request: Request, draft_id: int, desk: Desk = page(INVOICES_APPROVE)) -> Response:
    """Approve a draft (`openbill drafts approve`): never by whoever prepared it."""

    def run() -> Done:
        got = verification.approve_draft(
            desk.caller.uow(), verification.ApproveDraft(desk.entity, draft_id)
        )
        text = f"Draft {draft_id} approved by {desk.principal.name}"
        if got.open_blocking:
            text += f"; {got.open_blocking} other blocking {plural(got.open_blocking, 'finding')}"
            text += " still open"
        return Done(text + ".", f"{_base(desk)}/approvals")

    def fragment(done: Done | None, error: str) -> Response:
        rows = [
            r
            for r in desk_queues.findings_queue(desk.uow(), desk.entity, "open", approvals=True)
            if int(r["document_id"]) == draft_id
        ]
        context = {"desk": desk, "done": done, "error": error, "row_id": f"approval-{draft_id}"}
        if done is not None or not rows:
            return html(request, "_done_row.html", {**context, "cols": 7})
        return html(request, "_approval_row.html", {**context, "r": rows[0]})

    again = lambda errors, status: _approvals_page(request, desk, errors, status)  # noqa: E731
    return answer(request, desk, f"approval-{draft_id}", run, again, fragment)


# ---------------------------------------------------------------------------------------------
# discrepancies


def _discrepancies_page(
    request: Request,
    desk: Desk,
    status: str,
    errors: dict[str, str] | None = None,
    code: int = 200,
) -> Response:
    rows = desk_queues.findings_queue(desk.uow(), desk.entity, status)
    context = {
        "title": "Discrepancies",
        "rows": rows,
        "status": status,
        "statuses": desk_queues.FINDING_STATUSES,
        "errors": errors or {},
        "min_reason": verification.MIN_OVERRIDE_REASON,
    }
    return html(
        request,
        "discrepancies.html",
        {"desk": desk, "nav": "discrepancies", **context},
        status=code,
    )


@router.get("/{entity}/discrepancies")
def discrepancies(
    request: Request,
    desk: Desk = page(READ),
    status: Annotated[str, Query(max_length=16)] = "open",
) -> Response:
    """The findings of draft verification: open ones by default."""
    return _discrepancies_page(request, desk, status)


def _finding_answer(
    request: Request, desk: Desk, finding_id: int, run: Callable[[], Done]
) -> Response:
    def fragment(done: Done | None, error: str) -> Response:
        context = {"desk": desk, "done": done, "error": error, "row_id": f"finding-{finding_id}"}
        try:
            found = desk_queues.findings_queue(desk.uow(), desk.entity, "", finding_id=finding_id)
        except NotFound:
            found = ()
        if done is not None or not found:
            return html(request, "_done_row.html", {**context, "cols": 6})
        context["min_reason"] = verification.MIN_OVERRIDE_REASON
        return html(request, "_finding_row.html", {**context, "r": found[0]})

    again = lambda errors, status: _discrepancies_page(  # noqa: E731
        request, desk, "open", errors, status
    )
    return answer(request, desk, f"finding-{finding_id}", run, again, fragment)


@router.post("/{entity}/discrepancies/{finding_id}/resolve")
def resolve(request: Request, finding_id: int, desk: Desk = page(INVOICES_PREPARE)) -> Response:
    """The source record was corrected: check the draft again and close the finding
    (`openbill discrepancies resolve --fixed`); refused while it is still found."""

    def run() -> Done:
        verification.resolve_discrepancy(
            desk.caller.uow(),
            verification.ResolveDiscrepancy(desk.entity, finding_id, "fixed"),
        )
        return Done(
            f"Finding {finding_id} resolved: the draft no longer shows it.",
            f"{_base(desk)}/discrepancies",
        )

    return _finding_answer(request, desk, finding_id, run)


@router.post("/{entity}/discrepancies/{finding_id}/override")
def override(
    request: Request,
    finding_id: int,
    reason: Annotated[str, Form(max_length=1000)] = "",
    desk: Desk = page(INVOICES_APPROVE),
) -> Response:
    """Accept a finding as it is, with a written reason kept with it and in the audit trail
    (`openbill discrepancies resolve --override`)."""

    def run() -> Done:
        verification.resolve_discrepancy(
            desk.caller.uow(),
            verification.ResolveDiscrepancy(desk.entity, finding_id, "override", reason),
        )
        return Done(
            f"Finding {finding_id} overridden by {desk.principal.name}: {reason.strip()}",
            f"{_base(desk)}/discrepancies",
        )

    return _finding_answer(request, desk, finding_id, run)
