"""Exchange rates, cross-currency settlements, payment reversals and tolerances (issue #4),
and the keyset pages of rates, refunds and write-offs the API reads (issue #6). Like every
repository here it never commits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Row

from openbill.adapters.sql import tables as t
from openbill.adapters.sql import tables_fx as fx
from openbill.adapters.sql.repositories import _Repo, small_difference

__all__ = ["FxRepo"]

Values = Mapping[str, Any]


class FxRepo(_Repo):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._tolerances: dict[tuple[int, str], int] = {}

    # Rates.

    def set_rate(self, values: Values) -> Row[Any] | None:
        """Store a rate; returns the rate it replaced for the same day, if any."""
        r = fx.exchange_rates.c
        key = (
            r.entity_id == values["entity_id"],
            r.from_currency == values["from_currency"],
            r.to_currency == values["to_currency"],
            r.rate_date == values["rate_date"],
        )
        before = self._one(select(fx.exchange_rates).where(*key))
        if before is not None:
            self.conn.execute(delete(fx.exchange_rates).where(*key))
        self.conn.execute(insert(fx.exchange_rates), dict(values))
        return before

    def rate_on(
        self, entity_id: int, from_currency: str, to_currency: str, on: date, oldest: date
    ) -> Row[Any] | None:
        """The latest rate from -> to dated on or before `on` and not before `oldest`."""
        r = fx.exchange_rates.c
        stmt = (
            select(fx.exchange_rates)
            .where(
                r.entity_id == entity_id,
                r.from_currency == from_currency,
                r.to_currency == to_currency,
                r.rate_date <= on,
                r.rate_date >= oldest,
            )
            .order_by(r.rate_date.desc())
            .limit(1)
        )
        return self._one(stmt)

    def rates(self, entity_id: int, limit: int) -> Sequence[Row[Any]]:
        r = fx.exchange_rates.c
        stmt = (
            select(fx.exchange_rates)
            .where(r.entity_id == entity_id)
            .order_by(r.rate_date.desc(), r.from_currency, r.to_currency)
            .limit(limit)
        )
        return self.conn.execute(stmt).all()

    # Cross-currency settlements.

    def add_fx_allocation(self, values: Values) -> None:
        self.conn.execute(insert(fx.fx_allocations), dict(values))

    def fx_allocations_of_payment(self, payment_id: int) -> Sequence[Row[Any]]:
        x = fx.fx_allocations.c
        return self.conn.execute(
            select(fx.fx_allocations).where(x.payment_id == payment_id).order_by(x.allocation_id)
        ).all()

    def all_fx_allocations(self) -> Sequence[Row[Any]]:
        return self.conn.execute(select(fx.fx_allocations)).all()

    # Reversals.

    def reversal_of(self, payment_id: int) -> Row[Any] | None:
        r = fx.payment_reversals.c
        return self._one(select(fx.payment_reversals).where(r.payment_id == payment_id))

    def add_reversal(self, values: Values) -> int:
        return self._insert(fx.payment_reversals, values)

    def all_reversals(self) -> Sequence[Row[Any]]:
        return self.conn.execute(select(fx.payment_reversals)).all()

    def allocations_of_payment(self, payment_id: int) -> Sequence[Row[Any]]:
        a, d = t.allocations.c, t.documents.c
        stmt = (
            select(t.allocations, d.number, d.currency)
            .join(t.documents, d.id == a.invoice_id)
            .where(a.payment_id == payment_id)
            .order_by(a.id)
        )
        return self.conn.execute(stmt).all()

    # Tolerance.

    def tolerance(self, entity_id: int, currency: str) -> int:
        """The small difference written off, kept for the unit of work once read."""
        known = self._tolerances.get((entity_id, currency))
        if known is None:
            rows = self.raw.execute(
                "SELECT tolerance_minor FROM receivables_settings "
                "WHERE entity_id = ? AND currency = ?",
                (entity_id, currency),
                flush=False,  # settings: no held-back insert touches them
            )
            known = self._tolerances[(entity_id, currency)] = int(rows[0][0]) if rows else 0
        return known

    def set_tolerance(self, values: Values) -> None:
        self._tolerances.clear()
        s = fx.receivables_settings.c
        self.conn.execute(
            delete(fx.receivables_settings).where(
                s.entity_id == values["entity_id"], s.currency == values["currency"]
            )
        )
        self.conn.execute(insert(fx.receivables_settings), dict(values))

    def tolerances(self, entity_id: int) -> Sequence[Row[Any]]:
        s = fx.receivables_settings.c
        return self.conn.execute(
            select(fx.receivables_settings).where(s.entity_id == entity_id).order_by(s.currency)
        ).all()

    # Keyset pages for the API (usecases.pages_receivables): oldest first, after an id.

    def rates_page(
        self, entity_id: int, filters: Mapping[str, Any], after_id: int, limit: int
    ) -> Sequence[Row[Any]]:
        """Stored rates after `after_id`; filters from_currency, to_currency, date_from and
        date_to (the rate's date, inclusive)."""
        r = fx.exchange_rates.c
        stmt = select(fx.exchange_rates).where(r.entity_id == entity_id, r.id > after_id)
        if filters.get("from_currency"):
            stmt = stmt.where(r.from_currency == filters["from_currency"])
        if filters.get("to_currency"):
            stmt = stmt.where(r.to_currency == filters["to_currency"])
        if filters.get("date_from"):
            stmt = stmt.where(r.rate_date >= filters["date_from"])
        if filters.get("date_to"):
            stmt = stmt.where(r.rate_date <= filters["date_to"])
        return self.conn.execute(stmt.order_by(r.id).limit(limit)).all()

    def refunds_page(
        self, entity_id: int, filters: Mapping[str, Any], after_id: int, limit: int
    ) -> Sequence[Row[Any]]:
        """Refunds with their customer's code after `after_id` (or the one `refund_id`);
        filters customer_id, date_from and date_to (refunded on, inclusive)."""
        f, c = t.refunds.c, t.customers.c
        stmt = (
            select(t.refunds, c.code.label("customer_code"))
            .join(t.customers, c.id == f.customer_id)
            .where(f.entity_id == entity_id, f.id > after_id)
        )
        if filters.get("refund_id"):
            stmt = stmt.where(f.id == filters["refund_id"])
        if filters.get("customer_id"):
            stmt = stmt.where(f.customer_id == filters["customer_id"])
        if filters.get("date_from"):
            stmt = stmt.where(f.refunded_on >= filters["date_from"])
        if filters.get("date_to"):
            stmt = stmt.where(f.refunded_on <= filters["date_to"])
        return self.conn.execute(stmt.order_by(f.id).limit(limit)).all()

    def write_offs_page(
        self, entity_id: int, filters: Mapping[str, Any], after_id: int, limit: int
    ) -> Sequence[Row[Any]]:
        """Write-offs with their invoice, customer, whether each closed a small payment
        difference, and when it was taken back (if it was), after `after_id` (or the one
        `write_off_id`); filters customer_id, invoice (number), date_from and date_to."""
        from openbill.adapters.sql import tables_bank as tb

        w, doc, c = t.write_offs.c, t.documents.c, t.customers.c
        back = tb.write_off_reversals.c
        stmt = (
            select(
                t.write_offs,
                doc.number.label("invoice_number"),
                doc.currency.label("currency"),
                c.code.label("customer_code"),
                small_difference(w.id).label("small_difference"),
                back.reversed_on.label("reversed_on"),
                back.reason.label("reversal_reason"),
            )
            .join(t.documents, doc.id == w.invoice_id)
            .join(t.customers, c.id == doc.customer_id)
            .outerjoin(tb.write_off_reversals, back.write_off_id == w.id)
            .where(w.entity_id == entity_id, w.id > after_id)
        )
        if filters.get("write_off_id"):
            stmt = stmt.where(w.id == filters["write_off_id"])
        if filters.get("customer_id"):
            stmt = stmt.where(doc.customer_id == filters["customer_id"])
        if filters.get("invoice"):
            stmt = stmt.where(doc.number == filters["invoice"])
        if filters.get("date_from"):
            stmt = stmt.where(w.written_off_on >= filters["date_from"])
        if filters.get("date_to"):
            stmt = stmt.where(w.written_off_on <= filters["date_to"])
        return self.conn.execute(stmt.order_by(w.id).limit(limit)).all()
