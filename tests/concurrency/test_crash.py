"""A process killed with SIGKILL mid-work leaves nothing half-written behind.

A child (tests/concurrency/worker.py `loop`) issues invoices and records payments forever. It is
killed at random moments, and deterministically while it waits INSIDE a transaction: after the
invoice number was taken, after the payment row was written, and after everything was written
but before COMMIT. After each kill a fresh book on the same database must verify, hold only
complete documents and payments, have a gap-free series, and give the next invoice the next
number.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from openbill.adapters.sql import tables as t
from openbill.bootstrap import Book
from openbill.usecases import invoices as inv

from .helpers import (
    CUSTOMER,
    ENTITY,
    Worker,
    assert_series_complete,
    assert_verified,
    book_of,
    completeness_problems,
    invoice_seqs,
    setup_book,
    spawn,
    wait_for_file,
)

# (where the child stops, passes through that point it lets go by first,
#  invoices and payments it committed before it stopped)
PAUSES = (
    ("after_seq", 0, 0, 0),  # the very first number of the series, series row not yet committed
    ("after_seq", 2, 2, 2),
    ("after_payment", 2, 3, 2),
    ("before_commit", 2, 1, 1),  # an invoice, completely written
    ("before_commit", 3, 2, 1),  # a payment with its allocations, completely written
)
RANDOM_KILLS = 6
MAX_RANDOM_DELAY_S = 0.5


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/crash.db"
    return str(request.getfixturevalue("pg_url"))


@dataclass
class Committed:
    invoices: int = 0
    payments: int = 0


def _count(book: Book, table: Any) -> int:
    with book.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _check_after_restart(url: str, before: Committed, worker: Worker, exact: bool) -> None:
    """Open the database afresh and check it; add what is in it now to `before`."""
    records = worker.records()
    invoices = before.invoices + sum(1 for r in records if r["kind"] == "invoice")
    payments = before.payments + sum(1 for r in records if r["kind"] == "payment")
    book = book_of(url)
    try:
        assert completeness_problems(book) == []
        assert_verified(book)
        found = Committed(len(invoice_seqs(book)), _count(book, t.payments))
        if exact:  # killed inside a transaction: it must not have committed
            assert found == Committed(invoices, payments)
        else:  # the child reports each commit right after it; the kill can fall between
            assert invoices <= found.invoices <= invoices + 1
            assert payments <= found.payments <= payments + 1
            assert found.invoices + found.payments <= invoices + payments + 1
        assert_series_complete(book, found.invoices)
        lines = (inv.LineSpec("WIDGET", "1"),)
        cmd = inv.CreateInvoice(ENTITY, CUSTOMER, lines, date(2026, 3, 2))
        assert inv.create_invoice(book.uow(), cmd).number == f"INV-2026-{found.invoices + 1:06d}"
        assert_series_complete(book, found.invoices + 1)
        assert_verified(book)
        before.invoices, before.payments = found.invoices + 1, found.payments
    finally:
        book.close()


@pytest.mark.slow
def test_sigkill_leaves_no_half_written_work(backend_url: str, tmp_path: Path) -> None:
    setup_book(tmp_path, backend_url)
    committed = Committed()

    # Deterministic: the child stops inside a transaction at a known point; kill it there.
    for k, (point, skip, invoices, payments) in enumerate(PAUSES):
        marker = tmp_path / f"paused-{k}"
        env = {
            "OPENBILL_TEST_PAUSE": point,
            "OPENBILL_TEST_PAUSE_SKIP": str(skip),
            "OPENBILL_TEST_PAUSE_FILE": str(marker),
        }
        worker = spawn(tmp_path, f"pause-{k}", "loop", backend_url, env=env)
        try:
            wait_for_file(marker, worker)
        finally:
            worker.kill()
        kinds = [r["kind"] for r in worker.records()]
        assert (kinds.count("invoice"), kinds.count("payment")) == (invoices, payments), (
            f"the child did not stop where expected ({point}, skip {skip})"
        )
        _check_after_restart(backend_url, committed, worker, exact=True)

    # At random moments of a busy loop.
    seed = int(os.environ.get("OPENBILL_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    for k in range(RANDOM_KILLS):
        worker = spawn(tmp_path, f"random-{k}", "loop", backend_url, "--worker", str(k))
        try:
            deadline = time.monotonic() + 60
            while not worker.records():  # wait until it works, then let it run a while
                assert worker.proc.poll() is None, worker.stderr()
                assert time.monotonic() < deadline, "the child never committed anything"
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, MAX_RANDOM_DELAY_S))
        finally:
            worker.kill()
        try:
            _check_after_restart(backend_url, committed, worker, exact=False)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n(random kill {k}, OPENBILL_CRASH_SEED={seed})") from exc
