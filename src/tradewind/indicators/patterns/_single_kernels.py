# ruff: noqa: E741 - o, h, l, c are the conventional OHLC names in these kernels
"""Numba kernels of the one-candle TA-Lib patterns (doji family, hammer family, marubozu, top).

Each kernel mirrors the matching ``ta_CDL*.c`` loop: the same lookback, the same running sums
seeded from the first candle and slid one candle per bar, and the same comparisons in the same
order, so that the outputs agree bar for bar, including on prices around 1e-5 where a different
summation order would flip a comparison. Candles before the lookback stay 0, as in TA-Lib.

The tests are combined with ``&`` and turned into the output by multiplication instead of
``and``/``if``: patterns fire on a few percent of bars at random, so branches mispredict and a
branchy loop ran 5-40x slower than this branch-free form (all comparisons are cheap and safe to
evaluate at every bar past the lookback).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from tradewind.indicators.patterns._candle_math import (
    BODY_DOJI,
    BODY_LONG,
    BODY_SHORT,
    NEAR,
    SHADOW_LONG,
    SHADOW_VERY_SHORT,
    candle_average,
    candle_range,
    color,
    lower_shadow,
    real_body,
    seed_total,
    upper_shadow,
)

Prices = npt.NDArray[np.float64]
Signals = npt.NDArray[np.int32]


@njit(cache=True)
def doji_into(o: Prices, h: Prices, l: Prices, c: Prices, out: Signals) -> bool:
    """Doji marks into ``out`` (zeros from the caller); False when the inputs' sum is not finite.

    The loop runs over views that start at index 0 (the bar, and the bar leaving the average
    ten bars back), which keeps numba's negative-index wraparound code out of it, and sums
    every input as it goes in place of a separate finiteness pass (see ``ohlc_unchecked``).
    """
    n = o.shape[0]
    period = BODY_DOJI[1]
    check = 0.0
    for i in range(min(period, n)):
        check += (o[i] + h[i]) + (l[i] + c[i])
    if period >= n:
        return bool(np.isfinite(check))
    total = seed_total(BODY_DOJI, o, h, l, c, 0, period)
    factor = BODY_DOJI[2]
    o1 = o[period:]
    h1 = h[period:]
    l1 = l[period:]
    c1 = c[period:]
    h0 = h[: n - period]
    l0 = l[: n - period]
    marks = out[period:]
    for j in range(o1.shape[0]):
        oj = o1[j]
        hj = h1[j]
        lj = l1[j]
        cj = c1[j]
        # The same operations in the same order as candle_average / candle_range.
        marks[j] = 100 * (abs(cj - oj) <= factor * (total / period))
        total += (hj - lj) - (h0[j] - l0[j])
        check = check + ((oj + hj) + (lj + cj))
    return bool(np.isfinite(check))


@njit(cache=True)
def doji_shadow_kernel(o: Prices, h: Prices, l: Prices, c: Prices, upper: bool) -> Signals:
    """Dragonfly doji (``upper`` False: long lower shadow) or gravestone doji (``upper`` True)."""
    n = o.shape[0]
    out = np.zeros(n, dtype=np.int32)
    start = max(BODY_DOJI[1], SHADOW_VERY_SHORT[1])
    if start >= n:
        return out
    doji_trail = start - BODY_DOJI[1]
    short_trail = start - SHADOW_VERY_SHORT[1]
    doji_total = seed_total(BODY_DOJI, o, h, l, c, doji_trail, start)
    short_total = seed_total(SHADOW_VERY_SHORT, o, h, l, c, short_trail, start)
    for i in range(start, n):
        doji_trail = i - BODY_DOJI[1]
        short_trail = i - SHADOW_VERY_SHORT[1]
        short = candle_average(SHADOW_VERY_SHORT, short_total, o, h, l, c, i)
        if upper:
            near_side = lower_shadow(o, l, c, i)
            far_side = upper_shadow(o, h, c, i)
        else:
            near_side = upper_shadow(o, h, c, i)
            far_side = lower_shadow(o, l, c, i)
        out[i] = 100 * (
            (real_body(o, c, i) <= candle_average(BODY_DOJI, doji_total, o, h, l, c, i))
            & (near_side < short)
            & (far_side > short)
        )
        doji_total += candle_range(BODY_DOJI, o, h, l, c, i) - candle_range(
            BODY_DOJI, o, h, l, c, doji_trail
        )
        short_total += candle_range(SHADOW_VERY_SHORT, o, h, l, c, i) - candle_range(
            SHADOW_VERY_SHORT, o, h, l, c, short_trail
        )
    return out


@njit(cache=True)
def hammer_kernel(o: Prices, h: Prices, l: Prices, c: Prices, hanging: bool) -> Signals:
    """Hammer (``hanging`` False, +100) or hanging man (``hanging`` True, -100).

    Both: small body, long lower shadow, very short upper shadow; the hammer's body sits near or
    below the previous candle's low, the hanging man's near or above the previous candle's high.
    """
    n = o.shape[0]
    out = np.zeros(n, dtype=np.int32)
    start = max(BODY_SHORT[1], SHADOW_LONG[1], SHADOW_VERY_SHORT[1], NEAR[1]) + 1
    if start >= n:
        return out
    body_trail = start - BODY_SHORT[1]
    short_trail = start - SHADOW_VERY_SHORT[1]
    near_trail = start - 1 - NEAR[1]
    body_total = seed_total(BODY_SHORT, o, h, l, c, body_trail, start)
    short_total = seed_total(SHADOW_VERY_SHORT, o, h, l, c, short_trail, start)
    near_total = seed_total(NEAR, o, h, l, c, near_trail, start - 1)
    mark = -100 if hanging else 100
    not_hanging = not hanging
    for i in range(start, n):
        body_trail = i - BODY_SHORT[1]
        short_trail = i - SHADOW_VERY_SHORT[1]
        near_trail = i - 1 - NEAR[1]
        shape = (
            (real_body(o, c, i) < candle_average(BODY_SHORT, body_total, o, h, l, c, i))
            & (lower_shadow(o, l, c, i) > candle_average(SHADOW_LONG, 0.0, o, h, l, c, i))
            & (
                upper_shadow(o, h, c, i)
                < candle_average(SHADOW_VERY_SHORT, short_total, o, h, l, c, i)
            )
        )
        low_end = min(c[i], o[i])
        near = candle_average(NEAR, near_total, o, h, l, c, i - 1)
        placed = (hanging & (low_end >= h[i - 1] - near)) | (
            not_hanging & (low_end <= l[i - 1] + near)
        )
        out[i] = mark * (shape & placed)
        body_total += candle_range(BODY_SHORT, o, h, l, c, i) - candle_range(
            BODY_SHORT, o, h, l, c, body_trail
        )
        short_total += candle_range(SHADOW_VERY_SHORT, o, h, l, c, i) - candle_range(
            SHADOW_VERY_SHORT, o, h, l, c, short_trail
        )
        near_total += candle_range(NEAR, o, h, l, c, i - 1) - candle_range(
            NEAR, o, h, l, c, near_trail
        )
    return out


@njit(cache=True)
def inverted_hammer_into(
    o: Prices, h: Prices, l: Prices, c: Prices, shooting: bool, out: Signals
) -> bool:
    """Inverted hammer (``shooting`` False, +100, body gaps down) or shooting star (-100, up).

    Marks go into ``out`` (zeros from the caller); returns False when the inputs' sum is not
    finite. As in :func:`doji_into`, the loop runs over views that start at index 0, with the
    previous body carried in registers, and sums the inputs as it reads them.
    """
    n = o.shape[0]
    period = BODY_SHORT[1]  # == SHADOW_VERY_SHORT[1]: one trailing bar serves both sums
    start = max(BODY_SHORT[1], SHADOW_LONG[1], SHADOW_VERY_SHORT[1]) + 1
    check = 0.0
    for i in range(min(start, n)):
        check += (o[i] + h[i]) + (l[i] + c[i])
    if start >= n:
        return bool(np.isfinite(check))
    body_total = seed_total(BODY_SHORT, o, h, l, c, start - period, start)
    short_total = seed_total(SHADOW_VERY_SHORT, o, h, l, c, start - period, start)
    body_factor = BODY_SHORT[2]
    short_factor = SHADOW_VERY_SHORT[2]
    mark = -100 if shooting else 100
    o1 = o[start:]
    h1 = h[start:]
    l1 = l[start:]
    c1 = c[start:]
    o0 = o[start - period : n - period]
    h0 = h[start - period : n - period]
    l0 = l[start - period : n - period]
    c0 = c[start - period : n - period]
    marks = out[start:]
    prev_top = max(o[start - 1], c[start - 1])
    prev_bottom = min(o[start - 1], c[start - 1])
    for j in range(o1.shape[0]):
        oj = o1[j]
        hj = h1[j]
        lj = l1[j]
        cj = c1[j]
        top = max(cj, oj)
        bottom = min(cj, oj)
        body = abs(cj - oj)
        gap = (bottom > prev_top) if shooting else (top < prev_bottom)
        # Bodies rarely gap (candles mostly open at the previous close), so this branch is
        # predictable and the shape test, with its two divisions, runs on few bars.
        if gap:
            shape = (
                (body < body_factor * (body_total / period))
                & (hj - top > body)
                & (bottom - lj < short_factor * (short_total / period))
            )
            marks[j] = mark * shape
        body_total += body - abs(c0[j] - o0[j])
        short_total += (hj - lj) - (h0[j] - l0[j])
        check = check + ((oj + hj) + (lj + cj))
        prev_top = top
        prev_bottom = bottom
    return bool(np.isfinite(check))


@njit(cache=True)
def marubozu_kernel(o: Prices, h: Prices, l: Prices, c: Prices) -> Signals:
    n = o.shape[0]
    out = np.zeros(n, dtype=np.int32)
    start = max(BODY_LONG[1], SHADOW_VERY_SHORT[1])
    if start >= n:
        return out
    body_trail = start - BODY_LONG[1]
    short_trail = start - SHADOW_VERY_SHORT[1]
    body_total = seed_total(BODY_LONG, o, h, l, c, body_trail, start)
    short_total = seed_total(SHADOW_VERY_SHORT, o, h, l, c, short_trail, start)
    for i in range(start, n):
        body_trail = i - BODY_LONG[1]
        short_trail = i - SHADOW_VERY_SHORT[1]
        short = candle_average(SHADOW_VERY_SHORT, short_total, o, h, l, c, i)
        out[i] = (
            color(o, c, i)
            * 100
            * (
                (real_body(o, c, i) > candle_average(BODY_LONG, body_total, o, h, l, c, i))
                & (upper_shadow(o, h, c, i) < short)
                & (lower_shadow(o, l, c, i) < short)
            )
        )
        body_total += candle_range(BODY_LONG, o, h, l, c, i) - candle_range(
            BODY_LONG, o, h, l, c, body_trail
        )
        short_total += candle_range(SHADOW_VERY_SHORT, o, h, l, c, i) - candle_range(
            SHADOW_VERY_SHORT, o, h, l, c, short_trail
        )
    return out


@njit(cache=True)
def spinning_top_kernel(o: Prices, h: Prices, l: Prices, c: Prices) -> Signals:
    n = o.shape[0]
    out = np.zeros(n, dtype=np.int32)
    start = BODY_SHORT[1]
    if start >= n:
        return out
    trail = start - BODY_SHORT[1]
    total = seed_total(BODY_SHORT, o, h, l, c, trail, start)
    for i in range(start, n):
        trail = i - BODY_SHORT[1]
        body = real_body(o, c, i)
        out[i] = (
            color(o, c, i)
            * 100
            * (
                (body < candle_average(BODY_SHORT, total, o, h, l, c, i))
                & (upper_shadow(o, h, c, i) > body)
                & (lower_shadow(o, l, c, i) > body)
            )
        )
        total += candle_range(BODY_SHORT, o, h, l, c, i) - candle_range(
            BODY_SHORT, o, h, l, c, trail
        )
    return out
