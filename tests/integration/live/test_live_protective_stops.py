"""Protective stops on the exchange: placed after the entry, moved by cancel-replace written
ahead, replaced by a strategy's exit, and still protecting when the bot is dead (the price
crosses the stop meanwhile: on restart the fill is booked once and nothing is sent).

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
from livekit import client_for, ledger, port_for

from tradewind.core.orders import ClientIdFactory, Order, OrderStatus, OrderType
from tradewind.core.records import Side
from tradewind.engine.protective_stop import ProtectiveStops
from tradewind.engine.write_ahead import WriteAheadOrders
from tradewind.exchange_sim import LoopbackServer, SimExchange
from tradewind.exchange_sim.recordings import list_shared_recordings
from tradewind.persistence.bots import open_bot
from tradewind.venues.live.reconcile import StoredState, reconcile

SYMBOL, SYMBOL_ID = "XRP/USDT", "XRPUSDT"


@pytest.fixture(scope="module")
def server(shared_data: Path) -> Iterator[LoopbackServer]:
    sim = list_shared_recordings(SimExchange(seed=23), shared_data)
    with LoopbackServer(sim) as running:
        yield running


async def _until(check: Callable[[], bool], what: str, timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def _now() -> int:
    return int(time.time() * 1000)


async def _entry(keeper: WriteAheadOrders, ids: ClientIdFactory) -> Decimal:
    """Buy 100 XRP; return the quantity held after the fee (paid in XRP on a spot buy)."""
    buy = Order(ids.next(), SYMBOL, Side.BUY, OrderType.MARKET, Decimal(100), strategy_id="s1")
    keeper.place(buy, _now())
    await _until(lambda: buy.status is OrderStatus.FILLED, "the entry fill")
    return Decimal(100) - sum((f.fee for f in buy.fills if f.fee_currency == "XRP"), Decimal(0))


async def test_a_stop_moves_by_cancel_replace_and_fills_while_the_bot_is_dead(
    server: LoopbackServer, tmp_path: Path
) -> None:
    client, key = await client_for(server)
    whale, _ = await client_for(server, USDT=1_000, XRP=50_000_000)
    bot = open_bot("stops", bots_dir=tmp_path)
    repository = bot.repository()
    port = port_for(client, [SYMBOL], poll_s=0.05)
    keeper = WriteAheadOrders(repository, port, strategy_id="s1")
    port.subscribe(keeper.on_events)
    ids = ClientIdFactory("stp", session="a")
    stops = ProtectiveStops(keeper, ids)
    instrument = port.instruments[SYMBOL]
    try:
        held = instrument.round_amount(await _entry(keeper, ids))
        bid = Decimal(repr((await client.fetch_order_book(SYMBOL, 5))["bids"][0][0]))
        first = stops.protect(
            "s1", SYMBOL, Side.SELL, held, instrument.round_price(bid * Decimal("0.99")), _now()
        )
        await _until(lambda: first.status is OrderStatus.ACCEPTED, "the stop on the exchange")
        moved = stops.move("s1", SYMBOL, instrument.round_price(bid * Decimal("0.997")), _now())
        await _until(lambda: moved.status is OrderStatus.ACCEPTED, "the moved stop")
        on_exchange = {o.client_id: o for o in ledger(server, key, SYMBOL_ID)}
        assert on_exchange[first.client_id].status == "CANCELED"
        assert on_exchange[moved.client_id].status == "NEW"
        assert on_exchange[moved.client_id].type == "STOP_LOSS"
    finally:
        await port.close()
    # The bot is dead. The market falls through the stop: the exchange sells for it.
    mark = max(r.seq for r in server.requests())
    book = await whale.fetch_order_book(SYMBOL, 500)
    trigger = float(moved.trigger_price or 0)
    size = sum(q for p, q in book["bids"] if p >= trigger * 0.999) + 1
    await whale.create_order(SYMBOL, "market", "sell", round(size))
    stop_on_exchange = next(
        o for o in ledger(server, key, SYMBOL_ID) if o.client_id == moved.client_id
    )
    assert stop_on_exchange.status == "FILLED"
    # Restart: reconcile books the stop's fill once and sends nothing.
    restarted = port_for(client, [SYMBOL], poll_s=0.05)
    again = WriteAheadOrders(repository, restarted, strategy_id="s1")
    stored = repository.load_orders()
    again.adopt(stored)
    fills = [f for f, _ in repository.load_fills()]
    state = StoredState(
        open_orders={o.client_id: o.symbol for o in stored if not o.status.is_terminal},
        last_fill_ts=max(f.ts for f in fills), trade_ids=frozenset(f.trade_id for f in fills),
    )  # fmt: skip
    try:
        report = await reconcile(restarted, state, own_prefix=ids.prefix)
        by_order: dict[str, list[Any]] = {}
        for fill in report.new_fills:
            by_order.setdefault(fill.client_id, []).append(fill)
        for client_id, found in report.orders.items():
            again.resolve(found, by_order.get(client_id, []), _now())
        assert again.orders[moved.client_id].status is OrderStatus.FILLED
        assert again.orders[moved.client_id].filled_quantity == held
        posted = [
            r for r in server.requests("/api/v3/order") if r.seq > mark and r.method == "POST"
        ]
        assert len(posted) == 1  # the whale's sell; the bot sent nothing
        booked = [f.trade_id for f, _ in repository.load_fills()]
        mine = server.call(lambda: [str(t["id"]) for t in key.account.trades])
        assert sorted(booked) == sorted(mine)
    finally:
        await restarted.close()
        repository.close()
        await client.close()
        await whale.close()


async def test_an_exit_takes_the_stops_place(server: LoopbackServer, tmp_path: Path) -> None:
    client, key = await client_for(server)
    bot = open_bot("exits", bots_dir=tmp_path)
    repository = bot.repository()
    port = port_for(client, [SYMBOL], poll_s=0.05)
    keeper = WriteAheadOrders(repository, port, strategy_id="s1")
    port.subscribe(keeper.on_events)
    ids = ClientIdFactory("ext", session="b")
    stops = ProtectiveStops(keeper, ids)
    instrument = port.instruments[SYMBOL]
    try:
        held = instrument.round_amount(await _entry(keeper, ids))
        bid = Decimal(repr((await client.fetch_order_book(SYMBOL, 5))["bids"][0][0]))
        stop = stops.protect(
            "s1", SYMBOL, Side.SELL, held, instrument.round_price(bid * Decimal("0.95")), _now()
        )
        await _until(lambda: stop.status is OrderStatus.ACCEPTED, "the stop")
        exit_order = stops.exit("s1", SYMBOL, _now())
        await _until(lambda: exit_order.status is OrderStatus.FILLED, "the exit fill")
        assert stop.status is OrderStatus.CANCELED
        on_exchange = {o.client_id: o.status for o in ledger(server, key, SYMBOL_ID)}
        assert on_exchange[stop.client_id] == "CANCELED"
        assert on_exchange[exit_order.client_id] == "FILLED"
        stored = {o.client_id: o.status for o in repository.load_orders()}
        assert stored[stop.client_id] is OrderStatus.CANCELED
        assert stored[exit_order.client_id] is OrderStatus.FILLED
    finally:
        await port.close()
        repository.close()
        await client.close()
