"""Late-payment interest and recovery fees are outside the scope of VAT for every customer:
a rule of category O is not replaced by the regime's reverse charge or export treatment."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from openbill.domain.tax import CustomerRegime, TaxCategory, TaxRule, resolve_tax

RULES = (
    TaxRule("DE", "standard", date(2020, 1, 1), TaxCategory.STANDARD, Decimal("19")),
    TaxRule(
        "DE",
        "outside",
        date(2020, 1, 1),
        TaxCategory.OUTSIDE_SCOPE,
        Decimal("0"),
        "Not subject to VAT: late-payment compensation",
    ),
)


def test_outside_scope_rule_applies_to_every_regime():
    for regime in CustomerRegime:
        treatment = resolve_tax("outside", regime, RULES, "DE", date(2026, 3, 1))
        assert (treatment.category, treatment.rate) == (TaxCategory.OUTSIDE_SCOPE, Decimal(0))


def test_a_standard_line_to_a_reverse_charge_customer_is_still_reverse_charge():
    # The near miss: only category O bypasses the regime.
    treatment = resolve_tax(
        "standard", CustomerRegime.REVERSE_CHARGE, RULES, "DE", date(2026, 3, 1)
    )
    assert treatment.category == TaxCategory.REVERSE_CHARGE
