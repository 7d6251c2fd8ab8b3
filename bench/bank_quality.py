"""Matching quality on generated books (issue #5): how often an automatic decision is right,
and how many lines are decided automatically.

    .venv/bin/python -m bench.bank_quality                       # seeds 5 11 23 37, 1,000 lines
    .venv/bin/python -m bench.bank_quality --seeds 3 --customers 1000 --invoices 10000 --lines 5000

Each seed generates a book (`openbill.interfaces.cli.bank_scenario.build`: customers with
IBANs, EUR invoices with varied amounts, some on 2/10 net30 terms, some in USD) and one month
of bank lines of every kind a billing desk sees, each with the generator's truth of what it is
(`statement_month`); the month is imported into a fresh SQLite book, matched with the default
settings, and every automatic decision compared with the truth (`quality`). Precision is the
share of automatic decisions that are right (target 100 %), the automatic share that of all
lines decided without a person (target at least 90 %). The slow test
`tests/bank/test_quality.py` asserts both targets for seeds 5 and 11.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from openbill.adapters.clock import FixedClock
from openbill.bootstrap import open_book
from openbill.interfaces.cli import bank_scenario as sc
from openbill.usecases import bank_matching as bm


def measure(seed: int, customers: int, invoices: int, lines: int, folder: Path) -> sc.Quality:
    url = f"sqlite:///{folder / f'quality-{seed}.db'}"
    book = open_book(url, actor="bench", clock=FixedClock(datetime(2027, 3, 31, 18)))
    try:
        people = sc.build(book, customers=customers, invoices=invoices, seed=seed)
        statement, truths = sc.statement_month(people, lines=lines, seed=seed + 1)
        line_ids = sc.import_month(book, statement)
        bm.match_lines(book.uow, bm.MatchLines(sc.ENTITY))
        return sc.quality(book, line_ids, truths)
    finally:
        book.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bank_quality", description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[5, 11, 23, 37])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--invoices", type=int, default=2_000)
    parser.add_argument("--lines", type=int, default=1_000)
    args = parser.parse_args(argv)
    console = Console()
    results: list[tuple[int, sc.Quality]] = []
    with tempfile.TemporaryDirectory() as tmp, Progress(console=console) as progress:
        task = progress.add_task("generating and matching", total=len(args.seeds))
        for seed in args.seeds:
            results.append(
                (seed, measure(seed, args.customers, args.invoices, args.lines, Path(tmp)))
            )
            progress.advance(task)

    table = Table(
        title=f"{args.customers:,} customers, {args.invoices:,} invoices, "
        f"{args.lines:,} bank lines per seed"
    )
    for column in ("seed", "lines", "automatic", "share", "right", "wrong", "precision"):
        table.add_column(column, justify="left" if column == "seed" else "right")
    for seed, q in results:
        table.add_row(
            str(seed),
            f"{q.lines:,}",
            f"{q.automatic:,}",
            f"{q.automatic_share:.1%}",
            f"{q.correct:,}",
            f"{len(q.wrong):,}",
            f"{q.precision:.1%}",
        )
    console.print(table)

    lines: Counter[str] = Counter()
    automatic: Counter[str] = Counter()
    for _, q in results:
        for kind, n, auto in q.by_kind:
            lines[kind] += n
            automatic[kind] += auto
    kinds = Table(title="by kind of line, all seeds")
    for column in ("kind", "lines", "automatic", "share"):
        kinds.add_column(column, justify="left" if column == "kind" else "right")
    for kind in sc.MIX:
        if lines[kind]:
            kinds.add_row(
                kind,
                f"{lines[kind]:,}",
                f"{automatic[kind]:,}",
                f"{automatic[kind] / lines[kind]:.0%}",
            )
    console.print(kinds)
    for seed, q in results:
        for index, kind, what in q.wrong:
            console.print(f"[red]seed {seed}, line {index + 1} ({kind}): {what}[/red]")
    return 1 if any(q.wrong for _, q in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
