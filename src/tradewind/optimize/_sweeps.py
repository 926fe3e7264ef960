"""Compiled batch sweeps for the optimiser: metrics and per-period returns of many signal sets.

Built from the one screening kernel (:func:`tradewind.sim.kernel.simulate`) and the sweep's
``metrics`` / ``cross_signals`` (:mod:`tradewind.sim.sweep`), so a trial scores exactly what a
kernel backtest would; what is added is the equity sampled at period ends, which the overfitting
statistics need for every trial.

numba's on-disk cache of these functions is keyed on this file alone, yet they compile
``kernel.simulate`` into themselves: a cache made before a change of the kernel (fees in the
base, dust) would keep scoring with the old kernel. Edit this file with any kernel change.
Kernel version: fees in the base and dust (issue 12); the margin kernel (issue 13); one kernel
for every setup (issue 15). Shapes: prices
``(n,)``; signals ``(k, n)`` (one row per set, contiguous); lines ``(m, n)``; period ends ``(p,)``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from tradewind.sim import kernel, sweep
from tradewind.sim.layout import ANNUALIZATION, METRICS

METRIC_COUNT = len(METRICS)


@njit(cache=True)
def _period_returns(equity: np.ndarray, start: int, ends: np.ndarray, out: np.ndarray) -> None:
    previous = equity[start]
    for b in range(ends.shape[0]):
        value = equity[ends[b]]
        out[b] = value / previous - 1.0
        previous = value


@njit(cache=True, parallel=True)
def sweep_signals(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    entries: np.ndarray,
    exits: np.ndarray,
    start: int,
    settings: np.ndarray,
    ends: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``k`` long-only signal sets; return ``(metrics (k, 8), period_returns (k, p))``."""
    k = entries.shape[0]
    out = np.empty((k, METRIC_COUNT), dtype=np.float64)
    returns = np.empty((k, ends.shape[0]), dtype=np.float64)
    for j in prange(k):
        equity, count = sweep.long_only(
            open_, high, low, close, entries[j], exits[j], start, settings
        )
        out[j, :] = sweep.metrics(equity, start, settings[ANNUALIZATION], count)
        _period_returns(equity, start, ends, returns[j])
    return out, returns


@njit(cache=True, parallel=True)
def sweep_crossings(
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
    ends: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Crossover sets: line ``fast[j]`` against line ``slow[j]`` (rows of ``lines``), without
    materialising the signals; return ``(metrics (k, 8), period_returns (k, p))``."""
    k = fast.shape[0]
    out = np.empty((k, METRIC_COUNT), dtype=np.float64)
    returns = np.empty((k, ends.shape[0]), dtype=np.float64)
    for j in prange(k):
        entry, exit_ = sweep.cross_signals(lines[fast[j]], lines[slow[j]], tolerance)
        equity, count = sweep.long_only(open_, high, low, close, entry, exit_, start, settings)
        out[j, :] = sweep.metrics(equity, start, settings[ANNUALIZATION], count)
        _period_returns(equity, start, ends, returns[j])
    return out, returns


@njit(cache=True, parallel=True)
def sweep_two_sided(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    ts: np.ndarray,
    signals: np.ndarray,
    start: int,
    settings: np.ndarray,
    ends: np.ndarray,
    funding: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``k`` long/short signal sets on the kernel (leverage, funding, liquidation,
    volatility slippage); ``signals`` is ``(4, k, n)``: entry long, exit long, entry short, exit
    short. Return ``(metrics (k, 8), period_returns (k, p))``."""
    k = signals.shape[1]
    out = np.empty((k, METRIC_COUNT), dtype=np.float64)
    returns = np.empty((k, ends.shape[0]), dtype=np.float64)
    for j in prange(k):
        equity, _, count, _, _ = kernel.simulate(
            open_, high, low, close, ts,
            (signals[0, j], signals[1, j], signals[2, j], signals[3, j]), start, settings,
            kernel.no_risk(), funding,
        )  # fmt: skip
        out[j, :] = sweep.metrics(equity, start, settings[ANNUALIZATION], count)
        _period_returns(equity, start, ends, returns[j])
    return out, returns
