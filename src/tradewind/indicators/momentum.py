"""Momentum oscillators, TA-Lib compatible.

rsi, stoch, stochf, stochrsi, cci, willr, roc, mom, mfi, macd, macdext, ppo, apo, trix, ultosc,
aroon, aroonosc, bop, cmo. Same names, argument order, defaults and output order as TA-Lib's
Python wrapper; float64 arrays out, NaN over the warm-up; the calculation starts at the first bar
where every input is a number (see :mod:`tradewind.indicators._talib_inputs`). The value at bar t
uses bars ``<= t`` only.

MA-type arguments take TA-Lib's MA_Type codes: 0 SMA, 1 EMA, 2 WMA, 3 DEMA, 4 TEMA, 5 TRIMA,
6 KAMA, 8 T3. Code 7 (MAMA) is refused with an error: it is not implemented.
"""

from __future__ import annotations

import numpy.typing as npt

from tradewind.indicators import _nb
from tradewind.indicators import _nb_momentum as _k
from tradewind.indicators._talib_inputs import (
    FloatArray,
    period,
    run,
    same_length,
    series,
)
from tradewind.indicators._talib_inputs import matype as check_matype

Pair = tuple[FloatArray, FloatArray]
Triple = tuple[FloatArray, FloatArray, FloatArray]


def rsi(real: npt.ArrayLike, timeperiod: int = 14) -> FloatArray:
    """Relative strength index (Wilder): ``100 * avg_gain / (avg_gain + avg_loss)``.

    The averages start as plain means of the first ``timeperiod`` changes, then follow
    ``avg = (avg * (p - 1) + change) / p``. A window with no change at all gives 0.

    Parameters
    ----------
    real : array-like
        Input series.
    timeperiod : int, default 14
        Period, 2..100000.

    Returns
    -------
    numpy.ndarray
        float64 in 0..100, same length; warm-up ``timeperiod`` bars.
    """
    x = series("real", real)
    p = period("timeperiod", timeperiod, 2)
    return run(_k.wilder_oscillator_into, (x,), (p, False))[0]


def cmo(real: npt.ArrayLike, timeperiod: int = 14) -> FloatArray:
    """Chande momentum oscillator ``100 * (gain - loss) / (gain + loss)``, Wilder-smoothed.

    TA-Lib smooths the gains and losses as RSI does (not plain sums), and so does this.

    Parameters
    ----------
    real : array-like
        Input series.
    timeperiod : int, default 14
        Period, 2..100000.

    Returns
    -------
    numpy.ndarray
        float64 in -100..100, same length; warm-up ``timeperiod`` bars; 0 on a flat window.
    """
    x = series("real", real)
    p = period("timeperiod", timeperiod, 2)
    return run(_k.wilder_oscillator_into, (x,), (p, True))[0]


def stoch(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    fastk_period: int = 5,
    slowk_period: int = 3,
    slowk_matype: int = 0,
    slowd_period: int = 3,
    slowd_matype: int = 0,
) -> Pair:
    """Slow stochastic oscillator.

    Raw ``%K = 100 * (close - lowest low) / (highest high - lowest low)`` over ``fastk_period``
    bars (0 when the range is zero relative to the prices); slow %K is its moving average and
    slow %D the moving average of slow %K.

    Parameters
    ----------
    high, low, close : array-like
        Bar prices, same length.
    fastk_period : int, default 5
        Raw %K window, 1..100000.
    slowk_period, slowd_period : int, default 3
        Smoothing periods, 1..100000.
    slowk_matype, slowd_matype : int, default 0
        TA-Lib MA_Type codes of the two smoothings (0 SMA).

    Returns
    -------
    (slowk, slowd) : tuple of numpy.ndarray
        float64, same length; both NaN for ``fastk_period - 1`` plus the two averages' warm-ups.
    """
    h, lo, c = same_length(high=high, low=low, close=close)
    k = period("fastk_period", fastk_period, 1)
    sk = period("slowk_period", slowk_period, 1)
    skt = check_matype("slowk_matype", slowk_matype)
    sd = period("slowd_period", slowd_period, 1)
    sdt = check_matype("slowd_matype", slowd_matype)
    slowk, slowd = run(_k.stoch_into, (h, lo, c), (k, sk, skt, sd, sdt), n_out=2)
    return slowk, slowd


def stochf(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    fastk_period: int = 5,
    fastd_period: int = 3,
    fastd_matype: int = 0,
) -> Pair:
    """Fast stochastic oscillator: raw %K and its moving average %D.

    Parameters
    ----------
    high, low, close : array-like
        Bar prices, same length.
    fastk_period : int, default 5
        Raw %K window, 1..100000.
    fastd_period : int, default 3
        %D period, 1..100000.
    fastd_matype : int, default 0
        TA-Lib MA_Type code of %D.

    Returns
    -------
    (fastk, fastd) : tuple of numpy.ndarray
        float64, same length; both NaN for ``fastk_period - 1`` plus %D's warm-up.
    """
    h, lo, c = same_length(high=high, low=low, close=close)
    k = period("fastk_period", fastk_period, 1)
    d = period("fastd_period", fastd_period, 1)
    dt = check_matype("fastd_matype", fastd_matype)
    fastk, fastd = run(_k.stochf_into, (h, lo, c), (k, d, dt), n_out=2)
    return fastk, fastd


def stochrsi(
    real: npt.ArrayLike,
    timeperiod: int = 14,
    fastk_period: int = 5,
    fastd_period: int = 3,
    fastd_matype: int = 0,
) -> Pair:
    """Stochastic RSI: :func:`stochf` applied to :func:`rsi` (high = low = close = RSI).

    Parameters
    ----------
    real : array-like
        Input series.
    timeperiod : int, default 14
        RSI period, 2..100000.
    fastk_period : int, default 5
        %K window over the RSI, 1..100000.
    fastd_period : int, default 3
        %D period, 1..100000.
    fastd_matype : int, default 0
        TA-Lib MA_Type code of %D.

    Returns
    -------
    (fastk, fastd) : tuple of numpy.ndarray
        float64, same length; warm-up ``timeperiod + fastk_period - 1`` plus %D's warm-up.
    """
    x = series("real", real)
    p = period("timeperiod", timeperiod, 2)
    k = period("fastk_period", fastk_period, 1)
    d = period("fastd_period", fastd_period, 1)
    dt = check_matype("fastd_matype", fastd_matype)
    fastk, fastd = run(_k.stochrsi_into, (x,), (p, k, d, dt), n_out=2)
    return fastk, fastd


def willr(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, timeperiod: int = 14
) -> FloatArray:
    """Williams %R ``-100 * (highest high - close) / (highest high - lowest low)``.

    Parameters
    ----------
    high, low, close : array-like
        Bar prices, same length.
    timeperiod : int, default 14
        Window, 2..100000.

    Returns
    -------
    numpy.ndarray
        float64 in -100..0, same length; warm-up ``timeperiod - 1``; 0 on a window whose range
        is zero relative to its prices.
    """
    h, lo, c = same_length(high=high, low=low, close=close)
    p = period("timeperiod", timeperiod, 2)
    return run(_k.fastk_into, (h, lo, c), (p, True))[0]


def cci(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, timeperiod: int = 14
) -> FloatArray:
    """Commodity channel index ``(tp - mean(tp)) / (0.015 * mean |tp - mean(tp)|)``.

    ``tp = (high + low + close) / 3``. A window that is flat relative to its own price level
    gives 0, as in TA-Lib.

    Parameters
    ----------
    high, low, close : array-like
        Bar prices, same length.
    timeperiod : int, default 14
        Window, 2..100000.

    Returns
    -------
    numpy.ndarray
        float64, same length; warm-up ``timeperiod - 1`` bars.
    """
    h, lo, c = same_length(high=high, low=low, close=close)
    p = period("timeperiod", timeperiod, 2)
    return run(_k.cci_into, (h, lo, c), (p,))[0]


def mfi(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    timeperiod: int = 14,
) -> FloatArray:
    """Money flow index: ``100 * positive flow / total flow`` over ``timeperiod`` bars.

    A bar's flow is ``tp * volume`` with ``tp = (high + low + close) / 3``; it counts as positive
    when ``tp`` rose from the previous bar, negative when it fell, and not at all when unchanged.

    Parameters
    ----------
    high, low, close, volume : array-like
        Bar prices and volume, same length.
    timeperiod : int, default 14
        Window, 2..100000.

    Returns
    -------
    numpy.ndarray
        float64 in 0..100, same length; warm-up ``timeperiod`` bars.
    """
    h, lo, c, v = same_length(high=high, low=low, close=close, volume=volume)
    p = period("timeperiod", timeperiod, 2)
    return run(_k.mfi_into, (h, lo, c, v), (p,))[0]


def roc(real: npt.ArrayLike, timeperiod: int = 10) -> FloatArray:
    """Rate of change in percent ``(x[t] / x[t-p] - 1) * 100`` (0 where ``x[t-p]`` is 0).

    Parameters
    ----------
    real : array-like
        Input series.
    timeperiod : int, default 10
        Lag, 1..100000.

    Returns
    -------
    numpy.ndarray
        float64, same length; warm-up ``timeperiod`` bars.
    """
    x = series("real", real)
    p = period("timeperiod", timeperiod, 1)
    return run(_k.roc_into, (x,), (p, 0))[0]


def mom(real: npt.ArrayLike, timeperiod: int = 10) -> FloatArray:
    """Momentum ``x[t] - x[t - timeperiod]``.

    Parameters
    ----------
    real : array-like
        Input series.
    timeperiod : int, default 10
        Lag, 1..100000.

    Returns
    -------
    numpy.ndarray
        float64, same length; warm-up ``timeperiod`` bars.
    """
    x = series("real", real)
    p = period("timeperiod", timeperiod, 1)
    return run(_k.roc_into, (x,), (p, 1))[0]


def macd(
    real: npt.ArrayLike, fastperiod: int = 12, slowperiod: int = 26, signalperiod: int = 9
) -> Triple:
    """Moving average convergence/divergence with EMAs.

    ``macd = EMA(fast) - EMA(slow)``, ``signal = EMA(macd, signalperiod)``, ``hist = macd -
    signal``. As in TA-Lib, both EMAs start at bar ``slowperiod - 1``: the fast EMA is seeded
    with the mean of the ``fastperiod`` values ending there. Periods are swapped if
    ``slowperiod < fastperiod``.

    Parameters
    ----------
    real : array-like
        Input series.
    fastperiod : int, default 12
        Fast EMA period, 2..100000.
    slowperiod : int, default 26
        Slow EMA period, 2..100000.
    signalperiod : int, default 9
        Signal EMA period, 1..100000.

    Returns
    -------
    (macd, macdsignal, macdhist) : tuple of numpy.ndarray
        float64, same length; all three NaN for ``slowperiod - 1 + signalperiod - 1`` bars.
    """
    x = series("real", real)
    f = period("fastperiod", fastperiod, 2)
    s = period("slowperiod", slowperiod, 2)
    g = period("signalperiod", signalperiod, 1)
    ema = _nb.MA_EMA
    line, sig, hist = run(_k.macdext_into, (x,), (f, ema, s, ema, g, ema), n_out=3)
    return line, sig, hist


def macdext(
    real: npt.ArrayLike,
    fastperiod: int = 12,
    fastmatype: int = 0,
    slowperiod: int = 26,
    slowmatype: int = 0,
    signalperiod: int = 9,
    signalmatype: int = 0,
) -> Triple:
    """MACD with a choice of moving average for each line (TA-Lib MA_Type codes).

    Both averages start at the first bar of the one with the longer warm-up, as in TA-Lib.

    Parameters
    ----------
    real : array-like
        Input series.
    fastperiod, slowperiod : int, default 12, 26
        Periods of the two averages, 2..100000 (swapped, with their types, if slow < fast).
    signalperiod : int, default 9
        Signal period, 1..100000.
    fastmatype, slowmatype, signalmatype : int, default 0
        MA_Type codes (0 SMA, 1 EMA, 2 WMA, 3 DEMA, 4 TEMA, 5 TRIMA, 6 KAMA, 8 T3).

    Returns
    -------
    (macd, macdsignal, macdhist) : tuple of numpy.ndarray
        float64, same length; NaN for the larger of the two averages' warm-ups plus the
        signal's.
    """
    x = series("real", real)
    f = period("fastperiod", fastperiod, 2)
    ft = check_matype("fastmatype", fastmatype)
    s = period("slowperiod", slowperiod, 2)
    st = check_matype("slowmatype", slowmatype)
    g = period("signalperiod", signalperiod, 1)
    gt = check_matype("signalmatype", signalmatype)
    line, sig, hist = run(_k.macdext_into, (x,), (f, ft, s, st, g, gt), n_out=3)
    return line, sig, hist


def apo(
    real: npt.ArrayLike, fastperiod: int = 12, slowperiod: int = 26, matype: int = 1
) -> FloatArray:
    """Absolute price oscillator ``MA(fast) - MA(slow)``.

    Parameters
    ----------
    real : array-like
        Input series.
    fastperiod, slowperiod : int, default 12, 26
        Periods, 2..100000 (swapped if slow < fast).
    matype : int, default 1
        MA_Type code of both averages (TA-Lib 0.8's default is EMA).

    Returns
    -------
    numpy.ndarray
        float64, same length; warm-up that of the slower average.
    """
    x = series("real", real)
    f = period("fastperiod", fastperiod, 2)
    s = period("slowperiod", slowperiod, 2)
    t = check_matype("matype", matype)
    return run(_k.price_oscillator_into, (x,), (f, s, t, False))[0]


def ppo(
    real: npt.ArrayLike, fastperiod: int = 12, slowperiod: int = 26, matype: int = 1
) -> FloatArray:
    """Percentage price oscillator ``100 * (MA(fast) - MA(slow)) / MA(slow)`` (0 if MA(slow) = 0).

    Parameters
    ----------
    real : array-like
        Input series.
    fastperiod, slowperiod : int, default 12, 26
        Periods, 2..100000 (swapped if slow < fast).
    matype : int, default 1
        MA_Type code of both averages (TA-Lib 0.8's default is EMA).

    Returns
    -------
    numpy.ndarray
        float64, same length; warm-up that of the slower average.
    """
    x = series("real", real)
    f = period("fastperiod", fastperiod, 2)
    s = period("slowperiod", slowperiod, 2)
    t = check_matype("matype", matype)
    return run(_k.price_oscillator_into, (x,), (f, s, t, True))[0]


def trix(real: npt.ArrayLike, timeperiod: int = 30) -> FloatArray:
    """TRIX: one-bar rate of change (percent) of a triple exponential smoothing.

    Parameters
    ----------
    real : array-like
        Input series.
    timeperiod : int, default 30
        Period of each EMA, 1..100000.

    Returns
    -------
    numpy.ndarray
        float64, same length; warm-up ``3 * (timeperiod - 1) + 1`` bars.
    """
    x = series("real", real)
    p = period("timeperiod", timeperiod, 1)
    return run(_k.trix_into, (x,), (p,))[0]


def ultosc(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    timeperiod1: int = 7,
    timeperiod2: int = 14,
    timeperiod3: int = 28,
) -> FloatArray:
    """Ultimate oscillator: weighted mean of buying-pressure / true-range ratios over 3 windows.

    ``100 * (4*A1 + 2*A2 + A3) / 7`` where ``Ai = sum(close - min(low, prev close)) /
    sum(true range)`` over the i-th window. As in TA-Lib the three periods are sorted first, so
    the shortest always gets weight 4.

    Parameters
    ----------
    high, low, close : array-like
        Bar prices, same length.
    timeperiod1, timeperiod2, timeperiod3 : int, default 7, 14, 28
        Window lengths, 1..100000.

    Returns
    -------
    numpy.ndarray
        float64 in 0..100, same length; warm-up the longest period.
    """
    h, lo, c = same_length(high=high, low=low, close=close)
    ps = sorted(
        period(name, value, 1)
        for name, value in (
            ("timeperiod1", timeperiod1),
            ("timeperiod2", timeperiod2),
            ("timeperiod3", timeperiod3),
        )
    )
    return run(_k.ultosc_into, (h, lo, c), (ps[0], ps[1], ps[2]))[0]


def aroon(high: npt.ArrayLike, low: npt.ArrayLike, timeperiod: int = 14) -> Pair:
    """Aroon down and up: how recently the lowest low / highest high of ``timeperiod + 1`` bars.

    ``up = 100 * (p - bars since the highest high) / p``; on ties the latest bar counts.

    Parameters
    ----------
    high, low : array-like
        Bar prices, same length.
    timeperiod : int, default 14
        Look-back ``p``, 2..100000.

    Returns
    -------
    (aroondown, aroonup) : tuple of numpy.ndarray
        float64 in 0..100, same length; warm-up ``timeperiod`` bars.
    """
    h, lo = same_length(high=high, low=low)
    p = period("timeperiod", timeperiod, 2)
    down, up, _osc = run(_k.aroon_into, (h, lo), (p,), n_out=3)
    return down, up


def aroonosc(high: npt.ArrayLike, low: npt.ArrayLike, timeperiod: int = 14) -> FloatArray:
    """Aroon oscillator ``aroonup - aroondown``.

    Parameters
    ----------
    high, low : array-like
        Bar prices, same length.
    timeperiod : int, default 14
        Look-back, 2..100000.

    Returns
    -------
    numpy.ndarray
        float64 in -100..100, same length; warm-up ``timeperiod`` bars.
    """
    h, lo = same_length(high=high, low=low)
    p = period("timeperiod", timeperiod, 2)
    return run(_k.aroon_into, (h, lo), (p,), n_out=3)[2]


def bop(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
) -> FloatArray:
    """Balance of power ``(close - open) / (high - low)``; 0 for a bar with no range.

    Parameters
    ----------
    open, high, low, close : array-like
        Bar prices, same length.

    Returns
    -------
    numpy.ndarray
        float64 in -1..1, same length; no warm-up.
    """
    o, h, lo, c = same_length(open=open, high=high, low=low, close=close)
    return run(_k.bop_into, (o, h, lo, c), ())[0]


__all__ = [
    "apo",
    "aroon",
    "aroonosc",
    "bop",
    "cci",
    "cmo",
    "macd",
    "macdext",
    "mfi",
    "mom",
    "ppo",
    "roc",
    "rsi",
    "stoch",
    "stochf",
    "stochrsi",
    "trix",
    "ultosc",
    "willr",
]
