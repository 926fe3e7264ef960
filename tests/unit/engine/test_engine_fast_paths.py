"""The shortcuts the event engine takes for speed give the answers of the long way round, on real
data: the remembered tick, the one-symbol equity curve, the tick rounding of fill prices, the
order list built column by column, and the garbage collector left as the run found it."""

from __future__ import annotations

import gc
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.backtest import backtest
from tradewind.backtest import event as event_backtest
from tradewind.backtest.inputs import bar_series, tick_of
from tradewind.core.instrument import Instrument
from tradewind.engine.equity import equity_curve
from tradewind.engine.portfolio import Portfolio
from tradewind.series.bars import BarSeries
from tradewind.venues.sim.venue import _on_tick


@pytest.fixture(scope="module")
def month(shared_data: Path) -> pd.DataFrame:
    frame = pd.read_csv(shared_data / "candles" / "btc-perp-20211231-20220201_1m.csv", nrows=6000)
    frame["date"] = pd.to_datetime(frame.pop("timestamp"), utc=True)
    return frame


def test_remembered_tick_is_per_price_set(month: pd.DataFrame) -> None:
    series = bar_series(month, "BTC/USDT", None)
    first = tick_of(series)
    assert tick_of(series) == first  # the remembered answer
    # The same bars with prices ten times finer must not get the remembered tick.
    finer = month.copy()
    for column in ("open", "high", "low", "close"):
        finer[column] = finer[column] / 10
    assert tick_of(bar_series(finer, "BTC/USDT", None)) == first / 10


def test_one_symbol_equity_curve_matches_the_merged_timeline(
    month: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[np.ndarray, np.ndarray]] = []

    def both_ways(
        bars: dict[str, BarSeries],
        instruments: dict[str, Instrument],
        starting: dict[str, Decimal],
        portfolio: Portfolio,
    ) -> tuple[np.ndarray, np.ndarray]:
        fast = equity_curve(bars, instruments, starting, portfolio)
        # The general way: a second symbol on the same times, with nothing booked on it, makes
        # the engine merge timelines and look every movement up; the curve must not change.
        ((symbol, series),) = bars.items()
        twin = replace(series, symbol="ETH/USDT")
        merged = equity_curve(
            {symbol: series, "ETH/USDT": twin},
            {
                **instruments,
                "ETH/USDT": replace(instruments[symbol], symbol="ETH/USDT", base="ETH"),
            },
            starting,
            portfolio,
        )
        seen.append((fast[1], merged[1]))
        np.testing.assert_array_equal(fast[0], merged[0])
        return fast

    monkeypatch.setattr(event_backtest, "equity_curve", both_ways)
    result = backtest("sma_cross", month, {"fast": 5, "slow": 20}, fee=0.001, symbol="BTC/USDT")
    assert result.metrics["trade_count"] > 20
    ((fast, merged),) = seen
    np.testing.assert_array_equal(fast, merged)
    assert fast[-1] == pytest.approx(result.metrics["final_equity"], rel=1e-12)


@pytest.mark.parametrize(
    ("price", "tick", "up", "expected"),
    [
        ("46216.5", "0.5", True, "46216.5"),  # on the grid: unchanged, exponent kept
        ("46216.50", "0.5", False, "46216.50"),
        ("5.0010000000000004e-05", "0.00000001", True, "0.00005001"),  # float noise: the tick
        ("46216.7", "0.5", True, "46217.0"),  # between ticks: against the buyer
        ("46216.7", "0.5", False, "46216.5"),  # and against the seller
    ],
)
def test_fill_prices_on_the_tick_grid(price: str, tick: str, up: bool, expected: str) -> None:
    got = _on_tick(Decimal(price), Decimal(tick), up=up)
    assert got == Decimal(expected)
    assert str(got) == expected


def test_order_list_columns(month: pd.DataFrame) -> None:
    result = backtest("sma_cross", month, {"fast": 5, "slow": 20}, fee=0.001, symbol="BTC/USDT")
    orders = result.orders
    assert list(orders.columns) == [
        "client_id", "symbol", "side", "type", "quantity", "filled", "average_price", "status",
        "created", "reason", "reject_reason",
    ]  # fmt: skip
    assert str(orders["created"].dtype) == "datetime64[us, UTC]"
    assert orders["average_price"].dtype == np.float64
    assert (orders["status"] == "filled").all()
    # Every order is made at a bar's close, which is a whole minute.
    assert (orders["created"].dt.second == 0).all()
    assert len(orders) == 2 * len(result.trades)


def test_the_run_gives_back_the_collector_as_it_found_it(month: pd.DataFrame) -> None:
    assert gc.get_freeze_count() == 0
    backtest("sma_cross", month.iloc[:2000], fee=0.001, symbol="BTC/USDT")
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()
    # Objects someone else froze stay frozen.
    gc.freeze()
    try:
        backtest("sma_cross", month.iloc[:2000], fee=0.001, symbol="BTC/USDT")
        # (Frozen objects that die meanwhile leave the count; unfreezing would empty it.)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
