"""The receivables queues and their actions against the book of queues_book.py: overdue
invoices with the next dunning step, a dunning run, promises and holds; dispute cases opened,
noted and resolved (credit note, re-bill, rejection); a payment recorded. Values worked out by
hand in the comments and checked in the book afterwards; refusals shown next to their form
with nothing changed."""

from __future__ import annotations

from fixtures_book import open_of, row_counts

from openbill.usecases import disputes as ds
from openbill.usecases import dunning as dn

from .conftest import ENTITY, csrf_of, log_in, text_of

BASE = f"/desk/{ENTITY}"
HTMX = {"HX-Request": "true"}


def _client(desk, role, page="/overdue"):
    client = log_in(desk, role)
    return client, csrf_of(client.get(f"{BASE}{page}").text)


def _post(client, path, token, **data):
    return client.post(f"{BASE}{path}", data={"csrf_token": token, **data}, follow_redirects=False)


def _after(client, reply):
    assert reply.status_code == 303, reply.text[:2000]
    return text_of(client.get(reply.headers["location"]).text)


def _changes(before, after):
    """Tables whose row count changed, besides the audit trail (a refusal may be audited)."""
    return {k for k in after if after[k] != before[k] and k != "audit_events"}


# ---------------------------------------------------------------------------------------------
# overdue invoices and dunning


def test_the_overdue_queue_shows_the_next_step_and_its_day(queues):
    words = text_of(log_in(queues, "clerk").get(f"{BASE}/overdue").text)
    assert "Dunning policy for customers without their own: STD. Last dunning run: never." in words
    assert "1 invoice overdue on 2026-03-20, the oldest due first" in words
    # INV-2: due 03-12, 8 days past due, 150.00 open; STD's step 1 is due 03-12 + 7 = 03-19.
    assert (
        "INV-2026-000002 C1 Alpha GmbH 2026-03-12 8 150.00 EUR STD, no step yet "
        "step 1 on 2026-03-19: reminder due" in words
    )
    assert "C1 Alpha GmbH Dunning hold none Credit hold none Promise to pay none" in words
    # On 03-31 INV-4 (C3, due 04-15) is not overdue yet; on 04-20 it is, 5 days.
    later = text_of(log_in(queues, "clerk").get(f"{BASE}/overdue?as_of=2026-04-20").text)
    assert "INV-2026-000004 C3 Gamma KG 2026-04-15 5 85.51 EUR STD, no step yet" in later
    assert "step 1 on 2026-04-22: reminder" in later


def test_a_dunning_run_takes_the_step_due_once(fresh_queues):
    book = fresh_queues.book
    client, token = _client(fresh_queues, "specialist")
    words = _after(client, _post(client, "/dunning/run", token, as_of="2026-03-20"))
    # Only INV-2 has a step due (step 1); C1 has an e-mail address: one reminder queued.
    assert (
        "Dunning run as of 2026-03-20: 1 invoice with a step due, 1 step taken, 0 fee invoices, "
        "1 e-mail queued, 0 invoices skipped: INV-2026-000002 step 1 (reminder)." in words
    )
    assert "STD, step 1 taken step 2 on 2026-04-02: reminder" in words  # 03-12 + 21
    assert "Last dunning run: 2026-03-20." in words
    history = dn.invoice_history(book.uow(read_only=True), ENTITY, "INV-2026-000002")
    assert [(s.step_no, s.taken_on.isoformat()) for s in history.steps] == [(1, "2026-03-20")]
    with book.uow(read_only=True) as uow:
        mails = [m for m in uow.desk.messages_of(_id_of(book, "INV-2026-000002"), 10)]
    assert [(m.mail_to, m.status) for m in mails] == [("ap@alpha.example", "queued")]
    # The same day again takes nothing new.
    again = _after(client, _post(client, "/dunning/run", token, as_of="2026-03-20"))
    assert "1 step taken" not in again and "0 steps taken" in again


def _id_of(book, number):
    with book.uow(read_only=True) as uow:
        return uow.documents.brief_by_number(uow.entities.by_code(ENTITY).id, number).id


def test_a_dry_run_changes_nothing_and_a_run_ahead_of_today_is_refused(fresh_queues):
    book = fresh_queues.book
    client, token = _client(fresh_queues, "manager")
    before = row_counts(book)
    words = _after(client, _post(client, "/dunning/run", token, as_of="2026-03-20", dry_run="yes"))
    assert "Dry run as of 2026-03-20: 1 invoice with a step due, 1 step taken" in words
    assert "Nothing was changed." in words
    assert _changes(before, row_counts(book)) == set()
    ahead = _post(client, "/dunning/run", token, as_of="2026-03-25")
    assert ahead.status_code == 422
    assert "2026-03-25 lies ahead of today (2026-03-20)" in text_of(ahead.text)
    assert "Run dunning" in text_of(ahead.text)  # shown on the queue, beside the form
    assert _changes(before, row_counts(book)) == set()


def test_a_promise_to_pay_and_its_refusal(fresh_queues):
    book = fresh_queues.book
    client, token = _client(fresh_queues, "specialist")
    missing = _post(client, "/customers/C1/promise", token, amount="150.00", pay_by="")
    assert missing.status_code == 422
    assert "Give the day the customer promised to pay by (pay_by)" in text_of(missing.text)
    words = _after(
        client,
        _post(client, "/customers/C1/promise", token, amount="150.00", pay_by="2026-03-31"),
    )
    assert "C1 promised to pay 150.00 EUR by 2026-03-31." in words
    assert "Promise to pay 150.00 EUR by 2026-03-31" in words
    [promise] = dn.list_promises(book.uow(read_only=True), ENTITY)
    assert (promise.customer, promise.amount, promise.status) == ("C1", "150.00", "open")
    # Dunning skips C1 while the promise (03-31 + 3 days' grace) lies ahead.
    run = _after(client, _post(client, "/dunning/run", token, as_of="2026-03-20"))
    assert "0 steps taken" in run and "1 invoice skipped" in run


def test_holds_set_refused_twice_and_released(fresh_queues):
    book = fresh_queues.book
    client, token = _client(fresh_queues, "specialist")
    reason = "customer in talks about new terms"
    words = _after(
        client, _post(client, "/customers/C1/hold", token, kind="dunning", reason=reason)
    )
    assert f"C1 is on dunning hold: {reason}." in words
    again = _post(client, "/customers/C1/hold", token, kind="dunning", reason=reason)
    assert again.status_code == 409
    section = again.text[again.text.index('id="customer-C1"') :]
    assert "Is on dunning hold already since" in text_of(section[: section.index("</section>")])
    short = _post(client, "/customers/C1/release", token, kind="dunning", reason="done")
    assert short.status_code == 422
    [hold] = dn.list_holds(book.uow(read_only=True), ENTITY)
    assert (hold.kind, hold.reason, hold.set_by, hold.released_at) == (
        "dunning",
        reason,
        "specialist",
        "",
    )
    # By htmx: the customer's block comes back in place, released.
    reply = client.post(
        f"{BASE}/customers/C1/release",
        data={"kind": "dunning", "reason": "terms agreed on the phone"},
        headers={**HTMX, "X-CSRF-Token": token},
    )
    assert reply.status_code == 200
    assert reply.text.lstrip().startswith('<section id="customer-C1"')
    assert "C1&#39;s dunning hold is released: terms agreed on the phone." in reply.text
    assert dn.list_holds(book.uow(read_only=True), ENTITY) == []


def test_a_clerk_sees_the_queue_but_no_dunning_forms(queues):
    page = log_in(queues, "clerk").get(f"{BASE}/overdue").text
    assert "INV-2026-000002" in page
    assert "/dunning/run" not in page and "/promise" not in page and "/hold" not in page
    assert "/payments/new" not in page  # a clerk posts no payments
    assert f"{BASE}/disputes/new?invoice=INV-2026-000002" in page  # but opens cases


# ---------------------------------------------------------------------------------------------
# dispute cases


def test_a_dispute_case_page(queues):
    words = text_of(log_in(queues, "auditor").get(f"{BASE}/disputes/DSP-000001").text)
    assert "Dispute case DSP-000001 open" in words
    # The case on INV-3 for all of it (50.00); the bank line paid INV-3 since.
    assert "Invoice INV-2026-000003 , the whole invoice Reason price In dispute 50.00 EUR" in words
    assert "Open on the invoice 0.00 EUR" in words
    assert "note by tests: the customer says 10.00 each" in words
    assert "Resolve the case" not in words and "Add the note" not in words  # an auditor


def test_open_a_case_on_a_line_note_it_and_resolve_it_by_credit_note(fresh_queues):
    book = fresh_queues.book
    clerk, token = _client(fresh_queues, "clerk", "/disputes/new?invoice=INV-2026-000004")
    form = clerk.get(f"{BASE}/disputes/new?invoice=INV-2026-000004").text
    assert '<option value="1">line 1: ' in form  # the invoice's lines to choose from
    too_much = _post(
        clerk,
        "/disputes",
        token,
        invoice="INV-2026-000004",
        line="1",
        reason="quantity",
        amount="100.00",
    )
    # INV-4 has 85.51 open (106.89 less the 21.38 credit note): no more can be disputed.
    assert too_much.status_code == 422
    assert "85.51" in text_of(too_much.text)
    assert 'value="INV-2026-000004"' in too_much.text  # the form keeps what was typed
    reply = _post(
        clerk,
        "/disputes",
        token,
        invoice="INV-2026-000004",
        line="1",
        reason="quantity",
        amount="10.00",
        key="open-1",
    )
    assert reply.headers["location"] == f"{BASE}/disputes/DSP-000002"
    words = _after(clerk, reply)
    assert (
        "Case DSP-000002 opened on INV-2026-000004 line 1 (quantity): 10.00 EUR in dispute, "
        "owner clerk; dunning pauses for this amount." in words
    )
    words = _after(clerk, _post(clerk, "/disputes/DSP-000002/notes", token, note="one box short"))
    assert "Note added; the timeline has 2 entries." in words
    assert "note by clerk: one box short" in words
    specialist, token = _client(fresh_queues, "specialist", "/disputes/DSP-000002")
    # All of line 1 (10 books, 106.89) cannot be credited: 2 books were (21.38), so at most
    # 106.89 - 21.38 = 85.51 can still be; refused, shown above the forms.
    whole = _post(specialist, "/disputes/DSP-000002/resolve", token, how="credit_note")
    assert whole.status_code == 422
    assert (
        "Resolve the case INV-2026-000004 was already credited for 21.38 EUR; at most 85.51 EUR "
        "can still be credited (lines)" in text_of(whole.text)
    )
    words = _after(
        specialist,
        _post(specialist, "/disputes/DSP-000002/resolve", token, how="credit_note", credit_1="1"),
    )
    # 1 BOOK 9.99 + 7 % (0.6993 -> 0.70) = 10.69; the quarter's credit note was CN-...-1.
    assert (
        "DSP-000002 resolved: credit note CN-2026-000002 over 10.69 EUR credits "
        "INV-2026-000004." in words
    )
    assert "Dispute case DSP-000002 resolved" in words
    assert open_of(book, "INV-2026-000004") == 8551 - 1069  # 74.82
    case = ds.show_case(book.uow(read_only=True), ENTITY, "DSP-000002")
    assert (case.case["status"], case.case["resolution"]) == ("resolved", "credit_note")


def test_reject_a_case_without_an_email_address_then_without_mail(fresh_queues):
    book = fresh_queues.book
    client, token = _client(fresh_queues, "specialist", "/disputes/DSP-000001")
    why = "the contract price for 2026 is 12.50 a widget"
    refused = _post(
        client,
        "/disputes/DSP-000001/resolve",
        token,
        how="reject",
        explanation=why,
        send_mail="yes",
    )
    # C2 has no e-mail address: the explanation cannot be e-mailed.
    assert refused.status_code == 422
    assert "(email)" in text_of(refused.text)
    assert ds.show_case(book.uow(read_only=True), ENTITY, "DSP-000001").case["status"] == "open"
    words = _after(
        client, _post(client, "/disputes/DSP-000001/resolve", token, how="reject", explanation=why)
    )
    assert "DSP-000001 rejected; explanation not e-mailed" in words
    assert f"Rejected: {why}, on 2026-03-20 by specialist." in words


def test_resolve_by_rebill_moves_what_was_paid(fresh_queues):
    book = fresh_queues.book
    ds.open_case(book.uow(actor="clerk"), ds.OpenCase(ENTITY, "INV-2026-000002", "price"))
    client, token = _client(fresh_queues, "manager", "/disputes/DSP-000002")
    page = client.get(f"{BASE}/disputes/DSP-000002").text
    assert 'name="rebill_code_1" type="text" maxlength="64" size="10" value="TRAINING"' in page
    words = _after(
        client,
        _post(
            client,
            "/disputes/DSP-000002/resolve",
            token,
            how="rebill",
            rebill_code_1="TRAINING",
            rebill_qty_1="2",
            rebill_price_1="90.00",
        ),
    )
    # INV-2: 2 x 100.00 = 200.00, 50.00 paid. The credit note takes back 200.00; the
    # corrected invoice is 2 x 90.00 = 180.00 (exempt), the 50.00 paid moves to it.
    assert (
        "DSP-000002 resolved by re-bill: credit note CN-2026-000002 over 200.00 EUR credits "
        "INV-2026-000002; corrected invoice INV-2026-000006 over 180.00 EUR; 50.00 EUR "
        "already paid moved to it." in words
    )
    assert open_of(book, "INV-2026-000006") == 13000  # 180.00 - 50.00
    assert open_of(book, "INV-2026-000002") == 0


def test_the_case_forms_follow_the_role(queues):
    def forms(role):
        page = log_in(queues, role).get(f"{BASE}/disputes/DSP-000001").text
        return ("/notes" in page, "/resolve" in page)

    assert forms("clerk") == (True, False)
    assert forms("specialist") == (True, True)
    assert forms("auditor") == (False, False)


# ---------------------------------------------------------------------------------------------
# payments


def _payment(book, customer, reference):
    """The id of the one payment of `customer` with `reference` (ids are the database's)."""
    with book.uow(read_only=True) as uow:
        found = [
            p.id
            for p in uow.money.payments(uow.entities.by_code(ENTITY).id, 100)
            if p.customer_code == customer and p.reference == reference
        ]
    assert len(found) == 1, found
    return found[0]


def test_record_a_payment_for_an_invoice(fresh_queues):
    book = fresh_queues.book
    client, token = _client(fresh_queues, "specialist", "/payments/new?invoice=INV-2026-000002")
    form = client.get(f"{BASE}/payments/new?invoice=INV-2026-000002").text
    assert (
        'id="p-amount" name="amount" type="text" inputmode="decimal" maxlength="30" value="150.00"'
        in form
    )
    assert "For invoice INV-2026-000002 of C1 Alpha GmbH: 150.00 EUR open." in text_of(form)
    fields = {
        "customer": "C1",
        "invoice": "INV-2026-000002",
        "received_on": "2026-03-20",
        "method": "bank_transfer",
        "reference": "remittance 4711",
        "allocate": "invoice",
    }
    before = row_counts(book)
    too_much = _post(client, "/payments", token, amount="200.00", key="p1", **fields)
    assert too_much.status_code == 422
    assert "200.00 is more than the 150.00 EUR open on INV-2026-000002 (amount)" in text_of(
        too_much.text
    )
    assert _changes(before, row_counts(book)) == set()
    reply = _post(client, "/payments", token, amount="150.00", key="p2", **fields)
    assert reply.headers["location"] == f"{BASE}/invoices/INV-2026-000002"
    words = _after(client, reply)
    paid = _payment(book, "C1", "remittance 4711")
    assert (
        f"Payment {paid} of 150.00 EUR from C1 recorded: 150.00 EUR allocated to "
        "INV-2026-000002; the customer's credit is 0.00 EUR." in words
    )
    assert open_of(book, "INV-2026-000002") == 0
    # The same form sent twice records one payment.
    _post(client, "/payments", token, amount="150.00", key="p2", **fields)
    assert row_counts(book)["payments"] == before["payments"] + 1


def test_record_a_payment_automatically_from_the_customer(fresh_queues):
    book = fresh_queues.book
    client, token = _client(fresh_queues, "manager", "/payments/new?customer=C3")
    reply = _post(
        client,
        "/payments",
        token,
        customer="C3",
        amount="100.00",
        reference="INV-2026-000004",
        allocate="auto",
        key="p3",
    )
    assert reply.headers["location"] == f"{BASE}/customers/C3"
    words = _after(client, reply)
    paid = _payment(book, "C3", "INV-2026-000004")
    # The reference names INV-4 (85.51 open): 85.51 paid, 14.49 kept as C3's credit.
    assert (
        f"Payment {paid} of 100.00 EUR from C3 recorded: 85.51 EUR allocated to "
        "INV-2026-000004; the customer's credit is 14.49 EUR." in words
    )
    assert open_of(book, "INV-2026-000004") == 0


def test_only_who_may_post_payments_gets_the_form(queues):
    clerk = log_in(queues, "clerk")
    assert "/payments/new" not in clerk.get(f"{BASE}/invoices/INV-2026-000002").text
    assert clerk.get(f"{BASE}/payments/new").status_code == 403
    specialist = log_in(queues, "specialist")
    invoice = specialist.get(f"{BASE}/invoices/INV-2026-000002").text
    assert f"{BASE}/payments/new?invoice=INV-2026-000002" in invoice
    assert f"{BASE}/payments/new" in specialist.get(f"{BASE}/payments").text
    assert f"{BASE}/payments/new?customer=C1" in specialist.get(f"{BASE}/customers/C1").text
