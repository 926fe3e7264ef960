"""Input checks for the pattern functions: same-length, 1-D, finite float64 price series.

Every public pattern function validates here first, so a wrong-length list or a NaN gets a
:class:`~tradewind.core.errors.UserError` naming the series instead of a numba typing error.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import DataError, UserError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]


def unchecked_arrays(**named: npt.ArrayLike) -> list[FloatArray]:
    """As :func:`price_arrays` but **without** the finiteness check, for kernels that sum
    their inputs as they read them and report a non-finite sum, after which the caller runs
    :func:`require_finite`: that saves a separate pass over every series."""
    arrays: list[FloatArray] = []
    for name, values in named.items():
        try:
            arr = np.ascontiguousarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise UserError(f"{name} must be numeric, got {type(values).__name__}: {exc}") from exc
        if arr.ndim != 1:
            raise UserError(f"{name} must be a 1-D array, got shape {arr.shape}")
        arrays.append(arr)
    _same_length(named, arrays)
    return arrays


def require_finite(**named: FloatArray) -> None:
    """Raise :class:`DataError` naming the first series with a NaN or infinity, and where."""
    for name, arr in named.items():
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise DataError(f"{name} has a non-finite value ({arr[bad[0]]}) at position {bad[0]}")


def _same_length(named: dict[str, npt.ArrayLike], arrays: list[FloatArray]) -> None:
    names = list(named)
    for name, arr in zip(names[1:], arrays[1:], strict=True):
        if arr.shape[0] != arrays[0].shape[0]:
            raise UserError(
                f"{name} has {arr.shape[0]} values but {names[0]} has {arrays[0].shape[0]}: "
                "all price series must have the same length"
            )


def price_arrays(**named: npt.ArrayLike) -> list[FloatArray]:
    """Return the named series as contiguous float64 arrays of equal length.

    Non-finite prices are refused with the position of the first one: TA-Lib would silently
    compare against NaN (always false) and a pattern that never fires is a worse failure than
    a clear error.
    """
    arrays: list[FloatArray] = []
    for name, values in named.items():
        try:
            arr = np.ascontiguousarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise UserError(f"{name} must be numeric, got {type(values).__name__}: {exc}") from exc
        if arr.ndim != 1:
            raise UserError(f"{name} must be a 1-D array, got shape {arr.shape}")
        # A finite sum proves every value finite (NaN and inf propagate) at a fraction of the
        # cost of an element-wise test; only a non-finite sum pays for the search.
        if not np.isfinite(np.add.reduce(arr)):
            bad = np.flatnonzero(~np.isfinite(arr))
            if bad.size:
                raise DataError(
                    f"{name} has a non-finite value ({arr[bad[0]]}) at position {bad[0]}"
                )
        arrays.append(arr)
    _same_length(named, arrays)
    return arrays


def penetration_value(value: float) -> float:
    """Check a penetration fraction (TA-Lib accepts any finite value >= 0)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise UserError(f"penetration must be a number, got {value!r}")
    if not np.isfinite(value) or value < 0:
        raise UserError(f"penetration must be a finite number >= 0, got {value!r}")
    return float(value)


def ohlc_arrays(
    open_: npt.ArrayLike, high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Validate the four candle series together (see :func:`price_arrays`)."""
    o, h, l, c = price_arrays(open=open_, high=high, low=low, close=close)  # noqa: E741
    return o, h, l, c


def run_unchecked(kernel: Callable[..., bool], *args: object, **named: npt.ArrayLike) -> IntArray:
    """Run a ``*_into`` kernel on the named candle series (in order) plus ``args``.

    The kernel fills an int32 output allocated here by NumPy (which reuses freed memory;
    allocating inside a compiled kernel page-faults fresh memory on every call) and returns
    False when the sum of its inputs is not finite; only then are the series searched for the
    bad value, which raises :class:`DataError` (a finite overflow of the sum raises nothing
    and the marks stand).
    """
    arrays = unchecked_arrays(**named)
    out = np.zeros(arrays[0].shape[0], dtype=np.int32)
    if not kernel(*arrays, *args, out):
        require_finite(**dict(zip(named, arrays, strict=True)))
    return out
