"""Bybit's ``orderbook`` stream into the local book: the stream's snapshot, consecutive deltas, a
gap that resubscribes (deltas dropped until the fresh snapshot), and a lost connection."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from tradewind.connectors.bybit_book import BybitBookSync, book_depth
from tradewind.core.market_events import BookUpdated


def _msg(kind: str, u: int, bids: list[list[str]], asks: list[list[str]]) -> dict[str, Any]:
    return {"topic": "orderbook.50.XRPUSDT", "type": kind, "ts": 1_000 + u, "cts": 1_000 + u,
            "data": {"s": "XRPUSDT", "b": bids, "a": asks, "u": u, "seq": 10 * u}}  # fmt: skip


class _Stream:
    def __init__(self) -> None:
        self.events: list[BookUpdated] = []
        self.resyncs: list[str] = []
        self.resubscribed = 0
        self.sync = BybitBookSync("XRP/USDT:USDT", resubscribe=self.resubscribe,
                                  emit=self.events.append, on_resync=self.resyncs.append,
                                  clock=lambda: 5_000)  # fmt: skip

    async def resubscribe(self) -> None:
        self.resubscribed += 1


async def test_snapshot_then_consecutive_deltas_keep_the_book() -> None:
    stream = _Stream()
    stream.sync.on_diff(_msg("delta", 4, [["0.50", "1"]], []), 900)  # before any snapshot
    assert stream.events == []
    stream.sync.on_diff(_msg("snapshot", 5, [["0.50", "10"], ["0.49", "5"]],
                             [["0.51", "7"]]), 1_000)  # fmt: skip
    stream.sync.on_diff(_msg("delta", 6, [["0.50", "0"]], [["0.505", "2"]]), 1_010)
    stream.sync.on_diff(_msg("delta", 6, [["0.48", "1"]], []), 1_020)  # a replay: dropped
    assert stream.sync.in_sync
    assert [(e.update_id, e.best_bid, e.best_ask, e.resynced) for e in stream.events] == [
        (5, Decimal("0.5"), Decimal("0.51"), True),
        (6, Decimal("0.49"), Decimal("0.505"), False),
    ]
    assert stream.sync.book.bid_count == 1  # 0.48 was never applied
    assert stream.resyncs == []


async def test_a_gap_resubscribes_and_waits_for_the_fresh_snapshot() -> None:
    stream = _Stream()
    stream.sync.on_diff(_msg("snapshot", 1, [["0.50", "10"]], [["0.51", "7"]]), 1_000)
    # Act: u=3 after u=1, the delta u=2 was lost.
    stream.sync.on_diff(_msg("delta", 3, [["0.50", "4"]], []), 1_020)
    await asyncio.sleep(0)  # the resubscription runs
    assert stream.resubscribed == 1
    stream.sync.on_diff(_msg("delta", 4, [["0.50", "3"]], []), 1_030)  # dropped: out of sync
    assert not stream.sync.in_sync
    assert stream.sync.current(5_000) is None
    assert len(stream.resyncs) == 1
    assert "gap" in stream.resyncs[0]
    stream.sync.on_diff(_msg("snapshot", 4, [["0.50", "3"]], [["0.52", "1"]]), 1_040)
    stream.sync.on_diff(_msg("delta", 5, [], [["0.515", "1"]]), 1_050)
    # Assert: one resync, and the book follows the new snapshot and its deltas.
    assert stream.sync.in_sync
    assert stream.sync.resyncs == 1
    assert [(e.update_id, e.resynced) for e in stream.events] == [(1, True), (4, True),
                                                                  (5, False)]  # fmt: skip
    assert stream.events[-1].best_ask == Decimal("0.515")


async def test_the_resubscription_is_sent_once_per_gap() -> None:
    stream = _Stream()
    stream.sync.on_diff(_msg("snapshot", 1, [["0.50", "10"]], [["0.51", "7"]]), 1_000)
    stream.sync.on_diff(_msg("delta", 3, [["0.50", "4"]], []), 1_020)
    stream.sync.on_diff(_msg("delta", 5, [["0.50", "4"]], []), 1_030)
    await asyncio.sleep(0)
    stream.sync.on_diff(_msg("delta", 7, [["0.50", "4"]], []), 1_040)
    await asyncio.sleep(0)
    assert stream.resubscribed == 1
    assert len(stream.resyncs) == 1


async def test_a_lost_connection_waits_for_the_reconnects_snapshot_without_resubscribing() -> None:
    stream = _Stream()
    stream.sync.on_diff(_msg("snapshot", 1, [["0.50", "10"]], [["0.51", "7"]]), 1_000)
    stream.sync.invalidate("connection lost")
    stream.sync.on_diff(_msg("delta", 2, [["0.50", "4"]], []), 1_020)
    assert not stream.sync.in_sync
    assert stream.resubscribed == 0
    stream.sync.on_diff(_msg("snapshot", 9, [["0.50", "4"]], [["0.51", "7"]]), 1_040)
    assert stream.sync.in_sync
    assert book_depth(50) == 50
    assert book_depth(51) == book_depth(1000) == 200
