"""Candlestick patterns against TA-Lib, and swing/chart detection, on 1,000,000 synthetic bars.

The bars are a fixed-seed geometric random walk: each candle opens at the previous close (as
crypto candles mostly do, which exercises TA-Lib's +-80 "touching" branches), with random
shadows. Every candlestick function must equal TA-Lib bar for bar on these bars before it is
timed. Chart detection has no peer; its row checks that every detection is reported no earlier
than its last swing's confirmation.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import talib

from benchmarks.common import Row, best_time
from tradewind.indicators.patterns import (
    TALIB_TWINS,
    ChartParams,
    cdltweezer,
    chart_patterns,
    swing_points,
)

Prices = npt.NDArray[np.float64]


def synthetic_ohlc(n: int, seed: int = 20240601) -> tuple[Prices, Prices, Prices, Prices]:
    """A fixed-seed random walk of ``n`` candles (scale test data, not market data)."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.002, n)))
    open_ = np.empty(n)
    open_[0] = 100.0
    open_[1:] = close[:-1]
    # One candle in five gaps away from the previous close, so gap patterns occur too.
    gapped = rng.random(n) < 0.2
    open_[gapped] *= np.exp(rng.normal(0.0, 0.001, int(gapped.sum())))
    top = np.maximum(open_, close)
    bottom = np.minimum(open_, close)
    high = top * np.exp(np.abs(rng.normal(0.0, 0.001, n)) * (rng.random(n) < 0.85))
    low = bottom * np.exp(-np.abs(rng.normal(0.0, 0.001, n)) * (rng.random(n) < 0.85))
    return open_, high, low, close


def run(quick: bool) -> list[Row]:
    """Time every candlestick function next to TA-Lib, then swing and chart detection."""
    n = 100_000 if quick else 1_000_000
    o, h, l, c = synthetic_ohlc(n)  # noqa: E741
    rows: list[Row] = []
    for name, ours in TALIB_TWINS.items():
        peer = getattr(talib, name)
        expected = peer(o, h, l, c)
        got = ours(o, h, l, c)
        differ = np.flatnonzero(got != expected)
        if differ.size:
            raise AssertionError(
                f"{name} differs from TA-Lib at {differ.size} bars, e.g. {differ[:5]}"
            )
        rows.append(
            Row(
                group="patterns",
                name=f"{name.lower()} ({n:,} rows)",
                ours=best_time(lambda f=ours: f(o, h, l, c)),
                peer_name="TA-Lib",
                peer=best_time(lambda f=peer: f(o, h, l, c)),
                target=">= 0.67x",
                note=f"{np.count_nonzero(expected)} hits, identical",
            )
        )
    marks = cdltweezer(o, h, l, c)
    if not (np.count_nonzero(marks == 100) and np.count_nonzero(marks == -100)):
        raise AssertionError("cdltweezer found no tops or no bottoms in the random walk")
    rows.append(
        Row(
            group="patterns",
            name=f"cdltweezer ({n:,} rows)",
            ours=best_time(lambda: cdltweezer(o, h, l, c)),
            note="no TA-Lib twin",
        )
    )
    params = ChartParams()
    pivots = swing_points(h, l, params.swing)
    if not pivots or any(p.confirmed_at != p.index + params.swing.right for p in pivots):
        raise AssertionError("swing points not reported at their confirmation bar")
    rows.append(
        Row(
            group="patterns",
            name=f"swing_points ({n:,} rows)",
            ours=best_time(lambda: swing_points(h, l, params.swing), repeat=3),
            note=f"{len(pivots)} swings",
        )
    )
    found = chart_patterns(h, l, c, params)
    if not found or any(d.confirmed_at < d.pivot_indexes[-1] + params.swing.right for d in found):
        raise AssertionError("chart pattern reported before its last swing was confirmed")
    rows.append(
        Row(
            group="patterns",
            name=f"chart_patterns, all detectors ({n:,} rows)",
            ours=best_time(lambda: chart_patterns(h, l, c, params), repeat=2, min_time=0.0),
            note=f"{len(found)} detections",
        )
    )
    return rows
