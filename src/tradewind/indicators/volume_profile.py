"""Rolling volume profile: point of control and value area over a trailing window of bars.

How the profile is built, per bar t, from the ``timeperiod`` bars ending at t (t included):

* **Bins.** The window's price range, lowest low to highest high, is cut into ``bins`` equal-width
  price bins (default 24). The grid is rebuilt for every window, so a value at t never depends on
  bars after t.
* **Volume of a bar.** Candles do not say at which prices the volume traded, so each bar's volume
  is spread uniformly over its own high-low range: a bin receives the share of the bar's range
  that it overlaps. A bar with ``high == low`` puts all its volume into the bin holding that price.
* **Point of control (POC).** The midpoint of the bin with the most volume; on a tie the lower
  price wins (deterministic, and avoids chasing the newest bar).
* **Value area.** Starting from the POC bin, the adjacent bin (above or below) with more volume is
  added, one bin at a time, until the area holds at least ``value_area`` (default 70%) of the
  window's volume; a tie adds the bin above. VAH is the upper edge of the highest included bin,
  VAL the lower edge of the lowest.

Outputs are NaN during the first ``timeperiod - 1`` bars and for windows with zero volume. When the
whole window traded at one price, POC, VAH and VAL all equal that price.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

from tradewind.core.errors import DataError, UserError
from tradewind.indicators import _checks
from tradewind.indicators._checks import FloatArray

__all__ = ["volume_profile"]


@nb.njit(cache=True, nogil=True)
def _profile(
    high: FloatArray,
    low: FloatArray,
    volume: FloatArray,
    timeperiod: int,
    bins: int,
    value_area: float,
    poc: FloatArray,
    vah: FloatArray,
    val: FloatArray,
) -> None:  # pragma: no cover - numba
    n = high.shape[0]
    poc[:] = np.nan
    vah[:] = np.nan
    val[:] = np.nan
    hist = np.zeros(bins)
    for t in range(timeperiod - 1, n):
        start = t - timeperiod + 1
        top = high[start]
        bottom = low[start]
        total = 0.0
        for j in range(start, t + 1):
            top = max(top, high[j])
            bottom = min(bottom, low[j])
            total += volume[j]
        if total <= 0.0:
            continue
        if top <= bottom:
            poc[t] = top
            vah[t] = top
            val[t] = top
            continue
        width = (top - bottom) / bins
        hist[:] = 0.0
        for j in range(start, t + 1):
            v = volume[j]
            if v == 0.0:
                continue
            lo = low[j]
            hi = high[j]
            first = min(int((lo - bottom) / width), bins - 1)
            if hi <= lo:
                hist[first] += v
                continue
            last = min(int((hi - bottom) / width), bins - 1)
            span = hi - lo
            for b in range(first, last + 1):
                edge_lo = bottom + b * width
                edge_hi = edge_lo + width
                overlap = min(hi, edge_hi) - max(lo, edge_lo)
                if overlap > 0.0:
                    hist[b] += v * (overlap / span)
        best = 0
        for b in range(1, bins):
            if hist[b] > hist[best]:
                best = b
        poc[t] = bottom + (best + 0.5) * width
        target = value_area * total
        area = hist[best]
        below = best
        above = best
        while area < target and (below > 0 or above < bins - 1):
            down = hist[below - 1] if below > 0 else -1.0
            up = hist[above + 1] if above < bins - 1 else -1.0
            if up >= down:
                above += 1
                area += up
            else:
                below -= 1
                area += down
        vah[t] = bottom + (above + 1) * width
        val[t] = bottom + below * width


def volume_profile(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    volume: npt.ArrayLike,
    timeperiod: int = 100,
    bins: int = 24,
    value_area: float = 0.70,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Rolling volume profile: point of control, value area high and value area low.

    See the module docstring for how bins are laid out and how a bar's volume is distributed.

    Parameters
    ----------
    high, low, volume : array_like
        Equal-length, finite 1-D series; ``low <= high`` and ``volume >= 0`` on every bar.
    timeperiod : int, default 100
        Bars per profile window, the current bar included.
    bins : int, default 24
        Number of equal-width price bins spanning the window's range.
    value_area : float, default 0.70
        Share of the window's volume the value area must hold, in (0, 1].

    Returns
    -------
    poc, vah, val : numpy.ndarray
        float64 arrays; NaN for the first ``timeperiod - 1`` bars and for zero-volume windows.
    """
    h, lo, v = _checks.float_arrays(high=high, low=low, volume=volume)
    timeperiod = _checks.period("timeperiod", timeperiod)
    bins = _checks.period("bins", bins)
    value_area = _checks.positive("value_area", value_area)
    if value_area > 1.0:
        raise UserError(f"value_area is a share of volume in (0, 1], got {value_area}")
    bad = np.flatnonzero(lo > h)
    if bad.size:
        raise DataError(f"low is above high at position {bad[0]} ({lo[bad[0]]} > {h[bad[0]]})")
    bad = np.flatnonzero(v < 0)
    if bad.size:
        raise DataError(f"volume must not be negative: {v[bad[0]]} at position {bad[0]}")
    poc, vah, val = np.empty(h.shape[0]), np.empty(h.shape[0]), np.empty(h.shape[0])
    _profile(h, lo, v, timeperiod, bins, value_area, poc, vah, val)
    return poc, vah, val
