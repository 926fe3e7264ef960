"""Fixtures of the exchange-simulator conformance suite: the shared recordings served on loopback,
fresh funded accounts, and the real ccxt clients (sync, async, pro) pointed at the server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import ccxt
import ccxt.async_support
import ccxt.pro
import pytest
from simkit import SyncFactory, Venue, _make_venue, _settings, configure, open_account

from tradewind.exchange_sim import FaultPlan, LoopbackServer, SimExchange
from tradewind.exchange_sim.accounts import ApiKey
from tradewind.exchange_sim.limits import LimitConfig, RateLimits
from tradewind.exchange_sim.recordings import list_shared_recordings


@pytest.fixture(scope="session")
def recorded_exchange(shared_data: Path) -> SimExchange:
    """Every shared recording listed once per session (reading the files is the slow part)."""
    return list_shared_recordings(SimExchange(seed=7), shared_data)


@pytest.fixture
def sim(recorded_exchange: SimExchange) -> SimExchange:
    """The recorded exchange with a fresh fault plan, request log and limits for this test."""
    recorded_exchange.faults = FaultPlan()
    recorded_exchange.limits = RateLimits(LimitConfig())
    recorded_exchange.maintenance = False
    return recorded_exchange


@pytest.fixture
def server(sim: SimExchange) -> Iterator[LoopbackServer]:
    """``sim`` on 127.0.0.1 from a background thread (for the sync client)."""
    with LoopbackServer(sim) as running:
        yield running


@pytest.fixture
def sync_client(server: LoopbackServer) -> Iterator[SyncFactory]:
    """Build loaded ``ccxt.binance`` clients for fresh accounts (``rate_limit``, ``timeout_ms``)."""

    def make(
        key: ApiKey | None = None, *, rate_limit: bool = False, timeout_ms: int = 15000
    ) -> Any:
        key = key or open_account(server)
        client = configure(ccxt.binance(_settings(key, rate_limit, timeout_ms)), server, ws=False)
        client.load_markets()
        client.sim_key = key
        return client

    return make


@pytest.fixture
async def async_client(server: LoopbackServer) -> AsyncIterator[Callable[..., Any]]:
    """Build loaded async clients: ``pro=True`` for ``ccxt.pro`` (streams), else async_support."""
    made: list[Any] = []

    async def make(key: ApiKey | None = None, *, pro: bool = True, rate_limit: bool = False,
                   timeout_ms: int = 15000) -> Any:  # fmt: skip
        key = key or open_account(server)
        module = ccxt.pro if pro else ccxt.async_support
        client = configure(module.binance(_settings(key, rate_limit, timeout_ms)), server, ws=pro)
        made.append(client)
        await client.load_markets()
        client.sim_key = key
        return client

    yield make
    for client in made:
        await client.close()


@pytest.fixture(params=["sync", "async"])
async def venue(
    request: pytest.FixtureRequest,
    server: LoopbackServer,
    sync_client: SyncFactory,
    async_client: Callable[..., Any],
) -> Venue:
    """A loaded client for a fresh account: ``ccxt.binance`` or ``ccxt.async_support.binance``.

    The server runs in its own thread either way, so both clients see the same exchange.
    """
    factory = sync_client if request.param == "sync" else async_client
    return await _make_venue(server, request.param, factory)
