"""Gap-free numbering and correct allocation under real concurrency (separate processes).

Every worker is an OS process with its own engine and connections (tests/concurrency/worker.py),
started together through a go file, on a SQLite file database and on PostgreSQL.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from openbill.adapters.sql import tables as t
from openbill.adapters.sql.repositories import DocumentRepo
from openbill.usecases import invoices as inv

from .helpers import (
    CUSTOMER,
    ENTITY,
    assert_series_complete,
    assert_verified,
    book_of,
    completeness_problems,
    invoice_seqs,
    run_worker,
    setup_book,
    spawn,
    start_together,
)

WORKERS = 8
PER_WORKER = 200
PAYERS = 4
PAYMENTS_EACH = 25
OPEN_INVOICES = 30


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/concurrency.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of each backend: a SQLite file, and PostgreSQL (pg_url)."""
    if request.param == "sqlite":
        return _sqlite_url(tmp_path)
    return str(request.getfixturevalue("pg_url"))


def _run_concurrently(
    tmp_path: Path, url: str, command: str, n: int, *args: str, timeout: float = 150
) -> list[list[dict[str, Any]]]:
    """`n` workers running `command` with the same arguments, started together."""
    specs = [[command, url, *args, "--worker", str(k)] for k in range(n)]
    return _run_together(tmp_path, specs, timeout)


def _run_together(
    tmp_path: Path, specs: list[list[str]], timeout: float = 150
) -> list[list[dict[str, Any]]]:
    """One worker per argument list, started together; what each committed, in order."""
    go = tmp_path / "go"
    workers = [
        spawn(tmp_path, f"{argv[0]}-{k}", *argv, ready=True, go=go) for k, argv in enumerate(specs)
    ]
    try:
        start_together(workers, go)
        deadline = time.monotonic() + timeout
        for w in workers:
            rc = w.wait(max(1.0, deadline - time.monotonic()))
            assert rc == 0, f"worker exited with {rc}:\n{w.stderr()[-4000:]}"
    finally:
        for w in workers:
            if w.proc.poll() is None:
                w.kill()
    return [w.records() for w in workers]


@pytest.mark.slow
def test_eight_processes_issue_a_gap_free_series(backend_url: str, tmp_path: Path) -> None:
    setup_book(tmp_path, backend_url)

    results = _run_concurrently(tmp_path, backend_url, "invoices", WORKERS, str(PER_WORKER))

    total = WORKERS * PER_WORKER
    reported = [r["number"] for records in results for r in records]
    assert all(len(records) == PER_WORKER for records in results), "a worker lost work"
    assert len(set(reported)) == total, "two workers were handed the same number"
    book = book_of(backend_url)
    try:
        assert_series_complete(book, total)
        assert sorted(reported) == [n for _, n in invoice_seqs(book)]
        assert completeness_problems(book) == []
        assert_verified(book)
    finally:
        book.close()


@pytest.mark.slow
def test_concurrent_payments_never_over_allocate(backend_url: str, tmp_path: Path) -> None:
    setup_book(tmp_path, backend_url)
    run_worker(tmp_path, "open-invoices", "invoices", backend_url, str(OPEN_INVOICES))
    book = book_of(backend_url)
    d = t.documents.c
    with book.engine.connect() as conn:
        invoiced = int(conn.execute(select(func.sum(d.total_minor))).scalar_one())
    # Enough money to pay everything and leave some customer credit, so that some payment
    # crosses the point where nothing is open any more.
    amount_minor = invoiced // (PAYERS * PAYMENTS_EACH) + 150
    amount = f"{amount_minor // 100}.{amount_minor % 100:02d}"

    results = _run_concurrently(
        tmp_path, backend_url, "payments", PAYERS, str(PAYMENTS_EACH), amount
    )

    assert all(len(records) == PAYMENTS_EACH for records in results), "a payer lost work"
    paid = PAYERS * PAYMENTS_EACH * amount_minor
    reported_allocated = sum(r["allocated"] for records in results for r in records)
    a = t.allocations.c
    try:
        with book.engine.connect() as conn:
            totals = {r.id: int(r.total_minor) for r in conn.execute(select(d.id, d.total_minor))}
            settled: dict[int, int] = defaultdict(int)
            for invoice_id, minor in conn.execute(select(a.invoice_id, a.amount_minor)):
                settled[invoice_id] += int(minor)
            payment_count = conn.execute(select(func.count()).select_from(t.payments)).scalar()
        over = {i: (s, totals[i]) for i, s in settled.items() if s > totals[i]}
        assert over == {}, f"over-allocated invoices (settled, total): {over}"
        assert payment_count == PAYERS * PAYMENTS_EACH
        # Oldest first, one payment at a time: everything open gets paid, the rest is credit.
        assert sum(settled.values()) == reported_allocated == min(paid, invoiced)
        assert settled == totals
        assert completeness_problems(book) == []
        assert_verified(book)
    finally:
        book.close()


@pytest.mark.slow
def test_payments_and_new_invoices_interleave(backend_url: str, tmp_path: Path) -> None:
    """Payers allocate oldest first while other processes issue new invoices to the customer."""
    setup_book(tmp_path, backend_url)
    run_worker(tmp_path, "open-invoices", "invoices", backend_url, "10")
    specs = [["invoices", backend_url, "60", "--worker", str(k)] for k in range(2)]
    specs += [["payments", backend_url, "40", "23.45", "--worker", str(k)] for k in (2, 3)]

    results = _run_together(tmp_path, specs)

    assert [len(r) for r in results] == [60, 60, 40, 40], "a worker lost work"
    book = book_of(backend_url)
    d, a = t.documents.c, t.allocations.c
    try:
        assert_series_complete(book, 10 + 2 * 60)
        with book.engine.connect() as conn:
            totals = {r.id: int(r.total_minor) for r in conn.execute(select(d.id, d.total_minor))}
            settled: dict[int, int] = defaultdict(int)
            for invoice_id, minor in conn.execute(select(a.invoice_id, a.amount_minor)):
                settled[invoice_id] += int(minor)
        over = {i: (s, totals[i]) for i, s in settled.items() if s > totals[i]}
        assert over == {}, f"over-allocated invoices (settled, total): {over}"
        assert sum(r["allocated"] for records in results[2:] for r in records) == sum(
            settled.values()
        )
        assert completeness_problems(book) == []
        assert_verified(book)
    finally:
        book.close()


class _Boom(RuntimeError):
    pass


def _spy_next_seq(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    taken: list[int] = []
    original = DocumentRepo.next_seq

    def spy(self: DocumentRepo, *args: Any, **kwargs: Any) -> int:
        seq = original(self, *args, **kwargs)
        taken.append(seq)
        return seq

    monkeypatch.setattr(DocumentRepo, "next_seq", spy)
    return taken


def _fail_in_journal(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_post(*_args: Any, **_kwargs: Any) -> int:
        raise _Boom("journal posting failed")

    monkeypatch.setattr(inv, "post", failing_post)


def _fail_in_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_audit(*_args: Any, **_kwargs: Any) -> None:
        raise _Boom("audit failed")

    monkeypatch.setattr(inv, "audit", failing_audit)


def _fail_at_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    from openbill.adapters.sql.uow import SqlUnitOfWork

    def failing_commit(self: SqlUnitOfWork) -> None:
        self.chains.flush()  # everything written, then the commit itself fails
        raise _Boom("commit failed")

    monkeypatch.setattr(SqlUnitOfWork, "commit", failing_commit)


@pytest.mark.parametrize("fail", [_fail_in_journal, _fail_in_audit, _fail_at_commit])
def test_a_failed_issue_does_not_burn_a_number(
    fail: Any, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_book(tmp_path, db_url)
    book = book_of(db_url)
    lines = (inv.LineSpec("WIDGET", "2"), inv.LineSpec("BOOK", "1"))
    cmd = inv.CreateInvoice(ENTITY, CUSTOMER, lines, _issue_date())
    try:
        first = [inv.create_invoice(book.uow(), cmd).number for _ in range(2)]
        assert first == ["INV-2026-000001", "INV-2026-000002"]

        with monkeypatch.context() as patch:
            taken = _spy_next_seq(patch)
            fail(patch)
            with pytest.raises(_Boom):
                inv.create_invoice(book.uow(), cmd)
            assert taken == [3], "the failing issue should have taken number 3 before failing"

        assert_series_complete(book, 2)
        assert inv.create_invoice(book.uow(), cmd).number == "INV-2026-000003"
        assert_series_complete(book, 3)
        assert completeness_problems(book) == []
        assert_verified(book)
    finally:
        book.close()


def _issue_date() -> Any:
    from datetime import date

    return date(2026, 3, 2)
