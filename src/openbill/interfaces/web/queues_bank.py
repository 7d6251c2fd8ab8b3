"""The bank lines to review: each line with its candidates and their explanations; confirm a
candidate (the best one or another), mark a line as no customer's payment (a fee, interest,
a transfer, a refund that came back, other), undo a decision, and run the matching.

Each action calls the use case of `openbill bank` (`bank_matching.confirm`, `mark_other`,
`undo`, `match_lines`) and needs `payments.post`, like the API's bank decisions. How an
action answers: `actions.answer`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from openbill.domain.access import PAYMENTS_POST, READ
from openbill.domain.matching import OTHER_CATEGORIES
from openbill.domain.rejections import InvalidInput
from openbill.interfaces.web import fmt
from openbill.interfaces.web.actions import Done, answer
from openbill.interfaces.web.forms import ShortText, plural
from openbill.interfaces.web.guard import DESK, Desk, page
from openbill.interfaces.web.render import html
from openbill.usecases import bank_matching as bm
from openbill.usecases import desk_queues

__all__ = ["router"]

router = APIRouter(prefix=DESK, include_in_schema=False)


def _base(desk: Desk) -> str:
    return f"{DESK}/{fmt.segment(desk.entity)}"


def _bank_page(
    request: Request, desk: Desk, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    queue = desk_queues.bank_queue(desk.uow(), desk.entity)
    context = {
        "title": "Bank lines to review",
        "queue": queue,
        "most": desk_queues.MAX_QUEUE_ROWS,
        "categories": OTHER_CATEGORIES,
        "errors": errors or {},
    }
    return html(request, "bank_lines.html", {"desk": desk, "nav": "bank", **context}, status=status)


@router.get("/{entity}/bank-lines")
def bank_lines(request: Request, desk: Desk = page(READ)) -> Response:
    """Lines waiting for a person (with their candidates), lines not looked at yet, and the
    latest decisions (each can be undone)."""
    return _bank_page(request, desk)


def _line_answer(request: Request, desk: Desk, line_id: int, run: Callable[[], Done]) -> Response:
    def fragment(done: Done | None, error: str) -> Response:
        queue = desk_queues.bank_queue(desk.uow(), desk.entity, line_id)
        context = {
            "desk": desk,
            "done": done,
            "error": error,
            "categories": OTHER_CATEGORIES,
            "queue": queue,
            "row_id": f"line-{line_id}",
        }
        rows = [*queue.review, *queue.new]
        if done is not None or not rows:
            return html(request, "_done_row.html", {**context, "cols": 6})
        return html(request, "_bank_line_row.html", {**context, "l": rows[0]})

    again = lambda errors, status: _bank_page(request, desk, errors, status)  # noqa: E731
    return answer(request, desk, f"line-{line_id}", run, again, fragment)


def _posted(done: bm.Decided) -> str:
    parts = [f"{len(v)} {k.replace('_', ' ')}" for k, v in sorted(done.detail.items()) if v]
    return f" (posted: {', '.join(parts)})" if parts else ""


@router.post("/{entity}/bank-lines/{line_id}/confirm")
def confirm(
    request: Request,
    line_id: int,
    candidate: ShortText = "1",
    desk: Desk = page(PAYMENTS_POST),
) -> Response:
    """Post one of the line's candidates (`openbill bank review confirm`), after checking it
    still holds."""

    def run() -> Done:
        if not candidate.strip().isdigit():
            raise InvalidInput(
                "choose one of the candidates", record=f"bank line {line_id}", field="candidate"
            )
        done = bm.confirm(desk.caller.uow(), bm.Confirm(desk.entity, line_id, int(candidate)))
        return Done(
            f"Bank line {line_id} matched: candidate {int(candidate)} confirmed{_posted(done)}.",
            f"{_base(desk)}/bank-lines",
        )

    return _line_answer(request, desk, line_id, run)


@router.post("/{entity}/bank-lines/{line_id}/other")
def mark_other(
    request: Request,
    line_id: int,
    category: ShortText = "",
    ledger_account: Annotated[str, Form(max_length=16)] = "",
    customer: ShortText = "",
    note: Annotated[str, Form(max_length=300)] = "",
    desk: Desk = page(PAYMENTS_POST),
) -> Response:
    """Book a line that is no customer's payment on the account of its category
    (`openbill bank review other`)."""

    def run() -> Done:
        bm.mark_other(
            desk.caller.uow(),
            bm.MarkOther(desk.entity, line_id, category, ledger_account, customer, note),
        )
        return Done(
            f"Bank line {line_id} booked as {category.replace('_', ' ')}.",
            f"{_base(desk)}/bank-lines",
        )

    return _line_answer(request, desk, line_id, run)


@router.post("/{entity}/bank-lines/{line_id}/undo")
def undo(
    request: Request,
    line_id: int,
    reason: Annotated[str, Form(max_length=300)] = "",
    desk: Desk = page(PAYMENTS_POST),
) -> Response:
    """Take back the decision on a line (`openbill bank undo`): what it posted is reversed
    and the line waits again."""

    def run() -> Done:
        bm.undo(desk.caller.uow(), bm.Undo(desk.entity, line_id, reason))
        return Done(
            f"The decision on bank line {line_id} is undone; the line waits to be matched again.",
            f"{_base(desk)}/bank-lines",
        )

    again = lambda errors, status: _bank_page(request, desk, errors, status)  # noqa: E731
    return answer(request, desk, f"decided-{line_id}", run, again)


@router.post("/{entity}/bank-lines/match")
def run_matching(
    request: Request,
    account: Annotated[str, Form(max_length=64)] = "",
    desk: Desk = page(PAYMENTS_POST),
) -> Response:
    """Match every line that is new or waiting (`openbill bank match`), of one bank account
    (its name, IBAN or number) or all: the sure ones are posted, the others wait here with
    their candidates."""

    def run() -> Done:
        report = bm.match_lines(desk.caller.uow, bm.MatchLines(desk.entity, account.strip()))
        text = (
            f"Matching looked at {report.considered} {plural(report.considered, 'line')}: "
            f"{report.automatic} matched automatically, {report.review} waiting for review"
        )
        if report.set_aside:
            text += f", {len(report.set_aside)} set aside ({report.set_aside[0][1]})"
        return Done(text + ".", f"{_base(desk)}/bank-lines")

    again = lambda errors, status: _bank_page(request, desk, errors, status)  # noqa: E731
    return answer(request, desk, "match", run, again)
