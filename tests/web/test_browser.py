"""The desk in a real browser: `openbill serve` as a process of its own on a free port of
127.0.0.1, on a book prepared for it (browser_book.py: SQLite here, PostgreSQL in that pass,
from `db_url`), driven by Playwright through Debian's Chromium (/usr/bin/chromium, launched
by its path: never a browser Playwright downloads).

A billing day: log in; prepare a draft from a delivery and issue it; see the blocked draft
refused with its reason; resolve the discrepancy once the customer is fixed; record a payment
from the overdue invoice; resolve the dispute by a credit note; confirm a bank match. Each step
is checked on the page and in the book afterwards. Another flow is done with the keyboard
alone (Tab, Enter, "/" for the search). Screenshots of the main pages are kept as test
artefacts in $OPENBILL_TEST_ARTEFACTS (default: test-artefacts/ in the checkout).

Without /usr/bin/chromium these tests are skipped, saying how to install it; in CI (CI=true)
they fail instead, as the PostgreSQL tests and the corpora do (tests/conftest.py).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_ROOT, Missing, in_ci
from fixtures_book import ENTITY, credit_of, open_of

from openbill.bootstrap import Book, open_book
from openbill.usecases import bank_matching as bm
from openbill.usecases import disputes as ds

from .browser_book import BLOCKED_DRAFT, Prepared, fix_c4, prepare
from .conftest import PASSWORD

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
# Launch flags for Chromium run as root in a container, with nothing talking to Google.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
ARTEFACTS_ENV = "OPENBILL_TEST_ARTEFACTS"
SERVER_START_S = 60  # at most, for `openbill serve` to answer /v1/health
SERVER_STOP_S = 10
PAGE_TIMEOUT_MS = 20_000  # one navigation or one element to appear
VIEWPORT = {"width": 1280, "height": 900}
BASE = f"/desk/{ENTITY}"


def missing_chromium() -> Missing | None:
    if CHROMIUM.exists():
        return None
    reason = (
        f"Chromium not found at {CHROMIUM}: install Debian's package (`apt install chromium`) "
        "to run the browser tests; Playwright's own browsers are never used"
    )
    return Missing(in_ci(), reason)


def artefacts_dir(backend: str) -> Path:
    root = Path(os.environ.get(ARTEFACTS_ENV) or REPO_ROOT / "test-artefacts")
    where = root / f"browser-{backend}"
    where.mkdir(parents=True, exist_ok=True)
    return where


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(url: str) -> Iterator[str]:
    """`openbill serve` on the book at `url`, as a process of its own; its address."""
    port = _free_port()
    command = [str(Path(sys.executable).with_name("openbill")), "serve"]
    # The book's URL in the environment, not on the command line (where `ps` shows it).
    env = {**os.environ, "OPENBILL_DATABASE_URL": url, "OPENBILL_SMTP_FROM": "ar@acme.example"}
    log = tempfile.TemporaryFile()
    server = subprocess.Popen(
        [*command, "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env
    )
    address = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                with urllib.request.urlopen(f"{address}/v1/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"openbill serve did not start:\n{log.read().decode()[-3000:]}")
            time.sleep(0.2)
        yield address
    finally:
        server.terminate()
        try:
            server.wait(SERVER_STOP_S)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@contextmanager
def chromium() -> Iterator[Any]:
    """A browser context of Debian's Chromium with a new, empty profile."""
    missing = missing_chromium()
    if missing:
        missing.act()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="openbill-chromium-") as profile:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                headless=True,
                args=list(CHROMIUM_ARGS),
                viewport=VIEWPORT,
                locale="en-GB",
                timezone_id="UTC",
            )
            context.set_default_timeout(PAGE_TIMEOUT_MS)
            try:
                yield context
            finally:
                context.close()


@pytest.fixture
def desk(db_url: str, database_backend: str) -> Iterator[tuple[Any, str, Prepared, Path]]:
    """(a browser page, the server's address, what the book holds, the artefacts folder)."""
    missing = missing_chromium()
    if missing:
        missing.act()
    prepared = prepare(db_url)
    with serving(db_url) as address, chromium() as context:
        page = context.pages[0] if context.pages else context.new_page()
        yield page, address, prepared, artefacts_dir(database_backend)


@contextmanager
def book_at(url: str) -> Iterator[Book]:
    book = open_book(url, actor="tests")
    try:
        yield book
    finally:
        book.close()


def _words(page: Any, selector: str = "main") -> str:
    return " ".join(page.inner_text(selector).split())


def _count(page: Any, queue: str) -> str:
    """A queue's count in the navigation (its menu may be closed)."""
    return (page.text_content(f"#count-{queue}") or "").strip()


def _shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _log_in(page: Any, address: str, user: str) -> None:
    page.goto(f"{address}/desk")
    assert page.url.endswith("/desk/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{address}{BASE}")


def test_a_billing_day_in_the_browser(desk: Any, db_url: str) -> None:
    page, address, book, shots = desk
    today = book.today.isoformat()
    _log_in(page, address, "specialist")
    # The dashboard and the navigation count the work waiting: the blocked draft, its
    # findings (no VAT number blocks; no address, no e-mail warn), C1's overdue invoice, the
    # case, the bank line.
    page.click("nav summary")
    nav = _words(page, "header nav")
    for text in (
        "Drafts 1",
        "Discrepancies 3",
        "Approvals 0",
        "Overdue invoices 1",
        "Dispute cases 1",
        "Bank lines to review 1",
    ):
        assert text in nav, nav
    _shot(page, shots, "01-dashboard")

    # Prepare a draft from the delivery and issue it, in place (htmx).
    page.click("nav >> text=Drafts")
    page.wait_for_url(f"{address}{BASE}/drafts")
    assert "D-1 shipment C3" in _words(page)
    page.get_by_role("button", name="Prepare drafts").click()
    page.wait_for_selector("#live .notice")
    assert "1 delivery looked at, 1 draft made" in _words(page, "#live")
    # D-1: 5 BOOK x 9.99 = 49.95 + 7 % 3.50 = 53.45 EUR, draft 5.
    assert f"draft 5 C3 Gamma KG {today} 53.45 EUR specialist" in _words(page, "#draft-5")
    _shot(page, shots, "02-drafts")
    page.locator("#draft-5").get_by_role("button", name="Issue").click()
    page.wait_for_selector("#draft-5.done")
    issued = _words(page, "#draft-5")
    # The three invoices of the book were 1 to 3: this is the fourth.
    number = f"INV-{book.today.year}-000004"
    assert f"Draft 5 issued as {number}: 53.45 EUR" in issued
    assert _count(page, "drafts") == "1"  # the navigation's count, out of band

    # The blocked draft is refused, with the reason in its row.
    page.locator(f"#draft-{BLOCKED_DRAFT}").get_by_role("button", name="Issue").click()
    page.wait_for_selector(f"#draft-{BLOCKED_DRAFT} .error")
    assert "has no VAT number" in _words(page, f"#draft-{BLOCKED_DRAFT} .error")

    # The customer's VAT number is entered elsewhere; the finding is resolved here.
    fix_c4(db_url)
    page.click("nav summary")
    page.click("nav >> text=Discrepancies")
    _shot(page, shots, "03-discrepancies")
    row = page.locator("tr", has_text="has no VAT number")
    row.get_by_role("button", name="Resolved: source fixed").click()
    page.wait_for_selector("tr.done >> text=resolved")
    assert _count(page, "discrepancies") == "2"

    # Record a payment from the overdue invoice: all of it to that invoice.
    page.click("nav summary")
    page.click("nav >> text=Overdue invoices")
    assert f"{book.overdue} C1 Alpha GmbH" in _words(page)
    _shot(page, shots, "04-overdue")
    page.click(f"a[href='{BASE}/invoices/{book.overdue}']")
    _shot(page, shots, "05-invoice")
    page.get_by_role("link", name="Record a payment").click()
    assert page.input_value("#p-amount") == "119.00"  # 8 x 12.50 + 19 %
    assert page.is_checked("#a-invoice")
    page.fill("#p-reference", book.overdue)
    page.get_by_role("button", name="Record the payment").click()
    page.wait_for_url(f"{address}{BASE}/invoices/{book.overdue}")
    assert f"119.00 EUR allocated to {book.overdue}" in _words(page, "#live")
    assert "paid" in _words(page, "h1")

    # Resolve the dispute by a credit note for 2 of the 10 books.
    page.click("nav summary")
    page.click("nav >> text=Dispute cases")
    _shot(page, shots, "06-disputes")
    page.get_by_role("link", name="DSP-000001").click()
    _shot(page, shots, "07-dispute-case")
    page.fill("#credit-1", "2")
    page.get_by_role("button", name="Resolve by credit note").click()
    page.wait_for_selector("#live .notice")
    # 2 x 9.99 = 19.98 + 7 % (1.3986 -> 1.40) = 21.38.
    credit = f"CN-{book.today.year}-000001"
    assert f"DSP-000001 resolved: credit note {credit} over 21.38 EUR" in _words(page, "#live")
    assert "Dispute case DSP-000001 resolved" in _words(page, "h1")

    # Confirm the bank line's best candidate: 60.00 pays C2's invoice (50.00), 10.00 credit.
    page.click("nav summary")
    page.click("nav >> text=Bank lines to review")
    line = page.locator("tr", has_text="part payment")
    assert f"{book.by_bank} 50.00 EUR, credit 10.00 EUR" in " ".join(line.inner_text().split())
    _shot(page, shots, "08-bank-lines")
    line.get_by_role("button", name="Confirm the match").click()
    page.wait_for_selector("tr.done >> text=matched")
    assert _count(page, "bank_lines") == "0"

    # The other main pages, for the record.
    for name, path in (
        ("09-approvals", "/approvals"),
        ("10-customer", "/customers/C1"),
        ("11-payments", "/payments"),
    ):
        page.goto(f"{address}{BASE}{path}")
        _shot(page, shots, name)
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{address}/desk/login?why=logged_out")

    # The book afterwards.
    with book_at(db_url) as after:
        assert open_of(after, number) == 5345
        assert open_of(after, book.overdue) == 0
        assert open_of(after, book.disputed) == 10689 - 2138  # 85.51
        assert open_of(after, book.by_bank) == 0
        assert credit_of(after, "C2") == 1000
        case = ds.show_case(after.uow(read_only=True), ENTITY, "DSP-000001").case
        assert (case["status"], case["resolution"]) == ("resolved", "credit_note")
        with after.uow(read_only=True) as uow:
            found = {r.field: r.status for r in uow.verification.findings(BLOCKED_DRAFT)}
            assert found["vat_id"] == "resolved"
            assert uow.documents.get(BLOCKED_DRAFT).status == "draft"
        assert bm.line_detail(after.uow(read_only=True), ENTITY, 1)["status"] == "matched"
        from openbill.usecases.verify import verify

        assert verify(after.uow(read_only=True)).violations == ()


def _tab_to(page: Any, selector: str, most: int = 60) -> None:
    """Press Tab until the element `selector` names has the focus (the keyboard's way)."""
    for _ in range(most):
        if page.evaluate("s => document.activeElement === document.querySelector(s)", selector):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"{selector} never got the focus with Tab")


def test_the_keyboard_alone(desk: Any, db_url: str) -> None:
    page, address, book, shots = desk
    page.goto(f"{address}/desk/login")
    _tab_to(page, "#username")
    page.keyboard.type("specialist")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{address}{BASE}")
    # The Queues menu opens with Enter; its links follow with Tab.
    _tab_to(page, "nav summary")
    page.keyboard.press("Enter")
    _tab_to(page, f"a[href='{BASE}/overdue']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{address}{BASE}/overdue")
    # "/" puts the cursor into the search box.
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type(book.overdue)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{address}{BASE}/search?q={book.overdue}")
    _shot(page, shots, "12-search")
    _tab_to(page, f"main a[href='{BASE}/invoices/{book.overdue}']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{address}{BASE}/invoices/{book.overdue}")
    _tab_to(page, f"a[href='{BASE}/payments/new?invoice={book.overdue}']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{address}{BASE}/payments/new?invoice={book.overdue}")
    # Pay 19.00 of it: the amount field, then the allocation stays "to this invoice".
    _tab_to(page, "#p-amount")
    page.keyboard.press("Control+A")
    page.keyboard.type("19.00")
    _tab_to(page, "form.stacked button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{address}{BASE}/invoices/{book.overdue}")
    assert f"19.00 EUR allocated to {book.overdue}" in _words(page, "#live")
    with book_at(db_url) as after:
        assert open_of(after, book.overdue) == 11900 - 1900
