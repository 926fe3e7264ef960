# ruff: noqa: E741 - o, h, l, c are the conventional OHLC names in these kernels
"""Numba kernel of the tweezer top and bottom, which TA-Lib does not have.

The definition (documented on :func:`tradewind.indicators.patterns.cdltweezer`) reuses TA-Lib's
candle settings and running-sum order so that it reads like the other CDL functions.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from tradewind.indicators.patterns._candle_math import (
    BODY_SHORT,
    EQUAL,
    candle_average,
    candle_range,
    color,
    real_body,
    seed_total,
)

Prices = npt.NDArray[np.float64]
Signals = npt.NDArray[np.int32]

TWEEZER_LOOKBACK = max(EQUAL[1], BODY_SHORT[1]) + 1


@njit(cache=True)
def tweezer_kernel(o: Prices, h: Prices, l: Prices, c: Prices) -> Signals:
    n = o.shape[0]
    out = np.zeros(n, dtype=np.int32)
    start = TWEEZER_LOOKBACK
    if start >= n:
        return out
    equal_trail = start - 1 - EQUAL[1]
    body_trail = start - 1 - BODY_SHORT[1]
    equal_total = seed_total(EQUAL, o, h, l, c, equal_trail, start - 1)
    body_total = seed_total(BODY_SHORT, o, h, l, c, body_trail, start - 1)
    for i in range(start, n):
        equal_trail = i - 1 - EQUAL[1]
        body_trail = i - 1 - BODY_SHORT[1]
        first = color(o, c, i - 1)
        equal = candle_average(EQUAL, equal_total, o, h, l, c, i - 1)
        pair = (first != color(o, c, i)) & (
            real_body(o, c, i - 1) > candle_average(BODY_SHORT, body_total, o, h, l, c, i - 1)
        )
        top = (first == 1) & (abs(h[i] - h[i - 1]) <= equal) & (h[i - 1] > h[i - 2])
        bottom = (first == -1) & (abs(l[i] - l[i - 1]) <= equal) & (l[i - 1] < l[i - 2])
        out[i] = pair * (100 * bottom - 100 * top)
        equal_total += candle_range(EQUAL, o, h, l, c, i - 1) - candle_range(
            EQUAL, o, h, l, c, equal_trail
        )
        body_total += candle_range(BODY_SHORT, o, h, l, c, i - 1) - candle_range(
            BODY_SHORT, o, h, l, c, body_trail
        )
    return out
