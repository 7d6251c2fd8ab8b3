"""Tax categories, rates per jurisdiction and the tax treatment of a line.

CONTRACT (used by usecases; keep the names and signatures):

- TaxCategory: the EN 16931 VAT category codes (UNCL5305 subset).
- TaxRule: in a jurisdiction, from a date, a tax class (e.g. "standard", "reduced",
  "medical") maps to a category, a rate in percent and, for non-standard categories, the legal
  note printed on the document (exemption reason text and VATEX code).
- CustomerRegime: how a customer is taxed: domestic (the rules apply), reverse_charge,
  intra_community, export, exempt.
- TaxTreatment: what one line gets: category, rate, exemption reason and code.
- resolve_tax(tax_class, regime, rules, jurisdiction, on) -> TaxTreatment

What a treatment must look like to give a valid EN 16931 invoice (rules of the CEN validation
artefacts, EN16931-UBL-validation.xslt): standard rated (S) has a rate above zero (BR-S-05);
every other category has rate 0 (BR-Z-05, BR-E-05, BR-AE-05, BR-IC-05, BR-G-05; O carries no rate
at all, BR-O-05, which a rate of 0 stands for here); exempt (E), reverse charge (AE),
intra-community supply (K), export (G) and not subject to VAT (O) carry an exemption reason text
or a VATEX code (BR-E-10, BR-AE-10, BR-IC-10, BR-G-10, BR-O-10); zero rated (Z) carries neither
(BR-Z-10). `check_treatment` enforces this; `resolve_tax` only returns treatments that pass it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from openbill.domain.money import UNIT_PRICE_PLACES, to_decimal
from openbill.domain.rejections import InvalidAmount, InvalidInput

__all__ = [
    "TaxCategory",
    "CustomerRegime",
    "TaxRule",
    "TaxTreatment",
    "resolve_tax",
    "check_treatment",
    "check_rate",
    "RATE_MAX",
]

# No VAT or sales tax rate in the world comes near this; a larger rate is a typing mistake.
RATE_MAX = Decimal(100)


class TaxCategory(StrEnum):
    STANDARD = "S"
    ZERO_RATED = "Z"
    EXEMPT = "E"
    REVERSE_CHARGE = "AE"
    INTRA_COMMUNITY = "K"
    EXPORT = "G"
    OUTSIDE_SCOPE = "O"


class CustomerRegime(StrEnum):
    DOMESTIC = "domestic"
    REVERSE_CHARGE = "reverse_charge"
    INTRA_COMMUNITY = "intra_community"
    EXPORT = "export"
    EXEMPT = "exempt"


@dataclass(frozen=True, slots=True)
class TaxRule:
    jurisdiction: str  # ISO 3166-1 alpha-2 country code, e.g. "DE"
    tax_class: str
    valid_from: date
    category: TaxCategory
    rate: Decimal  # percent, e.g. Decimal("19")
    exemption_reason: str = ""
    exemption_code: str = ""


@dataclass(frozen=True, slots=True)
class TaxTreatment:
    category: TaxCategory
    rate: Decimal
    exemption_reason: str = ""
    exemption_code: str = ""


def resolve_tax(
    tax_class: str,
    regime: CustomerRegime,
    rules: Sequence[TaxRule],
    jurisdiction: str,
    on: date,
) -> TaxTreatment:
    """The tax treatment of a line of `tax_class`, sold on `on` to a customer of `regime`.

    Domestic customers get the rule of `jurisdiction` and `tax_class` with the latest
    `valid_from` on or before `on`. Reverse charge, intra-community and export customers get the
    0 % category of their regime with its standard legal note, whatever the rule says.
    Customer-level exemption gives category E at 0 %, with the note of the rule when the rule
    itself is an exemption with its own note, and the generic Article 132 note otherwise. A
    rule of category O (outside the scope of VAT) applies to every customer alike.
    """
    outside = _rule_in_force(tax_class, rules, jurisdiction, on)
    if outside is not None and outside.category == TaxCategory.OUTSIDE_SCOPE:
        # Outside the scope of VAT (late-payment interest, recovery fees, damages) for every
        # customer: there is no supply whose tax could move to the buyer.
        return _treatment_of(outside)
    if regime is CustomerRegime.DOMESTIC:
        rule = _rule_in_force(tax_class, rules, jurisdiction, on)
        if rule is None:
            raise InvalidInput(
                f"no tax rule for class {tax_class!r} in {jurisdiction} is in force on "
                f"{on.isoformat()}",
                field="tax_class",
            )
        return _treatment_of(rule)
    if regime is CustomerRegime.EXEMPT:
        rule = _rule_in_force(tax_class, rules, jurisdiction, on)
        if (
            rule is not None
            and rule.category == TaxCategory.EXEMPT
            and (rule.exemption_reason or rule.exemption_code)
        ):
            return _treatment_of(rule)
        return _CUSTOMER_EXEMPT
    try:
        return _REGIME_TREATMENT[regime]
    except KeyError:
        raise InvalidInput(f"unknown customer tax regime {regime!r}", field="regime") from None


# The standard legal notes of the regimes that move the tax away from the seller. The VATEX
# codes are those of the CEF VAT exemption reason code list used by EN 16931 (BT-121).
_REGIME_TREATMENT: dict[CustomerRegime, TaxTreatment] = {
    CustomerRegime.REVERSE_CHARGE: TaxTreatment(
        TaxCategory.REVERSE_CHARGE, Decimal(0), "Reverse charge", "VATEX-EU-AE"
    ),
    CustomerRegime.INTRA_COMMUNITY: TaxTreatment(
        TaxCategory.INTRA_COMMUNITY, Decimal(0), "Intra-Community supply", "VATEX-EU-IC"
    ),
    CustomerRegime.EXPORT: TaxTreatment(
        TaxCategory.EXPORT, Decimal(0), "Export outside the EU", "VATEX-EU-G"
    ),
}
_CUSTOMER_EXEMPT = TaxTreatment(TaxCategory.EXEMPT, Decimal(0), "Exempt from VAT", "VATEX-EU-132")
# Categories whose note is standard text, so a rule may leave it out and get this one.
_STANDARD_NOTES = {
    TaxCategory.REVERSE_CHARGE: _REGIME_TREATMENT[CustomerRegime.REVERSE_CHARGE],
    TaxCategory.INTRA_COMMUNITY: _REGIME_TREATMENT[CustomerRegime.INTRA_COMMUNITY],
    TaxCategory.EXPORT: _REGIME_TREATMENT[CustomerRegime.EXPORT],
}
_NEEDS_NOTE = (
    TaxCategory.EXEMPT,
    TaxCategory.REVERSE_CHARGE,
    TaxCategory.INTRA_COMMUNITY,
    TaxCategory.EXPORT,
    TaxCategory.OUTSIDE_SCOPE,
)


def _rule_in_force(
    tax_class: str, rules: Sequence[TaxRule], jurisdiction: str, on: date
) -> TaxRule | None:
    country = jurisdiction.strip().upper()
    candidates = [
        r
        for r in rules
        if r.tax_class == tax_class and r.jurisdiction.upper() == country and r.valid_from <= on
    ]
    if not candidates:
        return None
    latest = max(r.valid_from for r in candidates)
    chosen = [r for r in candidates if r.valid_from == latest]
    if len(chosen) > 1 and len({_treatment_key(r) for r in chosen}) > 1:
        raise InvalidInput(
            f"{len(chosen)} different tax rules for class {tax_class!r} in {country} take "
            f"effect on {latest.isoformat()}; keep only one",
            field="tax_rule",
        )
    return chosen[0]


def _treatment_key(rule: TaxRule) -> tuple[str, Decimal, str, str]:
    return (rule.category, rule.rate, rule.exemption_reason, rule.exemption_code)


def _treatment_of(rule: TaxRule) -> TaxTreatment:
    """The treatment a rule gives, its note kept; refused if it would break EN 16931."""
    record = f"tax rule {rule.jurisdiction}/{rule.tax_class} from {rule.valid_from.isoformat()}"
    reason, code = rule.exemption_reason, rule.exemption_code
    standard = _STANDARD_NOTES.get(rule.category)
    if standard is not None and not (reason or code):
        reason, code = standard.exemption_reason, standard.exemption_code
    treatment = TaxTreatment(rule.category, rule.rate, reason, code)
    try:
        return check_treatment(treatment)
    except InvalidInput as error:
        raise InvalidInput(error.reason, record=record, field=error.field) from None


def check_treatment(treatment: TaxTreatment, *, notes: bool = True) -> TaxTreatment:
    """Return `treatment` if it gives a valid EN 16931 VAT breakdown, else raise InvalidInput.

    With `notes=False` only the category and the rate are checked, not the legal notes.

    >>> check_treatment(TaxTreatment(TaxCategory.STANDARD, Decimal(0)))
    Traceback (most recent call last):
    ...
    openbill.domain.rejections.InvalidInput: field rate: standard rated (S) needs a rate above \
0 % (EN 16931 BR-S-05)
    """
    category = treatment.category
    if not isinstance(category, TaxCategory):
        raise InvalidInput(f"{category!r} is not a VAT category code", field="category")
    rate = check_rate(treatment.rate)
    if category is TaxCategory.STANDARD and rate <= 0:
        raise InvalidInput(
            "standard rated (S) needs a rate above 0 % (EN 16931 BR-S-05)", field="rate"
        )
    if category is not TaxCategory.STANDARD and rate != 0:
        raise InvalidInput(
            f"category {category.value} has rate 0 %, not {rate} % "
            f"(EN 16931 BR-{_RULE_PREFIX[category]}-05)",
            field="rate",
        )
    if not notes:
        return treatment
    has_note = bool(treatment.exemption_reason or treatment.exemption_code)
    if category in _NEEDS_NOTE and not has_note:
        raise InvalidInput(
            f"category {category.value} needs the legal note printed on the invoice: an "
            f"exemption reason or a VATEX code (EN 16931 BR-{_RULE_PREFIX[category]}-10)",
            field="exemption_reason",
        )
    if category in (TaxCategory.STANDARD, TaxCategory.ZERO_RATED) and has_note:
        raise InvalidInput(
            f"category {category.value} must not carry an exemption reason or code "
            f"(EN 16931 BR-{_RULE_PREFIX[category]}-10)",
            field="exemption_reason",
        )
    return treatment


_RULE_PREFIX = {
    TaxCategory.STANDARD: "S",
    TaxCategory.ZERO_RATED: "Z",
    TaxCategory.EXEMPT: "E",
    TaxCategory.REVERSE_CHARGE: "AE",
    TaxCategory.INTRA_COMMUNITY: "IC",
    TaxCategory.EXPORT: "G",
    TaxCategory.OUTSIDE_SCOPE: "O",
}


def check_rate(value: object) -> Decimal:
    """A tax rate in percent: a Decimal from 0 to 100 with at most 10 decimal places."""
    try:
        rate = to_decimal(value, field="rate")
    except InvalidAmount as error:
        raise InvalidInput(error.reason, field="rate") from None
    if not 0 <= rate <= RATE_MAX:
        raise InvalidInput(f"a tax rate is between 0 and {RATE_MAX} %, got {rate}", field="rate")
    if rate != rate.quantize(Decimal(1).scaleb(-UNIT_PRICE_PLACES)):
        raise InvalidInput(
            f"a tax rate has at most {UNIT_PRICE_PLACES} decimal places, got {rate}", field="rate"
        )
    return rate
