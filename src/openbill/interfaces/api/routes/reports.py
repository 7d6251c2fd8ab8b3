"""/v1/entities/{entity}/ar, /ledger and /statements: AR aging (buckets, as-of date) and
metrics, customer balances, ledger balances and journal entries, a customer's statement of
account (also as PDF). Every one is a report derived from the journal when asked: `read`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Query, Response

from openbill.domain.access import READ
from openbill.domain.money import format_minor
from openbill.domain.rejections import InvalidInput, Rejection
from openbill.interfaces.api.idempotency import IdempotentRoute
from openbill.interfaces.api.pagination import DEFAULT_PAGE_SIZE, Limit, decode, encode
from openbill.interfaces.api.schemas import IsoDate
from openbill.interfaces.api.schemas_bank import (
    AgingReport,
    AgingRow,
    AgingTotal,
    BaseRate,
    CurrencyMetrics,
    CustomerBalance,
    CustomerBalances,
    CustomerMetrics,
    CustomerStatement,
    JournalEntry,
    JournalLine,
    JournalPage,
    LedgerBalance,
    LedgerBalances,
    LedgerCheck,
    MetricsReport,
    StatementLine,
    StatementSection,
    WrittenOff,
    figure,
)
from openbill.interfaces.api.security import Caller, allowed
from openbill.usecases import metrics as met
from openbill.usecases import pages_bank as pb
from openbill.usecases import reports as rep
from openbill.usecases import statements as st

__all__ = ["router", "BUCKETS_MAX"]

BUCKETS_MAX = 12  # bucket bounds in one aging report

router = APIRouter(prefix="/entities/{entity}", tags=["reports"], route_class=IdempotentRoute)


def _m(minor: int, currency: str) -> str:
    return format_minor(int(minor), currency)


@contextmanager
def _period_fields() -> Iterator[None]:
    """The use cases name the period's ends as the command line does (from, to); a refusal
    names the API's parameters instead."""
    try:
        yield
    except Rejection as exc:
        exc.field = {"from": "date_from", "to": "date_to"}.get(exc.field, exc.field)
        raise


# -- AR -------------------------------------------------------------------------------------------


def _bounds(text: str) -> tuple[int, ...]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not all(p.isdigit() for p in parts) or len(parts) > BUCKETS_MAX:
        raise InvalidInput(
            f"{text!r} is not a list of up to {BUCKETS_MAX} days like 30,60,90",
            record="aging",
            field="buckets",
        )
    bounds = tuple(int(p) for p in parts)
    if any(b <= 0 for b in bounds) or list(bounds) != sorted(set(bounds)):
        raise InvalidInput(
            "bucket bounds are increasing days past due, above zero",
            record="aging",
            field="buckets",
        )
    return bounds


@router.get(
    "/ar/aging",
    response_model=AgingReport,
    tags=["reports"],
    summary="Open receivables by customer in days-past-due buckets, on any day",
    description=(
        "Open amounts as of `as_of`, per customer and currency, in buckets of days past due "
        "(`buckets=30,60,90` gives current, 1-30, 31-60, 61-90, 90+). Each row also in the "
        "base currency at the rate of the day (null when there is none within a week)."
    ),
)
def aging(
    caller: Annotated[Caller, allowed(READ)],
    as_of: IsoDate,
    buckets: Annotated[
        str, Query(max_length=100, description="upper bounds in days past due")
    ] = "30,60,90",
) -> AgingReport:
    labels, rows, rates = rep.aging_in_base(
        caller.uow(read_only=True), caller.entity, as_of, _bounds(buckets)
    )
    base = rows[0].base_currency if rows else ""
    sums: dict[str, list[int]] = defaultdict(lambda: [0] * (len(labels) + 2))
    base_sums = [0] * (len(labels) + 1)
    complete = bool(rows)
    for r in rows:
        for i, value in enumerate((*r.buckets, r.total_minor, r.credit_minor)):
            sums[r.currency][i] += value
        if r.base_buckets is None or r.base_total_minor is None:
            complete = False
        else:
            for i, value in enumerate((*r.base_buckets, r.base_total_minor)):
                base_sums[i] += value
    return AgingReport(
        as_of=as_of,
        labels=labels,
        base_currency=base,
        rows=[
            AgingRow(
                customer=r.customer,
                name=r.name,
                currency=r.currency,
                buckets={k: _m(v, r.currency) for k, v in zip(labels, r.buckets, strict=True)},
                total=_m(r.total_minor, r.currency),
                credit=_m(r.credit_minor, r.currency),
                total_in_base=(
                    _m(r.base_total_minor, base) if r.base_total_minor is not None else None
                ),
            )
            for r in rows
        ],
        totals=[
            AgingTotal(
                currency=cur,
                buckets={k: _m(v, cur) for k, v in zip(labels, values, strict=False)},
                total=_m(values[-2], cur),
                credit=_m(values[-1], cur),
            )
            for cur, values in sorted(sums.items())
        ],
        total_in_base=(
            {
                **{k: _m(v, base) for k, v in zip(labels, base_sums, strict=False)},
                "total": _m(base_sums[-1], base),
            }
            if complete
            else None
        ),
        rates=[
            BaseRate(
                currency=x.currency,
                rate=format(x.rate.normalize(), "f") if x.rate is not None else None,
                rate_date=x.rate_date,
            )
            for x in rates
        ],
    )


@router.get(
    "/ar/metrics",
    response_model=MetricsReport,
    summary="DSO (countback), collection effectiveness, days to pay, share paid late",
    description=(
        "For `months` calendar months ending on `as_of` (default: today, 3 months), or for "
        "`date_from`..`date_to`. Per currency, and days to pay per customer. A figure that "
        "cannot be computed has `value` null and a `note` saying why."
    ),
)
def metrics(
    caller: Annotated[Caller, allowed(READ)],
    as_of: IsoDate | None = None,
    months: Annotated[int, Query(ge=1, le=met.MAX_PERIOD_MONTHS)] = 3,
    date_from: IsoDate | None = None,
    date_to: IsoDate | None = None,
    customer: Annotated[str, Query(max_length=64, description="only this customer")] = "",
) -> MetricsReport:
    if as_of is not None and (date_from is not None or date_to is not None):
        raise InvalidInput(
            "give either as_of (with months) or date_from and date_to",
            record="metrics",
            field="as_of",
        )
    with _period_fields():
        report = met.receivables_metrics(
            caller.uow(read_only=True),
            met.ReceivablesMetrics(caller.entity, as_of, months, date_from, date_to, customer),
        )

    def times(p: met.PaymentTimes) -> dict[str, object]:
        return {
            "paid": p.paid,
            "late": p.late,
            "written_off": p.written_off,
            "credited": p.credited,
            "avg_days_to_pay": figure(p.avg_days_to_pay),
            "avg_days_late": figure(p.avg_days_late),
            "paid_late_percent": figure(p.share_late_percent),
        }

    return MetricsReport(
        customer=report.customer,
        date_from=report.period.start,
        date_to=report.period.end,
        currencies=[
            CurrencyMetrics(
                currency=c.currency,
                beginning_receivables=_m(c.beginning_ar_minor, c.currency),
                receivables=_m(c.ending_ar_minor, c.currency),
                current=_m(c.ending_current_ar_minor, c.currency),
                credit_sales=_m(c.credit_sales_minor, c.currency),
                dso_days=figure(c.dso_days),
                cei_percent=figure(c.cei_percent),
                **times(c.payment),  # type: ignore[arg-type]
            )
            for c in report.currencies
        ],
        customers=[
            CustomerMetrics(
                customer=c.customer,
                name=c.name,
                currency=c.currency,
                **times(c.payment),  # type: ignore[arg-type]
            )
            for c in report.customers
        ],
        written_off=[
            WrittenOff(
                number=i.number,
                customer=i.customer,
                currency=i.currency,
                issued=i.issued_on,
                due=i.due_on,
                closed=i.settled_on,
                paid=_m(i.paid_minor, i.currency),
                written_off=_m(i.written_off_minor, i.currency),
            )
            for i in report.written_off
        ],
        written_off_count=report.written_off_count,
    )


@router.get(
    "/ar/balances",
    response_model=CustomerBalances,
    summary="Receivable, unapplied credit and net balance per customer and currency",
)
def customer_balances(caller: Annotated[Caller, allowed(READ)]) -> CustomerBalances:
    rows = rep.customer_balances(caller.uow(read_only=True), caller.entity)
    return CustomerBalances(
        data=[
            CustomerBalance(
                customer=b.customer,
                name=b.name,
                currency=b.currency,
                receivable=_m(b.receivable_minor, b.currency),
                credit=_m(b.credit_minor, b.currency),
                balance=_m(b.balance_minor, b.currency),
            )
            for b in rows
        ]
    )


# -- ledger ---------------------------------------------------------------------------------------


@router.get(
    "/ledger/balances",
    response_model=LedgerBalances,
    summary="Debits, credits and balance per account and currency; each currency sums to zero",
)
def ledger_balances(caller: Annotated[Caller, allowed(READ)]) -> LedgerBalances:
    rows = rep.ledger_balances(caller.uow(read_only=True), caller.entity)
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for b in rows:
        per[b.currency][0] += b.debit_minor
        per[b.currency][1] += b.credit_minor
        per[b.currency][2] += b.balance_minor
    return LedgerBalances(
        data=[
            LedgerBalance(
                account=b.account,
                name=b.name,
                currency=b.currency,
                debit=_m(b.debit_minor, b.currency),
                credit=_m(b.credit_minor, b.currency),
                balance=_m(b.balance_minor, b.currency),
            )
            for b in rows
        ],
        checks=[
            LedgerCheck(
                currency=cur,
                debit=_m(v[0], cur),
                credit=_m(v[1], cur),
                balance=_m(v[2], cur),
                balanced=v[2] == 0,
            )
            for cur, v in sorted(per.items())
        ],
    )


@router.get(
    "/ledger/entries",
    response_model=JournalPage,
    summary="Journal entries with their lines, in the order they were posted",
)
def ledger_entries(
    caller: Annotated[Caller, allowed(READ)],
    cursor: str | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    account: Annotated[str, Query(max_length=16, description="entries with a line on it")] = "",
    kind: Annotated[str, Query(max_length=24, description="invoice, payment ...")] = "",
    date_from: IsoDate | None = None,
    date_to: IsoDate | None = None,
) -> JournalPage:
    wanted = pb.EntryFilter(account, kind, date_from, date_to)
    page = pb.entries_page(caller.uow(read_only=True), caller.entity, decode(cursor), limit, wanted)
    return JournalPage(
        data=[
            JournalEntry(
                **{k: v for k, v in e.items() if k != "lines"},
                lines=[
                    JournalLine(
                        line_no=ln["line_no"],
                        account=ln["account"],
                        currency=ln["currency"],
                        amount=_m(ln["amount_minor"], ln["currency"]),
                        customer=ln["customer"],
                        document=ln["document"],
                    )
                    for ln in e["lines"]
                ],
            )
            for e in page.rows
        ],
        next_cursor=encode(page.after_id),
    )


# -- customer statements --------------------------------------------------------------------------


def _statement(
    caller: Caller, customer: str, date_from: IsoDate | None, date_to: IsoDate | None
) -> st.Statement:
    end = date_to or caller.book.clock.today()
    start = date_from or end.replace(day=1)
    with _period_fields():
        return st.customer_statement(
            caller.uow(read_only=True), caller.entity, customer, start, end
        )


From = Annotated[IsoDate | None, Query(description="first day [default: first of date_to's month]")]
To = Annotated[IsoDate | None, Query(description="last day [default: today]")]


@router.get(
    "/statements/{customer}",
    response_model=CustomerStatement,
    summary="A customer's statement of account: opening, every movement, closing",
)
def customer_statement(
    customer: str,
    caller: Annotated[Caller, allowed(READ)],
    date_from: From = None,
    date_to: To = None,
) -> CustomerStatement:
    s = _statement(caller, customer, date_from, date_to)
    sections = []
    for section in s.sections:
        cur = section.currency
        sections.append(
            StatementSection(
                currency=cur,
                opening=_m(section.opening_minor, cur),
                lines=[
                    StatementLine(
                        on=ln.on,
                        kind=ln.kind,
                        reference=ln.reference,
                        description=ln.description,
                        due_date=ln.due_date,
                        debit=_m(ln.debit_minor, cur),
                        credit=_m(ln.credit_minor, cur),
                        balance=_m(ln.balance_minor, cur),
                    )
                    for ln in section.lines
                ],
                debits=_m(section.debits_minor, cur),
                credits=_m(section.credits_minor, cur),
                closing=_m(section.closing_minor, cur),
            )
        )
    buyer = s.parties.buyer
    return CustomerStatement(
        customer=buyer.code,
        name=buyer.name,
        date_from=s.start,
        date_to=s.end,
        sections=sections,
    )


@router.get(
    "/statements/{customer}/pdf",
    response_class=Response,
    summary="A customer's statement of account as PDF",
    responses={200: {"content": {"application/pdf": {}}, "description": "the statement"}},
)
def customer_statement_pdf(
    customer: str,
    caller: Annotated[Caller, allowed(READ)],
    date_from: From = None,
    date_to: To = None,
) -> Response:
    from openbill.adapters.documents import pdf

    s = _statement(caller, customer, date_from, date_to)
    data = pdf.render_statement(s)
    code = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in s.parties.buyer.code)
    name = f"statement-{code}-{s.start}-{s.end}.pdf"
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
