"""Each rule of the bank-matching engine (`openbill.domain.matching`) with a case that matches
and a near miss that must not.

Every book is built by hand in the test: open invoices numbered like INV-2027-000012, payers
with their IBANs, the settings of an entity that knows the fees 2.50 and 5.00 EUR and closes
differences up to 0.50 EUR. Expected allocations, fees and credits are worked out by hand in
minor units (cents); the arithmetic is in the comments. Every proposal a test looks at also
passes `check_candidate`, the invariant the posting relies on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from openbill.domain import matching
from openbill.domain.fx import convert_minor
from openbill.domain.matching import (
    Action,
    BookItem,
    Candidate,
    Line,
    MatchIndex,
    MatchSettings,
    OpenInvoice,
    Payer,
    PaymentSeen,
    automatic,
    check_candidate,
    propose,
)
from openbill.domain.reference import (
    creditor_reference,
    is_valid_creditor_reference,
    printable,
)

SETTINGS = MatchSettings(fees_minor={"EUR": (250, 500)}, small_minor={"EUR": 50})
ON = date(2027, 3, 1)  # the booking day of the bank lines

ACME_IBAN = "DE89370400440532013000"
BETA_IBAN = "GB29NWBK60161331926819"
STRANGER_IBAN = "FR1420041010050500013M02606"  # nobody in the book
OWN_IBAN = "DE44500105175407324931"  # another account of the entity itself

ACME = Payer(1, "ACME", "Acme GmbH", ibans=(ACME_IBAN,))
BETA = Payer(2, "BETA", "Beta AG", ibans=(BETA_IBAN,))


def number(seq: int) -> str:
    return f"INV-2027-{seq:06d}"


def invoice(
    seq: int,
    payer: Payer,
    open_minor: int,
    *,
    total_minor: int | None = None,
    currency: str = "EUR",
    discount_minor: int = 0,
    discount_until: date | None = None,
) -> OpenInvoice:
    """Invoice `seq` (its id too), issued `seq` days into 2027, so a lower seq is older."""
    return OpenInvoice(
        id=seq,
        number=number(seq),
        customer_id=payer.id,
        currency=currency,
        open_minor=open_minor,
        total_minor=open_minor if total_minor is None else total_minor,
        issued_on=date(2027, 1, 1) + timedelta(days=seq),
        discount_minor=discount_minor,
        discount_until=discount_until,
    )


def book(invoices: Sequence[OpenInvoice], **kwargs: Any) -> MatchIndex:
    return MatchIndex(invoices, (ACME, BETA), SETTINGS, **kwargs)


def line(
    amount_minor: int,
    *,
    text: str = "",
    ref: str = "",
    account: str = "",
    on: date = ON,
    line_id: int = 1,
    **kwargs: Any,
) -> Line:
    return Line(
        line_id,
        amount_minor,
        "EUR",
        on,
        remittance=text,
        creditor_reference=ref,
        counterparty_account=account,
        **kwargs,
    )


def proposals(index: MatchIndex, bank_line: Line) -> tuple[Candidate, ...]:
    """`propose`, with the posting invariant checked on every candidate."""
    candidates = propose(index, bank_line)
    for candidate in candidates:
        check_candidate(bank_line, candidate, index.invoices)
    return candidates


def allocs(candidate: Candidate) -> tuple[tuple[int, int, int], ...]:
    """(invoice id, amount, discount) of each allocation, in minor units."""
    return tuple((a.invoice_id, a.amount_minor, a.discount_minor) for a in candidate.allocations)


def only(candidates: Sequence[Candidate]) -> Candidate:
    assert len(candidates) == 1, [(c.rule, c.confidence) for c in candidates]
    return candidates[0]


def wrong_check_digit(reference: str) -> str:
    """The reference with its second check digit one higher (mod 10)."""
    digit = (int(reference[3]) + 1) % 10
    return reference[:3] + str(digit) + reference[4:]


# -- RF creditor references ---------------------------------------------------------------------


def test_rf_reference_with_the_exact_open_amount_is_posted() -> None:
    """A valid RF reference and exactly the open amount: REF_EXACT_RF, posted automatically."""
    index = book([invoice(12, ACME, 119_000)])
    bank_line = line(119_000, ref=creditor_reference(number(12)), account=STRANGER_IBAN)

    candidates = proposals(index, bank_line)

    best = only(candidates)
    assert (best.action, best.rule, best.confidence) == (
        Action.PAYMENT,
        "reference",
        matching.REF_EXACT_RF,
    )
    assert best.customer_id == ACME.id
    assert allocs(best) == ((12, 119_000, 0),)  # 1,190.00 open, 1,190.00 paid
    assert (best.fee_minor, best.credit_minor) == (0, 0)
    assert automatic(candidates, SETTINGS) == best


def test_rf_reference_printed_in_groups_of_four_counts_as_rf() -> None:
    """The reference as printed on the slip ('RF.. INV2 0270 0001 2') is still a valid RF."""
    index = book([invoice(12, ACME, 119_000)])
    bank_line = line(119_000, text=printable(creditor_reference(number(12))))

    best = only(proposals(index, bank_line))

    assert best.confidence == matching.REF_EXACT_RF
    assert allocs(best) == ((12, 119_000, 0),)


def test_rf_reference_with_a_wrong_check_digit_is_no_rf_reference() -> None:
    """One check digit wrong: not an RF reference. Its body is still the exact invoice number,
    so the invoice is found as a number the text names (REF_EXACT_NUMBER), never REF_EXACT_RF."""
    index = book([invoice(12, ACME, 119_000)])
    mistyped = wrong_check_digit(creditor_reference(number(12)))
    assert not is_valid_creditor_reference(mistyped)

    candidates = proposals(index, line(119_000, ref=mistyped))

    best = only(candidates)
    assert best.confidence == matching.REF_EXACT_NUMBER
    assert best.confidence != matching.REF_EXACT_RF
    assert best.explanation.startswith("the text names")
    assert allocs(best) == ((12, 119_000, 0),)
    assert automatic(candidates, SETTINGS) == best


# -- invoice numbers in the text ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Invoice INV-2027-000012",
        "inv-2027-000012 thank you",
        "INV-2027-00 0012",  # a blank inside the number
        "INV 2027 000012",  # blanks instead of dashes
        "INV2027-0000-12",  # dashes where the payer liked them
    ],
)
def test_invoice_number_in_the_text_is_found(text: str) -> None:
    """The invoice number in the remittance text, also with blanks or dashes inside, and the
    exact open amount: REF_EXACT_NUMBER, posted automatically."""
    index = book([invoice(12, ACME, 119_000), invoice(40, BETA, 50_000)])

    candidates = proposals(index, line(119_000, text=text, account=STRANGER_IBAN))

    best = only(candidates)
    assert (best.rule, best.confidence, best.customer_id) == (
        "reference",
        matching.REF_EXACT_NUMBER,
        ACME.id,
    )
    assert allocs(best) == ((12, 119_000, 0),)
    assert automatic(candidates, SETTINGS) == best


def test_invoice_number_split_over_two_text_parts_is_found() -> None:
    """The bank cut the text into two parts (camt Ustrd elements, joined with a blank) in the
    middle of the number: the number is read across the cut."""
    index = book([invoice(12, ACME, 119_000)])
    text = " ".join(["Rechnung INV-2027-0000", "12 vom 15.01.2027"])

    candidates = proposals(index, line(119_000, text=text))

    best = only(candidates)
    assert (best.rule, best.confidence) == ("reference", matching.REF_EXACT_NUMBER)
    assert allocs(best) == ((12, 119_000, 0),)
    assert automatic(candidates, SETTINGS) == best


def test_number_of_no_open_invoice_and_not_near_one_gives_no_candidate() -> None:
    """INV-2027-000999 is no invoice, and at least three characters from 000012 and 000040:
    no reference candidate, and (since the text names a number) no guess by amount either,
    although 1,190.00 is the open amount of 000012."""
    index = book([invoice(12, ACME, 119_000), invoice(40, BETA, 50_000)])

    candidates = proposals(index, line(119_000, text="INV-2027-000999"))

    assert candidates == ()
    assert automatic(candidates, SETTINGS) is None


# -- one character mistyped -----------------------------------------------------------------------

TYPOS = [
    pytest.param("INV-2027-000017", id="substitution"),  # ...12 -> ...17
    pytest.param("INV-2027-000021", id="swapped-neighbours"),  # ...12 -> ...21
    pytest.param("INV-2027-00002", id="digit-missing"),  # the 1 of ...000012 left out
    pytest.param("INV-2027-0000012", id="digit-too-many"),  # one 0 too many
]


def typo_book() -> MatchIndex:
    # 000040 is two characters from 000012 and from every typo above, so only 000012 is near.
    return book([invoice(12, ACME, 119_000), invoice(40, BETA, 50_000)])


@pytest.mark.parametrize("text", TYPOS)
def test_typo_with_exact_amount_from_the_payers_account_is_posted(text: str) -> None:
    """One character mistyped, the exact open amount, from the customer's known IBAN:
    NEAR_PAYER, posted automatically onto the invoice meant."""
    candidates = proposals(typo_book(), line(119_000, text=text, account=ACME_IBAN))

    best = only(candidates)
    assert (best.rule, best.confidence, best.customer_id) == (
        "reference~",
        matching.NEAR_PAYER,
        ACME.id,
    )
    assert allocs(best) == ((12, 119_000, 0),)
    assert automatic(candidates, SETTINGS) == best


@pytest.mark.parametrize("text", TYPOS)
def test_same_typo_from_an_unknown_account_waits_for_a_person(text: str) -> None:
    """The same typo with the payer unknown: NEAR (86), below the threshold of 90."""
    candidates = proposals(typo_book(), line(119_000, text=text, account=STRANGER_IBAN))

    best = only(candidates)
    assert (best.rule, best.confidence) == ("reference~", matching.NEAR)
    assert allocs(best) == ((12, 119_000, 0),)
    assert automatic(candidates, SETTINGS) is None


def test_typo_one_character_from_two_open_invoices_is_ambiguous() -> None:
    """INV-2027-000013 is one character from 000012 (ACME) and from 000014 (BETA), both open
    for exactly 1,190.00: NEAR_LOOSE for each, nothing automatic."""
    index = book([invoice(12, ACME, 119_000), invoice(14, BETA, 119_000)])

    candidates = proposals(index, line(119_000, text="INV-2027-000013"))

    assert len(candidates) == 2
    assert {c.confidence for c in candidates} == {matching.NEAR_LOOSE}
    assert {c.rule for c in candidates} == {"reference~"}
    assert {(c.customer_id, allocs(c)) for c in candidates} == {
        (ACME.id, ((12, 119_000, 0),)),
        (BETA.id, ((14, 119_000, 0),)),
    }
    assert automatic(candidates, SETTINGS) is None


def test_typo_whose_amount_does_not_fit_is_loose() -> None:
    """A typo of 000012 with 500.00 of its 1,190.00: only NEAR_LOOSE for the typo; the payer's
    own rules add oldest-first and credit; nothing is automatic."""
    index = book([invoice(12, ACME, 119_000)])

    candidates = proposals(index, line(50_000, text="INV-2027-000021", account=ACME_IBAN))

    assert [(c.rule, c.confidence) for c in candidates] == [
        ("reference~", matching.NEAR_LOOSE),
        ("payer, oldest first", matching.PAYER_OLDEST),
        ("payer, credit", matching.PAYER_CREDIT),
    ]
    assert allocs(candidates[0]) == ((12, 50_000, 0),)  # 1,190.00 - 500.00 = 690.00 stays open
    assert candidates[2].credit_minor == 50_000
    assert automatic(candidates, SETTINGS) is None


# -- the payer and the amount ---------------------------------------------------------------------


def test_known_iban_and_the_amount_of_exactly_one_open_invoice_is_posted() -> None:
    """No reference, ACME's IBAN, and 1,190.00 is the open amount of exactly one of ACME's
    invoices (BETA's invoice of the same amount does not count): PAYER_IBAN_ONE, automatic."""
    index = book(
        [invoice(12, ACME, 119_000), invoice(13, ACME, 50_000), invoice(40, BETA, 119_000)]
    )

    candidates = proposals(index, line(119_000, account=ACME_IBAN))

    best = only(candidates)
    assert (best.rule, best.confidence, best.customer_id) == (
        "payer+amount",
        matching.PAYER_IBAN_ONE,
        ACME.id,
    )
    assert allocs(best) == ((12, 119_000, 0),)
    assert automatic(candidates, SETTINGS) == best


def test_known_iban_and_two_open_invoices_of_that_amount_is_ambiguous() -> None:
    """Two of ACME's invoices are open for 1,190.00: PAYER_AMBIGUOUS for each, not automatic."""
    index = book([invoice(12, ACME, 119_000), invoice(13, ACME, 119_000)])

    candidates = proposals(index, line(119_000, account=ACME_IBAN))

    assert [c.confidence for c in candidates] == [matching.PAYER_AMBIGUOUS] * 2
    assert {allocs(c) for c in candidates} == {((12, 119_000, 0),), ((13, 119_000, 0),)}
    assert automatic(candidates, SETTINGS) is None


def names_of(table: dict[str, list[tuple[int, int]]]) -> matching.NamesOf:
    return lambda name: table.get(name, [])


def test_payer_known_by_name_only_is_not_automatic() -> None:
    """An unknown IBAN, but the name scores 96 for ACME (BETA 40): PAYER_NAME_ONE (86)."""
    index = book(
        [invoice(12, ACME, 119_000)],
        names=names_of({"ACME GMBH": [(ACME.id, 96), (BETA.id, 40)]}),
    )
    bank_line = line(119_000, account=STRANGER_IBAN, counterparty_name="ACME GMBH")

    candidates = proposals(index, bank_line)

    best = only(candidates)
    assert (best.rule, best.confidence, best.customer_id) == (
        "payer+amount",
        matching.PAYER_NAME_ONE,
        ACME.id,
    )
    assert allocs(best) == ((12, 119_000, 0),)
    assert automatic(candidates, SETTINGS) is None


@pytest.mark.parametrize(
    "scores",
    [
        pytest.param([(ACME.id, 89)], id="below-name_score_min"),  # 89 < 90
        pytest.param([(ACME.id, 95), (BETA.id, 92)], id="runner-up-too-close"),  # 95 - 92 < 5
    ],
)
def test_name_that_identifies_no_one(scores: list[tuple[int, int]]) -> None:
    """A name scored below name_score_min (or too close to the runner-up) identifies no payer:
    no payer rule; the only thing left is the unique amount (UNIQUE_AMOUNT, 65)."""
    index = book([invoice(12, ACME, 119_000)], names=names_of({"ACME GMBH": scores}))
    bank_line = line(119_000, account=STRANGER_IBAN, counterparty_name="ACME GMBH")

    candidates = proposals(index, bank_line)

    best = only(candidates)
    assert (best.rule, best.confidence) == ("amount only", matching.UNIQUE_AMOUNT)
    assert not any(c.rule.startswith("payer") for c in candidates)
    assert automatic(candidates, SETTINGS) is None


# -- combinations of open invoices ----------------------------------------------------------------


def four_open() -> list[OpenInvoice]:
    # ACME owes 100.00, 250.00, 370.00 and 480.00 (oldest first); BETA 470.00, which is no
    # business of a line from ACME's account.
    return [
        invoice(21, ACME, 10_000),
        invoice(22, ACME, 25_000),
        invoice(23, ACME, 37_000),
        invoice(24, ACME, 48_000),
        invoice(40, BETA, 47_000),
    ]


def test_amount_of_exactly_one_combination_is_posted() -> None:
    """470.00 = 100.00 + 370.00, and no other pair or triple adds up (pairs: 350, 470, 580,
    620, 730, 850; the smallest triple is 720): PAYER_IBAN_COMBINATION (90), automatic."""
    candidates = proposals(book(four_open()), line(47_000, account=ACME_IBAN))

    best = only(candidates)
    assert (best.rule, best.confidence) == ("payer+combination", matching.PAYER_IBAN_COMBINATION)
    assert allocs(best) == ((21, 10_000, 0), (23, 37_000, 0))
    assert automatic(candidates, SETTINGS) == best


def test_amount_of_all_open_invoices_is_posted() -> None:
    """1,200.00 = 100 + 250 + 370 + 480, everything ACME owes: PAYER_IBAN_ALL, automatic."""
    candidates = proposals(book(four_open()), line(120_000, account=ACME_IBAN))

    best = only(candidates)
    assert (best.rule, best.confidence) == ("payer+combination", matching.PAYER_IBAN_ALL)
    assert allocs(best) == ((21, 10_000, 0), (22, 25_000, 0), (23, 37_000, 0), (24, 48_000, 0))
    assert automatic(candidates, SETTINGS) == best


def test_two_combinations_adding_up_are_ambiguous() -> None:
    """Open 100, 200, 300, 400; 500.00 = 100 + 400 = 200 + 300 (every triple is 600 or more):
    PAYER_COMBINATIONS for each, not automatic."""
    index = book(
        [
            invoice(31, ACME, 10_000),
            invoice(32, ACME, 20_000),
            invoice(33, ACME, 30_000),
            invoice(34, ACME, 40_000),
        ]
    )

    candidates = proposals(index, line(50_000, account=ACME_IBAN))

    assert [(c.rule, c.confidence) for c in candidates] == [
        ("payer+combination", matching.PAYER_COMBINATIONS)
    ] * 2
    assert {allocs(c) for c in candidates} == {
        ((31, 10_000, 0), (34, 40_000, 0)),
        ((32, 20_000, 0), (33, 30_000, 0)),
    }
    assert automatic(candidates, SETTINGS) is None


def test_amount_no_combination_reaches_offers_oldest_first_or_credit() -> None:
    """400.00 is no single invoice and no combination (pairs 350, 470, ...): PAYER_OLDEST
    would pay 100.00 + 250.00 + 50.00 of the 370.00 (100 + 250 + 50 = 400), PAYER_CREDIT
    would keep all 400.00 as credit; neither is automatic."""
    candidates = proposals(book(four_open()), line(40_000, account=ACME_IBAN))

    assert [(c.rule, c.confidence) for c in candidates] == [
        ("payer, oldest first", matching.PAYER_OLDEST),
        ("payer, credit", matching.PAYER_CREDIT),
    ]
    oldest, credit = candidates
    assert allocs(oldest) == ((21, 10_000, 0), (22, 25_000, 0), (23, 5_000, 0))
    assert oldest.credit_minor == 0
    assert (allocs(credit), credit.credit_minor) == ((), 40_000)
    assert automatic(candidates, SETTINGS) is None


def test_amount_above_everything_open_pays_all_and_keeps_the_rest_as_credit() -> None:
    """1,300.00 against 1,200.00 open: oldest first pays all four, 100.00 stays credit."""
    candidates = proposals(book(four_open()), line(130_000, account=ACME_IBAN))

    oldest = candidates[0]
    assert (oldest.rule, oldest.confidence) == ("payer, oldest first", matching.PAYER_OLDEST)
    assert allocs(oldest) == ((21, 10_000, 0), (22, 25_000, 0), (23, 37_000, 0), (24, 48_000, 0))
    assert oldest.credit_minor == 10_000  # 130,000 - 120,000
    assert automatic(candidates, SETTINGS) is None


# -- short by a bank fee, a discount, a small difference ----------------------------------------


@pytest.mark.parametrize("fee", [250, 500])
def test_short_by_a_typical_bank_fee(fee: int) -> None:
    """1,190.00 open, paid 1,190.00 less 2.50 or 5.00 (both in fees_minor): REF_FEE; the invoice
    is paid in full and the fee is what the bank kept (paid + fee = 1,190.00)."""
    index = book([invoice(12, ACME, 119_000)])

    candidates = proposals(index, line(119_000 - fee, text=number(12)))

    best = only(candidates)
    assert (best.rule, best.confidence) == ("reference", matching.REF_FEE)
    assert allocs(best) == ((12, 119_000, 0),)
    assert (best.fee_minor, best.credit_minor) == (fee, 0)
    assert automatic(candidates, SETTINGS) == best


def test_short_by_more_than_a_fee_is_a_part_payment() -> None:
    """Short by 5.01 (no fee of that size, above the 0.50 tolerance): a part payment of
    1,184.99 (119,000 - 501), no fee, not automatic from an unknown account."""
    index = book([invoice(12, ACME, 119_000)])

    candidates = proposals(index, line(118_499, text=number(12)))

    best = only(candidates)
    assert (best.rule, best.confidence) == ("reference", matching.REF_PARTIAL)
    assert allocs(best) == ((12, 118_499, 0),)
    assert best.fee_minor == 0
    assert automatic(candidates, SETTINGS) is None


def discount_invoice(open_minor: int = 100_000) -> OpenInvoice:
    # 1,000.00, 2 % (20.00) discount when paid by 10 March 2027.
    return invoice(
        50,
        ACME,
        open_minor,
        total_minor=100_000,
        discount_minor=2_000,
        discount_until=date(2027, 3, 10),
    )


@pytest.mark.parametrize(
    "booked_on",
    [
        pytest.param(date(2027, 3, 10), id="last-day"),
        pytest.param(date(2027, 3, 13), id="last-day-of-grace"),  # 10 March + 3 grace days
    ],
)
def test_early_payment_discount_within_the_period(booked_on: date) -> None:
    """1,000.00 paid as 980.00 within the discount period plus the grace days: REF_DISCOUNT;
    980.00 onto the invoice and 20.00 written off as discount (980 + 20 = 1,000)."""
    index = book([discount_invoice()])

    candidates = proposals(index, line(98_000, text=number(50), on=booked_on))

    best = only(candidates)
    assert (best.rule, best.confidence) == ("reference", matching.REF_DISCOUNT)
    assert allocs(best) == ((50, 98_000, 2_000),)
    assert best.fee_minor == 0
    assert automatic(candidates, SETTINGS) == best


def test_discount_one_day_after_the_grace_is_a_part_payment() -> None:
    """Booked 14 March, one day after 10 March + 3 grace days: no discount; 980.00 is a part
    payment and 20.00 stays open."""
    index = book([discount_invoice()])

    candidates = proposals(index, line(98_000, text=number(50), on=date(2027, 3, 14)))

    best = only(candidates)
    assert (best.rule, best.confidence) == ("reference", matching.REF_PARTIAL)
    assert allocs(best) == ((50, 98_000, 0),)
    assert automatic(candidates, SETTINGS) is None


def test_no_discount_on_an_invoice_already_partly_paid() -> None:
    """400.00 of the 1,000.00 are paid (600.00 open != 1,000.00 total): 580.00 within the
    period is a part payment (580 = 600 - 20), no discount."""
    index = book([discount_invoice(open_minor=60_000)])

    candidates = proposals(index, line(58_000, text=number(50), on=date(2027, 3, 5)))

    best = only(candidates)
    assert (best.rule, best.confidence) == ("reference", matching.REF_PARTIAL)
    assert allocs(best) == ((50, 58_000, 0),)


@pytest.mark.parametrize("short", [30, 50])
def test_short_by_a_small_difference(short: int) -> None:
    """Short by 0.30 or 0.50 (small_minor is 50): REF_SMALL; what came is allocated, the use
    case closes the difference (119,000 - 30 = 118,970)."""
    index = book([invoice(12, ACME, 119_000)])

    candidates = proposals(index, line(119_000 - short, text=number(12)))

    best = only(candidates)
    assert (best.rule, best.confidence) == ("reference", matching.REF_SMALL)
    assert allocs(best) == ((12, 119_000 - short, 0),)
    assert (best.fee_minor, best.credit_minor) == (0, 0)
    assert automatic(candidates, SETTINGS) == best


def test_short_by_more_than_the_small_difference_is_a_part_payment() -> None:
    """Short by 0.51 (> 0.50): a part payment of 1,189.49 (119,000 - 51)."""
    index = book([invoice(12, ACME, 119_000)])

    candidates = proposals(index, line(118_949, text=number(12)))

    best = only(candidates)
    assert (best.rule, best.confidence) == ("reference", matching.REF_PARTIAL)
    assert allocs(best) == ((12, 118_949, 0),)


# -- foreign currency -----------------------------------------------------------------------------

USD_EUR = Decimal("0.92")  # the day's rate: 1 USD = 0.92 EUR


def day_rate(from_currency: str, to_currency: str, on: date) -> Decimal | None:
    return USD_EUR if (from_currency, to_currency) == ("USD", "EUR") else None


def usd_book(**kwargs: Any) -> MatchIndex:
    # 1,000.00 USD open: 920.00 EUR at the day's rate; 1.5 % of that is 13.80 EUR, so
    # 906.20 .. 933.80 EUR fit.
    return book([invoice(60, ACME, 100_000, currency="USD")], **kwargs)


@pytest.mark.parametrize(
    ("paid", "rate"),
    [
        (91_500, Decimal("0.915")),  # 915.00 / 1,000.00
        (90_620, Decimal("0.9062")),  # 920.00 - 13.80: at the edge
        (93_380, Decimal("0.9338")),  # 920.00 + 13.80: at the other edge
    ],
)
def test_payment_in_another_currency_within_the_rate_tolerance(paid: int, rate: Decimal) -> None:
    """A USD invoice paid in EUR within 1.5 % of the day's rate: REF_FX, at the rate that turns
    the USD open amount into exactly the EUR received."""
    candidates = proposals(usd_book(rate=day_rate), line(paid, text=number(60)))

    best = only(candidates)
    assert (best.rule, best.confidence) == ("reference", matching.REF_FX)
    assert allocs(best) == ((60, 100_000, 0),)
    assert best.rate == rate
    assert best.rate is not None
    assert convert_minor(100_000, "USD", "EUR", best.rate) == paid
    assert automatic(candidates, SETTINGS) == best


@pytest.mark.parametrize("paid", [90_619, 93_381])  # 13.81 EUR from 920.00: outside
def test_payment_in_another_currency_outside_the_tolerance(paid: int) -> None:
    """13.81 EUR off the 920.00 expected (more than 1.5 %): no candidate for the invoice."""
    candidates = proposals(usd_book(rate=day_rate), line(paid, text=number(60)))

    assert not any(a.invoice_id == 60 for c in candidates for a in c.allocations)
    assert candidates == ()


def test_instructed_amount_equal_to_the_foreign_open_amount() -> None:
    """The payer instructed exactly 1,000.00 USD; the bank booked 950.00 EUR (3.3 % off the
    day's rate, and no rate is even needed): REF_INSTRUCTED_FX at 950.00 / 1,000.00 = 0.95."""
    bank_line = line(95_000, text=number(60), instructed_minor=100_000, instructed_currency="USD")

    candidates = proposals(usd_book(), bank_line)

    best = only(candidates)
    assert (best.rule, best.confidence) == ("reference", matching.REF_INSTRUCTED_FX)
    assert allocs(best) == ((60, 100_000, 0),)
    assert best.rate == Decimal("0.95")
    assert automatic(candidates, SETTINGS) == best


def test_instructed_amount_other_than_the_open_amount_is_not_instructed_fx() -> None:
    """999.99 USD instructed is not the 1,000.00 open, and 950.00 EUR is 30.00 from the 920.00
    of the day's rate (more than 13.80): nothing fits."""
    bank_line = line(95_000, text=number(60), instructed_minor=99_999, instructed_currency="USD")

    assert proposals(usd_book(rate=day_rate), bank_line) == ()


# -- conflicts ------------------------------------------------------------------------------------


def test_reference_to_another_customers_invoice_from_a_known_iban_is_capped() -> None:
    """The text names BETA's 000040 (exactly its 500.00), but the money comes from ACME's
    IBAN: the reference is capped at CONFLICT_PAYER, and ACME's own exact match (000013 is
    open for 500.00, PAYER_IBAN_ONE otherwise) is capped at CONFLICT_NAME: nothing automatic."""
    index = book([invoice(12, ACME, 119_000), invoice(13, ACME, 50_000), invoice(40, BETA, 50_000)])

    candidates = proposals(index, line(50_000, text=number(40), account=ACME_IBAN))

    assert [(c.rule, c.confidence, c.customer_id) for c in candidates] == [
        ("payer+amount", matching.CONFLICT_NAME, ACME.id),
        ("reference, other payer", matching.CONFLICT_PAYER, BETA.id),
    ]
    assert allocs(candidates[0]) == ((13, 50_000, 0),)
    assert allocs(candidates[1]) == ((40, 50_000, 0),)
    assert automatic(candidates, SETTINGS) is None


def test_conflict_also_caps_a_mistyped_number_of_the_payers_own_invoice() -> None:
    """The text names BETA's 000040 and a typo of ACME's 000012 ('000021'), the amount is what
    ACME owes on 000012 and it comes from ACME's IBAN. Which debt the money settles is for a
    person to decide: the typo match (NEAR_PAYER otherwise) is capped like the payer's own
    matches, at CONFLICT_NAME, and nothing is automatic."""
    index = book([invoice(12, ACME, 119_000), invoice(40, BETA, 50_000)])
    bank_line = line(119_000, text=f"{number(40)} INV-2027-000021", account=ACME_IBAN)

    candidates = proposals(index, bank_line)

    near = [c for c in candidates if c.rule == "reference~"]
    assert [(c.confidence, allocs(c)) for c in near] == [
        (matching.CONFLICT_NAME, ((12, 119_000, 0),))
    ]
    assert all(c.confidence <= matching.CONFLICT_NAME for c in candidates)
    assert automatic(candidates, SETTINGS) is None


def test_references_to_invoices_of_two_customers_are_capped() -> None:
    """The text names ACME's 000012 and BETA's 000040: CONFLICT_CUSTOMERS for each; ACME's
    would be exact (1,190.00), BETA's 500.00 leaves 690.00 credit (119,000 - 50,000)."""
    index = book([invoice(12, ACME, 119_000), invoice(40, BETA, 50_000)])

    candidates = proposals(index, line(119_000, text=f"{number(12)}, {number(40)}"))

    assert {c.rule for c in candidates} == {"reference, several customers"}
    assert [c.confidence for c in candidates] == [matching.CONFLICT_CUSTOMERS] * 2
    assert {(c.customer_id, allocs(c), c.credit_minor) for c in candidates} == {
        (ACME.id, ((12, 119_000, 0),), 0),
        (BETA.id, ((40, 50_000, 0),), 69_000),
    }
    assert automatic(candidates, SETTINGS) is None


# -- part payments and overpayments ---------------------------------------------------------------


def test_part_payment_from_the_customers_own_account_is_posted() -> None:
    """400.00 of 1,190.00 with the number, from ACME's IBAN: REF_PARTIAL_PAYER (92), automatic;
    790.00 stays open."""
    candidates = proposals(
        book([invoice(12, ACME, 119_000)]), line(40_000, text=number(12), account=ACME_IBAN)
    )

    best = only(candidates)
    assert (best.rule, best.confidence) == ("reference", matching.REF_PARTIAL_PAYER)
    assert allocs(best) == ((12, 40_000, 0),)
    assert automatic(candidates, SETTINGS) == best


def test_part_payment_from_an_unknown_account_is_not_automatic() -> None:
    """The same part payment from an unknown IBAN: REF_PARTIAL (86)."""
    candidates = proposals(
        book([invoice(12, ACME, 119_000)]), line(40_000, text=number(12), account=STRANGER_IBAN)
    )

    best = only(candidates)
    assert (best.rule, best.confidence) == ("reference", matching.REF_PARTIAL)
    assert allocs(best) == ((12, 40_000, 0),)
    assert automatic(candidates, SETTINGS) is None


@pytest.mark.parametrize("account", [ACME_IBAN, STRANGER_IBAN])
def test_part_payment_next_to_an_invoice_of_exactly_that_amount_is_a_trap(account: str) -> None:
    """400.00 naming 000012 (1,190.00 open) while 000013, one character away, is open for
    exactly 400.00: the number may be mistyped, so the part payment is capped at TRAP."""
    index = book([invoice(12, ACME, 119_000), invoice(13, BETA, 40_000)])

    candidates = proposals(index, line(40_000, text=number(12), account=account))

    reference = [c for c in candidates if c.rule == "reference"]
    assert [(c.confidence, allocs(c)) for c in reference] == [(matching.TRAP, ((12, 40_000, 0),))]
    assert automatic(candidates, SETTINGS) is None


def test_overpayment_keeps_the_surplus_as_credit() -> None:
    """1,250.00 for 1,190.00 from ACME's IBAN: the invoice is paid, 60.00 (125,000 - 119,000)
    stays credit; REF_OVER_PAYER (90) is automatic."""
    candidates = proposals(
        book([invoice(12, ACME, 119_000)]), line(125_000, text=number(12), account=ACME_IBAN)
    )

    best = only(candidates)
    assert (best.rule, best.confidence) == ("reference", matching.REF_OVER_PAYER)
    assert allocs(best) == ((12, 119_000, 0),)
    assert best.credit_minor == 6_000
    assert automatic(candidates, SETTINGS) == best


def test_overpayment_from_an_unknown_account_is_not_automatic() -> None:
    """The same overpayment from an unknown IBAN: REF_OVER (84), 60.00 credit."""
    candidates = proposals(book([invoice(12, ACME, 119_000)]), line(125_000, text=number(12)))

    best = only(candidates)
    assert (best.confidence, best.credit_minor) == (matching.REF_OVER, 6_000)
    assert automatic(candidates, SETTINGS) is None


# -- already in the book --------------------------------------------------------------------------


def hand_payment(on: date, customer_id: int | None = ACME.id) -> BookItem:
    """A payment of 1,190.00 recorded by hand before the statement came."""
    return BookItem(
        entry_id=501,
        kind="payment",
        amount_minor=119_000,
        currency="EUR",
        on=on,
        customer_id=customer_id,
        payment_id=77,
    )


@pytest.mark.parametrize("days", [3, 10, -10])  # book_window_days is 10, either side
def test_same_amount_from_the_same_payer_in_the_book_is_linked(days: int) -> None:
    """The book has 1,190.00 from ACME within 10 days: BOOK_CONFIRMED (97), automatic; the
    payer's own rules (oldest first onto 000013, credit) are far behind."""
    index = book([invoice(13, ACME, 50_000)], book=[hand_payment(ON - timedelta(days=days))])

    candidates = proposals(index, line(119_000, account=ACME_IBAN))

    best = candidates[0]
    assert (best.action, best.rule, best.confidence) == (
        Action.BOOK,
        "already in the book",
        matching.BOOK_CONFIRMED,
    )
    assert best.book_entry_ids == (501,)
    assert best.allocations == ()
    assert automatic(candidates, SETTINGS) == best


def test_book_entry_eleven_days_away_is_not_linked() -> None:
    """Recorded 11 days before the line (18 Feb to 1 Mar): outside the window, no book
    candidate."""
    index = book([invoice(13, ACME, 50_000)], book=[hand_payment(date(2027, 2, 18))])

    candidates = proposals(index, line(119_000, account=ACME_IBAN))

    assert not any(c.action == Action.BOOK for c in candidates)
    assert automatic(candidates, SETTINGS) is None


def test_same_amount_in_the_book_from_an_unknown_payer_is_only_likely() -> None:
    """The line comes from an unknown IBAN: only the amount and the date agree: BOOK_AMOUNT."""
    index = book([invoice(13, ACME, 50_000)], book=[hand_payment(date(2027, 2, 26))])

    candidates = proposals(index, line(119_000, account=STRANGER_IBAN))

    best = only(candidates)
    assert (best.action, best.confidence) == (Action.BOOK, matching.BOOK_AMOUNT)
    assert best.book_entry_ids == (501,)
    assert automatic(candidates, SETTINGS) is None


# -- returned payments ----------------------------------------------------------------------------

RETURNED_E2E = "E2E-ACME-0001"
OTHER_IBAN = "NL91ABNA0417164300"  # not in master data, but the earlier payment came from it


def earlier_payment(days_before: int = 28, payer_account: str = ACME_IBAN) -> PaymentSeen:
    return PaymentSeen(
        payment_id=77,
        customer_id=ACME.id,
        amount_minor=119_000,
        currency="EUR",
        received_on=ON - timedelta(days=days_before),
        end_to_end_id=RETURNED_E2E,
        payer_account=payer_account,
    )


@pytest.mark.parametrize("days_before", [28, 120])  # return_window_days is 120
def test_return_naming_the_end_to_end_id(days_before: int) -> None:
    """A debit of 1,190.00 with return reason AM04 and the end-to-end id of payment 77:
    RETURN_E2E, automatic."""
    index = book([], payments=[earlier_payment(days_before)])
    bank_line = line(-119_000, return_reason="AM04", end_to_end_id=RETURNED_E2E)

    candidates = proposals(index, bank_line)

    best = only(candidates)
    assert (best.action, best.rule, best.confidence) == (
        Action.RETURN,
        "returned payment",
        matching.RETURN_E2E,
    )
    assert (best.payment_id, best.customer_id) == (77, ACME.id)
    assert automatic(candidates, SETTINGS) == best


@pytest.mark.parametrize(
    ("account", "paid_from"),
    [
        pytest.param(ACME_IBAN, ACME_IBAN, id="payer-by-iban"),
        pytest.param(OTHER_IBAN, OTHER_IBAN, id="same-account-as-the-payment"),
    ],
)
def test_return_by_payer(account: str, paid_from: str) -> None:
    """No end-to-end id, but the payer (or the account the payment came from): RETURN_PAYER."""
    index = book([], payments=[earlier_payment(payer_account=paid_from)])

    candidates = proposals(index, line(-119_000, account=account, return_reason="AM04"))

    best = only(candidates)
    assert (best.action, best.confidence, best.payment_id) == (
        Action.RETURN,
        matching.RETURN_PAYER,
        77,
    )
    assert automatic(candidates, SETTINGS) == best


def test_return_outside_the_window_finds_no_payment() -> None:
    """The payment is 121 days old (window 120): no return candidate."""
    index = book([], payments=[earlier_payment(days_before=121)])
    bank_line = line(-119_000, return_reason="AM04", end_to_end_id=RETURNED_E2E)

    assert proposals(index, bank_line) == ()


def test_debit_without_a_return_reason_is_no_return() -> None:
    """The same debit with the same end-to-end id but no return reason is not a return."""
    index = book([], payments=[earlier_payment()])

    candidates = proposals(index, line(-119_000, end_to_end_id=RETURNED_E2E))

    assert not any(c.action == Action.RETURN for c in candidates)
    assert candidates == ()


# -- other money: charges, interest, own transfers ----------------------------------------------


@pytest.mark.parametrize("code", ["PMNT/CCRD/CHRG", "NCHG"])  # camt family/sub-family; MT940
def test_bank_charges_by_transaction_code(code: str) -> None:
    """A debit of 12.50 the bank codes as charges: OTHER_CODE, category fee, automatic."""
    candidates = proposals(book([]), line(-1_250, transaction_code=code))

    best = only(candidates)
    assert (best.action, best.category, best.confidence) == (
        Action.OTHER,
        "fee",
        matching.OTHER_CODE,
    )
    assert automatic(candidates, SETTINGS) == best


def test_bank_charges_by_text() -> None:
    """'Kontoführungsentgelt' (account fee), a debit of 12.50 and no counterparty:
    OTHER_TEXT_BANK (92), category fee, automatic."""
    candidates = proposals(book([]), line(-1_250, text="Kontoführungsentgelt 02/2027"))

    best = only(candidates)
    assert (best.action, best.category, best.confidence) == (
        Action.OTHER,
        "fee",
        matching.OTHER_TEXT_BANK,
    )
    assert automatic(candidates, SETTINGS) == best


@pytest.mark.parametrize("amount", [-100_001, -2_500_000])
def test_large_debit_saying_fees_is_not_automatic(amount: int) -> None:
    """The same text on a debit of more than 1,000.00 (1,000.01, 25,000.00): OTHER_TEXT (85),
    a person looks; at exactly 1,000.00 it is still automatic."""
    large = proposals(book([]), line(amount, text="Kontoführungsentgelt 02/2027"))
    at_limit = proposals(book([]), line(-100_000, text="Kontoführungsentgelt 02/2027"))

    assert [(c.category, c.confidence) for c in large] == [("fee", matching.OTHER_TEXT)]
    assert automatic(large, SETTINGS) is None
    assert [c.confidence for c in at_limit] == [matching.OTHER_TEXT_BANK]


def test_customer_payment_mentioning_fees_is_no_bank_charge() -> None:
    """1,190.00 from ACME's IBAN, text 'consulting fees': a payment (PAYER_IBAN_ONE), no fee."""
    index = book([invoice(12, ACME, 119_000)])

    candidates = proposals(index, line(119_000, text="consulting fees", account=ACME_IBAN))

    best = only(candidates)
    assert (best.action, best.confidence) == (Action.PAYMENT, matching.PAYER_IBAN_ONE)
    assert not any(c.action == Action.OTHER for c in candidates)


def test_debit_to_a_known_payer_mentioning_fees_is_no_bank_charge() -> None:
    """A debit of 12.50 to ACME's IBAN, text 'Gebühren': money to a customer is not the bank's
    charge, whatever the text says (the same debit without a counterparty is a fee)."""
    to_acme = proposals(book([]), line(-1_250, text="Gebühren", account=ACME_IBAN))
    to_nobody = proposals(book([]), line(-1_250, text="Gebühren"))

    assert not any(c.action == Action.OTHER for c in to_acme)
    assert [(c.category, c.confidence) for c in to_nobody] == [("fee", matching.OTHER_TEXT_BANK)]


def test_interest_by_transaction_code() -> None:
    """A credit of 3.21 coded INTR: OTHER_CODE, category interest, automatic."""
    candidates = proposals(book([]), line(321, transaction_code="INTR"))

    best = only(candidates)
    assert (best.category, best.confidence) == ("interest", matching.OTHER_CODE)
    assert automatic(candidates, SETTINGS) == best


@pytest.mark.parametrize(
    ("name", "confidence"),
    [
        ("", matching.OTHER_TEXT),
        ("Musterbank AG", matching.OTHER_TEXT),
        ("Muster Handel GmbH", matching.OTHER_TEXT_LOOSE),  # not a bank: less sure
    ],
)
def test_interest_by_text(name: str, confidence: int) -> None:
    """'Zinsgutschrift' (interest credited) and no payer: category interest."""
    candidates = proposals(book([]), line(321, text="Zinsgutschrift Q1", counterparty_name=name))

    best = only(candidates)
    assert (best.category, best.confidence) == ("interest", confidence)
    assert automatic(candidates, SETTINGS) is None


@pytest.mark.parametrize("amount", [500_000, -500_000])
@pytest.mark.parametrize("account", [OWN_IBAN, "DE44 5001 0517 5407 3249 31"])
def test_transfer_to_or_from_an_own_account(amount: int, account: str) -> None:
    """Money to or from one of the entity's own accounts (also written in groups of four):
    TRANSFER_OWN, category transfer, automatic."""
    index = book([], own_accounts=[OWN_IBAN])

    candidates = proposals(index, line(amount, account=account))

    best = only(candidates)
    assert (best.action, best.category, best.confidence) == (
        Action.OTHER,
        "transfer",
        matching.TRANSFER_OWN,
    )
    assert automatic(candidates, SETTINGS) == best


# -- refunds --------------------------------------------------------------------------------------


@pytest.mark.parametrize("credit", [5_000, 8_000])
def test_refund_of_customer_credit_is_never_automatic(credit: int) -> None:
    """50.00 out to ACME, who has 50.00 or 80.00 of credit: REFUND_CREDIT, and not posted
    automatically, not even when the threshold is lowered below its confidence."""
    index = book([], credits_minor={(ACME.id, "EUR"): credit})

    candidates = proposals(index, line(-5_000, account=ACME_IBAN))

    best = only(candidates)
    assert (best.action, best.rule, best.confidence, best.customer_id) == (
        Action.REFUND,
        "refund",
        matching.REFUND_CREDIT,
        ACME.id,
    )
    assert automatic(candidates, SETTINGS) is None
    assert automatic(candidates, MatchSettings(auto_threshold=60)) is None


def test_automatic_refuses_a_refund_even_at_full_confidence() -> None:
    """`automatic` refuses any refund, however sure; the same candidate as a payment passes."""
    refund = Candidate(Action.REFUND, 100, "refund", "a refund", customer_id=ACME.id)
    payment = Candidate(Action.PAYMENT, 100, "reference", "a payment", customer_id=ACME.id)

    assert automatic([refund], SETTINGS) is None
    assert automatic([payment], SETTINGS) == payment


def test_no_refund_beyond_the_customers_credit() -> None:
    """50.00 out to ACME, who has only 49.99 of credit: no refund candidate."""
    index = book([], credits_minor={(ACME.id, "EUR"): 4_999})

    assert proposals(index, line(-5_000, account=ACME_IBAN)) == ()


# -- invoices paid already ------------------------------------------------------------------------


def test_paid_invoice_named_again_is_kept_as_credit() -> None:
    """000005 is paid already (the `known` callback knows it): ALREADY_PAID, the whole
    1,190.00 as ACME's credit, no allocation (not even to 000012, open for exactly 1,190.00)."""
    paid = {"INV2027000005": (number(5), ACME.id)}
    index = book([invoice(12, ACME, 119_000)], known=paid.get)

    candidates = proposals(index, line(119_000, text=number(5)))

    best = only(candidates)
    assert (best.rule, best.confidence, best.customer_id) == (
        "reference, paid already",
        matching.ALREADY_PAID,
        ACME.id,
    )
    assert (best.allocations, best.credit_minor) == ((), 119_000)
    assert automatic(candidates, SETTINGS) is None


def test_number_unknown_to_the_book_is_not_paid_already() -> None:
    """Without the callback knowing 000005, nothing is proposed."""
    index = book([invoice(12, ACME, 119_000)], known=lambda key: None)

    assert proposals(index, line(119_000, text=number(5))) == ()


# -- settle: what a run has used -----------------------------------------------------------------


def test_settled_invoice_is_not_paid_twice() -> None:
    """After the first line paid 000012 in full, a second line naming it gets no allocation to
    it: the payer's money can only stay credit."""
    index = book([invoice(12, ACME, 119_000)])
    first = line(119_000, text=number(12), account=ACME_IBAN)
    picked = automatic(proposals(index, first), SETTINGS)
    assert picked is not None and allocs(picked) == ((12, 119_000, 0),)

    index.settle(picked, first)
    second = line(119_000, text=number(12), account=ACME_IBAN, line_id=2)
    candidates = proposals(index, second)

    assert 12 not in index.invoices
    assert not any(a.invoice_id == 12 for c in candidates for a in c.allocations)
    best = only(candidates)
    assert (best.rule, best.credit_minor) == ("payer, credit", 119_000)
    assert automatic(candidates, SETTINGS) is None


def test_after_a_part_payment_the_rest_is_what_is_open() -> None:
    """400.00 of 1,190.00 settled: 790.00 is open (119,000 - 40,000 = 79,000), and a second
    line of 790.00 naming the invoice is its exact open amount."""
    index = book([invoice(12, ACME, 119_000)])
    first = line(40_000, text=number(12), account=ACME_IBAN)
    picked = automatic(proposals(index, first), SETTINGS)
    assert picked is not None and allocs(picked) == ((12, 40_000, 0),)

    index.settle(picked, first)
    second = line(79_000, text=number(12), line_id=2)
    candidates = proposals(index, second)

    assert index.invoices[12].open_minor == 79_000
    best = only(candidates)
    assert (best.rule, best.confidence) == ("reference", matching.REF_EXACT_NUMBER)
    assert allocs(best) == ((12, 79_000, 0),)


def test_settled_discount_closes_the_invoice() -> None:
    """980.00 paid and 20.00 discount settled: 1,000.00 - 980.00 - 20.00 = 0, the invoice is
    closed."""
    index = book([discount_invoice()])
    first = line(98_000, text=number(50), on=date(2027, 3, 5))
    picked = automatic(proposals(index, first), SETTINGS)
    assert picked is not None and allocs(picked) == ((50, 98_000, 2_000),)

    index.settle(picked, first)

    assert 50 not in index.invoices
    assert proposals(index, line(2_000, text=number(50), line_id=2)) == ()


def test_settled_book_entry_is_not_linked_twice() -> None:
    """After a line is linked to the hand-recorded payment, the same line again finds no book
    entry."""
    index = book([], book=[hand_payment(date(2027, 2, 26))])
    first = line(119_000, account=ACME_IBAN)
    picked = automatic(proposals(index, first), SETTINGS)
    assert picked is not None and picked.book_entry_ids == (501,)

    index.settle(picked, first)

    assert not any(c.action == Action.BOOK for c in proposals(index, first))
