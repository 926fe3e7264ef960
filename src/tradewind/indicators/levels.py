"""Price levels: pivot points from the previous completed period and Fibonacci levels from swings.

Both are causal by construction. Pivot points for a bar use only the high, low and close of a
period that ended before the bar's period began. Fibonacci levels use swing points that are
*confirmed*: a swing high at bar i is known only once ``k`` later bars failed to exceed it, so it
enters the output at bar ``i + k`` and never earlier.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import UserError
from tradewind.core.timeframe import Timeframe
from tradewind.indicators import _checks
from tradewind.indicators._checks import FloatArray, IntArray
from tradewind.indicators._window import rolling_max, rolling_min

__all__ = ["FibLevels", "PivotLevels", "fib_levels", "pivot_points"]

PivotMethod = Literal["classic", "fibonacci", "camarilla", "woodie"]
_METHODS = ("classic", "fibonacci", "camarilla", "woodie")


class PivotLevels(NamedTuple):
    """Pivot point levels per bar (float64 arrays, NaN where no completed period precedes).

    ``r4`` and ``s4`` exist only for the Camarilla method and are NaN for the others.
    """

    pivot: FloatArray
    r1: FloatArray
    r2: FloatArray
    r3: FloatArray
    r4: FloatArray
    s1: FloatArray
    s2: FloatArray
    s3: FloatArray
    s4: FloatArray


def _previous_period_hlc(
    h: FloatArray, lo: FloatArray, c: FloatArray, ts: IntArray, period: Timeframe
) -> tuple[FloatArray, FloatArray, FloatArray]:
    n = h.shape[0]
    if n == 0:
        return h.copy(), h.copy(), h.copy()
    starts = _checks.session_starts(ts, period)
    change = np.empty(n, dtype=bool)
    change[:1] = True
    change[1:] = starts[1:] != starts[:-1]
    firsts = np.flatnonzero(change)
    period_high = np.maximum.reduceat(h, firsts)
    period_low = np.minimum.reduceat(lo, firsts)
    lasts = np.append(firsts[1:] - 1, n - 1)
    period_close = c[lasts]
    # The first period in the data is usable only if the data starts at its open; a period cut
    # short by the start of the file would give a meaningless range.
    usable = np.ones(firsts.shape[0], dtype=bool)
    usable[:1] = ts[:1] == starts[:1]
    index = np.cumsum(change) - 1
    prev = index - 1
    ok = prev >= 0
    ok[ok] = usable[prev[ok]]
    ph = np.full(n, np.nan)
    pl = np.full(n, np.nan)
    pc = np.full(n, np.nan)
    ph[ok] = period_high[prev[ok]]
    pl[ok] = period_low[prev[ok]]
    pc[ok] = period_close[prev[ok]]
    return ph, pl, pc


def pivot_points(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    timestamps: npt.ArrayLike,
    method: PivotMethod = "classic",
    period: str | Timeframe = "1d",
) -> PivotLevels:
    """Pivot points computed from the previous completed period's high, low and close.

    Parameters
    ----------
    high, low, close : array_like
        Equal-length, finite 1-D price series of the base bars.
    timestamps : array_like
        Bar open times in milliseconds since the epoch (or datetime64), strictly increasing.
    method : {"classic", "fibonacci", "camarilla", "woodie"}, default "classic"
        With ``H, L, C`` the previous period's high, low and close and ``R = H - L``:

        * classic: ``P = (H+L+C)/3``, ``R1 = 2P-L``, ``S1 = 2P-H``, ``R2 = P+R``, ``S2 = P-R``,
          ``R3 = H+2(P-L)``, ``S3 = L-2(H-P)``;
        * fibonacci: ``P = (H+L+C)/3``, ``R1/R2/R3 = P + 0.382R / 0.618R / 1.0R``, S mirrored;
        * camarilla: ``P = (H+L+C)/3``, ``R1..R4 = C + R*1.1/12, /6, /4, /2``, S mirrored;
        * woodie: ``P = (H+L+2C)/4``, ``R1 = 2P-L``, ``S1 = 2P-H``, ``R2 = P+R``, ``S2 = P-R``,
          ``R3 = H+2(P-L)``, ``S3 = L-2(H-P)`` (the close-weighted form; the variant that uses
          the current period's open is not offered).
    period : str or Timeframe, default "1d"
        Period length; days start at 00:00 UTC and weeks on Monday 00:00 UTC.

    Returns
    -------
    PivotLevels
        Each field a float64 array aligned with the input bars. A bar in period k uses the most
        recent earlier period that has bars (normally k-1; after a gap of whole periods, the last
        one traded). Warm-up: NaN throughout the first period in the data, and also through the
        second when the data starts part-way into the first (a truncated period is not used).
        Gaps inside a period are treated as no trading.
    """
    h, lo, c = _checks.float_arrays(high=high, low=low, close=close)
    ts = _checks.timestamps_ms("timestamps", timestamps, length=h.shape[0])
    if method not in _METHODS:
        raise UserError(f"unknown pivot method {method!r}: choose one of {', '.join(_METHODS)}")
    ph, pl, pc = _previous_period_hlc(h, lo, c, ts, _checks.timeframe("period", period))
    rng = ph - pl
    nan = np.full(h.shape[0], np.nan)
    if method == "camarilla":
        pivot = (ph + pl + pc) / 3.0
        r1, r2, r3, r4 = (rng * 1.1 / d for d in (12.0, 6.0, 4.0, 2.0))
        return PivotLevels(
            pivot, pc + r1, pc + r2, pc + r3, pc + r4, pc - r1, pc - r2, pc - r3, pc - r4
        )
    if method == "fibonacci":
        pivot = (ph + pl + pc) / 3.0
        return PivotLevels(
            pivot,
            pivot + 0.382 * rng,
            pivot + 0.618 * rng,
            pivot + rng,
            nan,
            pivot - 0.382 * rng,
            pivot - 0.618 * rng,
            pivot - rng,
            nan.copy(),
        )
    pivot = (ph + pl + pc) / 3.0 if method == "classic" else (ph + pl + 2.0 * pc) / 4.0
    return PivotLevels(
        pivot,
        2.0 * pivot - pl,
        pivot + rng,
        ph + 2.0 * (pivot - pl),
        nan,
        2.0 * pivot - ph,
        pivot - rng,
        pl - 2.0 * (ph - pivot),
        nan.copy(),
    )


class FibLevels(NamedTuple):
    """Fibonacci levels of the last confirmed swing leg, per bar.

    ``direction`` is +1.0 when the leg ran up (swing low, then a later swing high), -1.0 when it
    ran down, NaN before both a swing high and a swing low are confirmed. ``retracement`` has shape
    ``(n, len(ratios))`` and ``extension`` shape ``(n, len(extensions))``.
    """

    direction: FloatArray
    swing_high: FloatArray
    swing_low: FloatArray
    retracement: npt.NDArray[np.float64]
    extension: npt.NDArray[np.float64]


def _confirmed_swings(h: FloatArray, lo: FloatArray, k: int) -> tuple[IntArray, IntArray]:
    """Index of the last swing high / low *known* at each bar (-1 when none yet)."""
    n = h.shape[0]
    last_high = np.full(n, -1, dtype=np.int64)
    last_low = np.full(n, -1, dtype=np.int64)
    if n < 2 * k + 1:
        return last_high, last_low
    # Swing high at i: above each of the k bars before it (strictly, so a plateau counts once,
    # at its first bar) and not exceeded by any of the k bars after it.
    max_k = rolling_max(h, k)
    min_k = rolling_min(lo, k)
    i = np.arange(k, n - k)
    is_high = (h[i] > max_k[i - 1]) & (h[i] >= max_k[i + k])
    is_low = (lo[i] < min_k[i - 1]) & (lo[i] <= min_k[i + k])
    # Reported at the confirmation bar i + k, never earlier.
    last_high[i[is_high] + k] = i[is_high]
    last_low[i[is_low] + k] = i[is_low]
    return np.maximum.accumulate(last_high), np.maximum.accumulate(last_low)


def fib_levels(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    k: int = 5,
    ratios: tuple[float, ...] = (0.236, 0.382, 0.5, 0.618, 0.786),
    extensions: tuple[float, ...] = (1.272, 1.618, 2.618),
) -> FibLevels:
    """Fibonacci retracement and extension levels of the last confirmed swing high/low leg.

    Parameters
    ----------
    high, low : array_like
        Equal-length, finite 1-D price series.
    k : int, default 5
        Swing strength: a swing high is a bar whose high exceeds the ``k`` bars before it and is
        not exceeded by the ``k`` bars after it (swing lows mirrored). It is confirmed, and first
        used, ``k`` bars after the swing bar.
    ratios : tuple of float
        Retracement ratios. For an up leg from swing low ``L`` to swing high ``H``:
        ``H - r (H - L)``; for a down leg: ``L + r (H - L)``.
    extensions : tuple of float
        Extension ratios, projected in the leg's direction from its start: ``L + e (H - L)`` for
        an up leg, ``H - e (H - L)`` for a down leg.

    Returns
    -------
    FibLevels
        NaN until both a swing high and a swing low have been confirmed (warm-up of at least
        ``2k`` bars, data-dependent after that).
    """
    h, lo = _checks.float_arrays(high=high, low=low)
    k = _checks.period("k", k)
    r = np.asarray(ratios, dtype=np.float64)
    e = np.asarray(extensions, dtype=np.float64)
    if r.ndim != 1 or e.ndim != 1 or not (np.all(np.isfinite(r)) and np.all(np.isfinite(e))):
        raise UserError("ratios and extensions must be flat sequences of finite numbers")
    last_high, last_low = _confirmed_swings(h, lo, k)
    known = (last_high >= 0) & (last_low >= 0)
    n = h.shape[0]
    swing_high = np.full(n, np.nan)
    swing_low = np.full(n, np.nan)
    swing_high[known] = h[last_high[known]]
    swing_low[known] = lo[last_low[known]]
    direction = np.full(n, np.nan)
    direction[known] = np.where(last_high[known] > last_low[known], 1.0, -1.0)
    leg = (swing_high - swing_low)[:, None]
    up = (direction == 1.0)[:, None]
    retracement = np.where(up, swing_high[:, None] - r * leg, swing_low[:, None] + r * leg)
    extension = np.where(up, swing_low[:, None] + e * leg, swing_high[:, None] - e * leg)
    return FibLevels(direction, swing_high, swing_low, retracement, extension)
