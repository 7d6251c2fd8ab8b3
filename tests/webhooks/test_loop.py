"""The delivery loop of `openbill serve --deliver-webhooks`: a run and an overdue scan, in a
background thread that stops when asked; and the option of `serve` that starts it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fixtures_book import ENTITY, build_book, invoice
from typer.testing import CliRunner

from openbill.adapters.clock import SystemClock
from openbill.adapters.webhook_sender import MemorySender
from openbill.interfaces.cli import webhooks_cmds
from openbill.interfaces.cli.main import app
from openbill.usecases import access
from openbill.usecases import webhooks as wh

from .conftest import add_endpoint, events

OPENBILL = str(Path(sys.executable).parent / "openbill")
WAIT_S = 90  # for the server to start and the loop to deliver, on a busy machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_one_run_scans_for_overdue_invoices_then_delivers(book):
    add_endpoint(book, "invoice.issued", "invoice.overdue")
    invoice(book, "C1", book.clock.today(), ("WIDGET", "1"))  # due in 30 days
    loop = webhooks_cmds.DeliveryLoop(book)
    sender = MemorySender()
    report = loop.run_once(sender)
    assert report.delivered == [1] and len(sender.sent) == 1
    book.clock.advance(days=31)
    report = loop.run_once(sender)  # the scan waits for its hour: no overdue event yet
    assert report.due == 0 and events(book, "invoice.overdue") == []
    loop._next_scan = 0.0  # the hour has passed
    report = loop.run_once(sender)
    assert report.delivered == [2] and [e.type for e in events(book)][-1] == "invoice.overdue"


def test_the_loop_runs_in_the_background_and_stops_when_asked(book, monkeypatch):
    add_endpoint(book, "invoice.issued")
    invoice(book, "C1", book.clock.today(), ("WIDGET", "1"))
    sent = threading.Event()

    class Signalling(MemorySender):
        def send(self, request):
            result = super().send(request)
            sent.set()
            return result

    monkeypatch.setattr(webhooks_cmds, "make_sender", Signalling)
    loop = webhooks_cmds.DeliveryLoop(book, interval_s=0.05)
    loop.start()
    try:
        assert sent.wait(60), "the loop sent nothing"
    finally:
        loop.stop()
    assert not loop._thread.is_alive()
    assert wh.list_deliveries(book.uow(read_only=True), ENTITY)[0].status == "delivered"


def test_a_run_asked_to_stop_leaves_the_rest_due(book):
    add_endpoint(book, "invoice.issued")
    for _ in range(3):
        invoice(book, "C1", book.clock.today(), ("WIDGET", "1"))
    sender = MemorySender()
    asked = iter([False, True])
    report = wh.deliver_due(book.uow, sender, stop=lambda: next(asked))
    assert (report.due, report.delivered) == (3, [1])
    assert wh.deliver_due(book.uow, sender).delivered == [2, 3]


def test_serve_offers_the_delivery_loop():
    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "--deliver-webhooks" in result.stdout


@pytest.mark.slow
def test_serve_with_the_loop_delivers_an_invoice_issued_through_the_api(db_url, receiver_for):
    """`openbill serve --deliver-webhooks` in its own process: an invoice created over HTTP
    reaches a real receiver, signed, without anyone running `webhooks deliver`."""
    book = build_book(db_url, SystemClock())
    receiver = receiver_for([], lambda: datetime.now(UTC), 200)
    made = add_endpoint(book, "invoice.issued", url=receiver.url)
    receiver.secrets.append(made.secret)
    key = access.create_api_key(
        book.uow(), access.CreateApiKey(ENTITY, "erp", ("invoices.issue",), "tests")
    ).token
    book.close()
    port = _free_port()
    env = {**os.environ, "OPENBILL_DATABASE_URL": db_url}
    proc = subprocess.Popen(
        [OPENBILL, "serve", "--port", str(port), "--deliver-webhooks"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "openbill serve did not start"
                time.sleep(0.2)
        made_invoice = httpx.post(
            f"{base}/entities/{ENTITY}/invoices",
            json={"customer": "C1", "lines": [{"charge_code": "WIDGET", "quantity": "1"}]},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert made_invoice.status_code == 201, made_invoice.text
        while not receiver.arrived:
            assert time.monotonic() < deadline, "no webhook arrived"
            time.sleep(0.2)
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=60)
    [got] = receiver.arrived
    assert got.verified, got.why
    assert got.headers["Openbill-Event"] == "invoice.issued"
    assert json.loads(got.body)["data"]["invoice"]["number"] == made_invoice.json()["number"]
    assert "delivering webhooks in the background" in stderr
    assert made.secret not in stderr
