"""Configuration of the market-data catalog."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict


class GapFill(StrEnum):
    """What a backtest does with missing candles: leave the gap, or fill flat zero-volume bars."""

    NONE = "none"
    FLAT = "flat"


class DataConfig(BaseModel):
    """Where market data is stored and how it is read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dir: Path = Path("user_data/data")
    """Root of the parquet catalog."""
    default_exchange: str = "binance"
    """Exchange name used when a command does not give one (and for imported files)."""
    gap_fill: GapFill = GapFill.NONE
    """Gap handling for backtests; nothing is changed in the store itself."""
