"""Prometheus metrics of one bot (prometheus-client is imported here and nowhere else).

Gauges that describe the state (equity, PnL, positions, orders by state, breaker state, pause) are
read from the control facade at each scrape, so they can never drift from what the API answers.
Counters and histograms that describe events (fills, order round trips, stream reconnects) are fed
from the Node's bus and from the runtime as they happen. Each bot has its own registry.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from tradewind.core.orders import OrderStatus
from tradewind.engine.bus import MessageBus
from tradewind.ops.facade import ControlFacade
from tradewind.persistence.jobs import job_counts

__all__ = ["CONTENT_TYPE", "METRIC_NAMES", "BotMetrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_BREAKER_LEVEL = {"ACTIVE": 0, "PAUSED": 1, "REDUCING": 2, "HALTED": 3}

METRIC_NAMES = (
    "tradewind_equity",
    "tradewind_realized_pnl",
    "tradewind_open_positions",
    "tradewind_orders",
    "tradewind_fills_total",
    "tradewind_bar_to_order_seconds",
    "tradewind_order_round_trip_seconds",
    "tradewind_stream_staleness_seconds",
    "tradewind_stream_reconnects_total",
    "tradewind_rate_budget_used_ratio",
    "tradewind_breaker_state",
    "tradewind_paused",
    "tradewind_jobs",
    "tradewind_engine_time_seconds",
)
"""Every metric a bot exposes (histograms add ``_bucket``, ``_sum`` and ``_count``)."""


class BotMetrics:
    """The metrics of one bot, refreshed from its facade at each scrape."""

    def __init__(self, facade: ControlFacade) -> None:
        disable_created_metrics()
        self.facade = facade
        self.registry = CollectorRegistry()
        r = self.registry
        self.equity = Gauge(
            "tradewind_equity", "Account equity in the account currency", registry=r
        )
        self.realized = Gauge(
            "tradewind_realized_pnl", "Closed-trade PnL of the session (net of fees)", registry=r
        )
        self.positions = Gauge("tradewind_open_positions", "Open positions", registry=r)
        self.orders = Gauge("tradewind_orders", "Orders by state", ["state"], registry=r)
        self.fills = Counter("tradewind_fills", "Fills booked", ["symbol", "side"], registry=r)
        self.bar_to_order = Histogram(
            "tradewind_bar_to_order_seconds", "From a bar's close arriving to its order being sent",
            buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.round_trip = Histogram(
            "tradewind_order_round_trip_seconds", "From an order sent to the venue's first answer",
            buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.staleness = Gauge(
            "tradewind_stream_staleness_seconds", "Age of the newest message per stream",
            ["stream"], registry=r,
        )  # fmt: skip
        self.reconnects = Counter(
            "tradewind_stream_reconnects", "Stream reconnects", ["stream"], registry=r
        )
        self.rate_budget = Gauge(
            "tradewind_rate_budget_used_ratio", "Share of the exchange rate budget in use",
            registry=r,
        )  # fmt: skip
        self.breaker = Gauge(
            "tradewind_breaker_state", "Account state: 0 active, 1 paused, 2 reducing, 3 halted",
            registry=r,
        )  # fmt: skip
        self.paused = Gauge("tradewind_paused", "1 while new entries are paused", registry=r)
        self.jobs = Gauge("tradewind_jobs", "Backtest/optimisation jobs by state", ["state"],
                          registry=r)  # fmt: skip
        self.engine_time = Gauge(
            "tradewind_engine_time_seconds", "The Node's clock (UTC seconds)", registry=r
        )
        self._sent: dict[str, float] = {}
        for state in OrderStatus:
            self.orders.labels(state=state.value)
        for state in ("queued", "running", "done", "failed"):
            self.jobs.labels(state=state)

    def attach(self, bus: MessageBus) -> None:
        """Count fills and time order round trips from the Node's bus."""
        bus.subscribe("order", self._on_order)

    def _on_order(self, topic: str, payload: Any) -> None:
        now = time.perf_counter()
        if topic == "order.submitted":
            self._sent[payload.client_id] = now
            return
        fill = getattr(payload, "fill", None)
        client_id = getattr(payload, "client_id", None) or getattr(fill, "client_id", None)
        sent = self._sent.pop(client_id, None) if client_id else None
        if sent is not None:
            self.round_trip.observe(now - sent)
        if topic == "order.filled" and fill is not None:
            self.fills.labels(symbol=fill.symbol, side=fill.side.value).inc()

    def render(self) -> bytes:
        """Refresh the state gauges from the facade and render the text exposition."""
        facade = self.facade
        node = facade.node
        self.equity.set(float(node.account.equity()))
        self.realized.set(float(sum((t.pnl for t in node.portfolio.trades), Decimal(0))))
        self.positions.set(len(node.account.open_positions()))
        counts = {state.value: 0 for state in OrderStatus}
        for order in node.orders.values():
            counts[order.status.value] += 1
        for state, count in counts.items():
            self.orders.labels(state=state).set(count)
        self.breaker.set(_BREAKER_LEVEL.get(facade.risk()["state"], 3))
        self.paused.set(1 if node.paused else 0)
        self.engine_time.set(node.now / 1000)
        for state, count in job_counts(facade.bot.engine).items():
            self.jobs.labels(state=state).set(count)
        return generate_latest(self.registry)
