"""Trade statistics: a three-trade list worked by hand, zero and one trade, exposure, errors."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from perf_curves import Candles, sma_cross_equity, sma_cross_position, sma_cross_trades

from tradewind.core.errors import DataError
from tradewind.performance import TradeStatistics, exposure_time, trade_statistics
from tradewind.performance.trades import TRADE_STAT_KEYS

HOUR = 3_600_000
T0 = 1_640_995_200_000  # 2022-01-01 00:00 UTC
BARS = T0 + HOUR * np.arange(10, dtype=np.int64)  # ten 1h bars, 00:00 .. 09:00


def at(hour: float) -> pd.Timestamp:
    return pd.Timestamp(T0 + int(hour * HOUR), unit="ms", tz="UTC")


def trade_list(rows: list[tuple[str, float, float, float, float]]) -> pd.DataFrame:
    """Rows of (side, entry hour, exit hour, pnl, fees), as the engine's columns."""
    frame = pd.DataFrame(
        {
            "symbol": "BTC/USDT",
            "side": [r[0] for r in rows],
            "entry_time": pd.DatetimeIndex([at(r[1]) for r in rows]).as_unit("ms"),
            "exit_time": pd.DatetimeIndex([at(r[2]) for r in rows]).as_unit("ms"),
            "entry_price": 100.0,
            "exit_price": 100.0,
            "quantity": 1.0,
            "fees": [r[4] for r in rows],
            "pnl": [r[3] for r in rows],
        }
    )
    assert str(frame["entry_time"].dtype) == "datetime64[ms, UTC]"
    return frame


THREE = trade_list(
    [
        ("long", 0, 2, 300.0, 10.0),  # win, held 2 h over bars 00:00 and 01:00
        ("short", 3, 4, -100.0, 5.0),  # loss, 1 h, bar 03:00
        ("long", 5, 8, 150.0, 7.5),  # win, 3 h, bars 05:00 .. 07:00
    ]
)


def test_three_trades_worked_by_hand() -> None:
    stats = trade_statistics(THREE, BARS, HOUR)
    assert (stats.trade_count, stats.long_count, stats.short_count) == (3, 2, 1)
    assert (stats.win_count, stats.loss_count) == (2, 1)
    assert stats.win_rate == pytest.approx(2 / 3)
    assert stats.gross_profit == 450.0
    assert stats.gross_loss == -100.0
    assert stats.profit_factor == pytest.approx(4.5)  # 450 / 100
    assert stats.expectancy == pytest.approx(350 / 3)
    assert stats.avg_win == 225.0
    assert stats.avg_loss == -100.0
    assert stats.payoff_ratio == pytest.approx(2.25)
    assert (stats.largest_win, stats.largest_loss) == (300.0, -100.0)
    assert (stats.total_pnl, stats.total_fees) == (350.0, 22.5)
    assert stats.avg_holding_time == pd.Timedelta(hours=2)  # (2 + 1 + 3) / 3
    assert stats.max_holding_time == pd.Timedelta(hours=3)
    assert stats.exposure_time == pytest.approx(0.6)  # 6 of 10 bars
    # Kelly: W - (1 - W) / R = 2/3 - (1/3) / 2.25 = 14/27
    assert stats.kelly == pytest.approx(14 / 27)


def test_as_dict_reports_holding_times_in_seconds() -> None:
    row = trade_statistics(THREE, BARS, HOUR).as_dict()
    assert tuple(row) == TRADE_STAT_KEYS
    assert row["avg_holding_seconds"] == 7200.0
    assert row["max_holding_seconds"] == 10800.0


def test_times_as_int_milliseconds_give_the_same_result() -> None:
    as_ms = THREE.assign(
        entry_time=THREE["entry_time"].astype("int64"), exit_time=THREE["exit_time"].astype("int64")
    )
    assert as_ms["entry_time"].iloc[1] == T0 + 3 * HOUR
    assert trade_statistics(as_ms, BARS, HOUR) == trade_statistics(THREE, BARS, HOUR)


@pytest.mark.parametrize(
    "empty",
    [None, THREE.iloc[0:0], pd.DataFrame()],
    ids=["none", "no-rows", "no-columns"],
)
def test_zero_trades_is_defined(empty: pd.DataFrame | None) -> None:
    stats = trade_statistics(empty, BARS, HOUR)
    assert (stats.trade_count, stats.win_count, stats.loss_count) == (0, 0, 0)
    assert (stats.total_pnl, stats.total_fees, stats.gross_profit) == (0.0, 0.0, 0.0)
    assert stats.exposure_time == 0.0
    for name in ("win_rate", "profit_factor", "expectancy", "avg_win", "avg_loss", "kelly"):
        assert math.isnan(getattr(stats, name)), name
    assert stats.avg_holding_time is pd.NaT
    assert math.isnan(stats.as_dict()["max_holding_seconds"])
    assert math.isnan(trade_statistics(empty).exposure_time)  # no bars given


def test_one_winning_trade() -> None:
    stats = trade_statistics(THREE.iloc[[0]], BARS, HOUR)
    assert (stats.trade_count, stats.win_rate) == (1, 1.0)
    assert stats.profit_factor == math.inf
    assert math.isnan(stats.avg_loss)
    assert math.isnan(stats.payoff_ratio)
    assert math.isnan(stats.kelly)
    assert stats.expectancy == 300.0
    assert stats.exposure_time == pytest.approx(0.2)


def test_one_losing_trade() -> None:
    stats = trade_statistics(THREE.iloc[[1]], BARS, HOUR)
    assert (stats.win_rate, stats.profit_factor) == (0.0, 0.0)
    assert math.isnan(stats.largest_win)
    assert stats.largest_loss == -100.0


def test_a_flat_trade_counts_but_neither_wins_nor_loses() -> None:
    stats = trade_statistics(trade_list([("long", 0, 1, 0.0, 1.0), ("long", 2, 3, 50.0, 1.0)]))
    assert (stats.trade_count, stats.win_count, stats.loss_count) == (2, 1, 0)
    assert stats.win_rate == 0.5


def test_exposure_counts_an_intrabar_trade_and_overlaps_once() -> None:
    trades = trade_list(
        [
            ("long", 0, 3, 1.0, 0.0),  # bars 00, 01, 02
            ("short", 1, 2, 1.0, 0.0),  # inside the first: adds nothing
            ("long", 5.25, 5.75, 1.0, 0.0),  # opened and closed inside bar 05
        ]
    )
    assert exposure_time(trades, BARS, HOUR) == pytest.approx(0.4)
    assert exposure_time(trades, BARS) == pytest.approx(0.4)  # bar length inferred


def test_exposure_joins_partly_overlapping_trades_in_any_order() -> None:
    trades = trade_list(
        [
            ("long", 6, 8, 1.0, 0.0),  # bars 06, 07
            ("long", 0, 3, 1.0, 0.0),  # bars 00 .. 02
            ("short", 2, 4, 1.0, 0.0),  # bars 02, 03: one new bar
            ("long", 7, 12, 1.0, 0.0),  # bars 07 .. 09 (the run ends at 09): two new bars
        ]
    )
    assert exposure_time(trades, BARS, HOUR) == pytest.approx(0.8)  # all but 04 and 05


def test_exposure_on_real_data_is_the_share_of_held_bars(candles: Candles) -> None:
    equity = sma_cross_equity(candles.close)
    trades = sma_cross_trades(candles, equity)
    held = np.concatenate(([0.0], sma_cross_position(candles.close)[:-1]))
    stats = trade_statistics(trades, candles.ts, candles.bar_ms)
    assert stats.trade_count == int(np.count_nonzero(np.diff(np.insert(held, 0, 0.0)) > 0))
    assert stats.exposure_time == pytest.approx(held.mean(), abs=1e-12)
    # Every equity change happens inside a trade, so the trades' pnl adds up to it.
    assert stats.total_pnl == pytest.approx(equity[-1] - equity[0], rel=1e-9)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop(columns="pnl"), "lacks the column"),
        (lambda t: t.assign(side=["long", "flat", "long"]), "side 'flat'"),
        (lambda t: t.assign(exit_time=t["entry_time"] - pd.Timedelta(hours=1)), "exits before"),
        (lambda t: t.assign(pnl=[1.0, np.nan, 2.0]), "non-finite pnl"),
        (lambda t: t.assign(fees=["a", "b", "c"]), "'fees' must be numeric"),
        (lambda t: t.assign(entry_time=[at(0), pd.NaT, at(5)]), "NaT"),
    ],
)
def test_bad_trade_lists_are_refused_with_the_reason(
    change: Callable[[pd.DataFrame], pd.DataFrame], message: str
) -> None:
    with pytest.raises(DataError, match=message):
        trade_statistics(change(THREE), BARS, HOUR)


def test_statistics_are_a_frozen_record() -> None:
    stats = trade_statistics(THREE)
    assert isinstance(stats, TradeStatistics)
    with pytest.raises(AttributeError):
        stats.trade_count = 5  # type: ignore[misc]
