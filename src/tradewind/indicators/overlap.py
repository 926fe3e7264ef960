"""Moving averages, TA-Lib compatible: sma, ema, wma, dema, tema, trima, kama, t3, plus hma.

Every function takes any 1-D array-like, returns a float64 array of the same length, and follows
TA-Lib's Python wrapper exactly: same argument order and defaults, NaN over the same warm-up, and
the leading-NaN rule described in :mod:`tradewind.indicators._talib_inputs` (the calculation
starts at the first non-NaN value). The value at bar t uses bars ``<= t`` only.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

from tradewind.indicators import _nb
from tradewind.indicators._talib_inputs import FloatArray, period, real_param, run, series


def sma(real: npt.ArrayLike, timeperiod: int = 30) -> FloatArray:
    """Simple moving average: the mean of the last ``timeperiod`` values.

    Parameters
    ----------
    real : array-like
        Input series (usually close).
    timeperiod : int, default 30
        Window length, 1..100000.

    Returns
    -------
    numpy.ndarray
        float64, same length; warm-up ``timeperiod - 1`` bars of NaN.
    """
    x = series("real", real)
    p = period("timeperiod", timeperiod, 1)
    return run(_nb.sma_into, (x,), (p,))[0]


def ema(real: npt.ArrayLike, timeperiod: int = 30) -> FloatArray:
    """Exponential moving average with ``k = 2 / (timeperiod + 1)``, seeded by an SMA.

    Parameters
    ----------
    real : array-like
        Input series.
    timeperiod : int, default 30
        Period, 1..100000.

    Returns
    -------
    numpy.ndarray
        float64, same length; warm-up ``timeperiod - 1`` bars. The first value is the mean of the
        first ``timeperiod`` values (TA-Lib's default seeding); later values are
        ``prev + k * (x - prev)``.
    """
    x = series("real", real)
    p = period("timeperiod", timeperiod, 1)
    return run(_nb.ema_into, (x,), (p, 2.0 / (p + 1)))[0]


def wma(real: npt.ArrayLike, timeperiod: int = 30) -> FloatArray:
    """Linearly weighted moving average, weights ``1..timeperiod`` with the newest heaviest.

    Parameters
    ----------
    real : array-like
        Input series.
    timeperiod : int, default 30
        Window length, 1..100000.

    Returns
    -------
    numpy.ndarray
        float64, same length; warm-up ``timeperiod - 1`` bars.
    """
    x = series("real", real)
    p = period("timeperiod", timeperiod, 1)
    return run(_nb.wma_into, (x,), (p,))[0]


def dema(real: npt.ArrayLike, timeperiod: int = 30) -> FloatArray:
    """Double exponential moving average ``2*EMA(x) - EMA(EMA(x))``.

    Parameters
    ----------
    real : array-like
        Input series.
    timeperiod : int, default 30
        Period of both EMAs, 1..100000.

    Returns
    -------
    numpy.ndarray
        float64, same length; warm-up ``2 * (timeperiod - 1)`` bars.
    """
    x = series("real", real)
    p = period("timeperiod", timeperiod, 1)
    return run(_nb.ma_into, (x,), (p, _nb.MA_DEMA))[0]


def tema(real: npt.ArrayLike, timeperiod: int = 30) -> FloatArray:
    """Triple exponential moving average ``3*e1 - 3*e2 + e3`` of chained EMAs.

    Parameters
    ----------
    real : array-like
        Input series.
    timeperiod : int, default 30
        Period of the three EMAs, 1..100000.

    Returns
    -------
    numpy.ndarray
        float64, same length; warm-up ``3 * (timeperiod - 1)`` bars.
    """
    x = series("real", real)
    p = period("timeperiod", timeperiod, 1)
    return run(_nb.ma_into, (x,), (p, _nb.MA_TEMA))[0]


def trima(real: npt.ArrayLike, timeperiod: int = 30) -> FloatArray:
    """Triangular moving average: an SMA of an SMA, giving triangle-shaped weights.

    Parameters
    ----------
    real : array-like
        Input series.
    timeperiod : int, default 30
        Window length, 1..100000. Odd ``n = 2h+1``: weights ``1..h+1..1``; even ``n = 2h``:
        weights ``1..h, h..1``.

    Returns
    -------
    numpy.ndarray
        float64, same length; warm-up ``timeperiod - 1`` bars.
    """
    x = series("real", real)
    p = period("timeperiod", timeperiod, 1)
    return run(_nb.trima_into, (x,), (p,))[0]


def kama(real: npt.ArrayLike, timeperiod: int = 30) -> FloatArray:
    """Kaufman adaptive moving average.

    The smoothing constant is ``(er * (2/3 - 2/31) + 2/31) ** 2`` where ``er`` is the efficiency
    ratio ``|x[t] - x[t-n]| / sum |x[i] - x[i-1]|`` over the period. As in TA-Lib, ``er`` is 1
    when the path length is (near) zero or not above the signed change.

    Parameters
    ----------
    real : array-like
        Input series.
    timeperiod : int, default 30
        Efficiency-ratio period, 1..100000.

    Returns
    -------
    numpy.ndarray
        float64, same length; warm-up ``timeperiod`` bars (0 for period 1, which copies the
        input); the average starts from ``x[timeperiod - 1]``.
    """
    x = series("real", real)
    p = period("timeperiod", timeperiod, 1)
    return run(_nb.kama_into, (x,), (p,))[0]


def t3(real: npt.ArrayLike, timeperiod: int = 5, vfactor: float = 0.7) -> FloatArray:
    """Tillson T3: six chained EMAs combined with coefficients from the volume factor.

    Parameters
    ----------
    real : array-like
        Input series.
    timeperiod : int, default 5
        Period of each EMA, 1..100000.
    vfactor : float, default 0.7
        Volume factor ``a`` in 0..1; the result is
        ``-a^3 e6 + (3a^2 + 3a^3) e5 - (6a^2 + 3a + 3a^3) e4 + (1 + 3a + a^3 + 3a^2) e3``.

    Returns
    -------
    numpy.ndarray
        float64, same length; warm-up ``6 * (timeperiod - 1)`` bars. Each EMA is seeded with the
        mean of its first ``timeperiod`` inputs, as TA-Lib does.
    """
    x = series("real", real)
    p = period("timeperiod", timeperiod, 1)
    a = real_param("vfactor", vfactor, 0.0, 1.0)
    return run(_nb.t3_into, (x,), (p, a))[0]


@nb.njit(cache=True, nogil=True)
def _hma_into(x: FloatArray, p: int, out: FloatArray) -> None:  # pragma: no cover - numba
    half = p // 2
    root = int(np.floor(np.sqrt(p)))
    lb = p - 1
    if _nb.nan_head(out, lb + root - 1):
        return
    n = x.shape[0]
    w_half = np.empty(n)
    _nb.wma_into(x, half, w_half)
    w_full = np.empty(n)
    _nb.wma_into(x, p, w_full)
    raw = np.empty(n - lb)
    for i in range(lb, n):
        raw[i - lb] = 2.0 * w_half[i] - w_full[i]
    _nb.wma_into(raw, root, out[lb:])


def hma(real: npt.ArrayLike, timeperiod: int = 16) -> FloatArray:
    """Hull moving average (not in TA-Lib).

    ``hma = WMA(2 * WMA(x, n // 2) - WMA(x, n), floor(sqrt(n)))``, with :func:`wma` as the
    weighted average. The inner difference starts where the longer WMA does, so the outer WMA
    never sees a warm-up NaN.

    Parameters
    ----------
    real : array-like
        Input series.
    timeperiod : int, default 16
        Hull period ``n``, 2..100000.

    Returns
    -------
    numpy.ndarray
        float64, same length; warm-up ``n - 1 + floor(sqrt(n)) - 1`` bars.
    """
    x = series("real", real)
    p = period("timeperiod", timeperiod, 2)
    return run(_hma_into, (x,), (p,))[0]


__all__ = ["dema", "ema", "hma", "kama", "sma", "t3", "tema", "trima", "wma"]
