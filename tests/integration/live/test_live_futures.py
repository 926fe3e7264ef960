"""USDT-M perpetuals through the live port: margin mode and leverage set, one-way mode checked,
a market entry and a reduce-only exit with their fees in USDT, the position and the futures wallet
as the simulator's ledger has them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from livekit import Book, client_for, port_for

from tradewind.core.errors import UserError
from tradewind.core.events import OrderFilled
from tradewind.core.orders import ClientIdFactory, Order, OrderStatus, OrderType
from tradewind.core.records import Side
from tradewind.exchange_sim import LoopbackServer, SimExchange
from tradewind.exchange_sim.recordings import list_shared_recordings

PERP = "XRP/USDT:USDT"


@pytest.fixture(scope="module")
def server(shared_data: Path) -> Iterator[LoopbackServer]:
    sim = list_shared_recordings(SimExchange(seed=29), shared_data)
    with LoopbackServer(sim) as running:
        yield running


async def _filled(book: Book, client_id: str) -> None:
    deadline = time.monotonic() + 8
    while book.orders[client_id].status is not OrderStatus.FILLED:
        if time.monotonic() > deadline:
            pytest.fail(f"{client_id} not filled: {book.events[-5:]}")
        await asyncio.sleep(0.02)


async def test_a_perpetual_round_trip_one_way(server: LoopbackServer) -> None:
    client, key = await client_for(server, market_types=("linear",))
    port = port_for(client, [PERP], poll_s=0.05)
    book = Book()
    port.subscribe(book.receive)
    ids = ClientIdFactory("fut", session="a")
    try:
        with pytest.raises(UserError, match="isolated or cross"):
            await port.configure_futures(PERP, leverage=3, margin_mode="portfolio")
        await port.configure_futures(PERP, leverage=3, margin_mode="isolated")
        before = await port.balances()
        entry = Order(ids.next(), PERP, Side.BUY, OrderType.MARKET, Decimal(100))
        book.track(entry)
        port.submit(entry, 0)
        await _filled(book, entry.client_id)
        assert await port.positions() == {PERP: Decimal(100)}
        exit_order = Order(
            ids.next(), PERP, Side.SELL, OrderType.MARKET, Decimal(100), reduce_only=True
        )
        book.track(exit_order)
        port.submit(exit_order, 0)
        await _filled(book, exit_order.client_id)
        assert await port.positions() == {}
        fills = [e.fill for e in book.events if isinstance(e, OrderFilled)]
        assert {f.fee_currency for f in fills} == {"USDT"}
        assert all(f.fee > 0 for f in fills)
        after = await port.balances()
        pnl = sum(((f.price if f.side is Side.SELL else -f.price) * f.quantity for f in fills),
                  Decimal(0))  # fmt: skip
        fees = sum((f.fee for f in fills), Decimal(0))
        assert after["USDT"] - before["USDT"] == pnl - fees
        position = server.call(lambda: key.account.positions.get("XRPUSDT"))
        assert position is None or position.qty == 0
    finally:
        await port.close()
        await client.close()


async def test_a_quote_sized_market_entry_on_a_perpetual_is_sent_as_lots(
    server: LoopbackServer,
) -> None:
    # The risk gate sizes a market entry by its quote stake; USDT-M takes no quoteOrderQty, so
    # the port sends the lots that stake buys at the touch, and the fill states the quantity.
    client, key = await client_for(server, market_types=("linear",))
    port = port_for(client, [PERP], poll_s=0.05)
    events: list[object] = []
    port.subscribe(events.extend)
    ids = ClientIdFactory("fq", session="a")
    try:
        ask = Decimal(repr((await client.fetch_order_book(PERP, 5))["asks"][0][0]))
        entry = Order(ids.next(), PERP, Side.BUY, OrderType.MARKET, Decimal(0),
                      quote_quantity=Decimal(50))  # fmt: skip
        entry.submit()
        port.submit(entry, 0)
        deadline = time.monotonic() + 8
        while not [e for e in events if isinstance(e, OrderFilled)]:
            assert time.monotonic() < deadline, events
            await asyncio.sleep(0.02)
        [filled] = [e for e in events if isinstance(e, OrderFilled)]
        [placed] = server.call(lambda: [
            o for o in server.sim.store.all_orders(key.account, True, "XRPUSDT")
            if o.client_id == entry.client_id])  # fmt: skip
        step = port.instruments[PERP].amount_step
        assert placed.qty == filled.order_quantity == filled.fill.quantity
        # What 50 USDT buys at the ask seen just before, to the lot (the touch may have moved).
        assert abs(placed.qty - Decimal(50) / ask) <= placed.qty * Decimal("0.01") + step
        assert placed.qty * ask <= Decimal(50) * Decimal("1.01")
    finally:
        await port.close()
        await client.close()
