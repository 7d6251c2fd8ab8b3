"""Properties of the invoicing API's reading and checking: keyset pages of any size walk every
record once, in the order made, whatever the filter; the check that refuses money written as
a JSON number in a delivery import flags exactly those rows, on the lines they start on."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from openbill.interfaces.api.routes.deliveries import money_numbers

from .conftest import ENTITY
from .test_commercial_deliveries import HEADER

BASE = f"/v1/entities/{ENTITY}"

# Eleven deliveries: every third is pending, the rest confirmed; C3 gets refs 5 to 8.
ROWS = [
    (f"D-{i:02d}", "C3" if 5 <= i <= 8 else "C1", "pending" if i % 3 == 0 else "confirmed")
    for i in range(1, 12)
]


def test_pages_of_any_size_walk_every_delivery_once(desk):
    client = desk.client("clerk")
    body = HEADER + "".join(
        f"{ref},shipment,{customer},,,,WIDGET,2026-01-{i + 1:02d},{status},1,,,,,,\n"
        for i, (ref, customer, status) in enumerate(ROWS)
    )
    reply = client.post(
        f"{BASE}/deliveries/import", content=body.encode(), headers={"Content-Type": "text/csv"}
    )
    assert reply.status_code == 200 and reply.json()["created"] == len(ROWS), reply.text

    @settings(max_examples=25, deadline=None)
    @given(
        limit=st.integers(min_value=1, max_value=12),
        status=st.sampled_from(["", "confirmed", "pending"]),
        customer=st.sampled_from(["", "C1", "C3"]),
    )
    def walk(limit: int, status: str, customer: str) -> None:
        expected = [
            ref
            for ref, who, state in ROWS
            if (not status or state == status) and (not customer or who == customer)
        ]
        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": limit, "status": status, "customer": customer}
            if cursor:
                params["cursor"] = cursor
            page = client.get(f"{BASE}/deliveries", params=params)
            assert page.status_code == 200, page.text
            data = page.json()
            assert len(data["data"]) <= limit
            seen += [d["ref"] for d in data["data"]]
            pages += 1
            cursor = data["next_cursor"]
            if cursor is None:
                break
        assert seen == expected
        # A last page is never empty unless there is nothing at all.
        assert pages == max(1, math.ceil(len(expected) / limit))

    walk()


# A delivery's amount: absent, a JSON number, or a decimal string.
amounts = st.one_of(
    st.none(),
    st.decimals(min_value=0, max_value=10**9, places=2).map(lambda d: ("number", str(d))),
    st.decimals(min_value=0, max_value=10**9, places=2).map(lambda d: ("text", str(d))),
)


@settings(max_examples=100, deadline=None)
@given(
    items=st.lists(
        st.tuples(amounts, st.integers(min_value=0, max_value=3), st.booleans()),
        max_size=12,
    ),
    wrapped=st.booleans(),
)
def test_money_as_a_json_number_is_flagged_on_exactly_its_line(items, wrapped):
    lines = ["{" + '"deliveries": [' if wrapped else "["]
    expected = []
    for index, (amount, blank_lines, spread) in enumerate(items):
        lines += [""] * blank_lines
        fields = {"ref": f"M-{index}", "kind": "milestone"}
        parts = [f'"{k}": {json.dumps(v)}' for k, v in fields.items()]
        if amount is not None:
            kind, text = amount
            parts.append(f'"amount": {text if kind == "number" else json.dumps(text)}')
            if kind == "number":
                expected.append(len(lines) + 1)  # the line the object starts on
        comma = "," if index < len(items) - 1 else ""
        if spread:  # one field a line
            lines.append("  {")
            lines += [f"    {p}," for p in parts[:-1]] + [f"    {parts[-1]}", f"  }}{comma}"]
        else:
            lines.append("  {" + ", ".join(parts) + "}" + comma)
    lines.append("]}" if wrapped else "]")
    text = "\n".join(lines)
    assert isinstance(json.loads(text), list | dict)  # the body is JSON (the standard parser)
    found = money_numbers(text)
    assert [e.line for e in found] == expected
    assert {e.field for e in found} <= {"amount"}


def test_money_numbers_leaves_what_is_not_a_delivery_list_to_the_import():
    assert money_numbers("not json") == []
    assert money_numbers('{"rows": [{"amount": 1}]}') == []
    assert money_numbers('[1, "x", {"amount": "1.00"}]') == []
