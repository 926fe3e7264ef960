"""A paper session reads ``[[sources.books]]``: a strategy's ``on_book`` receives the active
venue's L2 book through the Node, with failover. A simulated Binance (primary, REST snapshot and
diff stream) and a simulated Bybit (``orderbook.200`` snapshot and deltas) replay one recording
of BTC/USDT with the real ccxt.pro clients at 5x; the Binance primary stalls mid-session, and
``on_book`` is shown Bybit's book from the switch until the primary is back."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import ClassVar

import pytest
from sourcekit import two_venues, wait_until

from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.book.book import OrderBook
from tradewind.config import AppConfig
from tradewind.connectors.source_config import SourcesConfig
from tradewind.exchange_sim import FaultKind, SimClock
from tradewind.exchange_sim.venue_chaos import VenueFault
from tradewind.persistence.config import DatabaseConfig
from tradewind.session.operate import SessionOps
from tradewind.session.paper import PaperConfig, PaperSession, SessionStatus
from tradewind.strategies.base import Strategy, StrategyContext

SYMBOL = "BTC/USDT"
MINUTE_MS = 60_000


class Depth(Strategy):
    """Notes every book it is shown (which book, its best prices, the engine's time)."""

    name = "depth_sources"
    seen: ClassVar[list[tuple[int, float, float, int]]] = []

    def on_book(self, ctx: StrategyContext, book: OrderBook) -> None:
        Depth.seen.append((id(book), book.best_bid(), book.best_ask(), ctx.ts))


@pytest.mark.slow
async def test_on_book_follows_the_active_book_source_through_a_failover(
    shared_data: Path, tmp_path: Path
) -> None:
    # Arrange: Binance and Bybit as candle and book sources, switch back after 3 s of health.
    clock = SimClock(speed=5.0)
    alerts: list[str] = []
    Depth.seen = []

    def update(status: SessionStatus) -> None:
        if status.alerts and (not alerts or status.alerts[-1] != alerts[-1]):
            alerts.append(status.alerts[-1])

    async with two_venues(shared_data, clock, latency_ms=5.0, secondary="bybit") as venues:
        listed = [{"name": v.spec.name,
                   "exchange": {"name": v.spec.protocol, "rest_url": v.server.rest_url,
                                "rate_limit": False, "timeout_ms": 15_000}}
                  for v in venues.venues]  # fmt: skip
        sources = SourcesConfig.model_validate({"candles": listed, "books": listed,
                                                "switch_back_after_s": 3.0,
                                                "divergence_bps": 500})  # fmt: skip
        first_close = (clock() // MINUTE_MS + 1) * MINUTE_MS
        await wait_until(lambda: clock() > first_close + 1_000, 20, "a closed bar")
        ops = SessionOps(AppConfig(database=DatabaseConfig(bots_dir=str(tmp_path / "bots"))),
                         "book-sources", mode="paper")  # fmt: skip
        session = PaperSession(PaperConfig(
            exchange=sources.candles[0].exchange, sources=sources, strategies=[Depth()],
            symbols=(SYMBOL,), timeframe="1m",
            spec=BacktestSpec(account=Account(cash="1000", stake="10%")),
            run_dir=tmp_path / "run", warmup_bars=1,
        ), on_update=update, ops=ops)  # fmt: skip
        running = asyncio.create_task(session.run())
        try:
            await wait_until(lambda: len(Depth.seen) >= 50 or running.done(), 60, "50 books")
            assert not running.done()
            needs = session._needs
            assert needs is not None
            books = needs.sets["books"]
            binance_book = id(books.sources[0].feed.book(SYMBOL))
            bybit_book = id(books.sources[1].feed.book(SYMBOL))

            # Act: the Binance primary freezes for 8 s (sockets silent, REST hangs).
            venues["binance"].chaos.begin(VenueFault(kind=FaultKind.VENUE_STALL, at_s=0,
                                                     duration_s=8.0))  # fmt: skip
            await wait_until(lambda: "books: bybit -> binance (recovered)" in alerts, 60,
                             "the book source's switch back")  # fmt: skip
            at_back = len(Depth.seen)
            await wait_until(lambda: len(Depth.seen) >= at_back + 20, 30, "books after it")
        finally:
            session.stop()
            await asyncio.wait_for(running, 60)

    # Assert: Binance's book, then Bybit's from the switch, then Binance's again.
    assert "books: binance -> bybit (silent)" in alerts, alerts
    runs = [(book, len(list(group))) for book, group in
            itertools.groupby(s[0] for s in Depth.seen)]  # fmt: skip
    assert [book for book, _ in runs] == [binance_book, bybit_book, binance_book], runs
    assert all(count >= 10 for _, count in runs), runs
    # Every book shown was whole (in sync, not crossed), on an engine clock that never ran back.
    assert all(bid < ask for _, bid, ask, _ in Depth.seen)
    assert all(b[3] >= a[3] for a, b in itertools.pairwise(Depth.seen))
    assert needs.books == len(Depth.seen)
