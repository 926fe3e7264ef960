"""Per-bar returns from equity and the 24/7 annualisation factor."""

from __future__ import annotations

from pathlib import Path

import empyrical
import numpy as np
import pandas as pd
import pytest
from perf_curves import Candles

from tradewind.core.errors import DataError, UserError
from tradewind.core.timeframe import Timeframe
from tradewind.performance import bars_per_day, infer_bar_ms, periods_per_year, simple_returns


def test_simple_returns_equal_empyrical_on_real_closes(candles: Candles) -> None:
    ours = simple_returns(candles.close)
    theirs = empyrical.simple_returns(candles.close)
    assert ours.shape == (candles.close.size - 1,)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


def test_returns_by_hand() -> None:
    np.testing.assert_allclose(simple_returns([100.0, 110.0, 99.0]), [0.1, -0.1])
    assert simple_returns([100.0]).size == 0


def test_a_wiped_out_account_has_zero_returns_after_the_loss() -> None:
    np.testing.assert_array_equal(simple_returns([100.0, 0.0, 0.0, 0.0]), [-1.0, 0.0, 0.0])


@pytest.mark.parametrize(
    ("equity", "message"),
    [
        ([100.0, np.nan], "non-finite"),
        ([100.0, -1.0], "negative"),
        ([100.0, 0.0, 5.0], "rises from 0"),
    ],
)
def test_bad_equity_is_refused(equity: list[float], message: str) -> None:
    with pytest.raises(DataError, match=message):
        simple_returns(equity)


def test_empty_equity_is_refused() -> None:
    with pytest.raises(UserError, match="empty"):
        simple_returns([])


@pytest.mark.parametrize(
    ("timeframe", "per_year"),
    [("1m", 525_600.0), ("5m", 105_120.0), ("1h", 8_760.0), ("4h", 2_190.0), ("1d", 365.0)],
)
def test_periods_per_year_is_365_days_of_bars(timeframe: str, per_year: float) -> None:
    tf = Timeframe.parse(timeframe)
    assert periods_per_year(tf) == per_year
    assert periods_per_year(tf.ms) == per_year
    assert bars_per_day(tf) * 365 == per_year


def test_a_weekly_bar_is_a_fraction_of_a_day() -> None:
    assert bars_per_day(Timeframe.parse("1w")) == pytest.approx(1 / 7)
    assert periods_per_year(Timeframe.parse("1w")) == pytest.approx(365 / 7)


@pytest.mark.parametrize("bad", [0, -60_000, 1.5, True, "1m"])
def test_a_bad_bar_length_is_named(bad: object) -> None:
    with pytest.raises(UserError, match="bar length"):
        periods_per_year(bad)  # type: ignore[arg-type]


def test_bar_length_is_inferred_across_real_gaps(shared_data: Path) -> None:
    # UNITTEST_BTC-1m has 538 gaps: the smallest step is still one minute.
    frame = pd.read_feather(shared_data / "candles" / "UNITTEST_BTC-1m.feather")
    assert (frame["date"].diff().dropna() > pd.Timedelta(minutes=1)).sum() == 538
    assert infer_bar_ms(frame["date"]) == 60_000
    assert infer_bar_ms(pd.DatetimeIndex(frame["date"])) == 60_000


def test_inference_needs_two_increasing_times() -> None:
    with pytest.raises(UserError, match="fewer than two"):
        infer_bar_ms(np.array([0], dtype=np.int64))
    with pytest.raises(DataError, match="strictly increasing"):
        infer_bar_ms(np.array([0, 60_000, 60_000], dtype=np.int64))
