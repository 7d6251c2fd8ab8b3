"""The benchmark jobs: what "issue N invoices" means, and the interface every job module keeps.

This module is imported by the harness (in openbill's own virtual environment) and by the peer
scripts in ``bench/peers/`` (in the peers' environment), so it uses the standard library only.

The job (issue #2)
==================

Issue ``n`` invoices to one customer of one legal entity, in EUR. Each invoice:

- has the three lines of :data:`LINES` (quantity x unit price, all standard-rated);
- charges VAT at :data:`VAT_RATE` on every line, rounded half-up to the cent, so every invoice
  has net :data:`NET`, VAT :data:`VAT` and gross :data:`GROSS`;
- takes the next gap-free number of its series (legal entity, document type, year), assigned
  in the same database transaction that issues it;
- posts one balanced journal entry: accounts receivable debit ``GROSS``, revenue credits (one
  per line, or one per revenue account) and a VAT (output tax) credit ``VAT``;
- writes one audit record of the issue;
- is one database transaction, committed before the next invoice starts.

Set-up (schema, legal entity, customer, accounts, tax, number series) is not timed.

Interface of a job module
=========================

A job is a module ``bench.jobs.<name>`` with::

    def run(url: str, n: int) -> float

- ``url`` is a SQLAlchemy-style URL of an empty database created for this run only:
  ``sqlite:////abs/path/job.db`` (the file does not exist yet) or
  ``postgresql+psycopg://postgres@127.0.0.1:5432/bench_<job>_<pid>`` (created, empty).
- ``run`` does its own untimed set-up, then issues ``n`` invoices as described above, and
  returns the seconds (``time.perf_counter()``) taken by the issuing loop only.
- It raises on any failure, and closes or disposes of every connection before it returns
  (the harness drops the PostgreSQL database afterwards).
- It must not print to stdout in a way that matters: the harness ignores stdout.

Optional module attributes, used when present:

- ``DESCRIPTION: str`` -- one line saying what the job does (shown in docs/benchmarks.md);
- ``def check(url: str, n: int) -> dict[str, object]`` -- called after ``run``, untimed, on
  the same database. Recognised keys: ``invoices_in_db`` (must equal ``n``), ``last_number``,
  ``last_gross`` (must equal :data:`GROSS`), ``ledger_rows``; any other key is recorded as is.

The harness runs every job in a fresh interpreter (``python -m bench.harness child ...``) so
that jobs do not share caches, connections or garbage. A job module that cannot be imported
(``ImportError``) is reported as "not yet available" and the run goes on.

The jobs written for openbill are ``bench.jobs.openbill_issue`` (openbill's own use case) and
``bench.jobs.floor_sql`` (the floor: the same rows written by plain SQL from one Python
process). The peers (python-accounting, django-ledger) are scripts in ``bench/peers/`` that
run in their own virtual environment and print one JSON line instead; see bench/README.md.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple, Protocol

__all__ = [
    "CURRENCY",
    "GROSS",
    "JOB_MODULES",
    "LINES",
    "NET",
    "VAT",
    "VAT_RATE",
    "Job",
    "Line",
    "line_net",
    "line_vat",
]

CENT = Decimal("0.01")


class Line(NamedTuple):
    description: str
    quantity: Decimal
    unit_price: Decimal


CURRENCY = "EUR"
"""Currency of every invoice."""

LINES: tuple[Line, ...] = (
    Line("Consulting hours", Decimal("3"), Decimal("120.00")),
    Line("Licence, monthly", Decimal("1"), Decimal("49.90")),
    Line("Travel expenses", Decimal("2"), Decimal("35.25")),
)
"""The same three lines on every invoice, in every job."""

VAT_RATE = Decimal("0.20")
"""Standard VAT rate applied to every line (20 %)."""


def line_net(line: Line) -> Decimal:
    return (line.quantity * line.unit_price).quantize(CENT, ROUND_HALF_UP)


def line_vat(line: Line) -> Decimal:
    return (line_net(line) * VAT_RATE).quantize(CENT, ROUND_HALF_UP)


NET: Decimal = sum((line_net(line) for line in LINES), Decimal("0.00"))
"""Net total of one invoice: 480.40."""
VAT: Decimal = sum((line_vat(line) for line in LINES), Decimal("0.00"))
"""VAT total of one invoice: 96.08."""
GROSS: Decimal = NET + VAT
"""Gross total of one invoice, the receivable: 576.48."""


class Job(Protocol):
    """What the harness needs from a job module (``run``; ``check`` is optional)."""

    def run(self, url: str, n: int) -> float: ...


JOB_MODULES = {
    "openbill": "bench.jobs.openbill_issue",
    "floor": "bench.jobs.floor_sql",
}
"""In-process jobs, by the name the harness shows."""
