"""The schema says every refusal an operation can give, and the API keeps to it: what
schemathesis found (test_schemathesis.py), pinned here as plain tests so that they fail fast
and by name.

Expected values are written by hand: the routes of customers.py (GET and PATCH on
/customers/{code}), the test book's clock (2026-01-01 09:00 UTC, tests/fixtures_book.py)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import get_args

import pytest
from fastapi.testclient import TestClient
from fixtures_book import ENTITY, row_counts
from hypothesis import given
from hypothesis import strategies as st
from pydantic import AfterValidator, BaseModel

from openbill.domain.access import ACTIONS
from openbill.interfaces.api import (
    create_app,
    inputs,
    schemas,
    schemas_bank,
    schemas_commercial,
    schemas_receivables,
)
from openbill.interfaces.api.idempotency import request_digest
from openbill.interfaces.api.inputs import LimitBody, _body_has_nul, max_body_bytes
from openbill.interfaces.api.problems import PROBLEM_JSON
from openbill.usecases import access

BASE = f"/v1/entities/{ENTITY}"
PROBLEM = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


@pytest.fixture
def api(book):
    """A client with an API key that has every action of ACME (no password hashing: quick)."""
    key = access.create_api_key(book.uow(), access.CreateApiKey(ENTITY, "all", ACTIONS, "t"))
    client = TestClient(create_app(book), raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {key.token}"
    with client:
        yield client


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_operation_documents_the_refusals_it_can_give_as_problems(api):
    schema = api.get("/v1/openapi.json").json()
    assert "Problem" in schema["components"]["schemas"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path, method, op in _operations(schema):
        where = f"{method.upper()} {path}"
        responses = op["responses"]
        params = {(p["in"], p["name"]) for p in op.get("parameters", [])}
        for name in re.findall(r"\{(\w+)\}", path):
            assert ("path", name) in params, (where, name)
        assert "422" in responses, where
        if "x-openbill-action" in op:
            assert {"401", "403"} <= set(responses), where
            assert op["security"] == [{"apiKey": []}, {"session": []}], where
        if "{" in path:
            assert "404" in responses, where
        if method in ("post", "put", "patch", "delete"):
            assert "409" in responses, where
        if method == "post" and not path.startswith("/v1/sessions"):
            assert ("header", "Idempotency-Key") in params, where
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                assert response["content"] == PROBLEM, (where, status)
    patch = schema["paths"]["/v1/entities/{entity}/customers/{code}"]["patch"]
    assert {"412", "428"} <= set(patch["responses"])
    assert set(schema["paths"]["/v1/sessions"]["post"]["responses"]) >= {"401", "429"}


def test_a_method_a_path_does_not_take_names_every_method_it_does(api):
    reply = api.request("OPTIONS", f"{BASE}/customers/C1")
    assert reply.status_code == 405
    # Two routes share the path (GET and PATCH in customers.py); Starlette named only the first.
    assert reply.headers["allow"] == "GET, PATCH"
    assert reply.headers["content-type"] == PROBLEM_JSON
    assert reply.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        # Each also matches a route with a parameter ({delivery_id}, {case}, {payment_id}),
        # whose methods are not this resource's (schemathesis, ST205).
        ("deliveries/import", "POST"),
        ("disputes/report", "GET"),
        ("payments/imports", "POST"),
    ],
)
def test_a_literal_path_names_its_own_methods_not_a_look_alike_with_a_parameter(api, path, allow):
    # GET /payments/imports also reaches GET /payments/{payment_id}, where "imports" is no
    # number: 405 all the same. (A delivery may be called "import": GET reads it.)
    for method in ("OPTIONS", "DELETE") + (("GET",) if path == "payments/imports" else ()):
        reply = api.request(method, f"{BASE}/{path}")
        assert reply.status_code == 405, (method, reply.text)
        assert reply.headers["allow"] == allow
        assert reply.json()["code"] == "method_not_allowed"
    schema = api.get("/v1/openapi.json").json()["paths"][f"/v1/entities/{{entity}}/{path}"]
    assert set(schema) == {allow.lower()}


@pytest.mark.parametrize(
    "url",
    [
        f"{BASE}/bank/lines/18446744073709551616",
        f"{BASE}/bank/statements/2147483648/lines",
        f"{BASE}/dunning/runs/0",
        f"{BASE}/payments/-1",
    ],
)
def test_a_record_number_no_record_can_have_is_refused_as_input(api, url):
    # Beyond the 32-bit columns of PostgreSQL (and SQLite's 64 bits) was a 500.
    reply = api.get(url)
    assert reply.status_code == 422, reply.text
    assert reply.json()["code"] == "invalid_input"


def test_a_record_number_in_range_that_names_nothing_is_not_found(api):
    assert api.get(f"{BASE}/bank/lines/2147483647").status_code == 404


def test_a_body_larger_than_the_server_takes_is_refused_before_it_is_read(book, monkeypatch):
    # RefuseNul reads JSON bodies only this far; past it, FastAPI's parser meets the bound.
    monkeypatch.setattr(inputs, "MAX_CHECKED_BODY_BYTES", 100)
    key = access.create_api_key(book.uow(), access.CreateApiKey(ENTITY, "all", ACTIONS, "t"))
    app = create_app(book)
    (limit,) = [m for m in app.user_middleware if m.cls is LimitBody]
    limit.kwargs["limit"] = 1000
    client = TestClient(app, raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {key.token}"
    before = row_counts(book)
    body = {"code": "BIG", "name": "x" * 2000, "country": "DE", "currency": "EUR"}
    with client:
        reply = client.post(f"{BASE}/customers", json=body)
        assert reply.status_code == 413, reply.text
        assert reply.headers["content-type"] == PROBLEM_JSON
        assert (reply.json()["code"], reply.json()["field"]) == ("body_too_large", "body")
        # Without a Content-Length (chunked), counted as it streams in.
        chunks = iter([b'{"code": "BIG", "name": "', b"x" * 2000, b'"}'])
        reply = client.post(
            f"{BASE}/customers", content=chunks, headers={"Content-Type": "application/json"}
        )
        assert reply.status_code == 413, reply.text
        assert reply.json()["code"] == "body_too_large"
        # An upload, read by its own route, streamed in the same way.
        rows = iter(
            [
                b"ref,customer,charge_code,quantity,delivered_on\n",
                b"D1,C1,WIDGET,1,2026-01-05\n" * 80,
            ]
        )
        reply = client.post(
            f"{BASE}/deliveries/import", content=rows, headers={"Content-Type": "text/csv"}
        )
        assert reply.status_code == 413, reply.text
        assert reply.json()["code"] == "body_too_large"
        assert row_counts(book) == before
        body["name"] = "Small"
        assert client.post(f"{BASE}/customers", json=body).status_code == 201


def test_the_body_limit_is_64_megabytes_unless_the_server_says_otherwise(monkeypatch):
    monkeypatch.delenv("OPENBILL_MAX_BODY_MB", raising=False)
    assert max_body_bytes() == 64 * 1024 * 1024
    monkeypatch.setenv("OPENBILL_MAX_BODY_MB", "200")
    assert max_body_bytes() == 200 * 1024 * 1024
    monkeypatch.setenv("OPENBILL_MAX_BODY_MB", "lots")
    assert max_body_bytes() == 64 * 1024 * 1024


def test_a_body_that_is_not_text_is_a_problem_on_the_body(api):
    reply = api.post(
        f"{BASE}/payments",
        content=b'{"customer": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )
    assert reply.status_code == 422
    assert (reply.json()["code"], reply.json()["field"]) == ("invalid_input", "body")


def test_a_date_is_written_out_never_a_number(api, book):
    before = row_counts(book)
    body = {"customer": "C1", "amount": "10.00", "received_on": 0}  # 0 would be 1970-01-01
    reply = api.post(f"{BASE}/payments", json=body)
    assert reply.status_code == 422 and reply.json()["field"] == "received_on", reply.text
    reply = api.get(f"{BASE}/invoices", params={"date_to": "0"})
    assert reply.status_code == 422 and reply.json()["field"] == "date_to"
    assert row_counts(book) == before
    reply = api.get(f"{BASE}/invoices", params={"date_to": "2026-01-31"})
    assert reply.status_code == 200


def test_a_json_number_in_a_body_with_an_idempotency_key_is_refused_not_a_crash(api):
    key = {"Idempotency-Key": "float-1"}
    reply = api.post(f"{BASE}/payments", json={"customer": "C1", "amount": 1.5}, headers=key)
    assert reply.status_code == 422 and reply.json()["field"] == "amount", reply.text
    # The refusal freed the key: the corrected request runs (and is recorded once).
    body = {"customer": "C1", "amount": "1.50"}
    assert api.post(f"{BASE}/payments", json=body, headers=key).status_code == 201
    again = api.post(f"{BASE}/payments", json=body, headers=key)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("POST", f"{BASE}/customers", {"code": "N", "name": "a\x00b"}, "body"),
        ("GET", f"{BASE}/customers?q=a%00", None, "query"),
        ("GET", f"{BASE}/customers/C%001", None, "path"),
        (
            "POST",
            f"{BASE}/payments",
            {"customer": "C1", "amount": "1", "reference": "\x00"},
            "body",
        ),
    ],
)
def test_text_with_a_nul_character_is_refused_and_changes_nothing(
    api, book, method, url, body, field
):
    before = row_counts(book)
    reply = api.request(method, url, json=body, headers={"Idempotency-Key": "nul"})
    assert reply.status_code == 422, reply.text
    assert (reply.json()["code"], reply.json()["field"]) == ("invalid_input", field)
    assert "NUL" in reply.json()["detail"]
    assert row_counts(book) == before


def test_a_code_in_any_script_comes_back_in_a_percent_encoded_location(api):
    # Header values are Latin-1: "Ėx" in Location was a 500 (schemathesis, seed 3).
    body = {"code": "\u0116x", "name": "New", "country": "DE", "currency": "EUR"}
    reply = api.post(f"{BASE}/customers", json=body)
    assert reply.status_code == 201, reply.text
    assert reply.headers["location"] == f"{BASE}/customers/%C4%96x"  # U+0116 is C4 96 in UTF-8
    assert api.get(reply.headers["location"]).json()["code"] == "\u0116x"


def test_a_purchase_order_number_in_any_script_comes_back_in_a_location_and_is_kept(api, book):
    # "Ì\U000729e3<E" in Location was a 500 after the order was stored (schemathesis).
    number = "\u00ccP\U000729e3/1"
    reply = api.post(f"{BASE}/purchase-orders", json={"customer": "C3", "number": number})
    assert reply.status_code == 201, reply.text
    # U+00CC is C3 8C in UTF-8, U+729E3 is F1 B2 A7 A3, and the slash is %2F.
    assert reply.headers["location"] == f"{BASE}/purchase-orders/C3/%C3%8CP%F1%B2%A7%A3%2F1"
    assert reply.json()["number"] == number


def test_times_carry_their_zone(api):
    # Stored in UTC; SQLite gives it back without a zone, and RFC 3339 needs one.
    assert api.get(f"{BASE}/customers/C1").json()["created_at"] == "2026-01-01T09:00:00Z"
    hour = {"code": "HOUR", "name": "Hour", "unit": "HUR", "revenue_account": "4000"}
    made = api.post(f"{BASE}/charge-codes", json=hour)
    assert made.status_code == 201, made.text
    assert made.json()["created_at"].endswith("Z")
    assert api.get(f"{BASE}/charge-codes/HOUR").json()["created_at"].endswith("Z")


def test_every_time_in_every_answer_is_given_with_its_zone():
    # A field typed plain `datetime` would come back from SQLite without one (ST108).
    plain = []
    for module in (schemas, schemas_bank, schemas_commercial, schemas_receivables):
        for name, model in vars(module).items():
            if isinstance(model, type) and issubclass(model, BaseModel):
                for field, info in model.model_fields.items():
                    kinds = {info.annotation, *get_args(info.annotation)}
                    if datetime in kinds and not any(
                        isinstance(m, AfterValidator) for m in info.metadata
                    ):
                        plain.append(f"{name}.{field}")
    assert plain == []


@pytest.mark.parametrize("code", [" C9", "C9 ", "C\x019", "", "\t"])
def test_a_code_with_a_space_at_an_end_or_a_control_character_is_refused(api, code):
    body = {"code": code, "name": "New", "country": "DE", "currency": "EUR"}
    reply = api.post(f"{BASE}/customers", json=body)
    assert reply.status_code == 422 and reply.json()["field"] == "code", reply.text


def test_invoice_filters_are_the_listed_values(api):
    schema = api.get("/v1/openapi.json").json()
    params = schema["paths"]["/v1/entities/{entity}/invoices"]["get"]["parameters"]
    kind = next(p for p in params if p["name"] == "kind")
    assert "credit_note" in json.dumps(kind["schema"])
    reply = api.get(f"{BASE}/invoices", params={"kind": "receipt"})
    assert reply.status_code == 422 and reply.json()["field"] == "kind"
    # Empty, as a form sends a filter left unchosen: any.
    assert api.get(f"{BASE}/invoices", params={"kind": "", "status": ""}).status_code == 200
    reply = api.get(f"{BASE}/invoices", params={"kind": "credit_note"})
    assert reply.status_code == 200 and reply.json()["data"] == []  # the book has none


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_any_json_has_a_digest_and_spacing_or_key_order_do_not_change_it(value):
    compact = json.dumps(value, separators=(",", ":")).encode()
    spaced = json.dumps(value, indent=2, sort_keys=True).encode()
    assert request_digest("POST", "/p", "", compact) == request_digest("POST", "/p", "", spaced)


def test_a_number_and_the_same_digits_as_text_are_different_requests():
    number = request_digest("POST", "/p", "", b'{"amount": 1.5}')
    assert number != request_digest("POST", "/p", "", b'{"amount": "1.5"}')


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)


@given(JSON)
def test_a_nul_is_found_in_any_string_of_a_json_body_and_only_there(value):
    has = any("\x00" in s for s in _strings(value))
    assert _body_has_nul(json.dumps(value).encode()) is has
    assert _body_has_nul(json.dumps(value, ensure_ascii=False).encode()) is has


def _schema_of(api, name):
    return api.get("/v1/openapi.json").json()["components"]["schemas"][name]


def test_a_text_that_must_be_given_is_not_blanks_in_the_schema_as_on_the_server(api, book):
    # "\r" met minLength 1 in the schema and was stripped to "" by the server (seed 3).
    reason = _schema_of(api, "AdjustmentIn")["properties"]["reason"]
    assert (reason["minLength"], reason["pattern"]) == (1, r"\S")
    assert re.search(reason["pattern"], "\r") is None and re.search(reason["pattern"], " x")
    before = row_counts(book)
    body = {
        "customer": "C1",
        "lines": [{"charge_code": "WIDGET", "quantity": "1"}],
        "adjustments": [{"kind": "charge", "reason": "\r", "amount": "1.00"}],
    }
    reply = api.post(f"{BASE}/invoices", json=body)
    assert reply.status_code == 422 and reply.json()["field"] == "adjustments[0].reason"
    assert row_counts(book) == before


def test_bank_fees_take_only_currency_codes_in_the_schema_as_on_the_server(api):
    fees = _schema_of(api, "BankSettingsChange")["properties"]["fees"]["anyOf"][0]
    assert fees["additionalProperties"] is False
    assert list(fees["patternProperties"]) == ["^[A-Za-z]{3}$"]
    tag = api.get(f"{BASE}/bank/settings").headers["etag"]
    reply = api.patch(
        f"{BASE}/bank/settings", json={"fees": {"E!": ["1.00"]}}, headers={"If-Match": tag}
    )
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"].startswith("fees")
