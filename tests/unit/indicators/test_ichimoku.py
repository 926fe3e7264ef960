"""Ichimoku lines indexed causally: warm-up, pandas cross-check on real data, causality."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.core.errors import DataError, UserError
from tradewind.indicators.ichimoku import ichimoku
from tradewind.testing.candles import Candles, load_candles
from tradewind.testing.causality import assert_causal


@pytest.fixture(scope="module")
def btc(shared_data: Path) -> Candles:
    return load_candles(shared_data / "candles/btc-perp-20211231-20220201_1m.csv")


def test_hand_checked_short_periods() -> None:
    high = np.array([10.0, 12.0, 11.0, 15.0, 14.0, 13.0])
    low = np.array([8.0, 9.0, 7.0, 12.0, 11.0, 10.0])
    close = np.array([9.0, 11.0, 8.0, 14.0, 12.0, 11.0])
    ichi = ichimoku(
        high, low, close, tenkan_period=2, kijun_period=3, senkou_b_period=4, displacement=2
    )
    np.testing.assert_allclose(ichi.tenkan, [np.nan, 10.0, 9.5, 11.0, 13.0, 12.0])
    np.testing.assert_allclose(ichi.kijun, [np.nan, np.nan, 9.5, 11.0, 11.0, 12.5])
    # senkou_a[t] = (tenkan[t-2] + kijun[t-2]) / 2: defined from bar 2 + 2.
    np.testing.assert_allclose(ichi.senkou_a, [np.nan] * 4 + [9.5, 11.0])
    # senkou_b[t] = midpoint of the 4 bars ending at t - 2: bars 0..3 at t = 5.
    np.testing.assert_allclose(ichi.senkou_b, [np.nan] * 5 + [11.0])
    np.testing.assert_allclose(ichi.chikou, [np.nan, np.nan, -1.0, 3.0, 4.0, -3.0])


def test_matches_pandas_and_chart_shift_on_btc(btc: Candles) -> None:
    ichi = ichimoku(btc.high, btc.low, btc.close)
    h, lo, c = pd.Series(btc.high), pd.Series(btc.low), pd.Series(btc.close)

    def mid(n: int) -> pd.Series:
        return (h.rolling(n).max() + lo.rolling(n).min()) / 2

    tenkan, kijun = mid(9), mid(26)
    # A chart draws (tenkan + kijun) / 2 computed at bar t over bar t + 26: shift *forward* here.
    np.testing.assert_allclose(ichi.tenkan, tenkan, rtol=1e-15)
    np.testing.assert_allclose(ichi.kijun, kijun, rtol=1e-15)
    np.testing.assert_allclose(ichi.senkou_a, ((tenkan + kijun) / 2).shift(26), rtol=1e-15)
    np.testing.assert_allclose(ichi.senkou_b, mid(52).shift(26), rtol=1e-15)
    np.testing.assert_allclose(ichi.chikou, c - c.shift(26), rtol=1e-15)
    first_valid = [int(np.argmax(~np.isnan(line))) for line in ichi]
    assert first_valid == [8, 25, 25 + 26, 51 + 26, 26]


def test_causal(btc: Candles) -> None:
    data = btc.head(2000)
    assert_causal(ichimoku, [data.high, data.low, data.close])


def test_bad_input_is_named() -> None:
    ones = np.ones(30)
    with pytest.raises(UserError, match="displacement must be at least 1"):
        ichimoku(ones, ones, ones, displacement=0)
    with pytest.raises(UserError, match="tenkan_period must be an integer"):
        ichimoku(ones, ones, ones, tenkan_period=9.0)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="high has a non-finite value"):
        ichimoku(np.full(30, np.inf), ones, ones)
