"""Ordered sources for trades and for books, as for candles: two simulated Binance venues
streamed with the real ccxt.pro clients at replay speed 1 (BTC/USDT replays recorded trades and
quotes); the primary stalls silently for 8 s. The trade (or book) stream switches to the
secondary within max(2 x push interval, 5 s) of the primary's last message, carries only the
active venue's prints (each marked with its venue, none twice), and switches back after 3 s of
health; a book takeover starts from the new venue's book as it stands."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path
from typing import Any

import pytest
from sourcekit import two_venues

from tradewind.connectors.binance_streams import StreamKind
from tradewind.connectors.failover import SourceSet
from tradewind.connectors.market_feed import FeedSpec
from tradewind.connectors.source_config import SourcesConfig
from tradewind.connectors.sources import open_sources
from tradewind.core.market_events import BookUpdated, TradePrinted
from tradewind.core.source_events import SourceSwitched, SwitchReason
from tradewind.exchange_sim import FaultKind, SimClock
from tradewind.exchange_sim.venue_chaos import VenueFault

SYMBOL = "BTC/USDT"
KINDS = {"trades": frozenset({StreamKind.TRADE, StreamKind.TICKER}),
         "books": frozenset({StreamKind.DEPTH})}  # fmt: skip


async def _until(sources: SourceSet, seen: list[Any], switches: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while sum(isinstance(e, SourceSwitched) for e in seen) < switches:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out; last events: {seen[-5:]}"
        try:
            seen.append(await asyncio.wait_for(sources.events.get(), left))
        except TimeoutError:
            continue


def _runs(events: list[Any]) -> list[tuple[str, list[Any]]]:
    """The events split at each switch: (venue of the run, its events)."""
    runs: list[tuple[str, list[Any]]] = [("binance", [])]
    for event in events:
        if isinstance(event, SourceSwitched):
            runs.append((event.active, []))
        else:
            runs[-1][1].append(event)
    return runs


@pytest.mark.parametrize("need", ["trades", "books"])
async def test_trades_and_books_fail_over_to_the_secondary_and_back(
    shared_data: Path, need: str
) -> None:
    # Arrange
    async with two_venues(shared_data, SimClock(speed=1.0), latency_ms=5.0) as venues:
        listed = [{"name": v.spec.name, "exchange": {"rest_url": v.server.rest_url,
                                                     "rate_limit": False, "timeout_ms": 15_000}}
                  for v in venues.venues]  # fmt: skip
        config = SourcesConfig.model_validate({"candles": listed, need: listed,
                                               "switch_back_after_s": 3.0})  # fmt: skip
        spec = FeedSpec(symbols=(SYMBOL,), kinds=KINDS[need], warmup_bars=0)
        sources = SourceSet(open_sources(config, spec, need=need), config, need=need)
        seen: list[Any] = []
        await sources.start(ready_timeout_s=60)
        try:
            await asyncio.sleep(3.0)
            while not sources.events.empty():
                seen.append(sources.events.get_nowait())

            # Act: the primary freezes for 8 s (sockets silent, REST hangs).
            venues["binance"].chaos.begin(VenueFault(kind=FaultKind.VENUE_STALL, at_s=0,
                                                     duration_s=8.0))  # fmt: skip
            await _until(sources, seen, 1, 20)
            secondary_book = (sources.book(SYMBOL) is sources.sources[1].feed.book(SYMBOL)
                              if need == "books" else True)  # fmt: skip
            await _until(sources, seen, 2, 40)
            await asyncio.sleep(2.0)
            while not sources.events.empty():
                seen.append(sources.events.get_nowait())
        finally:
            await sources.stop()

    # Assert: away within the allowance, back once healthy.
    away, back = [e for e in seen if isinstance(e, SourceSwitched)]
    assert (away.need, away.previous, away.active, away.reason) == (
        need, "binance", "binance2", SwitchReason.SILENT)  # fmt: skip
    assert away.silent_s <= config.failover_after_s == 5.0
    assert (back.active, back.reason) == ("binance", SwitchReason.RECOVERED)
    assert secondary_book
    # Each run carries only its venue's events, marked, and never one twice.
    runs = _runs([e for e in seen if isinstance(e, TradePrinted | BookUpdated | SourceSwitched)])
    assert [venue for venue, _ in runs] == ["binance", "binance2", "binance"]
    for venue, events in runs:
        assert len(events) >= 5, (venue, len(events))
        assert all(e.venue == venue and e.secondary == (venue == "binance2") for e in events)
        if need == "trades":
            assert all(e.trade.symbol == SYMBOL for e in events)
            ids = [int(e.trade.trade_id) for e in events]
        else:
            assert all(e.symbol == SYMBOL for e in events)
            ids = [e.update_id for e in events]
        assert all(b > a for a, b in itertools.pairwise(ids)), (venue, ids)
    if need == "books":
        # A takeover starts from the new venue's book as it stands.
        assert runs[1][1][0].resynced
        assert runs[2][1][0].resynced
