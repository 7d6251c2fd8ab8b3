"""Units of measure as UN/ECE Recommendation 20 codes, which EN 16931 requires (BT-130,
rule BR-CL-23).

Origin: UN/ECE Recommendation No. 20, "Codes for Units of Measure Used in International Trade",
revision 17 (2021), the code list the CEN validation artefacts check against. Only the codes a
billing desk commonly uses are listed, with the plain names people type. To extend, add the
code with its official name from the recommendation's annex.
"""

from __future__ import annotations

from openbill.domain.rejections import InvalidInput

__all__ = ["CODES", "ALIASES", "unit_code"]

CODES: dict[str, str] = {
    "C62": "one (unit)",
    "H87": "piece",
    "EA": "each",
    "SET": "set",
    "PR": "pair",
    "XBX": "box",
    "XPK": "package",
    "XPX": "pallet",
    "KGM": "kilogram",
    "GRM": "gram",
    "TNE": "tonne",
    "LTR": "litre",
    "MLT": "millilitre",
    "MTQ": "cubic metre",
    "MTR": "metre",
    "CMT": "centimetre",
    "MMT": "millimetre",
    "KMT": "kilometre",
    "MTK": "square metre",
    "SEC": "second",
    "MIN": "minute",
    "HUR": "hour",
    "DAY": "day",
    "WEE": "week",
    "MON": "month",
    "QAN": "quarter (of a year)",
    "ANN": "year",
    "KWH": "kilowatt hour",
    "MWH": "megawatt hour",
    "GB": "gigabyte (legacy code)",
    "E34": "gigabyte",
    "E35": "terabyte",
    "4L": "megabyte (legacy code)",
    "P1": "percent",
    "LS": "lump sum",
    "ZZ": "mutually defined",
}

ALIASES: dict[str, str] = {
    "unit": "C62",
    "units": "C62",
    "piece": "H87",
    "pieces": "H87",
    "pc": "H87",
    "pcs": "H87",
    "each": "EA",
    "kg": "KGM",
    "g": "GRM",
    "t": "TNE",
    "l": "LTR",
    "ml": "MLT",
    "m": "MTR",
    "m2": "MTK",
    "m3": "MTQ",
    "km": "KMT",
    "h": "HUR",
    "hr": "HUR",
    "hour": "HUR",
    "hours": "HUR",
    "day": "DAY",
    "days": "DAY",
    "week": "WEE",
    "month": "MON",
    "months": "MON",
    "year": "ANN",
    "kwh": "KWH",
    "mwh": "MWH",
    "percent": "P1",
    "lump sum": "LS",
}


def unit_code(text: str, *, field: str = "unit") -> str:
    """The Rec 20 code for what a person typed: a code ("HUR") or a plain name ("hour").

    >>> unit_code("hour"), unit_code("kgm"), unit_code("C62")
    ('HUR', 'KGM', 'C62')
    """
    cleaned = text.strip()
    if cleaned.upper() in CODES:
        return cleaned.upper()
    alias = ALIASES.get(cleaned.lower())
    if alias is not None:
        return alias
    known = ", ".join(f"{code} ({CODES[code]})" for code in ("C62", "H87", "HUR", "DAY", "KGM"))
    raise InvalidInput(
        f"{text!r} is not a UN/ECE Recommendation 20 unit code that openbill knows; use a code "
        f"such as {known} ..., or a plain name like piece, hour, day, kg",
        field=field,
    )
