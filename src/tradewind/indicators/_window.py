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
