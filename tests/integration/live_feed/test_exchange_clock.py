"""ExchangeClock measured against the loopback Binance replaying at 60x (real ccxt client)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from tradewind.connectors.exchange_clock import ExchangeClock, time_of
from tradewind.exchange_sim import LoopbackServer

SPEED = 60.0  # the replay speed of conftest.py


async def test_the_clock_follows_a_replay_between_measurements(
    server: LoopbackServer, pro_client: Callable[[], Any]
) -> None:
    client = pro_client()
    try:
        clock = ExchangeClock(time_of(client), rate=SPEED, samples=5)
        with pytest.raises(RuntimeError, match="not been measured"):
            clock.now()
        rtt = await clock.measure()
        await asyncio.sleep(0.5)  # no message in between: the clock still moves
        error = clock.now() - server.sim.clock()
        # Within half the round trip (scaled by the replay speed) plus scheduling noise.
        assert abs(error) <= SPEED * (rtt / 2 + 5)
        assert clock.offset_ms > 20_000  # 60x: far ahead of the wall clock after 0.5 s
        assert not clock.offset_too_large()  # not meaningful for a replay
    finally:
        await client.close()
