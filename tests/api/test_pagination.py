"""Cursors: what encode gives, decode takes back; anything else is refused as a bad cursor,
never as a crash. And walking a list at any page size gives every record once, in order."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbill.domain.rejections import InvalidInput
from openbill.interfaces.api.pagination import decode, encode

from .conftest import ENTITY


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_a_cursor_round_trips(after):
    assert decode(encode(after)) == after


@given(st.text(max_size=300))
def test_any_other_text_is_refused_as_a_cursor_or_is_one(text):
    try:
        after = decode(text)
    except InvalidInput as exc:
        assert exc.field == "cursor"
    else:
        assert isinstance(after, int) and after >= 0


def test_the_end_and_the_start():
    assert encode(None) is None
    assert decode(None) == 0 and decode("") == 0
    with pytest.raises(InvalidInput):
        decode(encode(5)[:-2] + "!!")


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(min_value=1, max_value=8))
def test_walking_customers_at_any_page_size_gives_each_once_in_order(desk, limit):
    client = desk.with_key("reader")
    seen, cursor = [], None
    for _ in range(20):
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        body = client.get(f"/v1/entities/{ENTITY}/customers", params=params).json()
        seen += [c["code"] for c in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ["C1", "C2", "C3", "CJP", "CKW"]
