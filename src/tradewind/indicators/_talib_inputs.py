"""Argument checks and the leading-NaN rule shared by the TA-Lib-compatible indicators.

The leading-NaN rule (the one TA-Lib's Python wrapper applies): the calculation starts at the
first bar where *every* input series is a number, as if the series began there; the output is NaN
before that bar and through the indicator's warm-up after it. NaNs further in are not skipped:
they flow through the recursion exactly as they do in TA-Lib's C loops (a NaN inside a running sum
or an exponential average poisons every later value; a NaN inside a rolling max/min window is
compared, and loses, like any other number). When every bar has a NaN somewhere, the calculation
starts at the last bar, as TA-Lib's does, and the output is NaN throughout for every indicator with
a warm-up.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numba as nb
import numpy as np
import numpy.typing as npt

from tradewind.core.errors import UserError

FloatArray = npt.NDArray[np.float64]

# TA-Lib's upper bound on every integer period.
MAX_PERIOD = 100_000


class IndicatorInputError(UserError, ValueError):
    """Bad arguments to an indicator: wrong length, shape, type, or a period out of range.

    It is a :class:`ValueError` too, so code written against TA-Lib's Python wrapper that catches
    ``ValueError``-like errors keeps working.
    """


def series(name: str, values: npt.ArrayLike) -> FloatArray:
    """Return ``values`` as a contiguous 1-D float64 array, or raise naming ``name``."""
    try:
        arr = np.ascontiguousarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise IndicatorInputError(
            f"{name} must be a numeric 1-D array, got {type(values).__name__}: {exc}"
        ) from exc
    if arr.ndim != 1:
        raise IndicatorInputError(f"{name} must be a 1-D array, got shape {arr.shape}")
    return arr


def same_length(**named: npt.ArrayLike) -> list[FloatArray]:
    """Convert several series and check they have one length; the error names both series."""
    arrays = [series(name, values) for name, values in named.items()]
    names = list(named)
    for name, arr in zip(names[1:], arrays[1:], strict=True):
        if arr.shape[0] != arrays[0].shape[0]:
            raise IndicatorInputError(
                f"{name} has {arr.shape[0]} values but {names[0]} has {arrays[0].shape[0]}: "
                "all input series must have the same length"
            )
    return arrays


def period(name: str, value: int, minimum: int, maximum: int = MAX_PERIOD) -> int:
    """Check an integer period against TA-Lib's range ``minimum..maximum`` (inclusive)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise IndicatorInputError(f"{name} must be an integer, got {value!r}")
    if not minimum <= value <= maximum:
        raise IndicatorInputError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return int(value)


def real_param(name: str, value: float, minimum: float, maximum: float = 3.0e37) -> float:
    """Check a real parameter against TA-Lib's range ``minimum..maximum`` (inclusive)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise IndicatorInputError(f"{name} must be a number, got {value!r}")
    if not minimum <= float(value) <= maximum:
        raise IndicatorInputError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return float(value)


MA_TYPE_NAMES = ("SMA", "EMA", "WMA", "DEMA", "TEMA", "TRIMA", "KAMA", "MAMA", "T3")
MA_MAMA = 7


def matype(name: str, value: int) -> int:
    """Check a TA-Lib MA_Type code (0..8); MAMA (7) is refused because it is not implemented."""
    code = period(name, value, 0, len(MA_TYPE_NAMES) - 1)
    if code == MA_MAMA:
        raise IndicatorInputError(
            f"{name}=7 (MAMA) is not supported; use 0=SMA, 1=EMA, 2=WMA, 3=DEMA, 4=TEMA, "
            "5=TRIMA, 6=KAMA or 8=T3"
        )
    return code


@nb.njit(cache=True, nogil=True)
def first_valid(arrays: tuple[FloatArray, ...]) -> int:  # pragma: no cover - numba
    """First index where every array is a number; ``n - 1`` when there is none (as TA-Lib)."""
    n = arrays[0].shape[0]
    for i in range(n):
        ok = True
        for k in range(len(arrays)):
            if np.isnan(arrays[k][i]):
                ok = False
                break
        if ok:
            return i
    return max(n - 1, 0)


def run(
    kernel: Callable[..., None],
    inputs: tuple[FloatArray, ...],
    params: tuple[float | int, ...],
    n_out: int = 1,
) -> tuple[FloatArray, ...]:
    """Apply the leading-NaN rule around ``kernel(*inputs_from_start, *params, *outs)``.

    The kernel sees the inputs from the first all-valid bar on and writes its outputs (NaN during
    its own warm-up) into views of the full-length output arrays, so nothing is copied.
    """
    n = inputs[0].shape[0]
    outs = tuple(np.empty(n) for _ in range(n_out))
    if n == 0:
        return outs
    begin = first_valid(inputs)
    for out in outs:
        out[:begin] = np.nan
    kernel(*(a[begin:] for a in inputs), *params, *(o[begin:] for o in outs))
    return outs
