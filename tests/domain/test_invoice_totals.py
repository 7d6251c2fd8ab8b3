"""Invoice arithmetic (EN 16931), payment terms and document status.

The expected figures are worked out by hand in the comments. The property tests compute their
oracle with fractions and their own rounding, not with the code under test.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openbill.domain.invoice import (
    DocumentKind,
    DocumentStatus,
    DocumentTotals,
    LineInput,
    LineTotal,
    PaymentTerms,
    TaxSubtotal,
    compute_totals,
    document_status,
    due_date,
)
from openbill.domain.money import Rounding
from openbill.domain.rejections import InvalidInput, InvariantError, UnknownCurrency
from openbill.domain.tax import TaxCategory, TaxTreatment

D = Decimal
S, Z, E = TaxCategory.STANDARD, TaxCategory.ZERO_RATED, TaxCategory.EXEMPT
UP, EVEN = Rounding.HALF_UP, Rounding.HALF_EVEN
EXEMPT_NOTE = TaxTreatment(E, D(0), "Exempt from VAT", "VATEX-EU-132")


def line(amount: str, rate: str = "19", category: TaxCategory = S) -> LineInput:
    return LineInput(D(amount), TaxTreatment(category, D(rate)))


# --- prices exclusive of tax -------------------------------------------------------------------


def test_several_rates_on_one_invoice() -> None:
    lines = [
        line("10.00", "19"),  # 1000
        line("5.555", "19"),  # 5.555 rounds half-up to 5.56: 556
        line("20.00", "7"),  # 2000
        line("3.333", "7"),  # 333
        LineInput(D("100"), EXEMPT_NOTE),  # 10000
    ]
    totals = compute_totals(lines, "EUR", UP)
    assert [lt.net_minor for lt in totals.lines] == [1000, 556, 2000, 333, 10000]
    assert totals.subtotals == (
        # Sorted by category code, then rate. E: 100.00 at 0 %, no tax, its note kept.
        TaxSubtotal(E, D(0), 10000, 0, "Exempt from VAT", "VATEX-EU-132"),
        # S 7 %: 20.00 + 3.33 = 23.33; 23.33 x 0.07 = 1.6331 -> 1.63
        TaxSubtotal(S, D(7), 2333, 163),
        # S 19 %: 10.00 + 5.56 = 15.56; 15.56 x 0.19 = 2.9564 -> 2.96
        TaxSubtotal(S, D(19), 1556, 296),
    )
    # net 100.00 + 23.33 + 15.56 = 138.89; tax 1.63 + 2.96 = 4.59; total 143.48
    assert (totals.net_minor, totals.tax_minor, totals.total_minor) == (13889, 459, 14348)


def test_tax_is_rounded_once_per_group_not_per_line() -> None:
    # Three lines of 0.02 at 19 %: per line 0.0038 would round to 0.00 each, but the group
    # 0.06 x 0.19 = 0.0114 rounds to 0.01.
    totals = compute_totals([line("0.02")] * 3, "EUR", UP)
    assert totals.subtotals == (TaxSubtotal(S, D(19), 6, 1),)
    assert totals.total_minor == 7


def test_rounding_mode_applies_to_lines_and_tax() -> None:
    # Line 10.505 at 5 %: half-up 10.51, tax 10.51 x 0.05 = 0.5255 -> 0.53; total 11.04.
    # Half-even 10.50 (0 is even), tax 10.50 x 0.05 = 0.525 -> 0.52 (2 is even); total 11.02.
    up = compute_totals([line("10.505", "5")], "EUR", UP)
    even = compute_totals([line("10.505", "5")], "EUR", EVEN)
    assert (up.net_minor, up.tax_minor, up.total_minor) == (1051, 53, 1104)
    assert (even.net_minor, even.tax_minor, even.total_minor) == (1050, 52, 1102)


def test_credit_lines_and_negative_documents() -> None:
    # -10.50 at 5 %: tax -0.525 rounds half-up away from zero to -0.53; total -11.03.
    totals = compute_totals([line("-10.50", "5")], "EUR", UP)
    assert (totals.net_minor, totals.tax_minor, totals.total_minor) == (-1050, -53, -1103)
    # A discount line within a group reduces its taxable amount: 100.00 - 20.00 = 80.00 at
    # 19 % = 15.20.
    totals = compute_totals([line("100"), line("-20")], "EUR", UP)
    assert totals.subtotals == (TaxSubtotal(S, D(19), 8000, 1520),)


def test_jpy_has_no_minor_unit() -> None:
    # A Japanese invoice: 1000 yen at 10 % and 540 yen at the reduced 8 %.
    # 10 %: 1000 x 0.10 = 100; 8 %: 540 x 0.08 = 43.2 -> 43. Net 1540, tax 143, total 1683.
    totals = compute_totals([line("1000", "10"), line("540", "8")], "JPY", UP)
    assert totals.subtotals == (TaxSubtotal(S, D(8), 540, 43), TaxSubtotal(S, D(10), 1000, 100))
    assert (totals.net_minor, totals.tax_minor, totals.total_minor) == (1540, 143, 1683)
    # 1234.5 yen is a tie: half-up 1235 (tax 123.5 -> 124), half-even 1234 (tax 123.4 -> 123).
    assert compute_totals([line("1234.5", "10")], "JPY", UP).total_minor == 1235 + 124
    assert compute_totals([line("1234.5", "10")], "JPY", EVEN).total_minor == 1234 + 123


def test_kwd_has_three_places() -> None:
    # 10.000 + 0.125 = 10.125 KWD at 5 %: tax 0.50625 -> 0.506. Total 10.631 = 10631 fils.
    totals = compute_totals([line("10", "5"), line("0.125", "5")], "KWD", UP)
    assert totals.subtotals == (TaxSubtotal(S, D(5), 10125, 506),)
    assert totals.total_minor == 10631
    # 1.2345 KWD is a tie at the third place: half-up 1.235, half-even 1.234.
    assert compute_totals([line("1.2345", "0", Z)], "KWD", UP).net_minor == 1235
    assert compute_totals([line("1.2345", "0", Z)], "KWD", EVEN).net_minor == 1234


def test_equal_rates_written_differently_form_one_group() -> None:
    totals = compute_totals([line("10", "19"), line("10", "19.00")], "EUR", UP)
    # 20.00 x 0.19 = 3.80, one subtotal.
    assert len(totals.subtotals) == 1
    assert totals.subtotals[0].taxable_minor == 2000
    assert totals.subtotals[0].tax_minor == 380


# --- prices inclusive of tax -------------------------------------------------------------------


def test_inclusive_prices_exact_split() -> None:
    # Gross 11.90 + 5.95 = 17.85 at 19 %: tax 17.85 x 19 / 119 = 2.85 exactly; net 15.00,
    # shared 2:1 as 10.00 and 5.00.
    totals = compute_totals([line("11.90"), line("5.95")], "EUR", UP, prices_include_tax=True)
    assert totals.lines == (LineTotal(1000, S, D(19)), LineTotal(500, S, D(19)))
    assert totals.subtotals == (TaxSubtotal(S, D(19), 1500, 285),)
    assert totals.total_minor == 1785  # what the customer was shown


def test_inclusive_prices_rounded_split() -> None:
    # Three lines at 1.00 gross, 19 %: G = 3.00, tax = 3.00 x 19 / 119 = 0.47899... -> 0.48,
    # net 2.52 = 84 + 84 + 84.
    totals = compute_totals([line("1.00")] * 3, "EUR", UP, prices_include_tax=True)
    assert [lt.net_minor for lt in totals.lines] == [84, 84, 84]
    assert (totals.net_minor, totals.tax_minor, totals.total_minor) == (252, 48, 300)
    # 10.00 and 0.01 gross at 7 %: G = 10.01, tax = 10.01 x 7 / 107 = 0.65485... -> 0.65, net
    # 9.36. Shares of 936: 935.06 and 0.94 -> floors 935 and 0; the left-over unit goes to the
    # larger remainder (0.94): 935 and 1.
    totals = compute_totals(
        [line("10.00", "7"), line("0.01", "7")], "EUR", UP, prices_include_tax=True
    )
    assert [lt.net_minor for lt in totals.lines] == [935, 1]
    assert totals.subtotals == (TaxSubtotal(S, D(7), 936, 65),)


def test_inclusive_prices_with_a_discount_line() -> None:
    # 119.00 gross and a -11.90 promotion at 19 %: G = 107.10, tax 107.10 x 19 / 119 = 17.10,
    # net 90.00. The charge alone: 119.00 - 19.00 = 100.00; the promotion gets the rest, -10.00.
    totals = compute_totals([line("119.00"), line("-11.90")], "EUR", UP, prices_include_tax=True)
    assert [lt.net_minor for lt in totals.lines] == [10000, -1000]
    assert totals.subtotals == (TaxSubtotal(S, D(19), 9000, 1710),)
    # 10.00 and -3.00 at 19 %: G = 7.00, tax 7 x 19 / 119 = 1.1176 -> 1.12, net 5.88.
    # The charge: 10.00 x 19 / 119 = 1.5966 -> 1.60, net 8.40; the credit 5.88 - 8.40 = -2.52
    # (exactly -3.00 / 1.19 = -2.5210).
    totals = compute_totals([line("10.00"), line("-3.00")], "EUR", UP, prices_include_tax=True)
    assert [lt.net_minor for lt in totals.lines] == [840, -252]
    assert (totals.net_minor, totals.tax_minor, totals.total_minor) == (588, 112, 700)


def test_inclusive_prices_in_jpy_and_kwd() -> None:
    # 1100 yen gross at 10 %: tax 1100 x 10 / 110 = 100, net 1000.
    # 1000 yen gross at 8 %: tax 1000 x 8 / 108 = 74.07 -> 74, net 926.
    totals = compute_totals(
        [line("1100", "10"), line("1000", "8")], "JPY", UP, prices_include_tax=True
    )
    assert totals.subtotals == (TaxSubtotal(S, D(8), 926, 74), TaxSubtotal(S, D(10), 1000, 100))
    assert totals.total_minor == 2100
    # 1.050 KWD gross at 5 %: tax 1.050 x 5 / 105 = 0.050, net 1.000.
    totals = compute_totals([line("1.05", "5")], "KWD", UP, prices_include_tax=True)
    assert (totals.net_minor, totals.tax_minor, totals.total_minor) == (1000, 50, 1050)


# --- refusals ----------------------------------------------------------------------------------


def test_a_document_without_lines_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        compute_totals([], "EUR", UP)
    assert refused.value.field == "lines"


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (LineInput(0.1, TaxTreatment(S, D(19))), "amount"),  # type: ignore[arg-type]
        (LineInput(D("NaN"), TaxTreatment(S, D(19))), "amount"),
        (LineInput(D(1), TaxTreatment(S, D(0))), "tax.rate"),  # standard needs a rate
        (LineInput(D(1), TaxTreatment(Z, D(5))), "tax.rate"),  # zero rated has 0 %
        (LineInput(D(1), TaxTreatment(S, D(-5))), "tax.rate"),
    ],
)
def test_bad_lines_are_refused_with_their_number(bad: LineInput, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        compute_totals([line("1"), bad], "EUR", UP)
    assert refused.value.field == field
    assert refused.value.record == "line 2"


def test_different_exemption_notes_in_one_group_are_refused() -> None:
    medical = TaxTreatment(E, D(0), "Medical care", "VATEX-EU-132-1B")
    with pytest.raises(InvalidInput, match="one note per category and rate"):
        compute_totals([LineInput(D(1), EXEMPT_NOTE), LineInput(D(1), medical)], "EUR", UP)


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(UnknownCurrency):
        compute_totals([line("1")], "EURO", UP)


# --- properties --------------------------------------------------------------------------------

_RATES = ["0", "2.1", "5", "5.5", "7", "7.7", "8", "10", "19", "20", "21", "25", "27"]
_PLACES = {"EUR": 2, "JPY": 0, "KWD": 3}


def _round(value: Fraction, mode: Rounding) -> int:
    """Round a fraction to an integer, ties away from zero (half-up) or to even."""
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    floor = magnitude.numerator // magnitude.denominator
    rest = magnitude - floor
    if rest > Fraction(1, 2) or (
        rest == Fraction(1, 2) and (mode is Rounding.HALF_UP or floor % 2 == 1)
    ):
        floor += 1
    return sign * floor


@st.composite
def _documents(draw: st.DrawFn) -> tuple[list[LineInput], str, Rounding, bool]:
    currency = draw(st.sampled_from(sorted(_PLACES)))
    amounts = st.decimals(min_value=-(10**6), max_value=10**7, places=4, allow_nan=False)
    rates = st.sampled_from(_RATES)
    lines = [
        LineInput(amount, TaxTreatment(S if D(rate) else Z, D(rate)))
        for amount, rate in draw(st.lists(st.tuples(amounts, rates), min_size=1, max_size=15))
    ]
    return lines, currency, draw(st.sampled_from(Rounding)), draw(st.booleans())


def _check_sums(totals: DocumentTotals) -> None:
    assert totals.total_minor == totals.net_minor + totals.tax_minor
    assert totals.net_minor == sum(lt.net_minor for lt in totals.lines)
    assert totals.net_minor == sum(s.taxable_minor for s in totals.subtotals)
    assert totals.tax_minor == sum(s.tax_minor for s in totals.subtotals)
    keys = [(s.category.value, s.rate) for s in totals.subtotals]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    for s in totals.subtotals:
        assert s.taxable_minor == sum(
            lt.net_minor for lt in totals.lines if (lt.category, lt.rate) == (s.category, s.rate)
        )


@settings(max_examples=150)
@given(document=_documents())
def test_totals_add_up(document: tuple[list[LineInput], str, Rounding, bool]) -> None:
    lines, currency, mode, inclusive = document
    totals = compute_totals(lines, currency, mode, prices_include_tax=inclusive)
    _check_sums(totals)
    scale = 10 ** _PLACES[currency]
    rounded = [_round(Fraction(li.amount) * scale, mode) for li in lines]
    if not inclusive:
        assert [lt.net_minor for lt in totals.lines] == rounded
        for s in totals.subtotals:
            # Tax = round(taxable x rate / 100), once per group.
            assert s.tax_minor == _round(Fraction(s.taxable_minor) * Fraction(s.rate) / 100, mode)
    else:
        # What the customer was shown (the rounded gross amounts) is exactly what they pay.
        assert totals.total_minor == sum(rounded)
        for s in totals.subtotals:
            gross = s.taxable_minor + s.tax_minor
            rate = Fraction(s.rate)
            assert s.tax_minor == _round(gross * rate / (100 + rate), mode)
        for lt, gross_minor in zip(totals.lines, rounded, strict=True):
            # No line changes sign when its tax is taken out, and its net is within one minor
            # unit (plus the rounding of its group's tax) of gross x 100 / (100 + rate).
            assert lt.net_minor * gross_minor >= 0
            exact = Fraction(gross_minor) * 100 / (100 + Fraction(lt.rate))
            assert abs(lt.net_minor - exact) <= 2


# --- payment terms -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "end_of_month", "days", "canonical"),
    [
        ("net30", False, 30, "net30"),
        ("net 30", False, 30, "net30"),
        ("NET30", False, 30, "net30"),
        (" Net  14 ", False, 14, "net14"),
        ("net0", False, 0, "due_on_receipt"),
        ("eom+15", True, 15, "eom+15"),
        ("eom15", True, 15, "eom+15"),
        ("EOM + 15", True, 15, "eom+15"),
        ("eom", True, 0, "eom"),
        ("eom+0", True, 0, "eom"),
        ("due_on_receipt", False, 0, "due_on_receipt"),
        ("Due on receipt", False, 0, "due_on_receipt"),
    ],
)
def test_payment_terms_parse(text: str, end_of_month: bool, days: int, canonical: str) -> None:
    terms = PaymentTerms.parse(text)
    assert terms == PaymentTerms(end_of_month, days)
    assert str(terms) == canonical
    assert PaymentTerms.parse(str(terms)) == terms


@pytest.mark.parametrize(
    "text", ["", "net", "30", "net-30", "net30days", "eom-5", "net 1000", "2/10", "2/ net30"]
)
def test_payment_terms_refusals_list_the_accepted_forms(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        PaymentTerms.parse(text)
    assert refused.value.field == "payment_terms"
    for form in ("net30", "eom+15", "due_on_receipt"):
        assert form in refused.value.reason


def test_payment_terms_have_a_limit() -> None:
    assert PaymentTerms.parse("net365") == PaymentTerms(False, 365)
    with pytest.raises(InvalidInput, match="0 to 365 days"):
        PaymentTerms.parse("net400")
    with pytest.raises(InvalidInput, match="0 to 365 days"):
        PaymentTerms(True, -1)


@pytest.mark.parametrize(
    ("issued", "terms", "due"),
    [
        (date(2024, 1, 15), "net30", date(2024, 2, 14)),  # 16 days left in January + 14
        (date(2024, 1, 15), "due_on_receipt", date(2024, 1, 15)),
        (date(2024, 1, 15), "eom", date(2024, 1, 31)),
        (date(2024, 1, 15), "eom+15", date(2024, 2, 15)),  # 31 January + 15 days
        (date(2024, 2, 10), "eom+15", date(2024, 3, 15)),  # 29 February (leap year) + 15
        (date(2023, 2, 10), "eom+15", date(2023, 3, 15)),  # 28 February + 15
        (date(2024, 12, 31), "eom+1", date(2025, 1, 1)),
        (date(2024, 12, 20), "net15", date(2025, 1, 4)),
    ],
)
def test_due_date(issued: date, terms: str, due: date) -> None:
    assert due_date(issued, PaymentTerms.parse(terms)) == due


# --- document status ---------------------------------------------------------------------------

INV, CN = DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE
DUE = date(2024, 2, 14)
BEFORE, AFTER = date(2024, 2, 14), date(2024, 2, 15)


@pytest.mark.parametrize(
    ("kind", "issued", "total", "open_", "credited", "due", "as_of", "status"),
    [
        (INV, False, 1000, 1000, 0, DUE, AFTER, DocumentStatus.DRAFT),
        (INV, True, 1000, 1000, 0, DUE, BEFORE, DocumentStatus.ISSUED),  # due today: not late
        (INV, True, 1000, 1000, 0, DUE, AFTER, DocumentStatus.OVERDUE),
        (INV, True, 1000, 1000, 0, None, AFTER, DocumentStatus.ISSUED),
        (INV, True, 1000, 400, 0, DUE, BEFORE, DocumentStatus.PARTIALLY_PAID),
        (INV, True, 1000, 400, 0, DUE, AFTER, DocumentStatus.OVERDUE),
        (INV, True, 1000, 0, 0, DUE, AFTER, DocumentStatus.PAID),
        (INV, True, 1000, 0, 1000, DUE, AFTER, DocumentStatus.VOID),  # fully credited
        (INV, True, 1000, 0, 300, DUE, AFTER, DocumentStatus.PAID),  # paid 700, credited 300
        (INV, True, 1000, 700, 300, DUE, BEFORE, DocumentStatus.PARTIALLY_PAID),
        (INV, True, 0, 0, 0, DUE, AFTER, DocumentStatus.PAID),  # a zero invoice is settled
        (CN, False, 500, 500, 0, None, AFTER, DocumentStatus.DRAFT),
        (CN, True, 500, 500, 0, None, AFTER, DocumentStatus.ISSUED),
        (CN, True, 500, 200, 0, None, AFTER, DocumentStatus.ISSUED),
        (CN, True, 500, 0, 0, None, AFTER, DocumentStatus.APPLIED),
    ],
)
def test_document_status(
    kind: DocumentKind,
    issued: bool,
    total: int,
    open_: int,
    credited: int,
    due: date | None,
    as_of: date,
    status: DocumentStatus,
) -> None:
    assert document_status(kind, issued, total, open_, credited, due, as_of) is status


@pytest.mark.parametrize(
    ("kind", "total", "open_", "credited"),
    [(INV, 1000, -1, 0), (INV, 1000, 0, -1), (INV, 1000, 1001, 0), (CN, 500, -1, 0)],
)
def test_impossible_amounts_are_invariant_errors(
    kind: DocumentKind, total: int, open_: int, credited: int
) -> None:
    with pytest.raises(InvariantError):
        document_status(kind, True, total, open_, credited, DUE, AFTER)
