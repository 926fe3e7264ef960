"""Real bars for the ML tests: one recorded 5m file and the bundled BTC-PERP month."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradewind.core.timeframe import Timeframe
from tradewind.data.bundled import BUNDLED_SYMBOL, load_bundled
from tradewind.series.bars import BarSeries
from tradewind.testing.candles import load_candles


def bars_of(path: Path, symbol: str, timeframe: str) -> BarSeries:
    """A recorded candle file as a BarSeries."""
    c = load_candles(path)
    return BarSeries(
        symbol, Timeframe.parse(timeframe), c.timestamps.copy(), c.open.copy(), c.high.copy(),
        c.low.copy(), c.close.copy(), c.volume.copy(),
    )  # fmt: skip


@pytest.fixture(scope="session")
def eth_5m(shared_data: Path) -> BarSeries:
    """ETH/BTC 5-minute candles (recorded, see SOURCES.md)."""
    return bars_of(shared_data / "candles" / "ETH_BTC-5m.feather", "ETH/BTC", "5m")


@pytest.fixture(scope="session")
def btc_month() -> BarSeries:
    """The bundled BTC-PERP 1-minute month."""
    frame, _ = load_bundled()
    return BarSeries.from_frame(frame, BUNDLED_SYMBOL, Timeframe.parse("1m"))
