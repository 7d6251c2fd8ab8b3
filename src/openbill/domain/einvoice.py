"""The semantic model of an EN 16931 invoice or credit note, independent of its syntax.

EN 16931-1:2017 defines business terms (BT-n) grouped in business groups (BG-n); the UBL 2.1
(Peppol BIS Billing 3.0) and UN/CEFACT CII D16B syntaxes are two ways of writing the same
terms. This module holds the terms openbill writes and reads, as frozen dataclasses with tuple
fields, each field named with its BT or BG number. It knows nothing of XML: the writers and
readers live in `openbill.adapters.documents`.

Amounts are `Decimal` (never float) in the document currency, with the decimals written in the
file: a read keeps "12.50" as Decimal("12.50") so that writing it again gives the same text.
`computed_totals` recomputes the document totals from the lines, allowances, charges and VAT
breakdown the way the standard does (BR-CO-10 to BR-CO-16), so a reader or a test can compare
them with the totals the file declares.

Standard: EN 16931-1:2017+A1:2019, https://ec.europa.eu/digital-building-blocks/sites/display/DIGITAL/Obtaining+a+copy+of+the+European+standard+on+eInvoicing
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

__all__ = [
    "INVOICE",
    "CREDIT_NOTE",
    "CREDIT_NOTE_TYPE_CODES",
    "NO_RATE_CATEGORIES",
    "Address",
    "Party",
    "PaymentMeans",
    "InvoiceLine",
    "AllowanceCharge",
    "VatBreakdown",
    "MonetaryTotals",
    "EInvoice",
    "ComputedTotals",
    "computed_totals",
    "total_mismatches",
    "plain",
    "split_address",
]

# BT-3 invoice type codes (UNTDID 1001): the commercial invoice and the credit note openbill
# issues; a read keeps whatever code the file has.
INVOICE = "380"
CREDIT_NOTE = "381"
# Codes that UBL writes as a CreditNote document rather than an Invoice.
CREDIT_NOTE_TYPE_CODES = frozenset({"81", "83", "381", "396", "532"})
# The VAT categories that carry no rate at all (BR-O-05): "not subject to VAT".
NO_RATE_CATEGORIES = frozenset({"O"})


def plain(value: Decimal) -> str:
    """A decimal as XML wants it: no exponent, no trailing zeros after the point.

    >>> plain(Decimal("2.0000000000")), plain(Decimal("100")), plain(Decimal("0.50"))
    ('2', '100', '0.5')
    """
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True, slots=True)
class Address:
    """BG-5 seller postal address / BG-8 buyer postal address."""

    country: str  # BT-40 / BT-55, ISO 3166-1 alpha-2
    line: str = ""  # BT-35 / BT-50
    city: str = ""  # BT-37 / BT-52
    postcode: str = ""  # BT-38 / BT-53


# "70173 Stuttgart", "SW1A 1AA London" is not recognised (the city then keeps the postcode).
_POSTCODE_CITY = re.compile(r"(?P<postcode>[A-Z]{0,2}-?\d[\dA-Z-]*)\s+(?P<city>\S.*)")


def split_address(text: str, country: str) -> Address:
    """An Address from one line of text written as "street, postcode city[, country]".

    openbill keeps a party's address as one text; EN 16931 wants the street (BT-35), the city
    (BT-37) and the postcode (BT-38) apart. Text of another shape stays whole in the street.

    >>> split_address("Königstraße 1, 70173 Stuttgart, Germany", "DE")
    Address(country='DE', line='Königstraße 1', city='Stuttgart', postcode='70173')
    >>> split_address("Paris", "FR")
    Address(country='FR', line='Paris', city='', postcode='')
    """
    parts = [p.strip() for p in re.split(r"[,\n]", text) if p.strip()]
    for index in range(len(parts) - 1, 0, -1):
        match = _POSTCODE_CITY.fullmatch(parts[index])
        if match:
            line = ", ".join(parts[:index])
            return Address(country, line, match["city"], match["postcode"])
    return Address(country, ", ".join(parts))


@dataclass(frozen=True, slots=True)
class Party:
    """BG-4 seller / BG-7 buyer."""

    name: str  # BT-27 / BT-44
    address: Address  # BG-5 / BG-8
    vat_id: str = ""  # BT-31 / BT-48, with its country prefix
    tax_number: str = ""  # BT-32 seller tax registration identifier (scheme FC)
    legal_id: str = ""  # BT-30 / BT-47 legal registration identifier
    electronic_address: str = ""  # BT-34 / BT-49
    electronic_address_scheme: str = ""  # BT-34-1 / BT-49-1 (EAS code, "EM" for e-mail)


@dataclass(frozen=True, slots=True)
class PaymentMeans:
    """BG-16 payment instructions."""

    type_code: str = "58"  # BT-81 (UNTDID 4461: 58 SEPA credit transfer, 30 credit transfer)
    iban: str = ""  # BT-84 payment account identifier
    remittance: str = ""  # BT-83 remittance information


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """BG-25 invoice line."""

    id: str  # BT-126
    quantity: Decimal  # BT-129
    unit_code: str  # BT-130 (UN/ECE recommendation 20, e.g. C62, HUR)
    net_amount: Decimal  # BT-131
    item_name: str  # BT-153
    net_price: Decimal  # BT-146
    tax_category: str  # BT-151 (UNTDID 5305: S, Z, E, AE, K, G, O)
    tax_rate: Decimal | None  # BT-152, percent; None for category O
    base_quantity: Decimal | None = None  # BT-149


@dataclass(frozen=True, slots=True)
class AllowanceCharge:
    """BG-20 document level allowance (is_charge False) / BG-21 document level charge."""

    is_charge: bool
    amount: Decimal  # BT-92 / BT-99
    tax_category: str  # BT-95 / BT-102
    tax_rate: Decimal | None  # BT-96 / BT-103
    reason: str = ""  # BT-97 / BT-104
    reason_code: str = ""  # BT-98 / BT-105
    base_amount: Decimal | None = None  # BT-93 / BT-100
    percentage: Decimal | None = None  # BT-94 / BT-101


@dataclass(frozen=True, slots=True)
class VatBreakdown:
    """BG-23 VAT breakdown: one per VAT category and rate."""

    category: str  # BT-118
    rate: Decimal | None  # BT-119; None for category O
    taxable_amount: Decimal  # BT-116
    tax_amount: Decimal  # BT-117
    exemption_reason: str = ""  # BT-120
    exemption_code: str = ""  # BT-121 (VATEX code list)


@dataclass(frozen=True, slots=True)
class MonetaryTotals:
    """BG-22 document totals."""

    line_total: Decimal | None  # BT-106 sum of line net amounts (absent in Factur-X MINIMUM)
    tax_exclusive: Decimal  # BT-109 total without VAT
    tax_inclusive: Decimal  # BT-112 total with VAT
    payable: Decimal  # BT-115 amount due for payment
    allowance_total: Decimal | None = None  # BT-107
    charge_total: Decimal | None = None  # BT-108
    prepaid: Decimal | None = None  # BT-113
    rounding: Decimal | None = None  # BT-114


@dataclass(frozen=True, slots=True)
class EInvoice:
    """One EN 16931 invoice or credit note."""

    type_code: str  # BT-3 (380 invoice, 381 credit note)
    number: str  # BT-1
    issue_date: date  # BT-2
    currency: str  # BT-5
    seller: Party  # BG-4
    buyer: Party  # BG-7
    vat_breakdown: tuple[VatBreakdown, ...]  # BG-23
    totals: MonetaryTotals  # BG-22
    tax_total: Decimal  # BT-110 invoice total VAT amount
    lines: tuple[InvoiceLine, ...] = ()  # BG-25 (absent in Factur-X MINIMUM and BASIC WL)
    allowances_charges: tuple[AllowanceCharge, ...] = ()  # BG-20 and BG-21
    due_date: date | None = None  # BT-9
    buyer_reference: str = ""  # BT-10
    order_reference: str = ""  # BT-13
    preceding_invoice: str = ""  # BT-25
    preceding_invoice_date: date | None = None  # BT-26
    notes: tuple[str, ...] = ()  # BT-22
    payment_means: PaymentMeans | None = None  # BG-16
    payment_terms: str = ""  # BT-20
    delivery_date: date | None = None  # BT-72 actual delivery date
    delivery_country: str = ""  # BT-80 deliver to country code
    tax_currency: str = ""  # BT-6 VAT accounting currency
    tax_total_tax_currency: Decimal | None = None  # BT-111, in the VAT accounting currency

    @property
    def is_credit_note(self) -> bool:
        return self.type_code in CREDIT_NOTE_TYPE_CODES


@dataclass(frozen=True, slots=True)
class ComputedTotals:
    """The totals the standard derives from the rest of the document."""

    line_total: Decimal | None  # BR-CO-10; None when the document has no lines
    allowance_total: Decimal  # BR-CO-11
    charge_total: Decimal  # BR-CO-12
    tax_exclusive: Decimal  # BR-CO-13 (from the lines) or the sum of BT-116 without lines
    tax_total: Decimal  # BR-CO-14 sum of BT-117
    tax_inclusive: Decimal  # BR-CO-15
    payable: Decimal | None  # BR-CO-16; None when nothing but the totals is given


def computed_totals(inv: EInvoice) -> ComputedTotals:
    """Recompute BG-22 from the lines, allowances and charges and the VAT breakdown.

    A document without lines (Factur-X BASIC WL) gives its tax-exclusive total as the sum of the
    taxable amounts of its VAT breakdown (BR-CO-18 requires one breakdown per category, and
    BR-S-08 and its siblings make their taxable amounts add up to BT-109). A document with
    neither lines nor breakdown (Factur-X MINIMUM) only has its declared totals, so only
    BT-112 = BT-109 + BT-110 can be checked; its prepaid amount is not in the profile, so the
    payable amount is not computed.
    """
    allowances = sum((a.amount for a in inv.allowances_charges if not a.is_charge), Decimal(0))
    charges = sum((a.amount for a in inv.allowances_charges if a.is_charge), Decimal(0))
    only_totals = not inv.lines and not inv.vat_breakdown
    tax = sum((v.tax_amount for v in inv.vat_breakdown), Decimal(0))
    line_total: Decimal | None = None
    if inv.lines:
        line_total = sum((ln.net_amount for ln in inv.lines), Decimal(0))
        exclusive = line_total - allowances + charges
    elif only_totals:
        exclusive, tax = inv.totals.tax_exclusive, inv.tax_total
    else:
        exclusive = sum((v.taxable_amount for v in inv.vat_breakdown), Decimal(0))
    inclusive = exclusive + inv.tax_total
    prepaid = inv.totals.prepaid or Decimal(0)
    rounding = inv.totals.rounding or Decimal(0)
    payable = None if only_totals else inclusive - prepaid + rounding
    return ComputedTotals(line_total, allowances, charges, exclusive, tax, inclusive, payable)


def total_mismatches(inv: EInvoice) -> tuple[str, ...]:
    """Each declared total that differs from its computed value, as "BT-n declared x, computed
    y"; empty when the document adds up."""
    got = computed_totals(inv)
    declared = inv.totals
    pairs = [
        ("BT-106", declared.line_total, got.line_total),
        ("BT-107", declared.allowance_total or Decimal(0), got.allowance_total),
        ("BT-108", declared.charge_total or Decimal(0), got.charge_total),
        ("BT-109", declared.tax_exclusive, got.tax_exclusive),
        ("BT-110", inv.tax_total, got.tax_total),
        ("BT-112", declared.tax_inclusive, got.tax_inclusive),
        ("BT-115", declared.payable, got.payable),
    ]
    return tuple(
        f"{term} declared {a}, computed {b}"
        for term, a, b in pairs
        if a is not None and b is not None and a != b
    )
