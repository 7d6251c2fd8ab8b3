"""The hand-written walk table of the bank routes: (method, path) -> the action each needs
(None: public). test_walk.py merges it into EXPECTED."""

from __future__ import annotations

EXPECTED: dict[tuple[str, str], str | None] = {}
