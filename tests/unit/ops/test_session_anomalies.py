"""What feeds a session's anomaly detectors: request latencies, the equity at each close, stream
and cross-check data-quality events, and the Node's execution-cost alerts, each reaching the event
hub as ``alert.<kind>`` (where the SSE stream and the notifiers listen)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradewind.core.market_events import AlertKind, StreamAlert, StreamState
from tradewind.core.source_events import DataQuality, QualityKind
from tradewind.engine.bus import MessageBus
from tradewind.execution.tca import SlippageAlert
from tradewind.ops.events import EventHub
from tradewind.ops.session_anomalies import SessionAnomalies

DAY = 86_400_000


def _hub() -> tuple[EventHub, list[tuple[str, Any]]]:
    hub = EventHub()
    heard: list[tuple[str, Any]] = []
    hub.subscribe(lambda topic, payload: heard.append((topic, payload)))
    return hub, heard


def test_request_latency_above_three_times_the_hours_median() -> None:
    hub, heard = _hub()
    now = [1_800_000_000.0]
    anomalies = SessionAnomalies(hub, clock=lambda: now[0])
    for _ in range(200):  # an hour of 50 ms requests
        now[0] += 15
        assert anomalies.request(0.05) is None
    for _ in range(30):  # then a slow spell: 400 ms each
        now[0] += 1
        anomalies.request(0.4)
    topics = [t for t, _ in heard]
    assert "alert.latency" in topics
    payload = dict(heard)["alert.latency"]
    assert payload["p99"] > 3 * payload["median"]


def test_a_days_loss_past_half_the_breaker_alerts_once_a_day() -> None:
    hub, heard = _hub()
    anomalies = SessionAnomalies(hub, daily_loss_limit=0.04)
    day = 20_000 * DAY
    assert anomalies.closed(day + 60_000, Decimal(1000)) is None  # the day starts here
    assert anomalies.closed(day + 120_000, Decimal(985)) is None  # 1.5%: under half of 4%
    assert anomalies.closed(day + 180_000, Decimal(975)) is not None  # 2.5%
    assert anomalies.closed(day + 240_000, Decimal(950)) is None  # once a day
    # The next day starts from its own first close.
    assert anomalies.closed(day + DAY + 60_000, Decimal(950)) is None
    assert anomalies.closed(day + DAY + 120_000, Decimal(920)) is not None
    assert [t for t, _ in heard] == ["alert.daily_loss", "alert.daily_loss"]
    # Without a daily-loss breaker there is nothing to compare with.
    assert SessionAnomalies(hub).closed(day, Decimal(1)) is None


def test_data_quality_events_and_execution_slippage_reach_the_alert_path() -> None:
    hub, heard = _hub()
    anomalies = SessionAnomalies(hub)
    bus = MessageBus()
    anomalies.attach(bus)

    def stream(kind: AlertKind) -> StreamAlert:
        return StreamAlert("kline:BTC/USDT", ("BTC/USDT",), kind, StreamState.STALE, "12 s", 5)

    assert anomalies.stream(stream(AlertKind.RECONNECTED)) is None  # backfilled: not a doubt
    assert anomalies.stream(stream(AlertKind.STALE)) is not None
    anomalies.cross_check(DataQuality("BTC/USDT", next(iter(QualityKind)), "binance2",
                                      Decimal(101), Decimal(100), Decimal(100), "off", 7))  # fmt: skip
    bus.publish("tca.alert", 9, SlippageAlert("p-1", "twap", 42.0, 3.0, 5.0, 9))
    assert [t for t, _ in heard] == ["alert.data_quality", "alert.data_quality", "alert.slippage"]
    slippage = heard[-1][1]
    assert slippage["bps"] == 42.0
    assert "p-1" in slippage["message"]
