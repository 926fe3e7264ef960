"""Streaming volatility indicators and channels: ATR, Bollinger Bands, Keltner, Donchian."""

from __future__ import annotations

import math
from collections import deque

from tradewind.core.errors import UserError
from tradewind.indicators.streaming._base import (
    NAN,
    RollingExtreme,
    StreamingIndicator,
    check_finite,
    check_period,
    check_positive,
)
from tradewind.indicators.streaming.averages import EMA

__all__ = ["ATR", "BBands", "Donchian", "Keltner"]


class ATR(StreamingIndicator[float]):
    """Wilder's average true range (vectorised: ``volatility.atr``).

    Parameters
    ----------
    timeperiod : int, default 14
        Period (>= 1; 1 returns the true range itself, as TA-Lib does). Warm-up: NaN for the
        first ``timeperiod`` updates; the first value is the mean of the first ``timeperiod``
        true ranges (the first bar has no previous close, so no true range).
    """

    __slots__ = ("_atr", "_count", "_prev_close", "_total", "timeperiod")

    def __init__(self, timeperiod: int = 14) -> None:
        self.timeperiod = check_period("timeperiod", timeperiod, 1)
        self._count = 0
        self._prev_close = NAN
        self._total = 0.0
        self._atr = NAN
        self._value = NAN

    def update(self, high: float, low: float, close: float) -> float:
        """Add one bar; return the ATR at this bar (NaN during warm-up)."""
        h = check_finite("high", high)
        lo = check_finite("low", low)
        c = check_finite("close", close)
        self._count += 1
        prev = self._prev_close
        self._prev_close = c
        if self._count == 1:
            return self._value
        # The order of comparisons follows TA-Lib's TRANGE so ties resolve identically.
        greatest = h - lo
        v = abs(prev - h)
        greatest = max(greatest, v)
        v = abs(prev - lo)
        greatest = max(greatest, v)
        n = self.timeperiod
        if n == 1:
            self._value = greatest
        elif self._count <= n + 1:
            self._total += greatest
            if self._count == n + 1:
                self._atr = self._total / n
                self._value = self._atr
        else:
            atr = self._atr * (n - 1)
            atr += greatest
            atr /= n
            self._atr = atr
            self._value = atr
        return self._value


class BBands(StreamingIndicator[tuple[float, float, float]]):
    """Bollinger Bands over an SMA with the population standard deviation (``volatility.bbands``).

    Parameters
    ----------
    timeperiod : int, default 5
        Window length (>= 2). Warm-up: NaN for the first ``timeperiod - 1`` updates.
    nbdevup, nbdevdn : float, default 2.0
        Deviations above and below the middle band.

    Notes
    -----
    Returns ``(upper, middle, lower)``. Only TA-Lib's default moving-average type (SMA) is
    offered. The deviation takes the vectorised kernel's steps one for one (running sums of
    deviations from a shift near the window, rebuilt by a fresh two-pass when the variance falls
    below 1e-6 of the peak mean square or every ``32 * timeperiod`` bars), so the bands are
    bit-identical to ``volatility.bbands``: a paper session's band comparisons then equal the
    backtest's even for a close that sits on a band.
    """

    __slots__ = (
        "_count", "_peak2", "_shift", "_since", "_t1", "_t2", "_total", "_window", "nbdevdn",
        "nbdevup", "timeperiod",
    )  # fmt: skip

    def __init__(self, timeperiod: int = 5, nbdevup: float = 2.0, nbdevdn: float = 2.0) -> None:
        self.timeperiod = check_period("timeperiod", timeperiod, 2)
        self.nbdevup = float(nbdevup)
        self.nbdevdn = float(nbdevdn)
        if not (math.isfinite(self.nbdevup) and math.isfinite(self.nbdevdn)):
            raise UserError(f"nbdevup and nbdevdn must be finite, got {nbdevup!r}, {nbdevdn!r}")
        self._window: deque[float] = deque()
        self._count = 0
        self._total = 0.0
        self._shift = NAN
        self._t1 = 0.0
        self._t2 = 0.0
        self._peak2 = 0.0
        self._since = 32 * self.timeperiod
        self._value = (NAN, NAN, NAN)

    def update(self, real: float) -> tuple[float, float, float]:
        """Add one value; return ``(upper, middle, lower)`` (NaN during warm-up)."""
        x = check_finite("real", real)
        p = self.timeperiod
        window = self._window
        window.append(x)
        self._count += 1
        self._total += x
        if self._count == 1:
            self._shift = x
        v = x - self._shift
        self._t1 += v
        self._t2 += v * v
        if self._count < p:
            self._peak2 = self._t2
            return self._value
        variance = self._variance(p)
        middle = self._total / p
        self._total -= window.popleft()
        sd = math.sqrt(variance)
        self._value = (middle + sd * self.nbdevup, middle, middle - sd * self.nbdevdn)
        return self._value

    def _variance(self, p: int) -> float:
        # ``volatility._var_or_sd_into`` for the newest bar, with ``window`` holding the last
        # ``p`` values (the oldest still in it); every operation in the kernel's order.
        window = self._window
        inv_p = 1.0 / p
        t1, t2, shift = self._t1, self._t2, self._shift
        peak2 = t2 if t2 > self._peak2 else self._peak2
        mean1 = t1 * inv_p
        variance = t2 * inv_p - mean1 * mean1
        v = window[0] - shift
        t1 -= v
        t2 -= v * v
        self._since -= 1
        if variance < 0.000001 * (peak2 * inv_p) or self._since <= 0:
            self._since = 32 * p
            total = 0.0
            for value in window:
                total += value
            shift = total * inv_p
            t1, t2 = _shifted_sums(window, shift)
            mean1 = t1 * inv_p
            variance = t2 * inv_p - mean1 * mean1
            if variance < 0.000001 * (t2 * inv_p):
                # A window flat to its own rounding re-anchors on one of its values.
                shift = window[-1]
                t1, t2 = _shifted_sums(window, shift)
                mean1 = t1 * inv_p
                variance = t2 * inv_p - mean1 * mean1
            peak2 = t2
            if variance < 0.000000000001 * (t2 * inv_p):
                variance = 0.0
            v = window[0] - shift
            t1 -= v
            t2 -= v * v
        self._t1, self._t2, self._shift, self._peak2 = t1, t2, shift, peak2
        return variance


def _shifted_sums(values: deque[float], shift: float) -> tuple[float, float]:
    t1 = 0.0
    t2 = 0.0
    for x in values:
        v = x - shift
        t1 += v
        t2 += v * v
    return t1, t2


class Keltner(StreamingIndicator[tuple[float, float, float]]):
    """Keltner channels: EMA of the close +- ``multiplier`` x ATR (``channels.keltner``).

    Parameters
    ----------
    timeperiod : int, default 20
        EMA period of the middle line (>= 2).
    multiplier : float, default 2.0
        Channel half-width in ATRs.
    atr_period : int, default 10
        ATR period.

    Notes
    -----
    Returns ``(upper, middle, lower)``, NaN for the first ``max(timeperiod - 1, atr_period)``
    updates.
    """

    __slots__ = ("_atr", "_ema", "multiplier")

    def __init__(self, timeperiod: int = 20, multiplier: float = 2.0, atr_period: int = 10) -> None:
        self._ema = EMA(timeperiod)
        self._atr = ATR(atr_period)
        self.multiplier = check_positive("multiplier", multiplier)
        self._value = (NAN, NAN, NAN)

    def update(self, high: float, low: float, close: float) -> tuple[float, float, float]:
        """Add one bar; return ``(upper, middle, lower)`` (NaN during warm-up)."""
        # Validate before touching either component so a bad bar leaves no half-applied state.
        h, lo, c = (
            check_finite("high", high),
            check_finite("low", low),
            check_finite("close", close),
        )
        middle = self._ema.update(c)
        atr = self._atr.update(h, lo, c)
        width = self.multiplier * atr
        self._value = (middle + width, middle, middle - width)
        return self._value


class Donchian(StreamingIndicator[tuple[float, float, float]]):
    """Donchian channels over the last ``timeperiod`` bars, current bar included.

    Parameters
    ----------
    timeperiod : int, default 20
        Window length (>= 1). Warm-up: NaN for the first ``timeperiod - 1`` updates.

    Notes
    -----
    Returns ``(upper, middle, lower)`` like ``channels.donchian``. O(1) amortised per update:
    the highest high and lowest low are tracked with monotonic deques.
    """

    __slots__ = ("_high", "_low")

    def __init__(self, timeperiod: int = 20) -> None:
        size = check_period("timeperiod", timeperiod, 1)
        self._high = RollingExtreme(size, maximum=True)
        self._low = RollingExtreme(size, maximum=False)
        self._value = (NAN, NAN, NAN)

    def update(self, high: float, low: float) -> tuple[float, float, float]:
        """Add one bar; return ``(upper, middle, lower)`` (NaN during warm-up)."""
        upper = self._high.push(check_finite("high", high))
        lower = self._low.push(check_finite("low", low))
        if self._high.full:
            self._value = (upper, (upper + lower) / 2.0, lower)
        return self._value
