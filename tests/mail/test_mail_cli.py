"""`openbill invoices send` and `openbill outbox ...` end to end, against a real SMTP server on
loopback. main.py registers these commands; here a small app registers them the same way, so
the tests do not depend on that registration."""

from __future__ import annotations

import json
import os

import pytest
import typer
from fixtures_book import ENTITY, invoice
from typer.testing import CliRunner

from openbill.interfaces.cli import mail_cmds
from openbill.interfaces.cli.mail_cmds import invoices_send, outbox_app

from .conftest import EMAILS, SENDER, SMTP_PASSWORD, FakeRenderer, parts


def _app() -> typer.Typer:
    app = typer.Typer()
    invoices = typer.Typer()
    invoices.command("send")(invoices_send)
    app.add_typer(invoices, name="invoices")
    app.add_typer(outbox_app, name="outbox")
    return app


@pytest.fixture
def run(mail_book, smtp, monkeypatch):
    renderer = FakeRenderer()
    monkeypatch.setattr(mail_cmds, "make_renderer", lambda book: renderer)
    env = {
        "OPENBILL_SMTP_HOST": "127.0.0.1",
        "OPENBILL_SMTP_PORT": str(smtp.port),
        "OPENBILL_SMTP_FROM": SENDER,
        "OPENBILL_SMTP_HELO": "openbill.test",
        "OPENBILL_SMTP_PASSWORD": SMTP_PASSWORD,  # unused by this server; must never show
        "OPENBILL_ENTITY": ENTITY,
        "COLUMNS": "200",
    }
    for key in [k for k in os.environ if k.startswith("OPENBILL_SMTP_")]:
        monkeypatch.delenv(key)
    runner = CliRunner()
    app = _app()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, [*args, "--db", mail_book.url], env=env)
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        assert SMTP_PASSWORD not in result.stdout + result.stderr
        return result.stdout if code == 0 else result.stderr

    return invoke


def test_send_now_delivers_once_and_lists_it(mail_book, smtp, run):
    number = invoice(mail_book, "C1", mail_book.clock.today(), ("WIDGET", "1")).number

    said = run("invoices", "send", number, "--deliver-now")
    assert f"queued {number} for {EMAILS['C1']}" in said
    assert "1 sent, 0 to retry, 0 failed, 0 unknown" in said
    again = run("invoices", "send", number, "--deliver-now")
    assert "was queued before" in again and "(sent)" in again
    assert "0 sent" in again

    [got] = smtp.handler.arrived
    assert got.rcpt_tos == [EMAILS["C1"]] and number in got.message["Subject"]
    assert set(parts(got.message)) == {f"{number}.pdf"}

    [row] = json.loads(run("outbox", "list", "--json"))
    assert (row["document"], row["status"], row["attempts"]) == (number, "sent", 1)
    [attempt] = json.loads(run("outbox", "attempts", str(row["id"]), "--json"))
    assert (attempt["outcome"], attempt["code"]) == ("sent", 250)
    assert "only failed or unknown" in run("outbox", "retry", str(row["id"]), code=1)


def test_queue_then_deliver_with_xml_preference(mail_book, smtp, run):
    said = run("outbox", "prefs", "C3", "--xml", "cii", "--to", "ap@gamma.example")
    assert "ap@gamma.example" in said and "cii" in said
    [pref] = [p for p in json.loads(run("outbox", "prefs", "--json")) if p["customer"] == "C3"]
    assert pref == {"customer": "C3", "to": "ap@gamma.example", "attach_xml": "cii"}

    number = invoice(mail_book, "C3", mail_book.clock.today(), ("BOOK", "2")).number
    run("invoices", "send", number)
    assert smtp.handler.arrived == []
    assert "1 sent" in run("outbox", "deliver")
    [got] = smtp.handler.arrived
    assert got.rcpt_tos == ["ap@gamma.example"]
    assert set(parts(got.message)) == {f"{number}.pdf", f"{number}-cii.xml"}


def test_a_customer_without_address_is_a_clear_error(mail_book, run):
    number = invoice(mail_book, "C2", mail_book.clock.today(), ("WIDGET", "1")).number
    assert "has no e-mail address" in run("invoices", "send", number, code=1)
    assert "no issued document" in run("invoices", "send", "INV-1999-000009", code=1)
