"""Compiled sliding-window extremes (highest high, lowest low) in O(n), about three passes.

Shared by Donchian channels, Ichimoku and the swing detector. Each kernel takes a finite float64
array and a window length and returns a float64 array of the same length with NaN for the first
``timeperiod - 1`` bars; the value at bar t covers bars ``t - timeperiod + 1 .. t`` inclusive.
pandas equivalent: ``Series.rolling(timeperiod).max()`` / ``.min()``.

Algorithm (van Herk / Gil-Werman): cut the series into blocks of ``timeperiod`` bars, take running
extremes forward within each block (``prefix``) and backward within each block (``suffix``); any
window of ``timeperiod`` bars spans at most two blocks, so its extreme is
``max(suffix[t - timeperiod + 1], prefix[t])``. Three branch-light passes, no data-dependent
rescans, so the cost does not depend on how prices move. The streaming Donchian uses a monotonic
deque instead, which is the O(1)-per-update form.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from tradewind.indicators._checks import FloatArray


@nb.njit(cache=True, nogil=True)
def _blocks_into(
    values: FloatArray, w: int, take_max: bool, prefix: FloatArray, suffix: FloatArray
) -> None:  # pragma: no cover - numba
    n = values.shape[0]
    for start in range(0, n, w):
        stop = min(start + w, n)
        acc = values[start]
        for i in range(start, stop):
            v = values[i]
            if (v > acc) if take_max else (v < acc):
                acc = v
            prefix[i] = acc
        acc = values[stop - 1]
        for i in range(stop - 1, start - 1, -1):
            v = values[i]
            if (v > acc) if take_max else (v < acc):
                acc = v
            suffix[i] = acc


def _extreme(values: FloatArray, timeperiod: int, take_max: bool) -> FloatArray:
    n = values.shape[0]
    out = np.empty(n)
    out[: timeperiod - 1] = np.nan
    if n < timeperiod:
        return out
    # Buffers are allocated by NumPy, not inside the compiled kernel: NumPy reuses freed memory,
    # while allocating in the kernel page-faults fresh memory on every call (10x slower at 1M).
    prefix = np.empty(n)
    suffix = np.empty(n)
    _blocks_into(values, timeperiod, take_max, prefix, suffix)
    combine = np.maximum if take_max else np.minimum
    combine(suffix[: n - timeperiod + 1], prefix[timeperiod - 1 :], out=out[timeperiod - 1 :])
    return out


def rolling_max(values: FloatArray, timeperiod: int) -> FloatArray:
    """Highest value of the ``timeperiod`` bars ending at each bar; NaN during warm-up."""
    return _extreme(values, timeperiod, True)


def rolling_min(values: FloatArray, timeperiod: int) -> FloatArray:
    """Lowest value of the ``timeperiod`` bars ending at each bar; NaN during warm-up."""
    return _extreme(values, timeperiod, False)


# What :func:`window_extremes_into` writes at each bar once the window is full.
EXTREMES_DONCHIAN = 0  # out0 = highest high, out1 = midpoint, out2 = lowest low
EXTREMES_WILLR = 1  # out0 = Williams %R
EXTREMES_FASTK = 2  # out0 = raw stochastic %K


@nb.njit(cache=True, nogil=True)
def _oscillator(
    highest: float, lowest: float, close: float, mode: int
) -> float:  # pragma: no cover
    """Williams %R or raw %K from the window's extremes (a scalar helper: numba's IR-level
    ``inline="always"`` made the calling loop 6x slower here, LLVM's own inlining does not)."""
    rng = highest - lowest
    # TA-Lib's relative zero test on the range: a flat window gives 0, not a division by ~0.
    if abs(rng) <= 1e-14 * (abs(highest) + abs(lowest)):
        return 0.0
    if mode == EXTREMES_WILLR:
        return ((highest - close) / rng) * -100.0
    return ((close - lowest) / rng) * 100.0


@nb.njit(cache=True, nogil=True)
def window_extremes_into(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    k: int,
    mode: int,
    out0: FloatArray,
    out1: FloatArray,
    out2: FloatArray,
) -> bool:  # pragma: no cover - numba
    """Highest high and lowest low of each ``k``-bar window, in one pass, turned into ``mode``.

    Van Herk / Gil-Werman again, fused into a single sweep per block of ``k`` bars: step ``j``
    extends the forward (prefix) extremes of the block to bar ``start + j`` and the backward
    (suffix) extremes of the same block to bar ``start + k - 1 - j``, into a ``k + 1``-slot
    buffer that stays in cache. The window ending at bar t then combines the prefix with the
    *previous* block's suffix (two buffers, swapped per block); slot ``k`` holds -inf/+inf for
    the window that is exactly one block. The four running extremes are independent
    recursions, so the CPU overlaps them; no full-length buffer is written, and the cost does
    not depend on how prices move (TA-Lib's rescan-when-the-extreme-leaves does, and its
    branches are what make a straight numba port slow). Extremes are exact, so every output
    has the same bits as TA-Lib's MAX/MIN, WILLR and STOCHF's %K.

    Writes bars ``k - 1`` onward only (the caller owns the warm-up). Returns False, with the
    outputs unspecified, when a NaN is met: TA-Lib's comparisons treat a NaN in a way that
    depends on where the running extreme was, so the caller must use a rescanning kernel.
    """
    n = high.shape[0]
    prev_hi = np.empty(k + 1)
    prev_lo = np.empty(k + 1)
    cur_hi = np.empty(k + 1)
    cur_lo = np.empty(k + 1)
    prev_hi[k] = -np.inf
    prev_lo[k] = np.inf
    cur_hi[k] = -np.inf
    cur_lo[k] = np.inf
    seen_nan = False
    start = 0
    while start + k <= n:
        a = -np.inf
        b = np.inf
        c = -np.inf
        d = np.inf
        for j in range(k):
            t = start + j
            x = high[t]
            y = low[t]
            seen_nan |= np.isnan(x) | np.isnan(y)
            a = x if x > a else a
            b = y if y < b else b
            r = k - 1 - j
            x = high[start + r]
            y = low[start + r]
            c = x if x > c else c
            d = y if y < d else d
            cur_hi[r] = c
            cur_lo[r] = d
            if t >= k - 1:
                s = prev_hi[j + 1]
                highest = s if s > a else a
                s = prev_lo[j + 1]
                lowest = s if s < b else b
                if mode == EXTREMES_DONCHIAN:
                    out0[t] = highest
                    out1[t] = (highest + lowest) / 2.0
                    out2[t] = lowest
                else:
                    out0[t] = _oscillator(highest, lowest, close[t], mode)
        prev_hi, cur_hi = cur_hi, prev_hi
        prev_lo, cur_lo = cur_lo, prev_lo
        start += k
    # The last, partial block needs only its prefix.
    a = -np.inf
    b = np.inf
    for t in range(start, n):
        x = high[t]
        y = low[t]
        seen_nan |= np.isnan(x) | np.isnan(y)
        a = x if x > a else a
        b = y if y < b else b
        if t >= k - 1:
            s = prev_hi[t - start + 1]
            highest = s if s > a else a
            s = prev_lo[t - start + 1]
            lowest = s if s < b else b
            if mode == EXTREMES_DONCHIAN:
                out0[t] = highest
                out1[t] = (highest + lowest) / 2.0
                out2[t] = lowest
            else:
                out0[t] = _oscillator(highest, lowest, close[t], mode)
    return not seen_nan


@nb.njit(cache=True, nogil=True)
def donchian_into(
    high: FloatArray,
    low: FloatArray,
    k: int,
    upper: FloatArray,
    middle: FloatArray,
    lower: FloatArray,
) -> bool:  # pragma: no cover - numba
    """Donchian channels: :func:`window_extremes_into`'s sweep with the Donchian outputs only.

    A copy specialised to one output mode: with no per-bar mode test and no oscillator call
    in the loop it runs about 8% faster, which Donchian (three outputs, compared with TA-Lib's
    MAX plus MIN) needs. It also sums ``high - low`` as it reads the values (a NaN or an
    infinity makes the sum non-finite; one add per bar, off the loop's critical path), which
    replaces a separate finiteness pass over the inputs. Writes bars ``k - 1`` onward only.
    Returns False when the sum is not finite (a bad value, or a finite overflow, which the
    caller's check then clears); with finite inputs the outputs are exact.
    """
    n = high.shape[0]
    prev_hi = np.empty(k + 1)
    prev_lo = np.empty(k + 1)
    cur_hi = np.empty(k + 1)
    cur_lo = np.empty(k + 1)
    prev_hi[k] = -np.inf
    prev_lo[k] = np.inf
    cur_hi[k] = -np.inf
    cur_lo[k] = np.inf
    check = 0.0
    start = 0
    while start + k <= n:
        a = -np.inf
        b = np.inf
        c = -np.inf
        d = np.inf
        for j in range(k):
            t = start + j
            x = high[t]
            y = low[t]
            check += x - y
            a = x if x > a else a
            b = y if y < b else b
            r = k - 1 - j
            x = high[start + r]
            y = low[start + r]
            c = x if x > c else c
            d = y if y < d else d
            cur_hi[r] = c
            cur_lo[r] = d
            if t >= k - 1:
                s = prev_hi[j + 1]
                highest = s if s > a else a
                s = prev_lo[j + 1]
                lowest = s if s < b else b
                upper[t] = highest
                middle[t] = (highest + lowest) / 2.0
                lower[t] = lowest
        prev_hi, cur_hi = cur_hi, prev_hi
        prev_lo, cur_lo = cur_lo, prev_lo
        start += k
    # The last, partial block needs only its prefix.
    a = -np.inf
    b = np.inf
    for t in range(start, n):
        x = high[t]
        y = low[t]
        check += x - y
        a = x if x > a else a
        b = y if y < b else b
        if t >= k - 1:
            s = prev_hi[t - start + 1]
            highest = s if s > a else a
            s = prev_lo[t - start + 1]
            lowest = s if s < b else b
            upper[t] = highest
            middle[t] = (highest + lowest) / 2.0
            lower[t] = lowest
    return bool(np.isfinite(check))
