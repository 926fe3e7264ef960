"""A paper session reads ``[[sources.funding]]``: a strategy's ``on_bar`` reads
``ctx.market_context(symbol).reading("funding")``, the funding rate of the need's active venue,
polled over REST with failover. The funding venues are a simulated Binance (primary) and Bybit
(secondary) with the real ccxt clients, beside a third simulated Binance that serves the
session's candles as fast as the session reads them (so bars keep coming while the primary is
away). The primary's server is stopped mid-session: the readings go on from Bybit from the next
poll, without a missing poll, and the session journals the switch, alerts it and exports it as a
metric."""

from __future__ import annotations

import asyncio
import math
import socket
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from sourcekit import wait_until

from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.config import AppConfig
from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.source_config import SourcesConfig
from tradewind.core.market_context import ContextReading
from tradewind.data.session_recording import read_table
from tradewind.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.multi_venue import MultiVenue, Venue, VenueSpec, build_venue
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.ops.metrics import BotMetrics
from tradewind.persistence.config import DatabaseConfig
from tradewind.series.bars import BarSeries
from tradewind.session.operate import SessionOps
from tradewind.session.paper import PaperConfig, PaperSession, SessionStatus
from tradewind.strategies.base import Strategy, StrategyContext

PERP = "XRP/USDT:USDT"


class FundingReader(Strategy):
    """Notes the funding reading it sees at every bar (and never trades)."""

    name = "funding_reader"

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.seen: list[ContextReading] = []

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        context = ctx.market_context(PERP)
        reading = context.reading("funding") if context is not None else None
        if reading is not None:
            self.seen.append(reading)


def _free_port() -> int:
    # A port of its own, known before the server starts (as in test_polled_sources).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _candle_venue(shared_data: Path) -> SimExchange:
    # The perpetual's recorded 5-minute candles replayed as fast as the session reads them (as
    # in test_paper_perpetual_funding): bars keep coming while the funding venues are polled on
    # the wall clock.
    futures = shared_data / "futures"
    sim = SimExchange(seed=11, clock=SimClock(speed=math.inf), history=0.5)
    sim.add_listing(
        shared_listings()["usdm:XRPUSDT"],
        klines={"5m": pd.read_feather(futures / "XRP_USDT_USDT-5m-futures.feather")},
        funding=pd.read_feather(futures / "XRP_USDT_USDT-8h-funding_rate.feather"),
    )  # fmt: skip
    return sim


@pytest.mark.slow
async def test_strategies_read_funding_through_a_failover_of_its_polled_sources(
    shared_data: Path, tmp_path: Path
) -> None:
    # Arrange
    clock = SimClock(speed=1.0)
    specs = [VenueSpec("binance", "binance", _free_port(), seed=1),
             VenueSpec("bybit", "bybit", 0, seed=3)]  # fmt: skip
    venues = MultiVenue([Venue(s, build_venue(s, shared_data, clock=clock)) for s in specs])
    reader = FundingReader()
    alerts: list[str] = []

    def update(status: SessionStatus) -> None:
        if status.alerts and (not alerts or status.alerts[-1] != alerts[-1]):
            alerts.append(status.alerts[-1])

    async with venues, LoopbackServer(_candle_venue(shared_data)) as candles:
        candle_exchange = ExchangeConfig(rest_url=candles.rest_url, rate_limit=False,
                                         timeout_ms=15_000)  # fmt: skip
        funding = [{"name": v.spec.name,
                    "exchange": {"name": v.spec.protocol, "rest_url": v.server.rest_url,
                                 "rate_limit": False, "timeout_ms": 2_000}}
                   for v in venues.venues]  # fmt: skip
        sources = SourcesConfig.model_validate({
            "candles": [{"name": "candles", "exchange": candle_exchange.model_dump()}],
            "funding": funding, "poll_period_s": 0.25, "poll_timeout_s": 2.0,
            # No switch back within the test: the primary stays away until the session ends.
            "switch_back_after_s": 600.0,
        })  # fmt: skip
        ops = SessionOps(AppConfig(database=DatabaseConfig(bots_dir=str(tmp_path / "bots"))),
                         "polled-sources", mode="paper")  # fmt: skip
        session = PaperSession(PaperConfig(
            exchange=candle_exchange, sources=sources, strategies=[reader], symbols=(PERP,),
            timeframe="5m", spec=BacktestSpec(account=Account(cash="1000", stake="10%")),
            run_dir=tmp_path / "run", warmup_bars=30,
        ), on_update=update, ops=ops)  # fmt: skip
        running = asyncio.create_task(session.run())
        primary = venues["binance"]

        def read_from(venue: str) -> int:
            return sum(r.venue == venue for r in reader.seen)

        try:
            await wait_until(lambda: read_from("binance") >= 3 or running.done(), 90,
                             "bars that read the primary's funding")  # fmt: skip
            assert not running.done()
            # Act: the primary's server goes away (connections refused from now on).
            await primary.server.stop_async()
            await wait_until(lambda: read_from("bybit") >= 3 or running.done(), 60,
                             "bars that read the secondary's funding")  # fmt: skip
            assert not running.done()
            assert ops.facade is not None
            metrics = BotMetrics(ops.facade).render().decode()
        finally:
            session.stop()
            await asyncio.wait_for(running, 60)
        needs = session._needs
        assert needs is not None
        funding_set = needs.polled["funding"]

    # Assert: the strategy read the primary's rates, then the secondary's, each from the venue
    # that gave it, the poll numbers never running back.
    venues_read = [r.venue for r in reader.seen]
    first_bybit = venues_read.index("bybit")
    assert set(venues_read[:first_bybit]) == {"binance"}
    assert set(venues_read[first_bybit:]) == {"bybit"}
    assert all(r.secondary == (r.venue == "bybit") for r in reader.seen)
    assert all(b.poll >= a.poll for a, b in zip(reader.seen, reader.seen[1:], strict=False))
    assert all(r.symbol == PERP and r.next_funding_ms is not None for r in reader.seen)
    assert all(abs(r.value) < Decimal("0.01") for r in reader.seen)
    # The session's one switch: an event it alerted and journalled, counted, and a metric.
    assert funding_set.switches == 1
    assert "funding: binance -> bybit (error)" in alerts, alerts
    assert 'tradewind_source_switches_total{need="funding"} 1.0' in metrics, metrics
    assert 'tradewind_source_active{need="funding",source="bybit"} 1.0' in metrics
    journal = read_table(tmp_path / "run", "journal")
    payloads = [orjson.loads(p) for p in journal["payload"]]
    switched = [p for p in payloads if p.get("source_event") == "SourceSwitched"]
    assert [(p["need"], p["previous"], p["active"]) for p in switched] == [
        ("funding", "binance", "bybit")]  # fmt: skip
    # Every poll's reading was handed on and journalled once: no poll missing across the seam.
    journalled = [p["reading"] for p in payloads if "reading" in p]
    assert [r["poll"] for r in journalled] == list(range(1, len(journalled) + 1))
    assert len(journalled) == needs.readings
    assert journalled[0]["venue"] == "binance"
    assert journalled[-1]["venue"] == "bybit"
