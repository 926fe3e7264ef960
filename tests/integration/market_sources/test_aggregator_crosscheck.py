"""A price aggregator in the continuous cross-check: two simulated Binance venues (the second 3
bps above the first) streamed with the real ccxt.pro clients at replay speed 1, and a loopback
CoinGecko (as the official SDK reads it, see test_aggregators) quoting the reference venue's mid,
polled every second by our adapter. Moved 40 bps away, the aggregator's prices are rejected as
outliers (k = 5 x MAD of the venues' mids over 5 s), it is named as the odd one out and the data
divergence state trips; back in line, the state clears."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest
from aggregator_fakes import DEMO_KEY, coingecko_app, serve
from sourcekit import two_venues

from tradewind.connectors.binance_streams import StreamKind
from tradewind.connectors.failover import SourceSet
from tradewind.connectors.market_feed import FeedSpec
from tradewind.connectors.source_config import AggregatorConfig, SourcesConfig
from tradewind.connectors.sources import open_sources
from tradewind.core.source_events import DataQuality, QualityKind
from tradewind.exchange_sim import SimClock
from tradewind.exchange_sim.listings import Api

SYMBOL = "XRP/USDT"


async def _finding(sources: SourceSet, kind: QualityKind, timeout_s: float) -> DataQuality:
    async with asyncio.timeout(timeout_s):
        while True:
            event = await sources.events.get()
            if isinstance(event, DataQuality) and event.kind is kind:
                return event


async def test_an_aggregator_moved_away_is_an_outlier_and_trips_the_divergence_state(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: the aggregator quotes the reference venue's mid times ``factor``.
    monkeypatch.setenv("TW_TEST_COINGECKO_KEY", DEMO_KEY)
    factor = [1.0]
    async with two_venues(shared_data, SimClock(speed=1.0), latency_ms=5.0) as venues:
        book = venues["binance"].sim.live(Api.SPOT, "XRPUSDT")
        assert book is not None

        def quote() -> dict[str, dict[str, float]]:
            mid = (book.book.bids.best() + book.book.asks.best()) / 2
            return {"ripple": {"usdt": float(mid) * factor[0]}}

        runner, url = await serve(coingecko_app(quote))
        try:
            config = SourcesConfig.model_validate({
                "candles": [{"name": v.spec.name, "exchange": {
                    "rest_url": v.server.rest_url, "rate_limit": False, "timeout_ms": 15_000}}
                    for v in venues.venues],
                "aggregators": [AggregatorConfig(
                    name="coingecko", kind="coingecko", base_url=f"{url}/api/v3",
                    api_key_env="TW_TEST_COINGECKO_KEY", symbols={SYMBOL: "ripple/usdt"})],
                "aggregator_check_s": 1.0, "divergence_bps": Decimal(15),
            })  # fmt: skip
            spec = FeedSpec(symbols=(SYMBOL,), kinds=frozenset({StreamKind.TICKER}),
                            warmup_bars=0)  # fmt: skip
            sources = SourceSet(open_sources(config, spec), config)
            await sources.start(ready_timeout_s=60)
            try:
                await asyncio.sleep(4.0)
                agreed = sources.divergent_symbols()
                polled = sources.crosscheck.prices(SYMBOL)

                # Act: the aggregator moves 40 bps above the venues, then comes back.
                factor[0] = 1.004
                outlier = await _finding(sources, QualityKind.OUTLIER, 10)
                tripped = await _finding(sources, QualityKind.DIVERGENCE, 10)
                during = sources.divergent_symbols()
                factor[0] = 1.0
                cleared = await _finding(sources, QualityKind.CONVERGED, 15)
                after = sources.divergent_symbols()
            finally:
                await sources.stop()
        finally:
            await runner.cleanup()

    # Assert: the aggregator was in the comparison, agreeing, before it moved.
    assert agreed == set()
    assert set(polled) == {"binance", "binance2", "coingecko"}, polled
    # Moved, its prices were rejected as outliers, and it was named the odd one out.
    assert outlier.source == "coingecko"
    assert "more than 5 x MAD" in outlier.detail
    assert abs(outlier.deviation_bps - 40) < 10, outlier
    assert tripped.source == "coingecko"
    assert tripped.deviation_bps > 15
    assert during == {SYMBOL}
    assert cleared.symbol == SYMBOL
    assert after == set()
