"""Price channels: Supertrend, Keltner channels and Donchian channels.

None of these is in TA-Lib, so the names, argument order and defaults follow the most common
charting definitions, built on our TA-Lib-exact :func:`~tradewind.indicators.volatility.atr` and
:func:`~tradewind.indicators.overlap.ema`. Every output is a float64 array as long as the input,
NaN during warm-up; the streaming classes in :mod:`tradewind.indicators.streaming` return the same
values bar by bar.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

from tradewind.indicators import _checks
from tradewind.indicators._checks import FloatArray
from tradewind.indicators._window import rolling_max, rolling_min
from tradewind.indicators.overlap import ema
from tradewind.indicators.volatility import atr

__all__ = ["donchian", "keltner", "supertrend"]


@nb.njit(cache=True, nogil=True)
def _supertrend_into(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    atr_: FloatArray,
    multiplier: float,
    line: FloatArray,
    direction: FloatArray,
) -> None:  # pragma: no cover - numba
    n = close.shape[0]
    final_upper = 0.0
    final_lower = 0.0
    trend = 0.0
    started = False
    for i in range(n):
        a = atr_[i]
        if np.isnan(a):  # ATR still warming up
            line[i] = np.nan
            direction[i] = np.nan
            continue
        mid = (high[i] + low[i]) / 2.0
        basic_upper = mid + multiplier * a
        basic_lower = mid - multiplier * a
        if not started:
            final_upper = basic_upper
            final_lower = basic_lower
            # No previous bar to compare with: start short-biased, like the widely used
            # TradingView script, so values can be checked against charts.
            trend = -1.0
            started = True
        else:
            # A band only tightens while price stays inside it; a close through the previous
            # band releases it to the new basic band.
            prev_close = close[i - 1]
            if basic_upper < final_upper or prev_close > final_upper:
                final_upper = basic_upper
            if basic_lower > final_lower or prev_close < final_lower:
                final_lower = basic_lower
            if trend < 0.0:
                trend = 1.0 if close[i] > final_upper else -1.0
            else:
                trend = -1.0 if close[i] < final_lower else 1.0
        direction[i] = trend
        line[i] = final_lower if trend > 0.0 else final_upper


def supertrend(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    timeperiod: int = 10,
    multiplier: float = 3.0,
) -> tuple[FloatArray, FloatArray]:
    """Supertrend: an ATR band around the bar midpoint that flips side when price closes through it.

    Parameters
    ----------
    high, low, close : array_like
        Equal-length, finite 1-D price series.
    timeperiod : int, default 10
        ATR period (Wilder ATR exactly as TA-Lib's ATR).
    multiplier : float, default 3.0
        Band half-width in ATRs around ``(high + low) / 2``.

    Returns
    -------
    line : numpy.ndarray
        The trailing stop level: the final lower band in an uptrend, the final upper band in a
        downtrend.
    direction : numpy.ndarray
        +1.0 for an uptrend, -1.0 for a downtrend.

    Notes
    -----
    Warm-up: both outputs are NaN for the first ``timeperiod`` bars (ATR's lookback). The first
    defined bar starts in a downtrend (line = upper band) and flips up once a close exceeds the
    final upper band, matching the common TradingView formulation. Final bands: the upper band
    only moves down (and the lower only up) unless the previous close crossed it.
    """
    h, lo, c = _checks.float_arrays(high=high, low=low, close=close)
    timeperiod = _checks.period("timeperiod", timeperiod)
    multiplier = _checks.positive("multiplier", multiplier)
    # Outputs are allocated by NumPy and filled by the kernel: NumPy reuses freed memory, while
    # allocating inside a compiled kernel page-faults fresh memory on every call.
    line = np.empty(h.shape[0])
    direction = np.empty(h.shape[0])
    _supertrend_into(h, lo, c, atr(h, lo, c, timeperiod), multiplier, line, direction)
    return line, direction


def keltner(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    timeperiod: int = 20,
    multiplier: float = 2.0,
    atr_period: int = 10,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Keltner channels: an EMA of the close plus and minus a multiple of ATR.

    The middle line is the EMA of the **close** (the modern Keltner channel), not of the typical
    price that Chester Keltner's original 1960 version averaged with a simple mean.

    Parameters
    ----------
    high, low, close : array_like
        Equal-length, finite 1-D price series.
    timeperiod : int, default 20
        EMA period of the middle line (TA-Lib's EMA, seeded with the SMA of the first values).
    multiplier : float, default 2.0
        Channel half-width in ATRs.
    atr_period : int, default 10
        ATR period (TA-Lib's Wilder ATR).

    Returns
    -------
    upper, middle, lower : numpy.ndarray
        ``middle = ema(close)``, ``upper/lower = middle +- multiplier * atr``. NaN for the first
        ``max(timeperiod - 1, atr_period)`` bars.
    """
    h, lo, c = _checks.float_arrays(high=high, low=low, close=close)
    timeperiod = _checks.period("timeperiod", timeperiod, minimum=2)
    atr_period = _checks.period("atr_period", atr_period)
    multiplier = _checks.positive("multiplier", multiplier)
    middle = ema(c, timeperiod)
    width = multiplier * atr(h, lo, c, atr_period)
    return middle + width, middle, middle - width


def donchian(
    high: npt.ArrayLike, low: npt.ArrayLike, timeperiod: int = 20
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Donchian channels: highest high, midpoint and lowest low of the last ``timeperiod`` bars.

    Parameters
    ----------
    high, low : array_like
        Equal-length, finite 1-D price series.
    timeperiod : int, default 20
        Window length in bars; the current bar is included (as TA-Lib's MAX and MIN do), so a
        breakout rule should compare the close with the previous bar's channel.

    Returns
    -------
    upper, middle, lower : numpy.ndarray
        float64, NaN for the first ``timeperiod - 1`` bars. ``middle = (upper + lower) / 2``.
    """
    h, lo = _checks.float_arrays(high=high, low=low)
    timeperiod = _checks.period("timeperiod", timeperiod)
    upper = rolling_max(h, timeperiod)
    lower = rolling_min(lo, timeperiod)
    return upper, (upper + lower) / 2.0, lower
