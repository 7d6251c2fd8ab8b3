"""`openbill dunning`: policies, runs, promises to pay and holds."""

from __future__ import annotations

import typer

__all__ = ["dunning_app"]

dunning_app = typer.Typer(
    help="Collections: dunning policies, runs and holds.", no_args_is_help=True
)
