"""Reconcile before trading: a restart after a crash finds what the database missed, adopts or
reports what the bot did not make, and stops the start on what nothing explains.

The real ccxt client against the exchange simulator; the true state is the simulator's ledger.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from livekit import Book, client_for, port_for

from tradewind.core.events import OrderAccepted, OrderFilled
from tradewind.core.orders import ClientIdFactory, Order, OrderStatus, OrderType
from tradewind.core.records import Side
from tradewind.exchange_sim import LoopbackServer, SimExchange
from tradewind.exchange_sim.recordings import list_shared_recordings
from tradewind.venues.live.reconcile import ReconcileError, StoredState, reconcile

SYMBOL = "XRP/USDT"
ORDER_PATH = "/api/v3/order"


@pytest.fixture(scope="module")
def server(shared_data: Path) -> Iterator[LoopbackServer]:
    sim = list_shared_recordings(SimExchange(seed=13), shared_data)
    with LoopbackServer(sim) as running:
        yield running


async def _until(book: Book, kind: type, client_id: str) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any(type(e) is kind and e.client_id == client_id for e in book.events):
            return
        await asyncio.sleep(0.02)
    pytest.fail(f"no {kind.__name__} for {client_id}")


async def test_a_restart_books_the_missed_fill_once_and_reports_the_rest(
    server: LoopbackServer,
) -> None:
    client, key = await client_for(server)
    port = port_for(client, [SYMBOL], poll_s=0.05)
    book = Book()
    port.subscribe(book.receive)
    ids = ClientIdFactory("rec", session="a")
    start = int(time.time() * 1000) - 1
    try:
        ask = Decimal(repr((await client.fetch_order_book(SYMBOL, 5))["asks"][0][0]))
        bought = Order(ids.next(), SYMBOL, Side.BUY, OrderType.MARKET, Decimal(100))
        resting = Order(
            ids.next(), SYMBOL, Side.BUY, OrderType.LIMIT, Decimal(100),
            price=port.instruments[SYMBOL].round_price(ask * Decimal("0.7")),
        )  # fmt: skip
        for order in (bought, resting):
            book.track(order)
            port.submit(order, start)
        await _until(book, OrderFilled, bought.client_id)
        await _until(book, OrderAccepted, resting.client_id)
        # By hand, on the same account: an order the bot did not make.
        await client.create_order(
            SYMBOL, "limit", "buy", 50, float(ask) * 0.6, {"newClientOrderId": "manual-1"}
        )
    finally:
        await port.close()
    # The crash: both orders were written ahead, the fill was never committed.
    stored = StoredState(
        open_orders={bought.client_id: SYMBOL, resting.client_id: SYMBOL},
        last_fill_ts=start,
        trade_ids=frozenset(),
    )
    restarted = port_for(client, [SYMBOL])
    mark = max(r.seq for r in server.requests())
    try:
        report = await reconcile(restarted, stored, own_prefix=ids.prefix)
        # The resting order is answered by the open-order list; only the filled one (no longer
        # listed) is looked up, once (its trade needs no lookup of its own): 500 open orders
        # cost one request, not 500.
        lookups = [r for r in server.requests(ORDER_PATH) if r.seq > mark and r.method == "GET"]
        assert len(lookups) == 1
        on_exchange = server.call(lambda: [dict(t) for t in key.account.trades])
        assert report.ok, report.summary()
        assert report.orders[bought.client_id].status is OrderStatus.FILLED
        assert report.orders[resting.client_id].status is OrderStatus.ACCEPTED
        assert [f.trade_id for f in report.new_fills] == [str(t["id"]) for t in on_exchange]
        assert sum(f.quantity for f in report.new_fills) == 100
        assert [o.client_id for o in report.foreign_orders] == ["manual-1"]
        # Spot: the funded 20,000 XRP are not the bot's: reported, never sold.
        assert report.external_holdings["XRP"] == 20_000
        # Booked now: the next reconcile finds nothing new (each fill once).
        booked = StoredState(
            open_orders={resting.client_id: SYMBOL},
            last_fill_ts=max(f.ts for f in report.new_fills),
            trade_ids=frozenset(f.trade_id for f in report.new_fills),
            holdings={"XRP": sum(f.quantity - f.fee for f in report.new_fills)},
        )
        again = await reconcile(restarted, booked, own_prefix=ids.prefix)
        assert again.new_fills == []
        assert again.external_holdings["XRP"] == 20_000
    finally:
        await restarted.close()
        await client.close()


async def test_an_unexplained_divergence_stops_the_start(server: LoopbackServer) -> None:
    client, _ = await client_for(server)
    port = port_for(client, [SYMBOL], poll_s=0.05)
    book = Book()
    port.subscribe(book.receive)
    ids = ClientIdFactory("div", session="b")
    try:
        ask = Decimal(repr((await client.fetch_order_book(SYMBOL, 5))["asks"][0][0]))
        forgotten = Order(
            ids.next(), SYMBOL, Side.BUY, OrderType.LIMIT, Decimal(100),
            price=port.instruments[SYMBOL].round_price(ask * Decimal("0.7")),
        )  # fmt: skip
        book.track(forgotten)
        port.submit(forgotten, 0)
        await _until(book, OrderAccepted, forgotten.client_id)
        # The database lost the open order, believes in one never sent, and holds more XRP
        # than the whole account.
        stored = StoredState(
            open_orders={"div-never-sent": SYMBOL},
            last_fill_ts=int(time.time() * 1000),
            trade_ids=frozenset(),
            holdings={"XRP": Decimal(50_000)},
        )
        with pytest.raises(ReconcileError) as failed:
            await reconcile(port, stored, own_prefix=ids.prefix)
        report = failed.value.report
        assert report.missing == ["div-never-sent"]
        assert any(forgotten.client_id in d for d in report.divergences)
        assert any(d.startswith("XRP:") for d in report.divergences)
        assert "DIVERGENCE" in str(failed.value)
    finally:
        await port.close()
        await client.close()
