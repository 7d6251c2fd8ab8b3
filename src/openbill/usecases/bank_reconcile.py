"""Month-end bank reconciliation as a report (`openbill bank reconcile --account A --period M`).

The statement balance at the end of the month and the book balance of the bank's ledger
account on that day differ by exactly these, each listed:

    statement balance - book balance
      = (first statement's opening balance - book entries from before the first statement)
      + bank lines not in the book yet (waiting for review or never matched)
      - book entries not on any statement (recorded by hand, not yet through the bank)
      + lines matched to book entries dated after the month end
      - book entries matched to lines booked after the month end
      - what undone decisions and their undoing left (always zero: they cancel)
      + what the statements themselves do not account for (a missing statement)

Every term is computed from the rows, so the report ends with "unexplained: 0.00" unless
something is wrong; then it says so. Matched lines and the entries they account for cancel,
because each decision accounts for exactly its line's amount.
"""

from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from openbill.domain.rejections import InvalidInput, NotFound
from openbill.ports import UnitOfWork
from openbill.usecases._support import entity_by_code
from openbill.usecases.bank import account_by_ref

__all__ = ["Item", "Reconcile", "Reconciliation", "reconcile"]

ITEMS_MAX = 500  # items listed per side (the sums always cover all of them)


@dataclass(frozen=True, slots=True)
class Reconcile:
    entity: str
    account: str
    period: str  # YYYY-MM


@dataclass(frozen=True, slots=True)
class Item:
    on: date
    amount_minor: int
    what: str
    id: int


@dataclass(frozen=True, slots=True)
class Reconciliation:
    account: str
    iban: str
    currency: str
    ledger_account: str
    start: date
    end: date
    statement_balance_minor: int | None
    statement_on: date | None
    statement_ref: str
    book_balance_minor: int
    first_opening_minor: int | None
    first_opening_on: date | None
    brought_forward_minor: int  # book entries before the first statement, on no statement
    unmatched_lines: tuple[Item, ...]
    unmatched_lines_minor: int
    unmatched_book: tuple[Item, ...]
    unmatched_book_minor: int
    later_in_book_minor: int  # lines up to the end whose book entries are dated after it
    later_on_statement_minor: int  # book entries up to the end whose lines came after it
    undone_minor: int
    statement_gap_minor: int
    lines_in_period: int
    money_in_minor: int
    money_out_minor: int
    matched_automatic: int
    matched_by_hand: int
    waiting: int
    undone_in_period: int
    problems: tuple[str, ...]

    @property
    def difference_minor(self) -> int | None:
        if self.statement_balance_minor is None:
            return None
        return self.statement_balance_minor - self.book_balance_minor

    @property
    def opening_difference_minor(self) -> int:
        return (self.first_opening_minor or 0) - self.brought_forward_minor

    @property
    def explained_minor(self) -> int:
        return (
            self.opening_difference_minor
            + self.unmatched_lines_minor
            - self.unmatched_book_minor
            + self.later_in_book_minor
            - self.later_on_statement_minor
            - self.undone_minor
            + self.statement_gap_minor
        )

    @property
    def unexplained_minor(self) -> int | None:
        diff = self.difference_minor
        return None if diff is None else diff - self.explained_minor


def _month(period: str) -> tuple[date, date]:
    match = re.fullmatch(r"(\d{4})-(\d{2})", period.strip())
    if match is None or not 1 <= int(match[2]) <= 12:
        raise InvalidInput(
            f"{period!r} is not a month; write YYYY-MM", record="reconcile", field="period"
        )
    year, month = int(match[1]), int(match[2])
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def reconcile(uow: UnitOfWork, cmd: Reconcile) -> Reconciliation:
    start, end = _month(cmd.period)
    with uow:
        entity = entity_by_code(uow, cmd.entity)
        account = account_by_ref(uow, entity.id, cmd.account)
        if account is None:
            raise NotFound(
                f"no bank account {cmd.account!r}; see `openbill bank accounts list`",
                record="reconcile",
                field="account",
            )
        statements = list(uow.bank.statements_of(account.id))
        lines = uow.bank.lines(entity.id, account_id=account.id, limit=10_000_000)
        entries = uow.bank.book_entries(entity.id, account.ledger_account, account.currency, end)
        links = uow.bank.live_links(account.id)
        return _report(uow, account, start, end, statements, lines, entries, links)


def _first(statements: list[Any], lines: Any) -> tuple[Any, date | None, int | None]:
    if not statements:
        return None, None, None
    first = min(
        statements,
        key=lambda s: (s.period_from or s.opening_on or s.closing_on or date.max, s.id),
    )
    opening = first.opening_minor
    if opening is None and first.closing_minor is not None:
        own = [int(x.amount_minor) for x in lines if x.statement_id == first.id]
        opening = int(first.closing_minor) - sum(own)
    begins = first.period_from or first.opening_on
    if begins is None:
        days = [x.booking_date for x in lines if x.statement_id == first.id]
        begins = min(days) if days else first.closing_on
    return first, begins, None if opening is None else int(opening)


def _report(
    uow: UnitOfWork,
    account: Any,
    start: date,
    end: date,
    statements: list[Any],
    lines: Any,
    entries: list[tuple[Any, ...]],
    links: list[tuple[int, date, date, int]],
) -> Reconciliation:
    first, begins, first_opening = _first(statements, lines)
    closed = [s for s in statements if s.closing_minor is not None and s.closing_on is not None]
    upto = [s for s in closed if s.closing_on <= end]
    last = max(upto, key=lambda s: (s.closing_on, s.id)) if upto else None
    balance = None if last is None else int(last.closing_minor)
    cut = last.closing_on if last else end
    # A line is in the statement balance when the statement that brought it closes by then
    # (a bank may book an entry on a statement under an earlier or later date), or, brought
    # by a report without a closing balance, when it is booked by then.
    closing_of = {s.id: s.closing_on for s in statements}

    def counted(x: Any) -> bool:
        closes = closing_of.get(x.statement_id)
        return bool(closes <= cut if closes is not None else x.booking_date <= cut)

    lines_upto = [x for x in lines if counted(x)]
    counted_ids = {x.id for x in lines_upto}
    book_balance = sum(int(e[6]) for e in entries)
    brought = 0
    unmatched_book: list[Item] = []
    undone = 0
    for entry_id, day, _kind, _source, _sid, text, amount, live, pair in entries:
        on = _as_date(day)
        if live is not None:
            continue
        if pair is not None:
            undone += int(amount)
        elif begins is None or on < begins:
            brought += int(amount)
        else:
            unmatched_book.append(Item(on, int(amount), text, int(entry_id)))
    unmatched_lines = [
        Item(x.booking_date, int(x.amount_minor), _line_text(x), x.id)
        for x in lines_upto
        if x.status != "matched"
    ]
    later_in_book = sum(a for i, _, ed, a in links if i in counted_ids and ed > end)
    later_on_statement = sum(a for i, _, ed, a in links if i not in counted_ids and ed <= end)
    gap = 0
    if balance is not None and first_opening is not None:
        gap = balance - (first_opening + sum(int(x.amount_minor) for x in lines_upto))
    in_period = [x for x in lines if start <= x.booking_date <= end]
    decisions = uow.bank.decisions_in(account.id, start, end)
    problems = [
        f"statement {s.statement_ref or s.sequence or s.id}: {p}"
        for s in statements
        if (s.period_to or s.closing_on or end) >= start and (s.period_from or start) <= end
        for p in json.loads(s.problems or "[]")
    ]
    if last is None:
        problems.append(f"no statement of this account closes on or before {end}")
    elif last.closing_on < end:
        problems.append(
            f"the last statement closes on {last.closing_on}: lines after it are not in the "
            "statement balance yet"
        )
    return Reconciliation(
        account=account.name,
        iban=account.iban or account.number,
        currency=account.currency,
        ledger_account=account.ledger_account,
        start=start,
        end=end,
        statement_balance_minor=balance,
        statement_on=last.closing_on if last else None,
        statement_ref=(last.statement_ref or last.sequence) if last else "",
        book_balance_minor=book_balance,
        first_opening_minor=first_opening,
        first_opening_on=begins,
        brought_forward_minor=brought,
        unmatched_lines=tuple(unmatched_lines[:ITEMS_MAX]),
        unmatched_lines_minor=sum(i.amount_minor for i in unmatched_lines),
        unmatched_book=tuple(unmatched_book[:ITEMS_MAX]),
        unmatched_book_minor=sum(i.amount_minor for i in unmatched_book),
        later_in_book_minor=later_in_book,
        later_on_statement_minor=later_on_statement,
        undone_minor=undone,
        statement_gap_minor=gap,
        lines_in_period=len(in_period),
        money_in_minor=sum(int(x.amount_minor) for x in in_period if x.amount_minor > 0),
        money_out_minor=sum(int(x.amount_minor) for x in in_period if x.amount_minor < 0),
        matched_automatic=decisions["automatic"],
        matched_by_hand=decisions["by hand"],
        waiting=sum(1 for x in in_period if x.status != "matched"),
        undone_in_period=uow.bank.undone_in(account.id, start, end),
        problems=tuple(problems),
    )


def _line_text(x: Any) -> str:
    who = x.counterparty_name or x.transaction_code or "bank"
    what = x.remittance or x.creditor_reference or ""
    text = f"line {x.id}: {who}"
    if what:
        text += f", {what}"
    return text[:120]
