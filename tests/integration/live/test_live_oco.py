"""Spot OCO through the live port: a take-profit and a stop as one order list on the exchange.

The real ccxt client against the exchange simulator; the truth is the simulator's ledger. When the
take-profit fills, the exchange itself ends the stop; a lost answer leaves both legs unknown until
their lookups find them (the list is never sent twice); cancelling one leg ends the list.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from livekit import Book, client_for, ledger, ledger_status, port_for

from tradewind.core.events import OrderAccepted, OrderFilled
from tradewind.core.orders import ClientIdFactory, Order, OrderStatus, OrderType
from tradewind.core.records import Side
from tradewind.exchange_sim import Fault, FaultKind, LoopbackServer, SimExchange
from tradewind.exchange_sim.recordings import list_shared_recordings

SYMBOL, SYMBOL_ID = "XRP/USDT", "XRPUSDT"
OCO_PATH = "/api/v3/orderList"


@pytest.fixture(scope="module")
def server(shared_data: Path) -> Iterator[LoopbackServer]:
    sim = list_shared_recordings(SimExchange(seed=53), shared_data)
    with LoopbackServer(sim) as running:
        yield running


async def _until(check: Callable[[], bool], what: str, timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        await asyncio.sleep(0.05)


async def _legs(port: Any, client: Any, book: Book, ids: ClientIdFactory) -> tuple[Order, Order]:
    top = await client.fetch_order_book(SYMBOL, 5)
    ask, bid = Decimal(repr(top["asks"][0][0])), Decimal(repr(top["bids"][0][0]))
    instrument = port.instruments[SYMBOL]
    take = Order(ids.next(), SYMBOL, Side.SELL, OrderType.LIMIT, Decimal(100),
                 price=instrument.round_price(ask * Decimal("1.002")))  # fmt: skip
    stop = Order(ids.next(), SYMBOL, Side.SELL, OrderType.STOP_MARKET, Decimal(100),
                 trigger_price=instrument.round_price(bid * Decimal("0.9")))  # fmt: skip
    for leg in (take, stop):
        book.track(leg)
    return take, stop


def _agrees(book: Book, server: LoopbackServer, key: Any, *orders: Order) -> bool:
    truth = {o.client_id: o for o in ledger(server, key, SYMBOL_ID)}
    return all(
        o.client_id in truth
        and book.orders[o.client_id].status is ledger_status(truth[o.client_id])
        and book.orders[o.client_id].filled_quantity == truth[o.client_id].filled
        for o in orders
    )


def _accepted(book: Book, order: Order) -> bool:
    return any(isinstance(e, OrderAccepted) and e.client_id == order.client_id
               for e in book.events)  # fmt: skip


async def test_the_take_profit_fills_and_the_exchange_ends_the_stop(
    server: LoopbackServer,
) -> None:
    client, key = await client_for(server)
    whale, _ = await client_for(server, USDT=10_000_000, XRP=10)
    port = port_for(client, [SYMBOL], poll_s=0.05)
    book = Book()
    port.subscribe(book.receive)
    first = max((r.seq for r in server.requests()), default=0)
    try:
        take, stop = await _legs(port, client, book, ClientIdFactory("oco", session="a"))
        port.submit_oco(take, stop, 0)
        await _until(lambda: _accepted(book, take) and _accepted(book, stop), "both legs working")
        # The XRP is locked once for both legs (the exchange's reservation of the list).
        locked = server.call(key.account.balances_json)
        assert Decimal({b["asset"]: b["locked"] for b in locked}["XRP"]) == 100
        for _ in range(10):  # buy through the take-profit's price
            asks = (await whale.fetch_order_book(SYMBOL, 100))["asks"]
            size = sum(q for p, q in asks if p <= float(take.price or 0)) + 150
            await whale.create_order(SYMBOL, "market", "buy", round(size))
            if book.orders[take.client_id].status is OrderStatus.FILLED:
                break
            await asyncio.sleep(0.3)
        await _until(
            lambda: _agrees(book, server, key, take, stop), "the bot agrees with the ledger"
        )
        truth = {o.client_id: o for o in ledger(server, key, SYMBOL_ID)}
        assert truth[take.client_id].status == "FILLED"
        assert truth[stop.client_id].status in ("EXPIRED", "CANCELED")  # ended by the exchange
        booked = [e.fill.trade_id for e in book.events if isinstance(e, OrderFilled)]
        assert len(booked) == len(set(booked)) == len(truth[take.client_id].fills)
        posts = [r for r in server.requests(OCO_PATH) if r.seq > first and r.method == "POST"]
        assert len(posts) == 1
    finally:
        await port.close()
        await client.close()
        await whale.close()


async def test_a_lost_answer_leaves_both_legs_unknown_until_found(server: LoopbackServer) -> None:
    client, key = await client_for(server, timeout_ms=250)
    port = port_for(client, [SYMBOL], poll_s=0.1, visibility_s=1.0)
    book = Book()
    port.subscribe(book.receive)
    first = max((r.seq for r in server.requests()), default=0)
    try:
        take, stop = await _legs(port, client, book, ClientIdFactory("ocg", session="a"))
        server.faults.add(Fault(kind=FaultKind.GHOST_ORDER, path=OCO_PATH, delay_s=0.5))
        port.submit_oco(take, stop, 0)
        await _until(lambda: _accepted(book, take) and _accepted(book, stop), "both legs found")
        assert port.failures  # the answer was lost: looked up, not resent
        posts = [r for r in server.requests(OCO_PATH) if r.seq > first and r.method == "POST"]
        assert len(posts) == 1
        # Cancelling one leg ends the list: the exchange cancels its sibling too.
        port.cancel(stop.client_id, 0)
        await _until(
            lambda: (
                book.orders[take.client_id].status.is_terminal
                and _agrees(book, server, key, take, stop)
            ),
            "both legs ended",
        )
        assert book.orders[take.client_id].status in (OrderStatus.CANCELED, OrderStatus.EXPIRED)
        assert book.orders[stop.client_id].status is OrderStatus.CANCELED
    finally:
        server.faults.clear()
        await port.close()
        await client.close()


async def test_a_pair_that_cannot_be_an_oco_list_is_refused_before_sending(
    server: LoopbackServer,
) -> None:
    client, _ = await client_for(server)
    port = port_for(client, [SYMBOL], poll_s=0.1)
    book = Book()
    port.subscribe(book.receive)
    first = max((r.seq for r in server.requests()), default=0)
    try:
        take, stop = await _legs(port, client, book, ClientIdFactory("ocb", session="a"))
        # The stop above the take-profit: no OCO list can hold that.
        wrong = Order(stop.client_id + "x", SYMBOL, Side.SELL, OrderType.STOP_MARKET,
                      Decimal(100), trigger_price=(take.price or Decimal(0)) * 2)  # fmt: skip
        book.track(wrong)
        port.submit_oco(take, wrong, 0)
        await _until(lambda: book.orders[take.client_id].status is OrderStatus.REJECTED, "refused")
        assert book.orders[wrong.client_id].reject_reason.startswith("denied locally: an OCO")
        assert [r for r in server.requests(OCO_PATH) if r.seq > first] == []
    finally:
        await port.close()
        await client.close()
