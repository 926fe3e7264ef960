"""Soak: 20 concurrent ccxt clients place and cancel orders with 5 % injected faults, then every
balance must equal its deposit plus its fills less its fees, no order may be in two states, and
the server's memory must stay bounded.

The short variant (5 s) runs in the normal suite. The full 60-second soak is marked ``slow`` and
runs only when ``TRADEWIND_SOAK_SECONDS`` is set (its value is the duration), e.g.
``TRADEWIND_SOAK_SECONDS=60 pytest -m slow tests/integration/exchange_sim/test_soak.py``.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import ccxt
import pytest
from simkit import FUNDS

from tradewind.exchange_sim import Fault, FaultKind, FaultPlan, LoopbackServer
from tradewind.exchange_sim.limits import LimitConfig, RateLimits

XRP = "XRP/USDT"
CLIENTS = 20
_FAULTS = [
    FaultKind.SERVER_ERROR,
    FaultKind.RATE_LIMIT,
    FaultKind.GHOST_ORDER,
    FaultKind.DROP_CONNECTION,
    FaultKind.LATENCY,
]


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


async def _trader(ex: Any, seed: int, until: float, stats: dict[str, int]) -> None:
    rng = random.Random(seed)
    while time.monotonic() < until:
        try:
            book = await ex.fetch_order_book(XRP, 5)
            bid, ask = book["bids"][0][0], book["asks"][0][0]
            side = rng.choice(["buy", "sell"])
            amount = rng.choice([5, 10, 20])
            if rng.random() < 0.4:  # marketable: crosses the spread and fills
                price = ask if side == "buy" else bid
            else:  # rests a few ticks away, then is cancelled
                price = round(bid - 0.001, 4) if side == "buy" else round(ask + 0.001, 4)
            order = await ex.create_order(XRP, "limit", side, amount, price)
            stats["orders"] += 1
            if order["status"] == "open":
                await ex.cancel_order(order["id"], XRP)
                stats["cancels"] += 1
        except (ccxt.NetworkError, ccxt.ExchangeError):
            stats["errors"] += 1


async def _all_trades(ex: Any) -> list[dict[str, Any]]:
    trades: list[dict[str, Any]] = []
    from_id = 0
    while True:
        page = await ex.fetch_my_trades(XRP, None, 1000, {"fromId": from_id})
        trades += page
        if len(page) < 1000:
            return trades
        from_id = int(page[-1]["id"]) + 1


async def _soak(server: LoopbackServer, async_client: Callable[..., Any], seconds: float) -> None:
    # Small retention caps, reached early, so the second half shows whether anything else grows.
    server.sim.faults = FaultPlan(
        [Fault(kind=k, path="/api/v3/order", probability=0.01, delay_s=0.4) for k in _FAULTS],
        seed=3,
        max_log=5_000,
    )
    server.sim.store.keep_closed = 300
    # All clients share 127.0.0.1; Binance's per-IP weight limit would ban them within seconds,
    # which test_faults.py covers. Here the limits are lifted so the faults are the 5 %.
    server.sim.limits = RateLimits(LimitConfig(weight_per_minute=10**9, orders_per_10s=10**6))
    clients = [await async_client(pro=False, timeout_ms=300) for _ in range(CLIENTS)]
    stats = {"orders": 0, "cancels": 0, "errors": 0}
    start = time.monotonic()
    half = asyncio.ensure_future(asyncio.sleep(seconds / 2))
    traders = asyncio.gather(
        *[_trader(ex, i, start + seconds, stats) for i, ex in enumerate(clients)]
    )
    await half
    rss_mid = _rss_mb()
    await traders
    rss_end = _rss_mb()
    server.sim.faults.clear()
    for ex in clients:
        ex.timeout = 5000

    assert stats["orders"] > CLIENTS * seconds  # at least one order a second per client
    assert server.faults.injected(), "no fault was injected"
    # Reconcile: ghost orders may still rest; cancel whatever is open.
    for ex in clients:
        for order in await ex.fetch_open_orders(XRP):
            await ex.cancel_order(order["id"], XRP)
    fee_total = Decimal(0)
    for ex in clients:
        trades = await _all_trades(ex)
        usdt, xrp = Decimal(FUNDS["USDT"]), Decimal(FUNDS["XRP"])
        for t in trades:
            info = t["info"]
            qty, quote, fee = (
                Decimal(info["qty"]),
                Decimal(info["quoteQty"]),
                Decimal(info["commission"]),
            )
            fee_total += fee
            if info["isBuyer"]:
                usdt -= quote
                xrp += qty
            else:
                usdt += quote
                xrp -= qty
            if info["commissionAsset"] == "USDT":
                usdt -= fee
            else:
                xrp -= fee
        balance = (await ex.fetch_balance())["info"]["balances"]
        totals = {b["asset"]: (Decimal(b["free"]), Decimal(b["locked"])) for b in balance}
        assert totals["USDT"] == (usdt, Decimal(0))
        assert totals["XRP"] == (xrp, Decimal(0))
        orders = await ex.fetch_orders(XRP, None, 1000)
        ids = [o["id"] for o in orders]
        assert len(ids) == len(set(ids))  # each order once
        assert all(o["status"] in ("closed", "canceled", "expired") for o in orders)
    assert fee_total > 0

    accounts = [ex.sim_key.account for ex in clients]

    def server_consistent() -> None:
        store = server.sim.store
        for table in store.open.values():
            assert all(o.is_open for o in table.values())  # the open set holds open orders only
        for account in accounts:
            assert not store.open.get(id(account))
            for order in store.all_orders(account, False, "XRPUSDT"):
                assert order.is_open == (order.order_id in store.open.get(id(account), {}))
        assert len(server.faults.requests()) <= server.faults.max_log

    server.call(server_consistent)
    # Memory: the logs and closed orders sit at their caps; the second half adds little (the
    # account trade histories, kept whole for the balance check above, are the only growth).
    assert len(server.faults.requests()) <= 5_000
    assert server.call(server.sim.store.size) <= 300 * len(server.sim.keys.accounts) + 1_000
    growth = rss_end - rss_mid
    print(f"soak {seconds:.0f}s: {stats}, RSS {rss_mid:.0f} -> {rss_end:.0f} MB")
    assert growth < 64, f"RSS grew {growth:.1f} MB in the second half ({stats})"


async def test_soak_short(server: LoopbackServer, async_client: Callable[..., Any]) -> None:
    kept = server.sim.store.keep_closed
    try:
        await _soak(server, async_client, 5.0)
    finally:
        server.sim.store.keep_closed = kept


@pytest.mark.slow
async def test_soak_full(server: LoopbackServer, async_client: Callable[..., Any]) -> None:
    seconds = os.environ.get("TRADEWIND_SOAK_SECONDS")
    if not seconds:
        pytest.skip("set TRADEWIND_SOAK_SECONDS (e.g. 60) to run the full soak")
    kept = server.sim.store.keep_closed
    try:
        await _soak(server, async_client, float(seconds))
    finally:
        server.sim.store.keep_closed = kept
