"""The billing queues (drafts, discrepancies, approvals) and their actions, against the book
of queues_book.py: what each page shows, each action done (the values worked out by hand, and
checked in the book afterwards), each refusal shown next to its record with nothing changed,
and htmx getting the row in place."""

from __future__ import annotations

from fixtures_book import row_counts

from openbill.usecases import invoices as inv
from openbill.usecases import masterdata as m
from openbill.usecases import reports, verification

from .conftest import ENTITY, csrf_of, log_in, text_of
from .queues_book import APPROVAL_DRAFT, BLOCKED_DRAFT, C4_VAT

BASE = f"/desk/{ENTITY}"
HTMX = {"HX-Request": "true"}


def _client(desk, role):
    client = log_in(desk, role)
    token = csrf_of(client.get(f"{BASE}/drafts").text)
    return client, token


def _doc(book, document_id):
    with book.uow(read_only=True) as uow:
        return uow.documents.get(document_id)


def _findings(book, document_id):
    with book.uow(read_only=True) as uow:
        return {(r.rule, r.field): r.status for r in uow.verification.findings(document_id)}


# ---------------------------------------------------------------------------------------------
# drafts


def test_the_drafts_queue_shows_each_draft_its_checks_and_the_deliveries_to_bill(queues):
    words = text_of(log_in(queues, "clerk").get(f"{BASE}/drafts").text)
    assert "3 drafts, oldest first" in words
    # Draft 7 (GIFT 1 x 10.00 tax included) of the quarter, never verified: nothing open.
    assert "draft 7 C1 Alpha GmbH 2026-03-18 10.00 EUR tests ready" in words
    # Draft 8: 11 x 100.00 = 1,100.00 > 1,000.00; C1 has an e-mail now but no address.
    assert "draft 8 C1 Alpha GmbH 2026-03-19 1,100.00 EUR clerk 1 blocking 1 warning" in words
    assert "needs approval" in words
    assert "Blocks draft 8: total above 1000.00 EUR needs a second person's approval" in words
    # Draft 9: 2 x 12.50 = 25.00, reverse charge without a VAT number.
    assert "draft 9 C4 Delta BV 2026-03-19 25.00 EUR clerk 1 blocking 2 warnings" in words
    assert (
        "Blocks customer C4: has no VAT number, which this customer's tax treatment needs" in words
    )
    # The delivery waiting to be billed.
    assert "D-1 shipment C3 2026-03-17 BOOK 5 K1" in words


def test_the_drafts_queue_counts_in_the_navigation_and_on_the_dashboard(queues):
    page = log_in(queues, "auditor").get(f"{BASE}").text
    # drafts 7, 8, 9; findings open without the approval: draft 8's address warning, draft
    # 9's three; draft 8 waits for approval; INV-2 is overdue; the case on INV-3; lines 3, 4.
    for key, count in (
        ("drafts", 3),
        ("discrepancies", 4),
        ("approvals", 1),
        ("overdue", 1),
        ("disputes", 1),
        ("bank_lines", 2),
    ):
        assert f'<span class="count" id="count-{key}">{count}</span>' in page, key
    words = text_of(page)
    assert "Drafts waiting 3 Discrepancies open 4 Approvals waiting 1 Overdue invoices 1" in words


def test_prepare_turns_the_confirmed_delivery_into_a_draft(fresh_queues):
    client, token = _client(fresh_queues, "clerk")
    reply = client.post(
        f"{BASE}/drafts/prepare",
        data={"csrf_token": token, "through": "2026-03-20", "document_date": ""},
        follow_redirects=False,
    )
    assert reply.status_code == 303 and reply.headers["location"] == f"{BASE}/drafts"
    words = text_of(client.get(reply.headers["location"]).text)
    assert "Billing run through 2026-03-20: 1 delivery looked at, 1 draft made." in words
    # D-1: 5 BOOK x 9.99 = 49.95 + 7 % = 3.4965 -> 3.50: 53.45 EUR, dated today (03-20).
    assert "draft 10 Gamma KG" not in words  # the customer link shows its code first
    assert "draft 10 C3 Gamma KG 2026-03-20 53.45 EUR clerk" in words
    assert "No confirmed delivery waits to be billed" in words
    doc = _doc(fresh_queues.book, 10)
    assert (doc.status, int(doc.net_minor), int(doc.total_minor)) == ("draft", 4995, 5345)
    # The flash is shown once.
    assert "Billing run through" not in text_of(client.get(f"{BASE}/drafts").text)


def test_a_bad_date_is_refused_next_to_the_form_and_nothing_is_billed(fresh_queues):
    client, token = _client(fresh_queues, "clerk")
    before = row_counts(fresh_queues.book)
    reply = client.post(f"{BASE}/drafts/prepare", data={"csrf_token": token, "through": "20.3."})
    assert reply.status_code == 422
    words = text_of(reply.text)
    assert "'20.3.' is not a date: give it as YYYY-MM-DD (through)" in words
    assert "Prepare drafts from confirmed deliveries" in words  # the page, not an error page
    after = row_counts(fresh_queues.book)
    assert {k: v for k, v in after.items() if k != "audit_events"} == {
        k: v for k, v in before.items() if k != "audit_events"
    }


def test_issue_is_refused_while_a_blocking_finding_is_open_and_says_why(fresh_queues):
    client, token = _client(fresh_queues, "specialist")
    reply = client.post(f"{BASE}/drafts/{BLOCKED_DRAFT}/issue", data={"csrf_token": token})
    assert reply.status_code == 409
    page = reply.text
    # The reason is in draft 9's row, not on an error page.
    row = page[page.index(f'id="draft-{BLOCKED_DRAFT}"') :]
    row = row[: row.index("</tr>")]
    assert "1 blocking discrepancy(ies) open" in text_of(row)
    assert "has no VAT number" in text_of(row)
    assert 'role="alert"' in row
    doc = _doc(fresh_queues.book, BLOCKED_DRAFT)
    assert (doc.status, doc.number) == ("draft", None)


def test_issue_a_draft_from_the_queue(fresh_queues):
    client, token = _client(fresh_queues, "specialist")
    reply = client.post(
        f"{BASE}/drafts/7/issue",
        data={"csrf_token": token, "issue_date": "", "key": "k-7"},
        follow_redirects=False,
    )
    # The quarter issued INV-2026-000001..5: this is the sixth.
    assert reply.status_code == 303
    assert reply.headers["location"] == f"{BASE}/invoices/INV-2026-000006"
    words = text_of(client.get(reply.headers["location"]).text)
    # GIFT 10.00 tax included; net30 from 03-20 is 04-19.
    assert "Draft 7 issued as INV-2026-000006: 10.00 EUR, due 2026-04-19." in words
    doc = _doc(fresh_queues.book, 7)
    assert (doc.status, doc.number, int(doc.total_minor)) == ("issued", "INV-2026-000006", 1000)
    # The same form again (a double click): the use case's idempotency answers the first
    # result and issues nothing twice.
    again = client.post(
        f"{BASE}/drafts/7/issue",
        data={"csrf_token": token, "issue_date": "", "key": "k-7"},
        follow_redirects=False,
    )
    assert again.headers["location"] == f"{BASE}/invoices/INV-2026-000006"
    with fresh_queues.book.uow(read_only=True) as uow:
        entity_id = uow.entities.by_code(ENTITY).id
        assert uow.documents.brief_by_number(entity_id, "INV-2026-000007") is None


def test_issue_by_htmx_answers_the_row_and_the_counts(fresh_queues):
    client, token = _client(fresh_queues, "specialist")
    reply = client.post(
        f"{BASE}/drafts/7/issue", data={"issue_date": ""}, headers={**HTMX, "X-CSRF-Token": token}
    )
    assert reply.status_code == 200
    assert reply.text.lstrip().startswith('<tr id="draft-7" class="done">')
    assert "Draft 7 issued as INV-2026-000006" in reply.text
    assert f'href="{BASE}/invoices/INV-2026-000006"' in reply.text
    # Two drafts left: the navigation's count is replaced out of band.
    assert '<span class="count" id="count-drafts" hx-swap-oob="true">2</span>' in reply.text
    # A refusal by htmx is the row with the reason (200, so that htmx shows it).
    refused = client.post(
        f"{BASE}/drafts/{BLOCKED_DRAFT}/issue", headers={**HTMX, "X-CSRF-Token": token}
    )
    assert refused.status_code == 200
    assert refused.text.lstrip().startswith(f'<tr id="draft-{BLOCKED_DRAFT}">')
    assert "1 blocking discrepancy(ies) open" in refused.text


def test_verify_a_draft_counts_its_findings(fresh_queues):
    client, token = _client(fresh_queues, "clerk")
    reply = client.post(f"{BASE}/drafts/{BLOCKED_DRAFT}/verify", data={"csrf_token": token})
    # Draft 9: the VAT number blocks; no address, no e-mail warn.
    assert "Draft 9 checked: 1 blocking finding, 2 warnings open." in text_of(reply.text)


def test_the_buttons_follow_the_role(queues):
    def forms(role):
        page = log_in(queues, role).get(f"{BASE}/drafts").text
        return {
            "prepare": "/drafts/prepare" in page,
            "verify": "/drafts/7/verify" in page,
            "issue": "/drafts/7/issue" in page,
        }

    assert forms("clerk") == {"prepare": True, "verify": True, "issue": False}
    assert forms("specialist") == {"prepare": True, "verify": True, "issue": True}
    assert forms("auditor") == {"prepare": False, "verify": False, "issue": False}
    approvals = {r: log_in(queues, r).get(f"{BASE}/approvals").text for r in ROLES_READING}
    assert [r for r, page in approvals.items() if "/approve" in page] == ["manager"]
    findings = {r: log_in(queues, r).get(f"{BASE}/discrepancies").text for r in ROLES_READING}
    assert [r for r, page in findings.items() if "/override" in page] == ["manager"]
    assert [r for r, page in findings.items() if "/resolve" in page] == [
        "clerk",
        "specialist",
        "manager",
    ]


ROLES_READING = ("clerk", "specialist", "manager", "auditor")


# ---------------------------------------------------------------------------------------------
# discrepancies


def test_the_discrepancy_queue(queues):
    words = text_of(log_in(queues, "clerk").get(f"{BASE}/discrepancies").text)
    assert "4 open findings, oldest first" in words
    assert (
        "4 draft 9 C4 blocks master data incomplete customer C4 · vat_id: has no VAT number"
        in words
    )
    assert "approval" not in words.split("4 open findings")[1].split("openbill ·")[0].lower()
    assert "No resolved findings." in text_of(
        log_in(queues, "clerk").get(f"{BASE}/discrepancies?status=resolved").text
    )


def test_resolve_is_refused_until_the_source_is_fixed(fresh_queues):
    book = fresh_queues.book
    client, token = _client(fresh_queues, "clerk")
    vat = _vat_finding(book)
    reply = client.post(f"{BASE}/discrepancies/{vat}/resolve", data={"csrf_token": token})
    assert reply.status_code == 409
    row = reply.text[reply.text.index(f'id="finding-{vat}"') :]
    assert "Still found after checking the draft again: has no VAT number" in text_of(
        row[: row.index("</tr>")]
    )
    # Someone fixes the customer (the API or the command line), then it resolves.
    m.update_customer(book.uow(), m.UpdateCustomer(ENTITY, "C4", (("vat_id", C4_VAT),)))
    reply = client.post(
        f"{BASE}/discrepancies/{vat}/resolve", data={"csrf_token": token}, follow_redirects=False
    )
    assert reply.status_code == 303
    words = text_of(client.get(reply.headers["location"]).text)
    assert f"Finding {vat} resolved: the draft no longer shows it." in words
    assert _findings(book, BLOCKED_DRAFT)[("master_data_incomplete", "vat_id")] == "resolved"
    with book.uow(read_only=True) as uow:
        done = [e for e in uow.audit.events() if e.action == "discrepancy.resolved"]
    assert done[-1].actor == "clerk"
    resolved = text_of(client.get(f"{BASE}/discrepancies?status=resolved").text)
    assert "resolved by clerk" in resolved


def _vat_finding(book):
    with book.uow(read_only=True) as uow:
        return next(r.id for r in uow.verification.findings(BLOCKED_DRAFT) if r.field == "vat_id")


def test_override_needs_a_manager_and_a_reason(fresh_queues):
    book = fresh_queues.book
    vat = _vat_finding(book)
    specialist, token = _client(fresh_queues, "specialist")
    refused = specialist.post(f"{BASE}/discrepancies/{vat}/override", data={"csrf_token": token})
    assert refused.status_code == 403
    manager, token = _client(fresh_queues, "manager")
    short = manager.post(
        f"{BASE}/discrepancies/{vat}/override", data={"csrf_token": token, "reason": "ok"}
    )
    assert short.status_code == 422
    assert "An override needs a written reason of at least 10 characters (reason)" in text_of(
        short.text
    )
    assert _findings(book, BLOCKED_DRAFT)[("master_data_incomplete", "vat_id")] == "open"
    reason = "customer confirmed by phone: VAT number follows"
    done = manager.post(
        f"{BASE}/discrepancies/{vat}/override",
        data={"csrf_token": token, "reason": reason},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with book.uow(read_only=True) as uow:
        row = uow.verification.finding(vat)
    assert (row.status, row.resolution, row.resolved_by) == ("overridden", reason, "manager")
    # Now draft 9 can be issued: its one blocking finding is overridden.
    issued = inv.issue_draft(book.uow(actor="manager"), inv.IssueDraft(ENTITY, BLOCKED_DRAFT))
    assert issued.total_minor == 2500  # 2 x 12.50, reverse charge: no tax


# ---------------------------------------------------------------------------------------------
# approvals


def test_the_approval_queue(queues):
    words = text_of(log_in(queues, "manager").get(f"{BASE}/approvals").text)
    assert "1 draft waiting for approval, oldest first" in words
    assert (
        "draft 8 C1 Alpha GmbH 2026-03-19 1,100.00 EUR clerk "
        "total above 1000.00 EUR needs a second person's approval Approve" in words
    )


def test_approve_then_issue(fresh_queues):
    book = fresh_queues.book
    manager, token = _client(fresh_queues, "manager")
    reply = manager.post(
        f"{BASE}/drafts/{APPROVAL_DRAFT}/approve",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert reply.status_code == 303 and reply.headers["location"] == f"{BASE}/approvals"
    words = text_of(manager.get(reply.headers["location"]).text)
    assert "Draft 8 approved by manager." in words
    assert "No draft waits for approval." in words
    with book.uow(read_only=True) as uow:
        approval = uow.verification.approval(APPROVAL_DRAFT)
    assert (approval.approved_by, int(approval.total_minor)) == ("manager", 110000)
    specialist, token = _client(fresh_queues, "specialist")
    issued = specialist.post(
        f"{BASE}/drafts/{APPROVAL_DRAFT}/issue", data={"csrf_token": token}, follow_redirects=False
    )
    assert issued.status_code == 303
    view = reports.show_document(book.uow(read_only=True), ENTITY, "INV-2026-000006")
    assert int(view.header["total_minor"]) == 110000  # 11 x 100.00, exempt


def test_whoever_prepared_a_draft_may_not_approve_it(fresh_queues):
    book = fresh_queues.book
    made = inv.create_draft(
        book.uow(actor="manager"),
        inv.CreateDraft(ENTITY, "C1", None, lines=(inv.LineSpec("TRAINING", "12"),)),
    )
    verification.verify_draft(book.uow(actor="manager"), verification.VerifyDraft(ENTITY, made.id))
    manager, token = _client(fresh_queues, "manager")
    page = manager.get(f"{BASE}/approvals").text
    assert "You prepared this draft: another person approves it." in text_of(page)
    reply = manager.post(f"{BASE}/drafts/{made.id}/approve", data={"csrf_token": token})
    assert reply.status_code == 409
    row = reply.text[reply.text.index(f'id="approval-{made.id}"') :]
    assert "Manager prepared this draft; another person must approve it (approved_by)" in (
        text_of(row[: row.index("</tr>")])
    )
    with book.uow(read_only=True) as uow:
        assert uow.verification.approval(made.id) is None
