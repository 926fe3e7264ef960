"""A live session keeps reconciling while it trades: what the bot did not make is journalled, and an
order with the bot's own client-id prefix that the session never sent pauses new entries.

The session trades the recorded XRP/ETH minutes replayed at 120 times real speed on the exchange
simulator, through the real ccxt client; the hand-made orders are sent on the same account by a
second client, as an operator would.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path

import orjson
import pandas as pd
import pytest

from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.config import AppConfig
from tradewind.connectors.client import create_async_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.core.intents import IntentAction
from tradewind.data.session_recording import read_table
from tradewind.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.accounts import Permissions
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.persistence.config import DatabaseConfig
from tradewind.series.bars import BarSeries
from tradewind.session.live import LiveConfig, LiveSession
from tradewind.session.operate import SessionOps
from tradewind.strategies.base import Strategy, StrategyContext

SYMBOL = "XRP/ETH"


class Churn(Strategy):
    """Enters at one bar's close and exits at the next one's."""

    name = "churn_reconcile"

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        held = ctx.position(SYMBOL)
        ctx.emit(SYMBOL, IntentAction.EXIT_LONG if held > 0 else IntentAction.ENTER_LONG)


@pytest.mark.slow
async def test_a_session_reconciles_while_trading_and_fails_closed_on_a_divergence(
    shared_data: Path, tmp_path: Path
) -> None:
    sim = SimExchange(seed=41, clock=SimClock(speed=120), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    async with LoopbackServer(sim) as server:
        key = server.call(
            lambda: server.sim.open_account(
                "reconciling", balances={"ETH": 10, "XRP": 5000},
                permissions=Permissions(ip_restrict=True),
            )
        )  # fmt: skip
        exchange = ExchangeConfig(rest_url=server.rest_url, api_key=key.key, secret=key.secret,
                                  rate_limit=False, timeout_ms=15_000)  # fmt: skip
        config = LiveConfig(
            exchange=exchange, strategies=[Churn()], symbols=(SYMBOL,), timeframe="1m",
            spec=BacktestSpec(account=Account(cash="1", stake="50%")), run_dir=tmp_path / "run",
            warmup_bars=20, max_capital=Decimal("0.5"), confirmed=True, poll_s=0.05,
            reconcile_s=0.5, max_bars=200,
        )  # fmt: skip
        ops = SessionOps(AppConfig(database=DatabaseConfig(bots_dir=str(tmp_path / "bots"))),
                         "reconciling", mode="live")  # fmt: skip
        session = LiveSession(config, ops=ops)
        running = asyncio.create_task(session.run())
        hand = create_async_client(exchange)
        try:
            await hand.load_markets()
            deadline = time.monotonic() + 60
            while session.status.fills < 2 or session.reconciling is None:
                assert time.monotonic() < deadline, "the session did not trade"
                assert not running.done(), running
                await asyncio.sleep(0.1)
            reconciling = session.reconciling
            bid = (await hand.fetch_order_book(SYMBOL, 5))["bids"][0][0]
            await hand.create_order(SYMBOL, "limit", "buy", 10, round(bid * 0.5, 8),
                                    {"newClientOrderId": "by-hand-1"})  # fmt: skip
            while not any("by-hand-1" in f.detail for f in reconciling.findings):
                assert time.monotonic() < deadline, reconciling.findings
                await asyncio.sleep(0.1)
            assert session.driver is not None
            assert session.driver.node.paused == ""  # not the bot's: reported, trading goes on
            rogue = "tw-lv-rogue-1"
            await hand.create_order(SYMBOL, "limit", "buy", 10, round(bid * 0.5, 8),
                                    {"newClientOrderId": rogue})  # fmt: skip
            while not session.driver.node.paused:
                assert time.monotonic() < deadline, reconciling.findings
                await asyncio.sleep(0.1)
            assert session.driver.node.paused.startswith("reconcile: ")
            assert rogue in session.driver.node.paused
        finally:
            session.stop()
            await running
            await hand.close()
    # The run folder records the capital traded (the 0.5 ETH cap, not the spec's 1 ETH): the
    # drift report replays the session with it.
    settings = orjson.loads((tmp_path / "run" / "session.json").read_bytes())
    assert Decimal(settings["cash"]) == Decimal("0.5")
    assert "periodic" in reconciling.passes
    assert reconciling.failures == 0
    assert not [f for f in reconciling.findings if f.kind == "missed_fill"]
    # Each finding is an alert in the session's journal, named.
    journal = read_table(tmp_path / "run", "journal")
    alerts = [orjson.loads(p) for p in journal[journal["kind"] == "alert"]["payload"]]
    found = {(a["reconcile"], a["detail"].split(":")[0]) for a in alerts if "reconcile" in a}
    assert ("foreign_order", "by-hand-1") in found
    assert any(kind == "divergence" and rogue in detail for kind, detail in
               ((a["reconcile"], a["detail"]) for a in alerts if "reconcile" in a))  # fmt: skip
