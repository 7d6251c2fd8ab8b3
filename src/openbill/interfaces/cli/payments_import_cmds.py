"""`openbill payments import FILE`: payments from CSV files with named column profiles."""

from __future__ import annotations

import typer

__all__ = ["payments_import"]


def payments_import(file: str) -> None:
    """Import payments from a CSV file (not built yet)."""
    raise typer.Exit(2)
