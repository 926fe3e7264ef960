"""Streaming oscillators: RSI, MACD and the slow stochastic, matching TA-Lib's arithmetic."""

from __future__ import annotations

import math

from tradewind.core.errors import UserError
from tradewind.indicators.streaming._base import (
    NAN,
    RollingExtreme,
    StreamingIndicator,
    check_finite,
    check_period,
)
from tradewind.indicators.streaming.averages import SMA, SeededEMA

__all__ = ["MACD", "RSI", "Stoch"]

# TA-Lib's TA_IS_ZERO band (TA_EPSILON in ta_utility.h of the TA-Lib C library the wheel bundles).
_EPSILON = 1e-14


class RSI(StreamingIndicator[float]):
    """Wilder's relative strength index (vectorised: ``momentum.rsi``).

    Parameters
    ----------
    timeperiod : int, default 14
        Period (>= 2). Warm-up: NaN for the first ``timeperiod`` updates (one price change per
        bar is needed, and ``timeperiod`` of them seed the averages).

    Notes
    -----
    Average gain and loss start as plain means of the first ``timeperiod`` changes, then follow
    Wilder's smoothing ``avg = (avg * (n - 1) + x) / n``. Output ``100 * gain / (gain + loss)``,
    or 0 when both averages are (near) zero, exactly as TA-Lib.
    """

    __slots__ = ("_count", "_gain", "_loss", "_prev", "timeperiod")

    def __init__(self, timeperiod: int = 14) -> None:
        self.timeperiod = check_period("timeperiod", timeperiod, 2)
        self._count = 0
        self._prev = NAN
        self._gain = 0.0
        self._loss = 0.0
        self._value = NAN

    def _output(self) -> float:
        total = self._gain + self._loss
        if -_EPSILON < total < _EPSILON:
            return 0.0
        return 100.0 * (self._gain / total)

    def update(self, real: float) -> float:
        """Add one close; return the RSI at this bar (NaN during warm-up)."""
        x = check_finite("real", real)
        n = self.timeperiod
        self._count += 1
        if self._count == 1:
            self._prev = x
            return self._value
        diff = x - self._prev
        self._prev = x
        if self._count <= n + 1:
            if diff < 0.0:
                self._loss -= diff
            else:
                self._gain += diff
            if self._count == n + 1:
                self._loss /= n
                self._gain /= n
                self._value = self._output()
            return self._value
        self._loss *= n - 1
        self._gain *= n - 1
        if diff < 0.0:
            self._loss -= diff
        else:
            self._gain += diff
        self._loss /= n
        self._gain /= n
        self._value = self._output()
        return self._value


class MACD(StreamingIndicator[tuple[float, float, float]]):
    """MACD line, signal line and histogram (vectorised: ``momentum.macd``).

    Parameters
    ----------
    fastperiod, slowperiod, signalperiod : int, default 12, 26, 9
        EMA periods (>= 2; if ``slowperiod < fastperiod`` they are swapped, as TA-Lib does).

    Notes
    -----
    Returns ``(macd, signal, hist)``. Warm-up: all three are NaN for the first
    ``slowperiod + signalperiod - 2`` updates. As in TA-Lib, both EMAs are seeded at bar
    ``slowperiod - 1``: the slow one with the mean of the first ``slowperiod`` closes, the fast
    one with the mean of the ``fastperiod`` closes ending there (not of the first ``fastperiod``).
    """

    __slots__ = (
        "_count",
        "_fast",
        "_history",
        "_signal",
        "_slow",
        "fastperiod",
        "signalperiod",
        "slowperiod",
    )

    def __init__(self, fastperiod: int = 12, slowperiod: int = 26, signalperiod: int = 9) -> None:
        fast = check_period("fastperiod", fastperiod, 2)
        slow = check_period("slowperiod", slowperiod, 2)
        self.signalperiod = check_period("signalperiod", signalperiod, 1)
        if slow < fast:
            fast, slow = slow, fast
        self.fastperiod, self.slowperiod = fast, slow
        self._fast = SeededEMA(fast)
        self._slow = SeededEMA(slow)
        self._signal = SeededEMA(self.signalperiod)
        self._history: list[float] = []
        self._count = 0
        self._value = (NAN, NAN, NAN)

    def update(self, real: float) -> tuple[float, float, float]:
        """Add one close; return ``(macd, signal, hist)`` (NaN during warm-up)."""
        x = check_finite("real", real)
        self._count += 1
        if self._count < self.slowperiod:
            self._history.append(x)
            return self._value
        if self._count == self.slowperiod:
            self._history.append(x)
            self._slow.seed(self._history)
            self._fast.seed(self._history[-self.fastperiod :])
            self._history = []
        else:
            self._slow.update(x)
            self._fast.update(x)
        line = self._fast.value - self._slow.value
        signal = self._signal.update(line)
        if math.isnan(signal):  # the signal EMA is still seeding
            return self._value
        self._value = (line, signal, line - signal)
        return self._value


class Stoch(StreamingIndicator[tuple[float, float]]):
    """Slow stochastic %K and %D with simple moving averages (vectorised: ``momentum.stoch``).

    Parameters
    ----------
    fastk_period : int, default 5
        Window of the raw %K: ``100 * (close - lowest low) / (highest high - lowest low)``, 0 when
        the window has no range.
    slowk_period, slowd_period : int, default 3, 3
        SMA periods for slow %K and %D (TA-Lib's default MA type, SMA, is the only one offered).

    Notes
    -----
    Returns ``(slowk, slowd)``, both NaN for the first
    ``fastk_period + slowk_period + slowd_period - 3`` updates.
    """

    __slots__ = (
        "_high",
        "_low",
        "_slowd",
        "_slowk",
        "fastk_period",
        "slowd_period",
        "slowk_period",
    )

    def __init__(self, fastk_period: int = 5, slowk_period: int = 3, slowd_period: int = 3) -> None:
        self.fastk_period = check_period("fastk_period", fastk_period, 1)
        self.slowk_period = check_period("slowk_period", slowk_period, 1)
        self.slowd_period = check_period("slowd_period", slowd_period, 1)
        self._high = RollingExtreme(self.fastk_period, maximum=True)
        self._low = RollingExtreme(self.fastk_period, maximum=False)
        self._slowk = _Average(self.slowk_period)
        self._slowd = _Average(self.slowd_period)
        self._value = (NAN, NAN)

    def update(self, high: float, low: float, close: float) -> tuple[float, float]:
        """Add one bar; return ``(slowk, slowd)`` (NaN during warm-up)."""
        h = check_finite("high", high)
        lo = check_finite("low", low)
        c = check_finite("close", close)
        highest = self._high.push(h)
        lowest = self._low.push(lo)
        if not self._high.full:
            return self._value
        diff = (highest - lowest) / 100.0
        fastk = (c - lowest) / diff if diff != 0.0 else 0.0
        slowk = self._slowk.update(fastk)
        if math.isnan(slowk):
            return self._value
        slowd = self._slowd.update(slowk)
        if math.isnan(slowd):
            return self._value
        self._value = (slowk, slowd)
        return self._value


class _Average:
    """An SMA that also accepts period 1 (TA-Lib's MA with period 1 passes values through)."""

    __slots__ = ("_sma",)

    def __init__(self, timeperiod: int) -> None:
        if timeperiod < 1:
            raise UserError(f"an average period must be at least 1, got {timeperiod}")
        self._sma = SMA(timeperiod) if timeperiod > 1 else None

    def update(self, x: float) -> float:
        return x if self._sma is None else self._sma.update(x)
