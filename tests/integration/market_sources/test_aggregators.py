"""Price aggregators as sources, against loopback fakes of CoinGecko and CryptoCompare: the
CoinGecko fake answers CoinGecko's official SDK (``coingecko-sdk``) as the real API would, our
adapter reads the same figures, and the market context carries the aggregators' prices and BTC
dominance beside the venues'; refusals are named."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from aggregator_fakes import (
    DEMO_KEY,
    btc_close,
    coingecko_app,
    cryptocompare_app,
    global_figures,
    serve,
)
from coingecko_sdk import AsyncCoingecko, AuthenticationError

from tradewind.connectors.aggregators import Aggregator, AggregatorError
from tradewind.connectors.context_feed import ContextFeed
from tradewind.connectors.source_config import AggregatorConfig
from tradewind.core.errors import UserError

SYMBOL = "BTC/USDT"


@pytest.fixture
async def urls(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[str, str]]:
    monkeypatch.setenv("TW_TEST_CG_KEY", DEMO_KEY)
    gecko, gecko_url = await serve(coingecko_app())
    compare, compare_url = await serve(cryptocompare_app())
    try:
        yield f"{gecko_url}/api/v3", compare_url
    finally:
        await gecko.cleanup()
        await compare.cleanup()


def _configs(gecko: str, compare: str) -> list[AggregatorConfig]:
    return [
        AggregatorConfig(name="coingecko", kind="coingecko", base_url=gecko,
                         api_key_env="TW_TEST_CG_KEY", symbols={SYMBOL: "bitcoin/usd"}),
        AggregatorConfig(name="cryptocompare", kind="cryptocompare", base_url=compare,
                         symbols={SYMBOL: "BTC/USD"}),
    ]  # fmt: skip


async def test_the_coingecko_fake_answers_the_official_sdk(urls: tuple[str, str]) -> None:
    gecko, _ = urls
    async with AsyncCoingecko(demo_api_key=DEMO_KEY, base_url=gecko, max_retries=0) as sdk:
        world = await sdk.global_.get()
        price = await sdk.simple.price.get(ids="bitcoin", vs_currencies="usd")
    async with AsyncCoingecko(demo_api_key="wrong", base_url=gecko, max_retries=0) as keyless:
        with pytest.raises(AuthenticationError):
            await keyless.global_.get()
    assert (
        world.data.market_cap_percentage["btc"] == global_figures()["market_cap_percentage"]["btc"]
    )
    assert price["bitcoin"].usd == btc_close()


async def test_context_carries_aggregator_prices_and_btc_dominance(urls: tuple[str, str]) -> None:
    gecko, compare = urls
    feed = ContextFeed([], [SYMBOL], aggregators=_configs(gecko, compare))
    try:
        context = (await feed.poll())[SYMBOL]
    finally:
        await feed.stop()
    expected = Decimal(repr(btc_close()))
    assert [(v.venue, v.price, v.error) for v in context.venues] == [
        ("coingecko", expected, ""), ("cryptocompare", expected, "")
    ]  # fmt: skip
    assert all(v.mid == expected for v in context.venues)
    dominance = global_figures()["market_cap_percentage"]["btc"]
    assert context.btc_dominance == Decimal(repr(dominance))
    assert context.widest_spread_bps() == 0


async def test_refusals_are_named(urls: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    gecko, compare = urls
    unmapped = AggregatorConfig(name="cc", kind="cryptocompare", base_url=compare,
                                symbols={SYMBOL: "NOPE/USD"})  # fmt: skip
    async with Aggregator(unmapped) as cc:
        with pytest.raises(AggregatorError, match="market does not exist for this coin pair"):
            await cc.price(SYMBOL)
        with pytest.raises(UserError, match="map ETH/USDT to its names"):
            await cc.price("ETH/USDT")
    monkeypatch.setenv("TW_TEST_CG_KEY", "wrong")
    async with Aggregator(_configs(gecko, compare)[0]) as cg:
        with pytest.raises(AggregatorError, match="HTTP 401: API Key Missing"):
            await cg.btc_dominance()
    monkeypatch.delenv("TW_TEST_CG_KEY")
    with pytest.raises(UserError, match="TW_TEST_CG_KEY \\(api_key_env\\) is not set"):
        Aggregator(_configs(gecko, compare)[0])
