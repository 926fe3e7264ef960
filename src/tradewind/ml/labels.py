"""Labels: what a model is asked to predict at bar t, and which bars each label looks at.

Every label set carries, per bar ``t``, the value (NaN where the future needed is not in the data)
and ``end[t]``: the last bar the label reads. Validation purges training samples whose
``[t, end[t]]`` overlaps a test window; sample weights discount labels that overlap each other.

Entry is at bar t's close (the moment the features are known); the path is bars ``t+1..t+h``.

- :func:`fixed_horizon`: UP (+1) / DOWN (-1) / NEUTRAL (0) from the log return over ``horizon``
  bars, NEUTRAL inside the dead zone ``|r| <= dead_zone``.
- :func:`triple_barrier`: +1 when the upper barrier ``close[t] * exp(+up * vol[t])`` is touched
  first (by a high), -1 when the lower one is (by a low), else the sign of the return at the
  vertical barrier (0 when flat). A bar touching both counts as -1: inside one bar the order is
  unknown, and assuming the stop came first is the conservative reading.
- :func:`forward_return`, :func:`excursions`: regression targets (log return; maximum
  favourable and adverse excursion as fractions of the entry, for take-profit and stop sizes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np
import numpy.typing as npt

from tradewind.core.errors import UserError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

UP, NEUTRAL, DOWN = 1, 0, -1


@dataclass(frozen=True, slots=True)
class Labels:
    """One label per bar: ``value`` (NaN where undefined) and ``end``, the last bar it reads."""

    value: FloatArray
    end: IntArray
    horizon: int

    @property
    def defined(self) -> npt.NDArray[np.bool_]:
        """Bars whose label is known (the future it needs is in the data)."""
        return ~np.isnan(self.value)


def _check(horizon: int, n: int) -> None:
    if not isinstance(horizon, int) or horizon < 1:
        raise UserError(f"horizon must be a positive whole number of bars, got {horizon!r}")
    if n <= horizon:
        raise UserError(f"need more than horizon={horizon} bars to label, got {n}")


def _ends(n: int, horizon: int) -> IntArray:
    return np.minimum(np.arange(n, dtype=np.int64) + horizon, n - 1)


def forward_return(close: FloatArray, horizon: int) -> Labels:
    """Log return from bar t's close to bar ``t + horizon``'s close (NaN for the last bars)."""
    n = close.shape[0]
    _check(horizon, n)
    value = np.full(n, np.nan)
    value[: n - horizon] = np.log(close[horizon:] / close[: n - horizon])
    return Labels(value, _ends(n, horizon), horizon)


def fixed_horizon(close: FloatArray, horizon: int, dead_zone: float) -> Labels:
    """UP / DOWN / NEUTRAL from the ``horizon``-bar log return, NEUTRAL when ``|r| <= dead_zone``."""
    if not dead_zone >= 0:
        raise UserError(f"dead_zone must be >= 0 (a log return), got {dead_zone!r}")
    r = forward_return(close, horizon)
    value = np.where(r.value > dead_zone, UP, np.where(r.value < -dead_zone, DOWN, NEUTRAL))
    return Labels(np.where(r.defined, value.astype(np.float64), np.nan), r.end, horizon)


@nb.njit(cache=True)
def _barriers(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    vol: FloatArray,
    horizon: int,
    up: float,
    down: float,
    value: FloatArray,
    end: IntArray,
) -> None:  # pragma: no cover - numba
    n = close.shape[0]
    for t in range(n):
        value[t] = np.nan
        end[t] = min(t + horizon, n - 1)
        if t + horizon >= n or not np.isfinite(vol[t]) or vol[t] <= 0:
            continue
        upper = close[t] * np.exp(up * vol[t])
        lower = close[t] * np.exp(-down * vol[t])
        for k in range(t + 1, t + horizon + 1):
            if low[k] <= lower:
                value[t] = -1.0
                end[t] = k
                break
            if high[k] >= upper:
                value[t] = 1.0
                end[t] = k
                break
        else:
            value[t] = np.sign(close[t + horizon] - close[t])


def triple_barrier(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    vol: FloatArray,
    horizon: int,
    *,
    up: float = 2.0,
    down: float = 2.0,
) -> Labels:
    """Triple-barrier labels with barriers ``up`` and ``down`` volatilities from the entry.

    Parameters
    ----------
    high, low, close : numpy.ndarray
        Bar prices.
    vol : numpy.ndarray
        Volatility known at bar t, as a log-return scale (e.g. rolling std of returns times
        ``sqrt(horizon)``); NaN (warm-up) leaves the label undefined.
    horizon : int
        Vertical barrier, in bars.
    up, down : float
        Barrier distances in units of ``vol``.
    """
    n = close.shape[0]
    _check(horizon, n)
    if not (up > 0 and down > 0):
        raise UserError(f"barrier multiples must be > 0, got up={up!r}, down={down!r}")
    value = np.empty(n)
    end = np.empty(n, dtype=np.int64)
    _barriers(
        np.ascontiguousarray(high, dtype=np.float64),
        np.ascontiguousarray(low, dtype=np.float64),
        np.ascontiguousarray(close, dtype=np.float64),
        np.ascontiguousarray(vol, dtype=np.float64),
        horizon,
        float(up),
        float(down),
        value,
        end,
    )
    return Labels(value, end, horizon)


def excursions(
    high: FloatArray, low: FloatArray, close: FloatArray, horizon: int
) -> tuple[Labels, Labels]:
    """Maximum favourable and adverse excursion of a long over bars ``t+1..t+h``.

    Returns ``(mfe, mae)`` as fractions of the entry close, both >= 0 for a long: ``mfe =
    max(high) / close - 1`` and ``mae = 1 - min(low) / close`` (a short swaps their roles).
    """
    n = close.shape[0]
    _check(horizon, n)
    windows_high = np.lib.stride_tricks.sliding_window_view(high[1:], horizon)
    windows_low = np.lib.stride_tricks.sliding_window_view(low[1:], horizon)
    mfe = np.full(n, np.nan)
    mae = np.full(n, np.nan)
    m = n - horizon
    mfe[:m] = np.maximum(windows_high[:m].max(axis=1) / close[:m] - 1.0, 0.0)
    mae[:m] = np.maximum(1.0 - windows_low[:m].min(axis=1) / close[:m], 0.0)
    ends = _ends(n, horizon)
    return Labels(mfe, ends, horizon), Labels(mae, ends.copy(), horizon)


def uniqueness_weights(start: IntArray, end: IntArray, n_bars: int) -> FloatArray:
    """Average uniqueness of each label (López de Prado): mean over its bars of 1/concurrency.

    A label spanning bars ``start..end`` that shares every bar with nine others gets 0.1; labels
    that overlap nothing get 1. Concurrency counts every label given (pass the defined ones).
    """
    if start.shape != end.shape or np.any(end < start):
        raise UserError("uniqueness_weights: start and end must match and end >= start")
    diff = np.zeros(n_bars + 1)
    np.add.at(diff, start, 1.0)
    np.add.at(diff, end + 1, -1.0)
    concurrency = np.cumsum(diff[:-1])
    inverse = np.where(concurrency > 0, 1.0 / np.maximum(concurrency, 1.0), 0.0)
    cumulative = np.concatenate(([0.0], np.cumsum(inverse)))
    return np.asarray((cumulative[end + 1] - cumulative[start]) / (end - start + 1), np.float64)


def class_weights(y: npt.NDArray[np.int64]) -> dict[int, float]:
    """Balanced class weights ``n / (k * count)``: each class weighs as much in total."""
    classes, counts = np.unique(y, return_counts=True)
    if classes.shape[0] == 0:
        raise UserError("class_weights: no labels")
    total = float(counts.sum())
    return {
        int(c): total / (classes.shape[0] * float(k)) for c, k in zip(classes, counts, strict=True)
    }
