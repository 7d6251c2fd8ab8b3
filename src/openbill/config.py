"""Settings from the environment (pydantic-settings). Nothing is read at import time."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "DEFAULT_DATABASE"]

DEFAULT_DATABASE = "./openbill.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPENBILL_")

    database_url: str = DEFAULT_DATABASE
    actor: str = ""
    # OPENBILL_DATA_KEYS: "ID:SECRET,ID:SECRET" - the first seals, all open (docs/security.md).
    # Unset for a local SQLite book: its key file beside it is used, made on first use.
    data_keys: SecretStr = SecretStr("")
