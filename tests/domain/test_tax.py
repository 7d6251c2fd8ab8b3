"""Tax resolution: rules by jurisdiction, class and date; customer regimes; EN 16931 validity."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbill.domain.rejections import InvalidInput
from openbill.domain.tax import (
    CustomerRegime,
    TaxCategory,
    TaxRule,
    TaxTreatment,
    check_treatment,
    resolve_tax,
)

D = Decimal
S, Z, E = TaxCategory.STANDARD, TaxCategory.ZERO_RATED, TaxCategory.EXEMPT

# Germany's standard rate went from 19 % to 16 % for the second half of 2020, then back.
MEDICAL_NOTE = "Steuerfrei nach § 4 Nr. 14 UStG"
RULES = (
    TaxRule("DE", "standard", date(2007, 1, 1), S, D("19")),
    TaxRule("DE", "standard", date(2020, 7, 1), S, D("16")),
    TaxRule("DE", "standard", date(2021, 1, 1), S, D("19")),
    TaxRule("DE", "reduced", date(2007, 1, 1), S, D("7")),
    TaxRule("DE", "medical", date(2007, 1, 1), E, D(0), MEDICAL_NOTE, "VATEX-EU-132-1C"),
    TaxRule("FR", "standard", date(2014, 1, 1), S, D("20")),
    TaxRule("IE", "books", date(2010, 1, 1), Z, D(0)),
)


def domestic(tax_class: str, on: date, jurisdiction: str = "DE") -> TaxTreatment:
    return resolve_tax(tax_class, CustomerRegime.DOMESTIC, RULES, jurisdiction, on)


@pytest.mark.parametrize(
    ("on", "rate"),
    [
        (date(2020, 6, 30), "19"),
        (date(2020, 7, 1), "16"),  # a rule applies from its first day
        (date(2020, 12, 31), "16"),
        (date(2021, 1, 1), "19"),
        (date(2024, 5, 17), "19"),
    ],
)
def test_domestic_rule_in_force_on_the_date(on: date, rate: str) -> None:
    assert domestic("standard", on) == TaxTreatment(S, D(rate))


def test_domestic_rules_of_each_jurisdiction_and_class() -> None:
    on = date(2024, 1, 1)
    assert domestic("reduced", on) == TaxTreatment(S, D("7"))
    assert domestic("standard", on, "FR") == TaxTreatment(S, D("20"))
    assert domestic("standard", on, "fr") == TaxTreatment(S, D("20"))
    # An exempt supply keeps the legal note of its rule.
    assert domestic("medical", on) == TaxTreatment(E, D(0), MEDICAL_NOTE, "VATEX-EU-132-1C")
    # Zero rated carries no note at all (EN 16931 BR-Z-10).
    assert domestic("books", on, "IE") == TaxTreatment(Z, D(0))


@pytest.mark.parametrize(
    ("tax_class", "on", "jurisdiction"),
    [
        ("luxury", date(2024, 1, 1), "DE"),  # no such class
        ("standard", date(2006, 12, 31), "DE"),  # before the first rule
        ("reduced", date(2024, 1, 1), "FR"),  # class exists, but not in that country
        ("standard", date(2024, 1, 1), "AT"),
    ],
)
def test_missing_rule_is_refused(tax_class: str, on: date, jurisdiction: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        domestic(tax_class, on, jurisdiction)
    assert refused.value.field == "tax_class"
    assert tax_class in refused.value.reason


@pytest.mark.parametrize(
    ("regime", "expected"),
    [
        (
            CustomerRegime.REVERSE_CHARGE,
            TaxTreatment(TaxCategory.REVERSE_CHARGE, D(0), "Reverse charge", "VATEX-EU-AE"),
        ),
        (
            CustomerRegime.INTRA_COMMUNITY,
            TaxTreatment(
                TaxCategory.INTRA_COMMUNITY, D(0), "Intra-Community supply", "VATEX-EU-IC"
            ),
        ),
        (
            CustomerRegime.EXPORT,
            TaxTreatment(TaxCategory.EXPORT, D(0), "Export outside the EU", "VATEX-EU-G"),
        ),
    ],
)
@pytest.mark.parametrize("tax_class", ["standard", "reduced", "medical", "unknown"])
def test_customer_regimes_override_the_rules(
    regime: CustomerRegime, expected: TaxTreatment, tax_class: str
) -> None:
    assert resolve_tax(tax_class, regime, RULES, "DE", date(2024, 1, 1)) == expected
    # No rule is needed at all.
    assert resolve_tax(tax_class, regime, (), "DE", date(2024, 1, 1)) == expected


def test_exempt_customer_gets_the_generic_note_or_the_rules_own() -> None:
    on = date(2024, 1, 1)
    generic = TaxTreatment(E, D(0), "Exempt from VAT", "VATEX-EU-132")
    assert resolve_tax("standard", CustomerRegime.EXEMPT, RULES, "DE", on) == generic
    assert resolve_tax("unknown", CustomerRegime.EXEMPT, RULES, "DE", on) == generic
    assert resolve_tax("medical", CustomerRegime.EXEMPT, RULES, "DE", on) == TaxTreatment(
        E, D(0), MEDICAL_NOTE, "VATEX-EU-132-1C"
    )


def test_domestic_reverse_charge_rule_gets_the_standard_note() -> None:
    # Domestic reverse charge (e.g. German construction services, § 13b UStG).
    rule = TaxRule("DE", "construction", date(2004, 4, 1), TaxCategory.REVERSE_CHARGE, D(0))
    treatment = resolve_tax("construction", CustomerRegime.DOMESTIC, [rule], "DE", date(2024, 1, 1))
    assert treatment == TaxTreatment(
        TaxCategory.REVERSE_CHARGE, D(0), "Reverse charge", "VATEX-EU-AE"
    )


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        # Standard rated needs a rate above zero (BR-S-05).
        (TaxRule("DE", "x", date(2020, 1, 1), S, D(0)), "rate"),
        (TaxRule("DE", "x", date(2020, 1, 1), S, D("-19")), "rate"),
        (TaxRule("DE", "x", date(2020, 1, 1), S, D("190")), "rate"),
        (TaxRule("DE", "x", date(2020, 1, 1), S, D("19.00000000001")), "rate"),
        # Zero rated and exempt have rate 0 (BR-Z-05, BR-E-05).
        (TaxRule("DE", "x", date(2020, 1, 1), Z, D("5")), "rate"),
        (TaxRule("DE", "x", date(2020, 1, 1), E, D("5"), "note"), "rate"),
        # Zero rated and standard carry no note (BR-Z-10, BR-S-10).
        (TaxRule("DE", "x", date(2020, 1, 1), Z, D(0), "Zero rated"), "exemption_reason"),
        (TaxRule("DE", "x", date(2020, 1, 1), S, D(7), "", "VATEX-EU-132"), "exemption_reason"),
        # Exempt and outside scope need a note (BR-E-10, BR-O-10).
        (TaxRule("DE", "x", date(2020, 1, 1), E, D(0)), "exemption_reason"),
        (TaxRule("DE", "x", date(2020, 1, 1), TaxCategory.OUTSIDE_SCOPE, D(0)), "exemption_reason"),
    ],
)
def test_rules_that_would_give_an_invalid_en16931_invoice_are_refused(
    rule: TaxRule, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        resolve_tax("x", CustomerRegime.DOMESTIC, [rule], "DE", date(2024, 1, 1))
    assert refused.value.field == field
    assert "DE/x" in refused.value.record


def test_two_different_rules_from_the_same_day_are_refused() -> None:
    twin = TaxRule("DE", "standard", date(2021, 1, 1), S, D("20"))
    with pytest.raises(InvalidInput) as refused:
        resolve_tax("standard", CustomerRegime.DOMESTIC, [*RULES, twin], "DE", date(2022, 1, 1))
    assert refused.value.field == "tax_rule"
    # The same rule stored twice is harmless.
    same = TaxRule("DE", "standard", date(2021, 1, 1), S, D("19"))
    assert domestic("standard", date(2022, 1, 1)) == resolve_tax(
        "standard", CustomerRegime.DOMESTIC, [*RULES, same], "DE", date(2022, 1, 1)
    )


@given(
    regime=st.sampled_from(CustomerRegime),
    tax_class=st.sampled_from(["standard", "reduced", "medical"]),
    on=st.dates(min_value=date(2007, 1, 1), max_value=date(2040, 12, 31)),
)
def test_every_resolved_treatment_is_valid_en16931(
    regime: CustomerRegime, tax_class: str, on: date
) -> None:
    treatment = resolve_tax(tax_class, regime, RULES, "DE", on)
    assert check_treatment(treatment) == treatment
    if treatment.category is S:
        assert treatment.rate > 0
    else:
        assert treatment.rate == 0
    if treatment.category in (S, Z):
        assert not treatment.exemption_reason and not treatment.exemption_code
    else:
        assert treatment.exemption_reason and treatment.exemption_code
