"""Without Debian's Chromium the browser tests say how to install it: skipped on a developer's
machine, failed in CI (as the PostgreSQL tests and the corpora)."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import test_browser


@pytest.mark.parametrize("ci, fails", [("", False), ("true", True)])
def test_a_missing_chromium_is_skipped_or_fails_in_ci(monkeypatch, tmp_path, ci, fails):
    monkeypatch.setattr(test_browser, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("CI", ci)
    missing = test_browser.missing_chromium()
    assert missing is not None
    assert missing.fail is fails
    assert "apt install chromium" in missing.reason
    assert str(tmp_path / "no-chromium") in missing.reason


def test_a_present_chromium_is_not_missing(monkeypatch, tmp_path):
    binary = tmp_path / "chromium"
    binary.write_text("")
    monkeypatch.setattr(test_browser, "CHROMIUM", Path(binary))
    assert test_browser.missing_chromium() is None


def test_artefacts_go_where_the_environment_says(monkeypatch, tmp_path):
    monkeypatch.setenv(test_browser.ARTEFACTS_ENV, str(tmp_path))
    assert test_browser.artefacts_dir("sqlite") == tmp_path / "browser-sqlite"
    assert (tmp_path / "browser-sqlite").is_dir()
