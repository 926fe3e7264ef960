"""Conformance: ``ccxt.pro.binance`` streams from the simulator (market data and user data).

The server runs at replay speed 1 in its own thread; XRP/USDT replays the Bybit L2 recording
(about ten diffs a second), BTC/USDT its recorded trades (about forty a second).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
import pytest

from tradewind.exchange_sim import LoopbackServer

XRP = "XRP/USDT"
PERP = "XRP/USDT:USDT"


def _server_book(
    server: LoopbackServer, futures: bool, symbol: str
) -> tuple[int, list[list[float]], list[list[float]]]:
    market = server.sim.engine.market(futures, symbol)
    assert market is not None

    def snap() -> tuple[int, list[list[float]], list[list[float]]]:
        server.sim.engine.finish(market)
        last, bids, asks = market.book.snapshot(50)
        return (
            last,
            [[float(p), float(q)] for p, q in bids],
            [[float(p), float(q)] for p, q in asks],
        )

    result: tuple[int, list[list[float]], list[list[float]]] = server.call(snap)
    return result


async def test_watch_order_book_matches_the_server_at_the_same_update_id(
    server: LoopbackServer, async_client: Callable[..., Any]
) -> None:
    ex = await async_client()
    matched = 0
    deadline = asyncio.get_running_loop().time() + 4.0
    while asyncio.get_running_loop().time() < deadline and matched < 8:
        book = await ex.watch_order_book(XRP)
        last, bids, asks = _server_book(server, False, "XRPUSDT")
        if book["nonce"] != last:
            continue  # the replay moved on between the two reads
        assert book["bids"][:50] == bids
        assert book["asks"][:50] == asks
        matched += 1
    assert matched >= 3
    perp = await ex.watch_order_book(PERP)
    last, bids, _ = _server_book(server, True, "XRPUSDT")
    assert perp["nonce"] <= last
    assert perp["bids"][0][0] > 0


async def test_watch_trades_and_ohlcv(async_client: Callable[..., Any]) -> None:
    ex = await async_client()
    trades = await ex.watch_trades("BTC/USDT")
    assert trades
    assert trades[-1]["price"] > 30_000
    candles = await ex.watch_ohlcv("BTC/USDT", "1m")
    assert candles[-1][2] >= candles[-1][3]
    assert candles[-1][5] > 0


async def test_watch_orders_and_balance_follow_ws_api_orders(
    async_client: Callable[..., Any],
) -> None:
    ex = await async_client()
    orders_task = asyncio.ensure_future(ex.watch_orders(XRP))
    await asyncio.sleep(0.2)
    placed = await ex.create_order_ws(XRP, "limit", "buy", 10, 1.0)
    assert placed["status"] == "open"
    seen = await asyncio.wait_for(orders_task, 3)
    assert [(o["id"], o["status"]) for o in seen][-1] == (placed["id"], "open")
    balance_task = asyncio.ensure_future(ex.watch_balance())
    closed_task = asyncio.ensure_future(ex.watch_orders(XRP))
    await asyncio.sleep(0.1)
    await ex.cancel_order_ws(placed["id"], XRP)
    balance = await asyncio.wait_for(balance_task, 3)
    assert balance["USDT"]["used"] == 0
    closed = await asyncio.wait_for(closed_task, 3)
    assert closed[-1]["status"] == "canceled"
    filled_task = asyncio.ensure_future(ex.watch_orders(XRP))
    await asyncio.sleep(0.1)
    await ex.create_order_ws(XRP, "market", "buy", 10)
    filled = await asyncio.wait_for(filled_task, 3)
    assert filled[-1]["filled"] > 0


async def test_futures_user_stream_orders_and_positions(async_client: Callable[..., Any]) -> None:
    ex = await async_client()
    await ex.watch_positions([PERP])  # the REST snapshot
    positions_task = asyncio.ensure_future(ex.watch_positions([PERP]))
    orders_task = asyncio.ensure_future(ex.watch_orders(PERP))
    await asyncio.sleep(0.3)
    order = await ex.create_order(PERP, "market", "sell", 100)
    positions = await asyncio.wait_for(positions_task, 3)
    assert any(p["contracts"] == 100 and p["side"] == "short" for p in positions)
    orders = await asyncio.wait_for(orders_task, 3)
    assert orders[-1]["id"] == order["id"]
    await ex.create_order(PERP, "market", "buy", 100, None, {"reduceOnly": True})


async def test_create_order_ws_with_the_rate_limiter_on(async_client: Callable[..., Any]) -> None:
    ex = await async_client(rate_limit=True)
    order = await ex.create_order_ws(XRP, "limit", "buy", 10, 1.0)
    assert order["status"] == "open"
    assert (await ex.cancel_order_ws(order["id"], XRP))["status"] == "canceled"


@pytest.mark.parametrize(
    ("path", "stream", "event"),
    [
        ("/stream/ws/0", "btcusdt@aggTrade", "aggTrade"),
        ("/stream/ws/0", "xrpusdt@bookTicker", None),
        ("/market/ws/0", "xrpusdt@markPrice@1s", "markPriceUpdate"),
        ("/stream/ws/0", "btcusdt@kline_1m", "kline"),
    ],
)
async def test_raw_streams(
    server: LoopbackServer, path: str, stream: str, event: str | None
) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(server.ws_url + path) as ws:
        await ws.send_str(
            orjson.dumps({"method": "SUBSCRIBE", "params": [stream], "id": 1}).decode()
        )
        ack = orjson.loads((await ws.receive(timeout=2)).data)
        assert ack == {"result": None, "id": 1}
        if stream.endswith("markPrice@1s"):
            # The perpetual's book moves every 37.5 s; a taker trade moves it now.
            await _trade_perp(server)
        message = orjson.loads((await ws.receive(timeout=5)).data)
        assert message.get("e") == event
        assert message["s"] == stream.split("@", maxsplit=1)[0].upper()
        await ws.send_str(
            orjson.dumps({"method": "SUBSCRIBE", "params": ["nope@trade"], "id": 2}).decode()
        )
        while True:
            reply = orjson.loads((await ws.receive(timeout=2)).data)
            if reply.get("id") == 2:
                break
        assert reply["error"]["code"] == 2


async def _trade_perp(server: LoopbackServer) -> None:
    from simkit import open_account

    from tradewind.exchange_sim.order_params import parse_order

    key = open_account(server)

    def trade() -> None:
        market = server.sim.engine.market(True, "XRPUSDT")
        assert market is not None
        req = parse_order({"side": "BUY", "type": "MARKET", "quantity": "10"}, market.listing,
                          futures=True, best_opposite=market.best_opposite(True))  # fmt: skip
        server.sim.engine.place(key.account, market, req)

    await asyncio.sleep(1.1)  # mark prices go out at most once a second
    server.call(trade)
