"""Shared benchmark workloads: the real BTC-perp month, and a 1M-row series bootstrapped from it."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from tradewind.testing.shared_data import shared_data_dir

MONTH = "btc-perp-20211231-20220201_1m.csv"


@cache
def month() -> pd.DataFrame:
    """The real BTC-perp month (45,031 one-minute candles) with a UTC ``date`` column."""
    root = shared_data_dir()
    if root is None:
        raise RuntimeError("the recorded real data (tradewind/bundled/recorded) is missing")
    frame = pd.read_csv(root / "candles" / MONTH)
    frame["date"] = pd.to_datetime(frame.pop("timestamp"), utc=True)
    return frame


@cache
def bootstrapped(rows: int = 1_000_000, seed: int = 42, block: int = 60) -> pd.DataFrame:
    """A synthetic series for scale tests: blocks of the real month's demeaned log returns (of
    open, high, low and close relative to the previous close) drawn with a fixed seed, so prices
    stay in range and candles keep their real shapes."""
    real = month()
    close = real["close"].to_numpy()
    prev = np.concatenate([[real["open"].iloc[0]], close[:-1]])
    rel = np.log(real[["open", "high", "low", "close"]].to_numpy() / prev[:, None])
    rel[:, 3] -= rel[:, 3].mean()
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(real) - block, size=rows // block + 1)
    index = (starts[:, None] + np.arange(block)[None, :]).ravel()[:rows]
    steps = rel[index]
    closes = close[0] * np.exp(np.cumsum(steps[:, 3]))
    previous = np.concatenate([[close[0]], closes[:-1]])
    ohlc = previous[:, None] * np.exp(steps)
    ohlc[:, 3] = closes
    ohlc[:, 1] = np.maximum(ohlc[:, 1], ohlc.max(axis=1))
    ohlc[:, 2] = np.minimum(ohlc[:, 2], ohlc.min(axis=1))
    ohlc = np.round(ohlc * 2) / 2  # the month's half-dollar grid
    ohlc[:, 1] = ohlc.max(axis=1)
    ohlc[:, 2] = ohlc.min(axis=1)
    return pd.DataFrame(
        {
            "date": pd.date_range("2020-01-01", periods=rows, freq="1min", tz="UTC"),
            "open": ohlc[:, 0],
            "high": ohlc[:, 1],
            "low": ohlc[:, 2],
            "close": ohlc[:, 3],
            "volume": real["volume"].to_numpy()[index],
        }
    )
