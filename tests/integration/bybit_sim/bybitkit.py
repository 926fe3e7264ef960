"""Helpers of the Bybit conformance suite: funded accounts and ccxt clients pointed at the
loopback server (a uniquely named module: ``conftest`` names clash between test folders)."""

from __future__ import annotations

from itertools import count
from typing import Any

from tradewind.connectors.client import bybit_urls
from tradewind.exchange_sim import LoopbackServer
from tradewind.exchange_sim.accounts import ApiKey

FUNDS = {"USDT": 100_000, "XRP": 20_000, "BTC": 1}
FUTURES_USDT = 20_000
LINEAR = "XRP/USDT:USDT"
SPOT = "XRP/USDT"
_names = count(1)


def open_account(server: LoopbackServer, **kw: Any) -> ApiKey:
    """Open a funded account on the running server (through its loop); return its key."""
    kw.setdefault("balances", FUNDS)
    kw.setdefault("futures_usdt", FUTURES_USDT)
    name = f"bybit{next(_names)}"
    return server.call(lambda: server.sim.open_account(name, **kw))


def settings(key: ApiKey | None, rate_limit: bool, timeout_ms: int = 10_000) -> dict[str, Any]:
    """ccxt settings for the simulator (linear and spot markets only)."""
    config: dict[str, Any] = {
        "enableRateLimit": rate_limit,
        "timeout": timeout_ms,
        "options": {"fetchMarkets": {"types": ["spot", "linear"]}},
    }
    if key is not None:
        config.update({"apiKey": key.key, "secret": key.secret})
    return config


def point(client: Any, server: LoopbackServer) -> Any:
    """Point a ccxt bybit client at ``server`` (replacing the whole URL dict fails closed)."""
    client.urls["api"] = bybit_urls(server.rest_url)
    return client
