"""Allocation plans: which open documents a sum of money pays, and how much of each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from openbill.domain.rejections import InvalidAmount, InvariantError

__all__ = ["OpenItem", "plan_oldest_first", "check_explicit"]


@dataclass(frozen=True, slots=True)
class OpenItem:
    document_id: int
    number: str
    open_minor: int


def plan_oldest_first(
    available_minor: int, items: Sequence[OpenItem]
) -> tuple[tuple[int, int], ...]:
    """Pay `items` in the order given (oldest due first) until the money runs out.

    >>> plan_oldest_first(150, [OpenItem(1, "A", 100), OpenItem(2, "B", 80)])
    ((1, 100), (2, 50))
    """
    if available_minor < 0:
        raise InvariantError("cannot allocate a negative amount")
    plan: list[tuple[int, int]] = []
    left = available_minor
    for item in items:
        if left == 0:
            break
        if item.open_minor <= 0:
            continue
        take = min(left, item.open_minor)
        plan.append((item.document_id, take))
        left -= take
    return tuple(plan)


def check_explicit(
    available_minor: int, items: Sequence[OpenItem], wanted: Sequence[tuple[int, int]]
) -> tuple[tuple[int, int], ...]:
    """Validate allocations the user asked for: each positive, none above its document's open
    amount, together not above the money available."""
    by_id = {item.document_id: item for item in items}
    total = 0
    for document_id, amount in wanted:
        item = by_id.get(document_id)
        if item is None:
            raise InvalidAmount("the document is not open for this customer", field="invoice")
        if amount <= 0:
            raise InvalidAmount(f"allocation to {item.number} must be above zero", field="amount")
        if amount > item.open_minor:
            raise InvalidAmount(
                f"allocation to {item.number} is more than its open amount", field="amount"
            )
        total += amount
    if total > available_minor:
        raise InvalidAmount("allocations add up to more than the money available", field="amount")
    return tuple(wanted)
