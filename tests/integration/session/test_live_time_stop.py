"""A live session's time stop: after ``max_bars`` bars the position exits at market at the bar's
close, as in the backtest, and since its native stop rests on the exchange, the stop is canceled
first and the exit is sent once the exchange has confirmed the cancel (never both filled).

The real ccxt client against the exchange simulator replaying the recorded XRP/ETH minutes at 120
times real speed; the truth is the simulator's own ledger.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.config import AppConfig
from tradewind.connectors.config import ExchangeConfig
from tradewind.core.intents import IntentAction
from tradewind.core.orders import OrderStatus
from tradewind.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.accounts import Permissions
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.persistence.bots import open_bot
from tradewind.persistence.config import DatabaseConfig
from tradewind.risk.config import parse_risk
from tradewind.series.bars import BarSeries
from tradewind.session.live import LiveConfig, LiveSession
from tradewind.session.operate import SessionOps
from tradewind.strategies.base import Strategy, StrategyContext

SYMBOL, SYMBOL_ID = "XRP/ETH", "XRPETH"
MAX_BARS = 3


class EnterOnce(Strategy):
    """Buys once, at its first bar, and never exits by itself."""

    name = "enter_once_timed"

    def __init__(self) -> None:
        super().__init__()
        self.entered = False

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        if not self.entered:
            self.entered = True
            ctx.emit(SYMBOL, IntentAction.ENTER_LONG)


@pytest.mark.slow
async def test_a_time_stop_exits_after_its_bars_once_the_native_stop_is_canceled(
    shared_data: Path, tmp_path: Path
) -> None:
    sim = SimExchange(seed=47, clock=SimClock(speed=120), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    async with LoopbackServer(sim) as server:
        key = server.call(lambda: server.sim.open_account(
            "timestop", balances={"ETH": 10, "XRP": 5000},
            permissions=Permissions(ip_restrict=True)))  # fmt: skip
        risk = parse_risk({"exits": {"stop_pct": 0.05, "max_bars": MAX_BARS}})
        config = LiveConfig(
            exchange=ExchangeConfig(rest_url=server.rest_url, api_key=key.key, secret=key.secret,
                                    rate_limit=False, timeout_ms=15_000),
            strategies=[EnterOnce()], symbols=(SYMBOL,), timeframe="1m",
            spec=BacktestSpec(account=Account(cash="1", stake="50%"), risk=risk),
            run_dir=tmp_path / "run", warmup_bars=20, max_capital=Decimal("0.5"), confirmed=True,
            poll_s=0.05, max_orders_per_minute=1000, max_bars=MAX_BARS + 8,
        )  # fmt: skip
        ops = SessionOps(AppConfig(database=DatabaseConfig(bots_dir=str(tmp_path / "bots"))),
                         "timestop", mode="live")  # fmt: skip
        await LiveSession(config, ops=ops).run()
        ledger = server.call(lambda: sorted(server.sim.store.all_orders(key.account, False,
                                                                        SYMBOL_ID),
                                            key=lambda o: o.order_id))  # fmt: skip
    [entry] = [o for o in ledger if o.side == "BUY"]
    [stop] = [o for o in ledger if o.type == "STOP_LOSS"]
    [exit_order] = [o for o in ledger if o.side == "SELL" and o.type == "MARKET"]
    assert entry.status == "FILLED"
    # The stop rested, then gave way: canceled before the time stop's exit was sent.
    assert stop.status == "CANCELED"
    assert stop.updated_ms <= exit_order.created_ms
    assert exit_order.status == "FILLED"
    assert exit_order.filled == stop.qty
    # Written ahead and booked once, named as a time stop.
    bot = open_bot("timestop", bots_dir=tmp_path / "bots", create=False)
    with bot.repository() as repository:
        stored = {o.client_id: o for o in repository.load_orders()}
        fills = [f for f, _ in repository.load_fills()]
    bot.engine.dispose()
    assert stored[exit_order.client_id].tag == "time_stop"
    # It fired after its bars, not before (the session's clock: bar closes, one a minute; the
    # session may close bars the exchange closed a while ago, so the exchange's clock says less).
    held_ms = stored[exit_order.client_id].created_ts - stored[entry.client_id].created_ts
    assert held_ms >= (MAX_BARS - 1) * 60_000, held_ms
    assert stored[exit_order.client_id].status is OrderStatus.FILLED
    assert sum(f.quantity for f in fills if f.client_id == exit_order.client_id) == (
        exit_order.filled
    )
    assert len({f.trade_id for f in fills}) == len(fills)
