"""Equity-based circuit breakers, found by a compiled scan over the mark-to-market equity.

Between fills the account's balances are constant, so its equity at bar ``i`` is
``cash + sum_k qty[k] x close[k, i]``: a function of the bar arrays that needs no Python per bar
(DESIGN, principle 8). The scan walks forward from the last fill and stops at the first bar where a
loss limit or the drawdown limit is reached, carrying the state (peak equity, equity at the start
of each UTC period) it needs to be restarted anywhere.

Period loss: ``1 - equity[i] / equity at the period's start``, where the start equity is the
equity at the close of the last bar before the period's first bar (the starting cash for a run
that begins inside the period). Drawdown: ``1 - equity[i] / max(equity[..i])``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

PERIODS = 3
"""Period kinds: 0 UTC day, 1 UTC week (from Monday), 2 UTC calendar month."""
DRAWDOWN = 3
"""Bit index of the drawdown breaker in the scan's result mask."""

DAY_MS = 86_400_000


def period_ids(ts: np.ndarray) -> np.ndarray:
    """Day, week and month number of each timestamp (ms, UTC), shape ``(3, n)``, int64.

    The epoch (1970-01-01) was a Thursday, so ``(day + 3) // 7`` counts Monday-based weeks.
    """
    days = np.asarray(ts, dtype=np.int64) // DAY_MS
    months = np.asarray(ts, dtype="datetime64[ms]").astype("datetime64[M]").astype(np.int64)
    return np.vstack([days, (days + 3) // 7, months]).astype(np.int64)


@njit(cache=True)
def equity_at(cash: float, quantities: np.ndarray, closes: np.ndarray, i: int) -> float:
    """Mark-to-market equity at bar ``i``: ``cash + sum_k quantities[k] x closes[k, i]``."""
    total = cash
    for k in range(quantities.shape[0]):
        if quantities[k] != 0.0:
            total += quantities[k] * closes[k, i]
    return total


@njit(cache=True)
def scan_equity(
    cash: float,
    quantities: np.ndarray,
    closes: np.ndarray,
    periods: np.ndarray,
    lo: int,
    hi: int,
    state: np.ndarray,
    starts: np.ndarray,
    loss_limits: np.ndarray,
    armed_from: np.ndarray,
    drawdown_limit: float,
    check: bool,
) -> tuple[int, int]:
    """Walk bars ``lo .. hi - 1`` with constant balances; stop at the first breach when ``check``.

    Parameters
    ----------
    cash, quantities, closes
        Equity model: ``closes`` has shape ``(k, n)`` (each symbol's close aligned to the
        timeline), ``quantities`` shape ``(k,)``.
    periods
        :func:`period_ids` of the timeline, shape ``(3, n)``.
    state
        ``[peak, equity of bar lo - 1]``, shape ``(2,)``; updated in place.
    starts
        Start equity of the current day, week and month, shape ``(3,)``; updated in place.
    loss_limits
        Day, week and month loss limits as fractions (NaN: off), shape ``(3,)``.
    armed_from
        A period's loss breaker is armed only from this period id on (after a trip it waits for
        the next period), shape ``(3,)``.
    drawdown_limit
        Max drawdown from peak as a fraction (NaN: off).
    check
        False only advances the state (used to catch up to a fill).

    Returns
    -------
    tuple
        ``(bar, mask)``: the first bar where a limit is reached (-1: none before ``hi``) and a bit
        mask of what tripped there (bits 0-2: day, week, month loss; bit 3: drawdown). The state
        includes that bar.
    """
    for i in range(lo, hi):
        equity = equity_at(cash, quantities, closes, i)
        for p in range(3):
            if i == 0 or periods[p, i] != periods[p, i - 1]:
                starts[p] = state[1]
        state[0] = max(state[0], equity)
        state[1] = equity
        if not check:
            continue
        mask = 0
        for p in range(3):
            limit = loss_limits[p]
            armed = not np.isnan(limit) and periods[p, i] >= armed_from[p] and starts[p] > 0.0
            if armed and 1.0 - equity / starts[p] >= limit:
                mask |= 1 << p
        watching = not np.isnan(drawdown_limit) and state[0] > 0.0
        if watching and 1.0 - equity / state[0] >= drawdown_limit:
            mask |= 1 << DRAWDOWN
        if mask:
            return i, mask
    return -1, 0


@njit(cache=True)
def window_drop(close: np.ndarray, window: int) -> np.ndarray:
    """Return over the last ``window`` bars measured from their highest close:
    ``close[t] / max(close[t - window .. t]) - 1`` (NaN in warm-up). Causal."""
    n = close.shape[0]
    out = np.full(n, np.nan)
    for t in range(window, n):
        top = close[t - window]
        for s in range(t - window + 1, t + 1):
            top = max(top, close[s])
        out[t] = close[t] / top - 1.0
    return out


@njit(cache=True)
def return_zscore(close: np.ndarray, window: int) -> np.ndarray:
    """z-score of each bar's log return against the ``window`` returns before it (NaN in warm-up).

    ``z[t] = (r[t] - mean(r[t-window .. t-1])) / std(r[t-window .. t-1])``; causal.
    """
    n = close.shape[0]
    out = np.full(n, np.nan)
    if n < 2:
        return out
    r = np.full(n, np.nan)
    for t in range(1, n):
        r[t] = np.log(close[t] / close[t - 1])
    for t in range(window + 1, n):
        mean = 0.0
        for s in range(t - window, t):
            mean += r[s]
        mean /= window
        var = 0.0
        for s in range(t - window, t):
            var += (r[s] - mean) ** 2
        std = (var / (window - 1)) ** 0.5 if window > 1 else 0.0
        if std > 0.0:
            out[t] = (r[t] - mean) / std
    return out
