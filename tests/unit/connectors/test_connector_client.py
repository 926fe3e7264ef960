"""ccxt clients built from ExchangeConfig: the loopback recipe, failing closed, errors by URL."""

from __future__ import annotations

import asyncio

import ccxt
import pytest

from tradewind.connectors.client import (
    binance_urls,
    create_async_client,
    create_client,
    secrets_of,
)
from tradewind.connectors.config import ExchangeConfig
from tradewind.core.errors import UserError
from tradewind.exchange_sim import Fault, FaultKind, LoopbackServer


def test_load_markets_asks_only_the_simulated_endpoints(server: LoopbackServer) -> None:
    client = create_client(ExchangeConfig(rest_url=server.rest_url, api_key="k", secret="s"))
    client.load_markets()
    assert [r.path for r in server.requests()] == ["/api/v3/exchangeInfo", "/fapi/v1/exchangeInfo"]
    assert client.market("XRP/USDT:USDT")["swap"] is True
    assert client.market("ETH/BTC")["spot"] is True


def test_unserved_api_groups_fail_before_any_request(server: LoopbackServer) -> None:
    client = create_client(ExchangeConfig(rest_url=server.rest_url))
    with pytest.raises(ccxt.NotSupported, match="dapi"):
        client.dapiPublicGetPing()  # coin-margined futures: not overridden, never the real host
    assert server.requests() == []


def test_the_sapi_group_reaches_the_override(server: LoopbackServer) -> None:
    # apiRestrictions (may this key withdraw?) lives under sapi: live trading must be able to ask.
    client = create_client(ExchangeConfig(rest_url=server.rest_url))
    assert client.fetch_status()["status"] == "ok"
    assert [r.path for r in server.requests()] == ["/sapi/v1/system/status"]
    spot = client.get_exceptions_by_url(f"{server.rest_url}/sapi/v1/account/x", "exact")
    assert spot["-1008"] is ccxt.OperationFailed


def test_error_tables_are_binance_spot_and_linear(server: LoopbackServer) -> None:
    # Without the patch, -1008 ("server busy") maps to ExchangeError; Binance's tables say
    # OperationFailed (ccxt-loopback.md P3).
    client = create_client(ExchangeConfig(rest_url=server.rest_url))
    spot = client.get_exceptions_by_url(f"{server.rest_url}/api/v3/klines", "exact")
    linear = client.get_exceptions_by_url(f"{server.rest_url}/fapi/v1/klines", "exact")
    assert spot["-1008"] is ccxt.OperationFailed
    assert linear["-1008"] is ccxt.OperationFailed
    assert client.get_exceptions_by_url("http://elsewhere/api/v3/x", "exact") == {}


def test_a_429_from_the_simulator_is_ddos_protection(server: LoopbackServer) -> None:
    server.faults.add(Fault(kind=FaultKind.RATE_LIMIT, path="/api/v3/klines", retry_after_s=4))
    client = create_client(ExchangeConfig(rest_url=server.rest_url, rate_limit=False))
    client.load_markets()
    with pytest.raises(ccxt.DDoSProtection):
        client.fetch_ohlcv("ETH/BTC", "5m", limit=2)
    assert client.last_response_headers["Retry-After"] == "4"


def test_ws_urls_follow_the_spot_and_linear_rules() -> None:
    urls = binance_urls("http://127.0.0.1:9", None)["ws"]
    assert "/stream" in urls["spot"]
    assert urls["linear"].endswith("/ws")
    assert "/stream" not in urls["linear"]
    assert urls["spot"].startswith("ws://127.0.0.1:9/")


def test_async_pro_client_gets_the_same_recipe(server: LoopbackServer) -> None:
    async def markets() -> list[str]:
        client = create_async_client(ExchangeConfig(rest_url=server.rest_url))
        try:
            await client.load_markets()
            return sorted(s for s in client.symbols if s.startswith("XRP"))
        finally:
            await client.close()

    # The simulator lists the XRP/ETH and XRPUSDT spot markets and the XRPUSDT perpetual.
    assert asyncio.run(markets()) == ["XRP/ETH", "XRP/USDT", "XRP/USDT:USDT"]


def test_config_settings_reach_the_client() -> None:
    cfg = ExchangeConfig(
        timeout_ms=1234, rate_limit=False, api_key="key-abcdef", secret="sec-123456"
    )
    client = create_client(cfg)
    assert (client.timeout, client.enableRateLimit) == (1234, False)
    assert (client.apiKey, client.secret) == ("key-abcdef", "sec-123456")
    assert secrets_of(cfg) == ["key-abcdef", "sec-123456"]
    assert "key-abcdef" not in repr(cfg)


def test_unknown_exchange_is_a_user_error() -> None:
    with pytest.raises(UserError, match=r"unknown exchange 'binanse'.*did you mean"):
        create_client(ExchangeConfig(name="binanse"))


def test_url_override_without_a_recipe_is_refused() -> None:
    with pytest.raises(
        UserError, match="rest_url is supported for binance, bybit only, not 'kraken'"
    ):
        create_client(ExchangeConfig(name="kraken", rest_url="http://127.0.0.1:1"))
