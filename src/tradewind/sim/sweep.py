"""Sweeps on the kernel: the optimiser's metrics of an equity curve, compiled crossings, and a grid
of crossover strategies scored in one parallel call of :func:`tradewind.sim.kernel.simulate`.

Shapes: prices ``(n,)``; lines ``(n, m)`` (one indicator per column); metrics ``(k, 8)`` in the
order of :data:`tradewind.sim.layout.METRICS`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from tradewind.sim import kernel
from tradewind.sim.layout import ANNUALIZATION, METRICS


@njit(cache=True)
def metrics(equity: np.ndarray, start: int, annualization: float, trade_count: int) -> np.ndarray:
    """The optimiser's metrics from an equity curve, in the order of :data:`METRICS`.

    Same definitions as :mod:`tradewind.performance.metrics` (empyrical's): per-bar simple
    returns from ``start``; Sharpe ``mean / std(ddof=1) * sqrt(P)``; Sortino ``mean * P /
    (sqrt(mean(min(r, 0)^2)) * sqrt(P))``; CAGR over ``n / P`` years; Calmar ``CAGR / |max DD|``.
    """
    out = np.full(len(METRICS), np.nan)
    n = equity.shape[0] - start
    initial = equity[start]
    final = equity[-1]
    out[0] = final
    out[1] = final / initial - 1.0
    out[7] = trade_count
    if n < 2:
        return out
    m = n - 1
    total = 0.0
    for i in range(start + 1, equity.shape[0]):
        total += equity[i] / equity[i - 1] - 1.0
    mean = total / m
    var = 0.0
    down = 0.0
    peak = initial
    worst = 0.0
    for i in range(start + 1, equity.shape[0]):
        r = equity[i] / equity[i - 1] - 1.0
        var += (r - mean) * (r - mean)
        if r < 0.0:
            down += r * r
        peak = max(peak, equity[i])
        dd = equity[i] / peak - 1.0
        worst = min(worst, dd)
    std = math.sqrt(var / (m - 1)) if m > 1 else np.nan
    if m > 1 and std > 0.0:
        out[2] = mean / std * math.sqrt(annualization)
    downside = math.sqrt(down / m) * math.sqrt(annualization)
    if downside > 0.0:
        out[3] = mean * annualization / downside
    out[5] = worst
    growth = final / initial
    if growth > 0.0:
        out[6] = growth ** (annualization / m) - 1.0
        if worst < 0.0:
            out[4] = out[6] / abs(worst)
    return out


@njit(cache=True)
def cross_signals(
    fast: np.ndarray, slow: np.ndarray, tolerance: float
) -> tuple[np.ndarray, np.ndarray]:
    """Entries where ``fast`` crosses above ``slow`` and exits where it crosses below.

    The compiled twin of :func:`tradewind.strategies.base.crossed_above` /
    :func:`~tradewind.strategies.base.crossed_below`: values within a relative ``tolerance`` of
    each other are a tie, and NaN (warm-up) never crosses.
    """
    n = fast.shape[0]
    entry = np.zeros(n, dtype=np.bool_)
    exit_ = np.zeros(n, dtype=np.bool_)
    was_above = False
    was_below = False
    was_defined = False
    for i in range(n):
        a = fast[i]
        b = slow[i]
        defined = not (math.isnan(a) or math.isnan(b))
        limit = tolerance * max(abs(a), abs(b)) if defined else 0.0
        above = defined and a - b > limit
        below = defined and b - a > limit
        if defined and was_defined:
            entry[i] = above and not was_above
            exit_[i] = below and not was_below
        was_above, was_below, was_defined = above, below, defined
    return entry, exit_


@njit(cache=True)
def long_only(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    entry: np.ndarray,
    exit_: np.ndarray,
    start: int,
    settings: np.ndarray,
) -> tuple[np.ndarray, int]:
    """One long-only signal set without risk rules or funding: ``(equity, trade_count)``."""
    none = np.empty(0, dtype=np.bool_)
    equity, _, count, _, _ = kernel.simulate(
        open_, high, low, close, np.empty(0, dtype=np.int64), (entry, exit_, none, none), start,
        settings, kernel.no_risk(), kernel.no_funding(),
    )  # fmt: skip
    return equity, count


@njit(cache=True, parallel=True)
def simulate_crossings(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    lines: np.ndarray,
    fast: np.ndarray,
    slow: np.ndarray,
    start: int,
    settings: np.ndarray,
    tolerance: float,
) -> np.ndarray:
    """Sweep long-only crossover strategies without materialising their signals.

    Set ``j`` trades the crossings of column ``fast[j]`` of ``lines`` over column ``slow[j]``.
    Returns the ``(k, len(METRICS))`` metrics matrix, one row per set, computed on every core.
    """
    k = fast.shape[0]
    out = np.empty((k, len(METRICS)), dtype=np.float64)
    for j in prange(k):
        entry, exit_ = cross_signals(lines[:, fast[j]], lines[:, slow[j]], tolerance)
        equity, count = long_only(open_, high, low, close, entry, exit_, start, settings)
        out[j, :] = metrics(equity, start, settings[ANNUALIZATION], count)
    return out
