"""VAT numbers, tax numbers, IBANs, BICs and country codes.

The valid numbers are published examples (stdnum's documentation, the SWIFT IBAN registry);
their check digits are recomputed below by the published algorithms, independently of the
libraries under test. Each invalid number is a valid one with one character changed.
"""

from __future__ import annotations

import pytest

from openbill.domain.rejections import InvalidInput
from openbill.identifiers import (
    IDENTIFIER_LENGTH_MAX,
    validate_bic,
    validate_country,
    validate_iban,
    validate_tax_number,
    validate_vat_number,
)

# --- the example numbers are right by the standards themselves --------------------------------


def _iso7064_mod11_10_check(digits: str) -> int:
    """ISO 7064 MOD 11,10: the German VAT number and IdNr check digit."""
    product = 10
    for d in digits:
        total = (int(d) + product) % 10 or 10
        product = (2 * total) % 11
    return (11 - product) % 10


def _iban_is_valid(iban: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to 10..35, mod 97 == 1."""
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def test_example_check_digits_by_hand() -> None:
    assert _iso7064_mod11_10_check("13669597") == 6  # DE136695976
    assert _iso7064_mod11_10_check("3657426180") == 9  # IdNr 36574261809
    assert (12 + 3 * (954506077 % 97)) % 97 == 61  # FR61954506077: key from the SIREN
    assert 97 - 6974499 % 97 == 92  # BE0697449992
    # GB980780684: weights 8..2 over seven digits plus the last two, divisible by 97.
    assert (sum(int(d) * w for d, w in zip("9807806", range(8, 1, -1), strict=True)) + 84) % 97 == 0
    for iban in ("DE89370400440532013000", "GB29NWBK60161331926819", "BE68539007547034"):
        assert _iban_is_valid(iban)
    for iban in ("DE89370400440532013001", "GB29NWBK60161331926818", "BE68539007547035"):
        assert not _iban_is_valid(iban)


# --- VAT numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "country", "expected"),
    [
        ("DE 136 695 976", None, "DE136695976"),
        ("de136695976", None, "DE136695976"),
        ("DE 136.695-976", None, "DE136695976"),
        ("136695976", "DE", "DE136695976"),
        ("136695976", "de", "DE136695976"),
        ("ATU57194903", None, "ATU57194903"),
        ("FR 61 954 506 077", None, "FR61954506077"),
        ("BE0697449992", "BE", "BE0697449992"),
        ("NL004495445B01", None, "NL004495445B01"),
        ("IT00743110157", None, "IT00743110157"),
        ("EL094259216", None, "EL094259216"),
        ("GR094259216", None, "EL094259216"),
        ("094259216", "GR", "EL094259216"),
        ("XI980780684", "GB", "XI980780684"),
        ("GB980780684", None, "GB980780684"),
        ("980 7806 84", "GB", "GB980780684"),
        ("CHE-116.281.710 MWST", None, "CHE116281710MWST"),
        ("NO 995 525 828 MVA", None, "NO995525828MVA"),
        ("995525828MVA", "NO", "NO995525828MVA"),
    ],
)
def test_valid_vat_numbers_come_back_compact(
    typed: str, country: str | None, expected: str
) -> None:
    assert validate_vat_number(typed, country) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "DE136695977",
        "ATU57194904",
        "FR61954506078",
        "BE0697449993",
        "NL004495446B01",
        "IT00743110158",
        "EL094259217",
        "GB980780685",
        "CHE-116.281.711 MWST",
        "NO 995 525 829 MVA",
    ],
)
def test_one_digit_changed_breaks_the_check_digit(typed: str) -> None:
    with pytest.raises(InvalidInput, match="the check digit does not match") as caught:
        validate_vat_number(typed)
    assert caught.value.field == "vat_id"


def test_vat_message_says_what_is_wrong() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_vat_number("DE 136 695 977")
    assert caught.value.reason == (
        "DE136695977 is not a valid VAT number: the check digit does not match"
    )
    assert caught.value.message == (
        "field vat_id: DE136695977 is not a valid VAT number: the check digit does not match"
    )


@pytest.mark.parametrize(
    ("typed", "country", "reason"),
    [
        (
            "DE13669597",
            None,
            "DE13669597 is not a valid VAT number: "
            "it has the wrong number of characters for Germany",
        ),
        (
            "DEX36695976",
            None,
            "DEX36695976 is not a valid VAT number: "
            "its characters are not in the format used for Germany",
        ),
        ("ATU57194903", "DE", "ATU57194903 is a VAT number of Austria, not of Germany"),
        (
            "136695976",
            None,
            "136695976 does not start with a country code; give the country of the VAT number",
        ),
        ("123456789", "US", "openbill has no check for VAT numbers of the United States"),
        ("  ", None, "the VAT number is empty"),
        ("DE" + "1" * IDENTIFIER_LENGTH_MAX, None, "the VAT number is longer than 64 characters"),
    ],
)
def test_vat_refusals(typed: str, country: str | None, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_vat_number(typed, country)
    assert caught.value.reason == reason
    assert caught.value.field == "vat_id"


def test_a_bad_country_is_blamed_on_the_country_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_vat_number("136695976", "UK")
    assert caught.value.field == "country"
    assert caught.value.reason == "UK is not an ISO 3166 country code; the United Kingdom is GB"


# --- national tax numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "country", "expected"),
    [
        ("181/815/08155", "DE", "18181508155"),  # Steuernummer, NRW layout
        ("36 574 261 809", "DE", "36574261809"),  # IdNr
        ("91-1144442", "US", "911144442"),  # EIN
        ("1955839661", "GB", "1955839661"),  # UTR
        ("552 008 443", "FR", "552008443"),  # SIREN
        ("732 829 320 00074", "FR", "73282932000074"),  # SIRET
        ("RCCMNL83S18D969H", "IT", "RCCMNL83S18D969H"),  # codice fiscale
        ("B-58378431", "ES", "B58378431"),  # NIF, via stdnum's national VAT form
    ],
)
def test_valid_tax_numbers(typed: str, country: str, expected: str) -> None:
    assert validate_tax_number(typed, country) == expected


@pytest.mark.parametrize(
    ("typed", "country", "reason"),
    [
        (
            "1955839662",
            "GB",
            "1955839662 is not a valid UK Unique Taxpayer Reference (UTR): "
            "the check digit does not match",
        ),
        (
            "07-1144442",
            "US",
            "071144442 is not a valid US Employer Identification Number (EIN): "
            "a part of it (such as a region, office or date code) is not valid",
        ),
        (
            "181/815/081",
            "DE",
            "181815081 is not a valid tax number of Germany: "
            "as German Steuernummer, it has the wrong number of characters; "
            "as German tax identification number (IdNr), "
            "it has the wrong number of characters",
        ),
        ("12345", "NG", "openbill has no check for tax numbers of Nigeria"),
    ],
)
def test_tax_number_refusals(typed: str, country: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_tax_number(typed, country)
    assert caught.value.reason == reason
    assert caught.value.field == "tax_number"


@pytest.mark.parametrize(
    ("typed", "country"),
    [("552008442", "FR"), ("RCCMNL83S18D969I", "IT")],
)
def test_tax_number_with_one_character_changed_is_refused(typed: str, country: str) -> None:
    with pytest.raises(InvalidInput, match="the check digit does not match"):
        validate_tax_number(typed, country)


def test_a_german_idnr_with_a_wrong_check_digit_still_has_a_steuernummer_layout() -> None:
    # stdnum checks the Steuernummer's layout only; 11 digits fit the layout of several Länder.
    assert validate_tax_number("36574261808", "DE") == "36574261808"


# --- IBAN and BIC --------------------------------------------------------------------------------

REGISTRY_EXAMPLES = [
    "DE89370400440532013000",
    "GB29NWBK60161331926819",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "CH9300762011623852957",
    "BE68539007547034",
]


@pytest.mark.parametrize("iban", REGISTRY_EXAMPLES)
def test_iban_registry_examples_are_valid(iban: str) -> None:
    assert _iban_is_valid(iban)
    spaced = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)).lower()
    assert validate_iban(spaced) == iban


@pytest.mark.parametrize("iban", REGISTRY_EXAMPLES)
def test_iban_with_its_last_digit_changed_is_refused(iban: str) -> None:
    changed = iban[:-1] + str((int(iban[-1]) + 1) % 10)
    with pytest.raises(InvalidInput) as caught:
        validate_iban(changed)
    assert caught.value.reason == f"{changed} is not a valid IBAN: the check digits do not match"
    assert caught.value.field == "iban"


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("DE8937040044053201300", "an IBAN of Germany has 22 characters, this one has 21"),
        ("XX89370400440532013000", "XX is not a country code"),
        ("US64SVBKUS6S3300958879", "the United States does not use IBANs"),
        ("DE89370400440532O13000", "the account part is not laid out as in Germany (8!n10!n)"),
        ("DE89-3704-0044", "it may contain only letters A-Z, digits and spaces"),
        ("1234", "an IBAN starts with a two-letter country code and two check digits"),
    ],
)
def test_iban_refusals_say_what_is_wrong(typed: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_iban(typed)
    assert caught.value.reason.endswith(reason)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("DEUTDEFF", "DEUTDEFF"),
        ("deut de ff 500", "DEUTDEFF500"),
        ("NWBKGB2L", "NWBKGB2L"),
        ("BNPAFRPPXXX", "BNPAFRPPXXX"),
    ],
)
def test_valid_bics(typed: str, expected: str) -> None:
    assert validate_bic(typed) == expected


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("DEUTDEF", "DEUTDEF is not a valid BIC: a BIC has 8 or 11 characters, this one has 7"),
        ("DEUTXXFF", "DEUTXXFF is not a valid BIC: XX is not a country code"),
        (
            "DEUT1EFF",
            "DEUT1EFF is not a valid BIC: a BIC is 4 letters or digits for the bank, "
            "2 letters for the country, 2 for the location and optionally 3 for the branch",
        ),
    ],
)
def test_bic_refusals(typed: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_bic(typed)
    assert caught.value.reason == reason
    assert caught.value.field == "bic"


# --- country codes -------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "expected"), [("de", "DE"), (" nl ", "NL"), ("GB", "GB")])
def test_country_codes_are_uppercase_alpha_2(typed: str, expected: str) -> None:
    assert validate_country(typed) == expected


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("ZZ", "ZZ is not an ISO 3166 two-letter country code"),
        ("D", "D is not an ISO 3166 two-letter country code"),
        ("DEU", "DEU is a three-letter code; use the two-letter code DE"),
        ("EL", "EL is not an ISO 3166 country code; Greece is GR"),
        ("", "the country code is empty"),
    ],
)
def test_country_refusals(typed: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_country(typed)
    assert caught.value.reason == reason
    assert caught.value.field == "country"
