"""Outside figures: the CEN EN 16931 example documents, recomputed by compute_totals.

Each UBL example (Invoice or CreditNote) in the shared corpus gives its lines' net amounts and VAT
categories, its document-level allowances and charges, and the totals and VAT breakdown that
the standard's authors computed. We feed the lines (and the allowances as negative lines, the
charges as positive lines, which is how BR-CO-13 and BR-S-08 count them) to compute_totals and
require the same net, tax, total and breakdown, to the cent.

The corpus lives beside the checkout (../shared/corpora) and is never copied into the repository;
OPENBILL_CORPORA points elsewhere. Its absence fails the run in CI and skips it elsewhere.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from openbill.domain.currencies import exponent_of
from openbill.domain.invoice import LineInput, compute_totals
from openbill.domain.money import Rounding
from openbill.domain.tax import TaxCategory, TaxTreatment

CORPORA = Path(
    os.environ.get("OPENBILL_CORPORA")
    or Path(__file__).resolve().parents[2] / ".." / "shared" / "corpora"
)
UBL_EXAMPLES = CORPORA / "en16931" / "cen-ubl"
MIN_FILES_CHECKED = 5

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


def _example_files() -> list[Path]:
    return sorted(UBL_EXAMPLES.glob("*.xml")) if UBL_EXAMPLES.is_dir() else []


def _corpus_missing() -> None:
    message = (
        f"the EN 16931 corpus is expected at ../shared/corpora beside the checkout "
        f"(looked in {UBL_EXAMPLES}; set OPENBILL_CORPORA to move it)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def test_corpus_has_enough_examples() -> None:
    files = _example_files()
    if not files:
        _corpus_missing()
    assert len(files) >= MIN_FILES_CHECKED, [f.name for f in files]


# --- reading a UBL document --------------------------------------------------------------------


@dataclass(frozen=True)
class Breakdown:
    taxable_minor: int
    tax_minor: int


@dataclass(frozen=True)
class Example:
    currency: str
    lines: tuple[LineInput, ...]
    line_count: int  # invoice or credit note lines; the rest are allowances and charges
    line_extension_minor: int
    tax_exclusive_minor: int
    tax_inclusive_minor: int
    tax_minor: int
    breakdown: dict[tuple[TaxCategory, Decimal], Breakdown]


def _text(element: ET.Element, path: str) -> str:
    found = element.find(path, NS)
    assert found is not None and found.text is not None, f"{path} missing"
    return found.text.strip()


def _minor(element: ET.Element, path: str, currency: str) -> int:
    """An amount element in `currency`, as exact minor units (never rounded)."""
    found = element.find(path, NS)
    assert found is not None and found.text is not None, f"{path} missing"
    assert found.get("currencyID") == currency, f"{path} is not in {currency}"
    scaled = Decimal(found.text.strip()).scaleb(exponent_of(currency))
    assert scaled == scaled.to_integral_value(), f"{path} {found.text} has too many places"
    return int(scaled)


def _treatment(category: ET.Element) -> TaxTreatment:
    # Category O has no rate in the file (BR-O-05); openbill writes its rate as 0.
    percent = category.findtext("cbc:Percent", default="0", namespaces=NS)
    return TaxTreatment(TaxCategory(_text(category, "cbc:ID")), Decimal(percent.strip()))


def _read(path: Path) -> Example:
    root = ET.parse(path).getroot()
    kind = root.tag.rsplit("}", 1)[1]
    assert kind in ("Invoice", "CreditNote"), kind
    currency = _text(root, "cbc:DocumentCurrencyCode")
    lines: list[LineInput] = []
    for item in root.findall(f"cac:{kind}Line", NS):
        # LineExtensionAmount is already net of the line's own allowances and charges.
        category = item.find("cac:Item/cac:ClassifiedTaxCategory", NS)
        assert category is not None
        amount = Decimal(_text(item, "cbc:LineExtensionAmount"))
        lines.append(LineInput(amount, _treatment(category)))
    line_count = len(lines)
    for allowance_charge in root.findall("cac:AllowanceCharge", NS):
        # xsd:boolean: "true" or "1" is a charge, "false" or "0" an allowance.
        is_charge = _text(allowance_charge, "cbc:ChargeIndicator").lower() in ("true", "1")
        amount = Decimal(_text(allowance_charge, "cbc:Amount"))
        category = allowance_charge.find("cac:TaxCategory", NS)
        assert category is not None
        lines.append(LineInput(amount if is_charge else -amount, _treatment(category)))
    # A document with a tax currency (BT-6) different from its own has a second TaxTotal in the
    # tax currency, holding only the tax amount (BT-111), no breakdown. Our arithmetic is in the
    # document currency; we check the TaxTotal in that currency and leave the other one out:
    # its figure comes from an exchange rate that the document does not state.
    tax_totals = [
        t for t in root.findall("cac:TaxTotal", NS) if t.find("cbc:TaxAmount", NS) is not None
    ]
    in_currency = [
        t
        for t in tax_totals
        if t.find("cbc:TaxAmount", NS).get("currencyID") == currency  # type: ignore[union-attr]
    ]
    assert len(in_currency) == 1, f"{path.name}: expected one TaxTotal in {currency}"
    tax_total = in_currency[0]
    breakdown: dict[tuple[TaxCategory, Decimal], Breakdown] = {}
    for subtotal in tax_total.findall("cac:TaxSubtotal", NS):
        category = subtotal.find("cac:TaxCategory", NS)
        assert category is not None
        treatment = _treatment(category)
        key = (treatment.category, treatment.rate)
        assert key not in breakdown
        breakdown[key] = Breakdown(
            _minor(subtotal, "cbc:TaxableAmount", currency),
            _minor(subtotal, "cbc:TaxAmount", currency),
        )
    monetary = root.find("cac:LegalMonetaryTotal", NS)
    assert monetary is not None
    return Example(
        currency=currency,
        lines=tuple(lines),
        line_count=line_count,
        line_extension_minor=_minor(monetary, "cbc:LineExtensionAmount", currency),
        tax_exclusive_minor=_minor(monetary, "cbc:TaxExclusiveAmount", currency),
        # BT-112 is net plus tax (BR-CO-15); a rounding amount (BT-114) would only enter the
        # payable amount, which we do not compare, so it cannot make an example fail.
        tax_inclusive_minor=_minor(monetary, "cbc:TaxInclusiveAmount", currency),
        tax_minor=_minor(tax_total, "cbc:TaxAmount", currency),
        breakdown=breakdown,
    )


# --- the check ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", _example_files(), ids=lambda p: p.name)
def test_compute_totals_matches_the_cen_example(path: Path) -> None:
    example = _read(path)
    totals = compute_totals(example.lines, example.currency, Rounding.HALF_UP)

    invoice_lines = totals.lines[: example.line_count]
    assert sum(lt.net_minor for lt in invoice_lines) == example.line_extension_minor
    assert totals.net_minor == example.tax_exclusive_minor
    assert totals.tax_minor == example.tax_minor
    assert totals.total_minor == example.tax_inclusive_minor
    computed = {
        (s.category, s.rate): Breakdown(s.taxable_minor, s.tax_minor) for s in totals.subtotals
    }
    assert computed == example.breakdown
