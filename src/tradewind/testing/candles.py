"""Load a shared candle file (Freqtrade feather or NautilusTrader CSV) as plain NumPy arrays.

A small reader for tests and benchmarks that need real OHLCV arrays without the data layer: it
knows exactly the two layouts of the recorded data's ``candles/`` and ``futures/`` folders
(:mod:`tradewind.data.recorded`; see its ``SOURCES.md``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from tradewind.core.errors import DataError


class Candles(NamedTuple):
    """OHLCV columns of one candle file; ``timestamps`` are bar open times in ms (UTC)."""

    timestamps: npt.NDArray[np.int64]
    open: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]
    volume: npt.NDArray[np.float64]

    @property
    def size(self) -> int:
        """The number of bars (``len()`` stays the tuple's field count)."""
        return int(self.timestamps.shape[0])

    def head(self, n: int) -> Candles:
        """The first ``n`` bars (for truncation tests)."""
        return Candles(
            self.timestamps[:n],
            self.open[:n],
            self.high[:n],
            self.low[:n],
            self.close[:n],
            self.volume[:n],
        )


@lru_cache(maxsize=32)
def load_candles(path: Path) -> Candles:
    """Read a ``.feather`` (column ``date``) or ``.csv`` (column ``timestamp``) candle file.

    Cached per path, so a test suite reads each file once; the arrays must not be modified.
    """
    if path.suffix == ".feather":
        frame = pd.read_feather(path)
        stamps = frame["date"]
    elif path.suffix == ".csv":
        frame = pd.read_csv(path)
        stamps = pd.to_datetime(frame["timestamp"], utc=True)
    else:
        raise DataError(f"unknown candle file type {path.suffix!r}: {path}")
    ts = stamps.dt.tz_convert("UTC") if stamps.dt.tz is not None else stamps.dt.tz_localize("UTC")
    millis = ts.astype("datetime64[ms, UTC]").astype("int64").to_numpy()
    cols = [frame[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close", "volume")]
    for arr in (millis, *cols):
        arr.setflags(write=False)
    return Candles(millis, *cols)
