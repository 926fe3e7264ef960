"""MarketFeed with the real ccxt.pro client against the loopback Binance, with injected faults.

Spot XRP/USDT replays the recorded Bybit L2 book (about ten diffs a replay second); the BTC-quoted
pairs and XRP/ETH trade on flows derived from their real candles. The replay runs at 60x.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from tradewind.connectors.binance_streams import StreamKind
from tradewind.connectors.client import create_async_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.market_feed import FeedSpec, MarketFeed
from tradewind.connectors.rate_budget import RateBudget
from tradewind.core.market_events import (
    AlertKind,
    BarClosed,
    BarRevised,
    BookUpdated,
    MarketEvent,
    StreamAlert,
    StreamState,
    Ticker24hUpdated,
)
from tradewind.exchange_sim import Fault, FaultKind, LoopbackServer

SPEED = 60.0  # the replay speed of conftest.py

DEPTH = frozenset({StreamKind.DEPTH})
SPOT_BOOKS = ("XRP/USDT", "ETH/BTC", "LTC/BTC", "ADA/BTC", "XLM/BTC", "TRX/BTC", "ETC/BTC",
              "UNITTEST/BTC", "XRP/ETH", "BTC/USDT")  # fmt: skip


async def _collect(
    feed: MarketFeed, until: Callable[[list[MarketEvent]], bool], timeout_s: float
) -> list[MarketEvent]:
    events: list[MarketEvent] = []
    deadline = time.monotonic() + timeout_s
    while not until(events):
        left = deadline - time.monotonic()
        assert left > 0, f"timed out; last events: {events[-5:]}"
        try:
            events.append(await asyncio.wait_for(feed.events.get(), left))
        except TimeoutError:
            continue
    return events


def _server_top(server: LoopbackServer, futures: bool, symbol: str) -> tuple[int, Any, Any]:
    market = server.sim.engine.market(futures, symbol)
    assert market is not None
    server.sim.engine.finish(market)
    last, bids, asks = market.book.snapshot(50)
    return last, [[float(p), float(q)] for p, q in bids], [[float(p), float(q)] for p, q in asks]


def _local_top(feed: MarketFeed, symbol: str) -> tuple[int, Any, Any]:
    book = feed.book(symbol)
    top = book.top(50)
    bids = [[float(p), float(q)] for p, q in zip(top.bid_prices, top.bid_sizes, strict=True)]
    asks = [[float(p), float(q)] for p, q in zip(top.ask_prices, top.ask_sizes, strict=True)]
    return book.update_id, bids, asks


async def _matches_server(feed: MarketFeed, server: LoopbackServer) -> int:
    """Freeze the replay, let the feed catch up, and compare the local XRP/USDT book with the
    server's at the same update id (top 50 levels each side); return the update id."""
    await server.driver.stop()
    remote = _server_top(server, False, "XRPUSDT")
    deadline = time.monotonic() + 10
    while feed.book("XRP/USDT").update_id != remote[0] or not feed.books["XRP/USDT"].in_sync:
        assert time.monotonic() < deadline, "the feed never caught up with the frozen book"
        try:
            await asyncio.wait_for(feed.events.get(), 0.5)
        except TimeoutError:
            continue
    assert _local_top(feed, "XRP/USDT") == remote
    return remote[0]


async def test_the_local_book_equals_the_exchanges_at_the_same_update_id(
    server: LoopbackServer, pro_client: Callable[[], Any]
) -> None:
    async with MarketFeed(pro_client(), FeedSpec(symbols=("XRP/USDT",), kinds=DEPTH)) as feed:
        # While the replay runs: equal whenever both sides are at the same update id.
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            event = await asyncio.wait_for(feed.events.get(), 5)
            local = _local_top(feed, "XRP/USDT")
            remote = _server_top(server, False, "XRPUSDT")
            if isinstance(event, BookUpdated) and local[0] == remote[0]:
                assert local == remote
        assert await _matches_server(feed, server) > 0
        assert feed.books["XRP/USDT"].resyncs == 0


async def test_a_perpetuals_book_follows_the_pu_chain_and_resyncs_after_a_gap(
    server: LoopbackServer, pro_client: Callable[[], Any]
) -> None:
    perp = "XRP/USDT:USDT"
    server.sim.faults.add(Fault(kind=FaultKind.DEPTH_GAP, path="ws:xrpusdt@depth", at_request=6))
    async with MarketFeed(pro_client(), FeedSpec(symbols=(perp,), kinds=DEPTH)) as feed:
        await _collect(feed, lambda ev: feed.books[perp].resyncs >= 1 and feed.books[perp].in_sync,
                       timeout_s=20)  # fmt: skip
        assert "pu" in (feed.books[perp].last_resync_reason or "")
        await server.driver.stop()
        remote = _server_top(server, True, "XRPUSDT")
        deadline = time.monotonic() + 10
        while feed.book(perp).update_id != remote[0]:
            assert time.monotonic() < deadline, "the feed never caught up with the frozen book"
            try:
                await asyncio.wait_for(feed.events.get(), 0.5)
            except TimeoutError:
                continue
        assert _local_top(feed, perp) == remote


async def test_a_depth_gap_is_detected_and_the_book_rebuilt(
    server: LoopbackServer, pro_client: Callable[[], Any]
) -> None:
    server.sim.faults.add(Fault(kind=FaultKind.DEPTH_GAP, path="ws:xrpusdt@depth", at_request=30))
    async with MarketFeed(pro_client(), FeedSpec(symbols=("XRP/USDT",), kinds=DEPTH)) as feed:
        events = await _collect(
            feed,
            lambda ev: (
                any(isinstance(e, BookUpdated) and e.resynced for e in ev[1:])
                and any(isinstance(e, StreamAlert) for e in ev)
            ),
            timeout_s=10,
        )
        alert = next(e for e in events if isinstance(e, StreamAlert))
        assert alert.kind is AlertKind.BOOK_RESYNC
        assert "gap" in alert.detail
        assert server.sim.faults.injected(FaultKind.DEPTH_GAP)
        # No update was emitted between the gap and the rebuild: the broken book was never shown.
        after = events[events.index(alert) + 1 :]
        assert isinstance(after[0], BookUpdated)
        assert after[0].resynced
        assert await _matches_server(feed, server) > 0
        assert feed.books["XRP/USDT"].resyncs == 1


async def test_twenty_resyncs_at_once_are_staggered_and_earn_no_429(
    server: LoopbackServer, pro_client: Callable[[], Any]
) -> None:
    # Two feeds of ten books each share one exchange budget, as every stream of a bot does.
    budget = RateBudget(capacity=600, per_second=20, spacing_s=0.05)
    specs = [
        FeedSpec(symbols=SPOT_BOOKS, kinds=DEPTH, snapshot_limit=100),
        FeedSpec(symbols=(*SPOT_BOOKS[1:], "XRP/USDT:USDT"), kinds=DEPTH, snapshot_limit=100),
    ]
    async with (
        MarketFeed(pro_client(), specs[0], budget=budget) as one,
        MarketFeed(pro_client(), specs[1], budget=budget) as two,
    ):
        syncs = [*one.books.values(), *two.books.values()]
        assert len(syncs) == 20
        await _collect(one, lambda ev: all(s.in_sync for s in syncs), 20)
        server.sim.faults.clear_log()
        for sync in syncs:  # the path a detected gap takes, for all twenty at the same instant
            sync.resync("test: gap")
        await _collect(one, lambda ev: all(s.in_sync for s in syncs), 20)
        assert sum(s.resyncs for s in syncs) == 20
    depth = [r for r in server.sim.faults.requests() if r.path.endswith("/depth")]
    assert len(depth) == 20
    assert [r.status for r in depth] == [200] * 20
    assert not [r for r in server.sim.faults.requests() if r.status in (418, 429)]
    # Granted one every 50 ms, not in a burst (arrival times jitter by a few ms on a busy host).
    span_s = (depth[-1].received_ms - depth[0].received_ms) / SPEED / 1000
    assert span_s >= 19 * 0.05 * 0.9


async def test_a_disconnect_reconnects_and_no_bar_is_announced_twice(
    server: LoopbackServer, pro_client: Callable[[], Any]
) -> None:
    server.sim.faults.add(
        Fault(kind=FaultKind.WS_DISCONNECT, path="ws:xrpeth@kline_1m", at_request=4)
    )
    spec = FeedSpec(symbols=("XRP/ETH",), timeframes=("1m",), kinds=frozenset({StreamKind.KLINE}),
                    warmup_bars=20)  # fmt: skip
    async with MarketFeed(pro_client(), spec) as feed:
        await feed.wait_ready(10)
        events = await _collect(
            feed,
            lambda ev: (
                sum(isinstance(e, BarClosed) and e.source.value == "stream" for e in ev) >= 4
                and any(isinstance(e, StreamAlert) and e.kind is AlertKind.RECONNECTED for e in ev)
            ),
            timeout_s=20,
        )
        alerts = [e for e in events if isinstance(e, StreamAlert)]
        kinds = [a.kind for a in alerts]
        assert kinds[:2] == [AlertKind.DISCONNECTED, AlertKind.RECONNECTED]
        gap_ms = alerts[1].received_ms - alerts[0].received_ms
        # The server is up: back after the first backoff step, a reconnect and a backfill
        # (2 s p95 on an idle host; slack here for a loaded CI machine).
        assert gap_ms < 5000
        assert feed.health()["spot kline"] is StreamState.LIVE
        assert await _equal_to_the_exchange(feed, events, "1m") >= 24


async def test_a_silent_stall_is_found_within_the_allowance_and_healed(
    server: LoopbackServer, pro_client: Callable[[], Any]
) -> None:
    # The watchdog judges monotonic time; this one runs 5x faster than the wall, so the 10 s
    # allowance passes in 2 wall seconds while the server's 60 s stall lasts.
    origin = time.monotonic()

    def fast() -> float:
        return origin + (time.monotonic() - origin) * 5.0

    server.sim.faults.add(
        Fault(kind=FaultKind.WS_STALL, path="ws:xrpusdt@depth", at_request=20, delay_s=60.0)
    )
    spec = FeedSpec(symbols=("XRP/USDT",), kinds=DEPTH)
    async with MarketFeed(pro_client(), spec, monotonic=fast, watchdog_period_s=0.1) as feed:
        events = await _collect(
            feed,
            lambda ev: any(isinstance(e, StreamAlert) and e.kind is AlertKind.FRESH for e in ev),
            timeout_s=15,
        )
        stale = next(e for e in events if isinstance(e, StreamAlert) and e.kind is AlertKind.STALE)
        silent_s = float(stale.detail.split("silent for ")[1].split(" s")[0])
        # Found at the first check past the allowance; a busy host may delay that check.
        assert 10.0 <= silent_s <= 10.0 + 5 * 1.0
        assert "XRP/USDT" in {s for e in events if isinstance(e, StreamAlert) for s in e.symbols}
        assert feed.groups[0].restarts >= 1
        assert await _matches_server(feed, server) > 0


KLINES = frozenset({StreamKind.KLINE})


def _bars_once_in_order(events: list[MarketEvent]) -> list[int]:
    opens = [e.bar.ts for e in events if isinstance(e, BarClosed)]
    assert opens == sorted(opens)
    assert len(set(opens)) == len(opens)
    return opens


async def _equal_to_the_exchange(feed: MarketFeed, events: list[MarketEvent], tf: str) -> int:
    """Every bar the exchange has over the session is announced once, with its exact values."""
    assert feed.history is not None
    bars = [e.bar for e in events if isinstance(e, BarClosed)]
    symbol = bars[0].symbol
    step = bars[0].timeframe.ms
    rows = await feed.history.range(symbol, tf, bars[0].ts, bars[-1].ts + step)
    exchange = [(r.open_ms, r.open, r.high, r.low, r.close, r.volume) for r in rows]
    announced = [(b.ts, b.open, b.high, b.low, b.close, b.volume) for b in bars]
    assert announced == exchange
    assert not any(isinstance(e, BarRevised) for e in events)
    return len(bars)


async def test_backfill_rides_out_5xx_and_timeouts(
    server: LoopbackServer, pro_client: Callable[[], Any]
) -> None:
    faults = server.sim.faults
    faults.add(Fault(kind=FaultKind.WS_DISCONNECT, path="ws:xrpeth@kline_1m", at_request=3))
    # Request 1 is the warm-up; the backfill after the reconnect meets a 503, then a timeout.
    faults.add(Fault(kind=FaultKind.SERVER_ERROR, path="/api/v3/klines", at_request=2, status=503))
    faults.add(Fault(kind=FaultKind.TIMEOUT, path="/api/v3/klines", at_request=3, delay_s=0.2))
    spec = FeedSpec(symbols=("XRP/ETH",), timeframes=("1m",), kinds=KLINES, warmup_bars=10)
    async with MarketFeed(pro_client(), spec) as feed:
        events = await _collect(
            feed,
            lambda ev: (
                any(isinstance(e, StreamAlert) and e.kind is AlertKind.RECONNECTED for e in ev)
                and sum(isinstance(e, BarClosed) and e.source.value == "stream" for e in ev) >= 2
            ),
            timeout_s=20,
        )
        assert feed.history is not None
        retried = feed.history.retried
    statuses = [r.status for r in server.sim.faults.requests("/api/v3/klines")]
    assert 503 in statuses
    # Every failed request was retried (the last one may have been in flight at the stop).
    failed = [s for s in statuses if s != 200]
    assert retried >= len(failed) - 1 >= 1
    kinds = [e.kind for e in events if isinstance(e, StreamAlert)]
    assert AlertKind.BACKFILL_FAILED not in kinds
    _bars_once_in_order(events)


async def test_the_exchanges_connection_age_limit_is_a_seamless_reconnect(sim: Any) -> None:
    # Binance closes every connection after 24 hours; here after 2 seconds.
    async with LoopbackServer(sim, max_connection_s=2.0) as aging:
        cfg = ExchangeConfig(rest_url=aging.rest_url, rate_limit=False, timeout_ms=15000)
        spec = FeedSpec(symbols=("XRP/ETH",), timeframes=("1m",), kinds=KLINES, warmup_bars=10)
        async with MarketFeed(create_async_client(cfg), spec) as feed:
            events = await _collect(
                feed,
                lambda ev: (
                    sum(isinstance(e, StreamAlert) and e.kind is AlertKind.RECONNECTED for e in ev)
                    >= 2
                ),
                timeout_s=15,
            )
            assert feed.groups[0].connects >= 3
            assert await _equal_to_the_exchange(feed, events, "1m") >= 12
    assert len(sim.faults.injected(FaultKind.FORCED_DISCONNECT)) >= 2


async def test_24_hour_tickers_of_spot_and_perpetual(
    server: LoopbackServer, pro_client: Callable[[], Any]
) -> None:
    kinds = frozenset({StreamKind.TICKER_24H})
    symbols = ("ETH/BTC", "XRP/USDT:USDT")
    async with MarketFeed(pro_client(), FeedSpec(symbols=symbols, kinds=kinds)) as feed:
        events = await _collect(
            feed,
            lambda ev: {e.symbol for e in ev if isinstance(e, Ticker24hUpdated)} == set(symbols),
            timeout_s=20,
        )
    for event in events:
        assert isinstance(event, Ticker24hUpdated)
        assert event.low <= event.last <= event.high
        assert event.volume >= 0
    spot = next(e for e in events if e.symbol == "ETH/BTC")
    assert spot.bid is not None
    assert spot.ask is not None
    assert spot.bid < spot.ask
