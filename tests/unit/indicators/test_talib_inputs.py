"""Bad input to the TA-Lib-compatible indicators fails with a specific, named error.

Also pins the three indicators TA-Lib lacks (hma, realised_volatility, cmf) to their documented
formulas on real data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.core.errors import DataError, UserError
from tradewind.indicators._talib_inputs import IndicatorInputError
from tradewind.indicators.momentum import macdext, mfi, rsi, stoch, ultosc
from tradewind.indicators.overlap import hma, sma, t3, wma
from tradewind.indicators.trend import adx, sar
from tradewind.indicators.volatility import atr, bbands, realised_volatility, stddev
from tradewind.indicators.volume import cmf, obv
from tradewind.testing.candles import Candles, load_candles


@pytest.fixture(scope="module")
def btc(shared_data: Path) -> Candles:
    return load_candles(shared_data / "candles/btc-perp-20211231-20220201_1m.csv").head(3000)


def test_mismatched_lengths_name_both_series() -> None:
    with pytest.raises(UserError, match="low has 2 values but high has 3"):
        atr([1.0, 2.0, 3.0], [1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(UserError, match="volume has 1 values but real has 2"):
        obv([1.0, 2.0], [1.0])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sma([1.0, 2.0], 0), "timeperiod must be between 1 and 100000, got 0"),
        (lambda: rsi([1.0, 2.0], 1), "timeperiod must be between 2 and 100000, got 1"),
        (lambda: adx([1.0], [1.0], [1.0], 100001), "timeperiod must be between 2 and 100000"),
        (lambda: stddev([1.0, 2.0], 1), "timeperiod must be between 2 and 100000, got 1"),
        (lambda: stoch([1.0], [1.0], [1.0], fastk_period=0), "fastk_period must be between 1"),
        (lambda: ultosc([1.0], [1.0], [1.0], 7, 0), "timeperiod2 must be between 1"),
        (lambda: t3([1.0, 2.0], 5, 1.5), "vfactor must be between 0.0 and 1.0, got 1.5"),
        (lambda: sar([1.0], [1.0], -0.1), "acceleration must be between 0.0"),
        (lambda: sma([1.0, 2.0], 2.5), "timeperiod must be an integer, got 2.5"),
        (lambda: sma([1.0, 2.0], True), "timeperiod must be an integer, got True"),
        (lambda: hma([1.0, 2.0], 1), "timeperiod must be between 2 and 100000, got 1"),
    ],
)
def test_out_of_range_parameters_are_refused(call: object, message: str) -> None:
    with pytest.raises(IndicatorInputError, match=message):
        call()  # type: ignore[operator]


def test_errors_are_value_errors_too() -> None:
    with pytest.raises(ValueError, match="timeperiod"):
        wma([1.0, 2.0], -3)


def test_ma_types() -> None:
    with pytest.raises(UserError, match="matype=7 \\(MAMA\\) is not supported"):
        bbands([1.0, 2.0, 3.0], 2, matype=7)
    with pytest.raises(UserError, match="slowmatype must be between 0 and 8, got 9"):
        macdext([1.0, 2.0, 3.0], slowmatype=9)


def test_shape_and_type_errors() -> None:
    with pytest.raises(UserError, match=r"real must be a 1-D array, got shape \(2, 2\)"):
        sma([[1.0, 2.0], [3.0, 4.0]], 2)
    with pytest.raises(UserError, match="close must be a numeric 1-D array"):
        mfi([1.0], [1.0], ["a"], [1.0])


def test_realised_volatility_refuses_non_positive_prices() -> None:
    with pytest.raises(
        DataError, match=r"close must be positive for log returns, got 0\.0 at position 1"
    ):
        realised_volatility([1.0, 0.0, 2.0], 2)


def test_realised_volatility_is_annualised_sample_std_of_log_returns(btc: Candles) -> None:
    ours = realised_volatility(btc.close, 20, 525_600.0)
    ref = np.log(pd.Series(btc.close)).diff().rolling(20).std(ddof=1) * np.sqrt(525_600.0)
    np.testing.assert_allclose(ours, ref.to_numpy(), rtol=1e-9, equal_nan=True)
    assert np.isnan(ours[:20]).all()
    assert not np.isnan(ours[20:]).any()


def test_hma_is_wma_of_weighted_difference(btc: Candles) -> None:
    n = 16
    raw = 2.0 * wma(btc.close, n // 2) - wma(btc.close, n)
    expected = np.full(btc.close.shape[0], np.nan)
    expected[n - 1 :] = wma(raw[n - 1 :], 4)
    np.testing.assert_allclose(hma(btc.close, n), expected, rtol=1e-12, equal_nan=True)
    assert int(np.isnan(hma(btc.close, n)).sum()) == n - 1 + 4 - 1


def test_cmf_matches_rolling_sums(btc: Candles) -> None:
    h, lo, c, v = btc.high, btc.low, btc.close, btc.volume
    rng = h - lo
    clv = np.divide((c - lo) - (h - c), rng, out=np.zeros_like(c), where=rng > 0)
    ref = pd.Series(clv * v).rolling(20).sum() / pd.Series(v).rolling(20).sum()
    np.testing.assert_allclose(cmf(h, lo, c, v, 20), ref.to_numpy(), rtol=1e-9, equal_nan=True)


def test_cmf_is_zero_without_volume() -> None:
    out = cmf([2.0, 3.0, 4.0], [1.0, 1.0, 1.0], [1.5, 2.0, 3.0], [0.0, 0.0, 0.0], 2)
    np.testing.assert_array_equal(out, [np.nan, 0.0, 0.0])
