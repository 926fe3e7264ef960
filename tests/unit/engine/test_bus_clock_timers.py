"""The message bus, the clocks and strategy timers."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from tradewind.backtest import backtest
from tradewind.core.intents import IntentAction
from tradewind.core.orders import Fill
from tradewind.engine.bus import MessageBus, Recorder
from tradewind.engine.clock import ClockError, LiveClock, SimulatedClock
from tradewind.indicators.overlap import sma
from tradewind.series.bars import BarSeries
from tradewind.strategies import Param, Strategy, StrategyContext
from tradewind.strategies.base import Signals, crossed_above


@pytest.fixture(scope="module")
def month(shared_data: Path) -> pd.DataFrame:
    frame = pd.read_csv(shared_data / "candles" / "btc-perp-20211231-20220201_1m.csv", nrows=6000)
    frame["date"] = pd.to_datetime(frame.pop("timestamp"), utc=True)
    return frame


def test_bus_delivers_by_topic_prefix_in_a_deterministic_order() -> None:
    bus = MessageBus()
    seen: list[str] = []
    bus.subscribe("order", lambda topic, payload: seen.append(f"orders:{topic}:{payload}"))
    bus.subscribe("*", lambda topic, payload: seen.append(f"all:{topic}:{payload}"))

    def chain(topic: str, payload: object) -> None:
        if payload == 1:
            bus.publish("order.filled", 0, 2)  # published during delivery: waits its turn

    bus.subscribe("order.accepted", chain)
    bus.publish("order.accepted", 0, 1)
    bus.publish("account.funding", 0, 3)
    assert seen == [
        "orders:order.accepted:1", "all:order.accepted:1",
        "orders:order.filled:2", "all:order.filled:2",
        "all:account.funding:3",
    ]  # fmt: skip


def test_two_runs_publish_the_same_messages(month: pd.DataFrame) -> None:
    logs = []
    for _ in range(2):
        bus, recorder = MessageBus(), Recorder()
        bus.subscribe("*", recorder)
        result = backtest("sma_cross", month, fee=0.001, symbol="BTC/USD", bus=bus)
        logs.append([(topic, repr(payload)) for topic, payload in recorder.messages])
    assert logs[0] == logs[1]
    fills = [m for m in logs[0] if m[0] == "order.filled"]
    assert len(fills) == 2 * result.metrics["trade_count"]
    assert [m[0] for m in logs[0][:3]] == ["order.submitted", "order.accepted", "order.filled"]


def test_simulated_clock_only_moves_forward_and_live_clock_is_utc_ms() -> None:
    clock = SimulatedClock(1_000)
    clock.advance_to(2_000)
    assert clock.now() == 2_000
    with pytest.raises(ClockError, match="cannot go back from 2000 to 1999"):
        clock.advance_to(1_999)
    assert abs(LiveClock().now() - time.time() * 1000) < 1_000


class TimedExit(Strategy):
    """Enter on an SMA cross; leave ``hold`` minutes after the entry fills, by a timer."""

    name = "timed_exit"
    hold = Param(30, low=1, high=10_000)

    def signals(self, bars: BarSeries) -> Signals:
        return Signals(entry_long=crossed_above(sma(bars.close, 10), sma(bars.close, 30)))

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        if ctx.position(fill.symbol) > 0:
            ctx.set_timer(fill.ts + self.hold * 60_000, fill.symbol)

    def on_timer(self, ctx: StrategyContext, name: str) -> None:
        if ctx.position(name) > 0:
            ctx.emit(name, IntentAction.EXIT_LONG, reason="timer")


def test_a_timer_exits_exactly_when_it_was_set_for(month: pd.DataFrame) -> None:
    result = backtest(TimedExit, month, {"hold": 45}, fee=0.001, symbol="BTC/USD")
    trades = result.trades
    assert len(trades) > 20
    held = (trades["exit_time"] - trades["entry_time"]).dt.total_seconds() / 60
    # The month has no gaps, so the exit fills at the open of the bar starting at the timer.
    assert (held == 45).all()
