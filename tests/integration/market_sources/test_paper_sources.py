"""A paper session over two simulated Binance-protocol venues read as ordered sources, with the
real ccxt.pro clients at 300x (a 5-minute bar a second): the primary stalls and the session
trades on through the secondary without a missing bar, its trades equal to the backtest of the
bars it used; the primary's prices diverge and the "data divergence" breaker stops new entries
through the Node while an exit still goes out, then clears."""

from __future__ import annotations

import asyncio
import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sourcekit import BAR_MS, SYMBOL, Churn, bars_frame, sources_of, two_venues, wait_until

from tradewind.backtest.api import backtest
from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.config import AppConfig
from tradewind.connectors.source_config import SourcesConfig
from tradewind.core.intents import IntentAction
from tradewind.core.market_context import MarketContext
from tradewind.core.orders import Order
from tradewind.core.records import Side
from tradewind.data.session_recording import read_table
from tradewind.engine.bus import MessageBus
from tradewind.exchange_sim import FaultKind, SimClock
from tradewind.exchange_sim.venue_chaos import VenueFault
from tradewind.ops.metrics import BotMetrics
from tradewind.persistence.config import DatabaseConfig
from tradewind.series.bars import BarSeries
from tradewind.session.operate import SessionOps
from tradewind.session.paper import (
    DATA_DIVERGENCE,
    MARKET_CONTEXT,
    PaperConfig,
    PaperSession,
    SessionStatus,
)
from tradewind.strategies.base import Strategy, StrategyContext

# At 300x a venue's book walks a 5-minute candle in a second: two venues a step apart quote up to
# a candle's range apart (about 100 bps seen), so the divergence threshold here is far above the
# real-time default of 20 bps, and the injected divergence far above that.
THRESHOLD_BPS = Decimal(500)
DIVERGENCE_BPS = 1500.0


def _config(sources: SourcesConfig, tmp_path: Path, strategies: list[Strategy],
            **kw: Any) -> PaperConfig:  # fmt: skip
    return PaperConfig(
        exchange=sources.candles[0].exchange, sources=sources, strategies=strategies,
        symbols=(SYMBOL,), timeframe="5m", spec=BacktestSpec(account=Account(cash="1",
                                                                             stake="50%")),
        run_dir=tmp_path / "run", warmup_bars=30, **kw,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("secondary", ["binance2", "bybit"])
async def test_paper_session_fails_over_without_a_missing_bar_and_equals_its_backtest(
    shared_data: Path, tmp_path: Path, secondary: str
) -> None:
    # Arrange: switch back after 3 s of health; 36 bars traded; the secondary a second Binance
    # or a Bybit (read with ccxt.pro's bybit client).
    clock = SimClock(speed=300.0)
    alerts: list[str] = []

    def update(status: SessionStatus) -> None:
        if status.alerts and (not alerts or status.alerts[-1] != alerts[-1]):
            alerts.append(status.alerts[-1])

    async with two_venues(shared_data, clock, latency_ms=5.0, only_eth_btc=True,
                          secondary=secondary) as venues:  # fmt: skip
        sources = sources_of(venues, switch_back_after_s=3.0, divergence_bps=THRESHOLD_BPS)
        ops = SessionOps(AppConfig(database=DatabaseConfig(bots_dir=str(tmp_path / "bots"))),
                         "sources", mode="paper")  # fmt: skip
        session = PaperSession(
            _config(sources, tmp_path, [Churn()], max_bars=36), on_update=update, ops=ops
        )
        running = asyncio.create_task(session.run())

        # Act: once 8 bars are traded, the primary freezes for 8 s (sockets silent, REST hangs).
        await wait_until(lambda: session.status.bars >= 8 or running.done(), 120, "8 bars")
        venues["binance"].chaos.begin(VenueFault(kind=FaultKind.VENUE_STALL, at_s=0,
                                                 duration_s=8.0))  # fmt: skip
        result = await asyncio.wait_for(running, 180)
        driver = session.driver
        assert driver is not None
        assert ops.facade is not None
        metrics = BotMetrics(ops.facade).render().decode()

    # Assert: the session switched to the secondary and back, and traded every bar once.
    assert result.meta["bars_traded"] == 36
    assert f"candles: binance -> {secondary} (silent)" in alerts, alerts
    assert f"candles: {secondary} -> binance (recovered)" in alerts, alerts
    # Every switch is a metric too, with the active source and each stream's receive lag.
    assert 'tradewind_source_switches_total{need="candles"} 2.0' in metrics, metrics
    assert 'tradewind_source_active{need="candles",source="binance"} 1.0' in metrics
    assert f'tradewind_source_active{{need="candles",source="{secondary}"}} 0.0' in metrics
    assert (
        f'tradewind_source_receive_lag_ms{{quantile="0.99",source="{secondary}",stream="kline"}}'
        in (metrics)
    )
    # The recording names each bar's source: the secondary's bars are marked.
    recorded = read_table(tmp_path / "run", "bars")
    live = recorded[recorded["source"] == "stream"]
    assert set(live["venue"]) == {"binance", secondary}
    assert live["secondary"].tolist() == (live["venue"] == secondary).tolist()
    series = driver.bars[SYMBOL]
    opens = [int(t) for t in series.ts]
    assert all(b - a == BAR_MS for a, b in itertools.pairwise(opens)), opens
    # Its trades are the backtest's over the bars it used (warm-up included), from its first bar.
    frame = bars_frame(series)
    start = pd.Timestamp(opens[driver.first_bar[SYMBOL]], unit="ms", tz="UTC")
    expected = backtest(
        Churn(), frame, cash="1", stake="50%", symbol=SYMBOL, timeframe="5m",
        start=start, instruments=session.instruments,
    ).trades  # fmt: skip
    columns = ["side", "entry_time", "exit_time", "entry_price", "exit_price", "quantity", "fees",
               "pnl"]  # fmt: skip
    assert len(result.trades) >= 10, "too few round trips to prove anything"
    pd.testing.assert_frame_equal(
        result.trades[columns].reset_index(drop=True), expected[columns].reset_index(drop=True)
    )


class HoldUntilReleased(Strategy):
    """Enters whenever flat; exits only once the test has released it (so that the exit falls
    inside the divergence the test starts after the entry's fill)."""

    name = "hold_until_released"

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.released = False

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        held = ctx.position(SYMBOL)
        if held <= 0:
            ctx.emit(SYMBOL, IntentAction.ENTER_LONG)
        elif self.released:
            ctx.emit(SYMBOL, IntentAction.EXIT_LONG)


@pytest.mark.slow
async def test_diverging_sources_stop_new_entries_and_let_exits_through(
    shared_data: Path, tmp_path: Path
) -> None:
    # Arrange: every order the Node sends is noted with the symbol's entry stop at that moment.
    clock = SimClock(speed=300.0)
    strategy = HoldUntilReleased()
    bus = MessageBus()
    sent: list[tuple[Side, str | None]] = []
    async with two_venues(shared_data, clock, latency_ms=5.0, only_eth_btc=True) as venues:
        sources = sources_of(venues, divergence_bps=THRESHOLD_BPS)
        session = PaperSession(_config(sources, tmp_path, [strategy]), bus=bus)

        def on_order(topic: str, payload: Any) -> None:
            if topic == "order.submitted" and isinstance(payload, Order):
                assert session.driver is not None
                stopped = session.driver.node.stopped_entries.get(SYMBOL)
                sent.append((payload.side, stopped))

        bus.subscribe("order.submitted", on_order)
        running = asyncio.create_task(session.run())

        def stopped() -> str | None:
            driver = session.driver
            return None if driver is None else driver.node.stopped_entries.get(SYMBOL)

        def denied() -> list[str]:
            driver = session.driver
            return [] if driver is None else [d.reason for d in driver.node.denials]

        try:
            # Act: the entry fills; then the primary's books move 15 % away.
            await wait_until(lambda: (session.driver is not None and session.driver.node.account
                        .open_positions() != []) or running.done(), 120, "the first entry")  # fmt: skip
            venues["binance"].chaos.begin(VenueFault(kind=FaultKind.PRICE_DIVERGENCE, at_s=0,
                                                     duration_s=120.0, divergence_bps=DIVERGENCE_BPS))  # fmt: skip
            await wait_until(
                lambda: stopped() == DATA_DIVERGENCE or running.done(), 30, "the breaker"
            )
            during_entries = len(sent)
            strategy.released = True
            await wait_until(lambda: DATA_DIVERGENCE in denied() or running.done(), 30,
                        "an entry denied")  # fmt: skip
            # The venue converges again.
            venues["binance"].chaos.begin(VenueFault(kind=FaultKind.PRICE_DIVERGENCE, at_s=0,
                                                     duration_s=0.01, divergence_bps=0.0))  # fmt: skip
            await wait_until(
                lambda: stopped() is None or running.done(), 30, "the breaker to clear"
            )
            cleared_at = len(sent)
            await wait_until(lambda: any(side is Side.BUY for side, _ in sent[cleared_at:])
                        or running.done(), 30, "an entry after the breaker")  # fmt: skip
        finally:
            session.stop()
            await asyncio.wait_for(running, 60)

    # Assert: before the divergence an entry went out; during it the exit went out and the next
    # entry was denied by the breaker; after it, entries went out again.
    assert sent[0] == (Side.BUY, None)
    during = sent[during_entries:cleared_at]
    assert (Side.SELL, DATA_DIVERGENCE) in during, sent
    assert all(side is Side.SELL for side, _ in during), sent
    assert any(side is Side.BUY and stop is None for side, stop in sent[cleared_at:]), sent
    assert DATA_DIVERGENCE in denied()


@pytest.mark.slow
async def test_a_market_context_beyond_its_spread_limit_stops_new_entries_and_lets_exits_through(
    shared_data: Path, tmp_path: Path
) -> None:
    # Arrange: bars from binance alone; both venues polled for context every 0.2 s, with a
    # limit on the spread between their mids (at 300x their books walk up to ~100 bps apart).
    clock = SimClock(speed=300.0)
    strategy = HoldUntilReleased()
    bus = MessageBus()
    sent: list[tuple[Side, str | None]] = []
    async with two_venues(shared_data, clock, latency_ms=5.0, only_eth_btc=True) as venues:
        listed = [{"name": c.name, "exchange": c.exchange.model_dump(exclude_none=True)}
                  for c in sources_of(venues).candles]  # fmt: skip
        sources = SourcesConfig.model_validate({
            "candles": listed[:1], "context": listed, "context_period_s": 0.2,
            "context_limits": {"max_spread_bps": THRESHOLD_BPS},
        })  # fmt: skip
        session = PaperSession(_config(sources, tmp_path, [strategy]), bus=bus)

        def on_order(topic: str, payload: Any) -> None:
            if topic == "order.submitted" and isinstance(payload, Order):
                assert session.driver is not None
                sent.append((payload.side, session.driver.node.stopped_entries.get(SYMBOL)))

        bus.subscribe("order.submitted", on_order)
        running = asyncio.create_task(session.run())

        def stopped() -> str | None:
            driver = session.driver
            return None if driver is None else driver.node.stopped_entries.get(SYMBOL)

        def denied() -> list[str]:
            driver = session.driver
            return [] if driver is None else [d.reason for d in driver.node.denials]

        try:
            # Act: the entry fills; then the second venue's books move 15 % away.
            await wait_until(lambda: (session.driver is not None and session.driver.node.account
                             .open_positions() != []) or running.done(), 120, "the first entry")  # fmt: skip
            venues["binance2"].chaos.begin(VenueFault(kind=FaultKind.PRICE_DIVERGENCE, at_s=0,
                                                      duration_s=120.0,
                                                      divergence_bps=DIVERGENCE_BPS))  # fmt: skip
            await wait_until(lambda: stopped() == MARKET_CONTEXT or running.done(), 30,
                             "the breaker")  # fmt: skip
            during_entries = len(sent)
            strategy.released = True
            await wait_until(lambda: MARKET_CONTEXT in denied() or running.done(), 30,
                             "an entry denied")  # fmt: skip
            venues["binance2"].chaos.begin(VenueFault(kind=FaultKind.PRICE_DIVERGENCE, at_s=0,
                                                      duration_s=0.01, divergence_bps=0.0))  # fmt: skip
            await wait_until(lambda: stopped() is None or running.done(), 30,
                             "the breaker to clear")  # fmt: skip
            cleared_at = len(sent)
            await wait_until(lambda: any(side is Side.BUY for side, _ in sent[cleared_at:])
                             or running.done(), 30, "an entry after the breaker")  # fmt: skip
        finally:
            session.stop()
            await asyncio.wait_for(running, 60)

    # Assert: during the wide spread the exit went out and the next entry was denied; after it,
    # entries went out again. The bars' own sources never disagreed (one source).
    assert sent[0] == (Side.BUY, None)
    during = sent[during_entries:cleared_at]
    assert (Side.SELL, MARKET_CONTEXT) in during, sent
    assert all(side is Side.SELL for side, _ in during), sent
    assert any(side is Side.BUY and stop is None for side, stop in sent[cleared_at:]), sent
    assert MARKET_CONTEXT in denied()
    assert DATA_DIVERGENCE not in denied()


class ContextReader(Strategy):
    """Notes the market context it sees at every bar (and never trades)."""

    name = "context_reader"

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.seen: list[MarketContext | None] = []

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        self.seen.append(ctx.market_context(SYMBOL))


@pytest.mark.slow
async def test_strategies_read_the_market_context_across_venues(
    shared_data: Path, tmp_path: Path
) -> None:
    # Arrange: both venues also polled for context every 0.2 s.
    clock = SimClock(speed=300.0)
    reader = ContextReader()
    async with two_venues(shared_data, clock, latency_ms=5.0, only_eth_btc=True) as venues:
        sources = sources_of(venues, divergence_bps=THRESHOLD_BPS)
        venue_list = [
            {"name": c.name, "exchange": c.exchange.model_dump(exclude_none=True)}
            for c in sources.candles
        ]
        sources = SourcesConfig.model_validate(
            {**sources.model_dump(exclude_none=True), "context": venue_list,
             "context_period_s": 0.2}
        )  # fmt: skip
        session = PaperSession(_config(sources, tmp_path, [reader], max_bars=8))

        # Act
        await asyncio.wait_for(session.run(), 180)

    # Assert: once polled, every bar saw both venues' quotes of the symbol.
    seen = [c for c in reader.seen if c is not None]
    assert len(seen) >= 4, reader.seen
    last = seen[-1]
    assert last.symbol == SYMBOL
    assert [v.venue for v in last.venues] == ["binance", "binance2"]
    assert all(v.error == "" and v.mid is not None for v in last.venues), last
    assert all(v.funding_rate is None for v in last.venues)  # spot: no funding
    assert last.widest_spread_bps() is not None
    # A backtest has no context: the same strategy sees None there.
    offline = ContextReader()
    backtest(offline, bars_frame(session.driver.bars[SYMBOL]), cash="1", symbol=SYMBOL,  # type: ignore[union-attr]
             timeframe="5m")  # fmt: skip
    assert offline.seen
    assert set(offline.seen) == {None}
