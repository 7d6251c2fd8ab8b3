"""The REST API (FastAPI): thin routes over the same use cases the command line calls."""

from openbill.interfaces.api.app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
