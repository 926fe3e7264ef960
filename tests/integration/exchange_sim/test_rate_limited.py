"""Conformance with ccxt's own rate limiter on (its throttle costs ~10 ms per REST call, so only a
short round trip runs in this mode; every other test runs with the limiter off)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from simkit import FUNDS, Venue, _make_venue

from tradewind.exchange_sim import LoopbackServer

XRP = "XRP/USDT"


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_order_round_trip_with_rate_limiter(
    server: LoopbackServer,
    sync_client: Callable[..., Any],
    async_client: Callable[..., Any],
    kind: str,
) -> None:
    factory = sync_client if kind == "sync" else async_client
    venue: Venue = await _make_venue(server, kind, factory, rate_limit=True)
    assert venue.client.enableRateLimit
    order = await venue("create_order", XRP, "limit", "buy", 10, 1.0)
    assert (await venue("fetch_order", order["id"], XRP))["status"] == "open"
    assert (await venue("cancel_order", order["id"], XRP))["status"] == "canceled"
    filled = await venue("create_order", XRP, "market", "sell", 10)
    assert filled["status"] == "closed"
    balance = await venue("fetch_balance")
    assert balance["XRP"]["total"] == pytest.approx(FUNDS["XRP"] - 10)
