"""`openbill serve` in its own process, as a user starts it: uvicorn on a free loopback port,
answering over real HTTP, with an API key made by `openbill apikeys create`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fixtures_book import ENTITY, build_book

from openbill.usecases import access

pytestmark = pytest.mark.slow
OPENBILL = str(Path(sys.executable).parent / "openbill")
START_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_over_http_and_says_where(db_url, tmp_path):
    book = build_book(db_url)
    key = access.create_api_key(
        book.uow(), access.CreateApiKey(ENTITY, "smoke", ("read",), "tests")
    ).token
    book.close()
    port = _free_port()
    env = {**os.environ, "OPENBILL_DATABASE_URL": db_url}
    proc = subprocess.Popen(
        [OPENBILL, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                health = httpx.get(f"{base}/v1/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "openbill serve did not start"
                time.sleep(0.2)
        assert health.json() == {"status": "ok"}
        auth = {"Authorization": f"Bearer {key}"}
        customers = httpx.get(f"{base}/v1/entities/{ENTITY}/customers", headers=auth, timeout=10)
        assert customers.status_code == 200
        assert [c["code"] for c in customers.json()["data"]][:2] == ["C1", "C2"]
        refused = httpx.get(f"{base}/v1/entities/{ENTITY}/customers", timeout=10)
        assert refused.status_code == 401
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
    assert f"on http://127.0.0.1:{port}/v1/docs" in stderr
    assert key not in stderr  # no token in the server's output
