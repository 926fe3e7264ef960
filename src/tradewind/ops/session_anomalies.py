"""What feeds a trading session's anomaly detectors (:class:`~tradewind.ops.anomaly.AnomalyAlerts`).

- each exchange request's latency (a live session's request gate): the API p99 over five
  minutes against three times the hour's median;
- the equity at each closed instant: a day's loss past half the ``daily_loss`` breaker of the
  session's risk rules (the day starts at the first close of each UTC day of the bot's clock);
- data-quality events: a market stream gone stale, a book resynchronised after a sequence gap, a
  backfill that failed, and the source set's cross-check findings;
- an execution's slippage beyond 3 standard deviations of its algorithm's history (the Node's
  ``tca.alert``).

Every alert goes out as ``alert.<kind>`` on the session's event hub: the SSE stream and the
notifiers (``anomaly`` notifications) hear it there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tradewind.core.market_events import AlertKind, StreamAlert
from tradewind.core.source_events import DataQuality
from tradewind.engine.bus import MessageBus
from tradewind.ops.anomaly import Alert, AnomalyAlerts
from tradewind.ops.events import EventHub

__all__ = ["DATA_QUALITY_KINDS", "SessionAnomalies"]

_DAY = 86_400_000

DATA_QUALITY_KINDS = frozenset({AlertKind.STALE, AlertKind.BOOK_RESYNC, AlertKind.BACKFILL_FAILED})
"""Stream alerts that say the data itself is in doubt (a disconnect or a reconnect alone does
not: the backfill fills what was missed)."""


class SessionAnomalies:
    """The anomaly detectors of one session and what feeds them (see the module docstring).

    Parameters
    ----------
    events
        The session's event hub (where alerts go).
    daily_loss_limit
        The ``daily_loss`` breaker of the session's risk rules (None: no loss alert).
    clock
        Wall-clock seconds (the latency windows are wall time).
    """

    def __init__(
        self,
        events: EventHub,
        *,
        daily_loss_limit: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.alerts = AnomalyAlerts(events, daily_loss_limit=daily_loss_limit)
        self._clock = clock
        self._day = -1
        self._day_start = Decimal(0)
        self.requests = 0
        """Exchange requests timed so far."""

    def attach(self, bus: MessageBus) -> None:
        """Hear the Node's execution-cost alerts (``tca.alert``)."""
        bus.subscribe("tca.alert", self._on_tca)

    def request(self, seconds: float) -> Alert | None:
        """One exchange request took ``seconds``."""
        self.requests += 1
        return self.alerts.latency(int(self._clock() * 1000), seconds)

    def closed(self, ts: int, equity: Decimal) -> Alert | None:
        """The equity at the instant closing at ``ts`` (the bot's clock)."""
        day = ts // _DAY
        if day != self._day:
            self._day, self._day_start = day, equity
        return self.alerts.daily_loss(ts, self._day_start, equity)

    def stream(self, event: StreamAlert) -> Alert | None:
        """A market stream's alert: a data-quality alert when it puts the data in doubt."""
        if event.kind not in DATA_QUALITY_KINDS:
            return None
        what = f"{event.stream}: {event.kind.value} {event.detail}".strip()
        return self.alerts.data_quality(event.received_ms, what, stream=event.stream,
                                        symbols=list(event.symbols))  # fmt: skip

    def cross_check(self, event: DataQuality) -> Alert:
        """A cross-check finding of the session's market-data sources."""
        what = (f"{event.symbol}: {event.kind.value} of {event.source}, "
                f"{event.deviation_bps} bps from the others ({event.detail})")  # fmt: skip
        return self.alerts.data_quality(event.received_ms, what, symbol=event.symbol,
                                        source=event.source)  # fmt: skip

    def _on_tca(self, topic: str, payload: Any) -> None:
        self.alerts.execution_slippage(
            int(payload.ts), float(payload.slippage_bps), mean=float(payload.mean_bps),
            sd=float(payload.std_bps), algo=str(payload.algo),
            execution=str(payload.execution_id),
        )  # fmt: skip
