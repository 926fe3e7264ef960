"""Configuration of the database."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class DatabaseConfig(BaseModel):
    """Where bots keep their state.

    Each bot has a state folder ``<bots_dir>/<name>/`` holding its own SQLite database
    (``state.sqlite``), unless ``url`` names a shared database (PostgreSQL) that every bot writes
    its rows into. ``durability`` is SQLite's ``synchronous`` setting: ``normal`` survives a killed
    process, ``full`` also a power loss (one fsync per commit).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    bots_dir: str = "user_data/bots"
    url: str | None = None
    durability: Literal["normal", "full"] = "normal"
