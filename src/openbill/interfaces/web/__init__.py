"""The web pages of the billing desk (server-rendered, Jinja2 + htmx), served beside the API."""

from __future__ import annotations

from fastapi import FastAPI

from openbill.bootstrap import Book

__all__ = ["mount"]


def mount(app: FastAPI, book: Book) -> None:
    """Add the web pages to the application `openbill serve` runs."""
