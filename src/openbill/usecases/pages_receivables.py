"""Pages and single records of receivables for the API and the web pages: exchange rates,
refunds, write-offs, one payment whole, dispute cases, dunning policies, runs, promises and
holds.

Keyset pages as in `usecases.pages`: a page ends at the id (for dispute cases: the case's
sequence number) of its last record and the next one starts after it, so records added
meanwhile never shift a page or show twice. Every read is one transaction; a record the caller
asks for by id or number and that is not the entity's is NotFound, never another entity's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from openbill.domain.currencies import EXPONENTS
from openbill.domain.disputes import Reason
from openbill.domain.rejections import InvalidInput, NotFound
from openbill.ports import UnitOfWork
from openbill.usecases import disputes as ds
from openbill.usecases import dunning as dn
from openbill.usecases._support import choice, entity_by_code, revision
from openbill.usecases.fx import rate_between
from openbill.usecases.pages import MAX_PAGE_SIZE, Page
from openbill.usecases.reports import payment_use

__all__ = [
    "HOLD_STATES",
    "PROMISE_STATUSES",
    "RateFilter",
    "RefundFilter",
    "WriteOffFilter",
    "DisputeFilter",
    "PromiseFilter",
    "HoldFilter",
    "RunFilter",
    "RateInUse",
    "rates_page",
    "rate_in_use",
    "tolerances",
    "refunds_page",
    "refund_record",
    "write_offs_page",
    "write_off_record",
    "payment_record",
    "disputes_page",
    "dispute_record",
    "policies_page",
    "promises_page",
    "promise_record",
    "holds_page",
    "hold_record",
    "runs_page",
    "dunning_settings_record",
]

HOLD_STATES = ("active", "released", "all")
PROMISE_STATUSES = ("open", "kept", "broken", "replaced")


@dataclass(frozen=True, slots=True)
class RateFilter:
    from_currency: str = ""
    to_currency: str = ""
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True, slots=True)
class RefundFilter:
    customer: str = ""
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True, slots=True)
class WriteOffFilter:
    customer: str = ""
    invoice: str = ""
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True, slots=True)
class DisputeFilter:
    status: str = "active"  # active, closed, all, or one status
    customer: str = ""
    invoice: str = ""
    owner: str = ""
    reason: str = ""
    opened_from: date | None = None
    opened_to: date | None = None


@dataclass(frozen=True, slots=True)
class PromiseFilter:
    customer: str = ""
    status: str = ""  # one of PROMISE_STATUSES; empty: all


@dataclass(frozen=True, slots=True)
class HoldFilter:
    state: str = "active"  # one of HOLD_STATES
    customer: str = ""
    kind: str = ""  # dunning or credit; empty: both


@dataclass(frozen=True, slots=True)
class RunFilter:
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True, slots=True)
class RateInUse:
    on: date
    from_currency: str
    to_currency: str
    rate: Any  # Decimal: 1 from_currency = rate to_currency
    rate_date: date | None  # the date of the stored rate used; None: the same currency


# ---------------------------------------------------------------------------------------------
# shared steps


def _size(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"a page holds 1 to {MAX_PAGE_SIZE} records", field="limit")
    return limit


def _dates(first: date | None, last: date | None, field_name: str = "date_from") -> None:
    if first and last and first > last:
        raise InvalidInput(f"{field_name} is after the end of the period", field=field_name)


def _customer_id(uow: UnitOfWork, entity_id: int, code: str) -> int:
    row = uow.customers.by_code(entity_id, code)
    return int(row.id) if row is not None else -1  # no such customer: an empty page


def _currency(code: str, field_name: str) -> str:
    currency = code.strip().upper()
    if currency and currency not in EXPONENTS:
        raise InvalidInput(f"{code!r} is not an ISO 4217 currency code", field=field_name)
    return currency


def _page(rows: list[dict[str, Any]], limit: int, key: str = "id") -> Page:
    """A page of `limit` records out of `limit + 1` read: the extra one says there is more."""
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(tuple(rows), int(rows[-1][key]) if more and rows else None)


# ---------------------------------------------------------------------------------------------
# exchange rates and tolerances


def rates_page(
    uow: UnitOfWork, entity: str, after_id: int, limit: int, wanted: RateFilter = RateFilter()
) -> Page:
    _size(limit)
    _dates(wanted.date_from, wanted.date_to)
    filters = {
        "from_currency": _currency(wanted.from_currency, "from"),
        "to_currency": _currency(wanted.to_currency, "to"),
        "date_from": wanted.date_from,
        "date_to": wanted.date_to,
    }
    with uow:
        entity_id = entity_by_code(uow, entity).id
        rows = uow.fx.rates_page(entity_id, filters, after_id, limit + 1)
        return _page([dict(r._mapping) for r in rows], limit)


def rate_in_use(
    uow: UnitOfWork, entity: str, on: date, from_currency: str, to_currency: str
) -> RateInUse:
    """The rate openbill uses on `on`: stored for the day or up to RATE_STALE_DAYS before,
    either way round (NotFound, naming the rate to add, when there is none)."""
    source = _currency(from_currency, "from")
    target = _currency(to_currency, "to")
    if not source or not target:
        raise InvalidInput("name both currencies", field="from" if not source else "to")
    with uow:
        found = rate_between(uow, entity_by_code(uow, entity), source, target, on)
        return RateInUse(on, source, target, found.rate, found.rate_date)


def tolerances(uow: UnitOfWork, entity: str) -> list[dict[str, Any]]:
    """The small-difference tolerance of each currency that has one set (0: switched off)."""
    with uow:
        entity_id = entity_by_code(uow, entity).id
        return [dict(r._mapping) for r in uow.fx.tolerances(entity_id)]


# ---------------------------------------------------------------------------------------------
# refunds, write-offs and one payment


def refunds_page(
    uow: UnitOfWork, entity: str, after_id: int, limit: int, wanted: RefundFilter = RefundFilter()
) -> Page:
    _size(limit)
    _dates(wanted.date_from, wanted.date_to)
    with uow:
        entity_id = entity_by_code(uow, entity).id
        filters: dict[str, Any] = {"date_from": wanted.date_from, "date_to": wanted.date_to}
        if wanted.customer:
            filters["customer_id"] = _customer_id(uow, entity_id, wanted.customer)
        rows = uow.fx.refunds_page(entity_id, filters, after_id, limit + 1)
        return _page([dict(r._mapping) for r in rows], limit)


def refund_record(uow: UnitOfWork, entity: str, refund_id: int) -> dict[str, Any]:
    with uow:
        entity_id = entity_by_code(uow, entity).id
        rows = uow.fx.refunds_page(entity_id, {"refund_id": refund_id}, 0, 1)
        if not rows:
            raise NotFound(f"no refund with id {refund_id}", record="refund", field="id")
        return dict(rows[0]._mapping)


def _write_off(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    data["small_difference"] = bool(data["small_difference"])
    return data


def write_offs_page(
    uow: UnitOfWork,
    entity: str,
    after_id: int,
    limit: int,
    wanted: WriteOffFilter = WriteOffFilter(),
) -> Page:
    _size(limit)
    _dates(wanted.date_from, wanted.date_to)
    with uow:
        entity_id = entity_by_code(uow, entity).id
        filters: dict[str, Any] = {
            "invoice": wanted.invoice,
            "date_from": wanted.date_from,
            "date_to": wanted.date_to,
        }
        if wanted.customer:
            filters["customer_id"] = _customer_id(uow, entity_id, wanted.customer)
        rows = uow.fx.write_offs_page(entity_id, filters, after_id, limit + 1)
        return _page([_write_off(r) for r in rows], limit)


def write_off_record(uow: UnitOfWork, entity: str, write_off_id: int) -> dict[str, Any]:
    with uow:
        entity_id = entity_by_code(uow, entity).id
        rows = uow.fx.write_offs_page(entity_id, {"write_off_id": write_off_id}, 0, 1)
        if not rows:
            raise NotFound(f"no write-off with id {write_off_id}", record="write-off", field="id")
        return _write_off(rows[0])


def payment_record(uow: UnitOfWork, entity: str, payment_id: int) -> dict[str, Any]:
    """One payment whole: what it is, what it paid (each allocation, with the rate and the
    realised exchange difference where it crossed currencies), what is left, its reversal."""
    with uow:
        entity_id = entity_by_code(uow, entity).id
        row = uow.money.payment(payment_id)
        if row is None or row.entity_id != entity_id:
            raise NotFound(f"no payment with id {payment_id}", record="payment", field="id")
        used, left, reversal = payment_use(uow, row)
        crossed = {int(x.allocation_id): x for x in uow.fx.fx_allocations_of_payment(row.id)}
        allocations = []
        for a in uow.fx.allocations_of_payment(row.id):
            x = crossed.get(int(a.id))
            allocations.append(
                {
                    "invoice": a.number,
                    "currency": a.currency,
                    "amount_minor": int(a.amount_minor),
                    "allocated_on": a.allocated_on,
                    "payment_minor": int(x.payment_minor) if x else int(a.amount_minor),
                    "rate": x.rate if x else None,
                    "base_currency": x.base_currency if x else "",
                    "difference_minor": int(x.difference_minor) if x else 0,
                }
            )
        customer = uow.customers.get(row.customer_id)
        return {
            "id": int(row.id),
            "customer": customer.code,
            "received_on": row.received_on,
            "method": row.method,
            "reference": row.reference or "",
            "currency": row.currency,
            "amount_minor": int(row.amount_minor),
            "allocated_minor": used,
            "unallocated_minor": left,
            "reversed_on": reversal.reversed_on if reversal is not None else None,
            "reversal_reason": reversal.reason if reversal is not None else "",
            "allocations": allocations,
        }


# ---------------------------------------------------------------------------------------------
# dispute cases


def disputes_page(
    uow: UnitOfWork,
    entity: str,
    after_seq: int,
    limit: int,
    wanted: DisputeFilter = DisputeFilter(),
) -> Page:
    """Cases in the order they were opened (by case number), after `after_seq`."""
    _size(limit)
    _dates(wanted.opened_from, wanted.opened_to, "opened_from")
    filters = {
        "statuses": ds._statuses(wanted.status),
        "customer": wanted.customer,
        "invoice": wanted.invoice,
        "owner": wanted.owner,
        "reason": choice(wanted.reason, Reason, "disputes", "reason") if wanted.reason else "",
        "after_seq": after_seq,
        "opened_from": wanted.opened_from,
        "opened_to": wanted.opened_to,
    }
    with uow:
        entity_id = entity_by_code(uow, entity).id
        rows = uow.disputes.listing(entity_id, filters, limit + 1)
        today = uow.clock.today()
        return _page([ds._view(r, today) for r in rows], limit, key="seq")


def dispute_record(uow: UnitOfWork, entity: str, case_no: str) -> tuple[ds.CaseView, str]:
    """A case whole (as `disputes.show_case`) and its revision, read together: the revision is
    what a change names to be sure nobody changed the case meanwhile (UpdateCase.if_match)."""
    with uow:
        found = entity_by_code(uow, entity)
        case = ds._case(uow, found, case_no)
        resolution = uow.disputes.resolution(case.id)
        events = uow.disputes.events(case.id, ds.MAX_EVENTS_PER_CASE + 10)
        view = ds._view(case, uow.clock.today())
        view["open_minor"] = uow.ledger.document_open(case.document_id)
        whole = ds.CaseView(
            view,
            dict(resolution._mapping) if resolution is not None else None,
            [dict(e._mapping) for e in events],
        )
        return whole, revision(case)


# ---------------------------------------------------------------------------------------------
# dunning


def policies_page(uow: UnitOfWork, entity: str, after_id: int, limit: int) -> Page:
    """The entity's policies in the order they were made (at most MAX_POLICIES of them)."""
    _size(limit)
    with uow:
        found = entity_by_code(uow, entity)
        default_id = dn._default_id(uow, found.id)
        rows = sorted(uow.dunning.policies(found.id, dn.MAX_POLICIES), key=lambda r: int(r.id))
        chosen = [r for r in rows if int(r.id) > after_id][: limit + 1]
        return _page(
            [{"id": int(r.id), **asdict(dn._policy_view(uow, r, default_id))} for r in chosen],
            limit,
        )


def _promise(row: Any) -> dict[str, Any]:
    return {"id": int(row.id), **asdict(dn._promise_view(row, row.customer_code))}


def promises_page(
    uow: UnitOfWork,
    entity: str,
    after_id: int,
    limit: int,
    wanted: PromiseFilter = PromiseFilter(),
) -> Page:
    _size(limit)
    if wanted.status and wanted.status not in PROMISE_STATUSES:
        raise InvalidInput(
            f"{wanted.status!r} is not one of: {', '.join(PROMISE_STATUSES)}", field="status"
        )
    with uow:
        entity_id = entity_by_code(uow, entity).id
        filters: dict[str, Any] = {"status": wanted.status}
        if wanted.customer:
            filters["customer_id"] = _customer_id(uow, entity_id, wanted.customer)
        rows = uow.dunning.promises_page(entity_id, filters, after_id, limit + 1)
        return _page([_promise(r) for r in rows], limit)


def promise_record(uow: UnitOfWork, entity: str, promise_id: int) -> dict[str, Any]:
    with uow:
        entity_id = entity_by_code(uow, entity).id
        rows = uow.dunning.promises_page(entity_id, {"promise_id": promise_id}, 0, 1)
        if not rows:
            raise NotFound(f"no promise to pay with id {promise_id}", record="promise", field="id")
        return _promise(rows[0])


def holds_page(
    uow: UnitOfWork, entity: str, after_id: int, limit: int, wanted: HoldFilter = HoldFilter()
) -> Page:
    _size(limit)
    if wanted.state not in HOLD_STATES:
        raise InvalidInput(f"state is one of {', '.join(HOLD_STATES)}", field="state")
    if wanted.kind and wanted.kind not in dn.HOLD_KINDS:
        raise InvalidInput("a hold is 'dunning' or 'credit'", field="kind")
    with uow:
        entity_id = entity_by_code(uow, entity).id
        filters: dict[str, Any] = {
            "after_id": after_id,
            "kind": wanted.kind,
            "released": wanted.state == "released",
        }
        if wanted.customer:
            filters["customer_id"] = _customer_id(uow, entity_id, wanted.customer)
        rows = uow.dunning.holds(entity_id, wanted.state == "active", limit + 1, None, filters)
        return _page([asdict(dn._hold_view(r)) for r in rows], limit)


def hold_record(uow: UnitOfWork, entity: str, hold_id: int) -> dict[str, Any]:
    with uow:
        entity_id = entity_by_code(uow, entity).id
        rows = uow.dunning.holds(entity_id, False, 1, hold_id)
        if not rows:
            raise NotFound(f"no hold with id {hold_id}", record="hold", field="id")
        return asdict(dn._hold_view(rows[0]))


def runs_page(
    uow: UnitOfWork, entity: str, after_id: int, limit: int, wanted: RunFilter = RunFilter()
) -> Page:
    _size(limit)
    _dates(wanted.date_from, wanted.date_to)
    with uow:
        entity_id = entity_by_code(uow, entity).id
        filters = {"date_from": wanted.date_from, "date_to": wanted.date_to}
        rows = uow.dunning.runs_page(entity_id, filters, after_id, limit + 1)
        return _page([dict(r._mapping) for r in rows], limit)


def dunning_settings_record(uow: UnitOfWork, entity: str) -> tuple[dn.SettingsView, str]:
    """The entity's dunning settings and their revision (SetDunningSettings.if_match)."""
    with uow:
        found = entity_by_code(uow, entity)
        row = uow.dunning.settings(found.id)
        return dn._settings_view(uow, row), dn.settings_revision(row)
