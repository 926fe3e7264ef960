"""Receive latency of each (source, stream): this machine's receive time minus the exchange's
own stamp of the message, over a rolling window, with p50/p99 and an alert threshold.

The lag mixes network delay with the clock offset between the exchange and this machine; on
loopback (and with a synchronised clock) it is the delay. A stream whose rolling p99 goes above
``threshold_ms`` (100 ms by default) raises a :class:`~tradewind.core.source_events.LatencyAlert`
once, and clears it once when the p99 is back below; at least ``min_samples`` lags are needed
before a stream is judged, so one late message at start-up does not alert.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from tradewind.core.errors import UserError
from tradewind.core.source_events import LatencyAlert

DEFAULT_THRESHOLD_MS = 100.0
"""Receive lag above which a stream alerts (the mission's latency target)."""


@dataclass
class _Stream:
    lags: deque[int]
    alerting: bool = False
    count: int = 0


@dataclass
class LatencyMonitor:
    """Rolling receive lags per ``(source, stream)``.

    Parameters
    ----------
    threshold_ms
        p99 above which a stream alerts.
    window
        Lags kept per stream (the most recent ones).
    min_samples
        Lags needed before a stream can alert.
    """

    threshold_ms: float = DEFAULT_THRESHOLD_MS
    window: int = 1000
    min_samples: int = 20
    _streams: dict[tuple[str, str], _Stream] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.threshold_ms <= 0:
            raise UserError(f"latency threshold_ms must be > 0, got {self.threshold_ms}")
        if self.window < 1 or not 1 <= self.min_samples <= self.window:
            raise UserError("latency window must be >= 1 and min_samples in 1..window")

    def observe(
        self, source: str, stream: str, exchange_ms: int, received_ms: int
    ) -> LatencyAlert | None:
        """Record one message; return an alert when the stream's p99 crossed the threshold."""
        key = (source, stream)
        entry = self._streams.get(key)
        if entry is None:
            entry = self._streams[key] = _Stream(deque(maxlen=self.window))
        entry.lags.append(received_ms - exchange_ms)
        entry.count += 1
        if len(entry.lags) < self.min_samples:
            return None
        # Judged every tenth message: a percentile over 1000 lags per message would be the
        # feed's most expensive per-message work.
        if entry.count % 10 and not entry.alerting:
            return None
        p50, p99 = self.percentiles(source, stream)
        above = p99 > self.threshold_ms
        if above == entry.alerting:
            return None
        entry.alerting = above
        return LatencyAlert(source, stream, p50, p99, self.threshold_ms, above, received_ms)

    def percentiles(self, source: str, stream: str) -> tuple[float, float]:
        """Return the stream's rolling (p50, p99) receive lag in ms.

        Raises
        ------
        KeyError
            For a stream with no message yet.
        """
        lags = np.fromiter(self._streams[(source, stream)].lags, dtype=np.float64)
        p50, p99 = np.percentile(lags, [50.0, 99.0])
        return float(p50), float(p99)

    def streams(self) -> list[tuple[str, str]]:
        """Return every ``(source, stream)`` seen so far."""
        return list(self._streams)

    def alerting(self) -> list[tuple[str, str]]:
        """Return the streams whose p99 is above the threshold now."""
        return [key for key, entry in self._streams.items() if entry.alerting]
