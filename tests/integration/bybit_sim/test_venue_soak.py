"""Soak of three venues at once: 10 ccxt clients per venue (Binance, Bybit and a second
Binance-protocol venue, one process, one recording at three venues' prices) trade for a while
with 5 % of order requests faulted; then every balance must equal its deposit plus its fills less
its fees, and no order may be in two states.

The short variant (8 s) runs in the normal suite. The full soak is marked ``slow`` and runs when
``TRADEWIND_VENUE_SOAK_SECONDS`` is set (``make soak-venues`` runs it for 60 s, ``make soak`` too,
after the hour-long ones).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import ccxt.async_support
import pytest

from tradewind.connectors.client import binance_urls, bybit_urls
from tradewind.exchange_sim import Fault, FaultKind, FaultPlan
from tradewind.exchange_sim.limits import LimitConfig, RateLimits
from tradewind.exchange_sim.multi_venue import MultiVenue, Venue, build_venue, plan_venues

XRP = "XRP/USDT"
CLIENTS_PER_VENUE = 10
FUNDS = {"USDT": 10_000, "XRP": 5_000}
_KINDS = [FaultKind.SERVER_ERROR, FaultKind.RATE_LIMIT, FaultKind.GHOST_ORDER,
          FaultKind.DROP_CONNECTION, FaultKind.LATENCY]  # fmt: skip
_ORDER_PATH = {"binance": "/api/v3/order", "bybit": "/v5/order/"}
_FINAL_BYBIT = {"Filled", "Cancelled", "PartiallyFilledCanceled", "Rejected"}


def _client(venue: Venue, key: Any) -> Any:
    rest = venue.server.rest_url
    config: dict[str, Any] = {"apiKey": key.key, "secret": key.secret, "enableRateLimit": False,
                              "timeout": 10_000}  # fmt: skip
    if venue.spec.protocol == "bybit":
        # Thirty clients loading markets at once on a loaded machine can take longer than
        # Bybit's default 5 s receive window between signing and the venue's check.
        client = ccxt.async_support.bybit(
            {**config, "options": {"fetchMarkets": {"types": ["spot"]}, "recvWindow": 30_000}}
        )
        client.urls["api"] = bybit_urls(rest)
    else:
        client = ccxt.async_support.binance({**config, "options": {
            "fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}})  # fmt: skip
        urls = binance_urls(rest)
        del urls["ws"]
        client.urls["api"] = urls
    client.sim_venue = venue
    client.sim_key = key
    return client


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
            open_now = order["status"] == "open" or order["status"] is None
            if open_now:
                await ex.cancel_order(order["id"], XRP)
                stats["cancels"] += 1
        except (ccxt.NetworkError, ccxt.ExchangeError):
            stats["errors"] += 1


async def _binance_fills(ex: Any) -> list[tuple[bool, Decimal, Decimal, Decimal, str]]:
    fills, from_id = [], 0
    while True:
        page = await ex.fetch_my_trades(XRP, None, 1000, {"fromId": from_id})
        for t in page:
            i = t["info"]
            fills.append((bool(i["isBuyer"]), Decimal(i["qty"]), Decimal(i["quoteQty"]),
                          Decimal(i["commission"]), i["commissionAsset"]))  # fmt: skip
        if len(page) < 1000:
            return fills
        from_id = int(page[-1]["id"]) + 1


async def _bybit_pages(ex: Any, method: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = ""
    while True:
        answer = await getattr(ex, method)({**params, "limit": 100, "cursor": cursor})
        rows += answer["result"]["list"]
        cursor = answer["result"]["nextPageCursor"]
        if not cursor:
            return rows


async def _reconcile(ex: Any) -> tuple[Decimal, int]:
    """Check one client's balance against its fills; return its fees and orders seen."""
    for order in await ex.fetch_open_orders(XRP):
        await ex.cancel_order(order["id"], XRP)
    usdt, xrp = Decimal(FUNDS["USDT"]), Decimal(FUNDS["XRP"])
    if ex.sim_venue.spec.protocol == "bybit":
        spot = {"category": "spot", "symbol": "XRPUSDT"}
        rows = await _bybit_pages(ex, "private_get_v5_execution_list", spot)
        fills = [(r["side"] == "Buy", Decimal(r["execQty"]), Decimal(r["execValue"]),
                  Decimal(r["execFee"]), r["feeCurrency"]) for r in rows]  # fmt: skip
        wallet = await ex.private_get_v5_account_wallet_balance({"accountType": "SPOT"})
        coins = {c["coin"]: c for c in wallet["result"]["list"][0]["coin"]}
        totals = {a: (Decimal(coins[a]["walletBalance"]), Decimal(coins[a]["locked"]))
                  for a in ("USDT", "XRP")}  # fmt: skip
        orders = await _bybit_pages(ex, "private_get_v5_order_history", spot)
        ids = [o["orderId"] for o in orders]
        assert all(o["orderStatus"] in _FINAL_BYBIT for o in orders)
        assert not (await ex.private_get_v5_order_realtime(spot))["result"]["list"]
    else:
        fills = await _binance_fills(ex)
        balance = (await ex.fetch_balance())["info"]["balances"]
        free_locked = {b["asset"]: (Decimal(b["free"]), Decimal(b["locked"])) for b in balance}
        totals = {a: (free_locked[a][0] + free_locked[a][1], free_locked[a][1])
                  for a in ("USDT", "XRP")}  # fmt: skip
        orders = await ex.fetch_orders(XRP, None, 1000)
        ids = [o["id"] for o in orders]
        assert all(o["status"] in ("closed", "canceled", "expired") for o in orders)
    fees = Decimal(0)
    for buy, qty, quote, fee, fee_asset in fills:
        usdt += -quote if buy else quote
        xrp += qty if buy else -qty
        if fee_asset == "USDT":
            usdt -= fee
        else:
            xrp -= fee
        fees += fee
    assert totals["USDT"] == (usdt, Decimal(0)), ex.sim_venue.spec.name
    assert totals["XRP"] == (xrp, Decimal(0)), ex.sim_venue.spec.name
    assert len(ids) == len(set(ids))  # each order once, in one final state
    return fees, len(ids)


async def _soak(shared_data: Path, seconds: float) -> None:
    specs = plan_venues(["binance", "bybit", "binance2"], base_port=0, seed=4)
    venues = []
    for spec in specs:
        sim = build_venue(spec, shared_data, faults=FaultPlan(
            [Fault(kind=k, path=_ORDER_PATH[spec.protocol], probability=0.01, delay_s=0.4)
             for k in _KINDS], seed=spec.seed, max_log=5_000))  # fmt: skip
        # All clients share 127.0.0.1: lift the weight limit so the faults are the 5 %.
        sim.limits = RateLimits(LimitConfig(weight_per_minute=10**9, orders_per_10s=10**6))
        venues.append(Venue(spec, sim))
    async with MultiVenue(venues):
        clients = []
        for venue in venues:
            for i in range(CLIENTS_PER_VENUE):
                name = f"{venue.spec.name}-{i}"
                key = venue.sim.open_account(name, balances=FUNDS)
                clients.append(_client(venue, key))
        try:
            await asyncio.gather(*[c.load_markets() for c in clients])
            for ex in clients:
                ex.timeout = 300  # a ghost order's 0.4 s hold is a timeout to the client
            stats = {"orders": 0, "cancels": 0, "errors": 0}
            until = time.monotonic() + seconds
            await asyncio.gather(*[_trader(c, i, until, stats) for i, c in enumerate(clients)])
            for venue in venues:
                venue.sim.faults.clear()
            for ex in clients:
                ex.timeout = 10_000
            results = await asyncio.gather(*[_reconcile(ex) for ex in clients])
        finally:
            await asyncio.gather(*[c.close() for c in clients])
        for venue in venues:
            store = venue.sim.store
            for table in store.open.values():
                assert all(o.is_open for o in table.values())  # open set holds open orders only
            assert venue.sim.faults.injected(), f"no fault injected on {venue.spec.name}"
        requests = sum(len(v.sim.faults.requests()) for v in venues)
        print(f"venue soak {seconds:.0f}s: {stats}, {requests} requests logged")
        assert stats["orders"] > len(clients) * seconds / 4
        assert sum(fees for fees, _ in results) > 0


async def test_three_venue_soak_short(shared_data: Path) -> None:
    await _soak(shared_data, 8.0)


@pytest.mark.slow
async def test_three_venue_soak_full(shared_data: Path) -> None:
    seconds = os.environ.get("TRADEWIND_VENUE_SOAK_SECONDS")
    if not seconds:
        pytest.skip("set TRADEWIND_VENUE_SOAK_SECONDS (e.g. 60) or run `make soak-venues`")
    await _soak(shared_data, float(seconds))
