"""Two simulated Binance-protocol venues for the market-source tests: the reference venue and a
second one with its own price offset, spread, socket latency and size noise; and the strategy,
frame and wait helpers of the paper sessions over them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.source_config import SourceConfig, SourcesConfig
from tradewind.core.intents import IntentAction
from tradewind.exchange_sim import SimExchange
from tradewind.exchange_sim.multi_venue import MultiVenue, Venue, VenueSpec, build_venue
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.series.bars import BarSeries
from tradewind.strategies.base import Strategy, StrategyContext

BAR_MS = 300_000  # ETH/BTC 5m: recorded without a gap, so every interval has a bar
SYMBOL = "ETH/BTC"


class Churn(Strategy):
    """Enters at one bar's close and exits at the next one's: a round trip every two bars."""

    name = "churn_sources"

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        held = ctx.position(SYMBOL)
        ctx.emit(SYMBOL, IntentAction.EXIT_LONG if held > 0 else IntentAction.ENTER_LONG)


def bars_frame(series: BarSeries) -> pd.DataFrame:
    """A session's bars as the backtest's OHLCV frame."""
    return pd.DataFrame({
        "date": pd.to_datetime(series.ts, unit="ms", utc=True),
        "open": series.open, "high": series.high, "low": series.low, "close": series.close,
        "volume": series.volume,
    })  # fmt: skip


async def wait_until(done: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``done`` every 50 ms; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def eth_btc_venue(
    spec: VenueSpec, root: Path, clock: Callable[[], int], anchor_ms: int | None = None
) -> SimExchange:
    """A venue listing ETH/BTC alone: the replay of every shared market at 300x would outrun
    this machine, and the tests at that speed need only this one. ``anchor_ms``: the server
    time its recording is anchored at (venues in two processes given one serve the same bars)."""
    sim = SimExchange(seed=spec.seed, clock=clock, anchor_ms=anchor_ms)
    sim.add_listing(
        shared_listings()["spot:ETHBTC"],
        klines={"5m": pd.read_feather(root / "candles" / "ETH_BTC-5m.feather")},
    )
    return sim


def two_venues(
    root: Path,
    clock: Callable[[], int],
    latency_ms: float,
    *,
    only_eth_btc: bool = False,
    secondary: str = "binance2",
) -> MultiVenue:
    """``binance`` (the reference) and ``secondary`` (``binance2``, or ``bybit`` speaking Bybit's
    protocol; 3 bps above it, 1 bp wider each side, sizes within 5 %, ``latency_ms`` on every
    answer and frame), their recordings anchored at one time (the same bar at the same open
    time on both)."""
    build = eth_btc_venue if only_eth_btc else build_venue
    specs = [
        VenueSpec("binance", "binance", 0, seed=1),
        # Within the divergence threshold of the primary: a venue's ordinary offset.
        VenueSpec(secondary, secondary.rstrip("0123456789"), 0, seed=2, offset_bps=3.0,
                  half_spread_bps=1.0, latency_ms=latency_ms, size_noise=0.05),
    ]  # fmt: skip
    anchor_ms = clock()
    return MultiVenue([Venue(spec, build(spec, root, clock=clock, anchor_ms=anchor_ms))
                       for spec in specs])  # fmt: skip


def sources_of(venues: MultiVenue, **settings: object) -> SourcesConfig:
    """The venues as candle sources, in their order."""
    sources = [
        SourceConfig(
            name=v.spec.name,
            exchange=ExchangeConfig(name=v.spec.protocol, rest_url=v.server.rest_url,
                                    rate_limit=False, timeout_ms=15_000),
        )
        for v in venues.venues
    ]  # fmt: skip
    return SourcesConfig.model_validate({"candles": sources, **settings})
