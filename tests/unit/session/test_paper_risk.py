"""The paper driver under risk rules (protective exits, sizing, breakers), fed the recorded bars
one close at a time, trades exactly as the backtest over the same bars from the same first bar."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from tradewind.backtest.api import prepare, run
from tradewind.backtest.inputs import strategies_from
from tradewind.backtest.spec import Account, BacktestSpec, Window
from tradewind.core.orders import OrderStatus
from tradewind.core.timeframe import Timeframe
from tradewind.data.recorded import bundled_recorded_dir
from tradewind.engine.resume import ResumedAccount
from tradewind.risk.config import parse_risk
from tradewind.series.bars import BarSeries
from tradewind.session.driver import PaperDriver
from tradewind.venues.sim import FillModel

WARMUP = 300
LIVE = 900

# Each setting with the reason tag its exits must show in the backtest (so a pass is never a
# comparison of two runs where the rule did nothing).
SETTINGS: dict[str, tuple[dict[str, Any], str]] = {
    "stop": ({"exits": {"stop_pct": 0.004}}, "stop"),
    "take_profit": ({"exits": {"stop_pct": 0.01, "take_profit_pct": 0.004}}, "take_profit"),
    "trailing": ({"exits": {"trailing_pct": 0.003}}, "trailing_stop"),
    "atr_stop": ({"exits": {"stop_atr": 1.0, "atr_period": 14}}, "stop"),
    "breakeven": (
        {"exits": {"stop_pct": 0.01, "breakeven_trigger": 0.002, "breakeven_offset": 0.0005}},
        "breakeven",
    ),
    "time_stop": ({"exits": {"max_bars": 6}}, "time_stop"),
    "scale_out": (
        {"exits": {"stop_pct": 0.01, "scale_out": [[0.002, 0.5], [0.004, 0.5]]}},
        "scale_out",
    ),
}


def _frames(*names: str) -> dict[str, pd.DataFrame]:
    out = {}
    for name in names:
        frame = pd.read_feather(bundled_recorded_dir() / "candles" / f"{name}-5m.feather")
        out[name.replace("_", "/")] = frame.iloc[: WARMUP + LIVE].reset_index(drop=True)
    return out


def _drive(frames: dict[str, pd.DataFrame], strategy: str, spec: BacktestSpec) -> Any:
    driver = PaperDriver(
        prepare({n: f.iloc[:WARMUP] for n, f in frames.items()}, spec),
        strategies_from(strategy, None),
    )
    full = {n: BarSeries.from_frame(f, n, Timeframe.parse("5m")) for n, f in frames.items()}
    for i in range(WARMUP, WARMUP + LIVE):
        for name, series in full.items():
            driver.add(name, series.bar(i))
        driver.flush()
    return driver.result()


def _backtest(frames: dict[str, pd.DataFrame], strategy: str, spec: BacktestSpec) -> Any:
    first = next(iter(frames.values()))["date"].iloc[WARMUP]
    return run(strategy, prepare(frames, replace(spec, window=Window(start=first))))


_TRADES = ("symbol", "side", "entry_time", "exit_time", "entry_price", "exit_price", "quantity",
           "fees", "pnl")  # fmt: skip
_ORDERS = ("client_id", "symbol", "side", "type", "quantity", "filled", "average_price", "status",
           "created", "reason")  # fmt: skip


def _same(paper: Any, backtest: Any) -> None:
    trades = [c for c in _TRADES if c in backtest.trades.columns]
    assert len(backtest.trades) > 0, "no trade in the window: the comparison proves nothing"
    pd.testing.assert_frame_equal(
        paper.trades[trades].reset_index(drop=True), backtest.trades[trades].reset_index(drop=True)
    )
    orders = [c for c in _ORDERS if c in backtest.orders.columns]
    pd.testing.assert_frame_equal(
        paper.orders[orders].reset_index(drop=True), backtest.orders[orders].reset_index(drop=True)
    )


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_protective_exits_fire_as_in_the_backtest(name: str) -> None:
    settings, reason = SETTINGS[name]
    frames = _frames("ETH_BTC")
    spec = BacktestSpec(account=Account(cash=1, stake="50%"), risk=parse_risk(settings))
    backtest = _backtest(frames, "sma_cross", spec)
    fired = backtest.orders["reason"].astype(str).str.startswith(reason)
    assert fired.sum() >= 2, f"the {reason} rule fired {fired.sum()} times: it proves nothing"
    _same(_drive(frames, "sma_cross", spec), backtest)


def test_a_preset_with_sizing_and_breakers_on_several_symbols() -> None:
    # Fixed-risk sizing to an ATR stop, a trailing stop, a tight daily-loss breaker and a crash
    # breaker: entries are sized from the ATR the session has so far and refused while tripped.
    settings = {
        "preset": "conservative",
        "exits": {"stop_atr": 2.0, "trailing_pct": 0.004},
        "breakers": {"daily_loss": 0.004, "crash_drop": 0.01, "crash_window": 12,
                     "cooldown_bars": 6},
    }  # fmt: skip
    frames = _frames("ETH_BTC", "LTC_BTC", "XLM_BTC")
    spec = BacktestSpec(
        account=Account(cash=1, stake="30%"),
        fill=FillModel(slippage_bps=5.0, latency_ms=250),
        risk=parse_risk(settings),
    )
    backtest = _backtest(frames, "sma_cross", spec)
    tripped = set(backtest.breaker_events["breaker"].astype(str)) if len(
        backtest.breaker_events) else set()  # fmt: skip
    assert any(b.startswith("daily_loss") for b in tripped), tripped
    assert any(b.startswith("crash") for b in tripped), tripped
    paper = _drive(frames, "sma_cross", spec)
    _same(paper, backtest)
    pd.testing.assert_frame_equal(
        paper.breaker_events.reset_index(drop=True), backtest.breaker_events.reset_index(drop=True)
    )


def test_a_position_carried_over_a_restart_is_protected_again() -> None:
    # Session A holds a long when it dies; session B carries the position on and sets its stop
    # from the average price again: the stop fires in B as the rule says.
    frames = _frames("ETH_BTC")
    spec = BacktestSpec(
        account=Account(cash=1, stake="50%"), risk=parse_risk({"exits": {"stop_pct": 0.004}})
    )
    full = BarSeries.from_frame(frames["ETH/BTC"], "ETH/BTC", Timeframe.parse("5m"))
    first = PaperDriver(
        prepare({"ETH/BTC": frames["ETH/BTC"].iloc[:WARMUP]}, spec),
        strategies_from("sma_cross", None),
    )
    upto = WARMUP
    while not any(p.quantity for p in first.engine.portfolio.positions.values()):
        first.add("ETH/BTC", full.bar(upto))
        first.flush()
        upto += 1
    assert upto < WARMUP + LIVE
    ((key, held),) = [(k, p) for k, p in first.engine.portfolio.positions.items() if p.quantity]
    first.node.protection.guards.clear()  # what a crash loses
    second = PaperDriver(
        prepare({"ETH/BTC": frames["ETH/BTC"].iloc[:upto]}, spec),
        strategies_from("sma_cross", None),
        balances=dict(first.engine.portfolio.cash),
    )
    resumed = ResumedAccount(portfolio=first.engine.portfolio, orders={}, fills=0)
    assert second.carry_on(resumed) == []
    guard = second.node.protection.guards[key]
    assert guard.stop == pytest.approx(float(held.average_price) * (1 - 0.004), rel=1e-3)
    for i in range(upto, WARMUP + LIVE):
        second.add("ETH/BTC", full.bar(i))
        second.flush()
        if second.engine.portfolio.positions[key].quantity == 0:
            break
    exits = [o for o in second.node.orders.values() if o.reduce_only]
    assert [o.tag for o in exits[:1]] == ["stop"]
    assert second.engine.portfolio.positions[key].quantity == 0
    low = float(min(full.low[upto : i + 1]))
    assert low <= guard.stop, "the price never reached the stop: the test proves nothing"


def test_an_exit_waits_for_the_resting_stops_cancel() -> None:
    # A stop resting on the venue (as a live session keeps it) is the position's protection, not
    # an exit in flight: an exit cancels it first and goes out once the cancel is confirmed (the
    # simulated venue confirms inside the command).
    frames = _frames("ETH_BTC")
    spec = BacktestSpec(account=Account(cash=1, stake="50%"))
    driver = PaperDriver(
        prepare({"ETH/BTC": frames["ETH/BTC"].iloc[:WARMUP]}, spec),
        strategies_from("sma_cross", None),
    )
    full = BarSeries.from_frame(frames["ETH/BTC"], "ETH/BTC", Timeframe.parse("5m"))
    node = driver.node
    i = WARMUP
    while not any(p.quantity for p in driver.engine.portfolio.positions.values()):
        driver.add("ETH/BTC", full.bar(i))
        driver.flush()
        i += 1
    ((sid, symbol), held) = next(
        (k, p.quantity) for k, p in driver.engine.portfolio.positions.items() if p.quantity
    )
    trigger = node.instruments[symbol].round_price(full.price(i - 1) * Decimal("0.5"))
    stop_id = node.rest_stop(sid, symbol, held, trigger, "stop")
    assert stop_id is not None
    assert node.resting.stops == {(sid, symbol): stop_id}
    assert node.orders[stop_id].is_open
    # Not an exit in flight: the exit is taken; it waits for the stop's cancel (None: nothing
    # sent by this call), which the simulated venue confirms at once, and goes out from there.
    assert node.exit_position(sid, symbol, held, "operator") is None
    assert node.orders[stop_id].status is OrderStatus.CANCELED
    assert node.resting.stops == {}
    exits = [o for o in node.orders.values() if o.reduce_only and o.client_id != stop_id]
    assert [o.tag for o in exits] == ["operator"]
    driver.add("ETH/BTC", full.bar(i))
    driver.flush()
    assert driver.engine.portfolio.positions[(sid, symbol)].quantity == 0
    assert exits[0].status is OrderStatus.FILLED
