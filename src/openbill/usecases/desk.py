"""What the web desk's pages read: the dashboard of a legal entity, a customer whole, an
invoice with its history and audit trail, and the search (the work queues read in
`desk_queues`).

Each function is one read-only unit of work, so the figures of a page come from one
transaction and a page costs a few queries (docs/web.md counts them). The arithmetic is the
one the reports use: aging buckets from `reports`, DSO by the countback method from
`domain.metrics`, open amounts from the receivable postings. Amounts stay integer minor units
here; the pages format them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from openbill.domain.currencies import exponent_of
from openbill.domain.disputes import ACTIVE as ACTIVE_DISPUTES
from openbill.domain.disputes import Status as DisputeStatus
from openbill.domain.invoice import DocumentKind
from openbill.domain.metrics import (
    MAX_COUNTBACK_MONTHS,
    Metric,
    MonthSales,
    dso_countback,
    month_slices,
)
from openbill.domain.payment_import import parse_amount
from openbill.domain.rejections import InvalidInput
from openbill.ports import UnitOfWork
from openbill.usecases._support import audit, customer_by_code, entity_by_code
from openbill.usecases.dunning import HOLD_KINDS, _customer_view
from openbill.usecases.reports import (
    DEFAULT_BUCKETS,
    DocumentView,
    _open_for_people,
    _status,
    bucket_labels,
    bucket_of,
    document_view,
)

__all__ = [
    "DSO_TREND_MONTHS",
    "MAX_TREND_MONTHS",
    "MAX_SEARCH_CHARS",
    "MAX_SEARCH_RESULTS",
    "RECENT_ROWS",
    "MAX_OPEN_ITEMS",
    "MAX_AUDIT_EVENTS",
    "Figure",
    "AgingBuckets",
    "DsoPoint",
    "Dashboard",
    "CustomerPage",
    "InvoicePage",
    "HistoryEvent",
    "AuditEvent",
    "SearchResults",
    "dashboard",
    "customer_page",
    "invoice_page",
    "invoice_audit",
    "search",
    "amount_readings",
    "mask_account",
    "record_forged_request",
]

# Bounds (DESIGN.md principle 8).
DSO_TREND_MONTHS = 6  # points of the dashboard's DSO trend, one per month end
MAX_TREND_MONTHS = 12
MAX_SEARCH_CHARS = 100
MAX_SEARCH_RESULTS = 20  # per group of results
RECENT_ROWS = 20  # documents, payments and dispute cases shown on a customer's page
MAX_OPEN_ITEMS = 500  # open items listed on a customer's page (the sums cover all)
MAX_HISTORY_ROWS = 200  # dunning steps, mails, disputes of one invoice
MAX_AUDIT_EVENTS = 500


# ---------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True, slots=True)
class Figure:
    """An amount of one currency, and how many records make it (None: not counted)."""

    currency: str
    minor: int
    count: int | None = None


@dataclass(frozen=True, slots=True)
class AgingBuckets:
    """Open receivables of one currency by days past due (labels from `bucket_labels`)."""

    currency: str
    buckets: tuple[int, ...]
    total_minor: int


@dataclass(frozen=True, slots=True)
class DsoPoint:
    on: date  # a month's last day, or the as-of day for its own month
    currency: str
    receivables_minor: int
    dso: Metric


@dataclass(frozen=True, slots=True)
class Dashboard:
    entity: str
    entity_name: str
    base_currency: str
    as_of: date
    month_start: date
    billed: tuple[Figure, ...]  # invoices less credit notes dated month_start..as_of
    cash: tuple[Figure, ...]  # payments received month_start..as_of, not reversed
    aging_labels: tuple[str, ...]
    aging: tuple[AgingBuckets, ...]  # largest open total first
    dso: tuple[DsoPoint, ...]  # oldest first, per currency
    disputes_open: int
    bank_lines_unmatched: int
    drafts: int
    discrepancies: int = 0  # open findings of drafts, approvals left out
    approvals: int = 0  # drafts waiting for a second person's approval
    overdue: int = 0  # invoices with receivable open, due before the as-of day


@dataclass(frozen=True, slots=True)
class CustomerPage:
    customer: dict[str, Any]  # master data; `iban` masked
    as_of: date
    balances: tuple[tuple[str, int, int], ...]  # (currency, receivable, credit held)
    aging_labels: tuple[str, ...]
    aging: tuple[AgingBuckets, ...]
    open_items: tuple[dict[str, Any], ...]
    open_items_count: int
    documents: tuple[dict[str, Any], ...]  # newest first
    payments: tuple[dict[str, Any], ...]  # newest first
    disputes: tuple[dict[str, Any], ...]  # newest first
    dunning_policy: str
    dunning_policy_is_default: bool
    dunning_language: str
    holds: tuple[dict[str, Any], ...]  # active holds
    promise: dict[str, Any] | None  # the open promise to pay


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One thing that happened to an invoice, from the records: issued, sent, paid, dunned,
    disputed, credited, written off, reversed."""

    on: date
    what: str
    detail: str
    link: str = ""  # the number of the other document, or the dispute case


@dataclass(frozen=True, slots=True)
class InvoicePage:
    view: DocumentView
    history: tuple[HistoryEvent, ...]  # oldest first
    disputes: tuple[dict[str, Any], ...]
    credit_notes: tuple[dict[str, Any], ...]
    credited_number: str  # for a credit note: the invoice it credits
    numbers: dict[int, str]  # numbers of the other documents its settlements name, by id


@dataclass(frozen=True, slots=True)
class AuditEvent:
    seq: int
    occurred_at: Any
    actor: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class SearchResults:
    query: str
    amounts: tuple[Decimal, ...]  # the amounts the query can mean; () when it is none
    documents: tuple[dict[str, Any], ...]  # by number
    customers: tuple[dict[str, Any], ...]
    purchase_orders: tuple[dict[str, Any], ...]
    by_po: tuple[dict[str, Any], ...]  # documents of that purchase order
    by_amount: tuple[dict[str, Any], ...]  # documents with that total or open amount
    payments: tuple[dict[str, Any], ...]  # payments of that amount

    @property
    def empty(self) -> bool:
        return not (
            self.documents
            or self.customers
            or self.purchase_orders
            or self.by_po
            or self.by_amount
            or self.payments
        )


# ---------------------------------------------------------------------------------------------
# the dashboard


def dashboard(
    uow: UnitOfWork, entity_code: str, as_of: date | None = None, months: int = DSO_TREND_MONTHS
) -> Dashboard:
    """The figures of a legal entity's desk on `as_of` (default: today)."""
    if not 1 <= months <= MAX_TREND_MONTHS:
        raise InvalidInput(
            f"the DSO trend covers 1 to {MAX_TREND_MONTHS} months", record="desk", field="months"
        )
    with uow:
        entity = entity_by_code(uow, entity_code)
        today = as_of or uow.clock.today()
        month_start = today.replace(day=1)
        ends = [p.end for p in reversed(month_slices(today, months))]
        first_sales_day = month_slices(ends[0], MAX_COUNTBACK_MONTHS)[-1].start
        sales = uow.metrics.credit_sales_by_day(entity.id, first_sales_day, today)
        cash = uow.desk.cash_received(entity.id, month_start, today)
        open_rows = uow.reports.open_items(entity.id, today)
        ar = uow.desk.receivables_at(entity.id, ends)
        waiting = uow.desk.waiting(entity.id, today)
    billed: dict[str, int] = defaultdict(int)
    monthly: dict[tuple[str, int, int], int] = defaultdict(int)
    for currency, day, minor in sales:
        monthly[(currency, day.year, day.month)] += minor
        if day >= month_start:
            billed[currency] += minor
    return Dashboard(
        entity=entity.code,
        entity_name=entity.name,
        base_currency=entity.base_currency,
        as_of=today,
        month_start=month_start,
        billed=tuple(Figure(c, m) for c, m in sorted(billed.items())),
        cash=tuple(Figure(c, m, n) for c, (n, m) in sorted(cash.items())),
        aging_labels=tuple(bucket_labels(DEFAULT_BUCKETS)),
        aging=_aging(open_rows, today),
        dso=_dso_trend(ends, ar, monthly),
        disputes_open=waiting["disputes"],
        bank_lines_unmatched=waiting["bank_lines"],
        drafts=waiting["drafts"],
        discrepancies=waiting["discrepancies"],
        approvals=waiting["approvals"],
        overdue=waiting["overdue"],
    )


def _days_past_due(row: Any, as_of: date) -> int:
    # Credit notes are never past due: they count as current, as in the aging report.
    if row.kind != DocumentKind.INVOICE or row.due_date is None:
        return 0
    return int((as_of - row.due_date).days)


def _aging(rows: Iterable[Any], as_of: date) -> tuple[AgingBuckets, ...]:
    width = len(DEFAULT_BUCKETS) + 2
    sums: dict[str, list[int]] = defaultdict(lambda: [0] * width)
    for row in rows:
        sums[row.currency][bucket_of(_days_past_due(row, as_of), DEFAULT_BUCKETS)] += int(
            row.open_minor
        )
    out = [AgingBuckets(c, tuple(b), sum(b)) for c, b in sums.items()]
    return tuple(sorted(out, key=lambda a: (-a.total_minor, a.currency)))


def _dso_trend(
    ends: list[date], ar: dict[str, list[int]], monthly: dict[tuple[str, int, int], int]
) -> tuple[DsoPoint, ...]:
    currencies = sorted(set(ar) | {c for c, _, _ in monthly})
    points = []
    for currency in currencies:
        balances = ar.get(currency, [0] * len(ends))
        for end, balance in zip(ends, balances, strict=True):
            # Each slice is a whole month except the first, which runs to `end`: for a past
            # month that is its last day, for this month the as-of day, after which no sales
            # were read. So month totals are the slices' sales exactly.
            months = [
                MonthSales(s, monthly.get((currency, s.start.year, s.start.month), 0))
                for s in month_slices(end, MAX_COUNTBACK_MONTHS)
            ]
            points.append(DsoPoint(end, currency, balance, dso_countback(balance, months)))
    return tuple(points)


# ---------------------------------------------------------------------------------------------
# a customer


def mask_account(iban: str | None) -> str:
    """An IBAN as a page shows it: the country and the last four characters, the rest
    starred, in groups of four ('DE** **** **** **** **30 00').

    >>> mask_account("DE89370400440532013000")
    'DE** **** **** **** **30 00'
    >>> mask_account("")
    ''
    """
    text = "".join((iban or "").split()).upper()
    if not text:
        return ""
    if len(text) <= 6:
        return "*" * len(text)
    shown = text[:2] + "*" * (len(text) - 6) + text[-4:]
    return " ".join(shown[i : i + 4] for i in range(0, len(shown), 4))


def _document_row(r: Any, today: date, credited: int = 0, written_off: int = 0) -> dict[str, Any]:
    open_minor = int(r.open_minor)
    return {
        "id": int(r.id),
        "number": r.number or "",
        "kind": r.kind,
        "status": _status(r, open_minor, credited, today, written_off),
        "customer": r.customer_code,
        "customer_name": r.customer_name,
        "document_date": r.document_date,
        "due_date": r.due_date,
        "currency": r.currency,
        "total_minor": int(r.total_minor),
        "open_minor": _open_for_people(r.kind, open_minor),
        "buyer_reference": r.buyer_reference,
    }


def _documents(
    uow: UnitOfWork, entity_id: int, rows: Any, today: date
) -> tuple[dict[str, Any], ...]:
    ids = [int(r.id) for r in rows]
    credited = uow.reports.credited_by_invoice(entity_id, ids) if ids else {}
    written_off = uow.reports.written_off_by_invoice(entity_id, ids) if ids else {}
    return tuple(
        _document_row(r, today, credited.get(r.id, 0), written_off.get(r.id, 0)) for r in rows
    )


def _case(row: Any, today: date) -> dict[str, Any]:
    data = dict(row._mapping)
    data["active"] = DisputeStatus(row.status) in ACTIVE_DISPUTES
    data["overdue"] = data["active"] and row.due_on is not None and row.due_on < today
    return data


def customer_page(
    uow: UnitOfWork, entity_code: str, customer_code: str, as_of: date | None = None
) -> CustomerPage:
    """Everything about one customer: master data, balances, open items and their aging,
    recent documents, payments and dispute cases, dunning policy, holds and promise."""
    with uow:
        entity = entity_by_code(uow, entity_code)
        customer = customer_by_code(uow, entity.id, customer_code)
        today = as_of or uow.clock.today()
        open_rows = uow.desk.open_items_of(customer.id, today)
        progress = uow.dunning.progress([int(r.id) for r in open_rows[:MAX_OPEN_ITEMS]])
        disputed = uow.disputes.disputed_by_document(
            entity.id, [int(r.id) for r in open_rows[:MAX_OPEN_ITEMS]]
        )
        balances = uow.desk.balances_of(customer.id)
        documents = _documents(
            uow, entity.id, uow.desk.recent_documents(customer.id, RECENT_ROWS), today
        )
        payments = uow.desk.recent_payments(customer.id, RECENT_ROWS)
        cases = uow.disputes.listing(
            entity.id, {"customer": customer.code, "statuses": ()}, 10 * RECENT_ROWS
        )
        dunning = _customer_view(uow, entity, customer)
        holds = [uow.dunning.active_hold(customer.id, kind) for kind in HOLD_KINDS]
        promise = uow.dunning.open_promise(customer.id)
    data = dict(customer._mapping)
    data["iban"] = mask_account(customer.iban)
    items = []
    for r in open_rows[:MAX_OPEN_ITEMS]:
        days = _days_past_due(r, today)
        items.append(
            {
                "number": r.number or "",
                "kind": r.kind,
                "document_date": r.document_date,
                "due_date": r.due_date,
                "currency": r.currency,
                "total_minor": int(r.total_minor),
                "open_minor": _open_for_people(r.kind, int(r.open_minor)),
                "days_past_due": max(days, 0),
                "dunning_step": progress.get(int(r.id), (0, 0, False))[0],
                "disputed_minor": disputed.get(int(r.id), 0),
            }
        )
    return CustomerPage(
        customer=data,
        as_of=today,
        balances=tuple((c, r, k) for c, (r, k) in sorted(balances.items()) if r or k),
        aging_labels=tuple(bucket_labels(DEFAULT_BUCKETS)),
        aging=_aging(open_rows, today),
        open_items=tuple(items),
        open_items_count=len(open_rows),
        documents=documents,
        payments=tuple(_payment_row(p) for p in payments),
        disputes=tuple(_case(c, today) for c in reversed(cases[-RECENT_ROWS:])),
        dunning_policy=dunning.policy,
        dunning_policy_is_default=dunning.policy_is_default,
        dunning_language=dunning.language,
        holds=tuple(dict(h._mapping) for h in holds if h is not None),
        promise=dict(promise._mapping) if promise is not None else None,
    )


def _payment_row(p: Any) -> dict[str, Any]:
    reversed_on = p.reversed_on
    used = int(p.amount_minor) if reversed_on is not None else int(p.used_minor)
    return {
        "id": int(p.id),
        "received_on": p.received_on,
        "method": p.method,
        "reference": p.reference,
        "currency": p.currency,
        "amount_minor": int(p.amount_minor),
        "allocated_minor": 0 if reversed_on is not None else used,
        "unallocated_minor": 0 if reversed_on is not None else int(p.amount_minor) - used,
        "reversed_on": reversed_on,
    }


# ---------------------------------------------------------------------------------------------
# an invoice


def invoice_page(
    uow: UnitOfWork, entity_code: str, number: str, as_of: date | None = None
) -> InvoicePage:
    """An invoice or credit note whole (as `reports.show_document`), with its history from
    the records and its dispute cases and credit notes."""
    with uow:
        entity = entity_by_code(uow, entity_code)
        view = document_view(uow, entity, number, as_of)
        doc_id = int(view.header["id"])
        number_of = view.header["number"] or ""
        cases = (
            uow.disputes.listing(
                entity.id, {"invoice": number_of, "statuses": ()}, MAX_HISTORY_ROWS
            )
            if number_of
            else []
        )
        credit_notes = uow.desk.credit_notes_of(doc_id)
        messages = uow.desk.messages_of(doc_id, MAX_HISTORY_ROWS)
        steps = uow.dunning.history(doc_id, MAX_HISTORY_ROWS)
        credited_id = view.header.get("credited_document_id")
        credited = uow.documents.get(int(credited_id)) if credited_id else None
        today = uow.clock.today()
        numbers = _numbers_of(uow, view)
    history = _history(view, cases, credit_notes, messages, steps, numbers)
    return InvoicePage(
        view=view,
        history=history,
        disputes=tuple(_case(c, today) for c in cases),
        credit_notes=tuple(dict(c._mapping) for c in credit_notes),
        credited_number=(credited.number or "") if credited is not None else "",
        numbers=numbers,
    )


def _numbers_of(uow: UnitOfWork, view: DocumentView) -> dict[int, str]:
    """Numbers of the credit notes and invoices a document's settlements name."""
    ids = {int(s["credit_note_id"]) for s in view.settlements if s.get("credit_note_id")}
    ids |= {int(s["invoice_id"]) for s in view.settlements if s.get("invoice_id")}
    ids.discard(int(view.header["id"]))
    out: dict[int, str] = {}
    for i in sorted(ids)[:MAX_HISTORY_ROWS]:
        row = uow.documents.get(i)
        if row is not None:
            out[i] = row.number or ""
    return out


def _day(value: Any) -> date:
    if hasattr(value, "date") and callable(value.date):
        return value.date()  # type: ignore[no-any-return]
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _history(
    view: DocumentView,
    cases: Iterable[Any],
    credit_notes: Iterable[Any],
    messages: Iterable[Any],
    steps: Iterable[Any],
    numbers: dict[int, str],
) -> tuple[HistoryEvent, ...]:
    h = view.header
    currency = h["currency"]
    events: list[tuple[date, int, HistoryEvent]] = []

    def add(on: Any, what: str, detail: str, link: str = "") -> None:
        events.append((_day(on), len(events), HistoryEvent(_day(on), what, detail, link)))

    if h["status"] == "draft":
        add(h["created_at"], "drafted", "a draft: no number yet")
    else:
        add(h["document_date"], "issued", f"{h['number']}, {_money(h['total_minor'], currency)}")
    for m in messages:
        if m.sent_at is not None:
            add(m.sent_at, "sent", f"{m.purpose} e-mail to {m.mail_to}")
        else:
            add(m.created_at, "queued", f"{m.purpose} e-mail to {m.mail_to}: {m.status}")
    for s in view.settlements:
        amount = _money(s["amount_minor"], currency)
        if s.get("payment_id"):
            add(s["allocated_on"], "paid", f"{amount} from payment {s['payment_id']}")
            if s.get("reversed_on"):
                add(s["reversed_on"], "payment reversed", f"payment {s['payment_id']}: {amount}")
        elif s.get("credit_note_id") and int(s["credit_note_id"]) != int(h["id"]):
            other = numbers.get(int(s["credit_note_id"]), "")
            add(s["allocated_on"], "credited", f"{amount} by credit note", other)
        elif s.get("invoice_id") and int(s["invoice_id"]) != int(h["id"]):
            other = numbers.get(int(s["invoice_id"]), "")
            add(s["allocated_on"], "applied", f"{amount} to invoice", other)
    for w in view.write_offs:
        add(
            w["written_off_on"],
            "written off",
            f"{_money(w['amount_minor'], currency)}: {w['reason']}",
        )
        if w.get("reversed_on"):
            add(w["reversed_on"], "write-off taken back", w.get("reversal_reason") or "")
    for c in credit_notes:
        if not any(e.link == c.number for _, _, e in events):
            add(
                c.document_date,
                "credited",
                f"{_money(c.total_minor, currency)} by credit note (not applied here)",
                c.number or "",
            )
    for s in steps:
        add(s.taken_on, "dunned", f"step {s.step_no} ({s.policy_code}): {s.actions}")
    for c in cases:
        reason = str(c.reason).replace("_", " ")
        add(
            c.opened_on,
            "disputed",
            f"case {c.case_no}: {reason}, {_money(c.amount_minor, c.currency)}",
            c.case_no,
        )
        if c.closed_on is not None:
            add(c.closed_on, f"dispute {c.status}", f"case {c.case_no}", c.case_no)
    return tuple(e for _, _, e in sorted(events, key=lambda x: (x[0], x[1])))


def _money(minor: Any, currency: str) -> str:
    from openbill.domain.money import format_minor

    return f"{format_minor(int(minor), currency)} {currency}"


def invoice_audit(uow: UnitOfWork, entity_code: str, number: str) -> tuple[AuditEvent, ...]:
    """The audit trail of a document: the events recorded on it (drafted, lines added,
    issued, discount taken, written off ...), oldest first, at most MAX_AUDIT_EVENTS."""
    with uow:
        entity = entity_by_code(uow, entity_code)
        view = document_view(uow, entity, number)
        rows = uow.audit.for_record("document", str(view.header["id"]))
    return tuple(
        AuditEvent(
            int(r.chain_seq),
            r.occurred_at,
            r.actor,
            r.action,
            json.loads(r.before) if r.before else None,
            json.loads(r.after) if r.after else None,
        )
        for r in rows[:MAX_AUDIT_EVENTS]
        if r.entity_id is None or int(r.entity_id) == int(entity.id)
    )


# ---------------------------------------------------------------------------------------------
# search

# The ways people write amounts: (decimal mark, thousands separator).
_NOTATIONS = ((".", ""), (",", ""), (".", ","), (",", "."), (".", " "), (",", " "), (".", "'"))


def amount_readings(text: str) -> tuple[Decimal, ...]:
    """The amounts a search text can mean, smallest first; () when it is none.

    Read with `domain.payment_import.parse_amount` in each common notation: plain
    ("1190.00", "1190,00") or grouped in thousands ("1,190.00", "1.190,00", "1 190,00",
    "1'190.00"); a currency code beside it is ignored ("EUR 1190.00"). A text that two
    notations read differently means both: "4,759" is 4759 grouped, or 4.759 (a KWD amount).

    >>> amount_readings("1,190.00"), amount_readings("29,75")
    ((Decimal('1190.00'),), (Decimal('29.75'),))
    >>> amount_readings("4,759")
    (Decimal('4.759'), Decimal('4759'))
    >>> amount_readings("INV-2026-000001")
    ()
    """
    words = [w for w in text.strip().split() if not (len(w) == 3 and w.isalpha())]
    compact = " ".join(words)
    if not compact or len(compact) > 40:
        return ()
    found: dict[Decimal, Decimal] = {}
    for mark, thousands in _NOTATIONS:
        try:
            value = parse_amount(compact, mark, thousands)
        except InvalidInput:
            continue
        found.setdefault(value.normalize(), value)
    return tuple(sorted(found.values()))


def _minor_pairs(amount: Decimal, currencies: Iterable[str]) -> list[tuple[str, int]]:
    """(currency, minor units) for each currency the amount is exact in ("12.5" is no JPY)."""
    out = []
    for currency in currencies:
        scaled = amount.scaleb(exponent_of(currency))
        if scaled == scaled.to_integral_value():
            out.append((currency, int(scaled)))
    return out


def search(uow: UnitOfWork, entity_code: str, text: str) -> SearchResults:
    """Invoices by number, customers by code or name, documents by purchase order number
    (their buyer reference, or the PO their deliveries were billed against), and, when the
    text is an amount, documents whose total or open amount is exactly it and payments of
    exactly it. Each group holds at most MAX_SEARCH_RESULTS, newest first."""
    query = " ".join(text.split())
    if len(query) > MAX_SEARCH_CHARS:
        raise InvalidInput(
            f"search for at most {MAX_SEARCH_CHARS} characters", record="search", field="q"
        )
    amounts = amount_readings(query)
    none: tuple[dict[str, Any], ...] = ()
    if not query:
        return SearchResults(query, (), none, none, none, none, none, none)
    limit = MAX_SEARCH_RESULTS
    with uow:
        entity = entity_by_code(uow, entity_code)
        today = uow.clock.today()
        by_number = uow.desk.documents_by_number(entity.id, query, limit)
        customers = uow.customers.page(entity.id, 0, limit, query)
        orders = uow.desk.purchase_orders(entity.id, query, limit)
        by_po = uow.desk.documents_by_po(entity.id, query, limit)
        by_amount: Any = []
        payments: Any = []
        if amounts:
            currencies = uow.desk.currencies(entity.id)
            pairs = sorted({p for a in amounts for p in _minor_pairs(a, currencies)})
            by_amount = uow.desk.documents_by_amount(entity.id, pairs, limit)
            payments = uow.desk.payments_by_amount(entity.id, pairs, limit)
        documents = _documents(uow, entity.id, by_number, today)
        po_documents = _documents(uow, entity.id, by_po, today)
        amount_documents = _documents(uow, entity.id, by_amount, today)
    return SearchResults(
        query=query,
        amounts=amounts,
        documents=documents,
        customers=tuple(dict(c._mapping) for c in customers),
        purchase_orders=tuple(dict(p._mapping) for p in orders),
        by_po=po_documents,
        by_amount=amount_documents,
        payments=tuple(dict(p._mapping) for p in payments),
    )


# ---------------------------------------------------------------------------------------------
# refusals


def record_forged_request(uow: UnitOfWork, principal: str, target: str, address: str) -> None:
    """Audit a page request refused for a missing or wrong anti-forgery (CSRF) token: who it
    came as, what it tried, and from where. The token itself is not recorded."""
    with uow:
        after = {"principal": principal[:200], "target": target[:500], "address": address[:64]}
        audit(uow, None, "csrf_refused", "access", principal[:64], None, after)
        uow.commit()
