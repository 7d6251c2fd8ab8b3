"""`run_dunning` against the fixture book: idempotency (the same date twice, dates out of
order), one letter per run, fee invoices that `openbill verify` accepts, skips with reasons,
promises, holds, disputes, bounced payments and dry runs.

Unless said otherwise an invoice is 2 x WIDGET = 25.00 + 19 % = 29.75 EUR, issued 2026-01-02
with the entity's net30 terms: due 2026-02-01. Policy STD (tests/dunning/conftest.py): steps on
01-29 (-3), 02-08 (+7), 02-22 (+21, late fee 5.00), 03-08 (+35: recovery fee 40.00, interest,
final notice) and 03-15 (+42: credit hold, collections). Interest 2.15 + 9 = 11.15 % a year.
"""

from __future__ import annotations

from datetime import date

import pytest
from fixtures_book import ENTITY, open_of, row_counts, verify_clean

from openbill.domain.rejections import InvalidInput, InvalidState
from openbill.usecases import dunning as dn
from openbill.usecases import masterdata as m
from openbill.usecases import payments as pay
from openbill.usecases.reports import show_document

from .desk import SENDER, STD_STEPS, RecordingLetters, prepare

ISSUED = date(2026, 1, 2)
DUE = date(2026, 2, 1)


def _taken(report: dn.RunReport) -> list[tuple[str, str, int | None, str]]:
    return [(r.customer, r.invoice, r.step_no, r.reason) for r in report.taken]


def _skipped(report: dn.RunReport) -> list[tuple[str, str, int | None, str]]:
    return [(r.customer, r.invoice, r.step_no, r.reason) for r in report.skipped]


def _outbox(desk, number: str) -> list[tuple[str, str]]:
    return [
        (r.purpose, r.subject)
        for r in desk.sql(
            "SELECT m.purpose, m.subject FROM outbox_messages m JOIN documents d "
            "ON d.id = m.document_id WHERE d.number = :n ORDER BY m.id",
            n=number,
        )
    ]


# The run, its idempotency and its fee invoices -----------------------------------------------


def test_a_late_first_run_takes_all_steps_due_sends_one_letter_and_issues_one_fee_invoice(desk):
    first = desk.invoice("C1", ISSUED)
    assert (first.number, first.due_date) == ("INV-2026-000001", "2026-02-01")
    report = desk.run(date(2026, 3, 13))  # due + 40: steps 1-4
    assert _taken(report) == [
        ("C1", first.number, 1, "reminder"),
        ("C1", first.number, 2, "reminder"),
        ("C1", first.number, 3, "late_fee+reminder"),
        ("C1", first.number, 4, "recovery_fee+interest+final_notice"),
    ]
    assert (report.steps_taken, report.fee_invoices, report.emails) == (4, 1, 1)
    # One letter: the final notice of step 4, in German (C1 is in DE).
    assert _outbox(desk, first.number) == [
        ("dunning-4", f"Letzte Mahnung: Rechnung {first.number}")
    ]
    [letter] = desk.letters.letters
    assert (letter.template, letter.language, letter.final, letter.days_overdue) == (
        "final",
        "de",
        True,
        40,
    )
    # The fee invoice: 5.00 late fee + 40.00 recovery fee + interest
    # 29.75 x 11.15 / 100 x 40 / 365 = 0.36352... -> 0.36; outside the scope of VAT: 45.36 EUR.
    fee = show_document(desk.book.uow(), ENTITY, "INV-2026-000002")
    assert [(ln["description"][:20], ln["net_minor"]) for ln in fee.lines] == [
        ("Late fee, dunning st", 500),
        ("Fixed compensation f", 4000),
        ("Late interest on INV", 36),
    ]
    assert (fee.header["total_minor"], fee.header["tax_minor"]) == (4536, 0)
    assert letter.charges == (("late_fee", 500), ("recovery_fee", 4000), ("interest", 36))
    assert letter.fee_invoice == "INV-2026-000002"
    assert open_of(desk.book, first.number) == 2975  # the invoice itself is unchanged
    audited = desk.sql(
        "SELECT action, COUNT(*) FROM audit_events WHERE action LIKE 'dunning.%' "
        "GROUP BY action ORDER BY action"
    )
    assert [tuple(a) for a in audited] == [
        ("dunning.policy_created", 1),
        ("dunning.run_finished", 1),
        ("dunning.run_started", 1),
        ("dunning.settings_changed", 2),
        ("dunning.step_taken", 4),
    ]
    verify_clean(desk.book)


def test_the_same_date_twice_takes_nothing_new(desk):
    first = desk.invoice("C1", ISSUED)
    desk.run(date(2026, 3, 13))
    before = row_counts(desk.book)
    again = desk.run(date(2026, 3, 13))
    assert (again.steps_taken, again.fee_invoices, again.emails, again.lines) == (0, 0, 0, ())
    after = row_counts(desk.book)
    # Only the run's own log grew: a run row and its start/finish audit events.
    changed = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    assert changed == {"dunning_runs": 1, "audit_events": 2}
    assert desk.steps(first.number) == [1, 2, 3, 4]
    verify_clean(desk.book)


def test_dates_out_of_order_take_nothing_new(desk):
    first = desk.invoice("C1", ISSUED)
    assert _taken(desk.run(date(2026, 2, 10))) == [
        ("C1", first.number, 1, "reminder"),
        ("C1", first.number, 2, "reminder"),
    ]
    earlier = desk.run(date(2026, 2, 5))
    assert earlier.lines == () and "a run on 2026-02-10 already took" in earlier.message
    assert desk.run(date(2026, 2, 10)).lines == ()
    # near miss: a later date goes on with the next step (02-22: step 3)
    assert _taken(desk.run(date(2026, 2, 22))) == [("C1", first.number, 3, "late_fee+reminder")]
    assert desk.steps(first.number) == [1, 2, 3]
    assert [p for p, _ in _outbox(desk, first.number)] == ["dunning-2", "dunning-3"]


def test_interest_is_charged_once_across_interest_steps(desk):
    # A policy with interest on two steps: +10 and +20 days.
    dn.create_policy(
        desk.book.uow(),
        dn.CreatePolicy(
            ENTITY,
            "INT",
            "Interest twice",
            (dn.StepSpec(10, "interest"), dn.StepSpec(20, "interest")),
            default=True,
        ),
    )
    first = desk.invoice("C1", ISSUED)
    desk.run(date(2026, 2, 11))
    desk.run(date(2026, 2, 21))
    rows = desk.sql(
        "SELECT step_no, interest_minor FROM dunning_steps_taken ORDER BY step_no", n=first.number
    )
    # 10 days: 29.75 x 11.15 / 100 x 10 / 365 = 0.0908... -> 0.09
    # 20 days: 0.1817... -> 0.18 in all, so the second step charges 0.18 - 0.09 = 0.09
    assert [tuple(r) for r in rows] == [(1, 9), (2, 9)]
    verify_clean(desk.book)


def test_fee_invoices_are_not_dunned_themselves(desk):
    desk.invoice("C1", ISSUED)
    desk.run(date(2026, 2, 22))  # step 3 issues fee invoice INV-2026-000002 (5.00, due 03-24)
    later = desk.run(date(2026, 4, 30))
    assert {r.invoice for r in later.lines} == {"INV-2026-000001"}
    assert desk.steps("INV-2026-000002") == []


def test_a_dry_run_writes_nothing_and_reports_what_the_run_does(desk):
    desk.invoice("C1", ISSUED)
    before = row_counts(desk.book)
    dry = desk.run(date(2026, 3, 13), dry_run=True)
    assert row_counts(desk.book) == before
    real = desk.run(date(2026, 3, 13))
    assert _taken(dry) == _taken(real)
    assert (dry.run_id, dry.steps_taken, dry.fee_invoices) == (None, 4, 1)
    assert "on a new fee invoice" in dry.taken[2].detail
    assert "INV-2026-000002" in real.taken[2].detail


def test_a_run_date_ahead_of_today_is_only_for_dry_runs(desk):
    desk.invoice("C1", ISSUED)
    desk.at(date(2026, 2, 1))
    with pytest.raises(InvalidInput) as refused:
        dn.run_dunning(
            desk.book.uow(), dn.RunDunning(ENTITY, date(2026, 2, 8), sender=SENDER), desk.letters
        )
    assert refused.value.field == "as_of"
    dry = dn.run_dunning(
        desk.book.uow(),
        dn.RunDunning(ENTITY, date(2026, 2, 8), dry_run=True, sender=SENDER),
        desk.letters,
    )
    assert dry.steps_taken == 2


def test_the_stored_report_is_the_report_of_the_run(desk):
    desk.invoice("C1", ISSUED)
    desk.invoice("C3", ISSUED)  # no e-mail address; eom+15: due 02-15, step 1 on 02-12
    report = desk.run(date(2026, 2, 12))
    stored = dn.run_report(desk.book.uow(), ENTITY, report.run_id)
    assert stored.lines == report.lines
    # C1: steps 1 and 2 with one letter; C3: step 1 without one
    assert (stored.steps_taken, stored.emails) == (3, 1)
    assert dn.run_report(desk.book.uow(), ENTITY).run_id == report.run_id  # the latest


# Skips and their reasons ----------------------------------------------------------------------


def test_no_email_address_still_records_the_step(desk):
    first = desk.invoice("C1", ISSUED)
    third = desk.invoice("C3", ISSUED)  # eom+15: due 2026-02-15, step 1 on 02-12
    report = desk.run(date(2026, 2, 12))
    assert ("C3", third.number, 1, "no e-mail address") in _skipped(report)
    assert desk.steps(third.number) == [1]
    assert _outbox(desk, third.number) == []
    assert [p for p, _ in _outbox(desk, first.number)] == ["dunning-2"]  # the run went on


def test_below_minimum_amount(desk):
    dn.create_policy(
        desk.book.uow(),
        dn.CreatePolicy(ENTITY, "MIN", "Minimum", STD_STEPS, minimum="29.76", default=True),
    )
    first = desk.invoice("C1", ISSUED)
    report = desk.run(date(2026, 2, 10))
    assert _skipped(report) == [("C1", first.number, None, "below minimum amount")]
    # near miss: a minimum equal to the open amount is dunned
    dn.create_policy(
        desk.book.uow(),
        dn.CreatePolicy(ENTITY, "MIN2", "Minimum", STD_STEPS, minimum="29.75", default=True),
    )
    assert [r[2] for r in _taken(desk.run(date(2026, 2, 11)))] == [1, 2]


def test_manual_hold_skips_until_released(desk):
    first = desk.invoice("C1", ISSUED)
    with pytest.raises(InvalidInput) as short:
        dn.set_hold(desk.book.uow(), dn.SetHold(ENTITY, "C1", "dunning", "talks"))
    assert short.value.field == "reason"
    dn.set_hold(
        desk.book.uow(), dn.SetHold(ENTITY, "C1", "dunning", "in payment talks with the CFO")
    )
    report = desk.run(date(2026, 2, 10))
    assert [(r.reason, r.detail) for r in report.skipped] == [
        ("manual hold", "in payment talks with the CFO")
    ]
    assert desk.steps(first.number) == []
    dn.release_hold(
        desk.book.uow(), dn.ReleaseHold(ENTITY, "C1", "dunning", "talks ended without a plan")
    )
    assert desk.steps(first.number) == []
    desk.run(date(2026, 2, 11))
    assert desk.steps(first.number) == [1, 2]
    history = dn.invoice_history(desk.book.uow(), ENTITY, first.number)
    assert history.skips == ((date(2026, 2, 10), "manual hold", "in payment talks with the CFO"),)


def test_credit_hold_already_blocks_fees_but_not_letters(desk):
    first = desk.invoice("C1", ISSUED)
    desk.run(date(2026, 2, 10))  # steps 1, 2
    dn.set_hold(desk.book.uow(), dn.SetHold(ENTITY, "C1", "credit", "credit limit exceeded twice"))
    report = desk.run(date(2026, 2, 22))  # step 3: late fee + reminder
    assert ("C1", first.number, 3, "credit hold already") in _skipped(report)
    assert report.fee_invoices == 0 and report.emails == 1
    assert "late_fee: credit hold already" in report.taken[0].detail


def test_a_credit_hold_step_blocks_new_invoices_until_released(desk):
    first = desk.invoice("C1", ISSUED)
    second = desk.invoice("C1", date(2026, 1, 5))  # due 02-04: its step 5 on 03-18
    report = desk.run(date(2026, 3, 15))
    holds = dn.list_holds(desk.book.uow(), ENTITY)
    assert [(h.customer, h.kind, h.source, h.invoice) for h in holds] == [
        ("C1", "credit", "step", first.number)
    ]
    assert ("C1", first.number, 5, "credit_hold+collections") in _taken(report)
    # Both invoices' fees were charged in this run (the hold is set after them): two fee
    # invoices INV-2026-000003 and -000004.
    assert report.fee_invoices == 2
    with pytest.raises(InvalidState) as refused:
        desk.invoice("C1", date(2026, 3, 16))
    assert "credit hold" in refused.value.reason
    report = desk.run(date(2026, 3, 18))
    assert ("C1", second.number, 5, "credit hold already") in _skipped(report)
    with pytest.raises(InvalidInput):
        dn.release_hold(desk.book.uow(), dn.ReleaseHold(ENTITY, "C1", "credit", "ok"))
    released = dn.release_hold(
        desk.book.uow(),
        dn.ReleaseHold(ENTITY, "C1", "credit", "paid in full, confirmed by the bank"),
    )
    assert released.release_reason == "paid in full, confirmed by the bank"
    assert desk.invoice("C1", date(2026, 3, 19)).number == "INV-2026-000005"
    events = desk.sql(
        "SELECT action FROM audit_events WHERE action LIKE 'dunning.credit_hold%' ORDER BY id"
    )
    assert [e.action for e in events] == ["dunning.credit_hold_set", "dunning.credit_hold_released"]
    verify_clean(desk.book)


def test_promise_to_pay_skips_until_date_and_grace_then_broken(desk):
    first = desk.invoice("C1", ISSUED)
    desk.at(date(2026, 2, 1))
    dn.add_promise(
        desk.book.uow(), dn.AddPromise(ENTITY, "C1", date(2026, 2, 15), "29.75", "CFO on phone")
    )
    # grace 3 days: skipped up to and including 02-18
    report = desk.run(date(2026, 2, 18))
    assert [(r.reason, r.detail) for r in report.skipped] == [
        ("promise to pay", "29.75 EUR promised by 2026-02-15 (grace until 2026-02-18)")
    ]
    report = desk.run(date(2026, 2, 19))
    assert [(r.outcome, r.reason) for r in report.notes] == [("note", "promise broken")]
    assert [r[2] for r in _taken(report)] == [1, 2]
    assert [p.status for p in dn.list_promises(desk.book.uow(), ENTITY)] == ["broken"]
    assert desk.steps(first.number) == [1, 2]


def test_a_kept_promise_resumes_dunning_for_the_rest(desk):
    first = desk.invoice("C1", ISSUED)
    desk.at(date(2026, 2, 1))
    dn.add_promise(desk.book.uow(), dn.AddPromise(ENTITY, "C1", date(2026, 2, 15), "10.00"))
    desk.at(date(2026, 2, 10))
    pay.record_payment(
        desk.book.uow(),
        pay.RecordPayment(
            ENTITY,
            "C1",
            "10.00",
            received_on=date(2026, 2, 10),
            allocate="explicit",
            to=((first.number, "10.00"),),
        ),
    )
    report = desk.run(date(2026, 2, 12))
    assert [r.reason for r in report.notes] == ["promise kept"]
    # dunned for what is left: 29.75 - 10.00 = 19.75
    assert [r.dunned for r in dn.invoice_history(desk.book.uow(), ENTITY, first.number).steps] == [
        "19.75",
        "19.75",
    ]


def test_a_new_promise_replaces_the_open_one(desk):
    desk.at(date(2026, 2, 1))
    dn.add_promise(desk.book.uow(), dn.AddPromise(ENTITY, "C1", date(2026, 2, 15), "10.00"))
    second = dn.add_promise(
        desk.book.uow(), dn.AddPromise(ENTITY, "C1", date(2026, 2, 28), "29.75")
    )
    assert second.replaced is not None
    assert [p.status for p in dn.list_promises(desk.book.uow(), ENTITY)] == ["open", "replaced"]
    with pytest.raises(InvalidInput) as refused:
        dn.add_promise(desk.book.uow(), dn.AddPromise(ENTITY, "C1", date(2026, 1, 31), "1.00"))
    assert refused.value.field == "pay_by"


def test_a_disputed_invoice_is_skipped_and_a_partly_disputed_one_dunned_for_the_rest(
    desk, monkeypatch
):
    first = desk.invoice("C1", ISSUED)
    second = desk.invoice("C1", date(2026, 1, 3))
    disputed = {first.id: 2975, second.id: 1000}  # all of the first, 10.00 of the second
    from openbill.adapters.sql.disputes_repo import DisputesRepo

    monkeypatch.setattr(
        DisputesRepo,
        "disputed_by_document",
        lambda self, entity_id, document_ids=None: {
            k: v for k, v in disputed.items() if document_ids is None or k in document_ids
        },
    )
    report = desk.run(date(2026, 2, 10))
    assert ("C1", first.number, None, "disputed") in _skipped(report)
    assert desk.steps(first.number) == []
    assert [(r.invoice, r.reason) for r in report.notes] == [(second.number, "partly disputed")]
    [letter] = desk.letters.letters
    # 29.75 open - 10.00 disputed = 19.75 asked for
    assert (letter.invoice_number, letter.dunned_minor, letter.disputed_minor) == (
        second.number,
        1975,
        1000,
    )
    # Once the case closes (nothing disputed any more), the first invoice is dunned.
    disputed.clear()
    assert [r[2] for r in _taken(desk.run(date(2026, 2, 11))) if r[1] == first.number] == [1, 2]


def test_a_real_dispute_case_pauses_dunning(desk):
    disputes = pytest.importorskip("openbill.usecases.disputes")
    first = desk.invoice("C1", ISSUED)
    desk.at(date(2026, 2, 5))
    disputes.open_case(desk.book.uow(), disputes.OpenCase(ENTITY, first.number, "price"))
    report = desk.run(date(2026, 2, 10))
    assert ("C1", first.number, None, "disputed") in _skipped(report)


def test_a_bounced_payment_reopens_the_invoice_and_dunning_goes_on(desk):
    first = desk.invoice("C1", ISSUED)
    desk.run(date(2026, 2, 10))  # steps 1, 2
    desk.at(date(2026, 2, 12))
    paid = pay.record_payment(
        desk.book.uow(),
        pay.RecordPayment(ENTITY, "C1", "29.75", received_on=date(2026, 2, 12)),
    )
    assert desk.run(date(2026, 2, 23)).lines == ()  # paid: nothing to do
    desk.at(date(2026, 2, 24))
    pay.reverse_payment(
        desk.book.uow(),
        pay.ReversePayment(ENTITY, paid.id, "returned by the bank: account closed"),
    )
    assert open_of(desk.book, first.number) == 2975
    report = desk.run(date(2026, 2, 25))
    # the next step (3), not the first ones again
    assert _taken(report) == [("C1", first.number, 3, "late_fee+reminder")]
    assert desk.steps(first.number) == [1, 2, 3]
    verify_clean(desk.book)


def test_a_customer_whose_fee_cannot_be_invoiced_is_reported_and_the_others_go_on(desk):
    # LATE-FEE moved to a tax class without a tax rule: invoicing C1's (domestic) fee is
    # refused; C2 is a reverse-charge customer, whose lines never need a rule, so it goes on.
    from sqlalchemy import text

    with desk.book.engine.begin() as conn:
        conn.execute(text("UPDATE charge_codes SET tax_class = 'nowhere' WHERE code = 'LATE-FEE'"))
        conn.execute(text("UPDATE revisions SET value = value + 1 WHERE name = 'masterdata'"))
    first = desk.invoice("C1", ISSUED)
    second = desk.invoice("C2", ISSUED)
    report = desk.run(date(2026, 2, 22))
    [refused] = [r for r in report.skipped if r.reason == "refused"]
    assert refused.invoice == first.number
    assert "no tax rule for class 'nowhere'" in refused.detail
    assert desk.steps(first.number) == []  # all of C1 rolled back
    assert desk.steps(second.number) == [1, 2, 3]
    assert report.fee_invoices == 1
    verify_clean(desk.book)


# Letters, languages, policies -----------------------------------------------------------------


def test_letters_are_in_the_customer_language_unless_chosen(desk):
    desk.invoice("C1", ISSUED)  # DE
    desk.invoice("C2", ISSUED)  # FR
    dn.assign_policy(desk.book.uow(), dn.AssignPolicy(ENTITY, "C1", language="en"))
    desk.run(date(2026, 2, 8))
    assert {(x.customer_code, x.language) for x in desk.letters.letters} == {
        ("C1", "en"),
        ("C2", "fr"),
    }
    assert [s for _, s in _outbox(desk, "INV-2026-000002")] == ["Relance : facture INV-2026-000002"]


def test_policies_are_never_changed_and_the_first_is_the_default(desk):
    with pytest.raises(InvalidState):
        dn.create_policy(desk.book.uow(), dn.CreatePolicy(ENTITY, "STD", "Again", STD_STEPS))
    view = dn.show_policy(desk.book.uow(), ENTITY, "STD")
    assert view.default and [s.offset_days for s in view.steps] == [-3, 7, 21, 35, 42]
    # steps are numbered by their day, whatever order they are given in
    other = dn.create_policy(
        desk.book.uow(),
        dn.CreatePolicy(ENTITY, "SHORT", "Short", tuple(reversed(STD_STEPS[:2]))),
    )
    assert [(s.step_no, s.template) for s in other.steps] == [(1, "friendly"), (2, "first")]
    assert not other.default
    dn.assign_policy(desk.book.uow(), dn.AssignPolicy(ENTITY, "C1", policy="SHORT"))
    assert dn.customer_dunning(desk.book.uow(), ENTITY, "C1").policy == "SHORT"


def test_settings_default_to_the_directive_and_refuse_nonsense(book):
    view = dn.dunning_settings(book.uow(), ENTITY)
    assert (view.interest_enabled, view.margin, view.recovery_fee, view.recovery_currency) == (
        False,
        "8",
        "40.00",
        "EUR",
    )
    with pytest.raises(InvalidInput) as refused:
        dn.set_settings(book.uow(), dn.SetDunningSettings(ENTITY, margin="-1"))
    assert refused.value.field == "margin"
    view = dn.set_settings(book.uow(), dn.SetDunningSettings(ENTITY, reference_rate="2.15"))
    assert view.annual_rate == "10.15"


def test_the_credit_hold_lookup_is_one_query_on_its_index(desk):
    from sqlalchemy import text

    lookup = (
        "SELECT id FROM dunning_holds "
        "WHERE customer_id = 1 AND kind = 'credit' AND released_at IS NULL LIMIT 1"
    )
    with desk.book.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            plan = conn.execute(text("EXPLAIN QUERY PLAN " + lookup)).all()
        else:  # a table this small is read whole unless told otherwise
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = conn.execute(text("EXPLAIN " + lookup)).all()
    assert "ix_dunning_holds_active" in " ".join(str(r[-1]) for r in plan)
    with desk.book.uow() as uow:
        customer = uow.customers.by_code(uow.entities.by_code(ENTITY).id, "C1")
        assert uow.dunning.credit_hold(customer.id) is None
    dn.set_hold(desk.book.uow(), dn.SetHold(ENTITY, "C1", "credit", "credit limit exceeded"))
    with desk.book.uow() as uow:
        assert uow.dunning.credit_hold(customer.id).reason == "credit limit exceeded"


def test_a_run_with_no_policy_is_refused(book, clock):
    from datetime import UTC, datetime

    from fixtures_book import invoice

    clock.set(datetime(2026, 3, 1, tzinfo=UTC))
    invoice(book, "C1", ISSUED, ("WIDGET", "1"))
    with pytest.raises(InvalidInput) as refused:
        dn.run_dunning(book.uow(), dn.RunDunning(ENTITY, date(2026, 3, 1), sender=SENDER), None)
    assert refused.value.field == "policy"


def test_a_missing_charge_code_refuses_the_whole_run(book, clock):
    from datetime import UTC, datetime

    from fixtures_book import invoice

    prepare(book)
    dn.create_policy(
        book.uow(),
        dn.CreatePolicy(
            ENTITY, "ODD", "Odd codes", STD_STEPS, fee_charge_code="NO-SUCH", default=True
        ),
    )
    clock.set(datetime(2026, 3, 1, tzinfo=UTC))
    invoice(book, "C1", ISSUED, ("WIDGET", "1"))
    before = row_counts(book)
    with pytest.raises(InvalidInput) as refused:
        dn.run_dunning(book.uow(), dn.RunDunning(ENTITY, date(2026, 3, 1), sender=SENDER), None)
    assert "'NO-SUCH'" in refused.value.reason and refused.value.field == "charge_code"
    assert row_counts(book) == before
    m.create_charge_code(
        book.uow(), m.CreateChargeCode(ENTITY, "NO-SUCH", "Fee", "C62", "4810", "outside")
    )  # near miss: with the code the run goes
    report = dn.run_dunning(
        book.uow(), dn.RunDunning(ENTITY, date(2026, 3, 1), sender=SENDER), RecordingLetters()
    )
    assert report.steps_taken == 3


@pytest.mark.slow
def test_two_runs_at_once_take_each_step_once(pg_url, clock):
    """PostgreSQL, two sessions: each customer's transaction takes the chain heads first, so
    the second run waits for the first and then finds its steps taken."""
    import threading
    from datetime import UTC, datetime

    from fixtures_book import build_book, invoice

    book = build_book(pg_url, clock)
    try:
        prepare(book)
        clock.set(datetime(2026, 3, 13, 12, tzinfo=UTC))
        numbers = [invoice(book, c, ISSUED, ("WIDGET", "2")).number for c in ("C1", "C2", "C3")]
        reports: list[dn.RunReport] = []
        failures: list[BaseException] = []

        def go() -> None:
            try:
                cmd = dn.RunDunning(ENTITY, date(2026, 3, 13), sender=SENDER)
                reports.append(dn.run_dunning(book.uow(), cmd, RecordingLetters()))
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)

        threads = [threading.Thread(target=go) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert failures == []
        # C1, C2: steps 1-4 (due 02-01, +35 = 03-08); C3 (due 02-15): steps 1-3 (+21 = 03-08)
        # Between them the two runs took each step once, whoever took which customer.
        assert sum(r.steps_taken for r in reports) == 11
        with book.engine.connect() as conn:
            from sqlalchemy import text

            rows = conn.execute(text("SELECT document_id, step_no FROM dunning_steps_taken")).all()
        assert len(rows) == len(set(rows)) == 11
        assert all(dn.invoice_history(book.uow(), ENTITY, n).steps for n in numbers)
        verify_clean(book)
    finally:
        book.close()


def test_a_promise_is_settled_even_when_nothing_is_left_open(desk):
    first = desk.invoice("C1", ISSUED)
    desk.at(date(2026, 2, 1))
    dn.add_promise(desk.book.uow(), dn.AddPromise(ENTITY, "C1", date(2026, 2, 15), "29.75"))
    desk.at(date(2026, 2, 10))
    pay.record_payment(
        desk.book.uow(), pay.RecordPayment(ENTITY, "C1", "29.75", received_on=date(2026, 2, 10))
    )
    assert open_of(desk.book, first.number) == 0
    report = desk.run(date(2026, 2, 12))
    assert [(r.customer, r.reason) for r in report.notes] == [("C1", "promise kept")]
    assert report.invoices_seen == 0
    assert [p.status for p in dn.list_promises(desk.book.uow(), ENTITY)] == ["kept"]


def test_a_run_is_bounded_and_a_second_run_on_the_date_goes_on(desk, monkeypatch):
    monkeypatch.setattr(dn, "MAX_RUN_INVOICES", 1)
    first = desk.invoice("C1", ISSUED)  # due 02-01
    second = desk.invoice("C2", date(2026, 1, 3))  # due 02-02
    report = desk.run(date(2026, 2, 10))
    assert {r.invoice for r in report.taken} == {first.number}  # the oldest due first
    assert report.message == "1 more invoice(s) have a step due: run again for the same date"
    report = desk.run(date(2026, 2, 10))
    assert {r.invoice for r in report.taken} == {second.number}
    assert report.message == ""
    assert desk.run(date(2026, 2, 10)).lines == ()
