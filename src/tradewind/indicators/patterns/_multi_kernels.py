# ruff: noqa: E741 - o, h, l, c are the conventional OHLC names in these kernels
"""Numba kernels of the two- and three-candle TA-Lib patterns.

As in ``_single_kernels``, each loop mirrors its ``ta_CDL*.c`` counterpart: lookback, running
sums per candle position (TA-Lib keeps one sum per position it judges, e.g. ``total[2]`` for
the candle two bars back), and comparison order. Candles before the lookback stay 0. Tests are
combined branch-free with ``&``/``|`` for speed (see ``_single_kernels``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from tradewind.indicators.patterns._candle_math import (
    BODY_DOJI,
    BODY_LONG,
    BODY_SHORT,
    FAR,
    NEAR,
    SHADOW_VERY_SHORT,
    body_max,
    body_min,
    candle_average,
    candle_range,
    color,
    gap_down,
    gap_up,
    lower_shadow,
    real_body,
    seed_total,
    upper_shadow,
)

Prices = npt.NDArray[np.float64]
Signals = npt.NDArray[np.int32]


@njit(cache=True)
def engulfing_kernel(o: Prices, h: Prices, l: Prices, c: Prices) -> Signals:
    n = o.shape[0]
    out = np.zeros(n, dtype=np.int32)
    for i in range(2, n):
        now = color(o, c, i)
        before = color(o, c, i - 1)
        white_engulfs = (
            (now == 1)
            & (before == -1)
            & (((c[i] >= o[i - 1]) & (o[i] < c[i - 1])) | ((c[i] > o[i - 1]) & (o[i] <= c[i - 1])))
        )
        black_engulfs = (
            (now == -1)
            & (before == 1)
            & (((o[i] >= c[i - 1]) & (c[i] < o[i - 1])) | ((o[i] > c[i - 1]) & (c[i] <= o[i - 1])))
        )
        # One matching end (open on the prior close, or close on the prior open) is the weaker
        # form TA-Lib 0.6 marks with 80; 100 when both ends differ (80 + 20).
        strict = (o[i] != c[i - 1]) & (c[i] != o[i - 1])
        out[i] = now * (white_engulfs | black_engulfs) * (80 + 20 * strict)
    return out


@njit(cache=True)
def harami_kernel(o: Prices, h: Prices, l: Prices, c: Prices, cross: bool) -> Signals:
    """Harami (second body short) or harami cross (a doji); +-100 strict, +-80 touching."""
    n = o.shape[0]
    out = np.zeros(n, dtype=np.int32)
    second = BODY_DOJI if cross else BODY_SHORT
    start = max(second[1], BODY_LONG[1]) + 1
    if start >= n:
        return out
    long_trail = start - 1 - BODY_LONG[1]
    second_trail = start - second[1]
    long_total = seed_total(BODY_LONG, o, h, l, c, long_trail, start - 1)
    second_total = seed_total(second, o, h, l, c, second_trail, start)
    for i in range(start, n):
        long_trail = i - 1 - BODY_LONG[1]
        second_trail = i - second[1]
        sizes = (
            real_body(o, c, i - 1) > candle_average(BODY_LONG, long_total, o, h, l, c, i - 1)
        ) & (real_body(o, c, i) <= candle_average(second, second_total, o, h, l, c, i))
        top_now = body_max(c, o, i)
        top_before = body_max(c, o, i - 1)
        bottom_now = body_min(c, o, i)
        bottom_before = body_min(c, o, i - 1)
        inside = (top_now < top_before) & (bottom_now > bottom_before)
        touching = (top_now <= top_before) & (bottom_now >= bottom_before)
        # 100 strictly inside, 80 touching an end (inside implies touching: 80 + 20).
        out[i] = -color(o, c, i - 1) * sizes * (80 * touching + 20 * inside)
        long_total += candle_range(BODY_LONG, o, h, l, c, i - 1) - candle_range(
            BODY_LONG, o, h, l, c, long_trail
        )
        second_total += candle_range(second, o, h, l, c, i) - candle_range(
            second, o, h, l, c, second_trail
        )
    return out


@njit(cache=True)
def piercing_kernel(o: Prices, h: Prices, l: Prices, c: Prices) -> Signals:
    n = o.shape[0]
    out = np.zeros(n, dtype=np.int32)
    start = BODY_LONG[1] + 1
    if start >= n:
        return out
    trail = start - BODY_LONG[1]
    total1 = seed_total(BODY_LONG, o, h, l, c, trail - 1, start - 1)
    total0 = seed_total(BODY_LONG, o, h, l, c, trail, start)
    for i in range(start, n):
        trail = i - BODY_LONG[1]
        out[i] = 100 * (
            (color(o, c, i - 1) == -1)
            & (real_body(o, c, i - 1) > candle_average(BODY_LONG, total1, o, h, l, c, i - 1))
            & (color(o, c, i) == 1)
            & (real_body(o, c, i) > candle_average(BODY_LONG, total0, o, h, l, c, i))
            & (o[i] < l[i - 1])
            & (c[i] < o[i - 1])
            & (c[i] > c[i - 1] + real_body(o, c, i - 1) * 0.5)
        )
        total1 += candle_range(BODY_LONG, o, h, l, c, i - 1) - candle_range(
            BODY_LONG, o, h, l, c, trail - 1
        )
        total0 += candle_range(BODY_LONG, o, h, l, c, i) - candle_range(
            BODY_LONG, o, h, l, c, trail
        )
    return out


@njit(cache=True)
def dark_cloud_kernel(
    o: Prices,
    h: Prices,
    l: Prices,
    c: Prices,
    penetration: float,
) -> Signals:
    n = o.shape[0]
    out = np.zeros(n, dtype=np.int32)
    start = BODY_LONG[1] + 1
    if start >= n:
        return out
    trail = start - BODY_LONG[1]
    total = seed_total(BODY_LONG, o, h, l, c, trail - 1, start - 1)
    for i in range(start, n):
        trail = i - BODY_LONG[1]
        out[i] = -100 * (
            (color(o, c, i - 1) == 1)
            & (real_body(o, c, i - 1) > candle_average(BODY_LONG, total, o, h, l, c, i - 1))
            & (color(o, c, i) == -1)
            & (o[i] > h[i - 1])
            & (c[i] > o[i - 1])
            & (c[i] < c[i - 1] - real_body(o, c, i - 1) * penetration)
        )
        total += candle_range(BODY_LONG, o, h, l, c, i - 1) - candle_range(
            BODY_LONG, o, h, l, c, trail - 1
        )
    return out


@njit(cache=True)
def star_kernel(
    o: Prices,
    h: Prices,
    l: Prices,
    c: Prices,
    penetration: float,
    evening: bool,
) -> Signals:
    """Morning star (``evening`` False, +100) or evening star (``evening`` True, -100)."""
    n = o.shape[0]
    out = np.zeros(n, dtype=np.int32)
    start = max(BODY_SHORT[1], BODY_LONG[1]) + 2
    if start >= n:
        return out
    long_trail = start - 2 - BODY_LONG[1]
    short_trail = start - 1 - BODY_SHORT[1]
    long_total = seed_total(BODY_LONG, o, h, l, c, long_trail, start - 2)
    short_total = seed_total(BODY_SHORT, o, h, l, c, short_trail, start - 1)
    short_total2 = seed_total(BODY_SHORT, o, h, l, c, short_trail + 1, start)
    first_color = 1 if evening else -1
    mark = -100 if evening else 100
    morning = not evening
    for i in range(start, n):
        long_trail = i - 2 - BODY_LONG[1]
        short_trail = i - 1 - BODY_SHORT[1]
        gap = (evening & gap_up(o, c, i - 1, i - 2)) | (morning & gap_down(o, c, i - 1, i - 2))
        reach = real_body(o, c, i - 2) * penetration
        recovered = (evening & (c[i] < c[i - 2] - reach)) | (morning & (c[i] > c[i - 2] + reach))
        out[i] = mark * (
            (real_body(o, c, i - 2) > candle_average(BODY_LONG, long_total, o, h, l, c, i - 2))
            & (color(o, c, i - 2) == first_color)
            & (real_body(o, c, i - 1) <= candle_average(BODY_SHORT, short_total, o, h, l, c, i - 1))
            & gap
            & (real_body(o, c, i) > candle_average(BODY_SHORT, short_total2, o, h, l, c, i))
            & (color(o, c, i) == -first_color)
            & recovered
        )
        long_total += candle_range(BODY_LONG, o, h, l, c, i - 2) - candle_range(
            BODY_LONG, o, h, l, c, long_trail
        )
        short_total += candle_range(BODY_SHORT, o, h, l, c, i - 1) - candle_range(
            BODY_SHORT, o, h, l, c, short_trail
        )
        short_total2 += candle_range(BODY_SHORT, o, h, l, c, i) - candle_range(
            BODY_SHORT, o, h, l, c, short_trail + 1
        )
    return out


@njit(cache=True)
def three_white_soldiers_kernel(o: Prices, h: Prices, l: Prices, c: Prices) -> Signals:
    n = o.shape[0]
    out = np.zeros(n, dtype=np.int32)
    start = max(SHADOW_VERY_SHORT[1], BODY_SHORT[1], FAR[1], NEAR[1]) + 2
    if start >= n:
        return out
    vs_trail = start - SHADOW_VERY_SHORT[1]
    near_trail = start - NEAR[1]
    far_trail = start - FAR[1]
    body_trail = start - BODY_SHORT[1]
    vs2 = seed_total(SHADOW_VERY_SHORT, o, h, l, c, vs_trail - 2, start - 2)
    vs1 = seed_total(SHADOW_VERY_SHORT, o, h, l, c, vs_trail - 1, start - 1)
    vs0 = seed_total(SHADOW_VERY_SHORT, o, h, l, c, vs_trail, start)
    near2 = seed_total(NEAR, o, h, l, c, near_trail - 2, start - 2)
    near1 = seed_total(NEAR, o, h, l, c, near_trail - 1, start - 1)
    far2 = seed_total(FAR, o, h, l, c, far_trail - 2, start - 2)
    far1 = seed_total(FAR, o, h, l, c, far_trail - 1, start - 1)
    body = seed_total(BODY_SHORT, o, h, l, c, body_trail, start)
    for i in range(start, n):
        vs_trail = i - SHADOW_VERY_SHORT[1]
        near_trail = i - NEAR[1]
        far_trail = i - FAR[1]
        body_trail = i - BODY_SHORT[1]
        # A cheap, rarely-true gate first: three rising white candles. It is predictable, so the
        # branch costs nothing and skips the full test on most bars.
        rising = (
            (color(o, c, i - 2) == 1)
            & (color(o, c, i - 1) == 1)
            & (color(o, c, i) == 1)
            & (c[i] > c[i - 1])
            & (c[i - 1] > c[i - 2])
        )
        if rising:
            out[i] = 100 * (
                (color(o, c, i - 2) == 1)
                & (
                    upper_shadow(o, h, c, i - 2)
                    < candle_average(SHADOW_VERY_SHORT, vs2, o, h, l, c, i - 2)
                )
                & (color(o, c, i - 1) == 1)
                & (
                    upper_shadow(o, h, c, i - 1)
                    < candle_average(SHADOW_VERY_SHORT, vs1, o, h, l, c, i - 1)
                )
                & (color(o, c, i) == 1)
                & (upper_shadow(o, h, c, i) < candle_average(SHADOW_VERY_SHORT, vs0, o, h, l, c, i))
                & (c[i] > c[i - 1])
                & (c[i - 1] > c[i - 2])
                & (o[i - 1] > o[i - 2])
                & (o[i - 1] <= c[i - 2] + candle_average(NEAR, near2, o, h, l, c, i - 2))
                & (o[i] > o[i - 1])
                & (o[i] <= c[i - 1] + candle_average(NEAR, near1, o, h, l, c, i - 1))
                & (
                    real_body(o, c, i - 1)
                    > real_body(o, c, i - 2) - candle_average(FAR, far2, o, h, l, c, i - 2)
                )
                & (
                    real_body(o, c, i)
                    > real_body(o, c, i - 1) - candle_average(FAR, far1, o, h, l, c, i - 1)
                )
                & (real_body(o, c, i) > candle_average(BODY_SHORT, body, o, h, l, c, i))
            )
        vs2 += candle_range(SHADOW_VERY_SHORT, o, h, l, c, i - 2) - candle_range(
            SHADOW_VERY_SHORT, o, h, l, c, vs_trail - 2
        )
        vs1 += candle_range(SHADOW_VERY_SHORT, o, h, l, c, i - 1) - candle_range(
            SHADOW_VERY_SHORT, o, h, l, c, vs_trail - 1
        )
        vs0 += candle_range(SHADOW_VERY_SHORT, o, h, l, c, i) - candle_range(
            SHADOW_VERY_SHORT, o, h, l, c, vs_trail
        )
        far2 += candle_range(FAR, o, h, l, c, i - 2) - candle_range(FAR, o, h, l, c, far_trail - 2)
        far1 += candle_range(FAR, o, h, l, c, i - 1) - candle_range(FAR, o, h, l, c, far_trail - 1)
        near2 += candle_range(NEAR, o, h, l, c, i - 2) - candle_range(
            NEAR, o, h, l, c, near_trail - 2
        )
        near1 += candle_range(NEAR, o, h, l, c, i - 1) - candle_range(
            NEAR, o, h, l, c, near_trail - 1
        )
        body += candle_range(BODY_SHORT, o, h, l, c, i) - candle_range(
            BODY_SHORT, o, h, l, c, body_trail
        )
    return out


@njit(cache=True)
def three_black_crows_kernel(o: Prices, h: Prices, l: Prices, c: Prices) -> Signals:
    n = o.shape[0]
    out = np.zeros(n, dtype=np.int32)
    start = SHADOW_VERY_SHORT[1] + 3
    if start >= n:
        return out
    trail = start - SHADOW_VERY_SHORT[1]
    vs2 = seed_total(SHADOW_VERY_SHORT, o, h, l, c, trail - 2, start - 2)
    vs1 = seed_total(SHADOW_VERY_SHORT, o, h, l, c, trail - 1, start - 1)
    vs0 = seed_total(SHADOW_VERY_SHORT, o, h, l, c, trail, start)
    for i in range(start, n):
        trail = i - SHADOW_VERY_SHORT[1]
        # Gate on the colour sequence (white, black, black, black) first; see the soldiers.
        crows = (
            (color(o, c, i - 3) == 1)
            & (color(o, c, i - 2) == -1)
            & (color(o, c, i - 1) == -1)
            & (color(o, c, i) == -1)
        )
        if crows:
            out[i] = -100 * (
                (color(o, c, i - 3) == 1)
                & (color(o, c, i - 2) == -1)
                & (
                    lower_shadow(o, l, c, i - 2)
                    < candle_average(SHADOW_VERY_SHORT, vs2, o, h, l, c, i - 2)
                )
                & (color(o, c, i - 1) == -1)
                & (
                    lower_shadow(o, l, c, i - 1)
                    < candle_average(SHADOW_VERY_SHORT, vs1, o, h, l, c, i - 1)
                )
                & (color(o, c, i) == -1)
                & (lower_shadow(o, l, c, i) < candle_average(SHADOW_VERY_SHORT, vs0, o, h, l, c, i))
                & (o[i - 1] < o[i - 2])
                & (o[i - 1] > c[i - 2])
                & (o[i] < o[i - 1])
                & (o[i] > c[i - 1])
                & (h[i - 3] > c[i - 2])
                & (c[i - 2] > c[i - 1])
                & (c[i - 1] > c[i])
            )
        vs2 += candle_range(SHADOW_VERY_SHORT, o, h, l, c, i - 2) - candle_range(
            SHADOW_VERY_SHORT, o, h, l, c, trail - 2
        )
        vs1 += candle_range(SHADOW_VERY_SHORT, o, h, l, c, i - 1) - candle_range(
            SHADOW_VERY_SHORT, o, h, l, c, trail - 1
        )
        vs0 += candle_range(SHADOW_VERY_SHORT, o, h, l, c, i) - candle_range(
            SHADOW_VERY_SHORT, o, h, l, c, trail
        )
    return out


@njit(cache=True)
def three_inside_kernel(o: Prices, h: Prices, l: Prices, c: Prices) -> Signals:
    n = o.shape[0]
    out = np.zeros(n, dtype=np.int32)
    start = max(BODY_SHORT[1], BODY_LONG[1]) + 2
    if start >= n:
        return out
    long_trail = start - 2 - BODY_LONG[1]
    short_trail = start - 1 - BODY_SHORT[1]
    long_total = seed_total(BODY_LONG, o, h, l, c, long_trail, start - 2)
    short_total = seed_total(BODY_SHORT, o, h, l, c, short_trail, start - 1)
    for i in range(start, n):
        long_trail = i - 2 - BODY_LONG[1]
        short_trail = i - 1 - BODY_SHORT[1]
        first = color(o, c, i - 2)
        third = color(o, c, i)
        out[i] = (
            -first
            * 100
            * (
                (real_body(o, c, i - 2) > candle_average(BODY_LONG, long_total, o, h, l, c, i - 2))
                & (
                    real_body(o, c, i - 1)
                    <= candle_average(BODY_SHORT, short_total, o, h, l, c, i - 1)
                )
                & (body_max(c, o, i - 1) < body_max(c, o, i - 2))
                & (body_min(c, o, i - 1) > body_min(c, o, i - 2))
                & (
                    ((first == 1) & (third == -1) & (c[i] < o[i - 2]))
                    | ((first == -1) & (third == 1) & (c[i] > o[i - 2]))
                )
            )
        )
        long_total += candle_range(BODY_LONG, o, h, l, c, i - 2) - candle_range(
            BODY_LONG, o, h, l, c, long_trail
        )
        short_total += candle_range(BODY_SHORT, o, h, l, c, i - 1) - candle_range(
            BODY_SHORT, o, h, l, c, short_trail
        )
    return out


@njit(cache=True)
def three_outside_kernel(o: Prices, h: Prices, l: Prices, c: Prices) -> Signals:
    n = o.shape[0]
    out = np.zeros(n, dtype=np.int32)
    for i in range(3, n):
        middle = color(o, c, i - 1)
        first = color(o, c, i - 2)
        up = (
            (middle == 1)
            & (first == -1)
            & (c[i - 1] > o[i - 2])
            & (o[i - 1] < c[i - 2])
            & (c[i] > c[i - 1])
        )
        down = (
            (middle == -1)
            & (first == 1)
            & (o[i - 1] > c[i - 2])
            & (c[i - 1] < o[i - 2])
            & (c[i] < c[i - 1])
        )
        out[i] = middle * 100 * (up | down)
    return out
