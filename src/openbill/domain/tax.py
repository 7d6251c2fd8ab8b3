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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

__all__ = [
    "TaxCategory",
    "CustomerRegime",
    "TaxRule",
    "TaxTreatment",
    "resolve_tax",
]


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
    raise NotImplementedError
