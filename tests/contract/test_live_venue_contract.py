"""The live venue passes the venue conformance suite: the real async ccxt client (built by
``connectors``) against the exchange simulator on loopback, trading spot XRP/USDT, whose book
replays Bybit's recorded XRPUSDT levels.

The market moves as a real one does: between the suite's steps another account of the simulator
(a "whale") buys through the recorded asks now and then, so the last price rises onto a buy stop
placed above it, as the stop test needs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from venue_suite import VenueConformance, VenueHarness

from tradewind.connectors.client import create_async_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.instruments import instruments_from_markets
from tradewind.exchange_sim import LoopbackServer, SimExchange
from tradewind.exchange_sim.recordings import list_shared_recordings
from tradewind.venues.live import LiveVenuePort

SYMBOL = "XRP/USDT"
FUNDS = {"USDT": 100_000, "XRP": 20_000}


@pytest.fixture(scope="module")
def server(shared_data: Path) -> Iterator[LoopbackServer]:
    sim = list_shared_recordings(SimExchange(seed=7), shared_data)
    with LoopbackServer(sim) as running:
        yield running


_names = iter(range(1, 1_000_000))


async def client_for(server: LoopbackServer, **balances: Any) -> Any:
    """A loaded ``ccxt.pro`` client for a fresh funded account of the simulator."""
    name = f"live{next(_names)}"
    key = server.call(
        lambda: server.sim.open_account(name, balances=balances or FUNDS, futures_usdt=10_000)
    )
    cfg = ExchangeConfig(
        rest_url=server.rest_url, api_key=key.key, secret=key.secret, rate_limit=False,
        timeout_ms=3000,
    )  # fmt: skip
    client = create_async_client(cfg, market_types=("spot",))
    await client.load_markets()
    return client


class LiveHarness(VenueHarness):
    """The live port on a fresh account; a step pauses, refreshes the price and, every tenth
    step, lets the whale lift the asks up to 0.4 % above the best one."""

    def __init__(self, port: LiveVenuePort, whale: Any) -> None:
        super().__init__()
        self.venue = port
        self.instrument = port.instruments[SYMBOL]
        self.whale = whale
        self.last = Decimal(0)
        self.steps = 0

    def now(self) -> int:
        return int(time.time() * 1000)

    def price(self) -> Decimal:
        return self.last

    async def refresh(self) -> None:
        book = await self.whale.fetch_order_book(SYMBOL, 50)
        self.last = Decimal(repr(book["asks"][0][0]))

    async def step(self) -> None:
        self.steps += 1
        await asyncio.sleep(0.02)
        if self.steps % 10 == 0:
            book = await self.whale.fetch_order_book(SYMBOL, 100)
            top = book["asks"][0][0]
            size = sum(q for p, q in book["asks"] if p <= top * 1.004)
            await self.whale.create_order(SYMBOL, "market", "buy", round(size + 1))


class TestLiveVenue(VenueConformance):
    timeout = 10.0

    @pytest.fixture
    async def harness(self, server: LoopbackServer) -> AsyncIterator[VenueHarness]:
        client = await client_for(server)
        whale = await client_for(server, USDT=50_000_000)
        port = LiveVenuePort(client, instruments_from_markets(client, [SYMBOL]), poll_s=0.05)
        harness = LiveHarness(port, whale)
        harness.connect()
        await harness.refresh()
        yield harness
        await port.close()
        await client.close()
        await whale.close()
