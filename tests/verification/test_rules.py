"""Each verification rule with a case that fires and a near miss that must not.

Amounts are minor units of EUR; the expected figures in messages are worked out by hand.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbill.domain.verification import (
    ContractFacts,
    CustomerFacts,
    DraftFacts,
    LineFacts,
    PastDocument,
    PurchaseOrderFacts,
    Settings,
    Severity,
    robust_outlier,
    verify_draft,
)

CUSTOMER = CustomerFacts(
    "ACME", "Acme AG", "Hauptstr. 1, 10115 Berlin", "DE", "DE136695976", "ap@acme.test", "domestic"
)
LINE = LineFacts(1, "WIDGET", D("10"), D("12.50"), 12500)
DRAFT = DraftFacts(
    "draft 7", date(2026, 11, 20), "EUR", 14875, "PO-1", CUSTOMER, (LINE,), "domestic"
)


def rules(facts: DraftFacts, settings: Settings = Settings()) -> list[str]:
    return [f.rule for f in verify_draft(facts, settings)]


def test_a_clean_draft_has_no_findings() -> None:
    assert verify_draft(DRAFT) == ()


def test_price_differs_from_contract() -> None:
    off = replace(DRAFT, lines=(replace(LINE, contract_price=D("12.00")),))
    [finding] = verify_draft(off)
    assert (finding.rule, finding.severity, finding.field) == (
        "price_differs_from_contract",
        Severity.BLOCK,
        "unit_price",
    )
    assert "12.50" in finding.message and "12.00" in finding.message
    # Near miss: the same price written with more places, or within the tolerance.
    same = replace(DRAFT, lines=(replace(LINE, contract_price=D("12.5000")),))
    assert rules(same) == []
    close = replace(DRAFT, lines=(replace(LINE, contract_price=D("12.49")),))
    assert rules(close, Settings(price_tolerance=D("0.01"))) == []


def test_quantity_exceeds_accepted_or_delivered() -> None:
    over = replace(DRAFT, lines=(replace(LINE, delivered=D("12"), accepted=D("9")),))
    [finding] = verify_draft(over)
    assert finding.rule == "quantity_exceeds_delivery"
    assert "only 9 were accepted" in finding.message
    exact = replace(DRAFT, lines=(replace(LINE, delivered=D("10")),))
    assert rules(exact) == []


def test_purchase_order_missing_expired_and_over_ceiling() -> None:
    contract = ContractFacts("K-1", "EUR", po_required=True)
    assert rules(replace(DRAFT, contract=contract)) == ["po_missing"]
    po = PurchaseOrderFacts("4500001", date(2026, 1, 1), date(2026, 10, 31), 100_000)
    expired = replace(DRAFT, contract=contract, lines=(replace(LINE, po=po),))
    assert rules(expired) == ["po_expired"]
    # 125.00 net against 100.00 left under the ceiling.
    tight = replace(po, valid_to=date(2026, 12, 31), remaining_minor=10_000)
    over = replace(DRAFT, contract=contract, lines=(replace(LINE, po=tight),))
    [finding] = verify_draft(over)
    assert finding.rule == "po_over_ceiling"
    assert "100.00 EUR left" in finding.message and "uses 125.00" in finding.message
    # Near miss: exactly what is left.
    enough = replace(tight, remaining_minor=12_500)
    assert rules(replace(DRAFT, contract=contract, lines=(replace(LINE, po=enough),))) == []


def test_currency_and_tax_treatment_differ_from_contract() -> None:
    contract = ContractFacts("K-1", "USD", po_required=False, tax_regime="reverse_charge")
    assert rules(replace(DRAFT, contract=contract)) == [
        "currency_differs_from_contract",
        "tax_differs_from_contract",
    ]
    agreed = ContractFacts("K-1", "EUR", po_required=False, tax_regime="domestic")
    assert rules(replace(DRAFT, contract=agreed)) == []


def test_master_data_incomplete() -> None:
    bare = replace(CUSTOMER, address=" ", email="", vat_id="", needs_vat_id=True)
    found = verify_draft(replace(DRAFT, customer=bare))
    assert [(f.field, f.severity) for f in found] == [
        ("address", Severity.WARN),
        ("vat_id", Severity.BLOCK),
        ("email", Severity.WARN),
    ]
    # A consumer without a VAT number is fine.
    assert rules(replace(DRAFT, customer=replace(CUSTOMER, vat_id=""))) == []


def test_possible_duplicate_within_the_window() -> None:
    twin = PastDocument("INV-2026-000031", date(2026, 11, 1), 14875, "po-1 ")
    [finding] = verify_draft(replace(DRAFT, history=(twin,)))
    assert finding.rule == "possible_duplicate"
    assert "INV-2026-000031" in finding.message and "148.75 EUR" in finding.message
    # Near misses: 31 days earlier, one cent different, another reference.
    assert rules(replace(DRAFT, history=(replace(twin, document_date=date(2026, 10, 20)),))) == []
    assert rules(replace(DRAFT, history=(replace(twin, total_minor=14876),))) == []
    assert rules(replace(DRAFT, history=(replace(twin, reference="PO-2"),))) == []
    # Without a reference on either, equal amounts only warn.
    blank = replace(DRAFT, reference="", history=(replace(twin, reference=""),))
    assert [(f.rule, f.severity) for f in verify_draft(blank)] == [
        ("possible_duplicate", Severity.WARN)
    ]


def _history(*totals: int) -> tuple[PastDocument, ...]:
    return tuple(
        PastDocument(f"INV-{i}", date(2026, 1 + i % 10, 1), t, f"R{i}")
        for i, t in enumerate(totals)
    )


def test_unusual_amount_is_explained_in_words() -> None:
    # History 300, 310, 320, 290, 305, 315 (EUR, as minor units x100): median 307.50;
    # deviations 7.5, 2.5, 12.5, 17.5, 2.5, 7.5 -> MAD 7.50.
    history = _history(30000, 31000, 32000, 29000, 30500, 31500)
    big = replace(DRAFT, total_minor=245000, history=history)
    [finding] = verify_draft(big)
    assert (finding.rule, finding.severity) == ("unusual_amount", Severity.WARN)
    # (2450.00 - 307.50) / 7.50 = 285.67 spreads -> "about 286".
    assert "median of 307.50 EUR (typical spread 7.50 EUR)" in finding.message
    assert "about 286 typical spreads away" in finding.message
    assert "far above" in finding.message
    # Near miss: 330.00 is z = 0.6745 * 22.50 / 7.50 = 2.02, under 3.5.
    assert rules(replace(DRAFT, total_minor=33000, history=history)) == []
    # Too little history says nothing.
    assert rules(replace(DRAFT, total_minor=245000, history=history[:5])) == []


def test_approval_above_the_threshold() -> None:
    assert rules(DRAFT, Settings(approval_threshold_minor=14874)) == ["approval_required"]
    assert rules(DRAFT, Settings(approval_threshold_minor=14875)) == []


@given(
    st.lists(st.integers(-(10**9), 10**9), min_size=1, max_size=30), st.integers(-(10**9), 10**9)
)
def test_robust_outlier_is_consistent(history: list[int], value: int) -> None:
    found = robust_outlier(value, history, D("3.5"))
    ordered = sorted(history)
    if found is not None:
        median, mad, z = found
        assert ordered[0] <= median <= ordered[-1]
        assert mad >= 0
        assert abs(z) > D("3.5")
    # A value equal to the median is never an outlier.
    mid = sorted(history)[len(history) // 2]
    if len(history) % 2 == 1:
        assert robust_outlier(mid, history, D("3.5")) is None


@pytest.mark.parametrize("history", [[5, 5, 5, 5, 5, 5]])
def test_constant_history_flags_any_other_amount(history: list[int]) -> None:
    assert robust_outlier(5, history, D("3.5")) is None
    assert robust_outlier(6, history, D("3.5")) is not None
