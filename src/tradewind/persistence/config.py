"""Configuration of the database."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DatabaseConfig(BaseModel):
    """SQLAlchemy database URL; SQLite in the run directory unless told otherwise."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = "sqlite:///user_data/tradewind.sqlite"
