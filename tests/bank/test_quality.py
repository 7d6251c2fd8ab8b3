"""Matching quality on a generated book (issue #5): 200 customers, 2,000 invoices, one month of
1,000 bank lines of every kind a billing desk sees (`interfaces/cli/bank_scenario.py`), each
with the truth of what it is. Targets: every automatic decision is right (precision 100 %),
and at least 90 % of the lines are decided automatically.

The truth is the generator's, not the matcher's: which invoices the payer meant and how much
each one settles, which payment a returned direct debit sends back, which lines are the bank's
charges or interest. A line the generator says no rule can decide (an unknown payer quoting
nothing, a payer quoting another customer's invoice) must never be decided automatically.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from openbill.adapters.clock import FixedClock
from openbill.bootstrap import open_book
from openbill.interfaces.cli import bank_scenario as sc
from openbill.usecases import bank_matching as bm

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("seed", [5, 11])
def test_automatic_matches_are_never_wrong_and_at_least_nine_in_ten(db_url: str, seed: int):
    book = open_book(db_url, actor="tests", clock=FixedClock(datetime(2027, 3, 31, 18)))
    try:
        customers = sc.build(book, customers=200, invoices=2_000, seed=seed)
        statement, truths = sc.statement_month(customers, lines=1_000, seed=seed + 1)
        line_ids = sc.import_month(book, statement)
        report = bm.match_lines(book.uow, bm.MatchLines(sc.ENTITY))
        quality = sc.quality(book, line_ids, truths)
    finally:
        book.close()

    assert report.considered == quality.lines == 1_000
    assert quality.wrong == ()
    assert quality.precision == 1.0
    assert quality.automatic_share >= 0.90, quality.by_kind
    # Lines no rule can decide wait for a person, every one of them.
    review_only = {k for k, t in zip(line_ids, truths, strict=True) if t.action == "review"}
    assert review_only, "the month has lines only a person can decide"
    decided = {o.line_id for o in report.outcomes if o.automatic}
    assert not review_only & decided
    # Every kind of line is in the month, and the plain ones are all automatic.
    kinds = {k: (n, auto) for k, n, auto in quality.by_kind}
    assert set(kinds) == set(sc.MIX)
    for kind in ("rf", "number", "combined, numbers", "bank fee", "discount", "usd in eur"):
        lines, automatic = kinds[kind]
        assert automatic == lines, kind
