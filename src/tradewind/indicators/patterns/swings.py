"""Causal swing points and the alternating swing sequence the chart detectors read.

A swing high at bar ``i`` is a high strictly above the ``left`` highs before it and not exceeded
by the ``right`` highs after it (a swing low mirrors this on lows). Because those ``right`` bars
must have closed, the swing becomes known at bar ``i + right`` and is reported there; nothing is
emitted earlier. Ties: the first bar of a flat top is the swing (later equal highs fail the
strict left test), so a plateau yields one pivot.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
from numba import njit

from tradewind.indicators.patterns._inputs import price_arrays
from tradewind.indicators.patterns.chart_types import Pivot, PivotKind, SwingParams

Prices = npt.NDArray[np.float64]


@njit(cache=True)
def _swing_flags(values: Prices, left: int, right: int, sign: float) -> npt.NDArray[np.bool_]:
    # sign = 1 finds maxima, -1 minima (by negating the comparison, not the data).
    n = values.shape[0]
    out = np.zeros(n, dtype=np.bool_)
    for i in range(left, n - right):
        x = sign * values[i]
        ok = True
        for j in range(i - left, i):
            if sign * values[j] >= x:
                ok = False
                break
        if ok:
            for j in range(i + 1, i + right + 1):
                if sign * values[j] > x:
                    ok = False
                    break
        out[i] = ok
    return out


def swing_points(
    high: npt.ArrayLike, low: npt.ArrayLike, params: SwingParams | None = None
) -> list[Pivot]:
    """Find swing highs and lows, each reported at its confirmation bar.

    Parameters
    ----------
    high, low : array-like of float
        Bar highs and lows, oldest first, equal length.
    params : SwingParams, optional
        ``left`` and ``right`` window sizes (defaults 5 and 5).

    Returns
    -------
    list of Pivot
        Ordered by confirmation bar (equal to ordering by index, since every pivot waits
        ``right`` bars); a bar that is both a swing high and a swing low gives two pivots, the
        high first. The first possible pivot is bar ``left``; the last is bar ``n - 1 - right``.
    """
    p = params or SwingParams()
    h, lo = price_arrays(high=high, low=low)
    highs = np.flatnonzero(_swing_flags(h, p.left, p.right, 1.0))
    lows = np.flatnonzero(_swing_flags(lo, p.left, p.right, -1.0))
    pivots = [Pivot(int(i), float(h[i]), PivotKind.HIGH, int(i) + p.right) for i in highs]
    pivots += [Pivot(int(i), float(lo[i]), PivotKind.LOW, int(i) + p.right) for i in lows]
    pivots.sort(key=lambda q: (q.index, -q.kind))
    return pivots


def alternating_swings(pivots: list[Pivot]) -> Iterator[tuple[Pivot, list[Pivot]]]:
    """Yield ``(new_pivot, sequence)`` each time the alternating swing sequence changes.

    The sequence alternates high, low, high, ...; it is built online in confirmation order:

    - a pivot of the opposite kind to the last is appended, unless it would make an inverted
      leg (a low above the last high, or a high below the last low), which is dropped;
    - a pivot of the same kind replaces the last one when it is more extreme (a higher high
      extends the up-leg), and is dropped otherwise.

    The yielded list is the live sequence (mutated afterwards); readers slice what they need at
    once. Because every change happens at the new pivot's confirmation bar, a reader at that bar
    sees exactly what was knowable then.
    """
    sequence: list[Pivot] = []
    pending = list(pivots)
    k = 0
    while k < len(pending):
        pivot = pending[k]
        # Two pivots on one bar (an outside bar): take first the one that continues alternation.
        if (
            k + 1 < len(pending)
            and pending[k + 1].index == pivot.index
            and sequence
            and sequence[-1].kind == pivot.kind
        ):
            pending[k], pending[k + 1] = pending[k + 1], pending[k]
            pivot = pending[k]
        k += 1
        if not sequence:
            sequence.append(pivot)
        elif sequence[-1].kind != pivot.kind:
            last = sequence[-1]
            inverted = (
                pivot.price >= last.price
                if pivot.kind == PivotKind.LOW
                else pivot.price <= last.price
            )
            if inverted:
                continue
            sequence.append(pivot)
        elif (pivot.price - sequence[-1].price) * pivot.kind > 0:
            sequence[-1] = pivot
        else:
            continue
        yield pivot, sequence
