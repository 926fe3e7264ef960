"""Both engines report a position still open at the end alike (issue 12, item 4): quantity,
side, entry, mark at the last close and open PnL, the metrics beside the closed trades and the
health, on real recorded data, through each of the kernel's loops (plain, perpetual with
funding, risk rules, participation cap)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tradewind.backtest import backtest
from tradewind.backtest.inputs import bar_series, instruments_for
from tradewind.backtest.result import BacktestResult
from tradewind.core.instrument import FeeSide
from tradewind.series.bars import BarSeries
from tradewind.strategies import Signals, Strategy
from tradewind.strategies.params import Param

PERP = "XRP/USDT:USDT"


class EnterAndKeep(Strategy):
    """Trades round trips on fixed bars, then enters one last time and keeps the position."""

    name = "enter_and_keep_test"
    short = Param(False, doc="short instead of long", shorts_only=True)

    def signals(self, bars: BarSeries) -> Signals:
        n = len(bars)
        enter = np.zeros(n, dtype=bool)
        leave = np.zeros(n, dtype=bool)
        enter[[n // 10, n // 2]] = True
        leave[n // 4] = True
        if self.short:
            return Signals(entry_short=enter, exit_short=leave)
        return Signals(entry_long=enter, exit_long=leave)


@pytest.fixture(scope="module")
def spot(shared_data: Path) -> pd.DataFrame:
    return pd.read_feather(shared_data / "candles" / "ETH_BTC-5m.feather").head(4000)


@pytest.fixture(scope="module")
def perp(shared_data: Path) -> pd.DataFrame:
    return pd.read_feather(shared_data / "futures" / "XRP_USDT_USDT-5m-futures.feather")


@pytest.fixture(scope="module")
def funding(shared_data: Path) -> pd.DataFrame:
    frame = pd.read_feather(shared_data / "futures" / "XRP_USDT_USDT-8h-funding_rate.feather")
    return frame.rename(columns={"open": "rate"})[["date", "rate"]]


def _both(data: pd.DataFrame, **options: Any) -> tuple[BacktestResult, BacktestResult]:
    params = options.pop("params", {})
    event = backtest(EnterAndKeep, data, params, engine="event", **options)
    kernel = backtest(EnterAndKeep, data, params, engine="kernel", **options)
    return event, kernel


def _same_report(event: BacktestResult, kernel: BacktestResult) -> dict[str, Any]:
    assert event.health is not None
    assert kernel.health is not None
    (expected,) = event.health.open_positions
    (got,) = kernel.health.open_positions
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, float):
            assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
        else:
            assert got[key] == value, key
    for name in ("open_positions", "open_pnl", "exposure_time", "trade_count", "total_return"):
        assert kernel.metrics[name] == pytest.approx(event.metrics[name], rel=1e-9), name
    left, right = event.health.as_dict(), kernel.health.as_dict()
    for document in (left, right):
        document.pop("engine")
        document.pop("open_positions")
        document.pop("dust")
    assert right == left
    assert kernel.health.dust.keys() == event.health.dust.keys()
    return got


def test_spot_long_left_open(spot: pd.DataFrame) -> None:
    event, kernel = _both(spot, cash=1, fee=0.001, symbol="ETH/BTC", timeframe="5m")
    position = _same_report(event, kernel)
    assert position["side"] == "long"
    assert position["mark_price"] == kernel.close["ETH/BTC"]["close"].iloc[-1]  # on the tick grid
    assert kernel.metrics["trade_count"] == 1  # the round trip; the open one beside it


def test_perpetual_short_with_funding_left_open(perp: pd.DataFrame, funding: pd.DataFrame) -> None:
    event, kernel = _both(perp, params={"short": True}, symbol=PERP, cash=1000, fee=0.0004,
                          leverage=3, funding={PERP: funding})  # fmt: skip
    position = _same_report(event, kernel)
    assert position["side"] == "short"


def test_risk_rules_left_open(spot: pd.DataFrame) -> None:
    # A stop far away and percent sizing: the protected loop, and the position never stopped.
    event, kernel = _both(spot, cash=1, fee=0.001, symbol="ETH/BTC", timeframe="5m",
                          risk={"exits": {"stop_pct": 0.9}, "sizing": {"model": "fixed_fraction",
                                                                        "fraction": 0.5}})  # fmt: skip
    _same_report(event, kernel)


def test_participation_cap_left_open(spot: pd.DataFrame) -> None:
    event, kernel = _both(spot, cash=1, fee=0.001, symbol="ETH/BTC", timeframe="5m",
                          max_participation=0.5)  # fmt: skip
    _same_report(event, kernel)


@pytest.mark.parametrize("side", [FeeSide.BASE, FeeSide.GET])
def test_spot_long_left_open_with_fees_in_the_base(spot: pd.DataFrame, side: FeeSide) -> None:
    # The entry's fee comes out of the base received: the quantity held and the entry fee in
    # quote are what the portfolio books, in both engines.
    frame = spot.set_index("date")
    series = {"ETH/BTC": bar_series(frame, "ETH/BTC", "5m")}
    chosen = instruments_for(series, None, Decimal("0.001"))["ETH/BTC"]
    instrument = dataclasses.replace(chosen, fee_side=side)
    event, kernel = _both(spot, cash=1, symbol="ETH/BTC", timeframe="5m",
                          instruments={"ETH/BTC": instrument})  # fmt: skip
    position = _same_report(event, kernel)
    assert position["side"] == "long"
