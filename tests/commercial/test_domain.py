"""The pure core of contracts and deliveries: prices by date, discounts, grouping, milestones,
the correction plan, and the delivery parsers (fuzzed: any text gives rows or named errors)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from openbill.domain.commercial import (
    DELIVERY_FIELDS,
    Billed,
    ContractPrice,
    DeliveryKind,
    Grouping,
    Period,
    RowError,
    ToBill,
    contract_price,
    correction_plan,
    discounted,
    group_items,
    milestone_amount,
    parse_deliveries,
    period_start,
)

D = Decimal


def test_contract_price_in_force_on_a_date():
    prices = [
        ContractPrice("WIDGET", date(2026, 1, 1), D("11.00")),
        ContractPrice("WIDGET", date(2026, 3, 1), D("10.00")),
        ContractPrice("BOOK", date(2026, 1, 1), D("8.00")),
    ]
    assert contract_price(prices, "WIDGET", date(2025, 12, 31)) is None
    assert contract_price(prices, "WIDGET", date(2026, 2, 28)) == D("11.00")
    assert contract_price(prices, "WIDGET", date(2026, 3, 1)) == D("10.00")
    assert contract_price(prices, "TRAINING", date(2026, 3, 1)) is None


def test_discount_and_milestones():
    assert discounted(D("12.50"), D("10")) == D("11.25")
    assert discounted(D("9.99"), D("0")) == D("9.99")
    # 9.99 less 33.333 % = 9.99 x 0.66667 = 6.6600333 (kept to 10 places)
    assert discounted(D("9.99"), D("33.333")) == D("6.6600333000")
    assert milestone_amount(D("30"), None, D("5000.00")) == D("1500")
    assert milestone_amount(None, D("750.00"), None) == D("750.00")


def test_periods():
    assert period_start(date(2026, 2, 18), Period.WEEK) == date(2026, 2, 16)  # a Monday
    assert period_start(date(2026, 2, 18), Period.MONTH) == date(2026, 2, 1)
    assert period_start(date(2026, 8, 18), Period.QUARTER) == date(2026, 7, 1)


def _item(i, grouping, po="", on=date(2026, 1, 5), customer=1):
    return ToBill(i, customer, "EUR", 7, grouping, Period.MONTH, po, on, f"D{i}")


def test_grouping_per_delivery_po_and_period():
    per_delivery = [_item(i, Grouping.PER_DELIVERY) for i in (1, 2, 3)]
    assert [[x.delivery_id for x in g] for g in group_items(per_delivery, 100)] == [[1], [2], [3]]
    per_po = [
        _item(1, Grouping.PER_PO, "PO-A"),
        _item(2, Grouping.PER_PO, "PO-B"),
        _item(3, Grouping.PER_PO, "PO-A"),
        _item(4, Grouping.PER_PO, ""),
    ]
    groups = sorted(sorted(x.delivery_id for x in g) for g in group_items(per_po, 100))
    assert groups == [[1, 3], [2], [4]]
    per_period = [
        _item(1, Grouping.PER_PERIOD, on=date(2026, 1, 31)),
        _item(2, Grouping.PER_PERIOD, on=date(2026, 2, 1)),
        _item(3, Grouping.PER_PERIOD, on=date(2026, 1, 2)),
        _item(4, Grouping.PER_PERIOD, on=date(2026, 1, 2), customer=2),
    ]
    groups = sorted(sorted(x.delivery_id for x in g) for g in group_items(per_period, 100))
    assert groups == [[1, 3], [2], [4]]
    # a group longer than the line limit is cut into several invoices
    many = [_item(i, Grouping.PER_PERIOD) for i in range(5)]
    assert [len(g) for g in group_items(many, 2)] == [2, 2, 1]


def test_correction_plan():
    line = Billed(1, 10, 1, D(10), D("12.50"), issued=True)
    assert correction_plan(D(10), None, [line]).nothing
    more = correction_plan(D(12), None, [line])
    assert more.bill_quantity == D(2) and not more.take_back
    less = correction_plan(D(7), None, [line])
    assert less.bill_quantity == 0 and less.take_back == ((line, D(3)),)
    # a line already partly taken back is not taken back twice
    partly = Billed(1, 10, 1, D(10), D("12.50"), issued=True, reversed_quantity=D(3))
    assert correction_plan(D(7), None, [partly]).nothing
    # newest lines are taken back first
    older, newer = Billed(1, 10, 1, D(5), D(1), True), Billed(2, 11, 1, D(5), D(1), False)
    assert correction_plan(D(3), None, [older, newer]).take_back == ((newer, D(5)), (older, D(2)))
    # a fixed-price milestone whose amount changed: the old line goes, the new one is billed
    milestone = Billed(3, 12, 1, D(1), D("1500"), True)
    plan = correction_plan(D(1), D("1600"), [milestone])
    assert plan.bill_quantity == D(1) and plan.take_back == ((milestone, D(1)),)


CSV = (
    ",".join(DELIVERY_FIELDS[:-1])
    + """
D-1,shipment,C1,,,,WIDGET,2026-01-05,,10,8,,,,
T-1,timesheet,C1,,,,TRAINING,2026-01-06,confirmed,,,7.5,engineer,,
M-1,milestone,C1,,PO-1,1,TRAINING,2026-01-07,pending,,,,,30,
D-2,shipment,C1,,,,WIDGET,2026-13-01,,10,,,,,
D-3,shipment,C1,,,,WIDGET,2026-01-05,,10,11,,,,
D-4,crate,C1,,,,WIDGET,2026-01-05,,10,,,,,
"""
)


def test_parse_csv_rows_and_errors():
    rows, errors = parse_deliveries(CSV, "in.csv")
    assert [(r.ref, r.kind, r.quantity, r.confirmed) for r in rows] == [
        ("D-1", DeliveryKind.SHIPMENT, D(8), True),
        ("T-1", DeliveryKind.TIMESHEET, D("7.5"), True),
        ("M-1", DeliveryKind.MILESTONE, D(1), False),
    ]
    assert [(e.source, e.line, e.field) for e in errors] == [
        ("in.csv", 5, "date"),
        ("in.csv", 6, "accepted"),
        ("in.csv", 7, "kind"),
    ]
    assert errors[0].message == "in.csv:5: field date: '2026-13-01' is not a date (YYYY-MM-DD)"
    assert dict(errors[0].raw)["ref"] == "D-2"


def test_parse_json_with_line_numbers():
    text = """[
  {"ref": "D-1", "kind": "shipment", "customer": "C1", "charge_code": "WIDGET",
   "date": "2026-01-05", "shipped": 10},
  {"ref": "D-2", "kind": "shipment", "customer": "C1", "charge_code": "WIDGET",
   "date": "2026-01-05", "shipped": 1.5},
  {"ref": "D-3", "kind": "shipment", "customer": "C1", "charge_code": "WIDGET",
   "date": "2026-01-05", "shipped": "2", "colour": "red"}
]"""
    rows, errors = parse_deliveries(text, "in.json")
    assert [r.ref for r in rows] == ["D-1", "D-2"]
    assert rows[1].shipped == D("1.5")  # JSON numbers are read as decimals, never floats
    assert [(e.line, e.field, e.reason) for e in errors] == [(6, "colour", "unknown field")]


def test_parse_refuses_whole_file_problems():
    assert parse_deliveries("", "a.csv") == ([], [])
    _, errors = parse_deliveries("ref,kind\nx,y\n", "a.csv")
    assert [(e.line, e.field) for e in errors] == [(1, "customer")]
    _, errors = parse_deliveries("[1, 2", "a.json")
    assert errors[0].line == 1 and "not valid JSON" in errors[0].reason
    _, errors = parse_deliveries('{"a": 1}', "a.json")
    assert "expected a JSON array" in errors[0].reason


def _check(rows, errors):
    assert all(isinstance(e, RowError) and e.reason for e in errors)
    for r in rows:
        assert r.quantity >= 0


@given(st.text(max_size=400), st.sampled_from(["a.csv", "a.json", "a"]))
def test_fuzz_any_text_gives_rows_or_named_errors(text, name):
    _check(*parse_deliveries(text, name))


_FIELD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.text(max_size=20),
    st.sampled_from(["shipment", "timesheet", "milestone", "2026-01-05", "1e999", "NaN", "-1"]),
    st.lists(st.integers(), max_size=2),
)
_RECORDS = st.dictionaries(
    st.one_of(st.sampled_from(DELIVERY_FIELDS), st.text(max_size=5)), _FIELD_VALUES, max_size=16
)


@given(st.lists(st.one_of(_RECORDS, _FIELD_VALUES), max_size=6))
def test_fuzz_json_structures(records):
    _check(*parse_deliveries(json.dumps(records), "f.json"))


@given(
    st.lists(
        st.lists(st.one_of(st.text(max_size=12), _FIELD_VALUES.map(str)), max_size=17), max_size=6
    )
)
def test_fuzz_csv_rows_under_a_valid_header(rows):
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(DELIVERY_FIELDS)
    writer.writerows(rows)
    _check(*parse_deliveries(buffer.getvalue(), "f.csv"))
