"""A SourceSet over two simulated Binance-protocol venues with the real ccxt.pro clients: the
primary stalls silently (or goes down) and the secondary takes over within the failover
allowance with no bar missing or doubled, then the primary takes over again; the primary's
prices diverge and the data divergence state trips and clears; a venue's socket latency raises a
latency alert."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from sourcekit import BAR_MS, eth_btc_venue, sources_of, two_venues

from tradewind.connectors.binance_streams import StreamKind
from tradewind.connectors.client import create_async_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.failover import SourceSet
from tradewind.connectors.market_feed import FeedSpec
from tradewind.connectors.source_config import SourceConfig, SourcesConfig
from tradewind.connectors.sources import open_sources
from tradewind.core.market_events import BarClosed, StreamState
from tradewind.core.source_events import (
    DataQuality,
    LatencyAlert,
    QualityKind,
    SourceEvent,
    SourceSwitched,
    SwitchReason,
)
from tradewind.exchange_sim import FaultKind, SimClock
from tradewind.exchange_sim.multi_venue import MultiVenue, Venue, VenueSpec
from tradewind.exchange_sim.venue_chaos import VenueFault


@asynccontextmanager
async def _source_set(config: SourcesConfig, spec: FeedSpec) -> AsyncIterator[SourceSet]:
    sources = SourceSet(open_sources(config, spec), config)
    await sources.start(ready_timeout_s=60)
    try:
        yield sources
    finally:
        await sources.stop()


async def _until(
    sources: SourceSet,
    seen: list[object],
    done: Callable[[object], bool],
    timeout_s: float,
) -> object:
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out; last events: {seen[-5:]}"
        try:
            event = await asyncio.wait_for(sources.events.get(), left)
        except TimeoutError:
            continue
        seen.append(event)
        if done(event):
            return event


@pytest.mark.parametrize(
    ("fault", "reason"),
    [(FaultKind.VENUE_STALL, SwitchReason.SILENT), (FaultKind.VENUE_OUTAGE, SwitchReason.ERROR)],
)
async def test_failing_primary_fails_over_without_a_missing_bar_and_comes_back(
    shared_data: Path, fault: FaultKind, reason: SwitchReason
) -> None:
    # Arrange: 300x replay, a 5m bar closes every wall second; switch back after 3 s of health.
    clock = SimClock(speed=300.0)
    async with two_venues(shared_data, clock, latency_ms=5.0, only_eth_btc=True) as venues:
        config = sources_of(venues, switch_back_after_s=3.0)
        spec = FeedSpec(symbols=("ETH/BTC",), timeframes=("5m",),
                        kinds=frozenset({StreamKind.KLINE}), warmup_bars=20)  # fmt: skip
        seen: list[object] = []
        async with _source_set(config, spec) as sources:
            await _until(sources, seen, lambda e: isinstance(e, BarClosed)
                         and e.bar.ts > clock() - 5 * BAR_MS, 30)  # fmt: skip
            await asyncio.sleep(2.0)

            # Act: the primary freezes (stall: sockets open and silent, REST hangs) or goes down
            # (outage: sockets closed, REST answers maintenance) for 8 s.
            stalled_at = time.monotonic()
            venues["binance"].chaos.begin(VenueFault(kind=fault, at_s=0, duration_s=8.0))
            away = await _until(sources, seen, lambda e: isinstance(e, SourceSwitched), 20)
            switched_at = time.monotonic()
            back = await _until(sources, seen, lambda e: isinstance(e, SourceSwitched), 40)
            await _until(sources, seen, lambda e: isinstance(e, BarClosed)
                         and e.venue == "binance", 20)  # fmt: skip
            await asyncio.sleep(3.0)
            while not sources.events.empty():
                seen.append(sources.events.get_nowait())
            switches = sources.switches

        # Assert: the switch came within max(2 x 2 s, 5 s) of the primary's last message.
        assert isinstance(away, SourceSwitched)
        assert isinstance(back, SourceSwitched)
        assert (away.previous, away.active, away.reason) == ("binance", "binance2",
                                                             reason)  # fmt: skip
        assert config.failover_after_s == 5.0
        assert away.silent_s <= 5.0
        assert switched_at - stalled_at <= 5.0
        assert (back.previous, back.active, back.reason) == ("binance2", "binance",
                                                             SwitchReason.RECOVERED)  # fmt: skip
        assert switches == 2
        bars = [e for e in seen if isinstance(e, BarClosed)]
        opens = [e.bar.ts for e in bars]
        assert len(opens) >= 30, [(e.bar.ts, e.venue, e.source.value) for e in bars]
        assert all(b - a == BAR_MS for a, b in itertools.pairwise(opens)), opens
        secondary = [e for e in bars if e.venue == "binance2"]
        assert len(secondary) >= 3
        assert all(e.secondary for e in secondary)
        assert not any(e.secondary for e in bars if e.venue == "binance")
        assert bars[-1].venue == "binance"
        # The secondary's bars are the primary's recording (the venues' candles carry no offset).
        rest = create_async_client(ExchangeConfig(rest_url=venues["binance"].server.rest_url,
                                                  rate_limit=False))  # fmt: skip
        try:
            rows = await rest.fetch_ohlcv("ETH/BTC", "5m", since=opens[0], limit=len(opens))
        finally:
            await rest.close()
        recorded = {int(r[0]): r[1:6] for r in rows}
        for event in secondary:
            bar = event.bar
            assert [float(bar.open), float(bar.high), float(bar.low), float(bar.close),
                    float(bar.volume)] == recorded[bar.ts]  # fmt: skip


async def test_diverging_primary_trips_and_clears_the_divergence_state_and_lag_alerts(
    shared_data: Path,
) -> None:
    # Arrange: replay at speed 1 (exchange time is wall time, so receive lag is latency);
    # the secondary's sockets are 150 ms late.
    clock = SimClock(speed=1.0)
    async with two_venues(shared_data, clock, latency_ms=150.0) as venues:
        config = sources_of(venues, divergence_bps=Decimal(15))
        spec = FeedSpec(symbols=("XRP/USDT",), kinds=frozenset({StreamKind.DEPTH}),
                        warmup_bars=0)  # fmt: skip
        seen: list[SourceEvent | object] = []
        async with _source_set(config, spec) as sources:
            await asyncio.sleep(3.0)
            while not sources.events.empty():
                seen.append(sources.events.get_nowait())
            agreed = sources.divergent_symbols()

            # Act: the primary's books move 40 bps away for 4 s.
            venues["binance"].chaos.begin(
                VenueFault(kind=FaultKind.PRICE_DIVERGENCE, at_s=0, duration_s=4.0,
                           divergence_bps=40.0)
            )  # fmt: skip
            tripped = await _until(sources, seen, lambda e: isinstance(e, DataQuality)
                                   and e.kind is QualityKind.DIVERGENCE, 10)  # fmt: skip
            during = sources.divergent_symbols()
            cleared = await _until(sources, seen, lambda e: isinstance(e, DataQuality)
                                   and e.kind is QualityKind.CONVERGED, 15)  # fmt: skip
            after = sources.divergent_symbols()
            lags = {key: sources.latency.percentiles(*key) for key in sources.latency.streams()}

        # Assert
        assert agreed == set()
        assert isinstance(tripped, DataQuality)
        assert isinstance(cleared, DataQuality)
        assert tripped.symbol == "XRP/USDT"
        assert abs(tripped.deviation_bps) > 15
        assert during == {"XRP/USDT"}
        assert after == set()
        assert any(isinstance(e, DataQuality) and e.kind is QualityKind.OUTLIER for e in seen)
        # The venue's 150 ms is a floor of its lag (on a busy machine the replay itself may run
        # late, so the primary's lag is not asserted small).
        assert lags[("binance2", "depth")][0] >= 150.0
        alerts = [e for e in seen if isinstance(e, LatencyAlert) and e.raised]
        assert ("binance2", "depth") in {(a.source, a.stream) for a in alerts}
        assert all(a.p99_ms > a.threshold_ms == 100.0 for a in alerts)


async def test_bybit_secondary_takes_over_from_a_stalled_binance_primary(
    shared_data: Path,
) -> None:
    # Arrange: a Binance primary and a Bybit secondary (3 bps above it, 1 bp wider each side,
    # 5 ms late, sizes within 5 %) on one clock and recording anchor, read with ccxt.pro's
    # binance and bybit clients; 300x, switch back after 3 s of health.
    clock = SimClock(speed=300.0)
    anchor_ms = clock()
    bybit_spec = VenueSpec("bybit", "bybit", 0, seed=2, offset_bps=3.0, half_spread_bps=1.0,
                           latency_ms=5.0, size_noise=0.05)  # fmt: skip
    specs = [VenueSpec("binance", "binance", 0, seed=1), bybit_spec]
    group = MultiVenue([Venue(s, eth_btc_venue(s, shared_data, clock, anchor_ms=anchor_ms))
                        for s in specs])  # fmt: skip
    async with group as venues:
        config = SourcesConfig(
            candles=[
                SourceConfig(name=v.spec.name, symbols={"ETH/BTC": "ETH/BTC"},
                             exchange=ExchangeConfig(name=v.spec.protocol,
                                                     rest_url=v.server.rest_url,
                                                     rate_limit=False, timeout_ms=15_000))
                for v in venues.venues
            ],
            switch_back_after_s=3.0, divergence_bps=Decimal(500),
        )  # fmt: skip
        spec = FeedSpec(symbols=("ETH/BTC",), timeframes=("5m",),
                        kinds=frozenset({StreamKind.KLINE, StreamKind.TICKER}),
                        warmup_bars=20)  # fmt: skip
        seen: list[object] = []
        async with _source_set(config, spec) as sources:
            await _until(sources, seen, lambda e: isinstance(e, BarClosed)
                         and e.bar.ts > clock() - 5 * BAR_MS, 30)  # fmt: skip
            await asyncio.sleep(2.0)

            # Act: the Binance primary freezes for 8 s.
            venues["binance"].chaos.begin(VenueFault(kind=FaultKind.VENUE_STALL, at_s=0,
                                                     duration_s=8.0))  # fmt: skip
            away = await _until(sources, seen, lambda e: isinstance(e, SourceSwitched), 20)
            back = await _until(sources, seen, lambda e: isinstance(e, SourceSwitched), 40)
            await _until(sources, seen, lambda e: isinstance(e, BarClosed)
                         and e.venue == "binance", 20)  # fmt: skip
            await asyncio.sleep(2.0)
            while not sources.events.empty():
                seen.append(sources.events.get_nowait())
            streams = set(sources.latency.streams())
            health, ages = sources.health(), sources.ages()
        # The primary's recording of those bars (the venues' clock and anchor are one).
        rest = create_async_client(ExchangeConfig(rest_url=venues["binance"].server.rest_url,
                                                  rate_limit=False))  # fmt: skip
        try:
            rows = await rest.fetch_ohlcv("ETH/BTC", "5m", limit=1000)
        finally:
            await rest.close()

    # Assert: away to Bybit within the allowance, and back.
    assert isinstance(away, SourceSwitched)
    assert isinstance(back, SourceSwitched)
    assert (away.previous, away.active, away.reason) == ("binance", "bybit", SwitchReason.SILENT)
    assert away.silent_s <= config.failover_after_s == 5.0
    assert (back.previous, back.active, back.reason) == ("bybit", "binance",
                                                         SwitchReason.RECOVERED)  # fmt: skip
    # Bybit's own streams were read: its candles (their receive lag measured) and its best bid
    # and offer (orderbook.1), live and speaking.
    assert ("bybit", "kline") in streams, streams
    assert health["bybit spot ticker"] is StreamState.LIVE, health
    assert ages["bybit spot ticker"] < 5.0, ages
    bars = [e for e in seen if isinstance(e, BarClosed)]
    opens = [e.bar.ts for e in bars]
    assert all(b - a == BAR_MS for a, b in itertools.pairwise(opens)), opens
    secondary = [e for e in bars if e.venue == "bybit"]
    assert len(secondary) >= 3, [(e.bar.ts, e.venue) for e in bars]
    assert all(e.secondary and e.bar.symbol == "ETH/BTC" for e in secondary)
    # Bybit's bars against the primary's recording: within the venue's configured price offset
    # plus its noise (the half-spread); the simulator offsets books, not candles, so here they
    # are equal.
    recorded = {int(r[0]): r[1:6] for r in rows}
    allowed_bps = bybit_spec.offset_bps + bybit_spec.half_spread_bps
    for event in secondary:
        bar = event.bar
        for got, want in zip((bar.open, bar.high, bar.low, bar.close),
                             recorded[bar.ts][:4], strict=True):  # fmt: skip
            assert abs(float(got) - want) / want * 10_000 <= allowed_bps, (bar, recorded[bar.ts])
        assert float(bar.volume) == pytest.approx(recorded[bar.ts][4], rel=bybit_spec.size_noise)
