# ruff: noqa: E741 - o, h, l, c are the conventional OHLC names in these kernels
"""TA-Lib's candle settings and candle geometry, as numba helpers shared by every CDL kernel.

TA-Lib judges "long", "short", "doji", "near" and so on against a rolling average of one candle
measure (real body, high-low range, or the mean of both shadows) over the N candles *before* the
one being judged, times a factor. Matching TA-Lib bar for bar needs the same defaults, the same
measure per setting and the same floating-point order: the averages are kept as running sums
updated with ``total += range(new) - range(oldest)`` (not re-summed), and divided as
``factor * (total / period)``. Every kernel in this package follows that order exactly.

A setting is a tuple ``(range_kind, period, factor)``; a period of 0 means "this candle's own
measure", which is how TA-Lib defines ShadowLong and ShadowVeryLong.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

REAL_BODY = 0
HIGH_LOW = 1
SHADOWS = 2

# TA-Lib's TA_CandleDefaultSettings, in its order: (range kind, average period, factor).
BODY_LONG = (REAL_BODY, 10, 1.0)
BODY_VERY_LONG = (REAL_BODY, 10, 3.0)
BODY_SHORT = (REAL_BODY, 10, 1.0)
BODY_DOJI = (HIGH_LOW, 10, 0.1)
SHADOW_LONG = (REAL_BODY, 0, 1.0)
SHADOW_VERY_LONG = (REAL_BODY, 0, 2.0)
SHADOW_SHORT = (SHADOWS, 10, 1.0)
SHADOW_VERY_SHORT = (HIGH_LOW, 10, 0.1)
NEAR = (HIGH_LOW, 5, 0.2)
FAR = (HIGH_LOW, 5, 0.6)
EQUAL = (HIGH_LOW, 5, 0.05)

Prices = npt.NDArray[np.float64]


@njit(cache=True, inline="always")
def real_body(o: Prices, c: Prices, i: int) -> float:
    return abs(c[i] - o[i])


# TA-Lib writes these as ternaries (``c >= o ? c : o``). max/min pick a different operand only
# when c == o, where both are the same number (or +-0, which subtracts and compares the same), so
# the results agree for the finite inputs we accept; max/min compile to branch-free selects,
# while numba turned the ternaries into branches that mispredict on every other candle.
@njit(cache=True, inline="always")
def body_top(o: Prices, c: Prices, i: int) -> float:
    return max(c[i], o[i])


@njit(cache=True, inline="always")
def body_bottom(o: Prices, c: Prices, i: int) -> float:
    return min(c[i], o[i])


@njit(cache=True, inline="always")
def upper_shadow(o: Prices, h: Prices, c: Prices, i: int) -> float:
    return h[i] - body_top(o, c, i)


@njit(cache=True, inline="always")
def lower_shadow(o: Prices, l: Prices, c: Prices, i: int) -> float:
    return body_bottom(o, c, i) - l[i]


@njit(cache=True, inline="always")
def color(o: Prices, c: Prices, i: int) -> int:
    """+1 for a white (close >= open) candle, -1 for a black one, as TA_CANDLECOLOR."""
    return (c[i] >= o[i]) * 2 - 1


@njit(cache=True, inline="always")
def body_max(o: Prices, c: Prices, i: int) -> float:
    return max(o[i], c[i])


@njit(cache=True, inline="always")
def body_min(o: Prices, c: Prices, i: int) -> float:
    return min(o[i], c[i])


@njit(cache=True, inline="always")
def gap_up(o: Prices, c: Prices, later: int, earlier: int) -> bool:
    """The later real body lies wholly above the earlier one (TA_REALBODYGAPUP)."""
    return body_min(o, c, later) > body_max(o, c, earlier)


@njit(cache=True, inline="always")
def gap_down(o: Prices, c: Prices, later: int, earlier: int) -> bool:
    """The later real body lies wholly below the earlier one (TA_REALBODYGAPDOWN)."""
    return body_max(o, c, later) < body_min(o, c, earlier)


@njit(cache=True, inline="always")
def candle_range(
    setting: tuple[int, int, float],
    o: Prices,
    h: Prices,
    l: Prices,
    c: Prices,
    i: int,
) -> float:
    """The measure a setting averages, for candle ``i`` (TA_CANDLERANGE)."""
    kind = setting[0]
    if kind == REAL_BODY:
        return abs(c[i] - o[i])
    if kind == HIGH_LOW:
        return h[i] - l[i]
    return upper_shadow(o, h, c, i) + lower_shadow(o, l, c, i)


@njit(cache=True, inline="always")
def candle_average(
    setting: tuple[int, int, float],
    total: float,
    o: Prices,
    h: Prices,
    l: Prices,
    c: Prices,
    i: int,
) -> float:
    """The threshold a setting gives for candle ``i`` from its running sum (TA_CANDLEAVERAGE)."""
    period = setting[1]
    base = total / period if period != 0 else candle_range(setting, o, h, l, c, i)
    value = setting[2] * base
    # Shadows count two shadows per candle, so TA-Lib halves the average to get "one shadow".
    if setting[0] == SHADOWS:
        value = value / 2.0
    return value


@njit(cache=True, inline="always")
def seed_total(
    setting: tuple[int, int, float],
    o: Prices,
    h: Prices,
    l: Prices,
    c: Prices,
    first: int,
    stop: int,
) -> float:
    """Sum a setting's measure over candles ``first .. stop - 1``, left to right like TA-Lib."""
    total = 0.0
    for j in range(first, stop):
        total += candle_range(setting, o, h, l, c, j)
    return total
