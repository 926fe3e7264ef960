"""Signals are booleans, or numbers in {0, 1, NaN} with NaN read as False, on both engines.

Regression (issue 12, item 3): NaN used to count as True, so a float signal that is NaN during its
indicator's warm-up entered at the very first bar.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.backtest import backtest
from tradewind.core.errors import UserError
from tradewind.indicators.overlap import sma
from tradewind.series.bars import BarSeries
from tradewind.strategies import Signals, Strategy
from tradewind.strategies.base import crossed_above, crossed_below, signal_flags
from tradewind.strategies.params import Param

WARMUP = 50


class FloatCross(Strategy):
    """An SMA cross whose entry column is float: NaN while the average warms up, else 0 or 1."""

    name = "float_cross_test"
    bad = Param(0.0, doc="a value written into the entry column at bar 7 (0: none)")

    def signals(self, bars: BarSeries) -> Signals:
        line = sma(bars.close, WARMUP)
        entry = crossed_above(bars.close, line).astype(np.float64)
        entry[np.isnan(line)] = np.nan
        if self.bad:
            entry[7] = self.bad
        return Signals(entry_long=entry, exit_long=crossed_below(bars.close, line))


@pytest.fixture(scope="module")
def month(shared_data: Path) -> pd.DataFrame:
    frame = pd.read_csv(shared_data / "candles" / "btc-perp-20211231-20220201_1m.csv", nrows=3000)
    frame["date"] = pd.to_datetime(frame.pop("timestamp"), utc=True)
    return frame


@pytest.mark.parametrize("engine", ["event", "kernel"])
def test_nan_signal_is_no_signal_during_warmup(month: pd.DataFrame, engine: str) -> None:
    result = backtest(FloatCross, month, cash=100_000, fee=0.001, engine=engine)
    assert len(result.trades) > 0
    first_allowed = pd.Timestamp(month["date"].iloc[WARMUP - 1])
    assert (result.trades["entry_time"] > first_allowed).all()


def test_both_engines_read_float_signals_alike(month: pd.DataFrame) -> None:
    event = backtest(FloatCross, month, cash=100_000, fee=0.001, engine="event")
    kernel = backtest(FloatCross, month, cash=100_000, fee=0.001, engine="kernel")
    assert event.trades["entry_time"].tolist() == kernel.trades["entry_time"].tolist()


@pytest.mark.parametrize("engine", ["event", "kernel"])
@pytest.mark.parametrize("bad", [2.0, -1.0, np.inf])
def test_other_values_are_refused_naming_column_and_index(
    month: pd.DataFrame, engine: str, bad: float
) -> None:
    with pytest.raises(UserError, match=r"signal column entry_long holds .* at index 7"):
        backtest(FloatCross, month, {"bad": bad}, cash=100_000, engine=engine)


def test_signal_flags_reads_each_accepted_form() -> None:
    assert signal_flags("x", [True, False], 2).tolist() == [True, False]
    assert signal_flags("x", np.array([1.0, np.nan, 0.0]), 3).tolist() == [True, False, False]
    assert signal_flags("x", pd.Series([1, 0, 1]), 3).tolist() == [True, False, True]
    mixed = np.array([True, 0, np.nan, 1], dtype=object)
    assert signal_flags("x", mixed, 4).tolist() == [True, False, False, True]
    for bad, index in (([0, 3], 1), (["a", "b"], 0), (np.array([True, None], dtype=object), 1)):
        with pytest.raises(UserError, match=f"signal column exit_short holds .* at index {index}"):
            signal_flags("exit_short", bad, 2)
    with pytest.raises(UserError, match=r"signal x has shape \(3,\), expected \(2,\)"):
        signal_flags("x", [1, 0, 1], 2)
