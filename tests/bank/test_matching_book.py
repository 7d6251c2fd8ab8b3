"""Matching on a real book: what an automatic decision posts, review (confirm, split, other),
undo, returns, links to what the book already has, learning payers, and that the ledger
balances and `verify` passes after every step. On this run's database.

Invoices of the test book (tests/fixtures_book.py): 8 WIDGET = 8 x 12.50 = 100.00 + 19 % VAT =
119.00; 4 WIDGET = 50.00 + 9.50 = 59.50; 2 WIDGET = 25.00 + 4.75 = 29.75.
"""

from __future__ import annotations

from datetime import date

import pytest
from fixtures_book import ENTITY, credit_of, invoice, journal_of, open_of, verify_clean

from openbill.domain.reference import creditor_reference
from openbill.domain.rejections import InvalidAmount, InvalidInput, InvalidState
from openbill.usecases import bank_matching as bm
from openbill.usecases import masterdata as md
from openbill.usecases import payments as pay

from .book import (
    IBAN_C1,
    IBAN_C3,
    balance,
    count,
    entry,
    import_,
    line_ids,
    match,
    state,
    statement,
    with_bank,
)

ISSUED = date(2026, 3, 2)
PAID = date(2026, 3, 9)


def _one_line(book, *entries, **kw):
    import_(book, statement(list(entries), 0, date(2026, 3, 1), date(2026, 3, 31), **kw))
    return match(book)


def test_a_payment_quoting_its_rf_reference_is_posted_and_allocated(book):
    with_bank(book)
    doc = invoice(book, "C1", ISSUED, ("WIDGET", "8"))
    report = _one_line(
        book, entry(11900, PAID, ref="B1", name="ALPHA GMBH", text=creditor_reference(doc.number))
    )
    assert (report.automatic, report.review) == (1, 0)
    (outcome,) = report.outcomes
    assert (outcome.action, outcome.rule, outcome.confidence) == ("payment", "reference", 100)
    assert open_of(book, doc.number) == 0
    assert balance(book) == 11900  # Dr bank 119.00
    assert state(book, line_ids(book)[0]) == ("matched", "reference")
    verify_clean(book)


def test_a_payment_short_by_a_bank_fee_pays_the_invoice_and_books_the_fee(book):
    with_bank(book)
    doc = invoice(book, "C1", ISSUED, ("WIDGET", "8"))
    report = _one_line(book, entry(11400, PAID, ref="B1", text=f"Rechnung {doc.number}"))
    assert report.outcomes[0].rule == "reference" and report.automatic == 1
    assert open_of(book, doc.number) == 0
    # The customer paid 119.00, the bank kept 5.00: Dr 1200 114.00, Dr 6930 5.00.
    assert balance(book) == 11400 and balance(book, "6930") == 500
    verify_clean(book)


def test_an_early_payment_discount_is_written_off_with_its_vat(book):
    with_bank(book)
    md.update_customer(
        book.uow(), md.UpdateCustomer(ENTITY, "C1", (("payment_terms", "2/10 net30"),))
    )
    doc = invoice(book, "C1", ISSUED, ("WIDGET", "8"))
    # 2 % of 119.00 = 2.38; paid 116.62 within 10 days of 2026-03-02.
    report = _one_line(book, entry(11662, PAID, ref="B1", text=doc.number))
    assert (
        report.automatic == 1 and "early-payment discount of 2.38" in report.outcomes[0].explanation
    )
    assert open_of(book, doc.number) == 0
    # The discount splits like the invoice: 2.38 x 19.00 / 119.00 = 0.38 VAT, 2.00 net.
    discount = [
        row
        for row in _write_offs(book)
        if row["reason"].startswith("early-payment discount (2/10 net30)")
    ]
    (w,) = discount
    assert journal_of(book, "write_offs", w["id"]) == {"4910": 200, "2200": 38, "1100": -238}
    verify_clean(book)


def _write_offs(book):
    with book.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.exec_driver_sql("SELECT * FROM write_offs")]


def test_undo_reverses_every_posting_and_the_line_can_be_matched_again(book):
    with_bank(book)
    md.update_customer(
        book.uow(), md.UpdateCustomer(ENTITY, "C1", (("payment_terms", "2/10 net30"),))
    )
    doc = invoice(book, "C1", ISSUED, ("WIDGET", "8"))
    _one_line(book, entry(11662, PAID, ref="B1", iban=IBAN_C1, text=doc.number))
    (line,) = line_ids(book)
    done = bm.undo(
        book.uow(), bm.Undo(ENTITY, line, "the customer says it was for another invoice")
    )
    # The payment is reversed and the discount taken back: all open again, nothing in the bank.
    assert open_of(book, doc.number) == 11900
    assert balance(book) == 0 and balance(book, "4910") == 0 and balance(book, "2200") == -1900
    assert len(done.detail["entries"]) == 2
    assert state(book, line) == ("new", "")
    verify_clean(book)
    with pytest.raises(InvalidState, match="has no decision to undo"):
        bm.undo(book.uow(), bm.Undo(ENTITY, line, "again"))
    # Matching again posts it again.
    assert match(book).automatic == 1
    assert open_of(book, doc.number) == 0
    verify_clean(book)


def test_undo_of_a_fee_mirrors_the_fee(book):
    with_bank(book)
    doc = invoice(book, "C1", ISSUED, ("WIDGET", "8"))
    _one_line(book, entry(11400, PAID, ref="B1", text=doc.number))
    (line,) = line_ids(book)
    bm.undo(book.uow(), bm.Undo(ENTITY, line, "wrong"))
    assert (balance(book), balance(book, "6930"), open_of(book, doc.number)) == (0, 0, 11900)
    verify_clean(book)


def test_an_unsure_line_waits_and_is_confirmed_and_its_payer_learned(book):
    with_bank(book)
    a = invoice(book, "C3", ISSUED, ("WIDGET", "8"))
    b = invoice(book, "C3", ISSUED, ("WIDGET", "4"))
    # No reference, an IBAN nobody knows: the only open invoice of 119.00 is a guess (65).
    report = _one_line(
        book, entry(11900, PAID, ref="B1", name="G. KG", iban="DE75512108001245126199")
    )
    assert (report.automatic, report.review) == (1 - 1, 1)
    assert report.outcomes[0].rule == "amount only" and report.outcomes[0].confidence == 65
    (line,) = line_ids(book)
    assert state(book, line) == ("review", "amount only")
    queue = bm.review_queue(book.uow(read_only=True), ENTITY)
    assert [q["id"] for q in queue] == [line]
    bm.confirm(book.uow(), bm.Confirm(ENTITY, line, 1))
    assert open_of(book, a.number) == 0
    # Now that account is known as C3's: its next payment of 59.50 goes to b on its own.
    report = _one_line(
        book,
        entry(5950, date(2026, 3, 20), ref="B2", name="G. KG", iban="DE75512108001245126199"),
        number="2",
    )
    assert report.automatic == 1 and report.outcomes[0].rule == "payer+amount"
    assert open_of(book, b.number) == 0
    verify_clean(book)


def test_a_stale_proposal_is_refused(book):
    with_bank(book)
    a = invoice(book, "C3", ISSUED, ("WIDGET", "8"))
    _one_line(book, entry(11900, PAID, ref="B1", iban="DE75512108001245126199"))
    (line,) = line_ids(book)
    pay.record_payment(
        book.uow(),
        pay.RecordPayment(
            ENTITY, "C3", "119.00", received_on=PAID, reference=a.number, allocate="auto"
        ),
    )
    with pytest.raises(InvalidState, match="since this was proposed"):
        bm.confirm(book.uow(), bm.Confirm(ENTITY, line, 1))


def test_a_line_split_over_two_customers_and_a_fee(book):
    with_bank(book)
    a = invoice(book, "C1", ISSUED, ("WIDGET", "8"))  # 119.00
    b = invoice(book, "C3", ISSUED, ("WIDGET", "2"))  # 29.75
    # A parent company pays both, 10.00 extra for C3 as credit, and its bank kept 2.50:
    # 119.00 + 29.75 + 10.00 - 2.50 = 156.25.
    _one_line(book, entry(15625, PAID, ref="B1", name="HOLDING AG", text="group payment"))
    (line,) = line_ids(book)
    with pytest.raises(InvalidAmount, match="the parts add up to 158.75"):
        bm.split(
            book.uow(),
            bm.Split(ENTITY, line, ((a.number, "119.00"), (b.number, "29.75")), (("C3", "10.00"),)),
        )
    done = bm.split(
        book.uow(),
        bm.Split(
            ENTITY,
            line,
            ((a.number, "119.00"), (b.number, "29.75")),
            (("C3", "10.00"),),
            fee="2.50",
        ),
    )
    assert len(done.detail["payments"]) == 2
    assert (open_of(book, a.number), open_of(book, b.number)) == (0, 0)
    assert credit_of(book, "C3") == 1000
    assert (balance(book), balance(book, "6930")) == (15625, 250)
    verify_clean(book)


def test_a_line_marked_as_bank_charges(book):
    with_bank(book)
    report = _one_line(
        book,
        entry(-1250, PAID, ref="B1", name="Servicepartner KG", text="Kontoführung März", code=""),
    )
    # the booking text says fees, but the counterparty is no bank: 70, below the threshold
    assert report.review == 1 and report.outcomes[0].rule == "fee"
    (line,) = line_ids(book)
    bm.mark_other(book.uow(), bm.MarkOther(ENTITY, line, "fee", note="monthly fee"))
    assert (balance(book), balance(book, "6930")) == (-1250, 1250)
    with pytest.raises(InvalidState, match="matched already"):
        bm.mark_other(book.uow(), bm.MarkOther(ENTITY, line, "fee"))
    verify_clean(book)


def test_other_money_needs_its_account(book):
    with_bank(book)
    _one_line(book, entry(500000, PAID, ref="B1", name="OWNER", text="capital"))
    (line,) = line_ids(book)
    with pytest.raises(InvalidInput, match="which ledger account"):
        bm.mark_other(book.uow(), bm.MarkOther(ENTITY, line, "other"))
    bm.mark_other(book.uow(), bm.MarkOther(ENTITY, line, "other", ledger_account="3000"))
    assert balance(book, "3000") == -500000


def test_a_returned_direct_debit_reopens_its_invoice(book):
    with_bank(book)
    doc = invoice(book, "C1", ISSUED, ("WIDGET", "8"))
    collected = entry(
        11900, PAID, ref="B1", iban=IBAN_C1, text=doc.number, e2e="DD-0042", code="PMNT/IDDT/ESDD"
    )
    returned = entry(
        -11900,
        date(2026, 3, 13),
        ref="B2",
        iban=IBAN_C1,
        e2e="DD-0042",
        code="PMNT/IDDT/UPDD",
        returned="AM04",
    )
    report = _one_line(book, collected, returned)
    assert [(o.action, o.rule, o.confidence, o.automatic) for o in report.outcomes] == [
        ("payment", "reference", 99, True),
        ("return", "returned payment", 98, True),
    ]
    assert report.set_aside == ()
    assert open_of(book, doc.number) == 11900 and balance(book) == 0
    with book.engine.connect() as conn:
        (method,) = conn.exec_driver_sql("SELECT method FROM payments").scalars().all()
    assert method == "direct_debit"
    verify_clean(book)


def test_a_payment_recorded_by_hand_is_linked_not_posted_again(book):
    with_bank(book)
    doc = invoice(book, "C1", ISSUED, ("WIDGET", "8"))
    pay.record_payment(
        book.uow(),
        pay.RecordPayment(
            ENTITY,
            "C1",
            "119.00",
            received_on=PAID,
            method="cheque",
            reference="cheque 881",
            allocate="auto",
        ),
    )
    report = _one_line(
        book, entry(11900, date(2026, 3, 11), ref="B1", name="ALPHA GMBH", iban=IBAN_C1)
    )
    assert report.outcomes[0].action == "book" and report.automatic == 1
    assert count(book, "payments") == 1 and balance(book) == 11900
    assert open_of(book, doc.number) == 0  # paid by the cheque, not twice
    verify_clean(book)


def test_a_reference_naming_another_customers_invoice_waits(book):
    with_bank(book)
    mine = invoice(book, "C3", ISSUED, ("WIDGET", "8"))  # C3 owes 119.00 too
    other = invoice(book, "C1", ISSUED, ("WIDGET", "8"))
    report = _one_line(book, entry(11900, PAID, ref="B1", iban=IBAN_C3, text=other.number))
    assert (report.automatic, report.review) == (0, 1)
    assert (open_of(book, mine.number), open_of(book, other.number)) == (11900, 11900)


def test_a_dry_run_posts_nothing(book):
    with_bank(book)
    doc = invoice(book, "C1", ISSUED, ("WIDGET", "8"))
    import_(book, statement([entry(11900, PAID, ref="B1", text=doc.number)], 0, PAID, PAID))
    before = count(book, "journal_entries")
    report = match(book, dry_run=True)
    assert report.automatic == 1 and report.dry_run
    assert count(book, "journal_entries") == before and open_of(book, doc.number) == 11900
    assert state(book, line_ids(book)[0]) == ("new", "")


def test_a_threshold_of_101_posts_nothing_automatically(book):
    with_bank(book)
    doc = invoice(book, "C1", ISSUED, ("WIDGET", "8"))
    bm.set_bank_settings(book.uow(), bm.SetBankSettings(ENTITY, auto_threshold=101))
    report = _one_line(book, entry(11900, PAID, ref="B1", text=creditor_reference(doc.number)))
    assert (report.automatic, report.review) == (0, 1)
    assert open_of(book, doc.number) == 11900


def test_settings_are_checked_and_audited(book):
    with pytest.raises(InvalidInput, match="50 to 100"):
        bm.set_bank_settings(book.uow(), bm.SetBankSettings(ENTITY, auto_threshold=20))
    s = bm.set_bank_settings(
        book.uow(), bm.SetBankSettings(ENTITY, fees=(("EUR", ("2.50", "7.00")),))
    )
    assert s.fees_minor["EUR"] == (250, 700)
    with book.engine.connect() as conn:
        actions = conn.exec_driver_sql("SELECT action FROM audit_events").scalars().all()
    assert "bank.settings_changed" in actions


# -- a run's bookkeeping, written together at its end -----------------------------------------


def _proposals(book, line_id):
    from sqlalchemy import text

    with book.engine.connect() as conn:
        return [
            (int(r[0]), str(r[1]))
            for r in conn.execute(
                text("SELECT rank, rule FROM bank_proposals WHERE line_id = :i ORDER BY rank"),
                {"i": line_id},
            )
        ]


def test_a_second_run_replaces_the_proposals_and_decides_what_now_fits(book):
    with_bank(book)
    docs = [invoice(book, "C1", ISSUED, ("WIDGET", "8")) for _ in range(2)]
    # 119.00 from C1's IBAN naming no invoice: C1 has two invoices of 119.00, so it waits with
    # both as proposals; 50.00 from someone unknown waits with none.
    import_(
        book,
        statement(
            [
                entry(11900, PAID, ref="B1", name="Alpha GmbH", iban=IBAN_C1, text="Zahlung"),
                entry(5000, PAID, ref="B2", name="Unknown", text="Einzahlung"),
            ],
            0,
            PAID,
            PAID,
        ),
    )
    first, unknown = line_ids(book)
    assert (match(book).automatic, match(book).review) == (0, 2)  # run twice
    # The second run replaced the first run's proposals: each rank once.
    assert [rank for rank, _ in _proposals(book, first)] == [1, 2]
    assert _proposals(book, unknown) == []
    assert state(book, first)[0] == state(book, unknown)[0] == "review"
    # 20.00 of the second is paid by cheque; a third run finds one invoice of 119.00 open and
    # posts the line, its proposals gone.
    pay.record_payment(
        book.uow(),
        pay.RecordPayment(
            ENTITY,
            "C1",
            "20.00",
            "EUR",
            PAID,
            "cheque",
            "chq 1",
            "explicit",
            to=((docs[1].number, "20.00"),),
        ),
    )
    report = match(book)
    assert (report.automatic, report.review) == (1, 1)
    assert _proposals(book, first) == [] and state(book, first)[0] == "matched"
    assert [open_of(book, d.number) for d in docs] == [0, 9900]
    assert balance(book) == 2000 + 11900
    verify_clean(book)


def test_a_line_decided_by_someone_else_during_a_run_refuses_the_whole_run(book, monkeypatch):
    from openbill.adapters.sql.bank_repo import BankRepo

    with_bank(book)
    docs = [invoice(book, "C1", ISSUED, ("WIDGET", "8")) for _ in range(2)]
    import_(
        book,
        statement(
            [
                entry(11900, PAID, ref=f"B{i}", text=creditor_reference(d.number))
                for i, d in enumerate(docs)
            ],
            0,
            PAID,
            PAID,
        ),
    )
    taken = line_ids(book)[1]
    real = BankRepo.claim_many

    def another_desk_first(self, rows):
        # What a second user's decision, committed while the run was matching, leaves.
        self.raw.execute(
            "UPDATE bank_line_states SET status = 'matched' WHERE line_id = ?", [taken]
        )
        return real(self, rows)

    monkeypatch.setattr(BankRepo, "claim_many", another_desk_first)
    before = (count(book, "payments"), count(book, "journal_entries"), count(book, "bank_matches"))
    with pytest.raises(InvalidState, match="1 of the lines were decided by someone else"):
        match(book)
    # Nothing of the run stays: no payment, no journal entry, no decision, both lines new.
    assert (
        count(book, "payments"),
        count(book, "journal_entries"),
        count(book, "bank_matches"),
    ) == before
    assert [state(book, i)[0] for i in line_ids(book)] == ["new", "new"]
    assert [open_of(book, d.number) for d in docs] == [11900, 11900]
    monkeypatch.setattr(BankRepo, "claim_many", real)
    report = match(book)
    assert report.automatic == 2 and all(open_of(book, d.number) == 0 for d in docs)
    verify_clean(book)
