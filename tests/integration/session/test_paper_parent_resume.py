"""A paper bot stopped while a TWAP works resumes the TWAP when it starts again, on the same bot.

The exchange simulator replays the recorded XRP/ETH minutes as fast as the session reads them.
The first session's strategy buys once as a TWAP of ten one-minute slices and the session stops
after a few bars, mid-schedule: the parent's row in the bot's database is still working, its
children recorded. The second session's strategy never acts; the parent resumes from its
recorded children and finishes: every child id once, numbered on from the first session's, and
what the children filled is the parent's quantity, booked once into the account.
"""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.config import AppConfig
from tradewind.connectors.config import ExchangeConfig
from tradewind.core.algo_spec import Algo, AlgoSpec
from tradewind.core.intents import IntentAction
from tradewind.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.execution.parent import ParentStatus
from tradewind.persistence.bots import open_bot
from tradewind.persistence.config import DatabaseConfig
from tradewind.persistence.execution import ExecutionStore
from tradewind.series.bars import BarSeries
from tradewind.session.operate import SessionOps
from tradewind.session.paper import PaperConfig, PaperSession
from tradewind.strategies.base import Strategy, StrategyContext

SYMBOL = "XRP/ETH"
TWAP = AlgoSpec(algo=Algo.TWAP, horizon_ms=10 * 60_000, slices=10, guard_bps=Decimal(80))


class BuyOnce(Strategy):
    """Buys once, at its first bar, as a ten-minute TWAP (when told to)."""

    name = "buy_once_twap"

    def __init__(self, enter: bool) -> None:
        super().__init__()
        self.enter = enter

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        if self.enter:
            self.enter = False
            ctx.emit(SYMBOL, IntentAction.ENTER_LONG, algo=TWAP)


def _config(server: LoopbackServer, tmp_path: Path, run: str, enter: bool,
            bars: int) -> PaperConfig:  # fmt: skip
    return PaperConfig(
        exchange=ExchangeConfig(rest_url=server.rest_url, rate_limit=False, timeout_ms=15_000),
        strategies=[BuyOnce(enter)], symbols=(SYMBOL,), timeframe="1m",
        spec=BacktestSpec(account=Account(cash="2", stake="50%")), run_dir=tmp_path / run,
        warmup_bars=30, max_bars=bars,
    )  # fmt: skip


def _ops(tmp_path: Path) -> SessionOps:
    return SessionOps(AppConfig(database=DatabaseConfig(bots_dir=str(tmp_path / "bots"))),
                      "resumer")  # fmt: skip


@pytest.mark.slow
async def test_a_paper_twap_stopped_mid_schedule_resumes_and_finishes(
    shared_data: Path, tmp_path: Path
) -> None:
    sim = SimExchange(seed=13, clock=SimClock(speed=math.inf), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    async with LoopbackServer(sim) as server:
        first = PaperSession(_config(server, tmp_path, "run1", True, 4), ops=_ops(tmp_path))
        await first.run()
        bot = open_bot("resumer", bots_dir=tmp_path / "bots", create=False)
        [stopped] = ExecutionStore(bot.engine, bot.bot_id).parents()
        assert stopped.parent.status is ParentStatus.WORKING
        assert 0 < stopped.children < 10
        second = PaperSession(_config(server, tmp_path, "run2", False, 15), ops=_ops(tmp_path))
        await second.run()
    parent_id = stopped.parent.parent_id
    assert second.driver is not None
    resumed = second.driver.node.desk.engine.parents[parent_id]
    assert resumed.status is ParentStatus.DONE, resumed.reason
    [after] = ExecutionStore(bot.engine, bot.bot_id).parents()
    with bot.repository() as repository:
        orders = [o for o in repository.load_orders() if o.client_id.startswith(f"{parent_id}-")]
        fills = [f for f, _ in repository.load_fills() if f.client_id.startswith(f"{parent_id}-")]
        held = {p.symbol: p.quantity for p in repository.load_positions()}
    bot.engine.dispose()
    ids = [o.client_id for o in orders]
    assert len(ids) == len(set(ids))
    assert ids == [f"{parent_id}-{k}" for k in range(1, len(ids) + 1)]  # no number skipped
    assert len(ids) > stopped.children, "no child was sent after the restart"
    assert resumed.children == ids
    assert after.parent.status is ParentStatus.DONE
    filled = sum((f.quantity for f in fills), Decimal(0))
    assert filled == after.parent.filled_quantity == resumed.quantity
    assert len({f.trade_id for f in fills}) == len(fills)  # each fill booked once
    assert held[SYMBOL] > 0
