"""The discrepancy queue: verification of drafts, resolution by fixing or overriding, approvals,
and issue refused while a blocking finding is open (nothing written)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from fixtures_book import ENTITY, row_counts, verify_clean

from openbill.domain.rejections import InvalidInput, InvalidState
from openbill.usecases import invoices as inv
from openbill.usecases import verification as ver
from openbill.usecases.reports import show_document

DAY = date(2026, 3, 2)


def _draft(book, customer="C1", *lines, reference="", on=DAY, currency=""):
    specs = tuple(inv.LineSpec(code, qty) for code, qty in (lines or (("WIDGET", "2"),)))
    return inv.create_draft(
        book.uow(),
        inv.CreateDraft(ENTITY, customer, on, currency, specs, buyer_reference=reference),
    )


def _issue(book, draft_id):
    return inv.issue_draft(book.uow(), inv.IssueDraft(ENTITY, draft_id, DAY))


def _queue(book, status="open"):
    return [
        (d["rule"], d["severity"], d["field"])
        for d in ver.list_discrepancies(book.uow(read_only=True), ENTITY, status)
    ]


def test_warnings_do_not_stop_the_issue(book):
    # C1 has no address and no e-mail: two warnings, no blocking finding.
    draft = _draft(book)
    result = ver.verify_draft(book.uow(), ver.VerifyDraft(ENTITY, draft.id))
    assert (result.open_blocking, result.open_warnings) == (0, 2)
    assert _queue(book) == [
        ("master_data_incomplete", "warn", "address"),
        ("master_data_incomplete", "warn", "email"),
    ]
    assert _issue(book, draft.id).number == "INV-2026-000001"
    # Issuing closed the warnings as accepted by the person who issued.
    assert _queue(book) == []
    assert {d["resolution"] for d in ver.list_discrepancies(book.uow(), ENTITY, "overridden")} == {
        "issued with this warning"
    }


def test_duplicate_blocks_until_overridden_with_a_reason(book):
    # 2 x 12.50 = 25.00 + 19 % = 29.75, reference PO-7; the same again a day later.
    first = _draft(book, reference="PO-7")
    _issue(book, first.id)
    second = _draft(book, reference="PO-7", on=date(2026, 3, 3))
    before = row_counts(book)
    with pytest.raises(InvalidState) as refused:
        _issue(book, second.id)
    assert "possible_duplicate" in refused.value.reason
    assert "29.75 EUR" in refused.value.reason and "INV-2026-000001" in refused.value.reason
    # The refused issue wrote nothing (the findings it found are written by verify, not issue).
    after = row_counts(book)
    assert {k: v for k, v in after.items() if k != "discrepancies"} == {
        k: v for k, v in before.items() if k != "discrepancies"
    }
    [dup] = [
        d
        for d in ver.list_discrepancies(book.uow(read_only=True), ENTITY)
        if d["rule"] == "possible_duplicate"
    ]
    with pytest.raises(InvalidInput) as short:
        ver.resolve_discrepancy(
            book.uow(), ver.ResolveDiscrepancy(ENTITY, dup["id"], "override", "ok")
        )
    assert short.value.field == "reason"
    done = ver.resolve_discrepancy(
        book.uow(),
        ver.ResolveDiscrepancy(
            ENTITY, dup["id"], "override", "customer ordered the same kit twice, see mail"
        ),
    )
    assert (done["status"], done["resolved_by"]) == ("overridden", "tests")
    # The override stands when the draft is checked again, and the issue goes through.
    assert _issue(book, second.id).number == "INV-2026-000002"
    verify_clean(book)


def test_fixing_the_source_resolves_the_finding(book):
    first = _draft(book, reference="PO-8")
    _issue(book, first.id)
    second = _draft(book, reference="PO-8")
    ver.verify_draft(book.uow(), ver.VerifyDraft(ENTITY, second.id))
    [dup] = [
        d
        for d in ver.list_discrepancies(book.uow(read_only=True), ENTITY)
        if d["rule"] == "possible_duplicate"
    ]
    # "Fixed" is refused while the finding is still there...
    with pytest.raises(InvalidState):
        ver.resolve_discrepancy(book.uow(), ver.ResolveDiscrepancy(ENTITY, dup["id"], "fixed"))
    # ...and accepted once the draft changed (a third widget: 37.50 + 7.13 = 44.63).
    inv.add_lines(book.uow(), inv.AddLines(ENTITY, second.id, (inv.LineSpec("WIDGET", "1"),)))
    done = ver.resolve_discrepancy(book.uow(), ver.ResolveDiscrepancy(ENTITY, dup["id"], "fixed"))
    assert done["status"] == "resolved"
    assert _issue(book, second.id).total_minor == 4463


def test_approval_by_a_second_person(book):
    ver.set_settings(book.uow(), ver.SetVerificationSettings(ENTITY, approval_threshold="100.00"))
    # 10 x 12.50 = 125.00 + 23.75 = 148.75 > 100.00
    draft = _draft(book, "C1", ("WIDGET", "10"))
    with pytest.raises(InvalidState) as refused:
        _issue(book, draft.id)
    assert "approval_required" in refused.value.reason
    with pytest.raises(InvalidState) as same:
        ver.approve_draft(book.uow(), ver.ApproveDraft(ENTITY, draft.id))
    assert "another person" in same.value.reason
    manager = replace(book, actor="manager")
    approved = ver.approve_draft(manager.uow(), ver.ApproveDraft(ENTITY, draft.id))
    assert approved.open_blocking == 0
    issued = _issue(book, draft.id)
    assert issued.total_minor == 14875
    view = show_document(book.uow(read_only=True), ENTITY, issued.number)
    assert view.header["derived_status"] == "issued"


def test_changing_an_approved_draft_needs_approval_again(book):
    ver.set_settings(book.uow(), ver.SetVerificationSettings(ENTITY, approval_threshold="100.00"))
    draft = _draft(book, "C1", ("WIDGET", "10"))
    ver.approve_draft(replace(book, actor="manager").uow(), ver.ApproveDraft(ENTITY, draft.id))
    inv.add_lines(book.uow(), inv.AddLines(ENTITY, draft.id, (inv.LineSpec("WIDGET", "1"),)))
    with pytest.raises(InvalidState) as refused:
        _issue(book, draft.id)
    assert "approval_required" in refused.value.reason


def test_a_foreign_currency_draft_needs_approval_when_a_threshold_is_set(book):
    ver.set_settings(book.uow(), ver.SetVerificationSettings(ENTITY, approval_threshold="1000"))
    draft = _draft(book, "CJP", ("WIDGET", "1"))
    result = ver.verify_draft(book.uow(), ver.VerifyDraft(ENTITY, draft.id))
    assert result.open_blocking == 1
    assert ("approval_required", "block", "total") in _queue(book)


def test_unusual_amount_warns_in_words(book):
    # Six invoices of 2 widgets (29.75 each), then a draft of 100 widgets: 1,250.00 + 237.50.
    for day in range(1, 7):
        _issue(book, _draft(book, on=date(2026, 3, day)).id)
    draft = _draft(book, "C1", ("WIDGET", "100"), on=date(2026, 3, 9))
    ver.verify_draft(book.uow(), ver.VerifyDraft(ENTITY, draft.id))
    [unusual] = [
        d
        for d in ver.list_discrepancies(book.uow(read_only=True), ENTITY)
        if d["rule"] == "unusual_amount"
    ]
    assert unusual["severity"] == "warn"
    # Every earlier invoice was 29.75: no spread at all, so any other amount stands out.
    assert "1487.50 EUR is far above what C1 usually owes" in unusual["message"]
    assert "median of 29.75 EUR" in unusual["message"]
