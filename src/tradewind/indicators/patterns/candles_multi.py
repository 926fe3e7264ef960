"""Two- and three-candle patterns, TA-Lib compatible, plus the tweezer top/bottom.

Same conventions as :mod:`tradewind.indicators.patterns.candles_single`: ``open, high, low,
close`` in (equal-length, finite), an ``int32`` array out with TA-Lib's values (``+-100``, and
``+-80`` where TA-Lib 0.6+ marks a weaker variant), 0 during warm-up. The pattern is reported on
its last candle, so a value at bar ``t`` uses bars ``<= t`` only. "Long" and "short" bodies are
judged against the mean body of the 10 candles before the judged candle, as TA-Lib does.

Raises
------
UserError
    When a series is not 1-D numeric, the lengths differ, or ``penetration`` is negative.
DataError
    When a price is NaN or infinite.
"""

from __future__ import annotations

import numpy.typing as npt

from tradewind.indicators.patterns import _multi_kernels as k
from tradewind.indicators.patterns._inputs import IntArray, penetration_value
from tradewind.indicators.patterns._inputs import ohlc_arrays as _ohlc
from tradewind.indicators.patterns._tweezer_kernel import tweezer_kernel


def cdlengulfing(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
) -> IntArray:
    """Mark engulfing pairs: the second real body covers the first, opposite colour.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.

    Returns
    -------
    numpy.ndarray of int32
        100 (white engulfs black) or -100 (black engulfs white) when the second body strictly
        covers the first at both ends; 80 / -80 when one end only matches the prior body's end
        (TA-Lib 0.6's weaker form); else 0. Warm-up: 2 bars.
    """
    return k.engulfing_kernel(*_ohlc(open, high, low, close))


def cdlharami(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
) -> IntArray:
    """Mark harami pairs: a long body followed by a short body inside it.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.

    Returns
    -------
    numpy.ndarray of int32
        Opposite sign of the first candle's colour: 100 after a long black candle, -100 after a
        long white one when the second body lies strictly inside; 80 / -80 when it touches an
        end of the first body; else 0. Warm-up: 11 bars.
    """
    return k.harami_kernel(*_ohlc(open, high, low, close), False)


def cdlharamicross(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
) -> IntArray:
    """Mark harami crosses: a long body followed by a doji inside it.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.

    Returns
    -------
    numpy.ndarray of int32
        +-100 (strictly inside) or +-80 (touching an end), sign opposite to the first candle's
        colour; else 0. Warm-up: 11 bars.
    """
    return k.harami_kernel(*_ohlc(open, high, low, close), True)


def cdlpiercing(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
) -> IntArray:
    """Mark piercing lines: a long black candle, then a long white one opening below its low.

    The white candle closes above the midpoint of the black body but below its open.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.

    Returns
    -------
    numpy.ndarray of int32
        100 on the second candle of the pattern, else 0. Warm-up: 11 bars.
    """
    return k.piercing_kernel(*_ohlc(open, high, low, close))


def cdldarkcloudcover(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    penetration: float = 0.5,
) -> IntArray:
    """Mark dark cloud covers: a long white candle, then a black one opening above its high.

    The black candle closes inside the white body, below its close by at least ``penetration``
    of the white body.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.
    penetration : float, default 0.5
        Fraction of the white body the black close must reach into, >= 0.

    Returns
    -------
    numpy.ndarray of int32
        -100 on the second candle of the pattern, else 0. Warm-up: 11 bars.
    """
    depth = penetration_value(penetration)
    return k.dark_cloud_kernel(*_ohlc(open, high, low, close), depth)


def cdlmorningstar(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    penetration: float = 0.3,
) -> IntArray:
    """Mark morning stars: long black, short body gapping down, then a white candle rallying.

    The third candle is longer than short and closes above the first close by at least
    ``penetration`` of the first body.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.
    penetration : float, default 0.3
        Fraction of the first body the third close must recover, >= 0.

    Returns
    -------
    numpy.ndarray of int32
        100 on the third candle, else 0. Warm-up: 12 bars.
    """
    depth = penetration_value(penetration)
    return k.star_kernel(*_ohlc(open, high, low, close), depth, False)


def cdleveningstar(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    penetration: float = 0.3,
) -> IntArray:
    """Mark evening stars: long white, short body gapping up, then a black candle falling.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.
    penetration : float, default 0.3
        Fraction of the first body the third close must fall into, >= 0.

    Returns
    -------
    numpy.ndarray of int32
        -100 on the third candle, else 0. Warm-up: 12 bars.
    """
    depth = penetration_value(penetration)
    return k.star_kernel(*_ohlc(open, high, low, close), depth, True)


def cdl3whitesoldiers(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
) -> IntArray:
    """Mark three advancing white soldiers.

    Three white candles with very short upper shadows and rising closes, each opening within or
    near the previous body, none far shorter than the one before, the last not short.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.

    Returns
    -------
    numpy.ndarray of int32
        100 on the third candle, else 0. Warm-up: 12 bars.
    """
    return k.three_white_soldiers_kernel(*_ohlc(open, high, low, close))


def cdl3blackcrows(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
) -> IntArray:
    """Mark three black crows after a white candle.

    Three black candles with very short lower shadows and falling closes, each opening inside
    the previous body; the first closes below the high of the white candle before it.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.

    Returns
    -------
    numpy.ndarray of int32
        -100 on the third black candle, else 0. Warm-up: 13 bars.
    """
    return k.three_black_crows_kernel(*_ohlc(open, high, low, close))


def cdl3inside(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
) -> IntArray:
    """Mark three inside up/down: a harami confirmed by a third candle closing past the first open.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.

    Returns
    -------
    numpy.ndarray of int32
        100 (inside up, after a long black candle) or -100 (inside down), else 0.
        Warm-up: 12 bars.
    """
    return k.three_inside_kernel(*_ohlc(open, high, low, close))


def cdl3outside(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
) -> IntArray:
    """Mark three outside up/down: an engulfing pair confirmed by a third close beyond it.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.

    Returns
    -------
    numpy.ndarray of int32
        100 (outside up) or -100 (outside down) on the third candle, else 0. Warm-up: 3 bars.
    """
    return k.three_outside_kernel(*_ohlc(open, high, low, close))


def cdltweezer(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
) -> IntArray:
    """Mark tweezer tops (-100) and bottoms (+100); TA-Lib has no such function.

    Our definition, in TA-Lib's vocabulary, judged on the pair (bar t-1, bar t):

    - the two candles have opposite colours, and candle t-1's real body is not short (larger
      than the mean body of the 10 candles before it, TA-Lib's BodyShort);
    - top: t-1 is white, t is black, their highs are equal within TA-Lib's "Equal" tolerance
      (5% of the mean high-low range of the 5 candles before t-1, as CDLMATCHINGLOW uses), and
      t-1 made a higher high than t-2 (the pair stands at a local top);
    - bottom: mirror image, with lows and a lower low than t-2.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.

    Returns
    -------
    numpy.ndarray of int32
        -100 on the second candle of a tweezer top, 100 on that of a tweezer bottom, else 0.
        Warm-up: 11 bars.
    """
    return tweezer_kernel(*_ohlc(open, high, low, close))


def cdltweezertop(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
) -> IntArray:
    """Mark tweezer tops only (-100); see :func:`cdltweezer` for the definition.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.

    Returns
    -------
    numpy.ndarray of int32
        -100 on the second candle of a tweezer top, else 0. Warm-up: 11 bars.
    """
    marks = cdltweezer(open, high, low, close)
    marks[marks > 0] = 0
    return marks


def cdltweezerbottom(
    open: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
) -> IntArray:
    """Mark tweezer bottoms only (100); see :func:`cdltweezer` for the definition.

    Parameters
    ----------
    open, high, low, close : array-like of float
        Candle prices, oldest first, equal length.

    Returns
    -------
    numpy.ndarray of int32
        100 on the second candle of a tweezer bottom, else 0. Warm-up: 11 bars.
    """
    marks = cdltweezer(open, high, low, close)
    marks[marks < 0] = 0
    return marks
