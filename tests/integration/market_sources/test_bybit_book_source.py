"""Bybit's L2 book as a books source: ``orderbook.200`` snapshots and deltas streamed with the
real ccxt.pro client from the simulator's Bybit v5 (BTC/USDT, a Binance primary beside it, replay
speed 1). The local book equals the server's; a withheld delta is a gap in ``u`` that resyncs the
book (a fresh snapshot, by resubscribing) with no book event while it is out of sync; and the
Bybit book takes over from a stalled Binance primary and hands back."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path
from typing import Any

import pytest
from sourcekit import two_venues

from tradewind.connectors.binance_streams import StreamKind
from tradewind.connectors.bybit_book import BybitBookSync
from tradewind.connectors.failover import SourceSet
from tradewind.connectors.market_feed import FeedSpec
from tradewind.connectors.source_config import SourcesConfig
from tradewind.connectors.sources import CandleSource, open_sources
from tradewind.core.market_events import AlertKind, BookUpdated, StreamAlert
from tradewind.core.source_events import SourceSwitched, SwitchReason
from tradewind.exchange_sim import Fault, FaultKind, SimClock
from tradewind.exchange_sim.listings import Api
from tradewind.exchange_sim.multi_venue import Venue
from tradewind.exchange_sim.venue_chaos import VenueFault

SYMBOL = "BTC/USDT"
LEVELS = 200


def _levels(rows: list[list[str]]) -> list[tuple[float, float]]:
    return [(float(p), float(q)) for p, q in rows]


def _local(source: CandleSource) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    top = source.feed.book(SYMBOL).top(LEVELS)
    return (list(zip(top.bid_prices.tolist(), top.bid_sizes.tolist(), strict=True)),
            list(zip(top.ask_prices.tolist(), top.ask_sizes.tolist(), strict=True)))  # fmt: skip


async def _matches(venue: Venue, source: CandleSource, wanted: int, timeout_s: float) -> int:
    """Compare the local book with the server's every 20 ms; return how many distinct update ids
    matched (at least ``wanted``, or the timeout fails)."""
    sync = source.feed.books[SYMBOL]
    matched: set[int] = set()
    deadline = time.monotonic() + timeout_s
    while len(matched) < wanted:
        assert time.monotonic() < deadline, f"the local book matched {len(matched)} times"
        await asyncio.sleep(0.02)
        market = venue.sim.live(Api.SPOT, "BTCUSDT")
        assert market is not None
        _, bids, asks = market.book.snapshot(LEVELS)
        if sync.in_sync and _local(source) == (_levels(bids), _levels(asks)):
            matched.add(sync.book.update_id)
    return len(matched)


def _drain(sources: SourceSet, seen: list[Any]) -> None:
    while not sources.events.empty():
        seen.append(sources.events.get_nowait())


async def _until(sources: SourceSet, seen: list[Any], done: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        left = deadline - time.monotonic()
        assert left > 0, f"timed out; last events: {seen[-5:]}"
        try:
            seen.append(await asyncio.wait_for(sources.events.get(), min(left, 0.2)))
        except TimeoutError:
            continue


@pytest.mark.slow
async def test_bybit_depth_is_a_books_source_with_sequence_checks(shared_data: Path) -> None:
    async with two_venues(shared_data, SimClock(speed=1.0), latency_ms=5.0,
                          secondary="bybit") as venues:  # fmt: skip
        listed = [{"name": v.spec.name,
                   "exchange": {"name": v.spec.protocol, "rest_url": v.server.rest_url,
                                "rate_limit": False, "timeout_ms": 15_000}}
                  for v in venues.venues]  # fmt: skip
        config = SourcesConfig.model_validate({"candles": listed, "books": listed,
                                               "switch_back_after_s": 3.0})  # fmt: skip
        spec = FeedSpec(symbols=(SYMBOL,), kinds=frozenset({StreamKind.DEPTH}), warmup_bars=0)
        sources = SourceSet(open_sources(config, spec, need="books"), config, need="books")
        bybit = sources.sources[1]
        seen: list[Any] = []
        await sources.start(ready_timeout_s=60)
        try:
            # Arrange: Bybit's standby book follows the server's.
            sync = bybit.feed.books[SYMBOL]
            assert isinstance(sync, BybitBookSync)
            assert [g.name for g in bybit.feed.groups] == ["spot depth"]
            before_gap = await _matches(venues["bybit"], bybit, 3, 20)

            # Act 1: the primary freezes; Bybit's book takes over.
            venues["binance"].chaos.begin(VenueFault(kind=FaultKind.VENUE_STALL, at_s=0,
                                                     duration_s=10.0))  # fmt: skip
            await _until(sources, seen, lambda: sources.active == 1, 20)
            await asyncio.sleep(1.0)
            # Act 2: one of Bybit's book deltas is withheld (a gap in u) while it is active.
            venues["bybit"].server.faults.add(Fault(kind=FaultKind.WS_DROP_MESSAGE,
                                                    path="ws:bybit:orderbook", at_request=1))  # fmt: skip
            await _until(sources, seen, lambda: sync.resyncs == 1 and sync.in_sync, 20)
            after_gap = await _matches(venues["bybit"], bybit, 3, 20)
            # ... and the primary is back after its healthy spell.
            await _until(sources, seen, lambda: sources.active == 0 and sources.switches == 2, 40)
            await asyncio.sleep(1.0)
            _drain(sources, seen)
        finally:
            await sources.stop()

    # Assert: the local book was the server's, before and after the resync.
    assert before_gap >= 3
    assert after_gap >= 3
    dropped = venues["bybit"].server.faults.injected(FaultKind.WS_DROP_MESSAGE)
    assert len(dropped) == 1
    assert "gap" in (sync.last_resync_reason or ""), sync.last_resync_reason
    resync_alerts = [e.stream for e in seen if isinstance(e, StreamAlert)
                     and e.kind is AlertKind.BOOK_RESYNC and e.stream.startswith("bybit")]  # fmt: skip
    assert resync_alerts == ["bybit BTC/USDT depth"]  # (the stalled primary resyncs its own)
    away, back = [e for e in seen if isinstance(e, SourceSwitched)]
    assert (away.previous, away.active, away.reason) == ("binance", "bybit", SwitchReason.SILENT)
    assert (back.active, back.reason) == ("binance", SwitchReason.RECOVERED)
    # Bybit's run: its venue's events only, opened by its book as it stood, ids rising, and one
    # more resynced event (the fresh snapshot) after the gap, none between gap and snapshot.
    start = seen.index(away) + 1
    run = [e for e in seen[start : seen.index(back)] if isinstance(e, BookUpdated)]
    assert len(run) >= 10
    assert all(e.venue == "bybit" and e.secondary and e.symbol == SYMBOL for e in run)
    assert run[0].resynced
    assert sum(e.resynced for e in run[1:]) == 1, [e.update_id for e in run if e.resynced]
    ids = [e.update_id for e in run]
    assert all(b > a for a, b in itertools.pairwise(ids)), ids
    assert all(e.best_bid is not None and e.best_ask is not None and e.best_bid < e.best_ask
               for e in run)  # fmt: skip
