"""Fixtures of the Bybit v5 conformance suite: the recordings served as Bybit on loopback, fresh
funded accounts, and the two independent clients (ccxt's bybit, sync/async/pro, and Bybit's own
``pybit``) pointed at the server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import ccxt
import ccxt.async_support
import ccxt.pro
import pytest
from bybitkit import open_account, point, settings

from tradewind.exchange_sim import FaultPlan, LoopbackServer, SimExchange
from tradewind.exchange_sim.accounts import ApiKey
from tradewind.exchange_sim.bybit import build_bybit_app
from tradewind.exchange_sim.recordings import list_bybit_recordings, list_shared_recordings


@pytest.fixture(scope="session")
def bybit_exchange(shared_data: Path) -> SimExchange:
    """The Bybit venue's recordings (linear and spot XRPUSDT on Bybit's own L2, spot BTCUSDT)."""
    return list_bybit_recordings(SimExchange(seed=11), shared_data)


@pytest.fixture
def bybit_sim(bybit_exchange: SimExchange) -> SimExchange:
    """The venue with a fresh fault plan and request log for this test."""
    bybit_exchange.faults = FaultPlan()
    bybit_exchange.maintenance = False
    return bybit_exchange


@pytest.fixture
def bybit_server(bybit_sim: SimExchange) -> Iterator[LoopbackServer]:
    """The venue served as Bybit v5 from a background thread."""
    with LoopbackServer(bybit_sim, app_factory=build_bybit_app) as running:
        yield running


@pytest.fixture(scope="session")
def bybit_history_exchange(shared_data: Path) -> SimExchange:
    """Every shared recording served as Bybit: linear XRPUSDT has recorded candles and funding."""
    return list_shared_recordings(SimExchange(seed=5), shared_data)


@pytest.fixture(params=[False, True], ids=["limiter-off", "limiter-on"])
def limiter(request: pytest.FixtureRequest) -> bool:
    """Whether the clients rate-limit themselves: every test of the suite that builds its clients
    here runs both ways (the conformance suite passes with the client's limiter on and off)."""
    return bool(request.param)


@pytest.fixture
def ccxt_sync(bybit_server: LoopbackServer, limiter: bool) -> Callable[..., Any]:
    """Build loaded sync ``ccxt.bybit`` clients for fresh accounts (``rate_limit`` None: the
    suite's ``limiter``)."""

    def make(key: ApiKey | None = None, *, rate_limit: bool | None = None) -> Any:
        rate_limit = limiter if rate_limit is None else rate_limit
        key = key or open_account(bybit_server)
        client = point(ccxt.bybit(settings(key, rate_limit)), bybit_server)
        client.load_markets()
        client.sim_key = key
        return client

    return make


@pytest.fixture
async def ccxt_async(
    bybit_server: LoopbackServer, limiter: bool
) -> AsyncIterator[Callable[..., Any]]:
    """Build loaded async clients: ``pro=True`` for ``ccxt.pro.bybit``, else async_support
    (``rate_limit`` None: the suite's ``limiter``)."""
    made: list[Any] = []

    async def make(
        key: ApiKey | None = None, *, pro: bool = True, rate_limit: bool | None = None
    ) -> Any:
        rate_limit = limiter if rate_limit is None else rate_limit
        key = key or open_account(bybit_server)
        module = ccxt.pro if pro else ccxt.async_support
        client = point(module.bybit(settings(key, rate_limit)), bybit_server)
        made.append(client)
        await client.load_markets()
        client.sim_key = key
        return client

    yield make
    for client in made:
        await client.close()
