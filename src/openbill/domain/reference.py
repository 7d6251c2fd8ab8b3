"""Payment references: ISO 11649 creditor references (RF) and invoice numbers in free text.

openbill prints on each invoice an RF creditor reference built from the invoice number, so a
payer's bank carries it back to us unchanged: "RF" + two check digits + the number's letters
and digits (at most 21). The check digits make a mistyped reference detectable (ISO 7064
MOD 97-10, as for IBANs). Finding the invoices a payment names is then a question of reading
RF references and invoice numbers out of the remittance text.
"""

from __future__ import annotations

import re

from openbill.domain.rejections import InvalidInput

__all__ = [
    "creditor_reference",
    "is_valid_creditor_reference",
    "printable",
    "referenced_keys",
    "number_key",
]

_BODY_MAX = 21
# Written compact ("RF18539007547034") or in groups of four as printed ("RF18 5390 0754 7034").
_RF = re.compile(
    r"\bRF(\d{2})((?:[A-Z0-9]{1,21}\b)|(?:(?: [A-Z0-9]{4})*(?: [A-Z0-9]{1,4})\b))",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\b([A-Z]{2,4})[-/ ]?(\d{4})[-/ ]?(\d{1,6})\b", re.IGNORECASE)


def _digits(text: str) -> int:
    """Letters become two digits (A=10 ... Z=35), as ISO 7064 MOD 97-10 wants."""
    return int("".join(str(int(ch, 36)) for ch in text))


def number_key(number: str) -> str:
    """The letters and digits of a document number, upper-case: the body of its RF reference
    and the key on which references in remittance text are compared."""
    return "".join(ch for ch in number.upper() if ch.isascii() and ch.isalnum())


def creditor_reference(number: str) -> str:
    """The RF creditor reference of a document number.

    >>> creditor_reference("INV-2026-000123")
    'RF98INV2026000123'
    """
    body = number_key(number)
    if not body or len(body) > _BODY_MAX:
        raise InvalidInput(
            f"{number!r} cannot be an RF reference: it needs 1 to 21 letters or digits",
            field="reference",
        )
    check = 98 - _digits(body + "RF00") % 97
    return f"RF{check:02d}{body}"


def is_valid_creditor_reference(text: str) -> bool:
    compact = "".join(text.split()).upper()
    if not re.fullmatch(r"RF\d{2}[A-Z0-9]{1,21}", compact):
        return False
    return _digits(compact[4:] + compact[:4]) % 97 == 1


def printable(reference: str) -> str:
    """In groups of four, as printed on a payment slip: 'RF98 INV2 0260 0012 3'."""
    return " ".join(reference[i : i + 4] for i in range(0, len(reference), 4))


def referenced_keys(text: str) -> tuple[list[str], list[str]]:
    """The document-number keys a remittance text names: (from valid RF references, from
    invoice numbers written out). An RF reference whose check digits fail names nothing: it
    was mistyped, and guessing would risk paying the wrong invoice."""
    rf_keys: list[str] = []
    for match in _RF.finditer(text or ""):
        groups = match.group(2).split()
        # Printed groups may run into a following word of four letters: the reference is the
        # longest run of whole groups whose check digits hold.
        for end in range(len(groups), 0, -1):
            body = "".join(groups[:end]).upper()
            if len(body) <= _BODY_MAX and is_valid_creditor_reference(f"RF{match.group(1)}{body}"):
                if body not in rf_keys:
                    rf_keys.append(body)
                break
    number_keys: list[str] = []
    for match in _NUMBER.finditer(text or ""):
        prefix, year, seq = match.groups()
        key = f"{prefix.upper()}{year}{int(seq):06d}"
        if key not in number_keys and key not in rf_keys:
            number_keys.append(key)
    return rf_keys, number_keys
