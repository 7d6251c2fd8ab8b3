"""The `desk` fixture: the fixture book prepared for dunning (see desk.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from openbill.adapters.clock import FixedClock
from openbill.bootstrap import Book

from .desk import Desk, prepare


@pytest.fixture
def desk(book: Book, clock: FixedClock) -> Iterator[Desk]:
    prepare(book)
    yield Desk(book, clock)
