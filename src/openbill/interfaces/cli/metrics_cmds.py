"""`openbill ar metrics`: DSO, collection effectiveness, days to pay, late share."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(ar_app: typer.Typer) -> None:
    """Add the metrics commands to `openbill ar`."""
