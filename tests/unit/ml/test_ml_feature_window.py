"""A new bar's features from a bounded window of history equal the whole history's, on the
bundled BTC-PERP month (1m, with its 15m multi-timeframe features)."""

from __future__ import annotations

import numpy as np
import pytest

from tradewind.core.errors import UserError
from tradewind.core.timeframe import Timeframe
from tradewind.data.bundled import BUNDLED_SYMBOL, load_bundled
from tradewind.ml.features import (
    FEATURES,
    FeatureInputs,
    feature,
    feature_matrix,
    history_bars,
    latest_rows,
)
from tradewind.series.bars import BarSeries

BAR_ONLY = tuple(f for f in FEATURES if not f.needs_flow)
# Running sums carry rounding from the series' start: the last digits differ (~1e-13 measured).
RTOL = 1e-9


@pytest.fixture(scope="module")
def month() -> BarSeries:
    frame, _ = load_bundled()
    return BarSeries.from_frame(frame, BUNDLED_SYMBOL, Timeframe.parse("1m"))


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    both_nan = np.isnan(a) & np.isnan(b)
    with np.errstate(invalid="ignore"):
        close = np.abs(a - b) <= RTOL * np.maximum(np.abs(a), 1e-12)
    return both_nan | close


def test_the_last_rows_from_a_bounded_window_equal_the_full_computation(
    month: BarSeries,
) -> None:
    window = history_bars(BAR_ONLY, month.timeframe)
    assert window == 601 * 15  # 600 settled 15m bars (and one partial) for the htf_ features
    assert history_bars((feature("rsi_14"), feature("ema_gap_50")), month.timeframe) == 2000
    full, names = feature_matrix(FeatureInputs(month), BAR_ONLY)
    # Ends far past the window (the window is a fraction of the history), and a few counts.
    for end in (window + 5, 20_000, 31_337, len(month)):
        for count in (1, 7):
            rows = latest_rows(FeatureInputs(month.head(end)), BAR_ONLY, count)
            expected = full[end - count : end]
            same = _same(expected, rows)
            assert np.isfinite(expected).all()  # settled: not a comparison of NaNs
            if not same.all():
                i, j = np.argwhere(~same)[0]
                pytest.fail(f"{names[j]} at bar {end - count + i}: {rows[i, j]!r} from the "
                            f"window, {expected[i, j]!r} from the whole history")  # fmt: skip


def test_the_window_is_needed_a_shorter_one_differs(month: BarSeries) -> None:
    # Not vacuous: with 300 bars the slow features have not settled.
    full, names = feature_matrix(FeatureInputs(month), BAR_ONLY)
    end = 30_000
    short = month.slice(end - 300, end)
    rows, _ = feature_matrix(FeatureInputs(short), BAR_ONLY)
    differ = {names[j] for j in np.flatnonzero(~_same(full[end - 1], rows[-1]))}
    assert {"ema_gap_50", "regime_quiet", "htf_rsi_14", "htf_trend"} <= differ


def test_more_rows_than_bars_is_refused(month: BarSeries) -> None:
    with pytest.raises(UserError, match="rows asked"):
        latest_rows(FeatureInputs(month.head(10)), BAR_ONLY, 11)
