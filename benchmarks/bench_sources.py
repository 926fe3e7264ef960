"""Market data from several sources, measured against two simulated Binance venues on loopback
with the real ccxt.pro clients:

- failover time: the primary stalls silently (sockets open, nothing sent) at 300x replay; the
  time from its stall to the switch, and the primary's silence when the switch was made (the
  promise: within max(2 x push interval, 5 s) = 5 s);
- receive lag of the book streams at replay speed 1 (exchange time is wall time), p50 and p99 per
  source, the secondary with 25 ms of venue latency (the mission's target: under 100 ms);
- the cross-check's own cost per observed mid (in process).

No peer does failover or cross-checks of market data, so no ratio is printed.
"""

from __future__ import annotations

import asyncio
import random
import time
from decimal import Decimal
from pathlib import Path

from benchmarks.common import Row, best_time


def _venues(root: Path, speed: float, latency_ms: float, *, only_eth_btc: bool) -> object:
    import pandas as pd

    from tradewind.exchange_sim import SimClock, SimExchange
    from tradewind.exchange_sim.multi_venue import (
        MultiVenue,
        Venue,
        VenueSpec,
        build_venue,
    )
    from tradewind.exchange_sim.recordings import shared_listings

    clock = SimClock(speed=speed)

    def eth_btc(spec: VenueSpec) -> SimExchange:
        sim = SimExchange(seed=spec.seed, clock=clock)
        sim.add_listing(
            shared_listings()["spot:ETHBTC"],
            klines={"5m": pd.read_feather(root / "candles" / "ETH_BTC-5m.feather")},
        )
        return sim

    specs = [
        VenueSpec("binance", "binance", 0, seed=1),
        VenueSpec("binance2", "binance", 0, seed=2, offset_bps=3.0, latency_ms=latency_ms),
    ]
    build = eth_btc if only_eth_btc else (lambda s: build_venue(s, root, clock=clock))
    return MultiVenue([Venue(s, build(s)) for s in specs])


def _sources(venues: object, **settings: object) -> object:
    from tradewind.connectors.config import ExchangeConfig
    from tradewind.connectors.source_config import SourceConfig, SourcesConfig

    return SourcesConfig.model_validate({
        "candles": [
            SourceConfig(name=v.spec.name, exchange=ExchangeConfig(
                rest_url=v.server.rest_url, rate_limit=False, timeout_ms=15_000))
            for v in venues.venues  # type: ignore[attr-defined]
        ],
        **settings,
    })  # fmt: skip


async def _failover(root: Path, trials: int) -> tuple[list[float], list[float]]:
    from tradewind.connectors.binance_streams import StreamKind
    from tradewind.connectors.failover import SourceSet
    from tradewind.connectors.market_feed import FeedSpec
    from tradewind.connectors.sources import open_sources
    from tradewind.core.source_events import SourceSwitched
    from tradewind.exchange_sim import FaultKind
    from tradewind.exchange_sim.venue_chaos import VenueFault

    took: list[float] = []
    silent: list[float] = []
    for _ in range(trials):
        async with _venues(root, 300.0, 5.0, only_eth_btc=True) as venues:  # type: ignore[attr-defined]
            config = _sources(venues, switch_back_after_s=600.0)
            spec = FeedSpec(symbols=("ETH/BTC",), timeframes=("5m",),
                            kinds=frozenset({StreamKind.KLINE}), warmup_bars=5)  # fmt: skip
            async with SourceSet(open_sources(config, spec), config) as sources:  # type: ignore[arg-type]
                await asyncio.sleep(3.0)
                while not sources.events.empty():
                    sources.events.get_nowait()
                stalled = time.monotonic()
                venues["binance"].chaos.begin(
                    VenueFault(kind=FaultKind.VENUE_STALL, at_s=0, duration_s=15.0)
                )
                while True:
                    event = await asyncio.wait_for(sources.events.get(), 30)
                    if isinstance(event, SourceSwitched):
                        took.append(time.monotonic() - stalled)
                        silent.append(event.silent_s)
                        break
    return took, silent


async def _lag(root: Path, seconds: float) -> dict[str, tuple[float, float]]:
    from tradewind.connectors.binance_streams import StreamKind
    from tradewind.connectors.failover import SourceSet
    from tradewind.connectors.market_feed import FeedSpec
    from tradewind.connectors.sources import open_sources

    async with _venues(root, 1.0, 25.0, only_eth_btc=False) as venues:  # type: ignore[attr-defined]
        config = _sources(venues)
        spec = FeedSpec(symbols=("XRP/USDT",), kinds=frozenset({StreamKind.DEPTH}), warmup_bars=0)
        async with SourceSet(open_sources(config, spec), config) as sources:  # type: ignore[arg-type]
            await asyncio.sleep(seconds)
            return {s: sources.latency.percentiles(s, "depth") for s in ("binance", "binance2")}


def _crosscheck_cost() -> float:
    from tradewind.connectors.crosscheck import CrossCheck

    draw = random.Random(3)
    mids = [Decimal(repr(round(0.5 + draw.uniform(-0.001, 0.001), 6))) for _ in range(2000)]
    state = {"t": 0}
    check = CrossCheck()

    def observe_all() -> None:
        for i, mid in enumerate(mids):
            state["t"] += 50
            check.observe("a" if i % 2 else "b", "XRP/USDT", mid, state["t"])

    return best_time(observe_all, repeat=3) / len(mids)


def run(quick: bool) -> list[Row]:
    """Measure failover time, receive lag and the cross-check's cost (module docstring)."""
    from tradewind.testing.shared_data import shared_data_dir

    root = shared_data_dir()
    assert root is not None
    took, silent = asyncio.run(_failover(root, 1 if quick else 3))
    lags = asyncio.run(_lag(root, 5.0 if quick else 20.0))
    assert all(s <= 5.0 for s in silent), silent
    rows = [
        Row("market sources", "failover: stall to switch (worst)", max(took), target="<= 5 s",
            note=f"{len(took)} stalls at 300x; primary silent {max(silent):.2f} s at the switch"),
    ]  # fmt: skip
    for source, (p50, p99) in lags.items():
        extra = " (+25 ms venue latency)" if source == "binance2" else ""
        rows.append(Row("market sources", f"receive lag p50, {source}{extra}", p50 / 1000,
                        target="< 100 ms", note="depth, replay speed 1, loopback"))  # fmt: skip
        rows.append(Row("market sources", f"receive lag p99, {source}{extra}", p99 / 1000,
                        target="< 100 ms"))  # fmt: skip
    rows.append(Row("market sources", "cross-check per observed mid", _crosscheck_cost(),
                    note="two sources, 5 s window"))  # fmt: skip
    return rows
