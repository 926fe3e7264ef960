"""ccxt.pro.bybit against the simulator's Bybit v5 WebSockets, and the raw protocol rules."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import aiohttp
from bybitkit import LINEAR, open_account

from tradewind.exchange_sim import Fault, FaultKind, LoopbackServer
from tradewind.exchange_sim.listings import Api


async def test_watch_order_book_keeps_the_full_uncrossed_book(
    ccxt_async: Callable[..., Any],
) -> None:
    ex = await ccxt_async()
    ex.streaming["keepAlive"] = 500  # pings every 0.5 s: unanswered, ccxt would fail the socket
    started = time.monotonic()
    updates = 0
    # Ten updates and a few keepalive pings (a loaded machine may take longer).
    while updates < 10 or time.monotonic() - started < 1.6:
        assert time.monotonic() - started < 10, f"only {updates} updates in 10 s"
        book = await ex.watch_order_book(LINEAR, 50)
        updates += 1
        assert len(book["bids"]) == 50
        assert len(book["asks"]) == 50
        assert book["bids"][0][0] < book["asks"][0][0]


async def test_raw_snapshot_and_deltas_rebuild_the_servers_book(
    bybit_server: LoopbackServer,
) -> None:
    def server_book() -> tuple[int, dict[str, str], dict[str, str]]:
        market = bybit_server.sim.live(Api.USDM, "XRPUSDT")
        assert market is not None
        uid, bids, asks = market.book.snapshot(200)
        return uid, dict(bids), dict(asks)

    matches = 0
    last_u = last_seq = 0
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{bybit_server.ws_url}/v5/public/linear") as ws,
    ):
        await ws.send_json({"op": "subscribe", "args": ["orderbook.200.XRPUSDT"], "req_id": "1"})
        ack = await ws.receive_json(timeout=10)
        assert ack["success"] is True
        assert ack["op"] == "subscribe"
        assert ack["req_id"] == "1"
        bids: dict[str, str] = {}
        asks: dict[str, str] = {}
        started = time.monotonic()
        while time.monotonic() - started < 8 and matches < 3:
            msg = await ws.receive_json(timeout=10)
            data = msg["data"]
            assert msg["topic"] == "orderbook.200.XRPUSDT"
            assert data["s"] == "XRPUSDT"
            if msg["type"] == "snapshot":
                bids, asks = dict(data["b"]), dict(data["a"])
            else:
                assert data["u"] == last_u + 1  # one more per delta: a lost one is a gap
                for side, levels in ((bids, data["b"]), (asks, data["a"])):
                    for price, size in levels:
                        if size == "0":
                            side.pop(price)
                        else:
                            side[price] = size
            last_u = data["u"]
            assert data["seq"] > last_seq or msg["type"] == "snapshot"  # the book's id rises
            last_seq = data["seq"]
            assert len(bids) <= 200
            assert len(asks) <= 200
            uid, server_bids, server_asks = bybit_server.call(server_book)
            if uid == last_seq:
                assert (bids, asks) == (server_bids, server_asks)
                matches += 1
        await ws.send_json({"op": "ping", "req_id": "p"})
        pong = await _next_op(ws, "ping")
        assert pong["ret_msg"] == "pong"
        assert pong["success"] is True
    assert matches >= 1


async def _next_op(ws: Any, op: str) -> dict[str, Any]:
    while True:
        msg: dict[str, Any] = await ws.receive_json(timeout=10)
        if msg.get("op") == op:
            return msg


async def test_private_stream_needs_a_valid_signature(bybit_server: LoopbackServer) -> None:
    key = open_account(bybit_server)
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{bybit_server.ws_url}/v5/private") as ws,
    ):
        await ws.send_json({"op": "subscribe", "args": ["order"]})
        assert (await ws.receive_json(timeout=10))["success"] is False
        expires = int(time.time() * 1000) + 10_000
        wrong = hmac.new(b"nope", f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
        await ws.send_json({"op": "auth", "args": [key.key, expires, wrong]})
        refused = await ws.receive_json(timeout=10)
        assert refused["success"] is False
        assert refused["op"] == "auth"
        good = hmac.new(key.secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256)
        await ws.send_json({"op": "auth", "args": [key.key, expires, good.hexdigest()]})
        assert (await ws.receive_json(timeout=10))["success"] is True


async def test_private_streams_report_orders_fills_positions_and_wallet(
    ccxt_async: Callable[..., Any], bybit_server: LoopbackServer
) -> None:
    ex = await ccxt_async()
    await ex.watch_positions([LINEAR])  # the first answer is the REST snapshot
    orders = asyncio.ensure_future(ex.watch_orders(LINEAR))
    fills = asyncio.ensure_future(ex.watch_my_trades(LINEAR))
    wallet = asyncio.ensure_future(ex.watch_balance())
    positions = asyncio.ensure_future(ex.watch_positions([LINEAR]))
    trades = asyncio.ensure_future(ex.watch_trades(LINEAR))
    await asyncio.sleep(0.3)
    await ex.create_order(LINEAR, "market", "buy", 50)
    seen = await asyncio.wait_for(orders, 10)
    assert seen[-1]["status"] in ("open", "closed")
    assert seen[-1]["symbol"] == LINEAR
    mine = await asyncio.wait_for(fills, 10)
    assert mine[0]["amount"] > 0
    assert mine[0]["fee"]["currency"] == "USDT"
    balance = await asyncio.wait_for(wallet, 10)
    assert balance["USDT"]["total"] < 20_000 + 100_000
    held = await asyncio.wait_for(positions, 10)
    assert held[-1]["contracts"] == 50
    assert held[-1]["side"] == "long"
    public = await asyncio.wait_for(trades, 10)
    assert public
    assert public[-1]["amount"] > 0
    wallet_now = bybit_server.call(lambda: ex.sim_key.account.futures_wallet)
    fee = sum(Decimal(t["info"]["execFee"]) for t in await ex.fetch_my_trades(LINEAR))
    assert wallet_now == Decimal(20_000) - fee


async def test_watch_ticker_and_klines(ccxt_async: Callable[..., Any]) -> None:
    ex = await ccxt_async()
    ticker = await asyncio.wait_for(ex.watch_ticker(LINEAR), 10)
    assert ticker["bid"] < ticker["ask"]
    candles = await asyncio.wait_for(ex.watch_ohlcv("BTC/USDT", "1m"), 10)
    # The served candles of the recorded BTCUSDT trades (2021-01-08, 39,000-40,000 USDT).
    assert candles
    assert all(30_000 < c[4] < 45_000 and c[3] <= c[4] <= c[2] for c in candles)


async def test_ws_latency_fault_delays_frames_in_order(bybit_server: LoopbackServer) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{bybit_server.ws_url}/v5/public/linear") as ws,
    ):
        await ws.send_json({"op": "subscribe", "args": ["orderbook.50.XRPUSDT"]})
        await ws.receive_json(timeout=10)  # the ack
        await ws.receive_json(timeout=10)  # the snapshot
        bybit_server.faults.add(Fault(kind=FaultKind.WS_LATENCY, path="ws:bybit:orderbook",
                                      delay_s=0.8))  # fmt: skip
        started = time.monotonic()
        first = await ws.receive_json(timeout=10)
        held = time.monotonic() - started
        ids = [first["data"]["u"]]
        for _ in range(5):
            ids.append((await ws.receive_json(timeout=10))["data"]["u"])
    assert held >= 0.7  # the next delta arrived after the fault's delay ...
    assert ids == sorted(ids)  # ... and the frames behind it kept their order
    assert len(set(ids)) == len(ids)
    logged = bybit_server.faults.injected(FaultKind.WS_LATENCY)
    assert len(logged) == 1
    assert logged[0].path.startswith("ws:bybit:orderbook")
