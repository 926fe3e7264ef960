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
from tradewind.indicators._nb import ema_into
from tradewind.indicators._window import donchian_into
from tradewind.indicators.volatility import _atr_into, _true_range

__all__ = ["donchian", "keltner", "supertrend"]


@nb.njit(cache=True, nogil=True, fastmath={"contract"})
def _wilder_step(prev: float, tr: float, keep: float, inv_p: float) -> float:  # pragma: no cover
    """One step of Wilder's smoothing, written exactly as in ``_atr_into`` (same operations,
    same FMA contraction), so the ATR inside Supertrend has the same bits as :func:`atr`. It
    sits in its own function because ``contract`` is a per-function flag: the band arithmetic
    in the caller must not be contracted, so that it matches the streaming class bit for bit."""
    return prev * keep + tr * inv_p


@nb.njit(cache=True, nogil=True)
def _supertrend_into(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    p: int,
    multiplier: float,
    line: FloatArray,
    direction: FloatArray,
) -> bool:  # pragma: no cover - numba
    """Fill ``line`` and ``direction``; return False when the sum of every input is not finite
    (a NaN or infinity somewhere, or a finite overflow), for the caller to check properly.

    The true range is first taken as ``max(high, prev_close) - min(low, prev_close)``: three
    operations instead of seven, and the same bits as TA-Lib's three-way maximum whenever
    ``high >= low`` (rounding is monotonic, so the largest of the three differences is the
    one this computes). Should some bar have ``high < low`` the two differ, and the whole
    series is redone with TA-Lib's form.
    """
    finite, inverted = _supertrend_pass(high, low, close, p, multiplier, line, direction, True)
    if inverted:
        finite, inverted = _supertrend_pass(high, low, close, p, multiplier, line, direction, False)
    return finite


@nb.njit(cache=True, nogil=True, inline="always")
def _supertrend_pass(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    p: int,
    multiplier: float,
    line: FloatArray,
    direction: FloatArray,
    short_tr: bool,
) -> tuple[bool, bool]:  # pragma: no cover - numba
    """One pass of :func:`_supertrend_into`; returns (inputs' sum finite, some high < low)."""
    n = close.shape[0]
    # Every input is summed as it is read, which stands in for a separate finiteness pass.
    check = 0.0
    # ATR's warm-up: p bars (its first value is the mean of the true ranges of bars 1..p).
    for i in range(min(p + 1, n)):
        check += (high[i] + low[i]) + close[i]
        if i < p:
            line[i] = np.nan
            direction[i] = np.nan
    if p >= n:
        return bool(np.isfinite(check)), False
    total = 0.0
    for i in range(1, p + 1):
        total += _true_range(high[i], low[i], close[i - 1])
    a = total / p
    mid = (high[p] + low[p]) / 2.0
    final_upper = mid + multiplier * a
    final_lower = mid - multiplier * a
    # No previous bar to compare with: start short-biased, like the widely used TradingView
    # script, so values can be checked against charts.
    up = False
    direction[p] = -1.0
    line[p] = final_upper
    # ATR(1) is the plain true range: keep = 0 and inv_p = 1 give it exactly.
    keep = (p - 1) / p
    inv_p = 1.0 / p
    # The ATR recursion and the band logic run in one loop, so the CPU overlaps the
    # dependency chains and the ATR is never written out and read back. The loop runs over
    # views that start at bar p + 1 with the previous close carried in a register: indexing
    # from 0 with no ``i - 1`` lets LLVM drop numba's negative-index wraparound code, which
    # was most of the loop's instructions. The band updates are selects with
    # non-short-circuit ``|``: whether a band tightens is close to a coin toss on real prices,
    # and as branches they mispredicted often.
    hs = high[p + 1 :]
    ls = low[p + 1 :]
    cs = close[p + 1 :]
    lines = line[p + 1 :]
    dirs = direction[p + 1 :]
    prev_close = close[p]
    inverted = False
    for i in range(cs.shape[0]):
        h = hs[i]
        lo = ls[i]
        c = cs[i]
        if short_tr:
            inverted |= h < lo
            tr = max(h, prev_close) - min(lo, prev_close)
        else:
            tr = _true_range(h, lo, prev_close)
        a = _wilder_step(a, tr, keep, inv_p)
        h_plus_lo = h + lo
        # Parenthesised so that only one add per bar sits on this sum's dependency chain.
        check = check + (h_plus_lo + c)
        mid = h_plus_lo / 2.0
        basic_upper = mid + multiplier * a
        basic_lower = mid - multiplier * a
        # A band only tightens while price stays inside it; a close through the previous
        # band releases it to the new basic band.
        release_up = (basic_upper < final_upper) | (prev_close > final_upper)
        final_upper = basic_upper if release_up else final_upper
        release_dn = (basic_lower > final_lower) | (prev_close < final_lower)
        final_lower = basic_lower if release_dn else final_lower
        up = (c >= final_lower) if up else (c > final_upper)
        dirs[i] = 1.0 if up else -1.0
        lines[i] = final_lower if up else final_upper
        prev_close = c
    return bool(np.isfinite(check)), inverted


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
    h, lo, c = _checks.same_length_arrays(high=high, low=low, close=close)
    timeperiod = _checks.period("timeperiod", timeperiod)
    multiplier = _checks.positive("multiplier", multiplier)
    # Outputs are allocated by NumPy and filled by the kernel: NumPy reuses freed memory, while
    # allocating inside a compiled kernel page-faults fresh memory on every call.
    line = np.empty(h.shape[0])
    direction = np.empty(h.shape[0])
    if not _supertrend_into(h, lo, c, timeperiod, multiplier, line, direction):
        # The kernel's running sum of the inputs is not finite: find the bad value, if any
        # (a finite overflow of the sum leaves nothing to report and the outputs stand).
        _checks.require_finite(high=h, low=lo, close=c)
    return line, direction


@nb.njit(cache=True, nogil=True, fastmath={"contract"})
def _keltner_into(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    timeperiod: int,
    multiplier: float,
    atr_period: int,
    upper: FloatArray,
    middle: FloatArray,
    lower: FloatArray,
) -> None:  # pragma: no cover - numba
    n = high.shape[0]
    # Up to the first bar where both are defined, the EMA and the ATR come from their own
    # kernels (same code as ema() and atr() on finite inputs, so the same bits); the ATR is
    # parked in ``upper``.
    s = min(max(timeperiod - 1, atr_period), n - 1)
    if s < 0:
        return
    k = 2.0 / (timeperiod + 1)
    ema_into(close[: s + 1], timeperiod, k, middle[: s + 1])
    _atr_into(high[: s + 1], low[: s + 1], close[: s + 1], atr_period, False, upper[: s + 1])
    e = middle[s]
    prev_atr = upper[s]
    for i in range(s + 1):
        m = middle[i]
        width = multiplier * upper[i]
        upper[i] = m + width
        lower[i] = m - width
    if s + 1 >= n:
        return
    # From there on both recursions advance in one loop, so the CPU overlaps them, with the
    # same operations as ema_into and _atr_into (for ATR(1) keep = 0 and inv_p = 1, which
    # gives the plain true range exactly, as _atr_into does).
    keep = (atr_period - 1) / atr_period
    inv_p = 1.0 / atr_period
    for i in range(s + 1, n):
        c = close[i]
        e = (c - e) * k + e
        prev_atr = prev_atr * keep + _true_range(high[i], low[i], close[i - 1]) * inv_p
        middle[i] = e
        width = multiplier * prev_atr
        upper[i] = e + width
        lower[i] = e - width


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
    n = h.shape[0]
    upper = np.empty(n)
    middle = np.empty(n)
    lower = np.empty(n)
    _keltner_into(h, lo, c, timeperiod, multiplier, atr_period, upper, middle, lower)
    return upper, middle, lower


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
    h, lo = _checks.same_length_arrays(high=high, low=low)
    timeperiod = _checks.period("timeperiod", timeperiod)
    n = h.shape[0]
    upper = np.empty(n)
    middle = np.empty(n)
    lower = np.empty(n)
    warm = min(timeperiod - 1, n)
    for out in (upper, middle, lower):
        out[:warm] = np.nan
    # One blocked pass for both extremes and the midpoint. The inputs' finiteness is checked
    # by the kernel as it reads them (no separate pass); only when it reports a bad value is
    # the position searched for.
    if n >= timeperiod and not donchian_into(h, lo, timeperiod, upper, middle, lower):
        _checks.require_finite(high=h, low=lo)
    elif n < timeperiod:
        # Too short for any window: the kernel reads nothing, so check here.
        _checks.require_finite(high=h, low=lo)
    return upper, middle, lower
