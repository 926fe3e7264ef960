"""Drawdown series, the underwater curve and the longest drawdown, by hand and on real data."""

from __future__ import annotations

import empyrical
import numpy as np
import pandas as pd
from perf_curves import Candles, sma_cross_equity

from tradewind.performance import (
    drawdown_series,
    max_drawdown,
    max_drawdown_duration,
    simple_returns,
    underwater_curve,
)

HOUR = 3_600_000
T0 = 1_640_995_200_000  # 2022-01-01 00:00 UTC


def hours(*offsets: int) -> np.ndarray:
    return T0 + HOUR * np.array(offsets, dtype=np.int64)


def test_drawdown_series_equals_empyrical_on_real_returns(candles: Candles) -> None:
    for equity in (candles.close, sma_cross_equity(candles.close)):
        returns = simple_returns(equity)
        np.testing.assert_allclose(
            drawdown_series(returns),
            empyrical.stats.drawdown_series(returns),
            rtol=1e-9,
            atol=1e-15,
        )


def test_underwater_curve_is_the_drawdown_series_of_the_equity(btc_perp: Candles) -> None:
    equity = sma_cross_equity(btc_perp.close)
    underwater = underwater_curve(equity)
    assert underwater[0] == 0.0
    np.testing.assert_allclose(underwater[1:], drawdown_series(simple_returns(equity)), atol=1e-12)
    assert np.isclose(underwater.min(), max_drawdown(simple_returns(equity)), rtol=1e-9)


def test_underwater_curve_by_hand() -> None:
    np.testing.assert_allclose(
        underwater_curve([100.0, 120.0, 90.0, 120.0, 130.0, 0.0]),
        [0.0, 0.0, -0.25, 0.0, 0.0, -1.0],
    )


# Equity by hour: a high of 110 at h1 regained at h5 (4 bars), a high of 111 at h6 regained at
# h8 (2 bars), then a high of 111.5 at h8 never regained (h9, h10: 2 bars, unrecovered).
EQUITY = [100.0, 110.0, 105.0, 100.0, 108.0, 110.0, 111.0, 109.0, 111.5, 90.0, 95.0]


def test_longest_drawdown_by_hand() -> None:
    found = max_drawdown_duration(EQUITY, hours(*range(11)))
    assert found.bars == 4
    assert found.duration == pd.Timedelta(hours=4)
    assert found.peak_time == pd.Timestamp("2022-01-01 01:00", tz="UTC")
    assert found.end_time == pd.Timestamp("2022-01-01 05:00", tz="UTC")
    assert found.recovered


def test_an_unrecovered_drawdown_runs_to_the_last_bar() -> None:
    found = max_drawdown_duration([*EQUITY, 96.0, 97.0, 98.0], hours(*range(14)))
    assert found.bars == 5  # from the high at h8 to the last bar, h13
    assert found.duration == pd.Timedelta(hours=5)
    assert found.end_time == pd.Timestamp("2022-01-01 13:00", tz="UTC")
    assert not found.recovered


def test_the_longest_drawdown_is_chosen_by_time_across_a_gap() -> None:
    # The same curve with a 10-hour hole in the data between h7 and h8: the 2-bar drawdown from
    # the high at h6 now lasts 12 hours and outlasts the 4-bar one.
    times = hours(0, 1, 2, 3, 4, 5, 6, 7, 18, 19, 20)
    found = max_drawdown_duration(EQUITY, times)
    assert found.bars == 2
    assert found.duration == pd.Timedelta(hours=12)
    assert found.peak_time == pd.Timestamp("2022-01-01 06:00", tz="UTC")


def test_no_drawdown_has_zero_duration() -> None:
    found = max_drawdown_duration([100.0, 100.0, 101.0, 102.0], hours(0, 1, 2, 3))
    assert (found.bars, found.duration, found.peak_time) == (0, pd.Timedelta(0), None)
    single = max_drawdown_duration([100.0], hours(0))
    assert single.bars == 0


def test_returning_exactly_to_the_high_ends_the_drawdown() -> None:
    found = max_drawdown_duration([100.0, 90.0, 100.0, 95.0], hours(0, 1, 2, 3))
    assert found.bars == 2
    assert found.recovered


def test_longest_drawdown_on_real_data_matches_a_plain_loop(btc_perp: Candles) -> None:
    equity = sma_cross_equity(btc_perp.close)
    found = max_drawdown_duration(equity, btc_perp.ts)
    # Reference: walk the bars, remember the last high, measure each stretch below it.
    best, high, high_at, below = 0, -np.inf, 0, False
    for i, value in enumerate(equity):
        if value >= high:
            if below:
                best = max(best, i - high_at)
            high, high_at, below = value, i, False
        else:
            below = True
    if below:
        best = max(best, equity.size - 1 - high_at)
    assert found.bars == best
    assert found.duration == pd.Timedelta(minutes=best)  # the month has no gaps
