"""Shared by the concurrency and crash tests: worker processes and database inspection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from openbill.adapters.sql import tables as t
from openbill.bootstrap import Book, open_book
from openbill.usecases.verify import verify

WORKER = Path(__file__).with_name("worker.py")
ENTITY = "ACME"
CUSTOMER = "C1"
YEAR = 2026


@dataclass
class Worker:
    """A worker process whose stdout (one JSON line per commit) and stderr go to files."""

    proc: subprocess.Popen[bytes]
    out: Path
    err: Path
    ready: Path | None = None
    _files: list[Any] = field(default_factory=list)

    def records(self) -> list[dict[str, Any]]:
        text = self.out.read_text() if self.out.exists() else ""
        # A SIGKILL can cut the last line short: keep whole lines only.
        return [json.loads(line) for line in text.splitlines() if line.endswith("}")]

    def stderr(self) -> str:
        return self.err.read_text() if self.err.exists() else ""

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.close()

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL
        self.proc.wait(timeout=30)
        self.close()

    def close(self) -> None:
        for f in self._files:
            f.close()
        self._files.clear()


def spawn(
    tmp: Path,
    name: str,
    *args: str,
    env: dict[str, str] | None = None,
    ready: bool = False,
    go: Path | None = None,
) -> Worker:
    out, err = tmp / f"{name}.out", tmp / f"{name}.err"
    argv = [sys.executable, str(WORKER), *args]
    ready_file = tmp / f"{name}.ready" if ready else None
    if ready_file is not None:
        argv += ["--ready", str(ready_file)]
    if go is not None:
        argv += ["--go", str(go)]
    stdout, stderr = out.open("wb"), err.open("wb")
    proc = subprocess.Popen(
        argv, stdout=stdout, stderr=stderr, env={**os.environ, **(env or {})}, cwd=tmp
    )
    return Worker(proc, out, err, ready_file, [stdout, stderr])


def run_worker(tmp: Path, name: str, *args: str, timeout: float = 120) -> list[dict[str, Any]]:
    """Run a worker to completion; fail with its stderr if it fails."""
    worker = spawn(tmp, name, *args)
    rc = worker.wait(timeout)
    assert rc == 0, f"worker {name} exited with {rc}:\n{worker.stderr()}"
    return worker.records()


def setup_book(tmp: Path, url: str) -> None:
    run_worker(tmp, "setup", "setup", url)


def start_together(workers: Sequence[Worker], go: Path, timeout: float = 120) -> None:
    """Wait until every worker has opened its book, then let them all go at once."""
    deadline = time.monotonic() + timeout
    for w in workers:
        assert w.ready is not None
        while not w.ready.exists():
            if w.proc.poll() is not None:
                raise AssertionError(f"worker died before it was ready:\n{w.stderr()}")
            if time.monotonic() > deadline:
                raise AssertionError("workers did not get ready in time")
            time.sleep(0.01)
    go.write_text("go")


def wait_for_file(path: Path, worker: Worker, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if worker.proc.poll() is not None:
            raise AssertionError(f"worker exited before reaching {path.name}:\n{worker.stderr()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"worker did not reach {path.name} in {timeout} s")
        time.sleep(0.01)


def book_of(url: str) -> Book:
    return open_book(url, actor="test", migrate_schema=False)


def invoice_seqs(book: Book) -> list[tuple[int, str]]:
    d = t.documents.c
    stmt = (
        select(d.seq, d.number)
        .where(d.kind == "invoice", d.status == "issued", d.series_year == YEAR)
        .order_by(d.seq)
    )
    with book.engine.connect() as conn:
        return [(int(r.seq), r.number) for r in conn.execute(stmt)]


def counter(book: Book, kind: str = "invoice") -> int | None:
    s = t.number_series.c
    stmt = select(s.next_seq).where(s.kind == kind, s.year == YEAR)
    with book.engine.connect() as conn:
        value = conn.execute(stmt).scalar()
    return None if value is None else int(value)


def assert_series_complete(book: Book, expected: int) -> None:
    """Invoices INV-2026-000001 .. expected, each once, and the counter right after them."""
    rows = invoice_seqs(book)
    seqs = [seq for seq, _ in rows]
    assert len(seqs) == len(set(seqs)), "a number was used twice"
    assert seqs == list(range(1, expected + 1)), (
        f"expected seq 1..{expected}, got {len(seqs)} numbers, "
        f"missing {sorted(set(range(1, expected + 1)) - set(seqs))[:10]}"
    )
    assert [n for _, n in rows] == [f"INV-{YEAR}-{s:06d}" for s in range(1, expected + 1)]
    # No series row before the first invoice; a rolled-back first issue leaves none either.
    assert counter(book) == (expected + 1 if expected else None)


def assert_verified(book: Book) -> None:
    report = verify(book.uow(read_only=True))
    assert report.ok, "verify found: " + "; ".join(
        f"{v.check} / {v.record}: {v.message}" for v in report.violations[:20]
    )


def completeness_problems(book: Book) -> list[str]:
    """What a crash must never leave behind: half-written documents, payments or entries."""
    ln, x = t.document_lines.c, t.document_taxes.c
    e, jl, a = t.journal_entries.c, t.journal_lines.c, t.audit_events.c
    p, al = t.payments.c, t.allocations.c
    problems: list[str] = []
    with book.engine.connect() as conn:

        def ids(stmt: Any) -> set[Any]:
            return {r[0] for r in conn.execute(stmt)}

        docs = {r.id: r for r in conn.execute(select(t.documents))}
        with_lines = ids(select(ln.document_id).distinct())
        with_taxes = ids(select(x.document_id).distinct())
        posted: dict[str, set[int]] = {}
        for source_table, source_id in conn.execute(select(e.source_table, e.source_id)):
            posted.setdefault(source_table, set()).add(int(source_id))
        audited: dict[str, set[str]] = {}
        for action, record_id in conn.execute(select(a.action, a.record_id)):
            audited.setdefault(action, set()).add(record_id)
        line_counts = dict(
            conn.execute(select(jl.entry_id, func.count()).group_by(jl.entry_id)).all()
        )
        entries = ids(select(e.id))
        payments = ids(select(p.id))
        allocations = ids(select(al.id))

    for doc in docs.values():
        name = doc.number or f"document {doc.id}"
        if doc.status != "issued":
            problems.append(f"{name}: status {doc.status!r} (a half-done create_invoice)")
            continue
        if doc.id not in with_lines:
            problems.append(f"{name}: no lines")
        if doc.id not in with_taxes:
            problems.append(f"{name}: no tax subtotals")
        if doc.id not in posted.get("documents", set()):
            problems.append(f"{name}: no journal entry")
        if str(doc.id) not in audited.get(f"{doc.kind}.issued", set()):
            problems.append(f"{name}: no audit event")
    for pid in payments:
        if pid not in posted.get("payments", set()):
            problems.append(f"payment {pid}: no journal entry")
        if str(pid) not in audited.get("payment.recorded", set()):
            problems.append(f"payment {pid}: no audit event")
    for aid in allocations:
        if aid not in posted.get("allocations", set()):
            problems.append(f"allocation {aid}: no journal entry")
    for eid in entries:
        if line_counts.get(eid, 0) < 2:
            problems.append(f"journal entry {eid}: {line_counts.get(eid, 0)} line(s)")
    return problems
