"""A paper session reads ``[[sources.trades]]``: a strategy's ``on_trade`` receives the active
venue's prints through the Node, with failover. Two simulated Binance venues replay one
recording (BTC/USDT's recorded trades, the same ids at the same times) with the real ccxt.pro
clients at 5x; the primary stalls mid-session, the trades (and candles) switch to the secondary
and back, and the strategy sees every print once: its trade ids run without a gap or a repeat
across both seams."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import ClassVar

import pytest
from sourcekit import two_venues, wait_until

from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.config import AppConfig
from tradewind.connectors.source_config import SourcesConfig
from tradewind.core.records import Trade
from tradewind.exchange_sim import FaultKind, SimClock
from tradewind.exchange_sim.venue_chaos import VenueFault
from tradewind.ops.metrics import BotMetrics
from tradewind.persistence.config import DatabaseConfig
from tradewind.session.operate import SessionOps
from tradewind.session.paper import PaperConfig, PaperSession, SessionStatus
from tradewind.strategies.base import Strategy, StrategyContext

SYMBOL = "BTC/USDT"
MINUTE_MS = 60_000


class Tape(Strategy):
    """Keeps every print it is shown (and trades nothing)."""

    name = "tape_sources"
    seen: ClassVar[list[Trade]] = []

    def on_trade(self, ctx: StrategyContext, trade: Trade) -> None:
        Tape.seen.append(trade)


@pytest.mark.slow
async def test_on_trade_gets_every_print_once_across_a_trade_source_failover(
    shared_data: Path, tmp_path: Path
) -> None:
    # Arrange: both venues as candle and trade sources, switch back after 3 s of health.
    clock = SimClock(speed=5.0)
    alerts: list[str] = []
    Tape.seen = []

    def update(status: SessionStatus) -> None:
        if status.alerts and (not alerts or status.alerts[-1] != alerts[-1]):
            alerts.append(status.alerts[-1])

    async with two_venues(shared_data, clock, latency_ms=5.0) as venues:
        listed = [{"name": v.spec.name, "exchange": {"rest_url": v.server.rest_url,
                                                     "rate_limit": False, "timeout_ms": 15_000}}
                  for v in venues.venues]  # fmt: skip
        sources = SourcesConfig.model_validate({"candles": listed, "trades": listed,
                                                "switch_back_after_s": 3.0,
                                                "divergence_bps": 500})  # fmt: skip
        # The replay starts now: the session's warm-up needs one closed 1-minute bar.
        first_close = (clock() // MINUTE_MS + 1) * MINUTE_MS
        await wait_until(lambda: clock() > first_close + 1_000, 20, "a closed bar")
        ops = SessionOps(AppConfig(database=DatabaseConfig(bots_dir=str(tmp_path / "bots"))),
                         "trade-sources", mode="paper")  # fmt: skip
        session = PaperSession(PaperConfig(
            exchange=sources.candles[0].exchange, sources=sources, strategies=[Tape()],
            symbols=(SYMBOL,), timeframe="1m",
            spec=BacktestSpec(account=Account(cash="1000", stake="10%")),
            run_dir=tmp_path / "run", warmup_bars=1,
        ), on_update=update, ops=ops)  # fmt: skip
        running = asyncio.create_task(session.run())
        try:
            await wait_until(lambda: len(Tape.seen) >= 100 or running.done(), 60, "100 prints")
            assert not running.done()

            # Act: the primary freezes for 8 s (sockets silent, REST hangs).
            venues["binance"].chaos.begin(VenueFault(kind=FaultKind.VENUE_STALL, at_s=0,
                                                     duration_s=8.0))  # fmt: skip
            await wait_until(lambda: "trades: binance2 -> binance (recovered)" in alerts, 60,
                             "the trade source's switch back")  # fmt: skip
            at_back = len(Tape.seen)
            await wait_until(lambda: len(Tape.seen) >= at_back + 100, 30, "prints after it")
            assert ops.facade is not None
            metrics = BotMetrics(ops.facade).render().decode()
        finally:
            session.stop()
            await asyncio.wait_for(running, 60)
        needs = session._needs
        assert needs is not None

    # Assert: away on the stall and back once healthy, each switch journalled and a metric.
    assert "trades: binance -> binance2 (silent)" in alerts, alerts
    assert 'tradewind_source_switches_total{need="trades"} 2.0' in metrics, metrics
    assert 'tradewind_source_active{need="trades",source="binance"} 1.0' in metrics
    # Every print once, in order: the recording's ids run on without a gap across both seams.
    ids = [int(t.trade_id) for t in Tape.seen]
    assert len(ids) >= 300
    gaps = [(a, b) for a, b in itertools.pairwise(ids) if b != a + 1]
    assert gaps == [], gaps[:5]
    assert all(t.symbol == SYMBOL for t in Tape.seen)
    assert all(b.ts >= a.ts for a, b in itertools.pairwise(Tape.seen))
    assert needs.trades == len(ids)
