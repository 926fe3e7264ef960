"""A live session against the exchange simulator, with the real ccxt client and a simulator key.

The simulator replays the recorded XRP/ETH minutes at 120 times real speed (a bar every half
second); the session warms up over REST, sends real orders through the live venue port, and the
truth is the simulator's own ledger for the account, read without any client.
"""

from __future__ import annotations

import io
import itertools
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.config import AppConfig
from tradewind.connectors.config import ExchangeConfig
from tradewind.core.algo_spec import Algo, AlgoSpec
from tradewind.core.errors import UserError
from tradewind.core.intents import IntentAction, PriceType
from tradewind.core.orders import OrderStatus
from tradewind.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.accounts import ApiKey, Permissions
from tradewind.exchange_sim.orders import SimOrder
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.logs import RedactingFilter
from tradewind.persistence import queries
from tradewind.persistence.audit import verify_chain
from tradewind.persistence.bots import open_bot
from tradewind.persistence.config import DatabaseConfig
from tradewind.series.bars import BarSeries
from tradewind.session.live import LiveConfig, LiveSession
from tradewind.session.live_driver import LiveDriver
from tradewind.session.operate import SessionOps
from tradewind.strategies.base import Strategy, StrategyContext

SYMBOL = "XRP/ETH"
_names = itertools.count(1)


class Churn(Strategy):
    """Enters at one bar's close and exits at the next one's: a round trip every two bars."""

    name = "churn_live"

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        held = ctx.position(SYMBOL)
        ctx.emit(SYMBOL, IntentAction.EXIT_LONG if held > 0 else IntentAction.ENTER_LONG)


class Lowball(Strategy):
    """Bids 30% under the close with a limit entry (it rests: nothing trades that low)."""

    name = "lowball_live"

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        price = (Decimal(repr(float(bars.close[i]))) * Decimal("0.7")).quantize(Decimal("1e-8"))
        ctx.emit(SYMBOL, IntentAction.ENTER_LONG, price_type=PriceType.LIMIT, limit_price=price)


def _sim(shared_data: Path, seed: int) -> SimExchange:
    sim = SimExchange(seed=seed, clock=SimClock(speed=120), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    return sim


def _key(server: LoopbackServer, **permissions: Any) -> ApiKey:
    name = f"livesession{next(_names)}"
    rights = Permissions(ip_restrict=True, **permissions)
    return server.call(
        lambda: server.sim.open_account(name, balances={"ETH": 10, "XRP": 5000}, permissions=rights)
    )


def _config(server: LoopbackServer, key: ApiKey, tmp_path: Path, strategy: Strategy,
            **kw: Any) -> LiveConfig:  # fmt: skip
    settings: dict[str, Any] = {
        "exchange": ExchangeConfig(rest_url=server.rest_url, api_key=key.key, secret=key.secret,
                                   rate_limit=False, timeout_ms=15_000),
        "strategies": [strategy], "symbols": (SYMBOL,), "timeframe": "1m",
        "spec": BacktestSpec(account=Account(cash="1", stake="50%")),
        "run_dir": tmp_path / "run", "warmup_bars": 20, "max_capital": Decimal("0.5"),
        "confirmed": True, "poll_s": 0.05, **kw,
    }  # fmt: skip
    return LiveConfig(**settings)


def _ops(tmp_path: Path) -> SessionOps:
    config = AppConfig(database=DatabaseConfig(bots_dir=str(tmp_path / "bots")))
    return SessionOps(config, "live-test", mode="live")


def _ledger(server: LoopbackServer, key: ApiKey) -> list[SimOrder]:
    return server.call(lambda: list(server.sim.store.all_orders(key.account, False, "XRPETH")))


_LEDGER = {"NEW": OrderStatus.ACCEPTED, "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
           "FILLED": OrderStatus.FILLED, "CANCELED": OrderStatus.CANCELED,
           "EXPIRED": OrderStatus.EXPIRED, "REJECTED": OrderStatus.REJECTED}  # fmt: skip


@pytest.mark.slow
async def test_a_live_session_trades_and_its_database_equals_the_exchange_ledger(
    shared_data: Path, tmp_path: Path
) -> None:
    async with LoopbackServer(_sim(shared_data, 21)) as server:
        key = _key(server)
        session = LiveSession(_config(server, key, tmp_path, Churn(), max_bars=14),
                              ops=_ops(tmp_path))  # fmt: skip
        await session.run()
        ledger = _ledger(server, key)
    bot = open_bot("live-test", bots_dir=tmp_path / "bots")
    repository = bot.repository()
    stored = {o.client_id: o for o in repository.load_orders()}
    fills = [f for f, _ in repository.load_fills()]
    filled = [o for o in ledger if o.status == "FILLED"]
    assert len([o for o in filled if o.side == "SELL"]) >= 3, "too few round trips"
    # One to one: every order on the exchange is in the database (written before it was sent)
    # with the exchange's status and filled quantity, and every fill is booked once.
    assert sorted(stored) == sorted(o.client_id for o in ledger)
    for order in ledger:
        mine = stored[order.client_id]
        assert mine.status is _LEDGER[order.status], order.client_id
        assert mine.filled_quantity == order.filled, order.client_id
        booked = [f for f in fills if f.client_id == order.client_id]
        assert len(booked) == len(order.fills)
        assert sum(f.quantity for f in booked) == order.filled
    assert len({f.trade_id for f in fills}) == len(fills)
    # The capital cap: 50% of the 0.5 ETH the bot may use, not of the account's 10 ETH.
    buys = [o for o in filled if o.side == "BUY"]
    assert buys
    assert all(o.cum_quote <= Decimal("0.26") for o in buys), [o.cum_quote for o in buys]
    assert "reconciled" in " ".join(session.status.alerts) or session.reconciled
    # Every request took its weight from the budget all processes on the machine share.
    assert (tmp_path / "bots" / "rate-binance.json").is_file()


@pytest.mark.slow
async def test_an_unfilled_entry_is_cancelled_after_the_entry_timeout(
    shared_data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A log handler as the CLI installs it (the redacting filter on the handler), at DEBUG,
    # where ccxt writes every request's headers.
    caplog.set_level(logging.DEBUG)
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    handler.addFilter(RedactingFilter())
    logging.getLogger().addHandler(handler)
    try:
        async with LoopbackServer(_sim(shared_data, 22)) as server:
            key = _key(server)
            config = _config(server, key, tmp_path, Lowball(), max_bars=8, entry_timeout_s=1.0)
            session = LiveSession(config, ops=_ops(tmp_path))
            await session.run()
            ledger = {o.client_id: o for o in _ledger(server, key)}
    finally:
        logging.getLogger().removeHandler(handler)
    # The key and its secret appear nowhere: not in the log, the run folder or the database.
    text = log.getvalue()
    assert "X-MBX-APIKEY" in text
    assert "not filled within" in text
    written = b"".join(f.read_bytes() for f in tmp_path.rglob("*") if f.is_file())
    for secret in (key.key, key.secret):
        assert secret not in text
        assert secret.encode() not in written
    driver = session.driver
    assert isinstance(driver, LiveDriver)
    assert driver.timed_out, "no entry timed out"
    for client_id in driver.timed_out:
        assert ledger[client_id].status == "CANCELED"
        assert ledger[client_id].filled == 0
    assert all(o.status != "NEW" for o in ledger.values()), "an order outlived the session"


@pytest.mark.slow
async def test_the_order_rate_breaker_halts_new_entries(shared_data: Path, tmp_path: Path) -> None:
    async with LoopbackServer(_sim(shared_data, 23)) as server:
        key = _key(server)
        config = _config(server, key, tmp_path, Churn(), max_bars=14, max_orders_per_minute=3)
        ops = _ops(tmp_path)
        session = LiveSession(config, ops=ops)
        await session.run()
        ledger = _ledger(server, key)
    driver = session.driver
    assert isinstance(driver, LiveDriver)
    assert driver.breaker.startswith("order-rate breaker")
    assert driver.node.paused == driver.breaker
    # The trip is its own row in the audit chain (engine), and the chain verifies.
    assert ops.database is not None
    trips = queries.operator_actions(ops.database.engine, None, limit=100, decisions=True)
    trips = [a for a in trips if a["action"] == "risk.breaker"]
    assert [(a["actor"], a["channel"]) for a in trips] == [("engine", "engine")]
    assert verify_chain(ops.database.engine, ops.audit_key).ok
    # The fourth order tripped it; after it only exits (at most the one closing position) pass.
    assert 4 <= len(ledger) <= 5, [(o.side, o.status) for o in ledger]


async def test_a_key_that_can_withdraw_is_refused_before_anything_is_sent(
    shared_data: Path, tmp_path: Path
) -> None:
    async with LoopbackServer(_sim(shared_data, 24)) as server:
        key = _key(server, withdrawals=True)
        session = LiveSession(_config(server, key, tmp_path, Churn(), max_bars=4),
                              ops=_ops(tmp_path))  # fmt: skip
        with pytest.raises(UserError, match="can withdraw"):
            await session.run()
        assert _ledger(server, key) == []


def test_a_live_session_needs_its_confirmation(tmp_path: Path) -> None:
    exchange = ExchangeConfig(api_key="k", secret="s")
    with pytest.raises(UserError, match="--i-understand-live-orders"):
        LiveConfig(exchange=exchange, strategies=[Churn()], symbols=(SYMBOL,), timeframe="1m",
                   run_dir=tmp_path, max_capital=Decimal(100))  # fmt: skip
    with pytest.raises(UserError, match="needs the exchange key"):
        LiveConfig(exchange=ExchangeConfig(), strategies=[Churn()], symbols=(SYMBOL,),
                   timeframe="1m", run_dir=tmp_path, max_capital=Decimal(100), confirmed=True)  # fmt: skip


class TwapChurn(Strategy):
    """Enters every fourth bar and exits two bars later, each as a TWAP of three one-minute
    slices it names itself."""

    name = "twap_churn_live"

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        held = ctx.position(SYMBOL)
        twap = AlgoSpec(algo=Algo.TWAP, horizon_ms=180_000, slices=3, guard_bps=Decimal(50))
        if i % 4 == 0 and held == 0:
            ctx.emit(SYMBOL, IntentAction.ENTER_LONG, algo=twap)
        elif i % 4 == 2 and held > 0:
            ctx.emit(SYMBOL, IntentAction.EXIT_LONG, algo=twap)


@pytest.mark.slow
async def test_a_live_session_sends_a_named_twap_as_children_the_exchange_fills(
    shared_data: Path, tmp_path: Path
) -> None:
    async with LoopbackServer(_sim(shared_data, 25)) as server:
        key = _key(server)
        config = _config(server, key, tmp_path, TwapChurn(), max_bars=16,
                         max_orders_per_minute=1000)  # fmt: skip
        session = LiveSession(config, ops=_ops(tmp_path))
        await session.run()
        ledger = {o.client_id: o for o in _ledger(server, key)}
    driver = session.driver
    assert isinstance(driver, LiveDriver)
    parents = driver.node.desk.parents()
    assert len(parents) >= 2
    assert {p.spec.algo for p in parents} == {Algo.TWAP}
    for parent in parents:
        # Every child on the exchange under its parent's id and slice number, none twice, and
        # what the exchange filled for them is the parent's fill, never more than it asked.
        assert parent.children == [f"{parent.parent_id}-{k}" for k in
                                   range(1, len(parent.children) + 1)]  # fmt: skip
        assert set(parent.children) <= set(ledger)
        filled = sum((ledger[c].filled for c in parent.children), Decimal(0))
        assert filled == parent.filled_quantity <= parent.quantity
    assert any(len(p.children) >= 2 and p.filled_quantity > 0 for p in parents)
    assert set(ledger) == {c for p in parents for c in p.children}
    assert all(o.status != "NEW" for o in ledger.values()), "an order outlived the session"
