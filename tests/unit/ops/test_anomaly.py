"""Anomaly alerts: slippage beyond 3 sd of its 30-day history, API p99 above 3x the hour's
median, half the daily-loss breaker (once a day), data-quality events; each published on the
event stream."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from tradewind.ops.anomaly import AnomalyAlerts
from tradewind.ops.events import EventHub

DAY = 86_400_000
MINUTE = 60_000


def test_slippage_beyond_three_sd_of_its_30_day_history() -> None:
    alerts = AnomalyAlerts()
    t0 = 100 * DAY
    for n in range(40):  # mean 2 bps, sd 1 bps
        assert alerts.slippage(t0 + n * MINUTE, 1.0 if n % 2 else 3.0, symbol="BTC/USDT") is None
    assert alerts.slippage(t0 + 41 * MINUTE, 4.9) is None  # within 3 sd
    alert = alerts.slippage(t0 + 42 * MINUTE, 5.5, symbol="BTC/USDT")
    assert alert is not None
    assert "5.5 bps on BTC/USDT" in alert.message
    # Thirty-one days later the old history has aged out: too few samples to judge.
    assert alerts.slippage(t0 + 31 * DAY, 50.0) is None


def test_latency_p99_above_three_times_the_hours_median() -> None:
    alerts = AnomalyAlerts()
    t0 = 10 * DAY
    for n in range(100):  # 20 ms calls over the hour
        assert alerts.latency(t0 + n * 30_000, 0.020) is None
    now = t0 + 100 * 30_000
    fired = [alerts.latency(now + n * 1000, 0.080) for n in range(30)]
    assert fired[-1] is not None
    assert "p99 80 ms" in fired[-1].message


def test_half_the_daily_loss_breaker_alerts_once_a_day() -> None:
    alerts = AnomalyAlerts(daily_loss_limit=0.04)
    start = Decimal("10000")
    assert alerts.daily_loss(5 * DAY + 1, start, Decimal("9850")) is None  # 1.5% < 2%
    first = alerts.daily_loss(5 * DAY + 2, start, Decimal("9750"))  # 2.5%
    assert first is not None
    assert "2.50%" in first.message
    assert alerts.daily_loss(5 * DAY + 3, start, Decimal("9500")) is None  # once a day
    assert alerts.daily_loss(6 * DAY + 1, start, Decimal("9700")) is not None


async def test_alerts_go_out_on_the_event_stream() -> None:
    hub = EventHub()
    queue, close = hub.listen()
    alerts = AnomalyAlerts(hub)
    alerts.data_quality(7 * DAY, "gap of 3 candles in BTC/USDT 1m", symbol="BTC/USDT")
    text = await asyncio.wait_for(queue.get(), 1)
    close()
    assert text.startswith("event: alert.data_quality\n")
    assert '"symbol": "BTC/USDT"' in text
