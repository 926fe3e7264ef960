"""A replay that falls behind its clock still gives the event loop back, so the server answers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tradewind.exchange_sim import SimExchange
from tradewind.exchange_sim.clock import SimClock
from tradewind.exchange_sim.driver import ReplayDriver
from tradewind.exchange_sim.recordings import list_shared_recordings


@pytest.mark.timeout(60)
async def test_a_replay_behind_its_clock_does_not_starve_the_loop(shared_data: Path) -> None:
    # A million times real time: every step is overdue the moment it is looked at.
    sim = list_shared_recordings(SimExchange(clock=SimClock(speed=1e6), seed=1), shared_data)
    driver = ReplayDriver(sim)
    driver.start()
    try:
        lags = []
        for _ in range(20):
            asked = time.monotonic()
            await asyncio.sleep(0.01)
            lags.append(time.monotonic() - asked - 0.01)
        assert driver.steps_applied > 0
        # Generous for a loaded 2-core machine; starved, the sleep never returns at all.
        assert max(lags) < 0.5, lags
    finally:
        await driver.stop()
