"""The market-state port: the array implementation (backtests) and the rolling buffers (live)
agree at every bar of every recorded candle file (prices exactly, floats to 1e-12 relative), and
the rolling one keeps its memory flat however many bars it is fed."""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tradewind.core.errors import UserError
from tradewind.core.timeframe import Timeframe
from tradewind.market_state import DAY_MS, ArrayMarketState, RollingMarketState
from tradewind.series.bars import BarSeries
from tradewind.testing.candles import Candles, load_candles
from tradewind.testing.shared_data import candle_files

FILES = candle_files()
WINDOW = 30
"""The return and correlation window asked for (bars)."""


def _series(symbol: str, candles: Candles) -> BarSeries:
    step = int(np.median(np.diff(candles.timestamps)))
    return BarSeries(
        symbol, Timeframe(step), candles.timestamps, candles.open, candles.high, candles.low,
        candles.close, candles.volume,
    )  # fmt: skip


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))


def _same_array(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= 1e-12 * np.abs(a)))


class _Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def _walk(symbols: dict[str, BarSeries]) -> int:
    """Feed the bars of ``symbols`` (aligned: same timestamps) to a rolling state, bar by bar, and
    compare every answer with the array state's at that bar's close; return the bars compared."""
    first = next(iter(symbols.values()))
    clock = _Clock()
    arrays = ArrayMarketState(symbols, clock)
    rolling = RollingMarketState(symbols, first.timeframe.ms, lookback=WINDOW + 1)
    names = list(symbols)
    for i in range(len(first)):
        clock.now = now = int(first.close_time[i])
        for name, s in symbols.items():
            rolling.on_bar(name, now, float(s.high[i]), float(s.low[i]), float(s.close[i]),
                           float(s.volume[i]))  # fmt: skip
        for name in names:
            where = f"{name} bar {i}"
            assert rolling.last_price(name) == arrays.last_price(name), where
            assert rolling.last_close_time(name) == arrays.last_close_time(name) == now, where
            assert rolling.staleness(name, now + 5) == arrays.staleness(name, now + 5) == 5
            assert _close(rolling.atr(name), arrays.atr(name)), where
            assert _close(rolling.volatility(name), arrays.volatility(name)), where
            assert _same_array(rolling.returns(name, WINDOW), arrays.returns(name, WINDOW)), where
            assert np.array_equal(rolling.closes(name, 5), arrays.closes(name, 5)), where
            rolled = rolling.quote_volume(name, DAY_MS, now)
            assert _close(rolled, arrays.quote_volume(name, DAY_MS, now)), where
        if len(names) > 1:
            a, b = names[0], names[1]
            got, want = rolling.correlation(a, b, WINDOW), arrays.correlation(a, b, WINDOW)
            assert got is want or (got is not None and want is not None and math.isclose(
                got, want, rel_tol=1e-12, abs_tol=1e-12)), f"correlation at bar {i}"  # fmt: skip
    return len(first)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_arrays_and_rolling_buffers_agree_at_every_bar(path: Path) -> None:
    compared = _walk({"X": _series("X", load_candles(path))})
    assert compared == load_candles(path).size
    assert compared >= 100


def test_correlation_agrees_on_two_real_markets() -> None:
    # Two recorded 5-minute markets over the times both have.
    a, b = (
        load_candles(p) for p in FILES if p.name in ("ETH_BTC-5m.feather", "LTC_BTC-5m.feather")
    )
    common = np.intersect1d(a.timestamps, b.timestamps)
    assert len(common) > 1000
    pick_a = np.isin(a.timestamps, common)
    pick_b = np.isin(b.timestamps, common)
    series = {
        "ETH/BTC": _series("ETH/BTC", Candles(*(np.ascontiguousarray(c[pick_a]) for c in a))),
        "LTC/BTC": _series("LTC/BTC", Candles(*(np.ascontiguousarray(c[pick_b]) for c in b))),
    }
    assert _walk(series) == len(common)


def test_the_rolling_buffers_keep_their_memory_flat() -> None:
    # Synthetic (a scale test, fixed seed): a random walk of one million one-minute bars, made as
    # it is fed, so that nothing but the state under test holds memory.
    rng = random.Random(7)
    state = RollingMarketState(["S"], 60_000, lookback=WINDOW + 1)
    assert state.capacity == 1441  # the bars of 24 hours (the quote-volume window)
    buffers = [id(ring._data) for ring in _rings(state)]
    close, blocks = 100.0, []
    for i in range(1_000_000):
        close *= math.exp(rng.gauss(0.0, 0.001))
        spread = abs(rng.gauss(0.0, 0.002)) * close
        state.on_bar("S", (i + 1) * 60_000, close + spread, close - spread, close, 1.0 + i % 97)
        if i in (100_000, 999_999):
            blocks.append(sys.getallocatedblocks())
    # The interpreter holds as many memory blocks after a million bars as after 100,000, and the
    # buffers are the arrays made at the start (never grown or replaced).
    assert blocks[1] - blocks[0] < 200
    assert [id(ring._data) for ring in _rings(state)] == buffers
    assert state.returns("S", WINDOW) is not None
    with pytest.raises(UserError, match="keeps 1441"):
        state.returns("S", 2_000)


def _rings(state: RollingMarketState) -> list[Any]:
    series = state._series["S"]
    return [series.close, series.close_time, series.quote_volume]


def test_a_rolling_state_refuses_a_window_it_does_not_keep() -> None:
    state = RollingMarketState(["S"], 3_600_000, lookback=10)
    assert state.capacity == 25  # 24 hourly bars and one
    for i in range(100):
        state.on_bar("S", (i + 1) * 3_600_000, 2.0, 1.0, 1.5, 10.0)
    assert state.quote_volume("S", DAY_MS, 100 * 3_600_000) == pytest.approx(24 * 15.0)
    with pytest.raises(UserError, match="reaches past"):
        state.quote_volume("S", 2 * DAY_MS, 100 * 3_600_000)
    with pytest.raises(UserError, match="positive"):
        RollingMarketState(["S"], 0, lookback=10)
