"""Conformance: each injected fault surfaces as the ccxt exception class ccxt-loopback.md names,
is written to the fault log, and leaves the exchange consistent (ghost orders findable)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

import ccxt
import pytest
from simkit import FUNDS, open_account

from tradewind.exchange_sim import Fault, FaultKind, LoopbackServer
from tradewind.exchange_sim.limits import LimitConfig, RateLimits

XRP = "XRP/USDT"
BOOK = "/api/v3/depth"


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault(kind=FaultKind.RATE_LIMIT, path=BOOK, retry_after_s=0), ccxt.DDoSProtection),
        (Fault(kind=FaultKind.IP_BAN, path=BOOK, retry_after_s=0), ccxt.DDoSProtection),
        (
            Fault(kind=FaultKind.SERVER_ERROR, path=BOOK, status=500, json_body=True),
            ccxt.OperationFailed,
        ),
        (Fault(kind=FaultKind.SERVER_ERROR, path=BOOK, status=502), ccxt.ExchangeNotAvailable),
        (Fault(kind=FaultKind.TIMEOUT, path=BOOK, delay_s=0.0), ccxt.RequestTimeout),
        (Fault(kind=FaultKind.STALL, path=BOOK, delay_s=1.0), ccxt.RequestTimeout),
        (Fault(kind=FaultKind.MAINTENANCE, path=BOOK), ccxt.OperationFailed),
        (Fault(kind=FaultKind.DROP_CONNECTION, path=BOOK), ccxt.NetworkError),
    ],
    ids=lambda v: v.kind.value if isinstance(v, Fault) else v.__name__,
)
def test_request_faults_map_to_ccxt_classes(
    server: LoopbackServer, sync_client: Callable[..., Any], fault: Fault, expected: type[Exception]
) -> None:
    client = sync_client(timeout_ms=500)
    server.faults.add(fault)
    with pytest.raises(expected):
        client.fetch_order_book(XRP)
    (logged,) = server.faults.injected()
    assert logged.kind is fault.kind
    assert logged.path == BOOK
    assert client.fetch_order_book(XRP)["bids"]  # the next request is served normally


async def test_async_dropped_connection_is_exchange_not_available(
    server: LoopbackServer, async_client: Callable[..., Any]
) -> None:
    client = await async_client(pro=False)
    # aiohttp retries a request once when a kept-alive connection drops, so drop both tries.
    server.faults.add(Fault(kind=FaultKind.DROP_CONNECTION, path=BOOK, times=2))
    with pytest.raises(ccxt.ExchangeNotAvailable):
        await client.fetch_order_book(XRP)


def test_latency_slows_but_answers(server: LoopbackServer, sync_client: Callable[..., Any]) -> None:
    client = sync_client()
    server.faults.add(Fault(kind=FaultKind.LATENCY, path=BOOK, delay_s=0.2))
    started = time.perf_counter()
    assert client.fetch_order_book(XRP)["asks"]
    assert time.perf_counter() - started >= 0.2
    assert server.requests(BOOK)[-1].fault is FaultKind.LATENCY


@pytest.mark.parametrize("kind", [FaultKind.GHOST_ORDER, FaultKind.GHOST_FILLED])
def test_ghost_order_times_out_but_is_findable_by_client_id(
    server: LoopbackServer, sync_client: Callable[..., Any], kind: FaultKind
) -> None:
    client = sync_client(timeout_ms=400)
    server.faults.add(Fault(kind=kind, path="/api/v3/order", delay_s=1.0))
    with pytest.raises(ccxt.RequestTimeout):
        client.create_order(XRP, "limit", "buy", 10, 1.0, {"clientOrderId": "ghost-1"})
    found = client.fetch_order(None, XRP, {"origClientOrderId": "ghost-1"})
    if kind is FaultKind.GHOST_ORDER:
        assert found["status"] == "open"
        assert client.fetch_balance()["USDT"]["used"] == pytest.approx(10.0)
        # Resending the same id while the ghost is open is refused: no second order.
        with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
            client.create_order(XRP, "limit", "buy", 10, 1.0, {"clientOrderId": "ghost-1"})
    else:
        assert found["status"] == "closed"
        assert found["filled"] == 10
        assert client.fetch_balance()["XRP"]["total"] == pytest.approx(FUNDS["XRP"] + 10 - 0.01)
    assert [r.kind for r in server.faults.injected()] == [kind]


def test_new_order_invisible_for_a_while(
    server: LoopbackServer, sync_client: Callable[..., Any]
) -> None:
    client = sync_client()
    server.faults.add(Fault(kind=FaultKind.DELAYED_VISIBILITY, path="/api/v3/order", delay_s=0.5))
    order = client.create_order(XRP, "limit", "buy", 10, 1.0)
    with pytest.raises(ccxt.OrderNotFound):
        client.fetch_order(order["id"], XRP)
    assert client.fetch_open_orders(XRP) == []
    time.sleep(0.6)
    assert client.fetch_order(order["id"], XRP)["status"] == "open"


def test_stale_depth_answers_an_old_snapshot(
    server: LoopbackServer, sync_client: Callable[..., Any]
) -> None:
    client = sync_client()
    first = client.fetch_order_book(XRP)["nonce"]
    time.sleep(0.5)  # the replay moves on (about ten diffs a second)
    server.faults.add(Fault(kind=FaultKind.STALE_DATA, path=BOOK))
    assert client.fetch_order_book(XRP)["nonce"] == first
    assert client.fetch_order_book(XRP)["nonce"] > first


def test_probability_faults_are_seeded(
    server: LoopbackServer, sync_client: Callable[..., Any]
) -> None:
    from tradewind.exchange_sim import FaultPlan

    client = sync_client()
    outcomes = []
    for _ in range(2):
        server.sim.faults = FaultPlan(
            [Fault(kind=FaultKind.SERVER_ERROR, path=BOOK, probability=0.3, json_body=True)],
            seed=11,
        )
        run = []
        for _ in range(30):
            try:
                client.fetch_order_book(XRP)
                run.append(True)
            except ccxt.OperationFailed:
                run.append(False)
        outcomes.append(run)
        assert run.count(False) == len(server.faults.injected())
    assert outcomes[0] == outcomes[1]
    assert 3 <= outcomes[0].count(False) <= 18


def test_weight_limit_429_then_418_ban(
    server: LoopbackServer, sync_client: Callable[..., Any]
) -> None:
    client = sync_client()
    server.sim.limits = RateLimits(LimitConfig(weight_per_minute=40, ban_s=1))
    with pytest.raises(ccxt.DDoSProtection):  # noqa: PT012 - the 9th book (weight 5 each) is refused
        for _ in range(20):
            client.fetch_order_book(XRP)
    assert client.last_http_response is not None
    assert server.requests(BOOK)[-1].status == 429
    assert int(client.last_response_headers["Retry-After"]) >= 1
    with pytest.raises(ccxt.DDoSProtection, match="IP banned"):
        client.fetch_order_book(XRP)  # ignored Retry-After: banned
    assert server.requests(BOOK)[-1].status == 418


def test_order_count_limit(server: LoopbackServer, sync_client: Callable[..., Any]) -> None:
    client = sync_client()
    server.sim.limits = RateLimits(LimitConfig(orders_per_10s=3))
    for _ in range(3):
        client.create_order(XRP, "limit", "buy", 10, 1.0)
    with pytest.raises(ccxt.DDoSProtection, match="Too many new orders"):
        client.create_order(XRP, "limit", "buy", 10, 1.0)
    assert len(client.fetch_open_orders(XRP)) == 3


def test_maintenance_mode(server: LoopbackServer, sync_client: Callable[..., Any]) -> None:
    client = sync_client()
    server.set_maintenance(True)
    with pytest.raises(ccxt.OperationFailed):
        client.fetch_balance()
    server.set_maintenance(False)
    assert client.fetch_balance()["USDT"]["free"] == FUNDS["USDT"]


# ------------------------------------------------------------------------- stream faults
async def _watch_until_error(
    watch: Callable[[], Any], times: int = 100, timeout: float = 2.0
) -> None:
    """Call ``watch`` until it raises (the fault under test); fail if it never does."""
    for _ in range(times):
        await asyncio.wait_for(watch(), timeout)
    raise AssertionError(f"no error after {times} updates")


async def test_ws_disconnect_1001_then_reconnect(
    server: LoopbackServer, async_client: Callable[..., Any]
) -> None:
    ex = await async_client()
    await ex.watch_trades("BTC/USDT")
    seen: ccxt.NetworkError | None = None
    # A close that lands while no watch is pending is not raised: ccxt reconnects on the next call.
    # That race is ccxt's, not the simulator's, so the close is injected again (at most 3 times)
    # until a pending watch sees it.
    for _ in range(3):
        server.faults.add(Fault(kind=FaultKind.WS_DISCONNECT, path="ws:btcusdt@trade"))
        try:
            for _ in range(100):
                await asyncio.wait_for(ex.watch_trades("BTC/USDT"), 2.0)
        except ccxt.NetworkError as exc:
            seen = exc
            break
    assert seen is not None, "ccxt never saw the 1001 close"
    assert "1001" in str(seen)
    assert await ex.watch_trades("BTC/USDT")  # reconnects and resubscribes by itself
    assert server.faults.injected(FaultKind.WS_DISCONNECT)


async def test_ws_stall_goes_silent_without_closing(
    server: LoopbackServer, async_client: Callable[..., Any]
) -> None:
    ex = await async_client()
    await ex.watch_trades("BTC/USDT")
    server.faults.add(Fault(kind=FaultKind.WS_STALL, path="ws:btcusdt@trade", delay_s=1.5))
    with pytest.raises(TimeoutError):
        await _watch_until_error(lambda: ex.watch_trades("BTC/USDT"), timeout=0.5)
    await asyncio.sleep(1.2)
    assert await asyncio.wait_for(ex.watch_trades("BTC/USDT"), 2)


async def test_depth_gap_raises_checksum_error(
    server: LoopbackServer, async_client: Callable[..., Any]
) -> None:
    ex = await async_client()
    await ex.watch_order_book(XRP)
    server.faults.add(Fault(kind=FaultKind.DEPTH_GAP, path="ws:xrpusdt@depth", at_request=2))
    with pytest.raises(ccxt.ChecksumError):
        await _watch_until_error(lambda: ex.watch_order_book(XRP))


async def test_forced_disconnect_after_max_age(sim: Any, async_client: Callable[..., Any]) -> None:
    async with LoopbackServer(sim, max_connection_s=0.5) as short_lived:
        from simkit import configure

        key = open_account(short_lived)
        ex = configure(ccxt.pro.binance({"apiKey": key.key, "secret": key.secret, "enableRateLimit": False,
                                         "options": {"fetchMarkets": {"types": ["spot"]},
                                                     "fetchCurrencies": False, "fetchMargins": False}}),
                       short_lived, ws=True)  # fmt: skip
        try:
            await ex.load_markets()
            with pytest.raises(ccxt.NetworkError, match="1001"):
                await _watch_until_error(lambda: ex.watch_trades("BTC/USDT"), 500, 3.0)
        finally:
            await ex.close()
    assert sim.faults.injected(FaultKind.FORCED_DISCONNECT)


@pytest.mark.parametrize("kind", [FaultKind.USER_EVENT_DROP, FaultKind.USER_EVENT_DUPLICATE])
async def test_user_stream_events_dropped_or_duplicated(
    server: LoopbackServer, async_client: Callable[..., Any], kind: FaultKind
) -> None:
    ex = await async_client()
    await ex.create_order_ws(XRP, "limit", "buy", 10, 1.0)  # subscribes the user stream too
    task = asyncio.ensure_future(ex.watch_orders(XRP))
    await asyncio.sleep(0.2)
    server.faults.add(Fault(kind=kind, path="user:spot", at_request=1))
    order = await ex.create_order_ws(XRP, "limit", "buy", 10, 1.0)
    if kind is FaultKind.USER_EVENT_DROP:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), 0.5)
        task.cancel()
    else:
        updates = await asyncio.wait_for(task, 2)
        assert updates[-1]["id"] == order["id"]
    assert server.faults.injected(kind)


async def test_ws_latency_holds_depth_diffs_and_keeps_them_in_sequence(
    server: LoopbackServer,
) -> None:
    import aiohttp
    import orjson

    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(server.ws_url + "/stream/ws/0") as ws,
    ):
        await ws.send_str('{"method": "SUBSCRIBE", "params": ["xrpusdt@depth@100ms"], "id": 1}')
        assert orjson.loads((await ws.receive(timeout=5)).data) == {"result": None, "id": 1}
        orjson.loads((await ws.receive(timeout=5)).data)  # one diff before the fault
        server.faults.add(Fault(kind=FaultKind.WS_LATENCY, path="ws:xrpusdt@depth", delay_s=0.8))
        started = time.monotonic()
        diffs = [orjson.loads((await ws.receive(timeout=5)).data)]
        held = time.monotonic() - started
        for _ in range(5):
            diffs.append(orjson.loads((await ws.receive(timeout=5)).data))
    assert held >= 0.7  # held for the fault's delay ...
    for before, after in itertools.pairwise(diffs):
        assert after["U"] == before["u"] + 1  # ... and still one unbroken id sequence
    assert server.faults.injected(FaultKind.WS_LATENCY)
