"""Volume indicators: obv, ad, adosc (TA-Lib compatible) and cmf (Chaikin money flow).

Same conventions as TA-Lib's Python wrapper: array-likes in, float64 arrays out, NaN over the
warm-up, the calculation starting at the first bar where every input is a number (see
:mod:`tradewind.indicators._talib_inputs`). The value at bar t uses bars ``<= t`` only.
"""

from __future__ import annotations

import numba as nb
import numpy.typing as npt

from tradewind.indicators import _nb
from tradewind.indicators._talib_inputs import FloatArray, period, run, same_length


@nb.njit(cache=True, nogil=True)
def _obv_into(close: FloatArray, volume: FloatArray, out: FloatArray) -> None:  # pragma: no cover
    if close.shape[0] == 0:
        return
    prev_obv = volume[0]
    prev_close = close[0]
    out[0] = prev_obv
    for i in range(1, close.shape[0]):
        c = close[i]
        if c > prev_close:
            prev_obv += volume[i]
        elif c < prev_close:
            prev_obv -= volume[i]
        out[i] = prev_obv
        prev_close = c


def obv(real: npt.ArrayLike, volume: npt.ArrayLike) -> FloatArray:
    """On-balance volume: running total of volume, added on up closes, subtracted on down ones.

    Parameters
    ----------
    real : array-like
        Close prices.
    volume : array-like
        Volume, same length.

    Returns
    -------
    numpy.ndarray
        float64, same length; no warm-up: the first value is the first bar's volume.
    """
    c, v = same_length(real=real, volume=volume)
    return run(_obv_into, (c, v), ())[0]


@nb.njit(cache=True, nogil=True, inline="always")
def _clv_volume(h: float, lo: float, c: float, v: float) -> float:  # pragma: no cover - numba
    # Close location value times volume; a bar without range moves nothing.
    rng = h - lo
    if rng > 0.0:
        return (((c - lo) - (h - c)) / rng) * v
    return 0.0


@nb.njit(cache=True, nogil=True)
def _ad_into(
    high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray, out: FloatArray
) -> None:  # pragma: no cover - numba
    ad = 0.0
    for i in range(high.shape[0]):
        ad += _clv_volume(high[i], low[i], close[i], volume[i])
        out[i] = ad


def ad(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, volume: npt.ArrayLike
) -> FloatArray:
    """Chaikin accumulation/distribution line: running sum of ``clv * volume``.

    ``clv = ((close - low) - (high - close)) / (high - low)``, 0 for a bar without range.

    Parameters
    ----------
    high, low, close, volume : array-like
        Bar prices and volume, same length.

    Returns
    -------
    numpy.ndarray
        float64, same length; no warm-up.
    """
    h, lo, c, v = same_length(high=high, low=low, close=close, volume=volume)
    return run(_ad_into, (h, lo, c, v), ())[0]


@nb.njit(cache=True, nogil=True)
def _adosc_into(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    fast: int,
    slow: int,
    out: FloatArray,
) -> None:  # pragma: no cover - numba
    slowest = max(fast, slow)
    if _nb.nan_head(out, slowest - 1):
        return
    fast_k = 2.0 / (fast + 1)
    slow_k = 2.0 / (slow + 1)
    one_minus_fast = 1.0 - fast_k
    one_minus_slow = 1.0 - slow_k
    # Both EMAs are seeded with the first A/D value, not with a mean (TA-Lib).
    ad = _clv_volume(high[0], low[0], close[0], volume[0])
    fast_ema = ad
    slow_ema = ad
    for i in range(1, high.shape[0]):
        ad += _clv_volume(high[i], low[i], close[i], volume[i])
        fast_ema = fast_k * ad + one_minus_fast * fast_ema
        slow_ema = slow_k * ad + one_minus_slow * slow_ema
        if i >= slowest - 1:
            out[i] = fast_ema - slow_ema


def adosc(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    fastperiod: int = 3,
    slowperiod: int = 10,
) -> FloatArray:
    """Chaikin A/D oscillator: ``EMA(ad, fast) - EMA(ad, slow)``.

    Both EMAs start from the first A/D value (no SMA seed), as in TA-Lib.

    Parameters
    ----------
    high, low, close, volume : array-like
        Bar prices and volume, same length.
    fastperiod : int, default 3
        Fast EMA period, 2..100000.
    slowperiod : int, default 10
        Slow EMA period, 2..100000.

    Returns
    -------
    numpy.ndarray
        float64, same length; warm-up ``max(fastperiod, slowperiod) - 1`` bars.
    """
    h, lo, c, v = same_length(high=high, low=low, close=close, volume=volume)
    f = period("fastperiod", fastperiod, 2)
    s = period("slowperiod", slowperiod, 2)
    return run(_adosc_into, (h, lo, c, v), (f, s))[0]


@nb.njit(cache=True, nogil=True)
def _cmf_into(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    p: int,
    out: FloatArray,
) -> None:  # pragma: no cover - numba
    if _nb.nan_head(out, p - 1):
        return
    # Sums are recomputed per window (O(n*p)) rather than slid: a sliding sum of signed flows
    # leaves rounding residue that would turn an all-zero window into noise instead of 0.
    n = high.shape[0]
    flow = high.copy()
    for i in range(n):
        flow[i] = _clv_volume(high[i], low[i], close[i], volume[i])
    for i in range(p - 1, n):
        f = 0.0
        v = 0.0
        for j in range(i - p + 1, i + 1):
            f += flow[j]
            v += volume[j]
        out[i] = f / v if v > 0.0 else 0.0


def cmf(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    timeperiod: int = 20,
) -> FloatArray:
    """Chaikin money flow (not in TA-Lib): ``sum(clv * volume) / sum(volume)`` over a window.

    ``clv = ((close - low) - (high - close)) / (high - low)`` (0 for a bar without range);
    both sums run over the last ``timeperiod`` bars; a window without volume gives 0.

    Parameters
    ----------
    high, low, close, volume : array-like
        Bar prices and volume, same length.
    timeperiod : int, default 20
        Window, 1..100000.

    Returns
    -------
    numpy.ndarray
        float64 in -1..1, same length; warm-up ``timeperiod - 1`` bars.
    """
    h, lo, c, v = same_length(high=high, low=low, close=close, volume=volume)
    p = period("timeperiod", timeperiod, 1)
    return run(_cmf_into, (h, lo, c, v), (p,))[0]


__all__ = ["ad", "adosc", "cmf", "obv"]
