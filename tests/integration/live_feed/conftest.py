"""Fixtures of the live-feed tests: the shared recordings on a loopback Binance replaying at 60x,
served from the test's own event loop, and a real ``ccxt.pro.binance`` client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tradewind.connectors.client import create_async_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.exchange_sim import FaultPlan, LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.limits import LimitConfig, RateLimits
from tradewind.exchange_sim.recordings import list_shared_recordings

SPEED = 60.0
"""Replay seconds per wall second: a 1m candle closes every wall second."""


@pytest.fixture(scope="module")
def recorded_exchange(shared_data: Path) -> SimExchange:
    """Every shared recording, listed once per module, on a 60x replay clock."""
    return list_shared_recordings(SimExchange(seed=7, clock=SimClock(speed=SPEED)), shared_data)


@pytest.fixture
def sim(recorded_exchange: SimExchange) -> SimExchange:
    """The recorded exchange with a fresh fault plan, request log and limits for this test."""
    recorded_exchange.faults = FaultPlan()
    recorded_exchange.limits = RateLimits(LimitConfig())
    return recorded_exchange


@pytest.fixture
async def server(sim: SimExchange) -> AsyncIterator[LoopbackServer]:
    """``sim`` served from the test's loop (the feed and the server share it)."""
    async with LoopbackServer(sim) as running:
        yield running


@pytest.fixture
def pro_client(server: LoopbackServer) -> Callable[[], Any]:
    """Build ``ccxt.pro.binance`` clients pointed at ``server`` (the feed closes them)."""

    def make() -> Any:
        cfg = ExchangeConfig(rest_url=server.rest_url, rate_limit=False, timeout_ms=15000)
        return create_async_client(cfg)

    return make
