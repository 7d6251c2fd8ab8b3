"""Comparing the names payers give with the names of customers (rapidfuzz).

A bank line carries the payer's name as their bank writes it: upper case, cut at 70 or 140
characters, umlauts spelt out or dropped, the legal form written any way ("GmbH", "G.m.b.H.",
"Ltd.", "Limited"). `normalise` takes those differences out; `NameIndex` scores a name against
every customer's names with rapidfuzz's token-set ratio (0 to 100) and returns the best.

Used by bank matching (`openbill.usecases.bank_matching`) through a plain function, so the pure
matcher never imports rapidfuzz.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from rapidfuzz import fuzz, process

__all__ = ["LEGAL_FORMS", "NameIndex", "normalise"]

# Legal forms and filler words that say nothing about who a company is.
LEGAL_FORMS = frozenset(
    "gmbh mbh ag kg ohg ug gbr ev co kgaa se sa sas sarl srl spa bv nv ab as oy ltd limited "
    "llc llp lp inc incorporated corp corporation company plc pty the und and et".split()
)
_SPELT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "oe"})
_WORD = re.compile(r"[a-z0-9]+")
RESULTS_MAX = 3


def normalise(name: str) -> str:
    """'Müller & Söhne GmbH & Co. KG' -> 'mueller soehne'.

    >>> normalise("MUELLER & SOEHNE G.M.B.H.") == normalise("Müller & Söhne GmbH")
    True
    """
    text = name.casefold().translate(_SPELT)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"\b([a-z])\.(?=[a-z]\.)", r"\1", text).replace(".", " ")
    words = [w for w in _WORD.findall(text) if w not in LEGAL_FORMS]
    return " ".join(words)


class NameIndex:
    """Names of payers (customer id, name); a customer may have several (learned)."""

    def __init__(self, names: Iterable[tuple[int, str]]) -> None:
        pairs = [(cid, normalise(n)) for cid, n in names if n and normalise(n)]
        self._ids = [cid for cid, _ in pairs]
        self._names = [n for _, n in pairs]
        # A statement names the same payers again and again: each name is scored once.
        self._seen: dict[str, Sequence[tuple[int, int]]] = {}

    def __call__(self, name: str) -> Sequence[tuple[int, int]]:
        """(customer id, score 0..100), best first, one entry per customer."""
        query = normalise(name)
        if not query or not self._names:
            return []
        seen = self._seen.get(query)
        if seen is None:
            seen = self._seen[query] = tuple(self._score(query))
        return seen

    def _score(self, query: str) -> list[tuple[int, int]]:
        found = process.extract(
            query, self._names, scorer=fuzz.token_set_ratio, limit=RESULTS_MAX * 3
        )
        best: dict[int, int] = {}
        for _, score, position in found:
            cid = self._ids[position]
            best[cid] = max(best.get(cid, 0), int(score))
        return sorted(best.items(), key=lambda kv: -kv[1])[:RESULTS_MAX]
