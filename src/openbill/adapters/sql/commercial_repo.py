"""Contracts, purchase orders, deliveries and the links from deliveries to document lines.

Nothing here is cached, so there is no master-data revision to bump. Rows are read and written
on the unit of work's connection; the use case commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import exists, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Row

from openbill.adapters.sql import tables as t
from openbill.adapters.sql import tables_commercial as tc
from openbill.adapters.sql.raw import RawWriter
from openbill.adapters.sql.repositories import MasterDataView

__all__ = ["CommercialRepo"]

Values = Mapping[str, Any]


class CommercialRepo:
    def __init__(self, conn: Connection, raw: RawWriter, ref: MasterDataView) -> None:
        self.conn = conn
        self.raw = raw
        self.ref = ref

    def _insert(self, table: Any, values: Values) -> int:
        stmt = insert(table).returning(table.c.id)
        return int(self.conn.execute(stmt, dict(values)).scalar_one())

    def _all(self, stmt: Any) -> Sequence[Row[Any]]:
        return self.conn.execute(stmt).all()

    # contracts ---------------------------------------------------------------------------

    def add_contract(self, values: Values) -> int:
        return self._insert(tc.contracts, values)

    def contract(self, entity_id: int, number: str) -> Row[Any] | None:
        c = tc.contracts.c
        stmt = select(tc.contracts).where(c.entity_id == entity_id, c.number == number)
        return self.conn.execute(stmt).first()

    def contracts(self, entity_id: int, limit: int) -> Sequence[Row[Any]]:
        c, cu = tc.contracts.c, t.customers.c
        stmt = (
            select(tc.contracts, cu.code.label("customer_code"))
            .join(t.customers, cu.id == c.customer_id)
            .where(c.entity_id == entity_id)
            .order_by(c.number)
            .limit(limit)
        )
        return self._all(stmt)

    def contracts_by_id(self, ids: Sequence[int]) -> dict[int, Row[Any]]:
        if not ids:
            return {}
        rows = self._all(select(tc.contracts).where(tc.contracts.c.id.in_(sorted(set(ids)))))
        return {int(r.id): r for r in rows}

    def add_contract_price(self, values: Values) -> int:
        return self._insert(tc.contract_prices, values)

    def contract_prices(self, contract_ids: Sequence[int]) -> Sequence[Row[Any]]:
        p, cc = tc.contract_prices.c, t.charge_codes.c
        stmt = (
            select(tc.contract_prices, cc.code.label("charge_code"))
            .join(t.charge_codes, cc.id == p.charge_code_id)
            .where(p.contract_id.in_(sorted(set(contract_ids))))
            .order_by(p.contract_id, cc.code, p.effective_from)
        )
        return self._all(stmt)

    # purchase orders ---------------------------------------------------------------------

    def add_po(self, values: Values) -> int:
        return self._insert(tc.purchase_orders, values)

    def po(self, customer_id: int, number: str) -> Row[Any] | None:
        p = tc.purchase_orders.c
        stmt = select(tc.purchase_orders).where(p.customer_id == customer_id, p.number == number)
        return self.conn.execute(stmt).first()

    def add_po_line(self, values: Values) -> int:
        return self._insert(tc.po_lines, values)

    def po_line(self, po_id: int, line_no: int) -> Row[Any] | None:
        ln = tc.po_lines.c
        stmt = select(tc.po_lines).where(ln.po_id == po_id, ln.line_no == line_no)
        return self.conn.execute(stmt).first()

    def po_lines(self, entity_id: int, limit: int) -> Sequence[Row[Any]]:
        """Every purchase-order line with its order, customer, charge code and consumption."""
        p, ln, cu, cc = (
            tc.purchase_orders.c,
            tc.po_lines.c,
            t.customers.c,
            t.charge_codes.c,
        )
        stmt = (
            select(
                p.id.label("po_id"),
                p.number,
                p.valid_from,
                p.valid_to,
                p.currency,
                cu.code.label("customer_code"),
                ln.id.label("line_id"),
                ln.line_no,
                cc.code.label("charge_code"),
                ln.quantity,
                ln.unit_price,
                ln.amount_ceiling_minor,
            )
            .join(t.customers, cu.id == p.customer_id)
            .outerjoin(tc.po_lines, ln.po_id == p.id)
            .outerjoin(t.charge_codes, cc.id == ln.charge_code_id)
            .where(p.entity_id == entity_id)
            .order_by(p.number, ln.line_no)
            .limit(limit)
        )
        return self._all(stmt)

    def po_lines_by_id(self, ids: Sequence[int]) -> dict[int, Row[Any]]:
        if not ids:
            return {}
        p, ln = tc.purchase_orders.c, tc.po_lines.c
        stmt = (
            select(
                tc.po_lines,
                p.number.label("po_number"),
                p.valid_from,
                p.valid_to,
                p.currency,
            )
            .join(tc.purchase_orders, p.id == ln.po_id)
            .where(ln.id.in_(sorted(set(ids))))
        )
        return {int(r.id): r for r in self._all(stmt)}

    def po_consumption(self, po_line_ids: Sequence[int]) -> dict[int, tuple[Any, int]]:
        """(quantity, net minor units) billed on each purchase-order line so far, credits and
        corrections included. Quantities are exact decimals, summed here, not in SQL (SQLite
        stores them as text)."""
        out: dict[int, tuple[Any, int]] = {}
        if not po_line_ids:
            return out
        b = tc.delivery_billings.c
        stmt = select(b.po_line_id, b.quantity, b.net_minor).where(
            b.po_line_id.in_(sorted(set(po_line_ids)))
        )
        for line_id, qty, net in self.conn.execute(stmt):
            q0, n0 = out.get(int(line_id), (0, 0))
            out[int(line_id)] = (q0 + qty, n0 + int(net))
        return out

    # deliveries ---------------------------------------------------------------------------

    def deliveries_by_ref(self, entity_id: int, refs: Sequence[str]) -> dict[str, Row[Any]]:
        out: dict[str, Row[Any]] = {}
        d = tc.deliveries.c
        unique = sorted(set(refs))
        for i in range(0, len(unique), 500):
            chunk = unique[i : i + 500]
            stmt = select(tc.deliveries).where(d.entity_id == entity_id, d.ref.in_(chunk))
            out.update({r.ref: r for r in self._all(stmt)})
        return out

    def add_delivery(self, values: Values) -> int:
        return self._insert(tc.deliveries, values)

    def update_delivery(self, delivery_id: int, values: Values) -> None:
        self.conn.execute(
            update(tc.deliveries).where(tc.deliveries.c.id == delivery_id), dict(values)
        )

    def deliveries(
        self,
        entity_id: int,
        through: date | None,
        confirmed_only: bool,
        limit: int,
        unsettled_only: bool = False,
    ) -> Sequence[Row[Any]]:
        """Deliveries, oldest first. `unsettled_only` leaves out those a billing already
        follows at their current revision (billed, and not corrected since) and unconfirmed
        ones never billed: what is left is what a billing run has to look at, so the run's
        bound applies to the work to do, not to the history."""
        d, cu, cc, k = tc.deliveries.c, t.customers.c, t.charge_codes.c, tc.contracts.c
        ln, p = tc.po_lines.c, tc.purchase_orders.c
        stmt = (
            select(
                tc.deliveries,
                cu.code.label("customer_code"),
                cu.currency.label("customer_currency"),
                cc.code.label("charge_code"),
                k.number.label("contract_number"),
                p.number.label("po_number"),
                ln.line_no.label("po_line_no"),
            )
            .join(t.customers, cu.id == d.customer_id)
            .join(t.charge_codes, cc.id == d.charge_code_id)
            .outerjoin(tc.contracts, k.id == d.contract_id)
            .outerjoin(tc.po_lines, ln.id == d.po_line_id)
            .outerjoin(tc.purchase_orders, p.id == ln.po_id)
            .where(d.entity_id == entity_id)
        )
        if through is not None:
            stmt = stmt.where(d.delivered_on <= through)
        if confirmed_only:
            stmt = stmt.where(d.confirmed.is_(True))
        if unsettled_only:
            b = tc.delivery_billings.c
            billed_now = exists().where(b.delivery_id == d.id, b.revision == d.revision)
            billed_ever = exists().where(b.delivery_id == d.id)
            stmt = stmt.where(~billed_now, d.confirmed.is_(True) | billed_ever)
        return self._all(stmt.order_by(d.delivered_on, d.ref).limit(limit))

    # billings -----------------------------------------------------------------------------

    def billings(self, delivery_ids: Sequence[int]) -> Sequence[Row[Any]]:
        """The billings of deliveries, with the status, kind and number of their document."""
        b, doc = tc.delivery_billings.c, t.documents.c
        out: list[Row[Any]] = []
        unique = sorted(set(delivery_ids))
        for i in range(0, len(unique), 500):
            stmt = (
                select(
                    tc.delivery_billings,
                    doc.status.label("document_status"),
                    doc.kind.label("document_kind"),
                    doc.number.label("document_number"),
                )
                .join(t.documents, doc.id == b.document_id)
                .where(b.delivery_id.in_(unique[i : i + 500]))
                .order_by(b.id)
            )
            out.extend(self._all(stmt))
        return out

    def deliveries_by_id(self, ids: Sequence[int]) -> dict[int, Row[Any]]:
        if not ids:
            return {}
        d = tc.deliveries.c
        rows = self._all(select(tc.deliveries).where(d.id.in_(sorted(set(ids)))))
        return {int(r.id): r for r in rows}

    def contracts_of_customer(self, customer_id: int) -> Sequence[Row[Any]]:
        c = tc.contracts.c
        stmt = select(tc.contracts).where(c.customer_id == customer_id)
        return self._all(stmt.order_by(c.valid_from, c.id))

    def billings_of_document(self, document_id: int) -> Sequence[Row[Any]]:
        b = tc.delivery_billings.c
        stmt = select(tc.delivery_billings).where(b.document_id == document_id)
        return self._all(stmt.order_by(b.line_no))

    def add_billings(self, rows: Sequence[Values]) -> None:
        if rows:
            self.conn.execute(insert(tc.delivery_billings), [dict(r) for r in rows])

    def contract_billed_minor(self, contract_id: int) -> int:
        """Net minor units billed under a contract so far (credits and corrections included)."""
        b, d = tc.delivery_billings.c, tc.deliveries.c
        stmt = (
            select(func.coalesce(func.sum(b.net_minor), 0))
            .join(tc.deliveries, d.id == b.delivery_id)
            .where(d.contract_id == contract_id)
        )
        return int(self.conn.execute(stmt).scalar_one())

    # pages of the API: keyset pagination in the order records were made ------------------
    # Each reads the records after `after_id`, oldest first, at most `limit`; an empty filter
    # value means "any".

    def tax_rules_page(self, entity_id: int, after_id: int, limit: int) -> Sequence[Row[Any]]:
        r = t.tax_rules.c
        stmt = select(t.tax_rules).where(r.entity_id == entity_id, r.id > after_id)
        return self._all(stmt.order_by(r.id).limit(limit))

    def charge_codes_page(self, entity_id: int, after_id: int, limit: int) -> Sequence[Row[Any]]:
        c = t.charge_codes.c
        stmt = select(t.charge_codes).where(c.entity_id == entity_id, c.id > after_id)
        return self._all(stmt.order_by(c.id).limit(limit))

    def prices_page(
        self, entity_id: int, filters: Values, after_id: int, limit: int
    ) -> Sequence[Row[Any]]:
        """Prices with their charge code. Filters: charge_code, currency, id."""
        p, cc = t.prices.c, t.charge_codes.c
        stmt = (
            select(t.prices, cc.code.label("charge_code"))
            .join(t.charge_codes, cc.id == p.charge_code_id)
            .where(cc.entity_id == entity_id, p.id > after_id)
        )
        for key, column in (("charge_code", cc.code), ("currency", p.currency)):
            if filters.get(key):
                stmt = stmt.where(column == filters[key])
        if filters.get("id") is not None:
            stmt = stmt.where(p.id == filters["id"])
        return self._all(stmt.order_by(p.id).limit(limit))

    def contracts_page(
        self, entity_id: int, filters: Values, after_id: int, limit: int
    ) -> Sequence[Row[Any]]:
        """Contracts with their customer's code. Filters: customer_id, number, active_on (in
        force on that date)."""
        c, cu = tc.contracts.c, t.customers.c
        stmt = (
            select(tc.contracts, cu.code.label("customer_code"))
            .join(t.customers, cu.id == c.customer_id)
            .where(c.entity_id == entity_id, c.id > after_id)
        )
        for key, column in (("customer_id", c.customer_id), ("number", c.number)):
            if filters.get(key):
                stmt = stmt.where(column == filters[key])
        on = filters.get("active_on")
        if on:
            stmt = stmt.where(c.valid_from <= on, or_(c.valid_to.is_(None), c.valid_to >= on))
        return self._all(stmt.order_by(c.id).limit(limit))

    def purchase_orders_page(
        self, entity_id: int, filters: Values, after_id: int, limit: int
    ) -> Sequence[Row[Any]]:
        """Purchase orders with their customer's code and contract number. Filters:
        customer_id, number."""
        p, cu, k = tc.purchase_orders.c, t.customers.c, tc.contracts.c
        stmt = (
            select(
                tc.purchase_orders,
                cu.code.label("customer_code"),
                k.number.label("contract_number"),
            )
            .join(t.customers, cu.id == p.customer_id)
            .outerjoin(tc.contracts, k.id == p.contract_id)
            .where(p.entity_id == entity_id, p.id > after_id)
        )
        for key, column in (("customer_id", p.customer_id), ("number", p.number)):
            if filters.get(key):
                stmt = stmt.where(column == filters[key])
        return self._all(stmt.order_by(p.id).limit(limit))

    def po_lines_of(self, po_ids: Sequence[int]) -> Sequence[Row[Any]]:
        """The lines of purchase orders with their charge codes, by order and line number."""
        if not po_ids:
            return []
        ln, cc = tc.po_lines.c, t.charge_codes.c
        stmt = (
            select(tc.po_lines, cc.code.label("charge_code"))
            .join(t.charge_codes, cc.id == ln.charge_code_id)
            .where(ln.po_id.in_(sorted(set(po_ids))))
            .order_by(ln.po_id, ln.line_no)
        )
        return self._all(stmt)

    def deliveries_page(
        self, entity_id: int, filters: Values, after_id: int, limit: int
    ) -> Sequence[Row[Any]]:
        """Deliveries with the codes they refer to. Filters: customer_id, ref, date_from and
        date_to (delivery date, inclusive), confirmed (True or False), to_bill (what a
        billing run would look at: not billed at its current revision, and confirmed or
        billed before)."""
        d, cu, cc, k = tc.deliveries.c, t.customers.c, t.charge_codes.c, tc.contracts.c
        ln, p = tc.po_lines.c, tc.purchase_orders.c
        stmt = (
            select(
                tc.deliveries,
                cu.code.label("customer_code"),
                cu.currency.label("customer_currency"),
                cc.code.label("charge_code"),
                k.number.label("contract_number"),
                p.number.label("po_number"),
                ln.line_no.label("po_line_no"),
            )
            .join(t.customers, cu.id == d.customer_id)
            .join(t.charge_codes, cc.id == d.charge_code_id)
            .outerjoin(tc.contracts, k.id == d.contract_id)
            .outerjoin(tc.po_lines, ln.id == d.po_line_id)
            .outerjoin(tc.purchase_orders, p.id == ln.po_id)
            .where(d.entity_id == entity_id, d.id > after_id)
        )
        for key, column in (("customer_id", d.customer_id), ("ref", d.ref)):
            if filters.get(key):
                stmt = stmt.where(column == filters[key])
        if filters.get("date_from"):
            stmt = stmt.where(d.delivered_on >= filters["date_from"])
        if filters.get("date_to"):
            stmt = stmt.where(d.delivered_on <= filters["date_to"])
        if filters.get("confirmed") is not None:
            stmt = stmt.where(d.confirmed.is_(bool(filters["confirmed"])))
        if filters.get("to_bill"):
            b = tc.delivery_billings.c
            billed_now = exists().where(b.delivery_id == d.id, b.revision == d.revision)
            billed_ever = exists().where(b.delivery_id == d.id)
            stmt = stmt.where(~billed_now, d.confirmed.is_(True) | billed_ever)
        return self._all(stmt.order_by(d.id).limit(limit))
