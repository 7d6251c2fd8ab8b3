"""Issuing invoices: numbers, EN 16931 totals, tax treatments, due dates, ledger entries,
effective-dated and tax-inclusive prices, currencies with 0 and 3 decimals, drafts."""

from __future__ import annotations

from datetime import date

import pytest
from fixtures_book import ENTITY, EXEMPT_NOTE, add_price, invoice, journal_of, verify_clean

from openbill.domain.rejections import InvalidInput, InvalidState
from openbill.usecases import invoices as inv
from openbill.usecases import reports


def test_first_invoice_number_totals_due_date_and_ledger(book):
    # WIDGET 3 x 12.50 = 37.50 at 19 %; BOOK 2 x 9.99 = 19.98 at 7 %; TRAINING 1 x 100.00 exempt.
    # Tax per group, rounded once: 37.50 * 0.19 = 7.125 -> 7.13; 19.98 * 0.07 = 1.3986 -> 1.40.
    # net = 37.50 + 19.98 + 100.00 = 157.48; tax = 8.53; total = 166.01.
    # net30 from 2026-03-10 -> 2026-04-09.
    issued = invoice(
        book, "C1", date(2026, 3, 10), ("WIDGET", "3"), ("BOOK", "2"), ("TRAINING", "1")
    )
    assert issued.number == "INV-2026-000001"
    assert (issued.net_minor, issued.tax_minor, issued.total_minor) == (15748, 853, 16601)
    assert issued.due_date == "2026-04-09"

    view = reports.show_document(book.uow(read_only=True), ENTITY, "INV-2026-000001")
    taxes = {(t["category"], t["rate"].normalize()): t for t in view.taxes}
    assert {k: (t["taxable_minor"], t["tax_minor"]) for k, t in taxes.items()} == {
        ("S", 19): (3750, 713),
        ("S", 7): (1998, 140),
        ("E", 0): (10000, 0),
    }
    assert taxes[("E", 0)]["exemption_reason"] == EXEMPT_NOTE
    assert taxes[("E", 0)]["exemption_code"] == "VATEX-EU-132"
    assert [line["net_minor"] for line in view.lines] == [3750, 1998, 10000]

    # Dr 1100 166.01 / Cr 4000 37.50 / Cr 4010 19.98 / Cr 4020 100.00 / Cr 2200 8.53
    assert journal_of(book, "documents", issued.id) == {
        "1100": 16601,
        "4000": -3750,
        "4010": -1998,
        "4020": -10000,
        "2200": -853,
    }
    assert sum(journal_of(book, "documents", issued.id).values()) == 0

    second = invoice(book, "C1", date(2026, 3, 11), ("BOOK", "1"))
    assert second.number == "INV-2026-000002"
    verify_clean(book)


def test_number_series_restarts_each_year(book):
    assert invoice(book, "C1", date(2025, 12, 31), ("BOOK", "1")).number == "INV-2025-000001"
    assert invoice(book, "C1", date(2026, 1, 1), ("BOOK", "1")).number == "INV-2026-000001"
    assert invoice(book, "C1", date(2025, 12, 31), ("BOOK", "1")).number == "INV-2025-000002"


def test_reverse_charge_customer_gets_ae_with_note(book):
    # 2 x 12.50 = 25.00, category AE at 0 %: no tax, the legal note printed.
    issued = invoice(book, "C2", date(2026, 3, 10), ("WIDGET", "2"))
    assert (issued.net_minor, issued.tax_minor, issued.total_minor) == (2500, 0, 2500)
    view = reports.show_document(book.uow(read_only=True), ENTITY, issued.number)
    [tax] = view.taxes
    assert (tax["category"], tax["rate"], tax["taxable_minor"], tax["tax_minor"]) == (
        "AE",
        0,
        2500,
        0,
    )
    assert tax["exemption_reason"] == "Reverse charge"
    assert tax["exemption_code"] == "VATEX-EU-AE"
    assert view.lines[0]["tax_category"] == "AE"
    # Dr 1100 25.00 / Cr 4000 25.00; no VAT posting at all
    assert journal_of(book, "documents", issued.id) == {"1100": 2500, "4000": -2500}


@pytest.mark.parametrize(
    ("customer", "on", "due"),
    [
        ("C1", date(2026, 1, 20), "2026-02-19"),  # net30: 11 days of January + 19 of February
        ("C1", date(2026, 2, 10), "2026-03-12"),  # net30 over a 28-day February
        ("C3", date(2026, 1, 20), "2026-02-15"),  # eom+15: 2026-01-31 + 15
        ("C3", date(2026, 2, 10), "2026-03-15"),  # eom+15: 2026-02-28 + 15
        ("C3", date(2026, 12, 31), "2027-01-15"),  # eom+15 across the year end
    ],
)
def test_due_date_from_terms(book, customer, on, due):
    assert invoice(book, customer, on, ("WIDGET", "1")).due_date == due


def test_price_change_applies_from_its_date_only(book):
    before = invoice(book, "C1", date(2026, 3, 31), ("WIDGET", "2"))
    # A new price of 14.00 from 2026-04-01, added after the March invoice was issued.
    add_price(book, "WIDGET", "EUR", date(2026, 4, 1), "14.00")
    # March: 2 x 12.50 = 25.00, tax 4.75, total 29.75 (unchanged by the new price).
    view = reports.show_document(book.uow(read_only=True), ENTITY, before.number)
    assert (view.header["net_minor"], view.header["total_minor"]) == (2500, 2975)
    assert view.lines[0]["unit_price"] == 12.5
    # A document dated before the change still gets the old price, even when made later.
    late = invoice(book, "C1", date(2026, 3, 31), ("WIDGET", "2"))
    assert (late.net_minor, late.tax_minor, late.total_minor) == (2500, 475, 2975)
    # From 2026-04-01: 2 x 14.00 = 28.00, tax 5.32, total 33.32.
    after = invoice(book, "C1", date(2026, 4, 1), ("WIDGET", "2"))
    assert (after.net_minor, after.tax_minor, after.total_minor) == (2800, 532, 3332)
    verify_clean(book)


def test_a_price_is_never_edited(book):
    with pytest.raises(InvalidInput) as refused:
        add_price(book, "WIDGET", "EUR", date(2020, 1, 1), "13.00")
    assert refused.value.field == "effective_from"


def test_tax_inclusive_prices(book):
    # GIFT 10.00 gross at 19 %: tax = 10.00 * 19 / 119 = 1.5966.. -> 1.60, net 8.40.
    one = invoice(book, "C1", date(2026, 3, 10), ("GIFT", "1"))
    assert (one.net_minor, one.tax_minor, one.total_minor) == (840, 160, 1000)
    # 3 x 10.00 = 30.00 gross: tax = 30 * 19 / 119 = 4.7899.. -> 4.79, net 25.21.
    three = invoice(book, "C1", date(2026, 3, 10), ("GIFT", "3"))
    assert (three.net_minor, three.tax_minor, three.total_minor) == (2521, 479, 3000)
    # Dr 1100 30.00 / Cr 4030 25.21 / Cr 2200 4.79
    assert journal_of(book, "documents", three.id) == {"1100": 3000, "4030": -2521, "2200": -479}
    verify_clean(book)


def test_tax_inclusive_and_exclusive_prices_do_not_mix(book):
    with pytest.raises(InvalidInput) as refused:
        invoice(book, "C1", date(2026, 3, 10), ("GIFT", "1"), ("WIDGET", "1"))
    assert refused.value.field == "lines"


def test_jpy_invoice_has_no_decimals(book):
    # WIDGET 2 x 1333 = 2666 JPY, tax 19 % = 506.54 -> 507; BOOK 1 x 999, tax 7 % = 69.93 -> 70.
    # net 3665, tax 577, total 4242 (minor unit = 1 yen).
    issued = invoice(book, "CJP", date(2026, 3, 10), ("WIDGET", "2"), ("BOOK", "1"))
    assert issued.currency == "JPY"
    assert (issued.net_minor, issued.tax_minor, issued.total_minor) == (3665, 577, 4242)
    assert journal_of(book, "documents", issued.id) == {
        "1100": 4242,
        "4000": -2666,
        "4010": -999,
        "2200": -577,
    }


def test_kwd_invoice_has_three_decimals(book):
    # WIDGET 3 x 3.125 = 9.375 KWD; tax 19 % = 1.78125 -> 1.781 (half up at the third place).
    # In fils: net 9375, tax 1781, total 11156 (= 11.156 KWD).
    issued = invoice(book, "CKW", date(2026, 3, 10), ("WIDGET", "3"))
    assert issued.currency == "KWD"
    assert (issued.net_minor, issued.tax_minor, issued.total_minor) == (9375, 1781, 11156)
    verify_clean(book)


def test_draft_lines_issue_and_freeze(book):
    # WIDGET 1 x 12.50: tax 2.375 -> 2.38, total 14.88.
    draft = inv.create_draft(
        book.uow(),
        inv.CreateDraft(ENTITY, "C1", date(2026, 3, 12), lines=(inv.LineSpec("WIDGET", "1"),)),
    )
    assert (draft.lines, draft.net_minor, draft.tax_minor, draft.total_minor) == (
        1,
        1250,
        238,
        1488,
    )
    # + BOOK 1 x 9.99: tax 0.6993 -> 0.70; net 22.49, tax 3.08, total 25.57.
    more = inv.add_lines(book.uow(), inv.AddLines(ENTITY, draft.id, (inv.LineSpec("BOOK", "1"),)))
    assert (more.lines, more.net_minor, more.tax_minor, more.total_minor) == (2, 2249, 308, 2557)
    # A draft has no number.
    [row] = reports.list_documents(book.uow(read_only=True), ENTITY, as_of=date(2026, 3, 12))
    assert (row.status, row.number) == ("draft", f"draft {draft.id}")

    issued = inv.issue_draft(book.uow(), inv.IssueDraft(ENTITY, draft.id, date(2026, 3, 12)))
    assert issued.number == "INV-2026-000001"
    assert (issued.net_minor, issued.tax_minor, issued.total_minor) == (2249, 308, 2557)

    with pytest.raises(InvalidState):
        inv.add_lines(book.uow(), inv.AddLines(ENTITY, draft.id, (inv.LineSpec("BOOK", "1"),)))
    with pytest.raises(InvalidState):
        inv.issue_draft(book.uow(), inv.IssueDraft(ENTITY, draft.id, date(2026, 3, 13)))
    view = reports.show_document(book.uow(read_only=True), ENTITY, "INV-2026-000001")
    assert len(view.lines) == 2 and view.header["total_minor"] == 2557
    verify_clean(book)


def test_a_document_without_lines_is_not_issued(book):
    draft = inv.create_draft(book.uow(), inv.CreateDraft(ENTITY, "C1", date(2026, 3, 12)))
    with pytest.raises(InvalidInput):
        inv.issue_draft(book.uow(), inv.IssueDraft(ENTITY, draft.id, date(2026, 3, 12)))
    # The failed issue gave its number back: the next invoice still gets 000001.
    assert invoice(book, "C1", date(2026, 3, 12), ("BOOK", "1")).number == "INV-2026-000001"
