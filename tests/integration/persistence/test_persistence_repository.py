"""The SQL repository on SQLite and PostgreSQL: orders with every transition, fills unique by
trade id, positions and balances, and a state round trip through a new process."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tradewind.core.orders import Fill, Liquidity, Order, OrderStatus, OrderType
from tradewind.core.records import Side
from tradewind.core.repository import (
    OrderTransition,
    PositionState,
    RiskEvent,
    TradingRepository,
    TransitionSource,
)
from tradewind.engine.memory_repository import InMemoryRepository
from tradewind.persistence.bots import BotDatabase, account_hash, open_bot
from tradewind.persistence.engine import make_engine, upgrade
from tradewind.persistence.repository import SqlTradingRepository

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def _limit_order(client_id: str = "tw-r1-1") -> Order:
    return Order(
        client_id, "BTC/USDT", Side.BUY, OrderType.LIMIT, Decimal("0.015"),
        price=Decimal("42000.10"), strategy_id="sma", tag="entry", created_ts=T0,
    )  # fmt: skip


def _fill(trade_id: str, quantity: str, client_id: str = "tw-r1-1") -> Fill:
    return Fill(
        client_id, "BTC/USDT", Side.BUY, T0 + 2000, Decimal("42000.10"), Decimal(quantity),
        Decimal("0.0000075"), "BTC", Liquidity.MAKER, trade_id,
    )  # fmt: skip


def _exercise(repo: TradingRepository) -> None:
    repo.record_order(_limit_order(), T0, TransitionSource.ENGINE)
    repo.record_transition(
        OrderTransition("tw-r1-1", OrderStatus.SUBMITTED, T0, TransitionSource.ENGINE)
    )
    repo.record_transition(
        OrderTransition(
            "tw-r1-1", OrderStatus.ACCEPTED, T0 + 5, TransitionSource.VENUE, venue_order_id="88"
        )
    )
    first = OrderTransition(
        "tw-r1-1", OrderStatus.PARTIALLY_FILLED, T0 + 2000, TransitionSource.VENUE,
        filled_quantity=Decimal("0.005"), average_price=Decimal("42000.10"),
    )  # fmt: skip
    assert repo.record_fill(_fill("7001", "0.005"), "sma", first)
    # The same exchange trade again (a replayed stream): refused, nothing changes.
    assert not repo.record_fill(_fill("7001", "0.005"), "sma", first)
    repo.save_positions([PositionState("sma", "BTC/USDT", Decimal("0.0049925"),
                                       Decimal("42000.10"), T0 + 2000)], T0 + 2000)  # fmt: skip
    repo.save_balances({"USDT": Decimal("99789.9995"), "BTC": Decimal("0.0049925")}, T0 + 2000)
    repo.save_balances({"USDT": Decimal("99789.9995")}, T0 + 2001)
    repo.record_equity(T0 + 2000, Decimal("100000.00"), "USDT")
    repo.record_risk_event(RiskEvent(T0, "denial", "daily loss", "sma", "BTC/USDT", "enter_long"))


def _check(repo: TradingRepository) -> None:
    (order,) = repo.load_orders(open_only=True)
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.filled_quantity == Decimal("0.005")
    assert order.price == Decimal("42000.10")
    assert order.quantity == Decimal("0.015")
    assert order.venue_order_id == "88"
    assert order.created_ts == T0
    assert [f.trade_id for f in order.fills] == ["7001"]
    assert order.fills[0].fee == Decimal("0.0000075")
    assert order.fills[0].ts == T0 + 2000
    statuses = [t.status for t in repo.load_transitions("tw-r1-1")]
    assert statuses == [OrderStatus.NEW, OrderStatus.SUBMITTED, OrderStatus.ACCEPTED,
                        OrderStatus.PARTIALLY_FILLED]  # fmt: skip
    (position,) = repo.load_positions()
    assert position.quantity == Decimal("0.0049925")
    assert position.entry_ts == T0 + 2000
    assert repo.load_balances() == {"USDT": Decimal("99789.9995"), "BTC": Decimal("0.0049925")}


def test_in_memory_and_sql_repositories_answer_alike(db_url: str) -> None:
    memory = InMemoryRepository()
    _exercise(memory)
    _check(memory)
    bot = _bot(db_url)
    with bot.repository() as sql:
        assert isinstance(sql, TradingRepository)
        _exercise(sql)
        _check(sql)
    # A fresh repository (new connection) reads the same state.
    with SqlTradingRepository(bot.engine, bot.bot_id) as again:
        _check(again)


def test_exact_money_survives_the_round_trip(db_url: str) -> None:
    bot = _bot(db_url)
    tiny = Decimal("0.000000000000000000000123456789")  # beyond any fixed NUMERIC scale
    with bot.repository() as repo:
        repo.save_balances({"SHIB": Decimal("123456789012345.123456789"), "DUST": tiny}, T0)
        assert repo.load_balances() == {"SHIB": Decimal("123456789012345.123456789"), "DUST": tiny}


def _bot(db_url: str, name: str = "alpha") -> BotDatabase:
    """Bot ``name`` in a shared database (migrated first, as `tradewind db upgrade` does)."""
    engine = make_engine(db_url)
    upgrade(engine)
    engine.dispose()
    return open_bot(name, bots_dir="unused", url=db_url)


def test_a_bot_refuses_another_exchange_account(tmp_path: Path) -> None:
    from tradewind.core.errors import UserError

    bot = open_bot("alpha", bots_dir=tmp_path)
    assert (tmp_path / "alpha" / "state.sqlite").is_file()
    bot.bind_account(account_hash("binance", "key-id-1"))
    again = open_bot("alpha", bots_dir=tmp_path)
    again.bind_account(account_hash("binance", "key-id-1"))  # the same account: fine
    with pytest.raises(UserError, match="another exchange account"):
        again.bind_account(account_hash("binance", "key-id-2"))


def test_each_start_is_a_session(tmp_path: Path) -> None:
    from sqlalchemy import select

    from tradewind.persistence.models import TradingSession

    for _ in range(2):
        bot = open_bot("alpha", bots_dir=tmp_path)
        session = bot.start_session(mode="paper", strategies=["sma_cross"],
                                    parameters={"fast": 10}, config_hash="c0ffee",
                                    code_version="test")  # fmt: skip
        bot.end_session(session, "stopped")
    with bot.engine.connect() as connection:
        rows = connection.execute(select(TradingSession.__table__)).all()
    assert [r.mode for r in rows] == ["paper", "paper"]
    assert all(r.ended_at is not None and r.end_reason == "stopped" for r in rows)
    assert json.loads(rows[0].parameters) == {"fast": 10}


_CHILD = """
import json, sys
from tradewind.persistence.bots import open_bot
bot = open_bot("alpha", bots_dir=sys.argv[1], create=False)
with bot.repository() as repo:
    orders = repo.load_orders(open_only=True)
    print(json.dumps({
        "orders": [[o.client_id, str(o.status), str(o.filled_quantity), [f.trade_id for f in o.fills]]
                   for o in orders],
        "positions": [[p.strategy_id, p.symbol, str(p.quantity), str(p.average_price)]
                      for p in repo.load_positions()],
        "balances": {k: str(v) for k, v in repo.load_balances().items()},
    }))
"""


def test_state_round_trip_through_a_new_process(tmp_path: Path) -> None:
    bot = open_bot("alpha", bots_dir=tmp_path)
    with bot.repository() as repo:
        _exercise(repo)
    out = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path)], capture_output=True,
                         text=True, check=True, timeout=120).stdout  # fmt: skip
    state = json.loads(out)
    assert state["orders"] == [["tw-r1-1", "partially_filled", "0.005", ["7001"]]]
    assert state["positions"] == [["sma", "BTC/USDT", "0.0049925", "42000.10"]]
    assert state["balances"] == {"USDT": "99789.9995", "BTC": "0.0049925"}


def test_profit_report_is_exact(db_url: str) -> None:
    from tradewind.persistence.queries import profit_report

    bot = _bot(db_url)
    legs = [  # (symbol, side, price, quantity, fee): digits a float sum would lose
        ("SHIB/USDT", Side.BUY, "0.000012345678", "123456789.12345678", "0.0015241578"),
        ("SHIB/USDT", Side.SELL, "0.000012345679", "123456789.12345678", "0.0015241579"),
        ("BTC/USDT", Side.BUY, "98765.43210001", "0.00000001", "0.0000000001"),
        ("BTC/USDT", Side.SELL, "98765.43210002", "0.00000001", "0.0000000001"),
    ]
    with bot.repository() as repo:
        for i, (symbol, side, price, quantity, fee) in enumerate(legs):
            fill = Fill(f"c{i}", symbol, side, T0 + i, Decimal(price), Decimal(quantity),
                        Decimal(fee), "USDT", Liquidity.TAKER, f"t{i}")  # fmt: skip
            assert repo.record_fill(fill, "s")
    report = {r["symbol"]: r for r in profit_report(bot.engine, bot.bot_id)}
    for symbol in ("SHIB/USDT", "BTC/USDT"):
        mine = [leg for leg in legs if leg[0] == symbol]
        bought = sum(Decimal(p) * Decimal(q) for _, s, p, q, _ in mine if s is Side.BUY)
        sold = sum(Decimal(p) * Decimal(q) for _, s, p, q, _ in mine if s is Side.SELL)
        assert report[symbol]["bought"] == bought
        assert report[symbol]["sold"] == sold
        assert report[symbol]["net_cash_flow"] == sold - bought
        assert report[symbol]["fees"] == sum(Decimal(f) for *_, f in mine)
    assert report["SHIB/USDT"]["net_cash_flow"] == Decimal("0.00012345678912345678")
