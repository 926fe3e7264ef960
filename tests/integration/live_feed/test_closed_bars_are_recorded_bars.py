"""What reaches a strategy from the live feed: closed bars only, each exactly the recorded candle.

The simulator serves the candle forming at its clock (REST's last row, the stream's updates with
``x`` false); the feed must never announce it. Every ``BarClosed`` is checked against the
exchange's clock when it arrived and against the recording, shifted by the offset the simulator
publishes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from tradewind.connectors.binance_streams import StreamKind
from tradewind.connectors.market_feed import FeedSpec, MarketFeed
from tradewind.core.market_events import BarClosed
from tradewind.exchange_sim import Api, LoopbackServer


async def test_no_bar_closing_at_or_after_the_exchange_time_reaches_a_strategy(
    server: LoopbackServer, pro_client: Callable[[], Any], shared_data: Path
) -> None:
    spec = FeedSpec(symbols=("XRP/ETH",), timeframes=("1m",), kinds=frozenset({StreamKind.KLINE}),
                    warmup_bars=30)  # fmt: skip
    closed: list[tuple[BarClosed, int]] = []
    async with MarketFeed(pro_client(), spec) as feed:
        await feed.wait_ready(10)
        deadline = time.monotonic() + 6
        while (
            time.monotonic() < deadline and sum(e.source.value == "stream" for e, _ in closed) < 3
        ):
            event = await feed.events.get()
            if isinstance(event, BarClosed):
                closed.append((event, server.sim.clock()))
    assert sum(e.source.value == "stream" for e, _ in closed) >= 3
    assert sum(e.source.value != "stream" for e, _ in closed) >= 20  # the warm-up, over REST
    for event, server_ms in closed:
        close_time = event.bar.ts + 60_000 - 1  # Binance's closeTime
        assert close_time < server_ms, f"bar {event.bar.ts} reached us before it closed"
    # Each is the recorded candle, exactly (on the instrument's 1e-8 grid).
    # (The server runs on this test's loop: read its timeline directly, not over HTTP.)
    market = server.sim.market(Api.SPOT, "XRPETH")
    assert market is not None
    tl = server.sim.timeline(market)
    assert tl is not None
    shift, period = tl.offset_at(server.sim.clock()), tl.period_ms
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    by_open = {d.value // 1_000_000: i for i, d in enumerate(frame["date"])}
    sat = Decimal("0.00000001")
    for event, _ in closed:
        recorded_ms = event.bar.ts - shift
        if recorded_ms not in by_open:
            recorded_ms += period  # a warm-up bar from the previous pass
        row = frame.iloc[by_open[recorded_ms]]
        bar = event.bar
        assert (bar.open, bar.high, bar.low, bar.close) == tuple(
            Decimal(repr(float(row[c]))).quantize(sat) for c in ("open", "high", "low", "close")
        )
        assert bar.volume == Decimal(repr(float(row["volume"]))).quantize(sat)
