"""Input checks shared by the performance modules.

Every public function converts its inputs here first, so a caller who passes a list, a Series or
an array of the wrong length gets a :class:`~tradewind.core.errors.UserError` or
:class:`~tradewind.core.errors.DataError` that names the argument and the first bad position,
not an index error from deep inside NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tradewind.core.errors import DataError, UserError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def returns_array(returns: npt.ArrayLike) -> FloatArray:
    """Return per-period simple returns as a 1-D float64 array; NaN is allowed (missing)."""
    try:
        arr = np.asarray(returns, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise UserError(f"returns must be numeric, got {type(returns).__name__}: {exc}") from exc
    if arr.ndim != 1:
        raise UserError(f"returns must be a 1-D array, got shape {arr.shape}")
    return arr


def finite_array(name: str, values: npt.ArrayLike) -> FloatArray:
    """Return ``values`` as a 1-D finite float64 array or raise naming ``name`` and the position."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{name} must be numeric, got {type(values).__name__}: {exc}") from exc
    if arr.ndim != 1:
        raise UserError(f"{name} must be a 1-D array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise DataError(f"{name} has a non-finite value ({arr[bad]}) at position {bad}")
    return arr


def equity_array(equity: npt.ArrayLike) -> FloatArray:
    """Return an equity curve as finite, non-negative float64 values (at least one)."""
    arr = finite_array("equity", equity)
    if arr.size == 0:
        raise UserError("equity is empty: an equity curve needs at least one value")
    if (arr < 0).any():
        bad = int(np.flatnonzero(arr < 0)[0])
        raise DataError(
            f"equity is negative ({arr[bad]}) at position {bad}: an account's equity cannot fall "
            "below zero; check the accounting that produced the curve"
        )
    return arr


def timestamps_ms(name: str, values: Any) -> IntArray:
    """Return timestamps as int64 milliseconds since the epoch (UTC).

    Accepts int64 milliseconds, NumPy ``datetime64`` of any unit, a pandas ``DatetimeIndex`` or
    datetime Series; tz-aware values are converted to UTC, naive ones are taken to be UTC already
    (every timestamp in Tradewind is UTC).
    """
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    elif isinstance(values, pd.DatetimeIndex) and values.tz is not None:
        values = values.tz_convert("UTC").tz_localize(None)
    if isinstance(values, pd.Series | pd.Index):
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise UserError(f"{name} must be a 1-D array, got shape {arr.shape}")
    if arr.dtype.kind == "M":
        if np.isnat(arr).any():
            bad = int(np.flatnonzero(np.isnat(arr))[0])
            raise DataError(f"{name} has a missing time (NaT) at position {bad}")
        return arr.astype("datetime64[ms]").astype(np.int64)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.size == 0:
        return np.empty(0, dtype=np.int64)
    raise UserError(
        f"{name} must be int64 milliseconds since the epoch or datetime64 values, "
        f"got dtype {arr.dtype}"
    )


def bar_timestamps(values: Any, length: int, name: str = "timestamps") -> IntArray:
    """Return strictly increasing bar open times (int64 ms), one per equity value."""
    ts = timestamps_ms(name, values)
    if ts.size != length:
        raise UserError(
            f"{name} has {ts.size} values but equity has {length}: give one timestamp per bar"
        )
    steps = np.diff(ts)
    if (steps <= 0).any():
        bad = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise DataError(
            f"{name} must be strictly increasing, but position {bad} ({ts[bad]} ms) does not come "
            f"after position {bad - 1} ({ts[bad - 1]} ms)"
        )
    return ts


def positive_number(name: str, value: float) -> float:
    """Check a strictly positive, finite scalar (a period count, a bar length)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise UserError(f"{name} must be a number, got {value!r}")
    if not np.isfinite(value) or value <= 0:
        raise UserError(f"{name} must be a positive, finite number, got {value!r}")
    return float(value)


def cutoff_fraction(cutoff: float) -> float:
    """Check a tail cutoff such as 0.05 (the worst 5 % of returns)."""
    if isinstance(cutoff, bool) or not isinstance(cutoff, int | float | np.integer | np.floating):
        raise UserError(f"cutoff must be a number between 0 and 1, got {cutoff!r}")
    if not 0.0 <= cutoff <= 1.0:
        raise UserError(f"cutoff must be between 0 and 1 (0.05 means the worst 5 %), got {cutoff}")
    return float(cutoff)
