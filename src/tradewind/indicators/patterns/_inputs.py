"""Input checks for the pattern functions: same-length, 1-D, finite float64 price series.

Every public pattern function validates here first, so a wrong-length list or a NaN gets a
:class:`~tradewind.core.errors.UserError` naming the series instead of a numba typing error.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import DataError, UserError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]


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
    names = list(named)
    for name, arr in zip(names[1:], arrays[1:], strict=True):
        if arr.shape[0] != arrays[0].shape[0]:
            raise UserError(
                f"{name} has {arr.shape[0]} values but {names[0]} has {arrays[0].shape[0]}: "
                "all price series must have the same length"
            )
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
