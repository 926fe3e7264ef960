"""One-candle patterns, TA-Lib compatible: doji family, hammer family, marubozu, spinning top.

Every function takes ``open, high, low, close`` (array-likes of equal length, finite prices) and
returns an ``int32`` array of the same length holding what TA-Lib's ``CDL*`` function returns:
``100`` (bullish or simply "present"), ``-100`` (bearish), ``0`` (absent). Bars inside the
warm-up are 0. Thresholds such as "short body" or "very short shadow" are TA-Lib's default candle
settings: a factor times the average of a candle measure over the preceding candles (e.g. a body
is short when smaller than the mean body of the previous 10 candles). Each value at bar ``t``
uses bars ``<= t`` only.

Raises
------
UserError
    When a series is not 1-D numeric or the lengths differ.
DataError
    When a price is NaN or infinite.
"""

from __future__ import annotations

import numpy.typing as npt

from tradewind.indicators.patterns import _single_kernels as k
from tradewind.indicators.patterns._inputs import IntArray
from tradewind.indicators.patterns._inputs import ohlc_arrays as _ohlc
from tradewind.indicators.patterns._inputs import run_unchecked as _run


def cdldoji(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
) -> IntArray:
    """Mark doji candles: a real body no larger than 10% of the mean high-low range.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.

    Returns
    -------
    numpy.ndarray of int32
        100 on a doji, else 0. Warm-up: the first 10 bars are 0 (the range average needs them).
    """
    return _run(k.doji_into, open=open, high=high, low=low, close=close)


def cdldragonflydoji(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
) -> IntArray:
    """Mark dragonfly dojis: a doji with a very short upper shadow and a longer lower shadow.

    "Very short" is below 10% of the mean high-low range of the previous 10 candles; the lower
    shadow must exceed that same threshold.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.

    Returns
    -------
    numpy.ndarray of int32
        100 on a dragonfly doji, else 0. Warm-up: 10 bars.
    """
    return k.doji_shadow_kernel(*_ohlc(open, high, low, close), False)


def cdlgravestonedoji(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
) -> IntArray:
    """Mark gravestone dojis: a doji with a very short lower shadow and a longer upper shadow.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.

    Returns
    -------
    numpy.ndarray of int32
        100 on a gravestone doji, else 0. Warm-up: 10 bars.
    """
    return k.doji_shadow_kernel(*_ohlc(open, high, low, close), True)


def cdlhammer(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
) -> IntArray:
    """Mark hammers: small body near the prior low, long lower shadow, very short upper shadow.

    The body is short (below the mean body of the previous 10 candles), the lower shadow longer
    than the body, the upper shadow below 10% of the mean range, and the body's bottom at most
    "near" (20% of the 5-candle mean range) above the previous candle's low.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.

    Returns
    -------
    numpy.ndarray of int32
        100 on a hammer, else 0. Warm-up: 11 bars.
    """
    return k.hammer_kernel(*_ohlc(open, high, low, close), False)


def cdlhangingman(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
) -> IntArray:
    """Mark hanging men: a hammer-shaped candle whose body sits near or above the prior high.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.

    Returns
    -------
    numpy.ndarray of int32
        -100 on a hanging man, else 0. Warm-up: 11 bars.
    """
    return k.hammer_kernel(*_ohlc(open, high, low, close), True)


def cdlinvertedhammer(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
) -> IntArray:
    """Mark inverted hammers: small body gapping below the prior body, long upper shadow.

    The lower shadow is very short (below 10% of the mean range) and the upper shadow longer than
    the body.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.

    Returns
    -------
    numpy.ndarray of int32
        100 on an inverted hammer, else 0. Warm-up: 11 bars.
    """
    return _run(k.inverted_hammer_into, False, open=open, high=high, low=low, close=close)


def cdlshootingstar(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
) -> IntArray:
    """Mark shooting stars: an inverted-hammer shape whose body gaps above the prior body.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.

    Returns
    -------
    numpy.ndarray of int32
        -100 on a shooting star, else 0. Warm-up: 11 bars.
    """
    return _run(k.inverted_hammer_into, True, open=open, high=high, low=low, close=close)


def cdlmarubozu(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
) -> IntArray:
    """Mark marubozu candles: a long body with both shadows very short.

    Long means above the mean body of the previous 10 candles; very short below 10% of their
    mean high-low range.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.

    Returns
    -------
    numpy.ndarray of int32
        100 for a white marubozu, -100 for a black one, else 0. Warm-up: 10 bars.
    """
    return k.marubozu_kernel(*_ohlc(open, high, low, close))


def cdlspinningtop(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
) -> IntArray:
    """Mark spinning tops: a short body with each shadow longer than the body.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.

    Returns
    -------
    numpy.ndarray of int32
        100 when the candle is white, -100 when black, else 0. Warm-up: 10 bars.
    """
    return k.spinning_top_kernel(*_ohlc(open, high, low, close))
