"""Clocks: where the engine's time comes from.

The Node never reads a wall clock: the runner or the live driver tells it the time with each
event. A backtest's :class:`SimulatedClock` is moved by the runner to each event's time; the live
driver reads a :class:`LiveClock`. Both answer ``now()`` in UTC milliseconds.
"""

from __future__ import annotations

import time

from tradewind.core.errors import TradewindError


class ClockError(TradewindError):
    """Time was asked to go backwards."""


class SimulatedClock:
    """Time as the recorded data says: it only moves forward, to each event's time."""

    def __init__(self, start_ms: int = 0) -> None:
        self._now = start_ms

    def now(self) -> int:
        """The current simulated time, UTC ms."""
        return self._now

    def advance_to(self, ts_ms: int) -> None:
        """Move to ``ts_ms``; going backwards is a bug in the runner and raises."""
        if ts_ms < self._now:
            raise ClockError(f"simulated time cannot go back from {self._now} to {ts_ms}")
        self._now = ts_ms


class LiveClock:
    """The machine's UTC clock, in milliseconds (paper and live trading)."""

    def now(self) -> int:
        """Wall-clock time, UTC ms."""
        return time.time_ns() // 1_000_000
