"""The blocked sliding-extreme kernel behind donchian, willr and the stochastics.

It cuts the series into blocks of ``timeperiod`` bars, so the cases that can break it are the
block edges: period 1, a window that is exactly one block, a series whose length is not a
multiple of the period, and a period at or beyond the series length. Extremes are exact, so the
results must equal TA-Lib's bit for bit, not merely within tolerance. Inputs with a NaN inside
must take TA-Lib's own rescanning loop, whose treatment of the NaN depends on the scan order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import talib

from tradewind.indicators._nb_momentum import _fastk_rescan
from tradewind.indicators.channels import donchian
from tradewind.indicators.momentum import stoch, stochf, willr
from tradewind.testing.candles import Candles, load_candles

PERIODS = [2, 7, 14, 20, 64, 997]


@pytest.fixture(scope="module")
def candles(shared_data: Path) -> Candles:
    files = sorted((shared_data / "candles").glob("*.csv"))
    return load_candles(files[0])


@pytest.mark.parametrize("timeperiod", PERIODS)
def test_donchian_equals_talib_max_min_bit_for_bit(candles: Candles, timeperiod: int) -> None:
    # 5,003 bars: not a multiple of any period above, so the last block is partial.
    h, lo = candles.high[:5003], candles.low[:5003]
    upper, middle, lower = donchian(h, lo, timeperiod)
    np.testing.assert_array_equal(upper, talib.MAX(h, timeperiod))
    np.testing.assert_array_equal(lower, talib.MIN(lo, timeperiod))
    np.testing.assert_array_equal(
        middle, (talib.MAX(h, timeperiod) + talib.MIN(lo, timeperiod)) / 2
    )


@pytest.mark.parametrize("n", [0, 1, 19, 20, 21, 40, 41])
def test_donchian_short_series_and_exact_blocks(candles: Candles, n: int) -> None:
    h, lo = candles.high[:n], candles.low[:n]
    upper, _, lower = donchian(h, lo, 20)
    assert upper.shape == (n,)
    if n:
        np.testing.assert_array_equal(upper, talib.MAX(h, 20))
        np.testing.assert_array_equal(lower, talib.MIN(lo, 20))


@pytest.mark.parametrize("timeperiod", PERIODS)
def test_willr_and_fast_k_equal_talib_bit_for_bit(candles: Candles, timeperiod: int) -> None:
    h, lo, c = candles.high[:5003], candles.low[:5003], candles.close[:5003]
    np.testing.assert_array_equal(willr(h, lo, c, timeperiod), talib.WILLR(h, lo, c, timeperiod))
    ours_k, _ = stochf(h, lo, c, timeperiod, 1, 0)
    ref_k, _ = talib.STOCHF(h, lo, c, timeperiod, 1, 0)
    np.testing.assert_array_equal(ours_k, ref_k)


def test_period_one_windows_are_the_bar_itself(candles: Candles) -> None:
    # Every block is one bar long: the window is the bar, with no warm-up.
    h, lo, c = candles.high[:1001], candles.low[:1001], candles.close[:1001]
    upper, _, lower = donchian(h, lo, 1)
    np.testing.assert_array_equal(upper, h)
    np.testing.assert_array_equal(lower, lo)
    ours_k, _ = stochf(h, lo, c, 1, 1, 0)
    ref_k, _ = talib.STOCHF(h, lo, c, 1, 1, 0)
    np.testing.assert_array_equal(ours_k, ref_k)


def test_inner_nan_takes_talibs_rescanning_path(candles: Candles) -> None:
    # A NaN inside high: the blocked kernel reports it and the rescanning loop reproduces
    # TA-Lib, whose output depends on where its running extreme was when the NaN arrived.
    h = np.array(candles.high[:600], dtype=np.float64)
    lo = np.array(candles.low[:600], dtype=np.float64)
    c = np.array(candles.close[:600], dtype=np.float64)
    h[150] = np.nan
    np.testing.assert_array_equal(willr(h, lo, c, 14), talib.WILLR(h, lo, c, 14))
    for a, b in zip(stoch(h, lo, c), talib.STOCH(h, lo, c), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, equal_nan=True)


def test_inner_nan_in_low_uses_the_rescanning_kernel(candles: Candles) -> None:
    # A NaN in low: the result is the rescanning kernel's (the blocked one would differ).
    # Known, pre-existing: on the NaN bar itself that kernel gives a number where TA-Lib
    # gives -100; every other bar equals TA-Lib.
    h = np.array(candles.high[:600], dtype=np.float64)
    lo = np.array(candles.low[:600], dtype=np.float64)
    c = np.array(candles.close[:600], dtype=np.float64)
    lo[402] = np.nan
    ours = willr(h, lo, c, 14)
    rescanned = np.full(600, np.nan)
    _fastk_rescan(h, lo, c, 14, True, rescanned)
    np.testing.assert_array_equal(ours[13:], rescanned[13:])
    ref = talib.WILLR(h, lo, c, 14)
    same = (ours == ref) | (np.isnan(ours) & np.isnan(ref))
    np.testing.assert_array_equal(np.flatnonzero(~same), [402])
