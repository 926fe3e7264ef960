"""Prometheus metrics of one bot (prometheus-client is imported here and nowhere else).

Gauges that describe the state (equity, PnL, positions, orders by state, breaker state, pause) are
read from the control facade at each scrape, so they can never drift from what the API answers.
Counters and histograms that describe events (fills, order round trips, stream reconnects) are fed
from the Node's bus and from the runtime as they happen. Each bot has its own registry.

A session reading several market-data sources hands their
:class:`~tradewind.connectors.failover.SourceSet` to the facade (``facade.market_sources``); each
scrape then reads its receive lags (p50 and p99 per source and stream, in ms), its switches, its
active source and the symbols in the data divergence state. The session's other ordered needs
(``facade.need_sources``: trade and book sets, the polled funding and open-interest sets) export
their switches and active source the same way, labelled by need.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from tradewind.connectors.failover import SourceSet

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
    "tradewind_source_receive_lag_ms",
    "tradewind_source_switches_total",
    "tradewind_source_active",
    "tradewind_data_divergence",
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
        self.receive_lag = Gauge(
            "tradewind_source_receive_lag_ms", "Receive lag against the exchange's time",
            ["source", "stream", "quantile"], registry=r,
        )  # fmt: skip
        self.switches = Counter(
            "tradewind_source_switches", "Switches of the active market-data source", ["need"],
            registry=r,
        )  # fmt: skip
        self.active_source = Gauge(
            "tradewind_source_active", "1 for the active source of a data need, else 0",
            ["need", "source"], registry=r,
        )  # fmt: skip
        self.divergence = Gauge(
            "tradewind_data_divergence", "1 while a symbol's sources disagree (no new entries)",
            ["symbol"], registry=r,
        )  # fmt: skip
        self.rate_budget_use: Callable[[], float] | None = None
        """The share of the exchange's request-weight budget in use (a live session's shared
        budget), read at each scrape; None leaves the gauge at 0."""
        self._switches_seen: dict[str, int] = {}
        self._divergence_seen: set[str] = set()
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
        if facade.market_sources is not None:
            self._sources(facade.market_sources)
        for needs in facade.need_sources:
            self._switching(needs.need, needs.switches, needs.names, needs.active_name)
        if self.rate_budget_use is not None:
            self.rate_budget.set(self.rate_budget_use())
        return generate_latest(self.registry)

    def _sources(self, sources: SourceSet) -> None:
        for source, stream in sources.latency.streams():
            p50, p99 = sources.latency.percentiles(source, stream)
            self.receive_lag.labels(source=source, stream=stream, quantile="0.5").set(p50)
            self.receive_lag.labels(source=source, stream=stream, quantile="0.99").set(p99)
        self._switching(sources.need, sources.switches, sources.names, sources.active_name)
        divergent = sources.divergent_symbols()
        self._divergence_seen |= divergent
        for symbol in self._divergence_seen:
            self.divergence.labels(symbol=symbol).set(1 if symbol in divergent else 0)

    def _switching(self, need: str, switches: int, names: list[str], active: str) -> None:
        # A set counts its switches; the counter moves by what it has not seen yet.
        self.switches.labels(need=need).inc(switches - self._switches_seen.get(need, 0))
        self._switches_seen[need] = switches
        for name in names:
            self.active_source.labels(need=need, source=name).set(1 if name == active else 0)
