"""Native stops on a USDT-M perpetual through the live port. ccxt sends them to Binance's algo
API, where they wait unseen by the regular order endpoints; once triggered they are a regular
order whose fills the port must book, once, against the bot's stop.

The real ccxt client against the simulator; the truth is the simulator's ledger.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from livekit import Book, client_for, port_for

from tradewind.core.events import OrderFilled, OrderTriggered
from tradewind.core.orders import ClientIdFactory, Order, OrderStatus, OrderType
from tradewind.core.records import Side
from tradewind.exchange_sim import LoopbackServer, SimExchange
from tradewind.exchange_sim.recordings import list_shared_recordings
from tradewind.venues.live import LiveVenuePort

PERP, PERP_ID = "XRP/USDT:USDT", "XRPUSDT"


@pytest.fixture
def server(shared_data: Path) -> Iterator[LoopbackServer]:
    sim = list_shared_recordings(SimExchange(seed=31), shared_data)
    # One exchange a test: the stop test sweeps the book through its stop.
    with LoopbackServer(sim) as running:
        yield running


async def _until(check: Callable[[], bool], what: str, timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def _long_with_stop(
    client: Any,
    port: LiveVenuePort,
    book: Book,
    ids: ClientIdFactory,
    level: int,
    factor: str = "1",
) -> Order:
    """Buy 100 XRP on the perpetual, then rest a reduce-only stop-market at ``factor`` times the
    bid ``level`` levels below the best (the book shows up to 10)."""
    entry = Order(ids.next(), PERP, Side.BUY, OrderType.MARKET, Decimal(100))
    book.track(entry)
    port.submit(entry, 0)
    await _until(lambda: book.orders[entry.client_id].status is OrderStatus.FILLED, "the entry")
    bids = (await client.fetch_order_book(PERP, 10))["bids"]
    trigger = port.instruments[PERP].round_price(Decimal(repr(bids[level][0])) * Decimal(factor))
    stop = Order(ids.next(), PERP, Side.SELL, OrderType.STOP_MARKET, Decimal(100),
                 trigger_price=trigger, reduce_only=True)  # fmt: skip
    book.track(stop)
    port.submit(stop, 0)
    await _until(lambda: book.orders[stop.client_id].status is OrderStatus.ACCEPTED, "the stop")
    return stop


@pytest.mark.parametrize("stream", [False, True], ids=["polled", "user-stream"])
async def test_a_triggered_perpetual_stop_is_booked_once_and_the_position_closes(
    server: LoopbackServer, stream: bool
) -> None:
    client, key = await client_for(server, market_types=("linear",))
    whale, _ = await client_for(server, market_types=("linear",), futures_usdt=50_000_000)
    port = port_for(client, [PERP], poll_s=0.05, stream=stream)
    book = Book()
    port.subscribe(book.receive)
    ids = ClientIdFactory("pst", session="a")
    await port.start()
    try:
        await port.configure_futures(PERP, leverage=3, margin_mode="isolated")
        stop = await _long_with_stop(client, port, book, ids, 5)
        [algo] = server.call(lambda: [o for o in server.sim.store.algo.values()
                                      if o.client_id == stop.client_id])  # fmt: skip
        assert algo.is_waiting_algo
        # A restart lists the waiting stop among the open orders, and finds it by client id.
        assert stop.client_id in {o.client_id for o in await port.open_orders()}
        stranger = port_for(client, [PERP], poll_s=0.05)
        found = await stranger.order(stop.client_id)
        assert found is not None
        assert found.status is OrderStatus.ACCEPTED
        # Other accounts trade the price through the stop, leaving bids below it to fill it.
        depth = (await whale.fetch_order_book(PERP, 500))["bids"]
        assert depth[6][0] < float(stop.trigger_price or 0)
        await whale.create_order(PERP, "market", "sell", round(sum(q for _, q in depth[:7])))
        await _until(
            lambda: book.orders[stop.client_id].status is OrderStatus.FILLED, "the stop's fill"
        )
        await asyncio.sleep(0.5)  # more polls: nothing is booked twice
        mine = [e for e in book.events if getattr(e, "client_id", "") == stop.client_id]
        assert sum(isinstance(e, OrderTriggered) for e in mine) == 1
        fills = [e.fill for e in mine if isinstance(e, OrderFilled)]
        on_exchange = server.call(lambda: [
            t for t in key.account.futures_trades if str(t["orderId"]) == str(algo.order_id)
        ])  # fmt: skip
        assert sorted(f.trade_id for f in fills) == sorted(str(t["id"]) for t in on_exchange)
        assert sum((f.quantity for f in fills), Decimal(0)) == Decimal(100)
        assert await port.positions() == {}
        position = server.call(lambda: key.account.positions.get(PERP_ID))
        assert position is None or position.qty == 0
        assert stop.client_id not in port.following()
        ended = await stranger.order(stop.client_id)
        assert ended is not None
        assert ended.status is OrderStatus.FILLED
        await stranger.close()
    finally:
        await port.close()
        await client.close()
        await whale.close()


async def test_a_waiting_perpetual_stop_is_canceled_on_the_algo_api(
    server: LoopbackServer,
) -> None:
    client, _ = await client_for(server, market_types=("linear",))
    port = port_for(client, [PERP], poll_s=0.05)
    book = Book()
    port.subscribe(book.receive)
    ids = ClientIdFactory("pcn", session="a")
    try:
        stop = await _long_with_stop(client, port, book, ids, 0, "0.9")
        port.cancel(stop.client_id, 0)
        await _until(
            lambda: book.orders[stop.client_id].status is OrderStatus.CANCELED, "the cancel"
        )
        [algo] = server.call(lambda: [o for o in server.sim.store.algo.values()
                                      if o.client_id == stop.client_id])  # fmt: skip
        assert algo.status == "CANCELED"
        assert stop.client_id not in {o.client_id for o in await port.open_orders()}
        stranger = port_for(client, [PERP], poll_s=0.05)
        found = await stranger.order(stop.client_id)
        assert found is not None
        assert found.status is OrderStatus.CANCELED
        await stranger.close()
    finally:
        await port.close()
        await client.close()
