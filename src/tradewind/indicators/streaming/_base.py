"""The common shape of every streaming indicator, and the O(1) building blocks they share.

A streaming indicator is fed one bar at a time with ``update(...)`` and returns the value the
vectorised function would return at that bar: NaN during warm-up at exactly the same bars, then
the same number (the same floating-point operations in the same order as TA-Lib, so usually
bit-identical). ``value`` repeats the last result and ``ready`` says whether warm-up is over.
Multi-output indicators return tuples in the vectorised function's output order.
"""

from __future__ import annotations

import math
import numbers
from collections import deque
from typing import Generic, TypeVar

from tradewind.core.errors import DataError, UserError

NAN = math.nan


def check_period(name: str, value: int, minimum: int) -> int:
    """Validate an integer window length the way the vectorised functions do."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise UserError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise UserError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def check_positive(name: str, value: float) -> float:
    """Validate a strictly positive, finite float parameter."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UserError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise UserError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def check_finite(name: str, value: float) -> float:
    """Refuse NaN and infinities at the door: one bad tick would poison every later value."""
    x = float(value)
    if not math.isfinite(x):
        raise DataError(f"{name} must be finite, got {value!r}")
    return x


Output = TypeVar("Output", float, tuple[float, float], tuple[float, float, float])


class StreamingIndicator(Generic[Output]):
    """Base class: holds the last output; subclasses define ``update``.

    ``Output`` is ``float`` for single-output indicators and a tuple of floats for the others;
    subclasses set ``self._value`` in ``update``.
    """

    __slots__ = ("_value",)

    _value: Output

    @property
    def value(self) -> Output:
        """The last value returned by ``update`` (NaN, or a tuple of NaN, before the first)."""
        return self._value

    @property
    def ready(self) -> bool:
        """True once warm-up is over and ``value`` holds a number."""
        first = self._value[0] if isinstance(self._value, tuple) else self._value
        return not math.isnan(first)


class RollingExtreme:
    """Maximum (or minimum) of the last ``size`` values in O(1) amortised per push.

    A monotonic deque of ``(index, value)``: values that can never again be the extreme (an
    older, smaller value when tracking the maximum) are dropped as soon as a newer one arrives.
    """

    __slots__ = ("_count", "_dq", "_is_max", "_size")

    def __init__(self, size: int, *, maximum: bool) -> None:
        self._size = size
        self._is_max = maximum
        self._dq: deque[tuple[int, float]] = deque()
        self._count = 0

    def push(self, x: float) -> float:
        """Add ``x`` and return the extreme of the last ``size`` values pushed."""
        dq = self._dq
        if self._is_max:
            while dq and dq[-1][1] <= x:
                dq.pop()
        else:
            while dq and dq[-1][1] >= x:
                dq.pop()
        dq.append((self._count, x))
        if dq[0][0] <= self._count - self._size:
            dq.popleft()
        self._count += 1
        return dq[0][1]

    @property
    def full(self) -> bool:
        """True once ``size`` values have been pushed."""
        return self._count >= self._size
