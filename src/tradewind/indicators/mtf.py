"""Multi-timeframe analysis: resample base candles and align higher-timeframe values without lookahead.

Timing rule (DESIGN.md, "Time"): a bar's timestamp is its open time and the bar is known only at
open + timeframe. A base bar opened at ``t`` with timeframe ``b`` is known at ``t + b``; a
higher-timeframe (HTF) bar opened at ``T`` with timeframe ``H`` closes at ``T + H``. So the base
bar at ``t`` may use HTF bar ``T`` only if ``t + b >= T + H``. Example with 1m base bars and 1h HTF
bars: the 10:00 hourly bar closes at 11:00, which is when the 10:59 minute bar closes, so the 10:59
bar is the first to see it; the 10:58 bar still sees the 09:00 hourly bar.

Resampling rules
----------------
* An HTF bar is built from the base bars whose open time falls in its period: first open, highest
  high, lowest low, last close, summed volume. Periods are aligned to the epoch (days at 00:00
  UTC), weeks to Monday 00:00 UTC.
* **Gaps.** Missing base bars inside a period are treated as no trading: the HTF bar is built from
  the bars present (its ``bar_count`` says how many). A period with no base bars at all produces no
  HTF bar, as exchange candle histories do; an indicator on the HTF series simply skips it.
* **Incomplete last bar.** The last HTF bar is *closed* only if the data reaches its close time
  (the last base bar's close ``t + b >= T + H``). Otherwise ``closed`` is False for it, it is not
  passed to indicators by :func:`on_higher_timeframe`, and no base bar is aligned to it. Every
  earlier HTF bar is closed, because a later base bar exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import DataError, UserError
from tradewind.core.timeframe import Timeframe
from tradewind.indicators import _checks
from tradewind.indicators._checks import FloatArray, IntArray

__all__ = ["HtfBars", "align_to_base", "on_higher_timeframe", "resample_ohlcv"]


class HtfBars(NamedTuple):
    """Higher-timeframe candles built from base candles (one row per HTF period with data)."""

    timestamps: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    bar_count: IntArray
    closed: npt.NDArray[np.bool_]
    timeframe: Timeframe

    def closed_only(self) -> HtfBars:
        """Return the bars that had closed by the end of the data (drops an incomplete last bar)."""
        keep = self.closed
        return HtfBars(
            self.timestamps[keep],
            self.open[keep],
            self.high[keep],
            self.low[keep],
            self.close[keep],
            self.volume[keep],
            self.bar_count[keep],
            self.closed[keep],
            self.timeframe,
        )


def _frames(base: str | Timeframe, target: str | Timeframe) -> tuple[Timeframe, Timeframe]:
    b = _checks.timeframe("base", base)
    h = _checks.timeframe("target", target)
    if h.ms <= b.ms or not b.divides(h):
        raise UserError(
            f"target timeframe {h} must be a whole multiple of, and longer than, "
            f"the base timeframe {b}"
        )
    return b, h


def resample_ohlcv(
    timestamps: npt.ArrayLike,
    open_: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    base: str | Timeframe,
    target: str | Timeframe,
) -> HtfBars:
    """Resample base OHLCV candles into higher-timeframe candles.

    Parameters
    ----------
    timestamps : array_like
        Base bar open times (ms since the epoch or datetime64), strictly increasing and on the
        base timeframe's grid.
    open_, high, low, close, volume : array_like
        Equal-length, finite 1-D base series.
    base, target : str or Timeframe
        Base and higher timeframe (``target`` a whole multiple of ``base``), e.g. "1m" and "1h".

    Returns
    -------
    HtfBars
        One row per HTF period that has at least one base bar; ``closed`` marks the bars complete
        by the end of the data (see the module docstring for gaps and the last bar).
    """
    o, h, lo, c, v = _checks.float_arrays(
        open=open_, high=high, low=low, close=close, volume=volume
    )
    ts = _checks.timestamps_ms("timestamps", timestamps, length=o.shape[0])
    b, htf = _frames(base, target)
    if o.shape[0] == 0:
        raise UserError("cannot resample an empty series")
    off_grid = np.flatnonzero(_checks.session_starts(ts, b) != ts)
    if off_grid.size:
        raise DataError(
            f"timestamp {int(ts[off_grid[0]])} at position {off_grid[0]} is not on the {b} grid: "
            "base bars must open on their timeframe's boundaries"
        )
    starts = _checks.session_starts(ts, htf)
    change = np.empty(ts.shape[0], dtype=bool)
    change[0] = True
    change[1:] = starts[1:] != starts[:-1]
    firsts = np.flatnonzero(change)
    lasts = np.append(firsts[1:] - 1, ts.shape[0] - 1)
    closed = np.ones(firsts.shape[0], dtype=bool)
    closed[-1] = ts[-1] + b.ms >= starts[-1] + htf.ms
    return HtfBars(
        timestamps=starts[firsts],
        open=o[firsts],
        high=np.maximum.reduceat(h, firsts),
        low=np.minimum.reduceat(lo, firsts),
        close=c[lasts],
        volume=np.add.reduceat(v, firsts),
        bar_count=(lasts - firsts + 1).astype(np.int64),
        closed=closed,
        timeframe=htf,
    )


def align_to_base(
    htf_values: npt.ArrayLike,
    htf_timestamps: npt.ArrayLike,
    target: str | Timeframe,
    base_timestamps: npt.ArrayLike,
    base: str | Timeframe,
) -> FloatArray:
    """Give each base bar the value of the latest HTF bar that had closed when the base bar closed.

    Parameters
    ----------
    htf_values : array_like
        One value per HTF bar (e.g. an indicator computed on :class:`HtfBars`).
    htf_timestamps : array_like
        HTF bar open times (ms), strictly increasing, same length as ``htf_values``.
    target : str or Timeframe
        The HTF timeframe.
    base_timestamps : array_like
        Base bar open times (ms), strictly increasing.
    base : str or Timeframe
        The base timeframe.

    Returns
    -------
    numpy.ndarray
        float64, one value per base bar: ``htf_values[j]`` for the last ``j`` with
        ``T_j + H <= t + b``; NaN where no HTF bar had closed yet.
    """
    b, htf = _frames(base, target)
    values = _checks.float_array("htf_values", htf_values)
    hts = _checks.timestamps_ms("htf_timestamps", htf_timestamps, length=values.shape[0])
    bts = _checks.timestamps_ms("base_timestamps", base_timestamps)
    idx = np.searchsorted(hts + htf.ms, bts + b.ms, side="right") - 1
    out = np.full(bts.shape[0], np.nan)
    ok = idx >= 0
    out[ok] = values[idx[ok]]
    return out


Indicator = Callable[[HtfBars], npt.ArrayLike | tuple[npt.ArrayLike, ...]]


def on_higher_timeframe(
    indicator: Indicator,
    timestamps: npt.ArrayLike,
    open_: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    base: str | Timeframe,
    target: str | Timeframe,
) -> FloatArray | tuple[FloatArray, ...]:
    """Compute an indicator on closed higher-timeframe candles and align it to the base bars.

    Parameters
    ----------
    indicator : callable
        Receives the closed :class:`HtfBars` and returns one array per HTF bar, or a tuple of
        them (e.g. ``lambda bars: rsi(bars.close, 14)`` or ``lambda bars: bbands(bars.close)``).
        It must itself be causal, as every indicator in this package is.
    timestamps, open_, high, low, close, volume : array_like
        The base candles, as for :func:`resample_ohlcv`.
    base, target : str or Timeframe
        Base and higher timeframe.

    Returns
    -------
    numpy.ndarray or tuple of numpy.ndarray
        Per base bar, the indicator value of the latest HTF bar closed by the base bar's close;
        NaN before the first HTF bar closes and wherever the indicator itself is NaN (its warm-up
        counts in HTF bars).
    """
    if not callable(indicator):
        raise UserError(f"indicator must be callable, got {type(indicator).__name__}")
    bars = resample_ohlcv(timestamps, open_, high, low, close, volume, base, target).closed_only()
    result = indicator(bars)
    outputs = result if isinstance(result, tuple) else (result,)
    aligned = []
    base_ts = _checks.timestamps_ms("timestamps", timestamps)
    for k, values in enumerate(outputs):
        arr = np.asarray(values, dtype=np.float64)
        if arr.shape != bars.timestamps.shape:
            raise UserError(
                f"indicator output {k} has shape {arr.shape}, expected one value per closed "
                f"higher-timeframe bar ({bars.timestamps.shape[0]})"
            )
        aligned.append(align_to_base(arr, bars.timestamps, target, base_ts, base))
    return tuple(aligned) if isinstance(result, tuple) else aligned[0]
