"""Helpers for the pattern tests: real candle files as arrays, and hand-drawn price paths."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from tradewind.testing.shared_data import candle_files

Prices = npt.NDArray[np.float64]
OHLC = tuple[Prices, Prices, Prices, Prices]

CANDLE_FILES = candle_files()


@cache
def load_ohlc(path: Path) -> OHLC:
    """The open, high, low and close columns of a shared candle file, as float64 arrays."""
    frame = pd.read_csv(path) if path.suffix == ".csv" else pd.read_feather(path)
    o, h, l, c = (  # noqa: E741
        np.ascontiguousarray(frame[name].to_numpy(dtype=np.float64))
        for name in ("open", "high", "low", "close")
    )
    return o, h, l, c


def drawn_path(waypoints: list[tuple[int, float]]) -> tuple[Prices, Prices, Prices]:
    """Join ``(bar, price)`` waypoints with straight lines; return (high, low, close).

    Candles have zero range (high = low = close), so the swing points are exactly the turning
    waypoints and every expected price can be worked out by hand.
    """
    bars = np.arange(waypoints[-1][0] + 1, dtype=np.float64)
    xs = [float(b) for b, _ in waypoints]
    ys = [p for _, p in waypoints]
    close = np.interp(bars, xs, ys)
    return close.copy(), close.copy(), close


def mirrored(waypoints: list[tuple[int, float]], axis: float = 200.0) -> list[tuple[int, float]]:
    """The same path upside down (``axis - price``): tops become bottoms."""
    return [(b, axis - p) for b, p in waypoints]
