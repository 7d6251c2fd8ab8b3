"""Exchange rates, cross-currency settlements, payment reversals and tolerances (issue #4).
Like every repository here it never commits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Row

from openbill.adapters.sql import tables as t
from openbill.adapters.sql import tables_fx as fx
from openbill.adapters.sql.repositories import _Repo

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
