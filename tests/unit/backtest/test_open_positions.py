"""A position still open at the end is marked no earlier than its entry: a live fill can land
after the last bar's close (the session stopped before the next bar), and the trade statistics
refuse a trade that exits before it enters."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from tradewind.backtest.results import open_positions
from tradewind.core.instrument import Instrument
from tradewind.core.timeframe import Timeframe
from tradewind.engine.portfolio import Portfolio, Position
from tradewind.performance.trades import exposure_time
from tradewind.series.bars import BarSeries

MINUTE = 60_000
T0 = 1_767_225_600_000


def _series(n: int) -> BarSeries:
    price = np.full(n, 2.0)
    return BarSeries("XRP/USDT", Timeframe.parse("1m"), T0 + MINUTE * np.arange(n, dtype=np.int64),
                     price, price, price, price, np.ones(n))  # fmt: skip


def _held(entry_ts: int) -> dict[str, object]:
    instrument = Instrument(symbol="XRP/USDT", base="XRP", quote="USDT",
                            price_step=Decimal("0.0001"), amount_step=Decimal("0.1"))  # fmt: skip
    portfolio = Portfolio({"XRP/USDT": instrument})
    portfolio.positions[("s", "XRP/USDT")] = Position(
        "s", "XRP/USDT", Decimal("5"), Decimal("1.9"), entry_ts=entry_ts
    )
    [position] = open_positions(portfolio, {"XRP/USDT": _series(3)}, {"XRP/USDT": instrument})
    return position


def test_a_position_entered_inside_the_run_is_marked_at_the_last_close() -> None:
    assert _held(T0 + MINUTE)["mark_time"] == "2026-01-01T00:03:00+00:00"


def test_a_fill_after_the_last_close_is_marked_at_its_entry_and_counts_as_exposure() -> None:
    late = T0 + 3 * MINUTE + 822  # filled 0.822 s after the last bar closed
    position = _held(late)
    assert position["mark_time"] == position["entry_time"]
    held = pd.DataFrame({"side": ["long"], "entry_time": [position["entry_time"]],
                         "exit_time": [position["mark_time"]], "fees": 0.0, "pnl": 0.0})  # fmt: skip
    held["entry_time"] = pd.to_datetime(held["entry_time"], utc=True)
    held["exit_time"] = pd.to_datetime(held["exit_time"], utc=True)
    assert exposure_time(held, T0 + MINUTE * np.arange(3), MINUTE) == 0.0
