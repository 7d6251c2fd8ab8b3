"""Payment terms with an early-payment (cash) discount, "2/10 net30": 2 % off when paid within
10 days of the issue date, otherwise the full amount within 30 days.

Parsing and the canonical text of every form, the refusals in plain words, the discount period
and amount (worked by hand, and as properties), and one issued invoice end to end: stored
terms, due date and the UBL BT-20 sentence.
"""

from __future__ import annotations

import doctest
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

import openbill.domain.invoice
from openbill.bootstrap import Book
from openbill.domain.invoice import (
    TERMS_DAYS_MAX,
    PaymentTerms,
    discount_until,
    due_date,
    early_payment_discount,
)
from openbill.domain.money import Rounding, minor_to_decimal, round_to_minor
from openbill.domain.rejections import InvalidAmount, InvalidInput, UnknownCurrency

ISSUED = date(2026, 3, 10)
TWO_TEN = PaymentTerms(False, 30, Decimal("2"), 10)

# --- parsing and canonical text ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "terms", "canonical"),
    [
        ("2/10 net30", PaymentTerms(False, 30, Decimal("2"), 10), "2/10 net30"),
        ("2.5/14 net 60", PaymentTerms(False, 60, Decimal("2.5"), 14), "2.5/14 net60"),
        ("2.50/14 NET60", PaymentTerms(False, 60, Decimal("2.5"), 14), "2.5/14 net60"),
        ("3/10 eom+15", PaymentTerms(True, 15, Decimal("3"), 10), "3/10 eom+15"),
        ("3 / 10  EOM + 15", PaymentTerms(True, 15, Decimal("3"), 10), "3/10 eom+15"),
        ("1.25/7 eom", PaymentTerms(True, 0, Decimal("1.25"), 7), "1.25/7 eom"),
        ("99.99/365 eom+365", PaymentTerms(True, 365, Decimal("99.99"), 365), "99.99/365 eom+365"),
        ("2/30 net30", PaymentTerms(False, 30, Decimal("2"), 30), "2/30 net30"),
        ("02/10 net30", PaymentTerms(False, 30, Decimal("2"), 10), "2/10 net30"),
        ("10.0/10 net30", PaymentTerms(False, 30, Decimal("10"), 10), "10/10 net30"),
        # The forms without a discount are read as before.
        ("net30", PaymentTerms(False, 30), "net30"),
        ("eom+15", PaymentTerms(True, 15), "eom+15"),
        ("eom", PaymentTerms(True, 0), "eom"),
        ("due_on_receipt", PaymentTerms(False, 0), "due_on_receipt"),
    ],
)
def test_parse_and_canonical_text(text: str, terms: PaymentTerms, canonical: str) -> None:
    parsed = PaymentTerms.parse(text)
    assert parsed == terms
    assert (parsed.discount_percent, parsed.discount_days) == (
        terms.discount_percent,
        terms.discount_days,
    )
    assert str(parsed) == canonical
    assert PaymentTerms.parse(canonical) == parsed


def test_terms_without_a_discount_have_none() -> None:
    terms = PaymentTerms.parse("net30")
    assert (terms.discount_percent, terms.discount_days) == (None, 0)
    assert discount_until(ISSUED, terms) is None


def test_terms_stay_a_frozen_slotted_value() -> None:
    assert not hasattr(TWO_TEN, "__dict__")
    with pytest.raises(AttributeError):
        TWO_TEN.discount_days = 5  # type: ignore[misc]
    assert hash(TWO_TEN) == hash(PaymentTerms(False, 30, Decimal("2.00"), 10))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0/10 net30", "more than 0 % and less than 100 %, got 0 %"),
        ("0.00/10 net30", "more than 0 % and less than 100 %, got 0 %"),
        ("100/10 net30", "more than 0 % and less than 100 %, got 100 %"),
        ("2.125/10 net30", "at most 2 decimals (e.g. 2.25 %), got 2.125 %"),
        ("2/0 net30", "the discount period is 1 to 365 days, got 0"),
        ("2/400 eom+15", "the discount period is 1 to 365 days, got 400"),
        (
            "2/31 net30",
            "the discount period (31 days) ends after the payment is due (within 30 days net); "
            "give a discount period of at most 30 days",
        ),
        ("2/10 due_on_receipt", "terms due on receipt leave no time for an early-payment"),
    ],
)
def test_discount_refusals_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        PaymentTerms.parse(text)
    assert refused.value.field == "payment_terms"
    assert reason in refused.value.reason


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"discount_percent": 2.0, "discount_days": 10}, "give it as a Decimal"),
        ({"discount_percent": 2, "discount_days": 10}, "give it as a Decimal"),
        ({"discount_percent": Decimal("NaN"), "discount_days": 10}, "give it as a Decimal"),
        ({"discount_percent": Decimal("-1"), "discount_days": 10}, "more than 0 %"),
        ({"discount_days": 10}, "a discount period of 10 days needs a discount percentage"),
        ({"discount_percent": Decimal(2), "discount_days": True}, "is not a number of days"),
    ],
)
def test_constructor_refusals(kwargs: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        PaymentTerms(False, 30, **kwargs)  # type: ignore[arg-type]
    assert refused.value.field == "payment_terms"
    assert reason in refused.value.reason


@pytest.mark.parametrize(
    "text",
    ["2/10", "2/ net30", "/10 net30", "2%/10 net30", "2,5/10 net30", "2/10net30", "2/10 n30"],
)
def test_unreadable_terms_list_every_form_including_the_discount(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        PaymentTerms.parse(text)
    assert refused.value.field == "payment_terms"
    for form in ("net30", "eom+15", "due_on_receipt", "P/D", "2/10 net30"):
        assert form in refused.value.reason


# --- due date and discount period --------------------------------------------------------------


@pytest.mark.parametrize(
    ("with_discount", "without"),
    [("2/10 net30", "net30"), ("3/10 eom+15", "eom+15"), ("1/5 eom", "eom")],
)
def test_due_date_ignores_the_discount(with_discount: str, without: str) -> None:
    for issued in (date(2026, 1, 31), date(2026, 2, 10), date(2026, 12, 31)):
        assert due_date(issued, PaymentTerms.parse(with_discount)) == due_date(
            issued, PaymentTerms.parse(without)
        )


def test_discount_until_counts_from_the_issue_date() -> None:
    assert discount_until(ISSUED, TWO_TEN) == date(2026, 3, 20)
    # eom terms: still the issue date plus the discount days, even past the due date.
    late = PaymentTerms.parse("3/10 eom")
    assert discount_until(date(2026, 1, 31), late) == date(2026, 2, 10)
    assert due_date(date(2026, 1, 31), late) == date(2026, 1, 31)


# --- the discount, worked by hand --------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount_minor", "terms", "paid_on", "currency", "rounding", "expected"),
    [
        # 2 % of 1,190.00 EUR = 23.80, paid on day 10 (the last day of the discount period).
        (119000, "2/10 net30", date(2026, 3, 20), "EUR", Rounding.HALF_UP, 2380),
        # ... paid on day 11: no discount.
        (119000, "2/10 net30", date(2026, 3, 21), "EUR", Rounding.HALF_UP, 0),
        # ... paid on the issue date, or before it (a payment on account): the discount holds.
        (119000, "2/10 net30", ISSUED, "EUR", Rounding.HALF_UP, 2380),
        (119000, "2/10 net30", date(2026, 3, 1), "EUR", Rounding.HALF_UP, 2380),
        # 2.5 % of 333.33 = 8.33325 -> 8.33 (half-up and half-even agree: not a tie).
        (33333, "2.5/14 net30", date(2026, 3, 24), "EUR", Rounding.HALF_UP, 833),
        (33333, "2.5/14 net30", date(2026, 3, 24), "EUR", Rounding.HALF_EVEN, 833),
        # 2.5 % of 0.50 EUR = 0.0125 -> 0.01; 1.5 % of 1.00 = 0.015: a tie.
        (50, "2.5/14 net30", ISSUED, "EUR", Rounding.HALF_UP, 1),
        (100, "1.5/14 net30", ISSUED, "EUR", Rounding.HALF_UP, 2),
        (100, "1.5/14 net30", ISSUED, "EUR", Rounding.HALF_EVEN, 2),
        (300, "1.5/14 net30", ISSUED, "EUR", Rounding.HALF_EVEN, 4),  # 4.5 -> 4
        # JPY has no minor unit: 2 % of 1,333 yen = 26.66 -> 27; 2.5 % of 1,140 = 28.5.
        (1333, "2/10 net30", date(2026, 3, 15), "JPY", Rounding.HALF_UP, 27),
        (1140, "2.5/10 net30", date(2026, 3, 15), "JPY", Rounding.HALF_UP, 29),
        (1140, "2.5/10 net30", date(2026, 3, 15), 0, Rounding.HALF_EVEN, 28),
        # KWD has three decimals: 3 % of 3.125 KWD = 0.09375 -> 0.094.
        (3125, "3/10 eom+15", date(2026, 3, 20), "KWD", Rounding.HALF_UP, 94),
        (3125, "3/10 eom+15", date(2026, 3, 20), 3, Rounding.HALF_UP, 94),
        # Nothing open, or terms without a discount: nothing to take off.
        (0, "2/10 net30", ISSUED, "EUR", Rounding.HALF_UP, 0),
        (119000, "net30", ISSUED, "EUR", Rounding.HALF_UP, 0),
    ],
)
def test_discount_by_hand(
    amount_minor: int,
    terms: str,
    paid_on: date,
    currency: str | int,
    rounding: Rounding,
    expected: int,
) -> None:
    parsed = PaymentTerms.parse(terms)
    assert early_payment_discount(amount_minor, parsed, ISSUED, paid_on, currency, rounding) == (
        expected
    )


def test_half_up_is_the_default_rounding() -> None:
    terms = PaymentTerms.parse("1.5/14 net30")
    assert early_payment_discount(300, terms, ISSUED, ISSUED, "EUR") == 5  # 4.5 -> 5


@pytest.mark.parametrize(
    ("amount_minor", "currency", "error", "reason"),
    [
        (-100, "EUR", InvalidAmount, "never a negative one"),
        (True, "EUR", InvalidAmount, "is not an amount in minor units"),
        (Decimal("1.5"), "EUR", InvalidAmount, "is not an amount in minor units"),
        (100, "XYZ", UnknownCurrency, "is not an ISO 4217 currency code"),
        (100, 5, InvalidInput, "0 to 4 decimals"),
        (100, -1, InvalidInput, "0 to 4 decimals"),
        (100, True, InvalidInput, "neither a currency code nor a minor-unit exponent"),
    ],
)
def test_discount_refusals(
    amount_minor: object, currency: object, error: type[Exception], reason: str
) -> None:
    with pytest.raises(error, match=reason):
        early_payment_discount(amount_minor, TWO_TEN, ISSUED, ISSUED, currency)  # type: ignore[arg-type]


# --- properties ---------------------------------------------------------------------------------

percents = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99.99"), places=2)


@st.composite
def discount_terms(draw: st.DrawFn) -> PaymentTerms:
    end_of_month = draw(st.booleans())
    days = draw(st.integers(0 if end_of_month else 1, TERMS_DAYS_MAX))
    within = draw(st.integers(1, TERMS_DAYS_MAX if end_of_month else days))
    return PaymentTerms(end_of_month, days, draw(percents), within)


@st.composite
def any_terms(draw: st.DrawFn) -> PaymentTerms:
    if draw(st.booleans()):
        return draw(discount_terms())
    return PaymentTerms(draw(st.booleans()), draw(st.integers(0, TERMS_DAYS_MAX)))


@given(any_terms())
def test_canonical_text_reads_back_to_the_same_terms(terms: PaymentTerms) -> None:
    text = str(terms)
    assert PaymentTerms.parse(text) == terms
    assert PaymentTerms.parse(text.upper()) == terms
    assert str(PaymentTerms.parse(text)) == text
    assert len(text) <= 32  # stored as String(32)


@given(
    terms=discount_terms(),
    amount_minor=st.integers(0, 10**15),
    issued=st.dates(date(2000, 1, 1), date(2099, 12, 31)),
    day=st.integers(-30, TERMS_DAYS_MAX + 30),
    currency=st.sampled_from(["EUR", "JPY", "KWD", "CLF"]),
    rounding=st.sampled_from(list(Rounding)),
)
def test_discount_is_between_nothing_and_the_amount(
    terms: PaymentTerms,
    amount_minor: int,
    issued: date,
    day: int,
    currency: str,
    rounding: Rounding,
) -> None:
    paid_on = issued + timedelta(days=day)
    discount = early_payment_discount(amount_minor, terms, issued, paid_on, currency, rounding)
    assert 0 <= discount <= amount_minor
    if day > terms.discount_days:
        assert discount == 0
    else:
        # The same figure as rounding the discount in major units with round_to_minor.
        assert terms.discount_percent is not None
        exact = minor_to_decimal(amount_minor, currency) * terms.discount_percent / 100
        assert discount == round_to_minor(exact, currency, rounding)
    by_exponent = {"EUR": 2, "JPY": 0, "KWD": 3, "CLF": 4}[currency]
    assert discount == early_payment_discount(
        amount_minor, terms, issued, paid_on, by_exponent, rounding
    )


def test_doctests_of_the_invoice_module_pass() -> None:
    result = doctest.testmod(openbill.domain.invoice)
    assert result.attempted > 0 and result.failed == 0


# --- end to end: a customer on "2/10 net30" ----------------------------------------------------


def test_invoice_of_a_customer_on_discount_terms(book: Book) -> None:
    from fixtures_book import ENTITY, invoice

    from openbill.adapters.documents import ubl
    from openbill.adapters.documents.einvoice_io import WRITERS
    from openbill.usecases import einvoicing, reports
    from openbill.usecases import masterdata as m

    m.create_customer(
        book.uow(),
        m.CreateCustomer(ENTITY, "CSK", "Skonto AG", "DE", "EUR", payment_terms="2.50/10 NET 30"),
    )
    m.update_customer(
        book.uow(), m.UpdateCustomer(ENTITY, "CSK", (("payment_terms", "2/10 net30"),))
    )
    [customer] = [c for c in m.list_customers(book.uow(read_only=True), ENTITY) if c.code == "CSK"]
    assert customer.payment_terms == "2/10 net30"

    # WIDGET 80 x 12.50 = 1,000.00 at 19 %: total 1,190.00.
    issued = invoice(book, "CSK", ISSUED, ("WIDGET", "80"))
    assert issued.total_minor == 119000
    assert issued.due_date == "2026-04-09"  # issue + 30 days; the discount does not move it

    view = reports.show_document(book.uow(read_only=True), ENTITY, issued.number)
    assert view.header["payment_terms"] == "2/10 net30"
    terms = PaymentTerms.parse(view.header["payment_terms"])
    assert discount_until(ISSUED, terms) == date(2026, 3, 20)
    assert early_payment_discount(119000, terms, ISSUED, date(2026, 3, 20), "EUR") == 2380

    xml = einvoicing.export_einvoice(
        book.uow(read_only=True), ENTITY, issued.number, "ubl", WRITERS
    )
    notes = etree.fromstring(xml).findall("cac:PaymentTerms/cbc:Note", ubl.NS)
    assert [n.text for n in notes] == [
        "2% discount if paid within 10 days; payable within 30 days net"
    ]
    cii = einvoicing.export_einvoice(
        book.uow(read_only=True), ENTITY, issued.number, "cii", WRITERS
    )
    assert b"2% discount if paid within 10 days; payable within 30 days net" in cii


def test_master_data_refuses_bad_discount_terms_naming_the_record(book: Book) -> None:
    from fixtures_book import ENTITY

    from openbill.usecases import commercial as c
    from openbill.usecases import masterdata as m

    with pytest.raises(InvalidInput) as refused:
        m.create_customer(
            book.uow(),
            m.CreateCustomer(ENTITY, "CBAD", "Bad AG", "DE", "EUR", payment_terms="2/40 net30"),
        )
    assert (refused.value.record, refused.value.field) == ("customer CBAD", "payment_terms")
    assert "ends after the payment is due" in refused.value.reason

    created = c.create_contract(
        book.uow(),
        c.CreateContract(ENTITY, "K-1", "C1", date(2026, 1, 1), payment_terms="3/10 EOM + 15"),
    )
    assert created.created
    [contract] = c.list_contracts(book.uow(read_only=True), ENTITY)
    assert contract.payment_terms == "3/10 eom+15"
    with pytest.raises(InvalidInput) as refused:
        c.create_contract(
            book.uow(),
            c.CreateContract(ENTITY, "K-2", "C1", date(2026, 1, 1), payment_terms="100/10 net30"),
        )
    assert (refused.value.record, refused.value.field) == ("contract K-2", "payment_terms")
