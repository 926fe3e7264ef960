"""A live session's protective stops rest on the exchange: placed after each entry, moved by
cancel-replace as the trail rises, canceled before a strategy's exit (the exit is sent once the
cancel is confirmed, so the two never both fill), and, when the price reaches one, filled by the
exchange and booked once.

The real ccxt client against the exchange simulator replaying the recorded XRP/ETH minutes at 120
times real speed; the truth is the simulator's own ledger for the account.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

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
from tradewind.session.live_driver import LiveDriver
from tradewind.session.operate import SessionOps
from tradewind.strategies.base import Strategy, StrategyContext

SYMBOL = "XRP/ETH"
HOLD = 4


class HoldFor(Strategy):
    """Enters when flat and exits after holding ``HOLD`` bars (unless its stop fired first)."""

    name = "hold_for_live"

    def __init__(self) -> None:
        super().__init__()
        self.held_bars = 0

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        if ctx.position(SYMBOL) > 0:
            self.held_bars += 1
            if self.held_bars >= HOLD:
                ctx.emit(SYMBOL, IntentAction.EXIT_LONG)
            return
        self.held_bars = 0
        ctx.emit(SYMBOL, IntentAction.ENTER_LONG)


def _sim(shared_data: Path) -> SimExchange:
    sim = SimExchange(seed=31, clock=SimClock(speed=120), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    return sim


def _config(server: LoopbackServer, key: Any, tmp_path: Path, **kw: Any) -> LiveConfig:
    risk = parse_risk({"exits": {"stop_pct": 0.003, "trailing_pct": 0.0015}})
    return LiveConfig(
        exchange=ExchangeConfig(rest_url=server.rest_url, api_key=key.key, secret=key.secret,
                                rate_limit=False, timeout_ms=15_000),
        strategies=[HoldFor()], symbols=(SYMBOL,), timeframe="1m",
        spec=BacktestSpec(account=Account(cash="1", stake="50%"), risk=risk),
        run_dir=tmp_path / "run", warmup_bars=20, max_capital=Decimal("0.5"), confirmed=True,
        poll_s=0.05, max_orders_per_minute=200, **kw,
    )  # fmt: skip


@pytest.mark.slow
async def test_native_stops_rest_move_give_way_to_exits_and_fill_once(
    shared_data: Path, tmp_path: Path
) -> None:
    async with LoopbackServer(_sim(shared_data)) as server:
        key = server.call(lambda: server.sim.open_account(
            "nativestops", balances={"ETH": 10, "XRP": 5000},
            permissions=Permissions(ip_restrict=True)))  # fmt: skip
        ops = SessionOps(AppConfig(database=DatabaseConfig(bots_dir=str(tmp_path / "bots"))),
                         "stops-test", mode="live")  # fmt: skip
        session = LiveSession(_config(server, key, tmp_path, max_bars=40), ops=ops)
        await session.run()
        ledger = server.call(
            lambda: sorted(server.sim.store.all_orders(key.account, False, "XRPETH"),
                           key=lambda o: o.order_id))  # fmt: skip
    driver = session.driver
    assert isinstance(driver, LiveDriver)
    assert driver.stops is not None
    stops = [o for o in ledger if o.type == "STOP_LOSS"]
    entries = [o for o in ledger if o.side == "BUY" and o.status == "FILLED"]
    exits = [o for o in ledger if o.side == "SELL" and o.type == "MARKET" and o.status == "FILLED"]
    fired = [o for o in stops if o.status == "FILLED"]
    assert len(entries) >= 3, "too few entries to prove anything"
    assert fired, "no stop filled on the exchange: the test proves nothing"
    assert exits, "no strategy exit: the stop never gave way to one"
    # After each filled entry, its stop on the exchange (or, where the exchange refused it as
    # already reached, an exit at market) comes before the next entry.
    for entry in entries:
        after = [o for o in ledger if o.order_id > entry.order_id and o.side == "SELL"]
        assert after, entry.client_id
        if after[0].type == "STOP_LOSS":
            assert after[0].qty <= entry.filled, entry.client_id
            assert after[0].stop_price < entry.cum_quote / entry.filled
    # The trail moved a stop: canceled, then placed again higher for the same position.
    moved = [(a, b) for a, b in pairwise(stops)
             if a.status == "CANCELED" and b.stop_price > a.stop_price
             and not any(a.order_id < o.order_id < b.order_id for o in ledger if o.side == "BUY")]  # fmt: skip
    assert moved
    assert driver.stops.moves >= len(moved)
    # Never both: the bot sold at most what it bought (a stop and an exit never both filled). A
    # stopped session leaves a position it still holds protected by its one resting stop (the
    # next start carries it on), and no stop working for a position it does not hold.
    sold = sum(o.filled for o in ledger if o.side == "SELL")
    bought = sum(o.filled for o in ledger if o.side == "BUY")
    assert sold <= bought
    working = [o for o in stops if o.status == "NEW"]
    if bought == sold:
        assert not working
    else:
        assert len(working) <= 1
        assert all(o.qty <= bought - sold for o in working)
    # Written ahead and booked once: the database holds every order with the exchange's fills.
    repository = open_bot("stops-test", bots_dir=tmp_path / "bots").repository()
    stored = {o.client_id: o for o in repository.load_orders()}
    fills = [f for f, _ in repository.load_fills()]
    on_exchange = {o.client_id for o in ledger}
    assert on_exchange <= set(stored)
    refused = [o for c, o in stored.items() if c not in on_exchange]
    assert all(o.status is OrderStatus.REJECTED and o.tag != "exit" for o in refused), refused
    for order in fired:
        booked = [f for f in fills if f.client_id == order.client_id]
        assert len(booked) == len(order.fills) >= 1
        assert sum(f.quantity for f in booked) == order.filled
        assert stored[order.client_id].tag in ("stop", "trailing_stop")
    assert len({f.trade_id for f in fills}) == len(fills)
