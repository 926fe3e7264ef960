"""Volume-weighted average price: rolling window and session-anchored.

Both forms weight the bar's typical price ``(high + low + close) / 3`` by the bar's volume, because
OHLCV candles do not say where inside the bar the volume traded; the typical price is the usual
stand-in for the bar's average trade price.

TA-Lib has no VWAP, so the names and defaults here are ours. The streaming classes
:class:`tradewind.indicators.streaming.VWAP` and
:class:`tradewind.indicators.streaming.SessionVWAP` perform the same floating-point operations in
the same order and return bit-identical values.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

from tradewind.core.errors import DataError
from tradewind.core.timeframe import Timeframe
from tradewind.indicators import _checks
from tradewind.indicators._checks import FloatArray, IntArray

__all__ = ["session_vwap", "typical_price", "vwap"]


def typical_price(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike) -> FloatArray:
    """Return ``(high + low + close) / 3`` per bar (TA-Lib's TYPPRICE, computed the same way)."""
    h, lo, c = _checks.float_arrays(high=high, low=low, close=close)
    return (h + lo + c) / 3.0


def _volume(volume: FloatArray) -> None:
    bad = np.flatnonzero(volume < 0)
    if bad.size:
        raise DataError(f"volume must not be negative: {volume[bad[0]]} at position {bad[0]}")


@nb.njit(cache=True, nogil=True)
def _rolling_vwap_into(
    tp: FloatArray, volume: FloatArray, timeperiod: int, out: FloatArray
) -> None:  # pragma: no cover - numba
    n = tp.shape[0]
    pv_sum = 0.0
    v_sum = 0.0
    # Running sums carry rounding residue after a large bar leaves the window; counting the bars
    # with non-zero volume keeps "no volume in the window" exact (NaN, not residue / residue).
    nonzero = 0
    for i in range(n):
        pv_sum += tp[i] * volume[i]
        v_sum += volume[i]
        if volume[i] != 0.0:
            nonzero += 1
        out[i] = np.nan
        if i >= timeperiod - 1:
            if nonzero > 0:
                out[i] = pv_sum / v_sum
            j = i - timeperiod + 1
            pv_sum -= tp[j] * volume[j]
            v_sum -= volume[j]
            if volume[j] != 0.0:
                nonzero -= 1


@nb.njit(cache=True, nogil=True)
def _session_vwap_into(
    tp: FloatArray, volume: FloatArray, session: IntArray, out: FloatArray
) -> None:  # pragma: no cover - numba
    n = tp.shape[0]
    pv_sum = 0.0
    v_sum = 0.0
    for i in range(n):
        if i == 0 or session[i] != session[i - 1]:
            pv_sum = 0.0
            v_sum = 0.0
        pv_sum += tp[i] * volume[i]
        v_sum += volume[i]
        # Volumes are non-negative, so a zero cumulative volume is exact: nothing traded yet.
        out[i] = pv_sum / v_sum if v_sum > 0.0 else np.nan


def vwap(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    timeperiod: int = 14,
) -> FloatArray:
    """Rolling volume-weighted average price over the last ``timeperiod`` bars.

    Parameters
    ----------
    high, low, close, volume : array_like
        Equal-length 1-D series; volume must be non-negative and everything finite.
    timeperiod : int, default 14
        Window length in bars (>= 1), the current bar included.

    Returns
    -------
    numpy.ndarray
        ``sum(tp * volume) / sum(volume)`` over bars ``t - timeperiod + 1 .. t``, float64.
        NaN for the first ``timeperiod - 1`` bars (warm-up) and wherever the whole window traded
        zero volume.

    Raises
    ------
    UserError
        Mismatched lengths or a bad period. ``DataError`` for non-finite or negative values.
    """
    h, lo, c, v = _checks.float_arrays(high=high, low=low, close=close, volume=volume)
    timeperiod = _checks.period("timeperiod", timeperiod)
    _volume(v)
    out = np.empty(h.shape[0])  # NumPy-allocated: cheaper than allocating inside the kernel
    _rolling_vwap_into((h + lo + c) / 3.0, v, timeperiod, out)
    return out


def session_vwap(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    timestamps: npt.ArrayLike,
    anchor: str | Timeframe = "1d",
) -> FloatArray:
    """Session-anchored VWAP: cumulative since the start of each ``anchor`` period (UTC).

    Parameters
    ----------
    high, low, close, volume : array_like
        Equal-length 1-D series; volume must be non-negative and everything finite.
    timestamps : array_like
        Bar open times, int64 milliseconds since the epoch (or datetime64), strictly increasing.
    anchor : str or Timeframe, default "1d"
        Session length: ``"1d"`` restarts at 00:00 UTC, ``"4h"`` every four hours on the epoch
        grid, ``"1w"`` on Monday 00:00 UTC (exchange weeks, not the epoch's Thursday).

    Returns
    -------
    numpy.ndarray
        float64 VWAP of the bars from the session's first bar through bar t. There is no warm-up:
        the first bar of a session returns its own typical price. NaN only while the session has
        traded zero volume so far. A gap in the data simply means fewer bars in that session.
    """
    h, lo, c, v = _checks.float_arrays(high=high, low=low, close=close, volume=volume)
    ts = _checks.timestamps_ms("timestamps", timestamps, length=h.shape[0])
    session = _checks.session_starts(ts, _checks.timeframe("anchor", anchor))
    _volume(v)
    out = np.empty(h.shape[0])
    _session_vwap_into((h + lo + c) / 3.0, v, session, out)
    return out
