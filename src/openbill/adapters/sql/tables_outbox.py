"""Tables of E-mail outbox (issue #3). Same metadata as tables.py; migration 0004."""

from __future__ import annotations

from openbill.adapters.sql.tables import metadata  # noqa: F401
