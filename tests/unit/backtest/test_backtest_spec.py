"""The backtest package (issue 15, item 3): a frozen keyword-only spec, a run prepared once and
reused, and ``tradewind.backtest(...)`` unchanged, on real recorded candles."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pandas as pd
import pytest

import tradewind
from tradewind.backtest import Account, BacktestSpec, Costs, MarketSpec, Window, prepare, run
from tradewind.backtest.result import BacktestResult
from tradewind.core.errors import UserError
from tradewind.venues.sim import FillModel


@pytest.fixture(scope="module")
def candles(shared_data: Path) -> pd.DataFrame:
    return pd.read_feather(shared_data / "candles" / "ETH_BTC-5m.feather").head(6000)


def _spec(**changes: object) -> BacktestSpec:
    spec = BacktestSpec(
        account=Account(cash=1, stake="50%"),
        fill=FillModel(slippage_bps=2.0),
        costs=Costs(fee=0.001),
        market=MarketSpec(symbol="ETH/BTC", timeframe="5m"),
        window=Window(start="2018-01-12"),
    )
    return dataclasses.replace(spec, **changes)  # type: ignore[arg-type]


def _same(left: BacktestResult, right: BacktestResult) -> None:
    pd.testing.assert_frame_equal(left.trades, right.trades)
    pd.testing.assert_series_equal(left.equity, right.equity)
    for name, value in left.metrics.items():
        assert right.metrics[name] == pytest.approx(value, nan_ok=True), name


def test_the_spec_is_frozen_and_keyword_only() -> None:
    spec = _spec()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.engine = "kernel"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.account.cash = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        BacktestSpec(Account())  # type: ignore[misc]
    with pytest.raises(UserError, match="unknown engine 'fast'"):
        BacktestSpec(engine="fast")  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", ["event", "kernel"])
def test_a_run_prepared_once_gives_what_the_convenience_call_gives(
    candles: pd.DataFrame, engine: str
) -> None:
    prepared = prepare(candles, _spec(engine=engine))
    for fast, slow in ((5, 20), (10, 30)):
        reused = run("sma_cross", prepared, {"fast": fast, "slow": slow})
        direct = tradewind.backtest(
            "sma_cross", candles, {"fast": fast, "slow": slow}, cash=1, stake="50%", fee=0.001,
            slippage_bps=2.0, symbol="ETH/BTC", timeframe="5m", start="2018-01-12", engine=engine,
        )  # fmt: skip
        assert reused.metrics["trade_count"] > 10
        _same(direct, reused)


def test_other_risk_rules_on_the_same_prepared_run(candles: pd.DataFrame) -> None:
    prepared = prepare(candles, _spec())
    risk = {"exits": {"stop_pct": 0.01}}
    stopped = run("sma_cross", prepared.with_risk(risk), {"fast": 5, "slow": 20})
    direct = tradewind.backtest(
        "sma_cross", candles, {"fast": 5, "slow": 20}, cash=1, stake="50%", fee=0.001,
        slippage_bps=2.0, symbol="ETH/BTC", timeframe="5m", start="2018-01-12", risk=risk,
    )  # fmt: skip
    _same(direct, stopped)
    assert "stop" in set(stopped.trades["reason"])
    assert prepared.spec.risk is None  # the prepared run itself is unchanged


def test_tradewind_backtest_stays_the_call_after_a_submodule_import(
    candles: pd.DataFrame,
) -> None:
    # The imports above loaded tradewind.backtest.inputs, which binds the name to the package.
    assert tradewind.backtest is sys.modules["tradewind.backtest"]
    result = tradewind.backtest("sma_cross", candles, symbol="ETH/BTC", timeframe="5m", cash=1)
    assert isinstance(result, BacktestResult)
    assert result.metrics["trade_count"] > 0
