"""Streaming moving averages: SMA and EMA, the same arithmetic as TA-Lib's SMA and EMA."""

from __future__ import annotations

from collections import deque

from tradewind.indicators.streaming._base import (
    NAN,
    StreamingIndicator,
    check_finite,
    check_period,
)

__all__ = ["EMA", "SMA"]


class SMA(StreamingIndicator[float]):
    """Simple moving average of the last ``timeperiod`` values (vectorised: ``overlap.sma``).

    Parameters
    ----------
    timeperiod : int, default 30
        Window length (>= 2, as TA-Lib requires). Warm-up: NaN for the first ``timeperiod - 1`` updates.

    Notes
    -----
    Keeps a running total (add the new value, divide, then drop the oldest), the order TA-Lib
    uses, so long runs accumulate the same rounding as the vectorised form.
    """

    __slots__ = ("_total", "_window", "timeperiod")

    def __init__(self, timeperiod: int = 30) -> None:
        self.timeperiod = check_period("timeperiod", timeperiod, 2)
        self._window: deque[float] = deque()
        self._total = 0.0
        self._value = NAN

    def update(self, real: float) -> float:
        """Add one value; return the SMA at this bar (NaN during warm-up)."""
        x = check_finite("real", real)
        self._total += x
        self._window.append(x)
        if len(self._window) < self.timeperiod:
            self._value = NAN
        else:
            self._value = self._total / self.timeperiod
            self._total -= self._window.popleft()
        return self._value


class SeededEMA:
    """TA-Lib's EMA core: seeded with the mean of the first ``timeperiod`` values it receives.

    Used directly by EMA and, with a delayed start, by MACD (whose fast EMA TA-Lib seeds on the
    values ending where the slow EMA's seed ends).
    """

    __slots__ = ("_k", "_n", "_seed_sum", "timeperiod", "value")

    def __init__(self, timeperiod: int) -> None:
        self.timeperiod = timeperiod
        self._k = 2.0 / (timeperiod + 1)
        self._n = 0
        self._seed_sum = 0.0
        self.value = NAN

    def seed(self, values: list[float]) -> float:
        """Start from the mean of ``values`` (summed in order, as TA-Lib does)."""
        total = 0.0
        for v in values:
            total += v
        self.value = total / self.timeperiod
        self._n = self.timeperiod
        return self.value

    def update(self, x: float) -> float:
        """Add one value; return the EMA (NaN until ``timeperiod`` values have been seen)."""
        if self._n >= self.timeperiod:
            self.value = ((x - self.value) * self._k) + self.value
            return self.value
        self._seed_sum += x
        self._n += 1
        if self._n == self.timeperiod:
            self.value = self._seed_sum / self.timeperiod
        return self.value


class EMA(StreamingIndicator[float]):
    """Exponential moving average, ``k = 2 / (timeperiod + 1)`` (vectorised: ``overlap.ema``).

    Parameters
    ----------
    timeperiod : int, default 30
        Period (>= 2, as TA-Lib requires). The first value, at update ``timeperiod``, is the SMA
        of the first ``timeperiod`` inputs; NaN before it.
    """

    __slots__ = ("_core", "timeperiod")

    def __init__(self, timeperiod: int = 30) -> None:
        self.timeperiod = check_period("timeperiod", timeperiod, 2)
        self._core = SeededEMA(self.timeperiod)
        self._value = NAN

    def update(self, real: float) -> float:
        """Add one value; return the EMA at this bar (NaN during warm-up)."""
        self._value = self._core.update(check_finite("real", real))
        return self._value
