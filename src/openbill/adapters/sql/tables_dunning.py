"""Tables of Dunning: policies, steps taken, promises to pay, holds (issue #4), migration 0009."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String, Table, Text  # noqa: F401

from openbill.adapters.sql.tables import ExactDecimal, Stamp, metadata  # noqa: F401

__all__: list[str] = []
