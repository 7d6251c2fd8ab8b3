"""The `q1` book: the fixture book with the first quarter of 2026 of scenario.py."""

from __future__ import annotations

import pytest

from .scenario import build_q1


@pytest.fixture
def q1(book):
    return build_q1(book)
