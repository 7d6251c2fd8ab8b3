"""Validation of the identifiers on a customer or supplier record.

Each function takes what a user typed, returns the identifier in its normalised (compact) form,
or raises `InvalidInput` naming the field and saying in plain words what is wrong. The checks
come from the libraries the field trusts: python-stdnum (VAT and national tax numbers, with
their check digits), schwifty (IBAN per ISO 13616 and the SWIFT IBAN registry, BIC per
ISO 9362) and pycountry (ISO 3166-1 country codes).

    >>> validate_vat_number("DE 136 695 976")
    'DE136695976'
    >>> validate_iban("de89 3704 0044 0532 0130 00")
    'DE89370400440532013000'

This module sits outside `openbill.domain` on purpose: the domain stays free of these
libraries, and use cases and interfaces call these functions before building domain values.
"""

from __future__ import annotations

import re
from types import ModuleType

import pycountry
from schwifty import BIC, IBAN
from schwifty import exceptions as iban_errors
from stdnum import get_cc_module
from stdnum.de import idnr as de_idnr
from stdnum.de import stnr as de_stnr
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)
from stdnum.fr import nif as fr_nif
from stdnum.fr import siren as fr_siren
from stdnum.fr import siret as fr_siret
from stdnum.gb import utr as gb_utr
from stdnum.it import codicefiscale as it_codicefiscale
from stdnum.it import iva as it_iva
from stdnum.us import ein as us_ein

from openbill.domain.rejections import InvalidInput

__all__ = [
    "IDENTIFIER_LENGTH_MAX",
    "validate_bic",
    "validate_country",
    "validate_iban",
    "validate_tax_number",
    "validate_vat_number",
]

# Longer input is refused before any library sees it. The longest identifier here, an IBAN
# of Saint Lucia, has 32 characters; 64 leaves room for the spaces people type.
IDENTIFIER_LENGTH_MAX = 64

# Separators people type inside VAT and tax numbers; stdnum drops them too.
_SEPARATORS = re.compile(r"[\s.,/-]+")

# EU VAT prefixes and the ISO country behind each: Greece writes EL, Northern Ireland XI.
# stdnum also accepts GR for Greece; it is normalised to EL, the prefix VIES uses.
_COUNTRY_BY_EU_PREFIX: dict[str, str] = {
    ("EL" if cc == "gr" else cc.upper()): ("GB" if cc == "xi" else cc.upper())
    for cc in eu_vat.MEMBER_STATES
}
_EU_PREFIX_BY_COUNTRY: dict[str, str] = {
    country: prefix for prefix, country in _COUNTRY_BY_EU_PREFIX.items() if prefix != "XI"
}

# Non-EU VAT numbers that are written with their country code in front on invoices, although
# stdnum's compact form leaves it out.
_NATIONAL_VAT_PREFIXED = frozenset({"GB", "NO"})

# Tax numbers with more than one national form, or whose form is not found by stdnum's
# `get_cc_module(cc, "tin")`: the forms are tried in this order. Other countries fall back to
# stdnum's "tin" module, then to the national form of their VAT number.
_TAX_NUMBER_FORMS: dict[str, tuple[tuple[str, ModuleType], ...]] = {
    "DE": (
        ("German Steuernummer", de_stnr),
        ("German tax identification number (IdNr)", de_idnr),
    ),
    "FR": (
        ("French SIREN", fr_siren),
        ("French SIRET", fr_siret),
        ("French tax number (numéro fiscal)", fr_nif),
    ),
    "GB": (("UK Unique Taxpayer Reference (UTR)", gb_utr),),
    "IT": (
        ("Italian codice fiscale", it_codicefiscale),
        ("Italian partita IVA", it_iva),
    ),
    # A business customer's TIN is its EIN; personal numbers (SSN, ITIN) are not asked for.
    "US": (("US Employer Identification Number (EIN)", us_ein),),
}

# Country names that read better with an article: "a VAT number of the Netherlands".
_NAMES_WITH_ARTICLE = frozenset({"AE", "BS", "CF", "DO", "GB", "GM", "KY", "NL", "PH", "US"})

# Codes people use that are not ISO 3166-1 alpha-2, and the code they mean.
_NOT_ISO_CODES = {"UK": "GB", "EL": "GR"}


def validate_country(code: str, *, field: str = "country") -> str:
    """The ISO 3166-1 alpha-2 code, uppercase: "de" -> "DE"."""
    text = _text(code, "the country code", field).upper()
    if text in _NOT_ISO_CODES:
        meant = _NOT_ISO_CODES[text]
        raise InvalidInput(
            f"{text} is not an ISO 3166 country code; {country_name(meant)} is {meant}",
            field=field,
        )
    if len(text) == 3 and text.isalpha():
        country = pycountry.countries.get(alpha_3=text)
        if country is not None:
            raise InvalidInput(
                f"{text} is a three-letter code; use the two-letter code {country.alpha_2}",
                field=field,
            )
    if len(text) != 2 or not text.isalpha() or pycountry.countries.get(alpha_2=text) is None:
        raise InvalidInput(f"{text} is not an ISO 3166 two-letter country code", field=field)
    return text


def country_name(code: str) -> str:
    """The country's common English name, "the Netherlands" for NL; the code if unknown."""
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    name = str(getattr(country, "common_name", None) or country.name)
    return f"the {name}" if code in _NAMES_WITH_ARTICLE else name


def validate_vat_number(value: str, country: str | None = None) -> str:
    """The compact VAT number: "DE 136 695 976" -> "DE136695976".

    `country` is the country that issued the number. It is needed only when the number does not
    start with its country code (EU numbers get the prefix added); a number whose EU prefix
    names another country is refused. EU numbers are checked by stdnum.eu.vat, other countries'
    by stdnum's national VAT module (Swiss MWST, Norwegian MVA, UK VAT, Australian ABN ...).
    """
    number = _compact(_text(value, "the VAT number", "vat_id"))
    cc = validate_country(country) if country is not None else None
    prefix_country = _COUNTRY_BY_EU_PREFIX.get(_eu_prefix(number[:2]))

    if cc is None:
        if prefix_country is not None:
            return _validate_eu_vat(number)
        prefix = number[:2]
        if prefix.isalpha() and pycountry.countries.get(alpha_2=prefix) is not None:
            return _validate_national_vat(number, prefix)
        raise InvalidInput(
            f"{number} does not start with a country code; give the country of the VAT number",
            field="vat_id",
        )

    if prefix_country == cc:
        return _validate_eu_vat(number)
    own_prefix = _EU_PREFIX_BY_COUNTRY.get(cc)
    if own_prefix is None:
        return _validate_national_vat(number, cc)
    if prefix_country is None:
        return _validate_eu_vat(own_prefix + number)
    # Two leading letters that are another member state's prefix: usually a number of that
    # state, but a French number's check key may be two letters, so try the own prefix first.
    try:
        return _validate_eu_vat(own_prefix + number)
    except InvalidInput:
        raise InvalidInput(
            f"{number} is a VAT number of {country_name(prefix_country)}, "
            f"not of {country_name(cc)}",
            field="vat_id",
        ) from None


def validate_tax_number(value: str, country: str) -> str:
    """The compact national tax number of `country` (not its VAT number; see above).

    Germany: Steuernummer or IdNr; France: SIREN, SIRET or numéro fiscal; UK: UTR;
    Italy: codice fiscale or partita IVA; US: EIN; other countries: stdnum's tax number
    module, or the national form of the VAT number where that is the tax number. The forms are
    tried in this order and the first that accepts the number wins. Note that stdnum checks a
    German Steuernummer for its layout only (its check digit rules differ per Land), so 10, 11
    or 13 digits in the layout of some Land pass, even an IdNr with a wrong check digit.
    """
    text = _text(value, "the tax number", "tax_number")
    cc = validate_country(country)
    forms = _tax_number_forms(cc)
    if not forms:
        raise InvalidInput(
            f"openbill has no check for tax numbers of {country_name(cc)}", field="tax_number"
        )
    number = _compact(text)
    failures: list[tuple[str, ValidationError]] = []
    for kind, module in forms:
        try:
            return str(module.validate(number))
        except ValidationError as exc:
            failures.append((kind, exc))
    if len(failures) == 1:
        kind, exc = failures[0]
        reason = f"is not a valid {kind}: {_reason(exc)}"
    else:
        reason = f"is not a valid tax number of {country_name(cc)}: " + "; ".join(
            f"as {kind}, {_reason(exc)}" for kind, exc in failures
        )
    raise InvalidInput(f"{number} {reason}", field="tax_number")


def validate_iban(value: str) -> str:
    """The compact IBAN: "de89 3704 0044 0532 0130 00" -> "DE89370400440532013000".

    Checks the country, the length and account layout the IBAN registry gives for it, and the
    two check digits (ISO 7064 mod 97-10). National check digits inside the account number are
    not checked: the IBAN check digits already catch every single-character mistake.
    """
    text = _text(value, "the IBAN", "iban")
    number = re.sub(r"\s+", "", text).upper()

    def invalid(reason: str) -> InvalidInput:
        return InvalidInput(f"{number} is not a valid IBAN: {reason}", field="iban")

    if not re.fullmatch(r"[A-Z0-9]+", number):
        raise invalid("it may contain only letters A-Z, digits and spaces")
    if not re.match(r"[A-Z]{2}[0-9]{2}", number):
        raise invalid("an IBAN starts with a two-letter country code and two check digits")
    cc = number[:2]
    try:
        iban = IBAN(number, allow_invalid=True)
        spec = iban.spec
    except iban_errors.InvalidCountryCode:
        if pycountry.countries.get(alpha_2=cc) is None:
            raise invalid(f"{cc} is not a country code") from None
        raise invalid(f"{country_name(cc)} does not use IBANs") from None
    try:
        iban.validate()
    except iban_errors.InvalidLength:
        raise invalid(
            f"an IBAN of {country_name(cc)} has {spec.iban_length} characters, "
            f"this one has {len(number)}"
        ) from None
    except iban_errors.InvalidChecksumDigits:
        raise invalid("the check digits do not match") from None
    except iban_errors.InvalidStructure:
        raise invalid(
            f"the account part is not laid out as in {country_name(cc)} ({spec.bban_spec})"
        ) from None
    except iban_errors.SchwiftyException as exc:
        raise invalid(str(exc)) from None
    return str(iban)


def validate_bic(value: str) -> str:
    """The compact BIC (ISO 9362), 8 or 11 characters: "deut de ff" -> "DEUTDEFF"."""
    text = _text(value, "the BIC", "bic")
    code = re.sub(r"\s+", "", text).upper()

    def invalid(reason: str) -> InvalidInput:
        return InvalidInput(f"{code} is not a valid BIC: {reason}", field="bic")

    try:
        return str(BIC(code))
    except iban_errors.InvalidLength:
        raise invalid(f"a BIC has 8 or 11 characters, this one has {len(code)}") from None
    except iban_errors.InvalidStructure:
        raise invalid(
            "a BIC is 4 letters or digits for the bank, 2 letters for the country, "
            "2 for the location and optionally 3 for the branch"
        ) from None
    except iban_errors.InvalidCountryCode:
        raise invalid(f"{code[4:6]} is not a country code") from None
    except iban_errors.SchwiftyException as exc:
        raise invalid(str(exc)) from None


# --- helpers -----------------------------------------------------------------------------------


def _text(value: str, what: str, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, not {type(value).__name__}", field=field)
    text = value.strip()
    if not text:
        raise InvalidInput(f"{what} is empty", field=field)
    if len(text) > IDENTIFIER_LENGTH_MAX:
        raise InvalidInput(f"{what} is longer than {IDENTIFIER_LENGTH_MAX} characters", field=field)
    return text


def _compact(text: str) -> str:
    return _SEPARATORS.sub("", text).upper()


def _eu_prefix(prefix: str) -> str:
    return "EL" if prefix == "GR" else prefix


def _validate_eu_vat(number: str) -> str:
    number = _eu_prefix(number[:2]) + number[2:]
    try:
        return str(eu_vat.validate(number))
    except ValidationError as exc:
        where = country_name(_COUNTRY_BY_EU_PREFIX.get(number[:2], number[:2]))
        raise InvalidInput(
            f"{number} is not a valid VAT number: {_reason(exc, where)}", field="vat_id"
        ) from exc


def _validate_national_vat(number: str, cc: str) -> str:
    module = get_cc_module(cc.lower(), "vat")
    if module is None:
        raise InvalidInput(
            f"openbill has no check for VAT numbers of {country_name(cc)}", field="vat_id"
        )
    try:
        result = str(module.validate(number))
    except ValidationError as exc:
        # The country code in front is customary for some countries but not part of stdnum's
        # form: try once more without it before refusing.
        result = ""
        if number.startswith(cc):
            try:
                result = str(module.validate(number[2:]))
            except ValidationError:
                pass
        if not result:
            raise InvalidInput(
                f"{number} is not a valid VAT number: {_reason(exc, country_name(cc))}",
                field="vat_id",
            ) from exc
    if cc in _NATIONAL_VAT_PREFIXED and not result.startswith(cc):
        result = cc + result
    return result


def _tax_number_forms(cc: str) -> tuple[tuple[str, ModuleType], ...]:
    if cc in _TAX_NUMBER_FORMS:
        return _TAX_NUMBER_FORMS[cc]
    for name in ("tin", "vat"):
        module = get_cc_module(cc.lower(), name)
        if module is not None and cc.lower() != "eu":
            title = (module.__doc__ or name).strip().splitlines()[0].rstrip(".")
            return ((title, module),)
    return ()


def _reason(exc: ValidationError, where: str = "") -> str:
    """stdnum's error in plain words; `where` names the country the number was checked for."""
    suffix = f" for {where}" if where else ""
    if isinstance(exc, InvalidChecksum):
        return "the check digit does not match"
    if isinstance(exc, InvalidLength):
        return f"it has the wrong number of characters{suffix}"
    if isinstance(exc, InvalidFormat):
        return f"its characters are not in the format used{suffix}"
    if isinstance(exc, InvalidComponent):
        return f"a part of it (such as a region, office or date code) is not valid{suffix}"
    return f"it is not valid{suffix} ({exc.message})"
