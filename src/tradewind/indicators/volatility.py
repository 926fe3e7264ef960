"""Volatility: trange, atr, natr, stddev, bbands (TA-Lib compatible) and realised_volatility.

Same conventions as TA-Lib's Python wrapper: array-likes in, float64 arrays out, NaN over the
warm-up, the calculation starting at the first bar where every input is a number (see
:mod:`tradewind.indicators._talib_inputs`). The value at bar t uses bars ``<= t`` only.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

from tradewind.core.errors import DataError
from tradewind.indicators import _nb
from tradewind.indicators._talib_inputs import (
    FloatArray,
    period,
    real_param,
    run,
    same_length,
    series,
)
from tradewind.indicators._talib_inputs import matype as check_matype


@nb.njit(cache=True, nogil=True)
def trange_into(
    high: FloatArray, low: FloatArray, close: FloatArray, out: FloatArray
) -> None:  # pragma: no cover - numba
    """True range ``max(high, prev close) - min(low, prev close)``; warm-up 1."""
    if _nb.nan_head(out, 1):
        return
    for i in range(1, high.shape[0]):
        h = high[i]
        lo = low[i]
        prev_close = close[i - 1]
        greatest = h - lo
        v = abs(prev_close - h)
        greatest = max(greatest, v)
        v = abs(prev_close - lo)
        greatest = max(greatest, v)
        out[i] = greatest


# fastmath "contract" lets LLVM fuse the smoothing's multiply-add into one FMA, halving the
# bar-to-bar dependency chain; the result moves by an ulp at most, as TA-Lib's FMA build does.
@nb.njit(cache=True, nogil=True)
def _true_range(h: float, lo: float, prev_close: float) -> float:  # pragma: no cover - numba
    # Same comparisons, in the same order, as trange_into (a plain function: LLVM inlines it).
    greatest = h - lo
    greatest = max(greatest, abs(prev_close - h))
    return max(greatest, abs(prev_close - lo))


# fastmath "contract" lets LLVM fuse the smoothing's multiply-add into one FMA, halving the
# bar-to-bar dependency chain; the result moves by an ulp at most, as TA-Lib's FMA build does.
@nb.njit(cache=True, nogil=True, fastmath={"contract"})
def _atr_into(
    high: FloatArray, low: FloatArray, close: FloatArray, p: int, normalise: bool, out: FloatArray
) -> None:  # pragma: no cover - numba
    if p == 1:
        # TA-Lib returns the plain true range for period 1, for NATR too.
        trange_into(high, low, close, out)
        return
    if _nb.nan_head(out, p):
        return
    # Wilder's smoothing, seeded with the mean of the first p true ranges (bars 1..p). The
    # true range is computed inside the smoothing loop rather than in a separate pass.
    total = 0.0
    for i in range(1, p + 1):
        total += _true_range(high[i], low[i], close[i - 1])
    prev = total / p
    out[p] = _normalise(prev, close[p]) if normalise else prev
    # Multiplying by precomputed reciprocals keeps a division out of the bar-to-bar dependency
    # chain (3-4x faster); it moves results by a few ulp only, far inside TA-Lib parity.
    keep = (p - 1) / p
    inv_p = 1.0 / p
    for i in range(p + 1, high.shape[0]):
        tr = _true_range(high[i], low[i], close[i - 1])
        prev = prev * keep + tr * inv_p
        out[i] = _normalise(prev, close[i]) if normalise else prev


@nb.njit(cache=True, nogil=True, inline="always")
def _normalise(atr_value: float, close: float) -> float:  # pragma: no cover - numba
    if -_nb.EPSILON < close < _nb.EPSILON:
        return 0.0
    return (atr_value / close) * 100.0


def trange(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike) -> FloatArray:
    """True range: the larger of ``high - low`` and the gaps from the previous close.

    Parameters
    ----------
    high, low, close : array-like
        Bar prices, same length.

    Returns
    -------
    numpy.ndarray
        float64, same length; warm-up 1 bar (the first bar has no previous close).
    """
    h, lo, c = same_length(high=high, low=low, close=close)
    return run(trange_into, (h, lo, c), ())[0]


def atr(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, timeperiod: int = 14
) -> FloatArray:
    """Average true range with Wilder's smoothing.

    ``atr[p]`` is the mean of the true ranges of bars ``1..p``; after that
    ``atr[t] = (atr[t-1] * (p - 1) + tr[t]) / p``.

    Parameters
    ----------
    high, low, close : array-like
        Bar prices, same length.
    timeperiod : int, default 14
        Smoothing period ``p``, 1..100000 (1 returns :func:`trange`).

    Returns
    -------
    numpy.ndarray
        float64, same length; warm-up ``timeperiod`` bars.
    """
    h, lo, c = same_length(high=high, low=low, close=close)
    p = period("timeperiod", timeperiod, 1)
    return run(_atr_into, (h, lo, c), (p, False))[0]


def natr(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, timeperiod: int = 14
) -> FloatArray:
    """Normalised ATR: ``100 * atr / close`` (0 where close is within 1e-14 of zero).

    Parameters
    ----------
    high, low, close : array-like
        Bar prices, same length.
    timeperiod : int, default 14
        Smoothing period, 1..100000. As in TA-Lib, period 1 returns the plain true range.

    Returns
    -------
    numpy.ndarray
        float64 percent, same length; warm-up ``timeperiod`` bars.
    """
    h, lo, c = same_length(high=high, low=low, close=close)
    p = period("timeperiod", timeperiod, 1)
    return run(_atr_into, (h, lo, c), (p, True))[0]


def stddev(real: npt.ArrayLike, timeperiod: int = 5, nbdev: float = 1.0) -> FloatArray:
    """Rolling population standard deviation (ddof 0) times ``nbdev``.

    Computed as TA-Lib does, from running sums: ``var = mean(x^2) - mean(x)^2``; a variance below
    1e-14 (including the small negatives that rounding produces) gives exactly 0. Note that this
    clamps the deviation of very low-priced series (prices around 1e-6) to 0, as TA-Lib does.

    Parameters
    ----------
    real : array-like
        Input series.
    timeperiod : int, default 5
        Window length, 2..100000.
    nbdev : float, default 1.0
        Multiplier applied to the deviation.

    Returns
    -------
    numpy.ndarray
        float64, same length; warm-up ``timeperiod - 1`` bars.
    """
    x = series("real", real)
    p = period("timeperiod", timeperiod, 2)
    k = real_param("nbdev", nbdev, -3.0e37)
    return run(_nb.stddev_into, (x,), (p, k))[0]


@nb.njit(cache=True, nogil=True)
def _bbands_into(
    x: FloatArray,
    p: int,
    up: float,
    dn: float,
    ma_type: int,
    upper: FloatArray,
    middle: FloatArray,
    lower: FloatArray,
) -> None:  # pragma: no cover - numba
    lb = max(_nb.ma_lookback(p, ma_type), p - 1)
    too_short = _nb.nan_head(upper, lb)
    _nb.nan_head(lower, lb)
    _nb.nan_head(middle, lb)
    if too_short:
        return
    # TA-Lib starts the deviation at the first bar of the average, so its running sums (and
    # their periodic rebuilds) begin at the same window; starting them there keeps the bits.
    offset = lb - (p - 1)
    _nb.stddev_into(x[offset:], p, 1.0, lower[offset:])
    if ma_type == _nb.MA_SMA:
        # The default: the SMA is computed here, with the same operations as sma_into, in the
        # pass that forms the bands, instead of a pass of its own.
        total = 0.0
        for i in range(p - 1):
            total += x[i]
        for i in range(p - 1, x.shape[0]):
            total += x[i]
            m = total / p
            total -= x[i - p + 1]
            middle[i] = m
            sd = lower[i]
            upper[i] = m + sd * up
            lower[i] = m - sd * dn
        return
    _nb.ma_into(x, p, ma_type, middle)
    for i in range(lb, x.shape[0]):
        sd = lower[i]
        m = middle[i]
        upper[i] = m + sd * up
        lower[i] = m - sd * dn


def bbands(
    real: npt.ArrayLike,
    timeperiod: int = 20,
    nbdevup: float = 2.0,
    nbdevdn: float = 2.0,
    matype: int = 0,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Bollinger bands: a moving average and bands ``nbdev`` standard deviations around it.

    The deviation is :func:`stddev` over the same window (population, ddof 0, clamped to 0 below
    a variance of 1e-14), whatever the average type.

    Parameters
    ----------
    real : array-like
        Input series.
    timeperiod : int, default 20
        Window length, 2..100000.
    nbdevup, nbdevdn : float, default 2.0
        Deviations above and below the middle band.
    matype : int, default 0
        TA-Lib MA_Type of the middle band: 0 SMA, 1 EMA, 2 WMA, 3 DEMA, 4 TEMA, 5 TRIMA, 6 KAMA,
        8 T3 (7 MAMA is not supported).

    Returns
    -------
    (upperband, middleband, lowerband) : tuple of numpy.ndarray
        float64, same length; warm-up is that of the average (``timeperiod - 1`` for SMA).
    """
    x = series("real", real)
    p = period("timeperiod", timeperiod, 2)
    up = real_param("nbdevup", nbdevup, -3.0e37)
    dn = real_param("nbdevdn", nbdevdn, -3.0e37)
    code = check_matype("matype", matype)
    upper, middle, lower = run(_bbands_into, (x,), (p, up, dn, code), n_out=3)
    return upper, middle, lower


@nb.njit(cache=True, nogil=True)
def _realised_vol_into(
    close: FloatArray, p: int, scale: float, out: FloatArray
) -> None:  # pragma: no cover - numba
    if _nb.nan_head(out, p):
        return
    # Running sums of log returns: returns are small and centred near zero, so the
    # sum-of-squares form loses nothing that matters here; negatives from rounding clamp to 0.
    s1 = 0.0
    s2 = 0.0
    for i in range(1, p):
        r = np.log(close[i] / close[i - 1])
        s1 += r
        s2 += r * r
    for i in range(p, close.shape[0]):
        r = np.log(close[i] / close[i - 1])
        s1 += r
        s2 += r * r
        var = (s2 - s1 * s1 / p) / (p - 1)
        out[i] = np.sqrt(var) * scale if var > 0.0 else 0.0
        r = np.log(close[i - p + 1] / close[i - p])
        s1 -= r
        s2 -= r * r


def realised_volatility(
    close: npt.ArrayLike, timeperiod: int = 30, annualization: float = 365.0
) -> FloatArray:
    """Realised volatility: rolling sample standard deviation of log returns, annualised.

    ``rv[t] = std(log(close[i] / close[i-1]) for i in t-p+1..t, ddof=1) * sqrt(annualization)``.
    Not in TA-Lib. pandas equivalent:
    ``np.log(close).diff().rolling(p).std() * np.sqrt(annualization)``.

    Parameters
    ----------
    close : array-like
        Close prices, all positive.
    timeperiod : int, default 30
        Number of returns in the window, 2..100000.
    annualization : float, default 365.0
        Bars per year: 365 for daily bars of a market that trades every day, ``365 * 24`` for
        hourly bars, 1.0 for a per-bar figure.

    Returns
    -------
    numpy.ndarray
        float64, same length; warm-up ``timeperiod`` bars (``timeperiod`` returns need
        ``timeperiod + 1`` prices).

    Raises
    ------
    DataError
        If a close price is zero or negative.
    """
    c = series("close", close)
    p = period("timeperiod", timeperiod, 2)
    ann = real_param("annualization", annualization, 0.0)
    bad = np.flatnonzero(c <= 0.0)
    if bad.size:
        raise DataError(
            f"close must be positive for log returns, got {c[bad[0]]} at position {bad[0]}"
        )
    return run(_realised_vol_into, (c,), (p, float(np.sqrt(ann))))[0]


__all__ = ["atr", "bbands", "natr", "realised_volatility", "stddev", "trange"]
