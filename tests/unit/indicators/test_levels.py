"""Pivot points from the previous completed period and Fibonacci levels from confirmed swings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.core.errors import DataError, UserError
from tradewind.indicators.levels import fib_levels, pivot_points
from tradewind.testing.candles import Candles, load_candles
from tradewind.testing.causality import assert_causal

HOUR = 3_600_000
DAY = 24 * HOUR


@pytest.fixture(scope="module")
def btc(shared_data: Path) -> Candles:
    return load_candles(shared_data / "candles/btc-perp-20211231-20220201_1m.csv")


def _two_days() -> tuple[np.ndarray, ...]:
    # Day 0 (complete, from 00:00): high 110, low 90, last close 100. Day 1: two bars.
    ts = np.array([0, HOUR, 2 * HOUR, DAY, DAY + HOUR])
    high = np.array([105.0, 110.0, 101.0, 120.0, 121.0])
    low = np.array([95.0, 90.0, 99.0, 100.0, 101.0])
    close = np.array([100.0, 95.0, 100.0, 110.0, 111.0])
    return high, low, close, ts


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        # P = 100, range 20 (H 110, L 90, C 100)
        ("classic", [100, 110, 120, 130, np.nan, 90, 80, 70, np.nan]),
        ("fibonacci", [100, 107.64, 112.36, 120, np.nan, 92.36, 87.64, 80, np.nan]),
        (
            "camarilla",
            [
                100,
                100 + 22 / 12,
                100 + 22 / 6,
                100 + 22 / 4,
                111,
                100 - 22 / 12,
                100 - 22 / 6,
                100 - 22 / 4,
                89,
            ],
        ),
        ("woodie", [100, 110, 120, 130, np.nan, 90, 80, 70, np.nan]),
    ],
)
def test_pivots_hand_checked(method: str, expected: list[float]) -> None:
    levels = pivot_points(*_two_days(), method=method)  # type: ignore[arg-type]
    for field in levels:
        assert np.isnan(field[:3]).all()  # no completed day before day 0
    got = np.array([field[3] for field in levels])
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_array_equal(np.array([f[4] for f in levels]), got)


def test_woodie_weights_the_close() -> None:
    high, low, close, ts = _two_days()
    close = close.copy()
    close[2] = 108.0  # H 110, L 90, C 108 -> classic P 102.67, Woodie P (110 + 90 + 216) / 4 = 104
    assert pivot_points(high, low, close, ts, method="woodie").pivot[3] == pytest.approx(104.0)
    assert pivot_points(high, low, close, ts).pivot[3] == pytest.approx(308 / 3)


def test_partial_first_period_is_not_used() -> None:
    high, low, close, ts = _two_days()
    levels = pivot_points(high[1:], low[1:], close[1:], ts[1:])  # data starts at 01:00
    assert np.isnan(levels.pivot).all()


def test_gap_of_a_whole_period_uses_the_last_traded_one() -> None:
    high, low, close, ts = _two_days()
    ts = ts.copy()
    ts[3:] += DAY  # day 1 is missing; day 2 uses day 0
    assert pivot_points(high, low, close, ts).pivot[3] == pytest.approx(100.0)


def test_daily_pivots_match_previous_utc_day_on_btc(btc: Candles) -> None:
    levels = pivot_points(btc.high, btc.low, btc.close, btc.timestamps)
    frame = pd.DataFrame(
        {"day": btc.timestamps // DAY, "h": btc.high, "l": btc.low, "c": btc.close}
    )
    daily = frame.groupby("day").agg(h=("h", "max"), l=("l", "min"), c=("c", "last"))
    p = (daily.h + daily.l + daily.c) / 3
    expected = frame["day"].map(p.shift(1)).to_numpy(copy=True)
    first_full_day = daily.index[1]  # the file starts at 23:01 on 31 Dec: that day is partial
    expected[frame["day"].to_numpy() <= first_full_day] = np.nan
    np.testing.assert_allclose(levels.pivot, expected, rtol=1e-12)
    assert np.isnan(levels.pivot).sum() == 59 + 1440  # 23:01-23:59 and all of 1 January


def test_weekly_pivots_change_on_mondays(btc: Candles) -> None:
    pivot = pivot_points(btc.high, btc.low, btc.close, btc.timestamps, period="1w").pivot
    changes = np.flatnonzero(np.diff(pivot) != 0) + 1
    changes = changes[~np.isnan(pivot[changes])]
    weekdays = pd.to_datetime(btc.timestamps[changes], unit="ms", utc=True).day_of_week
    assert len(changes) >= 3
    assert set(weekdays) == {0}


def test_fib_levels_of_a_hand_made_swing() -> None:
    # Low swing at bar 2 (low 90), high swing at bar 6 (high 130), k = 2.
    high = np.array([105, 103, 100, 104, 110, 120, 130, 125, 122, 121, 123.0])
    low = np.array([100, 95, 90, 95, 100, 110, 120, 115, 112, 111, 113.0])
    fib = fib_levels(high, low, k=2, ratios=(0.5,), extensions=(1.618,))
    assert np.isnan(fib.direction[:8]).all()  # the high at 6 is only confirmed at bar 8
    assert fib.direction[8] == 1.0
    assert (fib.swing_high[8], fib.swing_low[8]) == (130.0, 90.0)
    assert fib.retracement[8, 0] == pytest.approx(110.0)
    assert fib.extension[8, 0] == pytest.approx(90 + 1.618 * 40)


def test_fib_down_leg_and_confirmation_delay_on_real_data(btc: Candles) -> None:
    data = btc.head(5000)
    k = 10
    fib = fib_levels(data.high, data.low, k=k)
    known = ~np.isnan(fib.direction)
    # Every reported swing price was printed at least k bars before it is reported.
    for t in np.flatnonzero(known)[::250]:
        assert fib.swing_high[t] in data.high[: t - k + 1]
        assert fib.swing_low[t] in data.low[: t - k + 1]
    down = known & (fib.direction == -1.0)
    assert down.any()
    assert (known & (fib.direction == 1.0)).any()
    leg = fib.swing_high[down] - fib.swing_low[down]
    np.testing.assert_allclose(fib.retracement[down, 2], fib.swing_low[down] + 0.5 * leg)


def test_causal(btc: Candles) -> None:
    data = btc.head(4 * 1440)
    assert_causal(
        lambda h, lo, c, ts: pivot_points(h, lo, c, ts, method="camarilla"),
        [data.high, data.low, data.close, data.timestamps],
    )
    assert_causal(lambda h, lo: fib_levels(h, lo, k=5), [data.high, data.low])


def test_bad_input_is_named() -> None:
    high, low, close, ts = _two_days()
    with pytest.raises(UserError, match="unknown pivot method 'demark'"):
        pivot_points(high, low, close, ts, method="demark")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="invalid timeframe"):
        pivot_points(high, low, close, ts, period="day")
    with pytest.raises(DataError, match="timestamps must strictly increase"):
        pivot_points(high, low, close, ts[::-1])
    with pytest.raises(UserError, match="k must be at least 1"):
        fib_levels(high, low, k=0)
    with pytest.raises(UserError, match="ratios and extensions"):
        fib_levels(high, low, ratios=(0.5, float("nan")))
