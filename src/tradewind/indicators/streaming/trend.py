"""Streaming trend indicators: ADX (TA-Lib's arithmetic) and Supertrend."""

from __future__ import annotations

import math

from tradewind.indicators.streaming._base import (
    NAN,
    StreamingIndicator,
    check_finite,
    check_period,
    check_positive,
)
from tradewind.indicators.streaming.volatility import ATR

__all__ = ["ADX", "Supertrend"]

_EPSILON = 1e-14  # TA-Lib's TA_IS_ZERO band


class ADX(StreamingIndicator[float]):
    """Wilder's average directional index (vectorised: ``trend.adx``).

    Parameters
    ----------
    timeperiod : int, default 14
        Period (>= 2). Warm-up: NaN for the first ``2 * timeperiod - 1`` updates.

    Notes
    -----
    +DM, -DM and TR are summed over the first ``timeperiod - 1`` changes, then smoothed with
    ``s = s - s / n + x``; the first ADX is the mean of ``timeperiod`` DX values and later ones
    use ``(adx * (n - 1) + dx) / n``. A bar whose TR or DI sum is (near) zero leaves ADX
    unchanged, as in TA-Lib.
    """

    __slots__ = (
        "_adx",
        "_count",
        "_minus_dm",
        "_plus_dm",
        "_prev_close",
        "_prev_high",
        "_prev_low",
        "_sum_dx",
        "_tr",
        "timeperiod",
    )

    def __init__(self, timeperiod: int = 14) -> None:
        self.timeperiod = check_period("timeperiod", timeperiod, 2)
        self._count = 0
        self._prev_high = self._prev_low = self._prev_close = NAN
        self._minus_dm = 0.0
        self._plus_dm = 0.0
        self._tr = 0.0
        self._sum_dx = 0.0
        self._adx = NAN
        self._value = NAN

    def _dx(self) -> float:
        """DX of the current smoothed sums, or NaN when TA-Lib would skip the bar."""
        tr = self._tr
        if -_EPSILON < tr < _EPSILON:
            return NAN
        minus_di = 100.0 * (self._minus_dm / tr)
        plus_di = 100.0 * (self._plus_dm / tr)
        total = minus_di + plus_di
        if -_EPSILON < total < _EPSILON:
            return NAN
        return 100.0 * (abs(minus_di - plus_di) / total)

    def update(self, high: float, low: float, close: float) -> float:
        """Add one bar; return the ADX at this bar (NaN during warm-up)."""
        h = check_finite("high", high)
        lo = check_finite("low", low)
        c = check_finite("close", close)
        self._count += 1
        n = self.timeperiod
        if self._count == 1:
            self._prev_high, self._prev_low, self._prev_close = h, lo, c
            return self._value
        diff_p = h - self._prev_high
        diff_m = self._prev_low - lo
        prev_close = self._prev_close
        self._prev_high, self._prev_low, self._prev_close = h, lo, c
        seeding = self._count <= n
        if not seeding:
            self._minus_dm -= self._minus_dm / n
            self._plus_dm -= self._plus_dm / n
        if diff_m > 0 and diff_p < diff_m:
            self._minus_dm += diff_m
        elif diff_p > 0 and diff_p > diff_m:
            self._plus_dm += diff_p
        tr = h - lo
        v = abs(h - prev_close)
        tr = max(tr, v)
        v = abs(lo - prev_close)
        tr = max(tr, v)
        if seeding:
            self._tr += tr
            return self._value
        self._tr = self._tr - self._tr / n + tr
        dx = self._dx()
        if self._count <= 2 * n:
            if not math.isnan(dx):
                self._sum_dx += dx
            if self._count == 2 * n:
                self._adx = self._sum_dx / n
                self._value = self._adx
            return self._value
        if not math.isnan(dx):
            self._adx = (self._adx * (n - 1) + dx) / n
        self._value = self._adx
        return self._value


class Supertrend(StreamingIndicator[tuple[float, float]]):
    """Supertrend line and direction (vectorised: ``channels.supertrend``).

    Parameters
    ----------
    timeperiod : int, default 10
        ATR period.
    multiplier : float, default 3.0
        Band half-width in ATRs around ``(high + low) / 2``.

    Notes
    -----
    Returns ``(line, direction)`` with direction +1.0 (up) or -1.0 (down); both NaN for the first
    ``timeperiod`` updates. The first defined bar starts in a downtrend, as the vectorised form.
    """

    __slots__ = ("_atr", "_lower", "_prev_close", "_started", "_trend", "_upper", "multiplier")

    def __init__(self, timeperiod: int = 10, multiplier: float = 3.0) -> None:
        self._atr = ATR(timeperiod)
        self.multiplier = check_positive("multiplier", multiplier)
        self._upper = NAN
        self._lower = NAN
        self._trend = NAN
        self._prev_close = NAN
        self._started = False
        self._value = (NAN, NAN)

    @property
    def bands(self) -> tuple[float, float]:
        """The final ``(upper, lower)`` bands after the last update: the levels a close must
        cross to flip the direction (NaN during warm-up)."""
        return self._upper, self._lower

    def update(self, high: float, low: float, close: float) -> tuple[float, float]:
        """Add one bar; return ``(line, direction)`` (NaN during warm-up)."""
        h, lo, c = (
            check_finite("high", high),
            check_finite("low", low),
            check_finite("close", close),
        )
        atr = self._atr.update(h, lo, c)
        prev_close = self._prev_close
        self._prev_close = c
        if math.isnan(atr):
            return self._value
        mid = (h + lo) / 2.0
        basic_upper = mid + self.multiplier * atr
        basic_lower = mid - self.multiplier * atr
        if not self._started:
            self._upper, self._lower, self._trend = basic_upper, basic_lower, -1.0
            self._started = True
        else:
            if basic_upper < self._upper or prev_close > self._upper:
                self._upper = basic_upper
            if basic_lower > self._lower or prev_close < self._lower:
                self._lower = basic_lower
            if self._trend < 0.0:
                self._trend = 1.0 if c > self._upper else -1.0
            else:
                self._trend = -1.0 if c < self._lower else 1.0
        line = self._lower if self._trend > 0.0 else self._upper
        self._value = (line, self._trend)
        return self._value
