"""Helpers of the exchange-simulator conformance suite: funded accounts, ccxt clients pointed at
the loopback server, and one awaitable interface over sync and async clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tradewind.connectors.client import binance_urls
from tradewind.exchange_sim import LoopbackServer
from tradewind.exchange_sim.accounts import ApiKey, Permissions

FUNDS = {"USDT": 100_000, "BTC": 2, "XRP": 20_000, "ETH": 50, "LTC": 100}
FUTURES_USDT = 10_000
OPTIONS = {
    "fetchMarkets": {"types": ["spot", "linear"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
    "warnOnFetchOpenOrdersWithoutSymbol": False,
}


_counter = iter(range(1, 1_000_000))


def open_account(
    server: LoopbackServer, permissions: Permissions | None = None, **kw: Any
) -> ApiKey:
    """Open a funded account on the running server (through its loop) and return its key."""
    name = f"acct{next(_counter)}"
    kw.setdefault("balances", FUNDS)
    kw.setdefault("futures_usdt", FUTURES_USDT)
    return server.call(lambda: server.sim.open_account(name, permissions=permissions, **kw))


def configure(client: Any, server: LoopbackServer, *, ws: bool) -> Any:
    """Point a ccxt client at ``server`` with the recipe of ccxt-loopback.md."""
    urls = binance_urls(server.rest_url)
    urls["sapi"] = f"{server.rest_url}/sapi/v1"
    if not ws:
        del urls["ws"]
    client.urls["api"] = urls
    rest = server.rest_url
    original = client.get_exceptions_by_url

    def exceptions_by_url(url: str | None, exact_or_broad: str) -> dict[str, Any]:
        # P3: the per-market error tables, as on the real hosts.
        if url is not None and url.startswith((f"{rest}/api/", f"{rest}/fapi/", f"{rest}/sapi/")):
            market_type = "linear" if url.startswith(f"{rest}/fapi/") else "spot"
            tables = client.safe_dict(client.exceptions, market_type, {})
            found: dict[str, Any] = client.safe_dict(tables, exact_or_broad, {})
            return found
        result: dict[str, Any] = original(url, exact_or_broad)
        return result

    client.get_exceptions_by_url = exceptions_by_url
    return client


def _settings(key: ApiKey, rate_limit: bool, timeout_ms: int) -> dict[str, Any]:
    return {
        "apiKey": key.key,
        "secret": key.secret,
        "enableRateLimit": rate_limit,
        "timeout": timeout_ms,
        "options": {k: (dict(v) if isinstance(v, dict) else v) for k, v in OPTIONS.items()},
    }


SyncFactory = Callable[..., Any]


class Venue:
    """One ccxt client (sync or async) behind one awaitable interface, and its server."""

    def __init__(self, client: Any, server: LoopbackServer, kind: str) -> None:
        self.client = client
        self.server = server
        self.kind = kind

    async def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``client.method(*args, **kwargs)``, awaiting it for async clients."""
        result = getattr(self.client, method)(*args, **kwargs)
        if hasattr(result, "__await__"):
            result = await result
        return result

    async def new(self, **kw: Any) -> Venue:
        """Another client of the same kind for a fresh account."""
        return await _make_venue(self.server, self.kind, self._factory, **kw)

    _factory: Any = None


async def _make_venue(server: LoopbackServer, kind: str, factory: Any, **kw: Any) -> Venue:
    if kind == "sync":
        client = factory(**kw)
    else:
        client = await factory(pro=False, **kw)
    venue = Venue(client, server, kind)
    venue._factory = factory
    return venue
