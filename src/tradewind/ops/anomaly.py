"""Anomaly alerts: what an operator should hear about before it becomes a loss.

- slippage above 3 standard deviations of its own 30-day history (at least 30 samples);
- API latency p99 over the last five minutes above 3x the median of the last hour;
- a day's loss beyond half the daily-loss breaker (once per UTC day);
- every data-quality event (gaps, stale streams, sequence breaks) as it comes.

Each alert is published on the event hub as ``alert.<kind>`` (the SSE stream and notifiers listen
there) and kept in :attr:`AnomalyAlerts.raised`. Times are UTC ms, given by the caller.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tradewind.ops.events import EventHub

__all__ = ["Alert", "AnomalyAlerts"]

_DAY = 86_400_000
_HOUR = 3_600_000
_FIVE_MIN = 300_000


@dataclass(frozen=True)
class Alert:
    """One alert: its kind, when, and what triggered it."""

    kind: str
    ts: int
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


class AnomalyAlerts:
    """The detectors of one bot.

    Parameters
    ----------
    events
        Where alerts are published (None: kept only).
    daily_loss_limit
        The daily-loss breaker as a fraction of the day's starting equity (None: no loss alert).
    """

    def __init__(self, events: EventHub | None = None, *, daily_loss_limit: float | None = None):
        self.events = events
        self.daily_loss_limit = daily_loss_limit
        self.raised: list[Alert] = []
        self._slippage: deque[tuple[int, float]] = deque()
        self._latency: deque[tuple[int, float]] = deque()
        self._loss_day = -1

    def _raise(self, kind: str, ts: int, message: str, **detail: Any) -> Alert:
        alert = Alert(kind, ts, message, detail)
        self.raised.append(alert)
        if self.events is not None:
            self.events.publish(f"alert.{kind}", {"ts": ts, "message": message, **detail})
        return alert

    def slippage(self, ts: int, bps: float, *, symbol: str = "") -> Alert | None:
        """Record one fill's slippage (basis points, adverse positive); alert when it is beyond
        3 standard deviations of the 30 days before it."""
        history = self._slippage
        while history and history[0][0] < ts - 30 * _DAY:
            history.popleft()
        alert = None
        if len(history) >= 30:
            values = [v for _, v in history]
            mean, sd = statistics.fmean(values), statistics.pstdev(values)
            if sd > 0 and bps > mean + 3 * sd:
                alert = self._raise(
                    "slippage", ts,
                    f"slippage {bps:.1f} bps{' on ' + symbol if symbol else ''} is beyond 3 "
                    f"standard deviations of its 30-day history (mean {mean:.1f}, sd {sd:.1f})",
                    bps=bps, mean=mean, sd=sd, symbol=symbol,
                )  # fmt: skip
        history.append((ts, bps))
        return alert

    def latency(self, ts: int, seconds: float) -> Alert | None:
        """Record one API call's latency; alert when the last five minutes' p99 is above 3x the
        last hour's median (with at least 20 calls in each)."""
        calls = self._latency
        calls.append((ts, seconds))
        while calls and calls[0][0] < ts - _HOUR:
            calls.popleft()
        recent = sorted(v for t, v in calls if t >= ts - _FIVE_MIN)
        if len(calls) < 20 or len(recent) < 20:
            return None
        p99 = recent[min(len(recent) - 1, int(0.99 * len(recent)))]
        median = statistics.median(v for _, v in calls)
        if median > 0 and p99 > 3 * median:
            return self._raise(
                "latency", ts,
                f"API latency p99 {p99 * 1000:.0f} ms over five minutes is above 3x the hour's "
                f"median {median * 1000:.0f} ms",
                p99=p99, median=median,
            )  # fmt: skip
        return None

    def daily_loss(self, ts: int, day_start_equity: Decimal, equity: Decimal) -> Alert | None:
        """Alert (once per UTC day) when the day's loss passes half the daily-loss breaker."""
        if self.daily_loss_limit is None or day_start_equity <= 0 or ts // _DAY == self._loss_day:
            return None
        loss = float((day_start_equity - equity) / day_start_equity)
        if loss <= self.daily_loss_limit / 2:
            return None
        self._loss_day = ts // _DAY
        return self._raise(
            "daily_loss", ts,
            f"today's loss {loss:.2%} is past half the daily-loss breaker "
            f"({self.daily_loss_limit:.2%})",
            loss=loss, limit=self.daily_loss_limit,
        )  # fmt: skip

    def execution_slippage(
        self, ts: int, bps: float, *, mean: float, sd: float, algo: str, execution: str
    ) -> Alert:
        """Pass on an execution whose slippage the cost analysis found beyond 3 standard
        deviations of its algorithm's history (the Node's ``tca.alert``)."""
        return self._raise(
            "slippage", ts,
            f"execution {execution} ({algo}): slippage {bps:.1f} bps is beyond 3 standard "
            f"deviations of its algorithm's history (mean {mean:.1f}, sd {sd:.1f})",
            bps=bps, mean=mean, sd=sd, algo=algo, execution=execution,
        )  # fmt: skip

    def data_quality(self, ts: int, what: str, **detail: Any) -> Alert:
        """Pass a data-quality event on as an alert."""
        return self._raise("data_quality", ts, what, **detail)
