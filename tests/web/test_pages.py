"""What each page shows, against figures worked out by hand from the quarter in conftest.py
(each expected figure says how it was reached)."""

from __future__ import annotations

import re

from pypdf import PdfReader

from .conftest import ENTITY, log_in, text_of

BASE = f"/desk/{ENTITY}"


def _read(quarter, path, user="specialist"):
    reply = log_in(quarter, user).get(path)
    assert reply.status_code == 200, reply.text[:500]
    return reply


def test_dashboard_figures(quarter):
    words = text_of(_read(quarter, BASE).text)
    # Billed in March (03-01..03-20): INV-3 50.00 + INV-4 106.89 - CN-1 21.38 = 135.51 EUR;
    # INV-5 4,759 JPY.
    assert "Billed this month invoices less credit notes, 2026-03-01 to 2026-03-20" in words
    assert "135.51 EUR 4,759 JPY" in words
    # Cash: payment 2, 50.00 on 03-15 (payment 1 was in February).
    assert "Cash received this month payments received, reversed ones left out 50.00 EUR" in words
    assert "(1 payment)" in words
    assert "Disputes open 1" in words  # the case on INV-3
    assert "Bank lines not matched 2" in words  # the two lines of the statement
    assert "Drafts waiting 1" in words  # the GIFT draft


def test_dashboard_aging_chart_and_table(quarter):
    page = _read(quarter, BASE).text
    words = text_of(page)
    # EUR on 03-20: current = INV-3 50.00 (due 04-01) + INV-4 85.51 (due 04-15) = 135.51;
    # 1-30 = INV-2 150.00 (due 03-12: 8 days); total 285.51. JPY: INV-5 4,759 current.
    assert "EUR 135.51 EUR 150.00 EUR 0.00 EUR 0.00 EUR 0.00 EUR 285.51 EUR" in words, words
    assert "JPY 4,759 JPY 0 JPY 0 JPY 0 JPY 0 JPY 4,759 JPY" in words
    # One bar chart per currency, largest total first; the tallest bar fills the plot
    # (height 200 - 16 - 28 = 156), 1-30 is 150.00/150.00 of it, current 135.51/150.00.
    eur = page[page.index('aria-labelledby="aging-EUR-t"') :]
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([0-9.]+)"', eur)[:5]]
    assert heights[1] == 156.0
    assert heights[0] == round(156 * 135.51 / 150.00, 1)  # 140.9
    assert heights[2:] == [0.0, 0.0, 0.0]
    # Each bar links to the aging report of its currency.
    assert f'<a href="{BASE}/aging#EUR">' in eur
    assert page.index("aging-EUR-t") < page.index("aging-JPY-t")


def test_dashboard_dso_trend(quarter):
    words = text_of(_read(quarter, BASE).text)
    # Countback at each month end: Jan: AR 148.75 over Jan sales 148.75 -> 31 days;
    # Feb: AR 200.00 (INV-1 paid) over Feb sales 200.00 -> 28 days; Mar 20: AR 285.51, March
    # sales 135.51 cover 20 days, the other 150.00 are 150/200 of February's 28 = 21: 41 days.
    assert "EUR 0.0 days 0.0 days 0.0 days 31.0 days 28.0 days 41.0 days" in words, words
    # JPY: AR 4,759 over March sales 4,759 (20 days so far) -> 20 days.
    assert "JPY 0.0 days 0.0 days 0.0 days 0.0 days 0.0 days 20.0 days" in words
    assert "2025-10-31 2025-11-30 2025-12-31 2026-01-31 2026-02-28 2026-03-20" in words


def test_dashboard_as_of_another_day(quarter):
    words = text_of(_read(quarter, f"{BASE}?as_of=2026-02-28").text)
    # February: INV-2 200.00 billed, payment 1 148.75 received on 02-01.
    assert "2026-02-01 to 2026-02-28 200.00 EUR" in words
    assert "148.75 EUR (1 payment)" in words
    bad = log_in(quarter, "clerk").get(f"{BASE}?as_of=28.02.2026")
    assert bad.status_code == 422
    assert "Give the date as YYYY-MM-DD" in text_of(bad.text)


def test_dashboard_figures_link_to_their_lists(quarter):
    page = _read(quarter, BASE).text.replace("&amp;", "&")
    for href in (
        f"{BASE}/invoices?date_from=2026-03-01&date_to=2026-03-20",
        f"{BASE}/payments?date_from=2026-03-01&date_to=2026-03-20",
        f"{BASE}/disputes",
        f"{BASE}/bank-lines",
        f"{BASE}/drafts",
        f"{BASE}/discrepancies",
        f"{BASE}/approvals",
        f"{BASE}/overdue?as_of=2026-03-20",
        f"{BASE}/aging?as_of=2026-03-20",
    ):
        assert f'href="{href}"' in page, href


def test_customer_page(quarter):
    page = _read(quarter, f"{BASE}/customers/C1").text
    words = text_of(page)
    assert "C1 · Alpha GmbH" in words
    # The IBAN masked: country and last four only.
    assert "Bank account DE** **** **** **** **30 00" in words
    assert "DE89370400440532013000" not in page and "3704 0044" not in words
    # Owed: INV-2 200.00 - 50.00 paid = 150.00; nothing held.
    assert "EUR 150.00 EUR 0.00 EUR" in words
    # Open item INV-2, 8 days past due on 03-20.
    assert "INV-2026-000002 invoice 2026-02-10 2026-03-12 8 200.00 EUR 150.00 EUR" in words
    # Newest documents first: the draft, INV-2 (overdue), INV-1 (paid).
    assert words.index("draft 7") < words.index(
        "INV-2026-000002 invoice 2026-02-10 2026-03-12 overdue"
    )
    assert "INV-2026-000001 invoice 2026-01-05 2026-02-04 paid 148.75 EUR 0.00 EUR" in words
    # Payments, newest first.
    assert "2026-03-15 bank transfer 50.00 EUR 50.00 EUR 0.00 EUR" in words
    assert "2026-02-01 INV-2026-000001 bank transfer 148.75 EUR 148.75 EUR 0.00 EUR" in words
    assert "Holds none" in words and "Promise to pay none" in words
    assert f'href="{BASE}/customers/C1/statement"' in page


def test_customer_page_shows_disputed_amounts(quarter):
    words = text_of(_read(quarter, f"{BASE}/customers/C2").text)
    # INV-3 is disputed in full: 50.00 open, 50.00 in dispute; the case is listed.
    assert "INV-2026-000003 invoice 2026-03-02 2026-04-01 0 50.00 EUR 50.00 EUR 50.00 EUR" in words
    assert "price open 2026-03-16" in words


def test_a_customer_that_does_not_exist_is_a_404_page(quarter):
    reply = log_in(quarter, "clerk").get(f"{BASE}/customers/NOPE")
    assert reply.status_code == 404
    assert "No customer with code 'NOPE'." in text_of(reply.text)


def test_statement(quarter):
    words = text_of(
        _read(quarter, f"{BASE}/customers/C1/statement?from=2026-01-01&to=2026-03-20").text
    )
    # Opening 0; + INV-1 148.75; - payment 148.75; + INV-2 200.00; - payment 50.00; closing 150.00.
    assert "Opening balance 0.00 EUR" in words
    assert "148.75 EUR 148.75 EUR" in words  # INV-1 charged, balance 148.75
    assert "Closing balance 348.75 EUR 198.75 EUR 150.00 EUR" in words


def test_invoice_page(quarter):
    page = _read(quarter, f"{BASE}/invoices/INV-2026-000004").text
    words = text_of(page)
    assert "Invoice INV-2026-000004 partially paid" in words
    assert "Customer C3 Gamma KG" in words and "Due 2026-04-15" in words  # eom+15
    # 10 BOOK at 9.99: net 99.90, 7 % tax 6.993 -> 6.99, total 106.89; 21.38 credited.
    assert "Net 99.90 EUR Tax 6.99 EUR Total 106.89 EUR Open 85.51 EUR" in words
    assert "1 Book 10 C62 9.99 S 7 % 99.90 EUR" in words
    assert "S 7 % 99.90 EUR 6.99 EUR" in words
    assert "2026-03-12 credit note CN-2026-000001 21.38 EUR" in words
    assert "2026-03-10 issued INV-2026-000004, 106.89 EUR" in words
    assert "2026-03-12 credited 21.38 EUR by credit note CN-2026-000001" in words
    for href in ("pdf", "pdf?download=1", "einvoice/ubl", "einvoice/cii"):
        assert f'href="{BASE}/invoices/INV-2026-000004/{href}"' in page


def test_invoice_history_paid_and_disputed(quarter):
    words = text_of(_read(quarter, f"{BASE}/invoices/INV-2026-000001").text)
    assert "2026-01-05 issued INV-2026-000001, 148.75 EUR 2026-02-01 paid 148.75 EUR" in words
    words = text_of(_read(quarter, f"{BASE}/invoices/INV-2026-000003").text)
    assert "Buyer reference (PO) PO-4711" in words
    assert "2026-03-16 disputed case" in words and "price, 50.00 EUR" in words
    assert "Dispute cases" in words


def test_the_audit_trail_shows_only_with_audit_read(quarter):
    auditor = text_of(_read(quarter, f"{BASE}/invoices/INV-2026-000001", "auditor").text)
    assert "Audit trail" in auditor
    assert "invoice.issued" in auditor
    clerk = text_of(_read(quarter, f"{BASE}/invoices/INV-2026-000001", "clerk").text)
    assert "Audit trail" not in clerk and "invoice.issued" not in clerk
    alone = _read(quarter, f"{BASE}/invoices/INV-2026-000001/audit", "manager")
    assert "invoice.issued" in alone.text and "<html" in alone.text
    part = log_in(quarter, "auditor").get(
        f"{BASE}/invoices/INV-2026-000001/audit", headers={"HX-Request": "true"}
    )
    assert part.status_code == 200 and "<html" not in part.text and "invoice.issued" in part.text


def test_a_draft_has_no_pdf_yet(quarter):
    page = _read(quarter, f"{BASE}/invoices/7").text
    assert "Invoice draft 7" in text_of(page)
    assert "/pdf" not in page
    reply = log_in(quarter, "clerk").get(f"{BASE}/invoices/7/pdf")
    assert reply.status_code == 422
    assert "A draft has no PDF or e-invoice yet" in reply.text


def test_the_pdf_inline_and_as_download(quarter):
    inline = _read(quarter, f"{BASE}/invoices/INV-2026-000001/pdf")
    assert inline.headers["content-type"] == "application/pdf"
    assert inline.headers["content-disposition"] == 'inline; filename="INV-2026-000001.pdf"'
    import io

    text = PdfReader(io.BytesIO(inline.content)).pages[0].extract_text()
    assert "INV-2026-000001" in text and "148.75" in text
    saved = _read(quarter, f"{BASE}/invoices/INV-2026-000001/pdf?download=1")
    assert saved.headers["content-disposition"].startswith("attachment;")


def test_the_einvoices(quarter):
    ubl = _read(quarter, f"{BASE}/invoices/INV-2026-000001/einvoice/ubl")
    assert ubl.headers["content-type"].startswith("application/xml")
    assert 'filename="INV-2026-000001-ubl.xml"' in ubl.headers["content-disposition"]
    assert b"<cbc:ID>INV-2026-000001</cbc:ID>" in ubl.content
    assert b"148.75" in ubl.content
    cii = _read(quarter, f"{BASE}/invoices/INV-2026-000001/einvoice/cii")
    assert b"CrossIndustryInvoice" in cii.content
    nope = log_in(quarter, "clerk").get(f"{BASE}/invoices/INV-2026-000001/einvoice/pdf")
    assert nope.status_code == 422


def test_invoice_list_filters_and_pages(quarter):
    words = text_of(_read(quarter, f"{BASE}/invoices?status=overdue").text)
    assert "INV-2026-000002" in words and "INV-2026-000001" not in words
    words = text_of(_read(quarter, f"{BASE}/invoices?customer=C1&kind=invoice").text)
    assert [n for n in ("INV-2026-000001", "INV-2026-000002", "INV-2026-000003") if n in words] == [
        "INV-2026-000001",
        "INV-2026-000002",
    ]
    words = text_of(_read(quarter, f"{BASE}/invoices?date_from=2026-03-01&date_to=2026-03-20").text)
    assert "INV-2026-000002" not in words and "CN-2026-000001" in words
    drafts = text_of(_read(quarter, f"{BASE}/invoices?status=draft").text)
    assert drafts.startswith("Drafts") and "draft 7" in drafts
    bad = log_in(quarter, "clerk").get(f"{BASE}/invoices?status=lost")
    assert bad.status_code == 422 and "'lost' is not one of" in bad.text.replace("&#39;", "'")


def test_lists_page_with_cursors(quarter, monkeypatch):
    from openbill.interfaces.web import pages

    monkeypatch.setattr(pages, "LIST_PAGE_SIZE", 2)
    client = log_in(quarter, "clerk")
    first = client.get(f"{BASE}/invoices")
    assert "INV-2026-000001" in first.text and "INV-2026-000003" not in first.text
    link = re.search(r'href="([^"]+)" rel="next">Next page', first.text).group(1)
    second = client.get(link.replace("&amp;", "&"))
    assert "INV-2026-000003" in second.text and "INV-2026-000001" not in second.text
    assert "First page" in second.text


def test_payments_list(quarter):
    words = text_of(_read(quarter, f"{BASE}/payments?customer=C1").text)
    assert "1 2026-02-01 C1 INV-2026-000001 bank transfer 148.75 EUR 148.75 EUR 0.00 EUR" in words
    assert "2 2026-03-15 C1 bank transfer 50.00 EUR 50.00 EUR 0.00 EUR" in words
    words = text_of(_read(quarter, f"{BASE}/payments?date_from=2026-03-01").text)
    assert "148.75" not in words


def test_customers_list_filter(quarter):
    words = text_of(_read(quarter, f"{BASE}/customers?q=gmbh").text)
    assert "C1 Alpha GmbH" in words and "Beta SARL" not in words


def test_aging_page(quarter):
    words = text_of(_read(quarter, f"{BASE}/aging").text)
    assert "Receivables aging on 2026-03-20" in words
    assert "C1 Alpha GmbH 0.00 EUR 150.00 EUR 0.00 EUR 0.00 EUR 0.00 EUR 150.00 EUR" in words
    assert "Total 135.51 EUR 150.00 EUR 0.00 EUR 0.00 EUR 0.00 EUR 285.51 EUR" in words


def test_disputes_and_bank_lines(quarter):
    words = text_of(_read(quarter, f"{BASE}/disputes").text)
    assert "C2 Beta SARL INV-2026-000003 price open" in words and "50.00 EUR" in words
    assert "No cases." in text_of(_read(quarter, f"{BASE}/disputes?status=closed").text)
    words = text_of(_read(quarter, f"{BASE}/bank-lines").text)
    # No matching run has looked at the statement's two lines yet.
    assert "Waiting for review 0 lines" in words and "Not looked at yet 2 lines" in words
    assert "1 Main EUR, booked 2026-03-19 Beta SARL INV-2026-000003 50.00 EUR new" in words
    assert "bank fees -12.34 EUR new" in words


def test_the_administrator_sees_users_and_keys_not_billing(quarter):
    words = text_of(_read(quarter, "/desk/admin", "administrator").text)
    assert "clerk Clerk clerk ACME" in words
    assert "other Other Specialist specialist OTHER" in words
    assert "ACME reader" in words and "read" in words
    assert "Alpha GmbH" not in words and "Dashboard" not in words
    assert "obk_" in words  # the prefix only ...
    assert all(len(k) > 40 and k not in words for k in quarter.keys.values())  # never a key


def test_the_entity_switcher_for_a_user_of_two_entities(quarter):
    from openbill.usecases import access

    from .conftest import OTHER, PASSWORD

    book = quarter.book
    if "both" not in {u.username for u in access.list_users(book.uow(read_only=True))}:
        access.add_user(
            book.uow(),
            book.hasher,
            access.AddUser("both", "Both", "clerk", (ENTITY, OTHER), PASSWORD),
        )
    client = log_in(quarter, "both")
    page = client.get(BASE).text
    assert '<label for="entity-switch">Legal entity</label>' in page
    assert f'<option value="{OTHER}">{OTHER} · Other SA</option>' in page
    reply = client.get(f"/desk/switch?entity={OTHER}", follow_redirects=False)
    assert reply.headers["location"] == f"/desk/{OTHER}"
    assert client.get(f"/desk/{OTHER}").status_code == 200
    # A single-entity user gets no switcher.
    assert "entity-switch" not in log_in(quarter, "clerk").get(BASE).text


def test_keyboard_basics_in_the_layout(quarter):
    page = _read(quarter, BASE).text
    assert '<a class="skip" href="#main">Skip to content</a>' in page
    assert '<main id="main" tabindex="-1">' in page
    assert '<label for="q" class="visually-hidden">' in page and 'id="q" name="q"' in page
    # The queues in the navigation's menu, each with its count (the quarter: one draft, no
    # finding, INV-2 overdue, the case on INV-3, two bank lines).
    for path, label, key, count in (
        ("drafts", "Drafts", "drafts", 1),
        ("discrepancies", "Discrepancies", "discrepancies", 0),
        ("overdue", "Overdue invoices", "overdue", 1),
        ("disputes", "Dispute cases", "disputes", 1),
        ("bank-lines", "Bank lines to review", "bank_lines", 2),
    ):
        assert (
            f'<a href="{BASE}/{path}">{label} <span class="count" id="count-{key}">{count}</span>'
            in page
        ), path
    assert 'aria-current="page">Dashboard</a>' in page
    # Every input, select and textarea has a label.
    ids = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page)
    assert ids and all(f'for="{i}"' in page for i in ids)
    hidden = re.findall(r"<input(?![^>]*\bid=)([^>]*)>", page)
    assert all('type="hidden"' in h for h in hidden)
