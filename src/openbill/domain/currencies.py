"""ISO 4217 currency codes and their minor-unit exponents.

Origin: ISO 4217 List One (current currency & funds), as published by SIX Group on behalf of
the ISO 4217 maintenance agency, amendment 178 (2024). The "Minor unit" column gives the
exponent. Funds codes and precious metals (XAU, XDR ...) are left out on purpose: nobody
invoices in them. To regenerate, read list-one.xml from the maintenance agency and keep the
CcyNtry/Ccy and CcyMnrUnts fields of the entries that have a numeric minor unit.
"""

from __future__ import annotations

__all__ = ["EXPONENTS", "exponent_of"]

_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN "
    "BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS "
    "GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR "
    "LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD "
    "PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN "
    "SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VED VES WST XCD YER ZAR ZMW "
    "ZWG"
)

EXPONENTS: dict[str, int] = {
    **{code: 0 for code in _ZERO.split()},
    **{code: 2 for code in _TWO.split()},
    **{code: 3 for code in _THREE.split()},
    **{code: 4 for code in _FOUR.split()},
}


def exponent_of(currency: str) -> int:
    """The ISO 4217 minor-unit exponent of `currency` (EUR 2, JPY 0, KWD 3).

    >>> exponent_of("KWD")
    3
    """
    try:
        return EXPONENTS[currency]
    except KeyError:
        from openbill.domain.rejections import UnknownCurrency

        raise UnknownCurrency(currency) from None
