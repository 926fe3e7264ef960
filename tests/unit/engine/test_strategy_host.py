"""User code wrapped and shown only the past: a strategy that raises in any hook is faulted and
reported with its own file:line while another strategy in the same run goes on trading; hooks see
bars up to the current one only and cannot write into what they are given; the run's
``on_strategy_error`` policy; confidence from signals and ``ctx.emit``; the operator's control port.
All on the real BTC perpetual minutes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.backtest import backtest
from tradewind.backtest.inputs import instruments_for
from tradewind.core.errors import UserError
from tradewind.core.intents import IntentAction
from tradewind.core.orders import ClientIdFactory, Fill
from tradewind.core.ports import Control
from tradewind.core.timeframe import Timeframe
from tradewind.engine.binding import Binding
from tradewind.engine.node import Node
from tradewind.engine.portfolio import Portfolio
from tradewind.engine.runner import BacktestRunner
from tradewind.engine.strategy_host import FaultKind, StrategyFault, StrategyHost
from tradewind.risk.gate import StakeGate
from tradewind.risk.stake import Stake
from tradewind.series.bars import BarSeries
from tradewind.strategies import Param, Signals, Strategy, StrategyContext
from tradewind.strategies.builtin.ma_cross import SmaCross
from tradewind.venues.sim import SimVenue, SimVenuePort

SYMBOL = "BTC/USDT"


@pytest.fixture(scope="module")
def month(shared_data: Path) -> pd.DataFrame:
    frame = pd.read_csv(shared_data / "candles" / "btc-perp-20211231-20220201_1m.csv", nrows=6000)
    frame["date"] = pd.to_datetime(frame.pop("timestamp"), utc=True)
    return frame


class Faulty(Strategy):
    """Enters every 100 bars and exits 50 bars later; raises in the hook named by ``hook``
    while long (entered at bar 300): on_bar at bar 320, on_timer set for the minute after bar
    300's close, on_fill at the fill of the entry made at bar 300."""

    name = "faulty"
    hook = Param(0, low=0, high=3)  # 0 on_bar, 1 on_timer, 2 on_fill, 3 never

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self.last_bar = -1

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        self.last_bar = i
        if i == 320 and self.hook == 0:
            raise RuntimeError("boom in on_bar")
        if i == 300:
            ctx.set_timer(ctx.ts + 60_000, "later")
        if i % 50 == 0:
            held = ctx.position(SYMBOL)
            action = IntentAction.EXIT_LONG if held > 0 else IntentAction.ENTER_LONG
            ctx.emit(SYMBOL, action, reason="every 50")

    def on_timer(self, ctx: StrategyContext, name: str) -> None:
        if self.hook == 1:
            raise KeyError("boom in on_timer")

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        if self.hook == 2 and self.last_bar >= 300:
            raise ZeroDivisionError("boom in on_fill")


@pytest.mark.parametrize(("hook", "name"), [(0, "on_bar"), (1, "on_timer"), (2, "on_fill")])
def test_a_raising_strategy_is_faulted_and_the_other_trades_on(
    month: pd.DataFrame, hook: int, name: str
) -> None:
    faulty, steady = Faulty(hook=hook), SmaCross(fast=10, slow=30)
    alone = backtest(steady, month, fee=0.001, stake="40%", symbol=SYMBOL)
    both = backtest([steady, faulty], month, fee=0.001, stake="40%", symbol=SYMBOL)
    [fault] = both.faults
    assert fault["strategy"] == faulty.id
    assert fault["hook"] == name
    assert fault["kind"] == FaultKind.ERROR
    # Reported at the line that raised, in this file.
    assert fault["where"].startswith(__file__ + ":")
    line = int(fault["where"].rsplit(":", 1)[1])
    assert "boom in " + name in Path(__file__).read_text().splitlines()[line - 1]
    # The faulted strategy emits nothing more: none of its orders is made after the fault.
    mine = both.orders[both.orders["reason"] == "every 50"]
    assert len(mine) >= 6
    assert (mine["created"] <= fault["time"]).all()
    assert faulty.last_bar <= 321  # on_bar was not called again after the fault
    # The other strategy completed and traded as it does alone (the stake is per entry).
    theirs = both.trades[both.trades["strategy"] == steady.id]
    assert len(theirs) > 20
    assert len(theirs) == len(alone.trades)
    assert both.meta["strategy_faults"] == [
        f"strategy {faulty.id} faulted in {name} (error) at {fault['where']}: {fault['error']}"
    ]
    assert alone.faults == []
    # The run's health marks it failed, saying which strategy and where.
    assert both.health is not None
    assert not both.health.ok
    assert both.health.problems[0] == both.meta["strategy_faults"][0]
    assert both.to_json_dict()["health"]["faults"] == both.meta["strategy_faults"]


def test_keep_leaves_the_position_under_its_protective_exits(month: pd.DataFrame) -> None:
    # The faulty strategy is long at bar 320 (it entered at 300) when it faults; its stop stays.
    kept = backtest(
        Faulty(hook=0), month, fee=0.001, symbol=SYMBOL, risk={"exits": {"stop_pct": 0.01}}
    )
    [fault] = kept.faults
    after = kept.trades[kept.trades["exit_time"] > fault["time"]]
    assert (kept.trades["entry_time"] <= fault["time"]).all()  # no entry after the fault
    assert after["reason"].tolist() == ["stop"]  # the open position left by its stop


def test_flatten_closes_the_faulted_strategys_positions(month: pd.DataFrame) -> None:
    result = backtest(Faulty(hook=0), month, fee=0.001, symbol=SYMBOL, on_strategy_error="flatten")
    last = result.trades.iloc[-1]
    fault_time = result.faults[0]["time"]
    assert last["reason"] == "strategy_fault"
    # Flattened at the next bar's open: the fault happened at a close, which is that open.
    assert last["exit_time"] == fault_time


def test_halt_all_stops_every_strategys_entries(month: pd.DataFrame) -> None:
    steady = SmaCross(fast=10, slow=30)
    result = backtest(
        [steady, Faulty(hook=0)], month, fee=0.001, stake="40%", symbol=SYMBOL,
        on_strategy_error="halt_all",
    )  # fmt: skip
    fault_time = result.faults[0]["time"]
    assert (result.trades["entry_time"] <= fault_time).all()
    assert (result.denials["code"] == "control.paused").sum() > 0
    with pytest.raises(UserError, match="on_strategy_error must be one of"):
        backtest(steady, month, symbol=SYMBOL, on_strategy_error="ignore")  # type: ignore[arg-type]


class Peeker(Strategy):
    """Reads the next bar's close once it is past the warm-up."""

    name = "peeker"

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        assert len(bars) == i + 1  # the past and the present, nothing more
        if i >= 100:
            _ = bars.close[i + 1]


class Writer(Strategy):
    """Tries to change the close it was given."""

    name = "writer"

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        if i >= 100:
            bars.close[i] = 0.0


def test_a_hook_cannot_read_the_next_bar_or_write_into_its_arrays(month: pd.DataFrame) -> None:
    peek = backtest(Peeker(), month, symbol=SYMBOL)
    [fault] = peek.faults
    assert fault["kind"] == FaultKind.LOOKAHEAD
    assert fault["time"] == month["date"].iloc[100] + pd.Timedelta(minutes=1)
    write = backtest(Writer(), month, symbol=SYMBOL)
    [fault] = write.faults
    assert fault["kind"] == FaultKind.WRITE
    assert "read-only" in fault["error"]
    # The data the run used is unchanged.
    assert write.close[SYMBOL]["close"].iloc[100] == month["close"].iloc[100]


class Confident(Strategy):
    """SMA cross entries carrying a confidence that rises with the trend's strength."""

    name = "confident"

    def signals(self, bars: BarSeries) -> Signals:
        cross = SmaCross(fast=10, slow=30).signals(bars)
        confidence = np.where(np.arange(len(bars)) % 2 == 0, 0.2, 0.9)
        return Signals(
            entry_long=cross.entry_long, exit_long=cross.exit_long, confidence=confidence
        )


class ConfidentHook(Strategy):
    """Emits entries with a confidence from a hook, alternating 0.2 and 0.9."""

    name = "confident_hook"

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        if i % 40 == 0:
            held = ctx.position(SYMBOL)
            if held > 0:
                ctx.emit(SYMBOL, IntentAction.EXIT_LONG)
            else:
                ctx.emit(SYMBOL, IntentAction.ENTER_LONG, confidence=0.2 if (i // 80) % 2 else 0.9)
        if i == 5000:
            ctx.emit(SYMBOL, IntentAction.ENTER_LONG, confidence=1.5)


@pytest.mark.parametrize("strategy", [Confident, ConfidentHook])
def test_confidence_reaches_confidence_sizing(month: pd.DataFrame, strategy: type) -> None:
    risk = {"sizing": {"model": "confidence", "floor": 0.1, "cap": 0.5}}
    result = backtest(strategy(), month, fee=0.0, symbol=SYMBOL, risk=risk)
    trades = result.trades
    assert len(trades) > 10
    value = trades["entry_price"] * trades["quantity"]
    # Sized between 10% + 40% x 0.2 = 18% and 10% + 40% x 0.9 = 46% of equity: two sizes only.
    share = value / value.max()
    assert ((share - 18 / 46).abs() < 0.08).any()
    assert ((share - 1.0).abs() < 0.08).any()
    if strategy is ConfidentHook:
        [fault] = result.faults
        assert fault["kind"] == FaultKind.INVALID
        assert "confidence must be within [0, 1]" in fault["error"]


class Operated(Faulty):
    """The faulty pattern without a fault, with an operator acting on the Node at set bars."""

    name = "operated"

    def __init__(self) -> None:
        super().__init__(hook=3)
        self.operator: Control | None = None

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        assert self.operator is not None
        if i == 1000:
            self.operator.pause("maintenance")
        if i == 2000:
            self.operator.resume()
        if i == 3010:
            self.operator.flatten(None, "operator flatten")
        super().on_bar(ctx, bars, i)


def test_operator_pause_resume_and_flatten_through_the_control_port(month: pd.DataFrame) -> None:
    frame = month.set_index("date")
    bars = BarSeries.from_frame(frame, SYMBOL, Timeframe(60_000))
    instruments = instruments_for({SYMBOL: bars}, None, Decimal("0.001"))
    never = np.zeros(len(bars), dtype=np.bool_)
    strategy = Operated()
    binding = Binding(strategy, strategy.id, bars, never, never, never, never, callback=True)
    venue = SimVenuePort(SimVenue(instruments, {SYMBOL: bars}, {"USDT": Decimal(10_000)}))
    node = Node(
        bindings=[binding], gate=StakeGate(Stake.parse("all"), instruments), venue=venue,
        portfolio=Portfolio(instruments, cash={"USDT": Decimal(10_000)}), instruments=instruments,
        ids=ClientIdFactory("op", session="0"),
    )  # fmt: skip
    strategy.operator = node  # the operations layer holds the control port, not the strategy
    BacktestRunner(node, venue).run()
    made = [o for o in node.orders.values() if not o.reduce_only]
    paused = (int(bars.ts[1000]) + 60_000, int(bars.ts[2000]) + 60_000)
    assert made
    assert not [o for o in made if paused[0] < o.created_ts < paused[1]]
    assert [d.code for d in node.denials].count("control.paused") == 20  # bars 1000, 1050 .. 1950
    assert [o.tag for o in node.orders.values()].count("operator flatten") == 1
    assert max(o.created_ts for o in made) > paused[1]  # trading resumed
    assert node.faults == []


def test_intents_emitted_in_a_failed_call_are_dropped() -> None:
    # The wrapper returns nothing from a call that raised, even what it emitted before raising.

    class HalfDone(Strategy):
        name = "half_done"

        def on_timer(self, ctx: StrategyContext, name: str) -> None:
            ctx.emit(SYMBOL, IntentAction.ENTER_LONG)
            raise ValueError("second thoughts")

        def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
            raise AssertionError("never called once faulted")

    ts = np.arange(3, dtype=np.int64) * 60_000
    closes = np.array([1.0, 2.0, 3.0])
    bars = BarSeries(SYMBOL, Timeframe(60_000), ts, closes, closes, closes, closes, closes)
    never = np.zeros(3, dtype=np.bool_)
    binding = Binding(HalfDone(), "half_done", bars, never, never, never, never, callback=True)
    faults: list[StrategyFault] = []
    host = StrategyHost([binding], {}, lambda s, y: Decimal(0), lambda: 0, faults.append)
    assert host.call(binding, "on_timer", 5, "t") == []
    assert [(f.kind, f.hook, f.ts) for f in faults] == [(FaultKind.ERROR, "on_timer", 5)]
    assert host.on_bar(binding, 1, 120_000) == []  # faulted: not called again
    assert "half_done faulted in on_timer (error)" in faults[0].describe()
    assert "ValueError: second thoughts" in faults[0].describe()


def test_a_built_in_strategy_that_raises_in_a_hook_is_a_bug(
    month: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tradewind's own strategies are not user code: their exceptions stop the run as bugs do.
    def broken(self: object, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        raise RuntimeError("built-in hooks must not fail")

    monkeypatch.setattr(SmaCross, "on_bar", broken)
    with pytest.raises(RuntimeError, match="built-in hooks must not fail"):
        backtest(SmaCross(), month, symbol=SYMBOL)


class MarketReader(Strategy):
    """Reads the market-state port at every bar and keeps what it saw."""

    name = "market_reader"

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[int, Decimal | None, float | None, int]] = []

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        market = ctx.market
        self.seen.append((i, market.last_price(SYMBOL), market.atr(SYMBOL),
                          len(market.closes(SYMBOL, 10_000))))  # fmt: skip


def test_a_hook_reads_the_market_as_of_its_bar(month: pd.DataFrame) -> None:
    from tradewind.indicators.volatility import atr

    reader = MarketReader()
    backtest(reader, month.iloc[:500], symbol=SYMBOL)
    high, low, close = (month[c].to_numpy()[:500] for c in ("high", "low", "close"))
    expected = atr(high, low, close, 14)
    assert len(reader.seen) == 500
    for i, price, value, known in reader.seen:
        assert price == Decimal(repr(float(close[i])))  # the bar that has just closed
        assert known == i + 1  # the closes so far, none later
        assert (value is None and i < 14) or value == expected[i]
