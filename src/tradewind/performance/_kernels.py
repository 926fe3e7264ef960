"""Array kernels shared by the metric functions, the drawdown tools and the summary.

Plain functions of float64 arrays (no pandas, no validation: callers have checked their inputs).
Where a kernel mirrors a step of empyrical or NumPy, it mirrors the order of operations too, so
that results agree to rounding, not just in theory.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tradewind.performance._checks import FloatArray

NAN = float("nan")


def present(returns: FloatArray) -> FloatArray:
    """Return ``returns`` without its NaN entries (the same array when there are none)."""
    nan = np.isnan(returns)
    return returns[~nan] if nan.any() else returns


def wealth_index(returns: FloatArray, start: float = 100.0) -> FloatArray:
    """Return ``start * cumprod(1 + r)`` with NaN returns taken as 0, one value per return.

    The start of 100 mirrors empyrical's drawdown anchor, so the rounding of every step (and hence
    an exact zero drawdown at a new peak) is the same as theirs.
    """
    growth = np.add(returns, 1.0)
    nan = np.isnan(growth)
    if nan.any():
        growth[nan] = 1.0
    np.cumprod(growth, out=growth)
    growth *= start
    return growth


def drawdown_from_wealth(wealth: FloatArray, start: float = 100.0) -> FloatArray:
    """Return ``(W - peak) / peak`` where the running peak starts at ``start``."""
    peak = np.fmax.accumulate(wealth)
    np.fmax(peak, start, out=peak)
    out = np.subtract(wealth, peak)
    out /= peak
    return out


def zero_dispersion(values: FloatArray, mean: float, std: float) -> float:
    """Return 0.0 for the standard deviation of identical values, else ``std`` unchanged.

    The mean of identical values can differ from them in the last bit, which leaves a standard
    deviation of about 1e-18 instead of 0 and turns an infinite ratio into a huge finite one.
    Only a deviation that small relative to the mean can be such a residue, so the exact check
    (max == min) runs only then.
    """
    if math.isfinite(std) and std <= 1e-8 * abs(mean) and values.max() == values.min():
        return 0.0
    return std


def linear_quantile(n: int, q: float, value_at: Callable[[int], float]) -> float:
    """Return the ``q`` quantile of ``n`` values by NumPy's default (linear) method.

    ``value_at(i)`` must return the ``i``-th smallest value. The virtual index ``(n - 1) * q`` and
    the interpolation (NumPy's ``_lerp``, taken from the upper neighbour when the weight is at
    least one half) are NumPy's own, so the result equals ``np.quantile``'s.
    """
    virtual = (n - 1) * q
    if virtual >= n - 1:
        return value_at(n - 1)
    below = math.floor(virtual)
    gamma = virtual - below
    a = value_at(below)
    b = value_at(below + 1)
    diff = b - a
    return b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma


_SAMPLE_SIZE = 16_384
_SAMPLE_MARGIN = 0.015


def select_tail(
    values: FloatArray, count: int, kth: list[int], *, upper: bool = False
) -> FloatArray:
    """Return the ``count`` smallest (or largest) of finite ``values``, exact at positions ``kth``.

    For the lower tail this is ``np.partition(values, kth + [count - 1])[:count]``: position
    ``i`` holds the ``i``-th smallest value for every ``i`` in ``kth``. For the upper tail it is
    the last ``count`` values of a partition of everything: position ``i`` of the result holds
    the value of sorted index ``n - count + i``.

    On a long array only the values beyond a threshold read from a strided sample are
    partitioned: if at least ``count`` values lie beyond it, the tail is all among them, so the
    order statistics are exact. A sample that misses falls back to partitioning everything.
    """
    n = values.size
    if n <= 4 * _SAMPLE_SIZE or count > n // 8:
        candidates = values
    else:
        sample = values[:: n // _SAMPLE_SIZE]
        share = count / n + _SAMPLE_MARGIN
        j = min(int(share * sample.size), sample.size - 1)
        if upper:
            j = sample.size - 1 - j
        threshold = np.partition(sample, j)[j]
        candidates = values[values >= threshold] if upper else values[values <= threshold]
        if candidates.size < count:
            candidates = values
    m = candidates.size
    if upper:
        positions = sorted({m - count, *(m - count + i for i in kth)})
        return np.partition(candidates, positions)[m - count :]
    return np.partition(candidates, sorted({*kth, count - 1}))[:count]


def quantile(values: FloatArray, q: float) -> float:
    """Return ``np.quantile(values, q)`` (linear method) of finite, non-empty ``values``.

    Only the tail that holds the two neighbouring order statistics is selected (the lower tail
    for ``q <= 0.5``, the upper one otherwise), see :func:`select_tail`.
    """
    n = values.size
    below = min(math.floor((n - 1) * q), n - 1)
    above = min(below + 1, n - 1)
    if q <= 0.5:
        low = select_tail(values, above + 1, [below, above])
        return linear_quantile(n, q, lambda i: float(low[i]))
    count = n - below
    high = select_tail(values, count, [0, above - below], upper=True)
    return linear_quantile(n, q, lambda i: float(high[i - below]))


def r_squared_against_index(y: FloatArray) -> float:
    """Return the squared correlation of ``y`` with ``0 .. len(y) - 1``.

    Mirrors scipy.stats.linregress: population covariances as ``np.cov(bias=1)`` forms them
    (centred dot products times ``1 / n``), a 0/0 correlation reported as NaN and x/0 as 0, the
    correlation clipped to [-1, 1].
    """
    n = y.size
    if n == 0:
        return NAN
    xc = np.arange(n, dtype=np.float64)
    xc -= xc.mean()
    yc = y - y.mean()
    scale = 1.0 / n
    # einsum rather than np.dot: a BLAS dot can stall for milliseconds when its threads compete
    # for busy cores, and a single sum of products gains nothing from threads.
    ssxm = float(np.einsum("i,i->", xc, xc)) * scale
    ssxym = float(np.einsum("i,i->", xc, yc)) * scale
    ssym = float(np.einsum("i,i->", yc, yc)) * scale
    if ssxm == 0.0 or ssym == 0.0:
        corr = NAN if ssxym == 0 else 0.0
    else:
        corr = ssxym / math.sqrt(ssxm * ssym)
        if corr > 1.0:
            corr = 1.0
        elif corr < -1.0:
            corr = -1.0
    return corr**2
