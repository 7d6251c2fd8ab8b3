"""The bank lines to review and their actions against the book of queues_book.py: each line
with its candidates and explanations; confirm the best candidate or another, mark as other,
undo, run the matching. Values by hand in the comments, checked in the book afterwards."""

from __future__ import annotations

from fixtures_book import credit_of, open_of, row_counts

from openbill.usecases import bank_matching as bm

from .conftest import ENTITY, csrf_of, log_in, text_of

BASE = f"/desk/{ENTITY}"
HTMX = {"HX-Request": "true"}


def _client(desk, role="specialist"):
    client = log_in(desk, role)
    return client, csrf_of(client.get(f"{BASE}/bank-lines").text)


def _post(client, path, token, **data):
    return client.post(f"{BASE}{path}", data={"csrf_token": token, **data}, follow_redirects=False)


def _after(client, reply):
    assert reply.status_code == 303, reply.text[:2000]
    return text_of(client.get(reply.headers["location"]).text)


def _status(book, line_id):
    return bm.line_detail(book.uow(read_only=True), ENTITY, line_id)["status"]


def _row(page, row_id):
    part = page[page.index(f'id="{row_id}"') :]
    return text_of(part[: part.index("</tr>")])


def test_each_line_waits_with_its_candidates_and_why(queues):
    page = log_in(queues, "clerk").get(f"{BASE}/bank-lines").text
    words = text_of(page)
    assert "Waiting for review 2 lines" in words
    # Line 3: 100.00 from Gamma KG; C3's only open invoice is INV-4 with 85.51.
    assert (
        "3 Main EUR, booked 2026-03-20 Gamma KG books 100.00 EUR review Candidates, best first "
        "50 % payment from C3: INV-2026-000004 85.51 EUR, credit 14.49 EUR" in words
    )
    assert "45 % payment from C3, credit 100.00 EUR" in words
    assert "from C3's known name; the amount fits no open invoice" in words
    # Line 4: 75.00 from Alpha GmbH against INV-2's 150.00 open.
    assert "50 % payment from C1: INV-2026-000002 75.00 EUR" in words
    # The two lines the matching posted itself, newest decision first, with their undo.
    assert "The latest lines matched (2), newest decision first" in words
    assert words.index("bank fees -12.34 EUR other, automatically") < words.index(
        "Beta SARL INV-2026-000003 50.00 EUR payment, automatically"
    )
    # A clerk reads it all and decides nothing.
    assert "/confirm" not in page and "/other" not in page and "/undo" not in page


def test_confirm_the_best_candidate(fresh_queues):
    book = fresh_queues.book
    client, token = _client(fresh_queues)
    words = _after(client, _post(client, "/bank-lines/4/confirm", token, candidate="1"))
    assert "Bank line 4 matched: candidate 1 confirmed" in words
    assert _status(book, 4) == "matched"
    assert open_of(book, "INV-2026-000002") == 15000 - 7500  # 150.00 - 75.00
    assert "Waiting for review 1 line" in words
    assert "Alpha GmbH part 75.00 EUR payment, by specialist" in words


def test_pick_another_candidate(fresh_queues):
    book = fresh_queues.book
    client, token = _client(fresh_queues)
    _after(client, _post(client, "/bank-lines/3/confirm", token, candidate="2"))
    # Candidate 2 keeps all 100.00 as C3's credit; INV-4 stays open.
    assert credit_of(book, "C3") == 10000
    assert open_of(book, "INV-2026-000004") == 8551


def test_a_candidate_the_line_does_not_have_is_refused_beside_the_line(fresh_queues):
    book = fresh_queues.book
    client, token = _client(fresh_queues)
    before = row_counts(book)
    reply = _post(client, "/bank-lines/3/confirm", token, candidate="9")
    assert reply.status_code == 404
    assert "It has no candidate 9 (2 proposed)" in _row(reply.text, "line-3")
    assert _status(book, 3) == "review"
    assert row_counts(book)["payments"] == before["payments"]


def test_confirm_by_htmx_answers_the_row_and_the_counts(fresh_queues):
    client, token = _client(fresh_queues)
    reply = client.post(
        f"{BASE}/bank-lines/4/confirm",
        data={"candidate": "1"},
        headers={**HTMX, "X-CSRF-Token": token},
    )
    assert reply.status_code == 200
    assert reply.text.lstrip().startswith('<tr id="line-4" class="done">')
    assert "Bank line 4 matched: candidate 1 confirmed" in reply.text
    # One line left to review.
    assert '<span class="count" id="count-bank_lines" hx-swap-oob="true">1</span>' in reply.text


def test_mark_as_other(fresh_queues):
    book = fresh_queues.book
    client, token = _client(fresh_queues)
    refused = _post(client, "/bank-lines/3/other", token, category="other")
    assert refused.status_code == 422
    assert "Say which ledger account this money is booked on (--ledger-account)" in _row(
        refused.text, "line-3"
    )
    words = _after(client, _post(client, "/bank-lines/3/other", token, category="transfer"))
    assert "Bank line 3 booked as transfer." in words
    detail = bm.line_detail(book.uow(read_only=True), ENTITY, 3)
    assert (detail["status"], detail["decisions"][-1]["action"]) == ("matched", "other")
    assert open_of(book, "INV-2026-000004") == 8551  # no customer's money


def test_undo_a_decision(fresh_queues):
    book = fresh_queues.book
    client, token = _client(fresh_queues)
    no_reason = _post(client, "/bank-lines/1/undo", token, reason=" ")
    assert no_reason.status_code == 422
    assert "Say why the decision is undone (reason)" in _row(no_reason.text, "decided-1")
    not_decided = _post(client, "/bank-lines/3/undo", token, reason="wrong line")
    assert not_decided.status_code == 409
    assert open_of(book, "INV-2026-000003") == 0  # paid by line 1
    words = _after(
        client, _post(client, "/bank-lines/1/undo", token, reason="the money was for INV-4")
    )
    assert "The decision on bank line 1 is undone; the line waits to be matched again." in words
    assert _status(book, 1) == "new"
    assert "Not looked at yet 1 line" in words
    assert open_of(book, "INV-2026-000003") == 5000  # open again


def test_run_the_matching(fresh_queues):
    client, token = _client(fresh_queues)
    words = _after(client, _post(client, "/bank-lines/match", token))
    # Lines 3 and 4 are looked at again: still not sure enough, both wait.
    assert "Matching looked at 2 lines: 0 matched automatically, 2 waiting for review." in words
    refused = _post(client, "/bank-lines/match", token, account="NO SUCH ACCOUNT")
    assert refused.status_code == 404
