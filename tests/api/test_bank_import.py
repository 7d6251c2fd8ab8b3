"""POST .../bank/statements: the statement file as the request body. Replays under the same
Idempotency-Key return the first answer; the same file under a new key is the import's own
idempotency (stored once); a broken file is refused naming the line or element and nothing is
stored; a body over the bound is 413. Files from ../shared/corpora import whole, with balances
read off the files by hand."""

from __future__ import annotations

import pytest
from fixtures_book import row_counts

from openbill.interfaces.api.routes import bank as bank_routes

from .bank_month import BANK, add_account, march, upload

# Tables a refused or repeated request may touch: the session of the client and the audit of
# signing in, the Idempotency-Key store, and the audit of a repeated import.
BOOKKEEPING = {"login_attempts", "user_sessions", "audit_events", "chain_heads", "api_requests"}


def _changed(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {k for k in before if before[k] != after[k]}


@pytest.fixture
def month(desk):
    built = march(desk.book)
    add_account(desk.client("specialist"))
    return built


def test_a_replay_under_the_same_key_returns_the_first_answer_and_stores_nothing(desk, month):
    api = desk.client("specialist")
    first = upload(api, month.camt, key="march")
    assert first.status_code == 201, first.text
    before = row_counts(desk.book)
    again = upload(api, month.camt, key="march")
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert _changed(before, row_counts(desk.book)) <= {"login_attempts", "user_sessions"}
    # Another file under the same key is refused and changes nothing.
    other = upload(api, month.mt940, key="march")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_conflict"
    assert row_counts(desk.book)["bank_lines"] == 4


def test_the_same_file_under_a_new_key_is_stored_once(desk, month):
    api = desk.client("specialist")
    first = upload(api, month.camt, key="k-1").json()
    before = row_counts(desk.book)
    again = upload(api, month.camt, key="k-2")
    assert again.status_code == 200, again.text  # nothing new: 200, not 201
    body = again.json()
    assert "idempotent-replayed" not in again.headers
    assert body["new_lines"] == 0 and body["matching"] is None
    [stmt] = body["statements"]
    assert stmt["id"] is None and stmt["duplicate_of"] == first["statements"][0]["id"]
    assert (stmt["entries"], stmt["new_entries"]) == (4, 0)
    assert _changed(before, row_counts(desk.book)) <= BOOKKEEPING
    listed = api.get(f"{BANK}/statements").json()["data"]
    assert len(listed) == 1 and listed[0]["new_entries"] == 4


def test_a_broken_camt_is_refused_naming_its_element_and_nothing_is_stored(desk, month):
    api = desk.client("specialist")
    broken = month.camt.replace(b'<Amt Ccy="EUR">119.00</Amt>', b'<Amt Ccy="EUR">1x9</Amt>')
    assert broken != month.camt
    before = row_counts(desk.book)
    reply = api.post(f"{BANK}/statements", content=broken, params={"filename": "broken.xml"})
    assert reply.status_code == 422
    assert reply.headers["content-type"] == "application/problem+json"
    problem = reply.json()
    assert problem["record"] == "broken.xml: element /Document/BkToCstmrStmt/Stmt[1]/Ntry[1]/Amt"
    assert "'1x9' is not an amount" in problem["detail"] and problem["field"] == "body"
    assert _changed(before, row_counts(desk.book)) <= BOOKKEEPING - {"api_requests"}


def test_a_broken_mt940_is_refused_naming_its_line(desk, month):
    api = desk.client("specialist")
    # The first :61: is line 5 of the file (after :20:, :25:, :28C: and :60F:); its value
    # date gets letters.
    assert month.mt940.splitlines()[4].startswith(b":61:2603090309C119,00")
    broken = month.mt940.replace(b":61:2603090309", b":61:2603XX0309")
    reply = api.post(f"{BANK}/statements", content=broken, params={"filename": "march.sta"})
    assert reply.status_code == 422, reply.text
    assert (reply.json()["record"], reply.json()["field"]) == ("march.sta: line 5", "body")
    assert "cannot be read" in reply.json()["detail"]
    assert row_counts(desk.book)["bank_lines"] == 0


def test_what_is_no_statement_or_empty_is_refused_by_field(desk, month):
    api = desk.client("specialist")
    csv = b"date;amount\n2026-03-01;1.00\n"
    plain = api.post(f"{BANK}/statements", content=csv, params={"filename": "x.csv"})
    assert plain.status_code == 422
    assert (plain.json()["record"], plain.json()["field"]) == ("x.csv: line 1", "body")
    assert "name its column profile" in plain.json()["detail"]
    profile = api.post(
        f"{BANK}/statements", content=csv, params={"filename": "x.csv", "profile": "nope"}
    )
    assert profile.status_code == 422 and profile.json()["field"] == "profile"
    empty = api.post(f"{BANK}/statements", content=b"")
    assert empty.status_code == 422 and empty.json()["field"] == "body"
    assert row_counts(desk.book)["bank_statements"] == 0


def test_a_file_for_an_account_the_book_does_not_know(desk):
    month = march(desk.book)  # no account registered
    api = desk.client("specialist")
    unknown = upload(api, month.camt)
    assert unknown.status_code == 404 and unknown.json()["field"] == "account"
    named = upload(api, month.camt, account="Savings")
    assert named.status_code == 404 and named.json()["field"] == "account"
    added = upload(api, month.camt, add_accounts="true", match="false")
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["accounts_added"] == ["DE89370400440532013000"]
    assert body["new_lines"] == 4 and body["matching"] is None
    statuses = {x["status"] for x in api.get(f"{BANK}/lines").json()["data"]}
    assert statuses == {"new"}  # match=false: the lines wait for a matching run


def test_a_body_over_the_bound_is_413_whether_declared_or_streamed(desk, month, monkeypatch):
    monkeypatch.setattr(bank_routes, "STATEMENT_BYTES_MAX", 1_000)
    api = desk.client("specialist")
    declared = api.post(f"{BANK}/statements", content=b"x" * 1_001)
    assert declared.status_code == 413
    assert (declared.json()["code"], declared.json()["field"]) == ("too_large", "body")

    def chunks():  # no Content-Length: sent chunked
        for _ in range(11):
            yield b"x" * 100

    streamed = api.post(f"{BANK}/statements", content=chunks())
    assert streamed.status_code == 413
    assert row_counts(desk.book)["bank_statements"] == 0
    # At the bound itself the body is read (and refused for what it is, not for its size).
    at_bound = api.post(f"{BANK}/statements", content=b"x" * 1_000)
    assert at_bound.status_code == 422 and at_bound.json()["field"] == "body"


def test_who_may_import(desk, month):
    for role in ("clerk", "auditor", "administrator"):
        reply = upload(desk.client(role), month.camt)
        assert reply.status_code == 403, role
    assert upload(desk.with_key("reader"), month.camt).status_code == 403
    assert upload(desk.with_key("poster"), month.camt).status_code == 201
    assert row_counts(desk.book)["bank_lines"] == 4


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # jejik_ing.sta: :60F: C0,00 and :62F: C3,47; seven :61: lines, D25,03 D3,03 D1,11
        # D20,00 D1,10 C3,68 C1,00 = -45.59, so the file does not add up to its closing
        # balance and the import says so.
        (
            "mt940/jejik_ing.sta",
            ("0001234567", "mt940", "EUR", "0.00", "3.47", 7, "-45.59 = -45.59 EUR"),
        ),
        # ofxparse_bank_medium.ofx: CAD, three STMTTRN -6.60 -316.67 -22.00, LEDGERBAL 382.34
        # and no opening balance (OFX gives none): nothing to check.
        (
            "ofx/ofxparse_bank_medium.ofx",
            ("12300 000012345678", "ofx", "CAD", None, "382.34", 3, None),
        ),
    ],
)
def test_statements_of_the_corpus_import_whole(desk, corpora, path, expected):
    account, fmt, currency, opening, closing, entries, problem = expected
    data = (corpora / "bank-statements" / path).read_bytes()
    api = desk.client("specialist")
    reply = api.post(
        f"{BANK}/statements",
        content=data,
        params={"filename": path.rsplit("/", 1)[1], "add_accounts": "true"},
    )
    assert reply.status_code == 201, reply.text
    [stmt] = reply.json()["statements"]
    assert (stmt["account"], stmt["format"], stmt["currency"]) == (account, fmt, currency)
    assert (stmt["opening"], stmt["closing"], stmt["entries"]) == (opening, closing, entries)
    if problem:
        assert len(stmt["problems"]) == 1 and problem in stmt["problems"][0]
    else:
        assert stmt["problems"] == []
    stored = api.get(f"{BANK}/statements/{stmt['id']}/lines", params={"limit": 200}).json()
    assert len(stored["data"]) == entries and stored["next_cursor"] is None
