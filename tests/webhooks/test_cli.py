"""`openbill webhooks ...` end to end against a real receiver on loopback, through the
application main.py builds (so the registration is tested too)."""

from __future__ import annotations

import json

import pytest
from fixtures_book import ENTITY, invoice
from typer.testing import CliRunner

from openbill.adapters.webhook_sender import HttpxSender
from openbill.interfaces.cli import webhooks_cmds
from openbill.interfaces.cli.main import app


@pytest.fixture
def run(book, monkeypatch):
    """Run a command on the test book with its fixed clock (the CLI opens the book itself, so
    the clock is passed through `book_of`)."""
    from openbill.interfaces.cli import _common

    real = _common.open_book
    monkeypatch.setattr(
        _common, "open_book", lambda path=None, clock=None, **kw: real(path, clock=book.clock, **kw)
    )
    monkeypatch.setattr(webhooks_cmds, "make_sender", lambda: HttpxSender(timeout_s=2))
    runner = CliRunner()
    env = {"OPENBILL_ENTITY": ENTITY, "COLUMNS": "200"}

    def invoke(*args: str, code: int = 0) -> tuple[str, str]:
        result = runner.invoke(app, [*args, "--db", book.url], env=env)
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result.stdout, result.stderr

    return invoke


def test_add_prints_the_secret_alone_then_never_again(book, run, receiver_for):
    receiver = receiver_for([], book.clock.now, 200)
    stdout, stderr = run(
        "webhooks",
        "add",
        receiver.url,
        "--event",
        "invoice.issued",
        "--event",
        "payment.received",
        "--description",
        "ERP",
    )
    secret = stdout.strip()
    assert secret.startswith("whsec_") and "\n" not in secret
    assert "added webhook endpoint 1 for ACME" in stderr and "keep the secret now" in stderr
    receiver.secrets.append(secret)
    listed, _ = run("webhooks", "list", "--json")
    [row] = json.loads(listed)
    assert (row["id"], row["url"], row["events"], row["enabled"]) == (
        1,
        receiver.url,
        "invoice.issued payment.received",
        "yes",
    )
    shown, _ = run("webhooks", "show", "1")
    assert secret not in listed + shown
    assert "invoice.issued payment.received" in shown

    number = invoice(book, "C1", book.clock.today(), ("WIDGET", "1")).number
    said, _ = run("webhooks", "deliver")
    assert "0 invoice.overdue event(s) written" in said
    assert "1 delivered, 0 to retry, 0 failed" in said
    [got] = receiver.arrived
    assert got.verified and number.encode() in got.body

    deliveries, _ = run("webhooks", "deliveries", "--json")
    [d] = json.loads(deliveries)
    assert (d["event"], d["subject"], d["status"], d["code"]) == (
        "invoice.issued",
        number,
        "delivered",
        200,
    )
    attempts, _ = run("webhooks", "deliveries", str(d["id"]), "--json")
    assert [(a["attempt"], a["code"], a["outcome"]) for a in json.loads(attempts)] == [
        (1, 200, "delivered")
    ]
    body, _ = run("webhooks", "deliveries", str(d["id"]), "--payload")
    assert json.loads(body)["id"] == d["event_id"]


def test_test_disable_enable_rotate_and_retry(book, run, receiver_for):
    receiver = receiver_for([], book.clock.now, 503)
    secret, _ = run("webhooks", "add", receiver.url, "--event", "all")
    receiver.secrets.append(secret.strip())

    _, err = run("webhooks", "test", "1", code=1)
    assert "ping" in err and "failed (HTTP 503" in err
    receiver.answers = [200]
    said, _ = run("webhooks", "test", "1")
    assert "delivered (HTTP 200" in said

    said, _ = run("webhooks", "disable", "1", "--reason", "receiver moves")
    assert "disabled (receiver moves)" in said
    _, err = run("webhooks", "test", "1", code=1)
    assert "is disabled (receiver moves); enable it" in err
    said, _ = run("webhooks", "enable", "1")
    assert said.strip().endswith(": enabled")

    new, err = run("webhooks", "rotate-secret", "1", "--overlap-hours", "2")
    assert new.strip().startswith("whsec_") and new.strip() != secret.strip()
    assert "old secret too until 2026-01-01T11:00:00+00:00" in err

    receiver.answers = [500]
    invoice(book, "C1", book.clock.today(), ("WIDGET", "1"))
    said, _ = run("webhooks", "deliver")
    assert "0 delivered, 1 to retry" in said
    _, err = run("webhooks", "retry", "3", code=1)  # deliveries 1, 2 were the pings
    assert "only failed deliveries are retried" in err
    said, _ = run("webhooks", "retry", "--failed")
    assert "1 delivery due again (1)" in said  # the first ping, which failed
    _, err = run("webhooks", "retry", code=2)
    assert "name the deliveries" in err


def test_refusals_are_one_line_and_change_nothing(book, run):
    _, err = run("webhooks", "add", "http://hooks.example/in", "--event", "all", code=1)
    assert err.strip() == (
        "error: webhook endpoint field url: use https; plain http is only allowed to this "
        "machine (127.0.0.1, for tests)"
    )
    _, err = run("webhooks", "add", "https://hooks.example/in", "--event", "invoice.void", code=1)
    assert "'invoice.void' is not an event" in err
    _, err = run("webhooks", "show", "7", code=1)
    assert "ACME has no webhook endpoint 7" in err
    listed, _ = run("webhooks", "list")
    assert "nothing to show" in listed


def test_change_replaces_the_events_and_the_url(book, run):
    run("webhooks", "add", "https://hooks.example/in", "--event", "all")
    said, _ = run(
        "webhooks", "change", "1", "--url", "https://hooks.example/v2", "--event", "invoice.paid"
    )
    assert said.strip() == "webhook endpoint 1: https://hooks.example/v2 (invoice.paid)"
    [row] = json.loads(run("webhooks", "list", "--json")[0])
    assert (row["url"], row["events"]) == ("https://hooks.example/v2", "invoice.paid")
    _, err = run("webhooks", "change", "1", code=2)
    assert "say what changes" in err
