"""Exchange rates and cross-currency settlements (issue #4). It never commits."""

from __future__ import annotations

from openbill.adapters.sql.repositories import _Repo

__all__ = ["FxRepo"]


class FxRepo(_Repo):
    pass
