"""Tables of the e-mail outbox (issue #3), migration 0004."""

from __future__ import annotations

from openbill.adapters.sql.tables import metadata  # noqa: F401
