"""Drawdowns: the fall below the running peak, bar by bar, and how long the longest one lasted.

:func:`drawdown_series` works on returns and equals empyrical's function of the same name;
:func:`underwater_curve` and :func:`max_drawdown_duration` work on the equity curve itself, which
is what a report plots and what a trader reads ("six weeks below the high").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tradewind.performance._checks import (
    FloatArray,
    IntArray,
    bar_timestamps,
    equity_array,
    returns_array,
)
from tradewind.performance._kernels import drawdown_from_wealth, wealth_index


def drawdown_series(returns: npt.ArrayLike) -> FloatArray:
    """Return the drawdown after each return: ``W / cummax(W) - 1`` with ``W = cumprod(1 + r)``.

    The running peak starts at the wealth before the first return (1), so a loss on the first
    bar already shows as a drawdown. Equal to empyrical's ``drawdown_series`` on an array.

    Parameters
    ----------
    returns : array_like of float, shape (n,)
        Per-bar simple returns; NaN counts as 0.

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        Non-positive fractions (-0.1 is 10 % below the peak); no warm-up.
    """
    r = returns_array(returns)
    if r.size == 0:
        return np.empty(0, dtype=np.float64)
    return drawdown_from_wealth(wealth_index(r))


def underwater_curve(equity: npt.ArrayLike) -> FloatArray:
    """Return how far each bar's equity is below the highest equity so far: ``E / cummax(E) - 1``.

    Parameters
    ----------
    equity : array_like of float, shape (n,)
        Account equity at each bar, finite and non-negative.

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        Non-positive fractions, 0 at every new high (and on the first bar); -1 once the account
        is wiped out. No warm-up. While the peak itself is 0 (an account that starts empty) the
        value is 0.
    """
    values = equity_array(equity)
    peak = np.maximum.accumulate(values)
    out = np.zeros_like(values)
    np.divide(values, peak, out=out, where=peak > 0)
    np.subtract(out, 1.0, out=out, where=peak > 0)
    return out


@dataclass(frozen=True, slots=True)
class DrawdownDuration:
    """The longest stretch of an equity curve below a previous high.

    Attributes
    ----------
    bars : int
        Bars from the peak to the bar that regains it (or to the last bar if it never does);
        0 when the equity never falls below a high.
    duration : pandas.Timedelta
        Time from the peak's bar to that end bar; 0 when there is no drawdown.
    peak_time : pandas.Timestamp or None
        Open time (UTC) of the peak's bar; None without a drawdown.
    end_time : pandas.Timestamp or None
        Open time of the bar that regained the peak, or of the last bar when ``recovered`` is
        False; None without a drawdown.
    recovered : bool
        Whether the equity got back to the peak before the curve ended.
    """

    bars: int
    duration: pd.Timedelta
    peak_time: pd.Timestamp | None
    end_time: pd.Timestamp | None
    recovered: bool


def max_drawdown_duration(equity: npt.ArrayLike, timestamps: Any) -> DrawdownDuration:
    """Find the longest time the equity spent below a previous high.

    A drawdown starts at a bar whose equity is the highest so far (its peak) and ends at the
    first later bar whose equity is at least that high again; one still open at the last bar
    ends there, unrecovered. The longest is chosen by time, so that a gap in the data cannot
    make a short drawdown look long; its bar count is reported with it (on a gap-free grid the
    longest by time is also the longest in bars).

    Parameters
    ----------
    equity : array_like of float, shape (n,)
        Account equity at each bar, finite and non-negative.
    timestamps : array_like, shape (n,)
        Bar open times, strictly increasing: int64 milliseconds (UTC) or datetime64 values.

    Returns
    -------
    DrawdownDuration
        Bars, timedelta, peak and end times of the longest drawdown, and whether it recovered.
    """
    values = equity_array(equity)
    ts = bar_timestamps(timestamps, values.size)
    return longest_drawdown(values, ts, np.maximum.accumulate(values))


def longest_drawdown(values: FloatArray, ts: IntArray, peak: FloatArray) -> DrawdownDuration:
    """:func:`max_drawdown_duration` of validated arrays, given the running maximum ``peak``."""
    n = values.size
    highs = np.flatnonzero(values >= peak)  # bars at a high; bar 0 always is one
    # Between two consecutive highs more than one bar apart lies a drawdown: it starts at the
    # first high and ends (recovered) at the second. One still open at the last bar ends there.
    gaps = np.flatnonzero(np.diff(highs) > 1)
    peaks = highs[gaps]
    ends = highs[gaps + 1]
    recovered = np.ones(ends.size, dtype=bool)
    if highs[-1] != n - 1:
        peaks = np.append(peaks, highs[-1])
        ends = np.append(ends, n - 1)
        recovered = np.append(recovered, False)
    if ends.size == 0:
        return DrawdownDuration(0, pd.Timedelta(0), None, None, recovered=True)
    spans = ts[ends] - ts[peaks]
    longest = int(np.argmax(spans))
    end = int(ends[longest])
    start = int(peaks[longest])
    return DrawdownDuration(
        bars=end - start,
        duration=pd.Timedelta(int(spans[longest]), unit="ms"),
        peak_time=pd.Timestamp(int(ts[start]), unit="ms", tz="UTC"),
        end_time=pd.Timestamp(int(ts[end]), unit="ms", tz="UTC"),
        recovered=bool(recovered[longest]),
    )
