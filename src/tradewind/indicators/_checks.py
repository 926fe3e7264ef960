"""Input checks shared by the channel, level, profile, Ichimoku, multi-timeframe and regime modules.

Every public function validates its arrays here first, so a caller who passes a list of the wrong
length or a zero period gets a :class:`~tradewind.core.errors.UserError` that names the argument,
not a numba typing error or an index error from deep inside a kernel.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import DataError, UserError
from tradewind.core.timeframe import Timeframe

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def float_array(name: str, values: npt.ArrayLike) -> FloatArray:
    """Return ``values`` as a contiguous 1-D float64 array or raise naming ``name``."""
    try:
        arr = np.ascontiguousarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{name} must be numeric, got {type(values).__name__}: {exc}") from exc
    if arr.ndim != 1:
        raise UserError(f"{name} must be a 1-D array, got shape {arr.shape}")
    return arr


def float_arrays(**named: npt.ArrayLike) -> list[FloatArray]:
    """Convert several same-length, finite series at once; errors name the offending series.

    Prices and volumes must be finite: a NaN inside a window would silently poison every value
    that window touches, so it is refused here with the position of the first bad value.
    """
    arrays = same_length_arrays(**named)
    for name, arr in zip(named, arrays, strict=True):
        # One summing pass with no temporary settles the usual all-finite case: a NaN or an
        # infinity makes the sum non-finite. Only then (or when huge finite values overflow the
        # sum) is the first bad position searched for.
        if not np.isfinite(np.add.reduce(arr)):
            require_finite(**{name: arr})
    return arrays


def same_length_arrays(**named: npt.ArrayLike) -> list[FloatArray]:
    """Convert several series to contiguous 1-D float64 arrays of one length, **not** checking
    that they are finite: for kernels that sum their inputs as they go (one add per bar inside
    a loop that is bound by a longer dependency chain anyway) and then call
    :func:`require_finite` only when that sum is not finite, which saves a separate pass over
    every input. Errors name the offending series."""
    arrays = [float_array(name, values) for name, values in named.items()]
    names = list(named)
    for name, arr in zip(names[1:], arrays[1:], strict=True):
        if arr.shape[0] != arrays[0].shape[0]:
            raise UserError(
                f"{name} has {arr.shape[0]} values but {names[0]} has {arrays[0].shape[0]}: "
                "all input series must have the same length"
            )
    return arrays


def require_finite(**named: FloatArray) -> None:
    """Raise :class:`DataError` naming the first series with a NaN or infinity, and where."""
    for name, arr in named.items():
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise DataError(f"{name} has a non-finite value ({arr[bad[0]]}) at position {bad[0]}")


def period(name: str, value: int, minimum: int = 1) -> int:
    """Check an integer window length (bools and floats are refused: they are always mistakes)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise UserError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise UserError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def positive(name: str, value: float) -> float:
    """Check a strictly positive, finite float parameter such as an ATR multiplier."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise UserError(f"{name} must be a number, got {value!r}")
    if not np.isfinite(value) or value <= 0:
        raise UserError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def timestamps_ms(name: str, values: npt.ArrayLike, length: int | None = None) -> IntArray:
    """Return bar open times as int64 milliseconds, checking they strictly increase."""
    arr = np.asarray(values)
    if arr.dtype.kind == "M":
        arr = arr.astype("datetime64[ms]").astype(np.int64)
    elif arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.floor(arr)):
            raise DataError(f"{name} must be whole milliseconds since the epoch")
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "iu":
        raise UserError(f"{name} must be integer milliseconds or datetime64, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.int64)
    if arr.ndim != 1:
        raise UserError(f"{name} must be a 1-D array, got shape {arr.shape}")
    if length is not None and arr.shape[0] != length:
        raise UserError(
            f"{name} has {arr.shape[0]} values but the price series have {length}: "
            "one timestamp per bar is required"
        )
    if arr.shape[0] > 1:
        steps = np.diff(arr)
        bad = np.flatnonzero(steps <= 0)
        if bad.size:
            i = int(bad[0]) + 1
            raise DataError(
                f"{name} must strictly increase: value {i} ({int(arr[i])}) is not after "
                f"value {i - 1} ({int(arr[i - 1])})"
            )
    return arr


def timeframe(name: str, value: str | Timeframe) -> Timeframe:
    """Accept ``"1h"``-style text or a :class:`Timeframe`."""
    if isinstance(value, Timeframe):
        return value
    if isinstance(value, str):
        return Timeframe.parse(value)
    raise UserError(f"{name} must be a timeframe such as '1h' or a Timeframe, got {value!r}")


# 1970-01-01 was a Thursday; exchanges start weeks on Monday 00:00 UTC, three days earlier.
_WEEK_MS = 7 * 86_400_000
_MONDAY_SHIFT_MS = 3 * 86_400_000


def session_starts(ts: IntArray, anchor: Timeframe) -> IntArray:
    """Return the open time of the session (``anchor`` period) that contains each timestamp.

    Periods that are a whole number of weeks start on Monday 00:00 UTC, as exchange weeks do;
    every other period is aligned to the Unix epoch (days start at 00:00 UTC).
    """
    if anchor.ms % _WEEK_MS == 0:
        shifted = ts + _MONDAY_SHIFT_MS
        return shifted - shifted % anchor.ms - _MONDAY_SHIFT_MS
    return ts - ts % anchor.ms


def session_start_ms(ts: int, anchor: Timeframe) -> int:
    """Scalar form of :func:`session_starts` for streaming updates (same arithmetic)."""
    if anchor.ms % _WEEK_MS == 0:
        shifted = ts + _MONDAY_SHIFT_MS
        return shifted - shifted % anchor.ms - _MONDAY_SHIFT_MS
    return ts - ts % anchor.ms
