"""ExchangeClock: the offset alert and periodic re-measurement."""

from __future__ import annotations

import asyncio

from tradewind.connectors.exchange_clock import ExchangeClock, wall_ms


async def test_a_large_offset_at_real_time_raises_an_alert() -> None:
    async def skewed() -> int:
        return wall_ms() + 7_000

    clock = ExchangeClock(skewed, recv_window_ms=10_000)
    alerts: list[str] = []
    task = asyncio.ensure_future(clock.keep_measured(0.05, alerts.append))
    await asyncio.sleep(0.12)
    task.cancel()
    assert clock.measurements >= 2
    assert 6_900 <= clock.offset_ms <= 7_100
    assert alerts
    assert "recvWindow" in alerts[0]
