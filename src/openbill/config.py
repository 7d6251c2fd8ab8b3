"""Settings from the environment (pydantic-settings). Nothing is read at import time."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "DEFAULT_DATABASE"]

DEFAULT_DATABASE = "./openbill.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPENBILL_")

    database_url: str = DEFAULT_DATABASE
    actor: str = ""
