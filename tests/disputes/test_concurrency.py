"""Two people working the same invoice or case at the same moment on PostgreSQL: the writes are
served one after the other, so the cases never dispute more than is open together and a case is
never resolved twice."""

from __future__ import annotations

import threading
from datetime import date

from fixtures_book import ENTITY, build_book, invoice, verify_clean

from openbill.domain.rejections import Rejection
from openbill.usecases import disputes as ds

WORKERS = 4


def _race(work):
    """Run work(i) in WORKERS threads started together; the results or the refusals."""
    barrier = threading.Barrier(WORKERS)
    outcomes: list[object] = [None] * WORKERS

    def run(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            outcomes[i] = work(i)
        except Rejection as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def test_concurrent_cases_and_resolutions_are_serialised(pg_url):
    book = build_book(pg_url)
    try:
        doc = invoice(book, "C1", date(2025, 12, 1), ("WIDGET", "2"))  # 29.75
        opened = _race(lambda i: ds.open_case(book.uow(), ds.OpenCase(ENTITY, doc.number, "price")))
        winners = [o for o in opened if isinstance(o, ds.CaseOpened)]
        # One case takes all 29.75; every other finds nothing left to dispute.
        assert [w.amount_minor for w in winners] == [2975]
        assert all(isinstance(o, Rejection) for o in opened if o not in winners)
        case_no = winners[0].case_no
        resolved = _race(
            lambda i: ds.resolve_by_credit_note(book.uow(), ds.ResolveByCreditNote(ENTITY, case_no))
        )
        assert sum(isinstance(o, ds.Resolved) for o in resolved) == 1
        assert all("closed" in o.reason for o in resolved if isinstance(o, Rejection))
        verify_clean(book)
    finally:
        book.close()
