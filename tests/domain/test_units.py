"""Units of measure become UN/ECE Recommendation 20 codes (EN 16931 BR-CL-23)."""

from __future__ import annotations

import pytest

from openbill.domain.rejections import InvalidInput
from openbill.domain.units import CODES, unit_code


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("HUR", "HUR"),
        ("hur", "HUR"),
        (" hour ", "HUR"),
        ("piece", "H87"),
        ("kg", "KGM"),
        ("C62", "C62"),
        ("Months", "MON"),
    ],
)
def test_codes_and_plain_names(typed: str, code: str) -> None:
    assert unit_code(typed) == code


@pytest.mark.parametrize("typed", ["", "exam", "HRS", "kilo gram"])
def test_unknown_units_are_refused_with_examples(typed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        unit_code(typed)
    assert refused.value.field == "unit"
    assert "Recommendation 20" in refused.value.reason and "HUR" in refused.value.reason


def test_every_code_is_the_shape_rec_20_uses() -> None:
    assert all(2 <= len(c) <= 3 and c.isalnum() and c.upper() == c for c in CODES)
