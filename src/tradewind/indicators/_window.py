"""Compiled sliding-window extremes (highest high, lowest low) in O(n) with monotonic deques.

Shared by Donchian channels, Ichimoku and the swing detector. Each kernel takes a float64 array and
a window length and returns a float64 array of the same length with NaN for the first
``timeperiod - 1`` bars; the value at bar t covers bars ``t - timeperiod + 1 .. t`` inclusive.
pandas equivalent: ``Series.rolling(timeperiod).max()`` / ``.min()``.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from tradewind.indicators._checks import FloatArray


@nb.njit(cache=True, nogil=True)
def rolling_max(values: FloatArray, timeperiod: int) -> FloatArray:  # pragma: no cover - numba
    n = values.shape[0]
    out = np.full(n, np.nan)
    # The deque holds indices whose values decrease from head to tail; the head is the maximum.
    dq = np.empty(timeperiod + 1, dtype=np.int64)
    head = 0
    tail = 0
    cap = timeperiod + 1
    for i in range(n):
        v = values[i]
        while tail != head:
            last = dq[(tail - 1) % cap]
            if values[last] <= v:
                tail -= 1
            else:
                break
        dq[tail % cap] = i
        tail += 1
        if dq[head % cap] <= i - timeperiod:
            head += 1
        if i >= timeperiod - 1:
            out[i] = values[dq[head % cap]]
    return out


@nb.njit(cache=True, nogil=True)
def rolling_min(values: FloatArray, timeperiod: int) -> FloatArray:  # pragma: no cover - numba
    n = values.shape[0]
    out = np.full(n, np.nan)
    dq = np.empty(timeperiod + 1, dtype=np.int64)
    head = 0
    tail = 0
    cap = timeperiod + 1
    for i in range(n):
        v = values[i]
        while tail != head:
            last = dq[(tail - 1) % cap]
            if values[last] >= v:
                tail -= 1
            else:
                break
        dq[tail % cap] = i
        tail += 1
        if dq[head % cap] <= i - timeperiod:
            head += 1
        if i >= timeperiod - 1:
            out[i] = values[dq[head % cap]]
    return out
