"""Trend strength and direction, TA-Lib compatible: plus_di, minus_di, dx, adx, adxr, sar.

Same conventions as TA-Lib's Python wrapper: array-likes in, float64 arrays out, NaN over the
warm-up, the calculation starting at the first bar where every input is a number (see
:mod:`tradewind.indicators._talib_inputs`). The value at bar t uses bars ``<= t`` only.

The directional family follows Wilder: +DM/-DM and the true range are summed over the first
``p - 1`` changes, then smoothed with ``s = s - s/p + new``; ``+DI = 100 * +DM / TR``.
"""

from __future__ import annotations

import numba as nb
import numpy.typing as npt

from tradewind.indicators import _nb
from tradewind.indicators._talib_inputs import FloatArray, period, real_param, run, same_length

# Which output the directional kernel writes.
_PLUS_DI, _MINUS_DI, _DX, _ADX = range(4)


@nb.njit(cache=True, nogil=True)
def _directional_into(
    high: FloatArray, low: FloatArray, close: FloatArray, p: int, what: int, out: FloatArray
) -> None:  # pragma: no cover - numba
    n = high.shape[0]
    first = 2 * p - 1 if what == _ADX else p
    if p == 1:
        first = 1
    if _nb.nan_head(out, first):
        return
    plus_dm = 0.0
    minus_dm = 0.0
    tr = 0.0
    prev_high = high[0]
    prev_low = low[0]
    prev_close = close[0]
    sum_dx = 0.0
    adx = 0.0
    for today in range(1, n):
        h = high[today]
        lo = low[today]
        diff_p = h - prev_high
        diff_m = prev_low - lo
        prev_high = h
        prev_low = lo
        dm_p = 0.0
        dm_m = 0.0
        if diff_m > 0.0 and diff_p < diff_m:
            dm_m = diff_m
        elif diff_p > 0.0 and diff_p > diff_m:
            dm_p = diff_p
        rng = h - lo
        v = abs(prev_close - h)
        rng = max(rng, v)
        v = abs(prev_close - lo)
        rng = max(rng, v)
        prev_close = close[today]
        if p == 1:
            # Period 1: TA-Lib returns the raw ratio DM / TR, without the factor 100.
            dm = dm_m if what == _MINUS_DI else dm_p
            out[today] = dm / rng if rng > 0.0 else 0.0
            continue
        if today < p:
            plus_dm += dm_p
            minus_dm += dm_m
            tr += rng
            continue
        plus_dm = plus_dm - plus_dm / p + dm_p
        minus_dm = minus_dm - minus_dm / p + dm_m
        tr = tr - tr / p + rng
        if what == _PLUS_DI:
            out[today] = _di(plus_dm, tr)
        elif what == _MINUS_DI:
            out[today] = _di(minus_dm, tr)
        else:
            pdi = _di(plus_dm, tr)
            mdi = _di(minus_dm, tr)
            total = mdi + pdi
            has_dx = tr > 0.0 and total > 0.0
            dx = 100.0 * (abs(mdi - pdi) / total) if has_dx else 0.0
            if what == _DX:
                # TA-Lib repeats the previous DX when it is undefined (no range, no movement).
                if has_dx or today == p:
                    out[today] = dx
                else:
                    out[today] = out[today - 1]
            elif today < 2 * p:
                if has_dx:
                    sum_dx += dx
                if today == 2 * p - 1:
                    adx = sum_dx / p
                    out[today] = adx
            else:
                if has_dx:
                    adx = (adx * (p - 1) + dx) / p
                out[today] = adx


@nb.njit(cache=True, nogil=True, inline="always")
def _di(dm: float, tr: float) -> float:  # pragma: no cover - numba
    return 100.0 * (dm / tr) if tr > 0.0 else 0.0


def plus_di(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, timeperiod: int = 14
) -> FloatArray:
    """Plus directional indicator ``100 * smoothed +DM / smoothed TR`` (0 when TR is 0).

    Parameters
    ----------
    high, low, close : array-like
        Bar prices, same length.
    timeperiod : int, default 14
        Wilder period, 1..100000 (1: the raw ratio +DM / TR, not in percent, as TA-Lib).

    Returns
    -------
    numpy.ndarray
        float64 in 0..100, same length; warm-up ``timeperiod`` bars (1 for period 1).
    """
    h, lo, c = same_length(high=high, low=low, close=close)
    p = period("timeperiod", timeperiod, 1)
    return run(_directional_into, (h, lo, c), (p, _PLUS_DI))[0]


def minus_di(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, timeperiod: int = 14
) -> FloatArray:
    """Minus directional indicator ``100 * smoothed -DM / smoothed TR`` (0 when TR is 0).

    Parameters
    ----------
    high, low, close : array-like
        Bar prices, same length.
    timeperiod : int, default 14
        Wilder period, 1..100000.

    Returns
    -------
    numpy.ndarray
        float64 in 0..100, same length; warm-up ``timeperiod`` bars (1 for period 1).
    """
    h, lo, c = same_length(high=high, low=low, close=close)
    p = period("timeperiod", timeperiod, 1)
    return run(_directional_into, (h, lo, c), (p, _MINUS_DI))[0]


def dx(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, timeperiod: int = 14
) -> FloatArray:
    """Directional movement index ``100 * |+DI - -DI| / (+DI + -DI)``.

    Where it is undefined (no range or no movement) the previous value is repeated, as TA-Lib
    does; the first value is 0 in that case.

    Parameters
    ----------
    high, low, close : array-like
        Bar prices, same length.
    timeperiod : int, default 14
        Wilder period, 2..100000.

    Returns
    -------
    numpy.ndarray
        float64 in 0..100, same length; warm-up ``timeperiod`` bars.
    """
    h, lo, c = same_length(high=high, low=low, close=close)
    p = period("timeperiod", timeperiod, 2)
    return run(_directional_into, (h, lo, c), (p, _DX))[0]


def adx(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, timeperiod: int = 14
) -> FloatArray:
    """Average directional index: Wilder's average of :func:`dx`.

    The first value is the mean of the first ``timeperiod`` DX values; then
    ``adx = (adx * (p - 1) + dx) / p``, skipping bars where DX is undefined.

    Parameters
    ----------
    high, low, close : array-like
        Bar prices, same length.
    timeperiod : int, default 14
        Wilder period, 2..100000.

    Returns
    -------
    numpy.ndarray
        float64 in 0..100, same length; warm-up ``2 * timeperiod - 1`` bars.
    """
    h, lo, c = same_length(high=high, low=low, close=close)
    p = period("timeperiod", timeperiod, 2)
    return run(_directional_into, (h, lo, c), (p, _ADX))[0]


@nb.njit(cache=True, nogil=True)
def _adxr_into(
    high: FloatArray, low: FloatArray, close: FloatArray, p: int, out: FloatArray
) -> None:  # pragma: no cover - numba
    first = 3 * p - 2
    if _nb.nan_head(out, first):
        return
    a = high.copy()
    _directional_into(high, low, close, p, _ADX, a)
    for i in range(first, high.shape[0]):
        out[i] = (a[i] + a[i - (p - 1)]) / 2.0


def adxr(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, timeperiod: int = 14
) -> FloatArray:
    """ADX rating ``(adx[t] + adx[t - (timeperiod - 1)]) / 2``.

    Parameters
    ----------
    high, low, close : array-like
        Bar prices, same length.
    timeperiod : int, default 14
        Wilder period, 2..100000.

    Returns
    -------
    numpy.ndarray
        float64 in 0..100, same length; warm-up ``3 * timeperiod - 2`` bars.
    """
    h, lo, c = same_length(high=high, low=low, close=close)
    p = period("timeperiod", timeperiod, 2)
    return run(_adxr_into, (h, lo, c), (p,))[0]


@nb.njit(cache=True, nogil=True)
def _sar_into(
    high: FloatArray, low: FloatArray, accel: float, maximum: float, out: FloatArray
) -> None:  # pragma: no cover - numba
    if _nb.nan_head(out, 1):
        return
    accel = min(accel, maximum)
    af = accel
    # The first direction comes from bar 1's directional movement: down if -DM is positive.
    diff_p = high[1] - high[0]
    diff_m = low[0] - low[1]
    is_long = not (diff_m > 0.0 and diff_p < diff_m)
    if is_long:
        ep = high[1]
        sar = low[0]
    else:
        ep = low[1]
        sar = high[0]
    new_low = low[1]
    new_high = high[1]
    for today in range(1, high.shape[0]):
        prev_low = new_low
        prev_high = new_high
        new_low = low[today]
        new_high = high[today]
        if is_long:
            if new_low <= sar:
                # Stop hit: reverse to short; the SAR becomes the extreme point.
                is_long = False
                sar = max(ep, prev_high, new_high)
                out[today] = sar
                af = accel
                ep = new_low
                sar = sar + af * (ep - sar)
                sar = max(sar, prev_high, new_high)
            else:
                out[today] = sar
                if new_high > ep:
                    ep = new_high
                    af = min(af + accel, maximum)
                sar = sar + af * (ep - sar)
                sar = min(sar, prev_low, new_low)
        elif new_high >= sar:
            is_long = True
            sar = min(ep, prev_low, new_low)
            out[today] = sar
            af = accel
            ep = new_high
            sar = sar + af * (ep - sar)
            sar = min(sar, prev_low, new_low)
        else:
            out[today] = sar
            if new_low < ep:
                ep = new_low
                af = min(af + accel, maximum)
            sar = sar + af * (ep - sar)
            sar = max(sar, prev_high, new_high)


def sar(
    high: npt.ArrayLike, low: npt.ArrayLike, acceleration: float = 0.02, maximum: float = 0.2
) -> FloatArray:
    """Parabolic SAR (Wilder), as TA-Lib computes it.

    The first direction is short when bar 1 has positive -DM, else long. The value at bar t is
    the stop that applied during bar t (computed from bars before it, or the reversal level on
    a reversal bar), and is clamped inside the two previous bars' range.

    Parameters
    ----------
    high, low : array-like
        Bar prices, same length.
    acceleration : float, default 0.02
        Acceleration step, >= 0 (capped at ``maximum``).
    maximum : float, default 0.2
        Acceleration cap, >= 0.

    Returns
    -------
    numpy.ndarray
        float64, same length; warm-up 1 bar.
    """
    h, lo = same_length(high=high, low=low)
    a = real_param("acceleration", acceleration, 0.0)
    m = real_param("maximum", maximum, 0.0)
    return run(_sar_into, (h, lo), (a, m))[0]


__all__ = ["adx", "adxr", "dx", "minus_di", "plus_di", "sar"]
