"""The user-data stream is watched, not trusted: with 10 % of its events dropped, no fill is lost.

Resting limit buys are filled by another account selling through the book; the live port learns
of each fill from the user-data stream (``ccxt.pro`` ``watch_orders``) or, when the event was
dropped, from its next poll. Every trade of the account in the simulator's ledger is booked exactly
once, and every fill is seen within the poll interval plus a margin (the issue asks for 20 s).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from livekit import Book, client_for, port_for

from tradewind.core.events import OrderAccepted, OrderFilled
from tradewind.core.orders import ClientIdFactory, Order, OrderStatus, OrderType
from tradewind.core.records import Side
from tradewind.exchange_sim import Fault, FaultKind, LoopbackServer, SimExchange
from tradewind.exchange_sim.recordings import list_shared_recordings

SYMBOL = "XRP/USDT"
ROUNDS = 400 if os.environ.get("TRADEWIND_CHAOS") else 60
POLL_S = 1.0


@pytest.fixture(scope="module")
def server(shared_data: Path) -> Iterator[LoopbackServer]:
    sim = list_shared_recordings(SimExchange(seed=31), shared_data)
    with LoopbackServer(sim) as running:
        yield running


async def _until(book: Book, client_id: str, done: set[OrderStatus], timeout: float) -> float:
    start = time.monotonic()
    while book.orders[client_id].status not in done:
        if time.monotonic() - start > timeout:
            pytest.fail(f"{client_id} still {book.orders[client_id].status}: {book.events[-3:]}")
        await asyncio.sleep(0.01)
    return time.monotonic() - start


async def _bids(whale: Any) -> list[list[float]]:
    """The bid side once it holds a few levels again (a sweep empties it until the replay's next
    update)."""
    for _ in range(100):
        bids: list[list[float]] = (await whale.fetch_order_book(SYMBOL, 100))["bids"]
        if len(bids) >= 5:
            return bids
        await asyncio.sleep(0.1)
    pytest.fail("the replayed book did not refill")


def _filled_on_venue(server: LoopbackServer, key: Any, venue_order_id: str) -> Decimal:
    """What the simulator's ledger says this order has filled (the exchange's truth)."""
    rows = server.call(
        lambda: [t for t in key.account.trades if str(t["orderId"]) == venue_order_id]
    )
    return sum((Decimal(t["qty"]) for t in rows), Decimal(0))


async def _sweep_until_filled(
    server: LoopbackServer, key: Any, whale: Any, book: Book, client_id: str, price: Decimal
) -> None:
    """Sell through ``price`` until the venue has filled the order in full.

    The replayed book keeps moving: bids that arrive above ours between reading the book and the
    sweep absorb it, leaving our order resting. The clock of the test starts once the exchange has
    filled the order, so only the port's own delay is measured.
    """
    order = book.orders[client_id]
    if order.status is OrderStatus.FILLED:
        return
    venue_id = next(
        e.venue_order_id
        for e in book.events
        if isinstance(e, OrderAccepted) and e.client_id == client_id and e.venue_order_id
    )
    want = order.quantity
    for _ in range(10):
        now_bids = await _bids(whale)
        size = sum(q for p, q in now_bids if p >= float(price)) + 50
        await whale.create_order(SYMBOL, "market", "sell", round(size))
        for _ in range(20):
            if _filled_on_venue(server, key, venue_id) >= want:
                return
            await asyncio.sleep(0.05)
    pytest.fail(f"{client_id} (venue id {venue_id}) was not filled on the venue after 10 sweeps")


async def test_dropped_user_events_lose_no_fill(server: LoopbackServer) -> None:
    client, key = await client_for(server)
    whale, _ = await client_for(server, USDT=1_000, XRP=50_000_000)
    port = port_for(client, [SYMBOL], poll_s=POLL_S, stream=True)
    book = Book()
    port.subscribe(book.receive)
    await port.start()
    server.faults.add(Fault(kind=FaultKind.USER_EVENT_DROP, path="user:spot", probability=0.1))
    ids = ClientIdFactory("ust", session="a")
    instrument = port.instruments[SYMBOL]
    latencies: list[float] = []
    try:
        for _ in range(ROUNDS):
            bids = await _bids(whale)
            price = instrument.round_price(Decimal(repr(bids[2][0])))
            order = Order(ids.next(), SYMBOL, Side.BUY, OrderType.LIMIT, Decimal(10), price=price)
            book.track(order)
            port.submit(order, 0)
            await _until(book, order.client_id, {OrderStatus.ACCEPTED, OrderStatus.FILLED}, 5)
            await _sweep_until_filled(server, key, whale, book, order.client_id, price)
            latencies.append(await _until(book, order.client_id, {OrderStatus.FILLED}, 5))
        dropped = [r for r in server.faults.injected() if r.kind is FaultKind.USER_EVENT_DROP]
        assert dropped, "no user event was dropped: the test proves nothing"
        assert port.stream_updates > 0
        booked = [e.fill.trade_id for e in book.events if isinstance(e, OrderFilled)]
        ledger_trades = server.call(lambda: [str(t["id"]) for t in key.account.trades])
        assert sorted(booked) == sorted(ledger_trades)  # zero lost fills, none twice
        assert max(latencies) < POLL_S + 4.0  # the issue asks for 20 s; polling bounds it
    finally:
        server.faults.clear()
        await port.close()
        await client.close()
        await whale.close()
