"""Ichimoku Kinko Hyo, indexed so that every value at bar t is known at bar t.

How this differs from charting packages
---------------------------------------
Charting packages draw the cloud (senkou span A and B) 26 bars to the *right* of the bar that
computed it, and the lagging span (chikou) 26 bars to the *left*. Read as arrays, both are traps:

* A chart's cloud at bar t was computed at bar t - 26. Libraries that return the cloud "as
  plotted" either leave the last 26 values empty or, worse, return an array whose index t holds
  the value computed at t (to be drawn at t + 26); comparing that with the price at t mixes two
  different bars. Here the shift is applied in the causal direction:
  ``senkou_a[t] = (tenkan[t-26] + kijun[t-26]) / 2`` and ``senkou_b[t]`` is the 52-bar midpoint of
  the window ending at ``t - 26``: exactly the cloud a chart shows above bar t, and known at t.
* A chart's chikou at bar t - 26 is ``close[t]``. Reading it at t - 26 reads the future. This
  module does not return a shifted close at all; it offers the comparison a chart reader makes at
  bar t, ``chikou[t] = close[t] - close[t-26]`` (positive: the lagging span sits above price).

All outputs are float64 arrays as long as the input, NaN during warm-up.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from tradewind.indicators import _checks
from tradewind.indicators._checks import FloatArray
from tradewind.indicators._window import rolling_max, rolling_min

__all__ = ["Ichimoku", "ichimoku"]


class Ichimoku(NamedTuple):
    """The five Ichimoku lines, causally indexed (see the module docstring)."""

    tenkan: FloatArray
    kijun: FloatArray
    senkou_a: FloatArray
    senkou_b: FloatArray
    chikou: FloatArray


def _midpoint(h: FloatArray, lo: FloatArray, timeperiod: int) -> FloatArray:
    return (rolling_max(h, timeperiod) + rolling_min(lo, timeperiod)) / 2.0


def _lag(values: FloatArray, bars: int) -> FloatArray:
    out = np.full(values.shape[0], np.nan)
    if bars < values.shape[0]:
        out[bars:] = values[: values.shape[0] - bars]
    return out


def ichimoku(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    tenkan_period: int = 9,
    kijun_period: int = 26,
    senkou_b_period: int = 52,
    displacement: int = 26,
) -> Ichimoku:
    """Ichimoku lines without lookahead.

    Parameters
    ----------
    high, low, close : array_like
        Equal-length, finite 1-D price series.
    tenkan_period, kijun_period, senkou_b_period : int, default 9, 26, 52
        Windows of the conversion line, base line and leading span B (midpoint of the highest
        high and lowest low over the window, current bar included).
    displacement : int, default 26
        How many bars back the cloud was computed, and the lag of the chikou comparison.

    Returns
    -------
    Ichimoku
        ``tenkan`` (NaN for the first ``tenkan_period - 1`` bars), ``kijun`` (first
        ``kijun_period - 1``), ``senkou_a[t] = (tenkan[t-d] + kijun[t-d]) / 2`` (first
        ``max(tenkan_period, kijun_period) - 1 + d``), ``senkou_b[t]`` = midpoint of the
        ``senkou_b_period`` bars ending at ``t - d`` (first ``senkou_b_period - 1 + d``), and
        ``chikou[t] = close[t] - close[t-d]`` (first ``d``).
    """
    h, lo, c = _checks.float_arrays(high=high, low=low, close=close)
    tenkan_period = _checks.period("tenkan_period", tenkan_period)
    kijun_period = _checks.period("kijun_period", kijun_period)
    senkou_b_period = _checks.period("senkou_b_period", senkou_b_period)
    displacement = _checks.period("displacement", displacement)
    tenkan = _midpoint(h, lo, tenkan_period)
    kijun = _midpoint(h, lo, kijun_period)
    senkou_a = _lag((tenkan + kijun) / 2.0, displacement)
    senkou_b = _lag(_midpoint(h, lo, senkou_b_period), displacement)
    chikou = c - _lag(c, displacement)
    return Ichimoku(tenkan, kijun, senkou_a, senkou_b, chikou)
