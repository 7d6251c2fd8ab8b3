"""The bound on deliveries per billing run applies to the work left, not to the history: with
more unbilled deliveries than the bound, each run bills the oldest ones still due."""

from __future__ import annotations

from datetime import date

from fixtures_book import ENTITY

from openbill.domain.commercial import DELIVERY_FIELDS
from openbill.usecases import commercial as com

HEADER = ",".join(DELIVERY_FIELDS[:-1]) + "\n"


def test_successive_runs_get_past_the_bound(book, monkeypatch):
    monkeypatch.setattr(com, "PREPARE_DELIVERIES_MAX", 2)
    com.create_contract(
        book.uow(),
        com.CreateContract(ENTITY, "K1", "C1", date(2026, 1, 1), grouping="per_delivery"),
    )
    body = "".join(f"D-{i},shipment,C1,K1,,,WIDGET,2026-01-0{i},,1,,,,,\n" for i in range(1, 6))
    com.import_deliveries(book.uow(), com.ImportDeliveries(ENTITY, HEADER + body, "d.csv"))
    billed = []
    for _ in range(3):
        result = com.prepare_billing(
            book.uow(), com.PrepareBilling(ENTITY, date(2026, 1, 31), date(2026, 1, 31))
        )
        billed.append([d.deliveries for d in result.documents if d.kind == "draft"])
    # Two per run, oldest first, until all five are billed.
    assert billed == [[("D-1",), ("D-2",)], [("D-3",), ("D-4",)], [("D-5",)]]
