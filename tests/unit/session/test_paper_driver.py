"""The paper driver, fed the recorded bars one close at a time, trades exactly as the backtest over
the same bars from the same first bar: every built-in strategy, one symbol and several sharing one
account, with latency and slippage in the fill model."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from tradewind.backtest.api import prepare, run
from tradewind.backtest.inputs import strategies_from
from tradewind.backtest.spec import Account, BacktestSpec, Window
from tradewind.core.algo_spec import parse_algo
from tradewind.core.errors import UserError
from tradewind.core.timeframe import Timeframe
from tradewind.data.recorded import bundled_recorded_dir
from tradewind.series.bars import BarSeries
from tradewind.session.driver import PaperDriver
from tradewind.strategies.registry import registered_names
from tradewind.venues.sim import FillModel

WARMUP = 300
LIVE = 700
# Where a built-in's defaults need more history than this window holds (the ML strategies train
# walk-forward on 1,000+ bars), parameters that fit it.
FITS_THE_WINDOW: dict[str, dict[str, object]] = {
    "ml_signal": {"train_bars": 300, "retrain_every": 100},
    "ml_ensemble": {"train_bars": 300, "retrain_every": 100, "threshold": 0.55},
}


def _frames(*names: str) -> dict[str, pd.DataFrame]:
    out = {}
    for name in names:
        frame = pd.read_feather(bundled_recorded_dir() / "candles" / f"{name}-5m.feather")
        out[name.replace("_", "/")] = frame.iloc[: WARMUP + LIVE].reset_index(drop=True)
    return out


def _drive(frames: dict[str, pd.DataFrame], strategy: str, spec: BacktestSpec) -> pd.DataFrame:
    warm = {n: f.iloc[:WARMUP] for n, f in frames.items()}
    prepared = prepare(warm, spec)
    driver = PaperDriver(prepared, strategies_from(strategy, FITS_THE_WINDOW.get(strategy)))
    full = {n: BarSeries.from_frame(f, n, Timeframe.parse("5m")) for n, f in frames.items()}
    for i in range(WARMUP, WARMUP + LIVE):
        for name, series in full.items():
            driver.add(name, series.bar(i))
        driver.flush()
    return driver.result().trades


def _backtest(frames: dict[str, pd.DataFrame], strategy: str, spec: BacktestSpec) -> pd.DataFrame:
    first = next(iter(frames.values()))["date"].iloc[WARMUP]
    prepared = prepare(frames, replace(spec, window=Window(start=first)))
    return run(strategy, prepared, FITS_THE_WINDOW.get(strategy)).trades


def _same(paper: pd.DataFrame, backtest: pd.DataFrame) -> None:
    columns = [c for c in ("symbol", "side", "entry_time", "exit_time", "entry_price", "exit_price",
                           "quantity", "fees", "pnl") if c in backtest.columns]  # fmt: skip
    assert len(paper) == len(backtest)
    assert len(backtest) > 0, "no trade in the window: the comparison proves nothing"
    pd.testing.assert_frame_equal(
        paper[columns].reset_index(drop=True), backtest[columns].reset_index(drop=True)
    )


@pytest.mark.parametrize("strategy", sorted(registered_names()))
def test_every_builtin_trades_as_its_backtest(strategy: str) -> None:
    frames = _frames("ETH_BTC")
    spec = BacktestSpec(account=Account(cash=1, stake="50%"))
    _same(_drive(frames, strategy, spec), _backtest(frames, strategy, spec))


def test_several_symbols_share_one_account_as_in_the_backtest() -> None:
    frames = _frames("ETH_BTC", "LTC_BTC", "XLM_BTC")
    spec = BacktestSpec(
        account=Account(cash=1, stake="30%"), fill=FillModel(slippage_bps=5.0, latency_ms=250)
    )
    paper = _drive(frames, "sma_cross", spec)
    assert len(paper) >= 10
    _same(paper, _backtest(frames, "sma_cross", spec))


def test_a_repeated_bar_is_refused() -> None:
    frames = _frames("ETH_BTC")
    driver = PaperDriver(prepare({n: f.iloc[:WARMUP] for n, f in frames.items()}, BacktestSpec()),
                         strategies_from("sma_cross", None))  # fmt: skip
    series = BarSeries.from_frame(frames["ETH/BTC"], "ETH/BTC", Timeframe.parse("5m"))
    with pytest.raises(UserError, match="not after"):
        driver.add("ETH/BTC", series.bar(WARMUP - 1))


@pytest.mark.parametrize(
    "execution",
    ["twap:horizon=20m,slices=4", "vwap:horizon=30m,slices=3", "pov:participation=0.1",
     "iceberg:visible=1,horizon=1h", "market:guard_bps=5", "smart_limit:timeout=15m"],
)  # fmt: skip
def test_execution_algorithms_send_the_backtests_children(execution: str) -> None:
    frames = _frames("ETH_BTC")
    spec = BacktestSpec(account=Account(cash=1, stake="50%"), execution=parse_algo(execution))
    warm = {n: f.iloc[:WARMUP] for n, f in frames.items()}
    driver = PaperDriver(prepare(warm, spec), strategies_from("sma_cross", None))
    # The bars as an exchange sends them: on the tick grid (a limit child rests at a close).
    full = prepare(frames, BacktestSpec()).bars
    for i in range(WARMUP, WARMUP + LIVE):
        for name, series in full.items():
            driver.add(name, series.bar(i))
        driver.flush()
    paper = driver.result()
    backtest = run("sma_cross", prepare(frames, replace(spec, window=Window(
        start=next(iter(frames.values()))["date"].iloc[WARMUP]))))  # fmt: skip
    columns = ["client_id", "side", "quantity", "filled", "average_price", "status", "created",
               "reason"]  # fmt: skip
    assert len(backtest.orders) > 10
    algo = execution.split(":", maxsplit=1)[0]
    assert set(backtest.orders["reason"].str.split(":").str[0]) == {algo}
    pd.testing.assert_frame_equal(paper.orders[columns], backtest.orders[columns])
    _same(paper.trades, backtest.trades)
