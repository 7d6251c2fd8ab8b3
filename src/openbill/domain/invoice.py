"""Invoice arithmetic (EN 16931), payment terms, and the derived status of a document.

CONTRACT (used by usecases; keep the names and signatures):

- compute_totals(lines, currency, rounding, prices_include_tax=False) -> DocumentTotals
- PaymentTerms.parse("net30" | "eom+15" | "due_on_receipt"), due_date(issue_date, terms)
- document_status(...) -> DocumentStatus
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from openbill.domain.money import Rounding
from openbill.domain.tax import TaxCategory, TaxTreatment

__all__ = [
    "DocumentKind",
    "DocumentStatus",
    "LineInput",
    "LineTotal",
    "TaxSubtotal",
    "DocumentTotals",
    "compute_totals",
    "PaymentTerms",
    "due_date",
    "document_status",
]


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class DocumentStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"  # open, nothing paid, not yet due
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERDUE = "overdue"
    VOID = "void"  # fully credited by credit notes
    APPLIED = "applied"  # a credit note whose whole amount has been used


@dataclass(frozen=True, slots=True)
class LineInput:
    amount: Decimal  # exact priced amount, unrounded; gross of tax when prices include tax
    tax: TaxTreatment


@dataclass(frozen=True, slots=True)
class LineTotal:
    net_minor: int
    category: TaxCategory
    rate: Decimal


@dataclass(frozen=True, slots=True)
class TaxSubtotal:
    category: TaxCategory
    rate: Decimal
    taxable_minor: int
    tax_minor: int
    exemption_reason: str = ""
    exemption_code: str = ""


@dataclass(frozen=True, slots=True)
class DocumentTotals:
    lines: tuple[LineTotal, ...]
    subtotals: tuple[TaxSubtotal, ...]
    net_minor: int
    tax_minor: int
    total_minor: int


def compute_totals(
    lines: Sequence[LineInput],
    currency: str,
    rounding: Rounding,
    prices_include_tax: bool = False,
) -> DocumentTotals:
    raise NotImplementedError


@dataclass(frozen=True, slots=True)
class PaymentTerms:
    end_of_month: bool
    days: int

    @classmethod
    def parse(cls, text: str) -> PaymentTerms:
        raise NotImplementedError

    def __str__(self) -> str:
        raise NotImplementedError


def due_date(issue_date: date, terms: PaymentTerms) -> date:
    raise NotImplementedError


def document_status(
    kind: DocumentKind,
    issued: bool,
    total_minor: int,
    open_minor: int,
    credited_minor: int,
    due: date | None,
    as_of: date,
) -> DocumentStatus:
    raise NotImplementedError
