"""Vectorised search for the next bar where something can happen.

The event engine skips the bars where nothing can trigger (DESIGN, principle 8). These helpers find
the next bar at or after ``start`` where a resting level is reached; they scan in compiled code and
stop at the first hit, so the cost is proportional to the distance travelled, not the array length.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def first_at_or_below(values: np.ndarray, start: int, level: float) -> int:
    """Index of the first ``values[i] <= level`` with ``i >= start``, or -1."""
    for i in range(start, values.shape[0]):
        if values[i] <= level:
            return i
    return -1


@njit(cache=True)
def first_at_or_above(values: np.ndarray, start: int, level: float) -> int:
    """Index of the first ``values[i] >= level`` with ``i >= start``, or -1."""
    for i in range(start, values.shape[0]):
        if values[i] >= level:
            return i
    return -1
