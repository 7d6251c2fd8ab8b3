"""The access tests' book: the shared test book with cheap argon2 parameters (a hash costs
milliseconds instead of a tenth of a second) and real TOTP codes."""

from __future__ import annotations

import pytest

from openbill.adapters.security import Argon2Hasher, TotpCodes
from openbill.bootstrap import Book

CHEAP = {"time_cost": 1, "memory_cost": 8192, "parallelism": 1}


@pytest.fixture
def desk(book: Book) -> Book:
    book.hasher = Argon2Hasher(**CHEAP)
    book.codes = TotpCodes()
    return book
