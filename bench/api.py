"""Issue #6, the REST API under load on loopback: requests per second and p50/p99 latency of
`openbill serve`, each operation beside the floor of a bare endpoint of the same server.

The book (untimed): the payments-import book of ``bench.jobs.payments_import.build`` with N
issued, open invoices (10,000 for the full run, 1,000 with ``--quick``; 100 customers per
10,000 invoices, legal entity PAY, EUR, 19 % VAT), on a fresh SQLite file or PostgreSQL
database, and an API key of PAY with the scopes ``read`` and ``payments.post``.

The server: ``openbill serve`` (uvicorn, one process, as a user starts it) in its own process
on a free port of 127.0.0.1, on that database.

The load: this process, an asyncio client (httpx) with :data:`CONNECTIONS` concurrent
keep-alive connections, each sending its next request as soon as the last one is answered,
for :data:`WARMUP_S` seconds untimed and then :data:`DURATION_S` seconds measured, on each of

- ``floor``: ``GET /v1/health``, no log-in, no database: what the server and the client cost
  per request, the most any operation could reach here;
- ``auth``: ``GET /v1/me`` with the API key: the floor plus finding who calls (the key's
  SHA-256 looked up, its last use noted at most once a minute), the cost every operation
  below pays before its own work;
- ``invoices``: ``GET /v1/entities/PAY/invoices?limit=50&cursor=...``, with the API key, a
  page of 50 starting at a random invoice of the book;
- ``payments``: ``POST /v1/entities/PAY/payments``, with the API key and a new
  Idempotency-Key each, 10.00 EUR from a random customer, allocated to their oldest open
  invoice (the payment, its allocation, the journal entry, the audit event, the stored
  response of the key: one transaction);
- ``desk``: ``GET /desk/PAY``, the web desk's dashboard as a logged-in specialist sees it
  (session cookie from ``POST /v1/sessions``): billed this month, cash received, the aging
  chart over every open invoice, the DSO trend, the queues' counts; the whole HTML page.

Rate: requests started in the measured window, over the seconds until the last of them was
answered. Latency: from sending a request to having read its whole response, per request,
nearest rank. Every answer must be 200 (201 for a payment), or the job fails; afterwards the
book must hold exactly one payment of 10.00 per 201 answer (warm-up included), and with
``--quick`` ``openbill verify`` must pass on it.

The client takes CPU from the same two cores as the server; ``client_cpu`` in the summary is
its share of one core during the window. The floor pays that cost too, so ``× floor`` is the
share of what the server can do that an operation keeps. ``server_cpu_ms``, the server
process's CPU time (from /proc) per request answered, warm-up included, depends least on what
else the machine is doing: on a shared machine it is the figure to compare.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DESCRIPTION = (
    "openbill serve (uvicorn, one process) on loopback, a book of N open invoices; an "
    "asyncio httpx client, 16 keep-alive connections, 10 s per operation after 2 s warm-up; "
    "floor: GET /v1/health; auth: GET /v1/me with an API key; invoices: GET a page of 50 "
    "with the key; payments: POST one with a new Idempotency-Key, allocated, journal, audit; "
    "desk: the web dashboard (HTML) for a logged-in specialist"
)

JOBS = ("floor", "auth", "invoices", "payments", "desk")  # bench.harness GROUPS["api"]; floor first
CONNECTIONS = 16
DURATION_S = 10.0
WARMUP_S = 2.0
QUICK_BELOW = 10_000  # a book smaller than this (--quick): 3 s per operation, 1 s warm-up
QUICK_DURATION_S = 3.0
QUICK_WARMUP_S = 1.0
VERIFY_UP_TO = 2_000  # invoices: `openbill verify` after the run (it reads the whole book)
PAGE = 50
PAYMENT = "10.00"
PAYMENT_MINOR = 1000
REQUEST_TIMEOUT_S = 30.0
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
SEED = 6
ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work"


# --- the server ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    base: str  # http://127.0.0.1:port
    pid: int

    def cpu_s(self) -> float | None:
        """CPU seconds the server process has used (user + system, all its threads), from
        /proc; None where there is no /proc."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return None
        # After the command name: state is field 3, utime 14 and stime 15 (proc(5)).
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serve(url: str) -> Iterator[Server]:
    """`openbill serve` on `url` in its own process."""
    import httpx

    port = _free_port()
    WORK.mkdir(parents=True, exist_ok=True)
    log = WORK / f"api-serve-{os.getpid()}.log"
    openbill = Path(sys.executable).parent / "openbill"
    env = {**os.environ, "OPENBILL_DATABASE_URL": url}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(openbill), "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                httpx.get(f"{base}/v1/health", timeout=2).raise_for_status()
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"openbill serve did not start:\n{_tail(log)}") from None
                time.sleep(0.2)
        yield Server(base, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if "Traceback" in log.read_text(errors="replace"):
        raise RuntimeError(f"openbill serve logged an error:\n{_tail(log)}")
    log.unlink(missing_ok=True)


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# --- the load --------------------------------------------------------------------------------

Request = tuple[str, str, dict[str, Any]]  # method, path, httpx keyword arguments


@dataclass
class Load:
    """What one operation's load measured."""

    requests: int  # started in the measured window
    seconds: float  # from the window's start to the last of them answered
    latencies_s: list[float]
    statuses: Counter[int]  # every answer, warm-up included
    client_cpu: float  # the client's CPU seconds per second of the window
    samples: list[Any] = field(default_factory=list)  # a few bodies, for the checks
    server_cpu_s: float | None = None  # the server's CPU seconds in warm-up and window

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies_s)
        return 1000 * ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def _load(
    base: str,
    headers: dict[str, str],
    next_request: Callable[[], Request],
    warmup_s: float,
    duration_s: float,
) -> Load:
    import httpx

    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    samples: list[Any] = []
    last_answer = 0.0
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=REQUEST_TIMEOUT_S
    ) as client:
        begin = time.perf_counter()
        start = begin + warmup_s
        end = start + duration_s
        cpu = [0.0]

        async def connection() -> None:
            nonlocal last_answer
            while (sent := time.perf_counter()) < end:
                if sent >= start and not cpu[0]:
                    cpu[0] = time.process_time()
                method, path, kwargs = next_request()
                reply = await client.request(method, path, **kwargs)
                answered = time.perf_counter()
                statuses[reply.status_code] += 1
                if sent >= start:
                    latencies.append(answered - sent)
                    last_answer = max(last_answer, answered)
                    if len(samples) < 3:
                        is_json = reply.headers.get("content-type", "").endswith("json")
                        samples.append(reply.json() if is_json else reply.text)

        await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
        cpu_s = time.process_time() - cpu[0]
    seconds = last_answer - start
    return Load(len(latencies), seconds, latencies, statuses, cpu_s / seconds, samples)


# --- the job ---------------------------------------------------------------------------------


USER = "bench-specialist"
PASSWORD = "a bench password of some length"  # a throwaway book's user, made for the run


def _book(url: str, n: int) -> tuple[list[str], str]:
    """The payments-import book of N invoices, an API key and a specialist (USER);
    (customer codes, key)."""
    from bench.jobs import payments_import as book_job
    from openbill.bootstrap import open_book
    from openbill.usecases import access

    invoices = book_job.build(url, max(n // 10, 1))  # 10 invoices per "payment" of that job
    if len(invoices) != n:
        raise RuntimeError(f"asked for a book of {n:,} invoices, built {len(invoices):,}")
    book = open_book(url, actor="bench")
    try:
        key = access.create_api_key(
            book.uow(),
            access.CreateApiKey(book_job.ENTITY, "bench", ("read", "payments.post"), "bench"),
        ).token
        access.add_user(
            book.uow(),
            book.hasher,
            access.AddUser(USER, "Bench", "specialist", (book_job.ENTITY,), PASSWORD),
        )
    finally:
        book.close()
    return sorted({i.customer for i in invoices}), key


def _requests(n: int, customers: list[str]) -> dict[str, Callable[[], Request]]:
    from bench.jobs.payments_import import ENTITY
    from openbill.interfaces.api.pagination import encode

    rng = random.Random(SEED)
    base = f"/v1/entities/{ENTITY}"

    def health() -> Request:
        return "GET", "/v1/health", {}

    def me() -> Request:
        return "GET", "/v1/me", {}

    def invoices() -> Request:
        # Ids start at 1 in a fresh book: after any id up to n - PAGE, a full page follows.
        after = rng.randrange(0, n - PAGE + 1)
        params = {"limit": PAGE} | ({"cursor": encode(after)} if after else {})
        return "GET", f"{base}/invoices", {"params": params}

    def payment() -> Request:
        body = {"customer": rng.choice(customers), "amount": PAYMENT}
        return (
            "POST",
            f"{base}/payments",
            {
                "json": body,
                "headers": {"Idempotency-Key": uuid.uuid4().hex},
            },
        )

    def dashboard() -> Request:
        return "GET", f"/desk/{ENTITY}", {}

    return {
        "floor": health,
        "auth": me,
        "invoices": invoices,
        "payments": payment,
        "desk": dashboard,
    }


def _session(base: str) -> dict[str, str]:
    """The Cookie header of USER's session, logged in over HTTP."""
    import httpx

    body = {"username": USER, "password": PASSWORD}
    reply = httpx.post(f"{base}/v1/sessions", json=body, timeout=REQUEST_TIMEOUT_S)
    if reply.status_code != 201:
        raise RuntimeError(f"desk: the log-in answered {reply.status_code}: {reply.text[:200]}")
    return {"Cookie": f"openbill_session={reply.cookies['openbill_session']}"}


def _book_payments(url: str) -> tuple[int, int]:
    """(payments, their sum in minor units) in the book."""
    from sqlalchemy import text

    from openbill.adapters.sql.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT COUNT(*), COALESCE(SUM(amount_minor), 0) FROM payments")
            ).one()
            return int(row[0]), int(row[1])
    finally:
        engine.dispose()


def _verify(url: str) -> str:
    from openbill.bootstrap import open_book
    from openbill.usecases.verify import verify

    book = open_book(url, actor="bench")
    try:
        report = verify(book.uow(read_only=True))
    finally:
        book.close()
    if not report.ok:
        raise RuntimeError(f"openbill verify fails after the load: {report.violations[:3]}")
    return "passed"


def run(url: str, n: int) -> dict[str, dict[str, Any]]:
    """Build the book, serve it, load each operation in turn; one result per job of JOBS:
    {"seconds", "n" (requests measured), "check"}. Raises when an answer or the book is not
    what it must be."""
    started = time.perf_counter()
    customers, key = _book(url, n)
    build_s = time.perf_counter() - started
    quick = n < QUICK_BELOW
    warmup_s, duration_s = (QUICK_WARMUP_S, QUICK_DURATION_S) if quick else (WARMUP_S, DURATION_S)
    makers = _requests(n, customers)
    wanted = {"floor": 200, "auth": 200, "invoices": 200, "payments": 201, "desk": 200}
    loads: dict[str, Load] = {}
    load_average: dict[str, float] = {}
    with serve(url) as server:
        for job in JOBS:
            if job == "floor":
                headers = {}
            elif job == "desk":
                headers = _session(server.base)
            else:
                headers = {"Authorization": f"Bearer {key}"}
            before = server.cpu_s()
            loads[job] = asyncio.run(_load(server.base, headers, makers[job], warmup_s, duration_s))
            after = server.cpu_s()
            if before is not None and after is not None:
                loads[job].server_cpu_s = after - before
            # The machine's 1-minute load average after the window: other work on the same
            # cores shows here (the harness's ratios hold up better than the rates).
            load_average[job] = round(os.getloadavg()[0], 1)
            bad = {s: c for s, c in loads[job].statuses.items() if s != wanted[job]}
            if bad:
                raise RuntimeError(f"{job}: answers other than {wanted[job]}: {bad}")
    if any(len(page["data"]) != PAGE for page in loads["invoices"].samples):
        raise RuntimeError("invoices: a page held fewer than 50 invoices")
    if not all("Open receivables by days past due" in page for page in loads["desk"].samples):
        raise RuntimeError("desk: the dashboard came without its aging chart")
    posted = loads["payments"].statuses[201]
    count, total = _book_payments(url)
    if (count, total) != (posted, posted * PAYMENT_MINOR):
        raise RuntimeError(
            f"payments: {posted:,} answered 201, the book holds {count:,} payments of "
            f"{total / 100:,.2f} EUR in all"
        )
    verified = _verify(url) if n <= VERIFY_UP_TO else "not run (book above 2,000 invoices)"
    out: dict[str, dict[str, Any]] = {}
    for job, load in loads.items():
        answered = sum(load.statuses.values())  # the server's CPU covers the warm-up too
        cpu_ms = None if load.server_cpu_s is None else 1000 * load.server_cpu_s / answered
        check: dict[str, Any] = {
            "done": load.requests,
            "connections": CONNECTIONS,
            "p50_ms": round(load.percentile_ms(0.50), 2),
            "p99_ms": round(load.percentile_ms(0.99), 2),
            "max_ms": round(max(load.latencies_s) * 1000, 2),
            "client_cpu": round(load.client_cpu, 2),
            "server_cpu_ms": None if cpu_ms is None else round(cpu_ms, 2),
            "book_invoices": n,
            "book_customers": len(customers),
            "build_s": round(build_s, 1),
            "load_average": load_average[job],
            "summary": (
                f"{CONNECTIONS} connections, p50 {load.percentile_ms(0.5):.1f} ms, "
                f"p99 {load.percentile_ms(0.99):.1f} ms, client CPU "
                f"{load.client_cpu:.0%} of a core, load average {load_average[job]}"
                + ("" if cpu_ms is None else f", server CPU {cpu_ms:.1f} ms per request")
            ),
        }
        if job == "payments":
            check |= {"payments_posted": posted, "payments_in_book": count, "verify": verified}
            check["summary"] += f"; {posted:,} payments posted, {count:,} in the book"
        out[job] = {"seconds": load.seconds, "n": load.requests, "check": check}
    return out
