"""The session records what it saw: raw messages with both times, bars as announced, a journal,
and catalog series that rebuild the same bars and the same book (real ccxt.pro, loopback sim)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from tradewind.book.book import OrderBook
from tradewind.connectors.binance_streams import StreamKind
from tradewind.connectors.market_feed import FeedSpec, MarketFeed
from tradewind.core.market_events import BarClosed, BarRevised, MarketEvent
from tradewind.data.catalog import Catalog, SeriesKey
from tradewind.data.kinds import DataKind
from tradewind.data.session_recording import JournalKind, SessionRecorder, read_table
from tradewind.exchange_sim import LoopbackServer


async def test_a_session_recording_holds_every_message_and_rebuilds_bars_and_book(
    server: LoopbackServer, pro_client: Callable[[], Any], tmp_path: Path
) -> None:
    recorder = SessionRecorder(tmp_path, flush_rows=500)
    seen: list[tuple[str, str, dict[str, Any], int]] = []

    def record(stream: str, symbol: str, message: dict[str, Any], received: int) -> None:
        seen.append((stream, symbol, message, received))
        recorder.market_message(stream, symbol, message, received)

    spec = FeedSpec(
        symbols=("XRP/ETH", "XRP/USDT", "XRP/USDT:USDT"),
        timeframes=("1m",),
        kinds=frozenset(
            {StreamKind.KLINE, StreamKind.DEPTH, StreamKind.TRADE, StreamKind.MARK_PRICE}
        ),
        warmup_bars=30,
    )
    announced: list[MarketEvent] = []

    def take(event: MarketEvent) -> None:
        recorder.market_event(event)
        if isinstance(event, BarClosed | BarRevised):
            announced.append(event)

    async with MarketFeed(pro_client(), spec, recorder=record) as feed:
        await feed.wait_ready(10)
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:
            try:
                take(await asyncio.wait_for(feed.events.get(), 0.5))
            except TimeoutError:
                continue
    while not feed.events.empty():  # what the session had not consumed when it stopped
        take(feed.events.get_nowait())
    # Stopped: every recorded diff has been applied (the tap records, then applies, at once).
    book = feed.book("XRP/USDT")
    assert feed.books["XRP/USDT"].in_sync
    local_id, local_top = book.update_id, book.top(50)
    local_bids = local_top.bid_prices.copy(), local_top.bid_sizes.copy()
    recorder.journal(JournalKind.FILL, ts_ms=1, payload={"price": Decimal("0.00012345")},
                     strategy="s", symbol="XRP/ETH")  # fmt: skip
    written = await recorder.close()

    messages = read_table(tmp_path, "messages")
    assert len(messages) == len(seen) > 100
    assert list(messages["received_ms"]) == [r for *_, r in seen]
    # The raw payload is kept exactly (decimal strings untouched).
    first_kline = next(m for s, _, m, _ in seen if "@kline_" in s)
    row = messages[messages["kind"] == "kline"].iloc[0]
    assert orjson.loads(row["payload"]) == first_kline
    assert int(row["date"].value // 1_000_000) == first_kline["E"]
    assert set(messages["kind"]) >= {"kline", "depth", "depth_snapshot", "trade", "mark"}

    bars = read_table(tmp_path, "bars")
    assert len(bars) == len(announced) >= 30
    catalog = Catalog(tmp_path / "recording" / "catalog")
    candles = catalog.read(SeriesKey("binance", "XRP/ETH", "1m", DataKind.CANDLES))
    closed = [e.bar for e in announced if e.bar.symbol == "XRP/ETH"]
    assert len(candles) == len({b.ts for b in closed})
    last = closed[-1]
    assert candles["close"].iloc[-1] == float(last.close)
    assert "received_ms" in candles.columns
    assert any(p.parent.name == "trades" for p in written)

    # The recorded snapshot plus recorded diffs give the feed's book at the same update id.
    deltas = catalog.read(SeriesKey("binance", "XRP/USDT", None, DataKind.BOOK_DELTAS))
    snaps = deltas[deltas["is_snapshot"]]
    snap_id = int(snaps["sequence"].iloc[-1])
    rebuilt = OrderBook("XRP/USDT")
    snap = snaps[snaps["sequence"] == snap_id]
    rebuilt.apply_snapshot(
        np.where(snap["side"] == "bid", 0, 1).astype(np.int8),
        snap["price"].to_numpy(),
        snap["size"].to_numpy(),
        ts=0,
        last_id=snap_id,
    )
    later = deltas[~deltas["is_snapshot"] & (deltas["sequence"] > snap_id)]
    for sequence, group in later.groupby("sequence", sort=True):
        status = rebuilt.apply_update(
            np.where(group["side"] == "bid", 0, 1).astype(np.int8),
            group["price"].to_numpy(),
            group["size"].to_numpy(),
            ts=0,
            last_id=int(sequence),
        )
        assert status.value == "applied", (sequence, rebuilt.resync_reason, group)
    assert rebuilt.update_id == local_id
    top = rebuilt.top(50)
    assert np.array_equal(top.bid_prices, local_bids[0])
    assert np.array_equal(top.bid_sizes, local_bids[1])

    journal = read_table(tmp_path, "journal")
    fill = journal[journal["kind"] == "fill"].iloc[0]
    assert orjson.loads(fill["payload"]) == {"price": "0.00012345"}
