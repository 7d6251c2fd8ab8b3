"""Tables of contracts, purchase orders and deliveries (issue #3), migration 0003."""

from __future__ import annotations

from openbill.adapters.sql.tables import metadata  # noqa: F401
