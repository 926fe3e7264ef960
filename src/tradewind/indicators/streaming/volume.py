"""Streaming volume indicators: OBV, rolling VWAP and session-anchored VWAP."""

from __future__ import annotations

import math
from collections import deque

from tradewind.core.errors import DataError
from tradewind.core.timeframe import Timeframe
from tradewind.indicators import _checks
from tradewind.indicators.streaming._base import (
    NAN,
    StreamingIndicator,
    check_finite,
    check_period,
)

__all__ = ["OBV", "VWAP", "SessionVWAP"]


def _volume(volume: float) -> float:
    v = check_finite("volume", volume)
    if v < 0:
        raise DataError(f"volume must not be negative, got {volume!r}")
    return v


class OBV(StreamingIndicator[float]):
    """On-balance volume (vectorised: ``volume.obv``); no warm-up.

    The first bar's OBV is its own volume (TA-Lib's convention); later bars add the volume when
    the close rises, subtract it when the close falls, and carry it when the close is unchanged.
    """

    __slots__ = ("_obv", "_prev")

    def __init__(self) -> None:
        self._obv = NAN
        self._prev = NAN
        self._value = NAN

    def update(self, real: float, volume: float) -> float:
        """Add one bar's close (``real``) and volume; return the OBV."""
        x = check_finite("real", real)
        v = check_finite("volume", volume)
        if math.isnan(self._obv):
            self._obv = v
        elif x > self._prev:
            self._obv += v
        elif x < self._prev:
            self._obv -= v
        self._prev = x
        self._value = self._obv
        return self._value


class VWAP(StreamingIndicator[float]):
    """Rolling VWAP of the typical price over ``timeperiod`` bars (vectorised: ``vwap.vwap``).

    Parameters
    ----------
    timeperiod : int, default 14
        Window length (>= 1). Warm-up: NaN for the first ``timeperiod - 1`` updates; NaN too
        while the window holds no volume.
    """

    __slots__ = ("_nonzero", "_pv", "_v", "_window", "timeperiod")

    def __init__(self, timeperiod: int = 14) -> None:
        self.timeperiod = check_period("timeperiod", timeperiod, 1)
        self._window: deque[tuple[float, float]] = deque()
        self._pv = 0.0
        self._v = 0.0
        self._nonzero = 0
        self._value = NAN

    def update(self, high: float, low: float, close: float, volume: float) -> float:
        """Add one bar; return the rolling VWAP at this bar (NaN during warm-up)."""
        tp = check_finite("high", high) + check_finite("low", low) + check_finite("close", close)
        tp /= 3.0
        v = _volume(volume)
        self._pv += tp * v
        self._v += v
        if v != 0.0:
            self._nonzero += 1
        self._window.append((tp, v))
        if len(self._window) < self.timeperiod:
            return self._value
        self._value = self._pv / self._v if self._nonzero > 0 else NAN
        old_tp, old_v = self._window.popleft()
        self._pv -= old_tp * old_v
        self._v -= old_v
        if old_v != 0.0:
            self._nonzero -= 1
        return self._value


class SessionVWAP(StreamingIndicator[float]):
    """VWAP since the start of the current session (vectorised: ``vwap.session_vwap``).

    Parameters
    ----------
    anchor : str or Timeframe, default "1d"
        Session length; days start at 00:00 UTC, weeks on Monday 00:00 UTC.

    Notes
    -----
    ``update`` takes the bar's open time in milliseconds; a bar in a new session restarts the
    sums. No warm-up; NaN only while the session has traded zero volume.
    """

    __slots__ = ("_last_ts", "_pv", "_session", "_v", "anchor")

    def __init__(self, anchor: str | Timeframe = "1d") -> None:
        self.anchor = _checks.timeframe("anchor", anchor)
        self._session: int | None = None
        self._last_ts: int | None = None
        self._pv = 0.0
        self._v = 0.0
        self._value = NAN

    def update(self, high: float, low: float, close: float, volume: float, timestamp: int) -> float:
        """Add one bar with its open time (ms since the epoch); return the session VWAP."""
        ts = int(timestamp)
        if self._last_ts is not None and ts <= self._last_ts:
            raise DataError(f"timestamps must strictly increase: {ts} is not after {self._last_ts}")
        tp = check_finite("high", high) + check_finite("low", low) + check_finite("close", close)
        tp /= 3.0
        v = _volume(volume)
        self._last_ts = ts
        session = _checks.session_start_ms(ts, self.anchor)
        if session != self._session:
            self._session = session
            self._pv = 0.0
            self._v = 0.0
        self._pv += tp * v
        self._v += v
        self._value = self._pv / self._v if self._v > 0.0 else NAN
        return self._value
