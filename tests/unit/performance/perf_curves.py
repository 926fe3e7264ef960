"""Real candle series and the equity curves built from them for the performance tests.

Imported by the tests and by their conftest (a uniquely named module, so that it cannot clash
with another folder's helpers on ``sys.path``).

Two equity curves per shared candle file: buy-and-hold of the close, and a long/flat SMA(10/30)
cross that pays 0.1 % per position change, computed here with plain NumPy so the metrics are
checked on a curve with flat stretches, trades and fees, not only on a market's own returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ANNUALISED = (
    "annual_return",
    "annual_volatility",
    "sharpe_ratio",
    "sortino_ratio",
    "calmar_ratio",
)
PLAIN = (
    "max_drawdown",
    "value_at_risk",
    "conditional_value_at_risk",
    "tail_ratio",
    "stability_of_timeseries",
)


def same(ours: object, theirs: object) -> bool:
    """Equal to 1e-9 relative (1e-15 absolute near zero), or both the same non-finite value."""
    a, b = float(ours), float(theirs)  # type: ignore[arg-type]
    if math.isnan(b) or math.isinf(b):
        return math.isnan(a) if math.isnan(b) else a == b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15)


FEE = 0.001
FAST, SLOW = 10, 30


@dataclass(frozen=True)
class Candles:
    """Bar open times (int64 ms, UTC) and closes of one real candle file."""

    name: str
    ts: np.ndarray
    close: np.ndarray

    @property
    def bar_ms(self) -> int:
        return int(np.diff(self.ts).min())


def load_candles(path: Path) -> Candles:
    if path.suffix == ".csv":
        frame = pd.read_csv(path)
        times = pd.to_datetime(frame["timestamp"], utc=True)
    else:
        frame = pd.read_feather(path)
        times = frame["date"]
    ts = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[ms]")
    return Candles(path.name, ts.astype(np.int64), frame["close"].to_numpy(np.float64))


def _sma(values: np.ndarray, window: int) -> np.ndarray:
    out = np.full(values.size, np.nan)
    sums = np.cumsum(np.insert(values, 0, 0.0))
    out[window - 1 :] = (sums[window:] - sums[:-window]) / window
    return out


def sma_cross_position(close: np.ndarray) -> np.ndarray:
    """1 while SMA(10) > SMA(30) at a bar's close, else 0 (decided with closes up to that bar)."""
    fast, slow = _sma(close, FAST), _sma(close, SLOW)
    return np.where(np.isfinite(slow) & (fast > slow), 1.0, 0.0)


def sma_cross_equity(close: np.ndarray, cash: float = 10_000.0) -> np.ndarray:
    """Equity of holding the position decided at each close over the next bar, fees on changes.

    Bar t's return is ``pos[t-1] * (close[t] / close[t-1] - 1)`` minus ``FEE`` for each unit the
    position changed at close t-1: the position is known only after bar t-1 closes.
    """
    pos = sma_cross_position(close)
    market = close[1:] / close[:-1] - 1.0
    held = pos[:-1]
    changed = np.abs(np.diff(np.insert(held, 0, 0.0)))
    growth = (1.0 + held * market) * (1.0 - FEE * changed)
    return cash * np.concatenate(([1.0], np.cumprod(growth)))


def sma_cross_trades(candles: Candles, equity: np.ndarray) -> pd.DataFrame:
    """Closed trades of the SMA cross: entry at the open of the first held bar, exit at the
    open of the first bar after (a trade still open at the end is closed at the last bar)."""
    held = np.concatenate(([0.0], sma_cross_position(candles.close)[:-1]))
    edges = np.diff(np.concatenate(([0.0], held, [0.0])))
    starts = np.flatnonzero(edges > 0)
    stops = np.flatnonzero(edges < 0)
    open_at_end = stops == held.size
    stops[open_at_end] = held.size - 1
    # A trade still open at the end is marked to the last bar's close: its exit time is that
    # bar's close time, so the last bar counts as exposed.
    ts = candles.ts
    exit_ms = np.where(open_at_end, ts[-1] + candles.bar_ms, ts[stops])
    return pd.DataFrame(
        {
            "symbol": candles.name,
            "side": "long",
            "entry_time": pd.to_datetime(ts[starts], unit="ms", utc=True).as_unit("ms"),
            "exit_time": pd.to_datetime(exit_ms, unit="ms", utc=True).as_unit("ms"),
            "entry_price": candles.close[starts - 1],
            "exit_price": candles.close[stops],
            "quantity": 1.0,
            "fees": 0.0,
            "pnl": equity[stops] - equity[starts - 1],
        }
    )
