"""Deliveries through the API: a CSV or JSON body imported all or nothing (every bad row named
by line, field and reason), or keeping the good rows when asked; money refused as a JSON
number; bodies bounded; corrections as new revisions; lists by status, customer and date; and
the billing run, which holds a correction needing a credit note for a caller who may not
issue one.

Prices from tests/fixtures_book.py: WIDGET 12.50 EUR at 19 %, TRAINING 100.00 exempt."""

from __future__ import annotations

import pytest
from fixtures_book import row_counts

from openbill.domain.commercial import IMPORT_ROWS_MAX
from openbill.interfaces.api.routes.deliveries import DELIVERIES_BODY_BYTES_MAX

from .conftest import ENTITY

BASE = f"/v1/entities/{ENTITY}"
IMPORT = f"{BASE}/deliveries/import"
HEADER = "ref,kind,customer,contract,po,po_line,charge_code,date,status,shipped,accepted,hours,role,percent,amount,description\n"  # noqa: E501
CSV = {"Content-Type": "text/csv"}
JSON = {"Content-Type": "application/json"}


def _import(client, body, headers=CSV, **params):
    return client.post(IMPORT, content=body.encode(), headers=headers, params=params)


def _refs(client, **params):
    reply = client.get(f"{BASE}/deliveries", params=params)
    assert reply.status_code == 200, reply.text
    return [d["ref"] for d in reply.json()["data"]]


def test_an_import_with_bad_rows_names_each_and_changes_nothing(desk):
    client = desk.client("clerk")
    body = HEADER + (
        "B-1,shipment,C1,,,,WIDGET,2026-01-10,,,,,,,,\n"  # line 2: no quantity shipped
        "B-2,timesheet,C1,,,,WIDGET,2026-01-11,,,,,,,,\n"  # line 3: no hours
        "B-3,shipment,NOBODY,,,,WIDGET,2026-01-12,,1,,,,,,\n"  # line 4: no such customer
        "G-1,shipment,C1,,,,WIDGET,2026-01-13,,2,,,,,,good\n"  # line 5
    )
    before = row_counts(desk.book)
    refused = _import(client, body, headers=CSV | {"Idempotency-Key": "d-1"})
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert [(e["line"], e["field"]) for e in problem["errors"]] == [
        (2, "shipped"),
        (3, "hours"),
        (4, "customer"),
    ]
    assert problem["errors"][2]["reason"] == "no customer 'NOBODY'"
    assert (problem["field"], problem["record"]) == ("shipped", "body:2")
    assert "nothing was imported" in problem["detail"]
    after = row_counts(desk.book)
    assert {k for k in before if before[k] != after[k]} <= {"api_requests"}
    assert after["deliveries"] == 0 and after["audit_events"] == before["audit_events"]
    # The refusal freed the key: the corrected body goes through under it.
    kept = _import(client, body, headers=CSV | {"Idempotency-Key": "d-2"}, keep_good="true")
    assert kept.status_code == 200, kept.text
    answer = kept.json()
    assert (answer["created"], answer["corrected"], answer["unchanged"]) == (1, 0, 0)
    assert [(r["line"], r["field"]) for r in answer["rejected"]] == [
        (2, "shipped"),
        (3, "hours"),
        (4, "customer"),
    ]
    assert answer["rejected"][2]["row"]["customer"] == "NOBODY"
    assert _refs(client) == ["G-1"]
    good = HEADER + "G-2,shipment,C1,,,,WIDGET,2026-01-14,,1,,,,,,\n"
    assert _import(client, good, headers=CSV | {"Idempotency-Key": "d-1"}).status_code == 200


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        ("null", "application/json", "expected a JSON array of deliveries"),
        ('{"rows": []}', "application/json", "expected a JSON array of deliveries"),
        ("[1, 2", "application/json", "not valid JSON"),
        ("ref,colour\nX,red\n", "text/csv", "unknown column 'colour'"),
    ],
)
def test_a_body_that_is_no_deliveries_file_is_refused_even_when_keeping_the_good_rows(
    desk, body, content_type, reason
):
    # keep_good=true imports the good rows of a file; a file with none readable is refused,
    # not answered 200 with nothing imported (schemathesis: `null` accepted, seed 6).
    client = desk.client("specialist")
    before = row_counts(desk.book)
    reply = _import(client, body, headers={"Content-Type": content_type}, keep_good="true")
    assert reply.status_code == 422, reply.text
    problem = reply.json()
    assert reason in problem["detail"]
    assert "cannot be read as deliveries" in problem["detail"]
    assert [e["line"] for e in problem["errors"]] == [1]
    after = row_counts(desk.book)
    assert {k for k in before if before[k] != after[k]} <= {"api_requests"}


def test_json_bodies_and_money_as_text(desk):
    client = desk.client("specialist")
    body = (
        "[\n"
        '  {"ref": "M-1", "kind": "milestone", "customer": "C1", "charge_code": "TRAINING",'
        ' "date": "2026-01-20", "amount": 1500.00},\n'
        '  {"ref": "M-2", "kind": "milestone", "customer": "C1", "charge_code": "TRAINING",'
        ' "date": "2026-01-21", "amount": "750.00"},\n'
        '  {"ref": "T-1", "kind": "timesheet", "customer": "C3", "charge_code": "TRAINING",'
        ' "date": "2026-01-22", "hours": 7.5, "role": "trainer", "status": "pending"}\n'
        "]\n"
    )
    refused = _import(client, body, headers=JSON)
    assert refused.status_code == 422, refused.text
    assert [(e["line"], e["field"]) for e in refused.json()["errors"]] == [(2, "amount")]
    assert "decimal strings" in refused.json()["errors"][0]["reason"]
    assert row_counts(desk.book)["deliveries"] == 0
    fixed = body.replace("1500.00}", '"1500.00"}')
    done = _import(client, fixed, headers=JSON)
    assert done.status_code == 200, done.text
    assert done.json()["created"] == 3
    m1 = client.get(f"{BASE}/deliveries/M-1").json()
    assert (m1["kind"], m1["amount"], m1["quantity"], m1["status"]) == (
        "milestone",
        "1500",
        "1",
        "confirmed",
    )
    t1 = client.get(f"{BASE}/deliveries/T-1").json()
    assert (t1["hours"], t1["quantity"], t1["status"], t1["role"]) == (
        "7.5",
        "7.5",
        "pending",
        "trainer",
    )
    assert t1["source"] == "body:4"
    wrapped = '{"deliveries": [{"ref": "M-3", "kind": "milestone", "customer": "C1", "charge_code": "TRAINING", "date": "2026-01-23", "amount": "10.00"}]}'  # noqa: E501
    assert _import(client, wrapped, headers=JSON).json()["created"] == 1
    assert client.get(f"{BASE}/deliveries/NOPE").status_code == 404


def test_bodies_are_bounded(desk):
    client = desk.client("clerk")
    reply = client.post(IMPORT, content=b"x" * (DELIVERIES_BODY_BYTES_MAX + 1), headers=CSV)
    assert reply.status_code == 413
    assert (reply.json()["code"], reply.json()["field"]) == ("payload_too_large", "body")
    many = HEADER + "".join(
        f"R-{i},shipment,C1,,,,WIDGET,2026-01-10,,1,,,,,,\n" for i in range(IMPORT_ROWS_MAX + 1)
    )
    reply = _import(client, many)
    assert reply.status_code == 422
    assert reply.json()["errors"][-1]["reason"] == f"more than {IMPORT_ROWS_MAX} rows per import"
    assert row_counts(desk.book)["deliveries"] == 0
    latin = _import(client, HEADER + "Ä-1,shipment,C1,,,,WIDGET,2026-01-10,,1,,,,,,\n", headers=CSV)
    assert latin.status_code == 200  # UTF-8 is fine ...
    raw = (HEADER + "X-1,shipment,C1,,,,WIDGET,2026-01-10,,1,,,,,,Müller\n").encode("latin-1")
    reply = client.post(IMPORT, content=raw, headers=CSV)
    assert reply.status_code == 422 and reply.json()["field"] == "body"  # ... Latin-1 is not


def test_corrections_lists_and_the_billing_run_by_who_may_issue(desk):
    clerk, specialist = desk.client("clerk"), desk.client("specialist")
    assert (
        specialist.post(
            f"{BASE}/contracts",
            json={
                "number": "K1",
                "customer": "C1",
                "valid_from": "2026-01-01",
                "grouping": "per_delivery",
            },
        ).status_code
        == 201
    )
    first = HEADER + (
        "D-1,shipment,C1,K1,,,WIDGET,2026-01-10,,4,,,,,,\n"
        "D-2,timesheet,C3,,,,TRAINING,2026-01-12,pending,,,8,consultant,,,\n"
    )
    assert _import(clerk, first).json()["created"] == 2
    again = _import(clerk, first).json()
    assert (again["created"], again["unchanged"]) == (0, 2)
    assert _refs(clerk, status="pending") == ["D-2"]
    assert _refs(clerk, status="to_bill") == ["D-1"]
    assert _refs(clerk, customer="C3") == ["D-2"]
    assert _refs(clerk, date_from="2026-01-11", date_to="2026-01-31") == ["D-2"]
    bad = clerk.get(f"{BASE}/deliveries", params={"status": "late"})
    assert bad.status_code == 422 and bad.json()["field"] == "status"

    # 4 x 12.50 = 50.00 net, 9.50 tax: one draft for D-1 (per delivery); D-2 is pending.
    prepared = clerk.post(
        f"{BASE}/billing/prepare", json={"through": "2026-01-31", "document_date": "2026-01-31"}
    )
    assert prepared.status_code == 200, prepared.text
    (doc,) = prepared.json()["documents"]
    assert (doc["kind"], doc["deliveries"], doc["net"], doc["lines"]) == (
        "draft",
        ["D-1"],
        "50.00",
        1,
    )
    issued = specialist.post(
        f"{BASE}/drafts/{doc['document_id']}/issue", json={"issue_date": "2026-01-31"}
    )
    assert issued.status_code == 201, issued.text
    number = issued.json()["number"]
    assert issued.json()["total"] == "59.50"
    d1 = clerk.get(f"{BASE}/deliveries/D-1").json()
    assert d1["billed_quantity"] == "4"
    assert [(b["document_number"], b["line_no"], b["net"]) for b in d1["billings"]] == [
        (number, 1, "50.00")
    ]
    assert _refs(clerk, status="to_bill") == []

    # Only 3 of the 4 were accepted: a correction, which takes 1 back by credit note.
    corrected = _import(clerk, HEADER + "D-1,shipment,C1,K1,,,WIDGET,2026-01-10,,4,3,,,,,\n")
    assert corrected.json()["corrected"] == 1
    assert clerk.get(f"{BASE}/deliveries/D-1").json()["revision"] == 2
    run = {"through": "2026-01-31", "document_date": "2026-02-02"}
    before = row_counts(desk.book)
    held = clerk.post(f"{BASE}/billing/prepare", json=run).json()
    assert held["documents"] == []
    assert [(h["delivery"], h["field"]) for h in held["held"]] == [("D-1", "quantity")]
    assert "credit note" in held["held"][0]["reason"]
    assert row_counts(desk.book)["documents"] == before["documents"]
    credited = specialist.post(f"{BASE}/billing/prepare", json=run).json()
    (note,) = credited["documents"]
    # 1 x 12.50 taken back: net -12.50 (the credit note's total is 12.50 + 2.38 = 14.88).
    assert (note["kind"], note["net"], note["deliveries"]) == ("credit_note", "-12.50", ["D-1"])
    shown = specialist.get(f"{BASE}/invoices/{note['number']}").json()
    assert (shown["total"], shown["credited_invoice"]) == ("14.88", number)
    assert specialist.get(f"{BASE}/invoices/{number}").json()["open"] == "44.62"  # 59.50 - 14.88
    assert specialist.post(f"{BASE}/billing/prepare", json=run).json()["documents"] == []
