"""`openbill disputes`: cases on invoices, their resolution and the root-cause report."""

from __future__ import annotations

import typer

__all__ = ["disputes_app"]

disputes_app = typer.Typer(help="Disputes and inquiries on invoices.", no_args_is_help=True)
