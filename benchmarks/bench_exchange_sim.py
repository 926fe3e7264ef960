"""The exchange simulator's added cost per order, and its depth-stream delivery delay.

1. ``create_order`` round trip: the real async ccxt client (``ccxt.async_support.binance``, rate
   limiter off) places resting limit orders at 500 orders/s against (a) the full simulator (the
   shared recordings, signature checks, limits, matching, user-stream fan-out) and (b) a minimal
   aiohttp handler that answers the same request with a canned order; each server runs in its own
   process, the same way. Reported: the simulator's median, the peer's median, and the
   difference (the simulator's added cost; target <= 0.3 ms). Every answer is checked (status
   ``open``, an order id) before a time counts.
2. Depth streams: 20 subscribers on one market whose book changes 1,000 times a second (the real
   Bybit XRPUSDT levels and diffs, replayed with their steps 1 ms apart: synthetic pacing, real
   levels). Delay = receive time minus the event time ``E`` (ms clock). Reported: p99 (target
   < 5 ms) and the delivered rate; every subscriber's diffs must chain (``U == previous u + 1``).
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import statistics
import time
from decimal import Decimal
from typing import Any

import orjson

from benchmarks.common import Row

_ORDER_RATE = 500.0
_SUBSCRIBERS = 20


# ------------------------------------------------------------------------- server processes
def _serve_sim(port_out: Any, key_out: Any, mode: str) -> None:
    from tradewind.exchange_sim import LoopbackServer, SimExchange
    from tradewind.exchange_sim.limits import LimitConfig
    from tradewind.exchange_sim.recordings import list_shared_recordings
    from tradewind.testing.shared_data import shared_data_dir

    root = shared_data_dir()
    assert root is not None
    sim = SimExchange(limits=LimitConfig(weight_per_minute=10**9, orders_per_10s=10**9,
                                         orders_per_day=10**9))  # fmt: skip
    list_shared_recordings(sim, root)
    if mode == "depth":
        _fast_xrp_book(sim, root)
    key = sim.open_account("bench", balances={"USDT": 10**9})
    key_out.put((key.key, key.secret))

    async def main() -> None:
        async with LoopbackServer(sim) as server:
            port_out.put(server.port)
            while True:
                await asyncio.sleep(3600)

    asyncio.run(main())


def _fast_xrp_book(sim: Any, root: Any) -> None:
    from tradewind.book.readers.bybit import decode_bybit_orderbook
    from tradewind.exchange_sim.listings import Api
    from tradewind.exchange_sim.replay import RecordedBook, book_from_depth_stream

    market = sim.market(Api.SPOT, "XRPUSDT")
    recorded = book_from_depth_stream(
        decode_bybit_orderbook(root / "orderbook" / "bybit-xrpusdt-ob500.data.zip"),
        Decimal("0.0001"),
        Decimal("0.1"),
    )
    for k, step in enumerate(recorded.steps):
        step.offset_ms = k  # one step a millisecond: 1,000 book changes a second
    market.replay = RecordedBook(recorded.steps, len(recorded.steps))


def _serve_minimal(port_out: Any, info: bytes) -> None:
    from aiohttp import web

    async def exchange_info(request: web.Request) -> web.Response:
        return web.Response(body=info, content_type="application/json")

    ids = iter(range(1, 10**9))

    async def order(request: web.Request) -> web.Response:
        form = await request.post()
        return web.json_response({
            "symbol": form["symbol"], "orderId": next(ids), "orderListId": -1,
            "clientOrderId": form.get("newClientOrderId", "x"), "transactTime": int(time.time() * 1000),
            "price": form["price"], "origQty": form["quantity"], "executedQty": "0",
            "cummulativeQuoteQty": "0", "status": "NEW", "timeInForce": "GTC", "type": "LIMIT",
            "side": form["side"], "workingTime": int(time.time() * 1000), "fills": [],
            "selfTradePreventionMode": "EXPIRE_MAKER", "origQuoteOrderQty": "0",
        })  # fmt: skip

    async def main() -> None:
        app = web.Application()
        app.add_routes(
            [web.get("/api/v3/exchangeInfo", exchange_info), web.post("/api/v3/order", order)]
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_out.put(runner.addresses[0][1])
        while True:
            await asyncio.sleep(3600)

    asyncio.run(main())


def _start(target: Any, *args: Any) -> tuple[Any, int]:
    ctx = mp.get_context("spawn")
    port_q = ctx.Queue()
    proc = ctx.Process(target=target, args=(port_q, *args), daemon=True)
    proc.start()
    return proc, port_q.get(timeout=120)


# ------------------------------------------------------------------------- create_order
async def _client(port: int, key: tuple[str, str]) -> Any:
    import ccxt.async_support as ccxt_async

    from tradewind.connectors.client import binance_urls

    ex = ccxt_async.binance({"apiKey": key[0], "secret": key[1], "enableRateLimit": False,
                             "options": {"fetchMarkets": {"types": ["spot"]},
                                         "fetchCurrencies": False, "fetchMargins": False}})  # fmt: skip
    urls = binance_urls(f"http://127.0.0.1:{port}")
    del urls["ws"]
    ex.urls["api"] = urls
    await ex.load_markets()
    for _ in range(50):  # warm-up: connection, caches
        await ex.create_order("XRP/USDT", "limit", "buy", 10, 1.0)
    return ex


async def _paced_orders(ex: Any, count: int, out: list[float]) -> None:
    period = 1.0 / _ORDER_RATE
    next_at = time.perf_counter()
    for _ in range(count):
        now = time.perf_counter()
        if now < next_at:
            await asyncio.sleep(next_at - now)
        next_at += period
        start = time.perf_counter()
        order = await ex.create_order("XRP/USDT", "limit", "buy", 10, 1.0)
        out.append(time.perf_counter() - start)
        if order["status"] != "open" or not order["id"]:
            raise RuntimeError(f"unexpected order answer: {order['info']}")


async def _interleaved(sim_port: int, min_port: int, key: tuple[str, str], count: int,
                       rounds: int) -> tuple[list[float], list[float]]:  # fmt: skip
    # Alternating batches spread machine noise (other processes) evenly over both servers.
    sim_ex, min_ex = await _client(sim_port, key), await _client(min_port, key)
    sim_times: list[float] = []
    min_times: list[float] = []
    try:
        for _ in range(rounds):
            await _paced_orders(sim_ex, count // rounds, sim_times)
            await _paced_orders(min_ex, count // rounds, min_times)
    finally:
        await sim_ex.close()
        await min_ex.close()
    return sim_times, min_times


def _create_order_rows(quick: bool) -> list[Row]:
    import requests

    ctx = mp.get_context("spawn")
    key_q = ctx.Queue()
    sim_proc, sim_port = _start(_serve_sim, key_q, "orders")
    key = key_q.get(timeout=10)
    info = requests.get(f"http://127.0.0.1:{sim_port}/api/v3/exchangeInfo", timeout=10).content
    min_proc, min_port = _start(_serve_minimal, info)
    count = 1000 if quick else 5000
    try:
        sim_times, min_times = asyncio.run(_interleaved(sim_port, min_port, key, count, 10))
    finally:
        sim_proc.terminate()
        min_proc.terminate()
    sim_med, min_med = statistics.median(sim_times), statistics.median(min_times)
    added = sim_med - min_med
    p95 = sorted(sim_times)[int(0.95 * len(sim_times))]
    return [
        Row("exchange_sim", "create_order round trip (median)", sim_med,
            peer_name="minimal aiohttp handler", peer=min_med,
            note=f"{count} orders at {_ORDER_RATE:.0f}/s; p95 {p95 * 1e3:.2f} ms"),
        Row("exchange_sim", "create_order added cost (median difference)", max(added, 0.0),
            target="<= 0.3 ms", note=f"{added * 1e3:.3f} ms"),
    ]  # fmt: skip


# ------------------------------------------------------------------------- depth streams
async def _subscriber(port: int, until: float, delays: list[float], counts: list[int]) -> None:
    import aiohttp

    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"ws://127.0.0.1:{port}/stream/ws/0") as ws,
    ):
        await ws.send_str('{"method":"SUBSCRIBE","params":["xrpusdt@depth@100ms"],"id":1}')
        prev_u = None
        n = 0
        while time.time() < until:
            msg = await ws.receive(timeout=5)
            now_ms = time.time() * 1000.0
            data = orjson.loads(msg.data)
            if "e" not in data:
                continue
            if prev_u is not None and data["U"] != prev_u + 1:
                raise RuntimeError(f"depth diffs do not chain: U={data['U']} after u={prev_u}")
            prev_u = data["u"]
            delays.append(now_ms - data["E"])
            n += 1
        counts.append(n)


def _subscriber_process(port: int, until: float, start_at: float, out: Any) -> None:
    delays: list[float] = []
    counts: list[int] = []

    async def main() -> None:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        await asyncio.gather(
            *[_subscriber(port, until, delays, counts) for _ in range(_SUBSCRIBERS // 2)]
        )

    asyncio.run(main())
    out.put((delays, counts))


def _depth_rows(quick: bool) -> list[Row]:
    ctx = mp.get_context("spawn")
    key_q = ctx.Queue()
    proc, port = _start(_serve_sim, key_q, "depth")
    seconds = 3.0 if quick else 8.0
    out = ctx.Queue()
    start_at = time.time() + 1.0
    until = start_at + 1.0 + seconds
    subs = [
        ctx.Process(target=_subscriber_process, args=(port, until, start_at, out)) for _ in range(2)
    ]
    try:
        for sub in subs:
            sub.start()
        results = [out.get(timeout=seconds + 60) for _ in subs]
    finally:
        for sub in subs:
            sub.join(timeout=5)
        proc.terminate()
    delays = sorted(d for part, _ in results for d in part)
    counts = [c for _, part in results for c in part]
    # The first second (connect, snapshot) is warm-up; drop that many messages per subscriber.
    rate = statistics.median(counts) / (seconds + 1.0)
    p50 = delays[len(delays) // 2] / 1000.0
    p99 = delays[int(0.99 * len(delays))] / 1000.0
    return [
        Row("exchange_sim", f"depth delivery p99 ({_SUBSCRIBERS} subscribers)", p99,
            target="< 5 ms", note=f"p50 {p50 * 1e3:.2f} ms; {rate:.0f} updates/s each; "
            f"{len(delays):,} messages; ms clock"),
    ]  # fmt: skip


def run(quick: bool) -> list[Row]:
    """Time create_order against the simulator and a minimal server; measure depth delivery."""
    return _create_order_rows(quick) + _depth_rows(quick)


if __name__ == "__main__":
    for row in run(quick=True):
        print(row)
