"""Regime classification rules, an independent re-derivation on real data, and market breadth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import talib

from tradewind.core.errors import DataError, UserError
from tradewind.indicators.regime import (
    Regime,
    RegimeParams,
    _classify,
    classify_regime,
    market_breadth,
    rolling_rank,
)
from tradewind.testing.candles import Candles, load_candles
from tradewind.testing.causality import assert_causal

PAIRS = ("ETH", "LTC", "ADA", "XLM", "TRX", "ETC")


@pytest.fixture(scope="module")
def eth(shared_data: Path) -> Candles:
    return load_candles(shared_data / "candles/ETH_BTC-5m.feather")


def test_rolling_rank_hand_checked() -> None:
    out = rolling_rank(np.array([1.0, 2.0, 3.0, 2.0, np.nan, 5.0, 1.0, 0.0]), 3)
    np.testing.assert_array_equal(out, [np.nan, np.nan, 1.0, 2 / 3, np.nan, np.nan, np.nan, 1 / 3])


def test_rule_order() -> None:
    # columns: adx, slope (ATR/bar), atr rank, bb-width rank
    rows = np.array(
        [
            [30.0, 0.10, 0.95, 0.95],  # trend wins over volatility
            [30.0, -0.10, 0.50, 0.50],  # down-trend
            [30.0, 0.01, 0.50, 0.50],  # strong ADX but flat MA: not a trend -> ranging
            [10.0, 0.10, 0.50, 0.92],  # one wide percentile is enough for volatile
            [10.0, 0.00, 0.05, 0.08],  # both narrow: quiet
            [10.0, 0.00, 0.05, 0.50],  # one narrow only: ranging
            [np.nan, 0.00, 0.05, 0.50],  # warm-up
        ]
    )
    codes = _classify(*(np.ascontiguousarray(rows[:, k]) for k in range(4)), 25.0, 0.05, 0.9, 0.1)
    assert [Regime(c) for c in codes] == [
        Regime.TRENDING_UP,
        Regime.TRENDING_DOWN,
        Regime.RANGING,
        Regime.VOLATILE,
        Regime.QUIET,
        Regime.RANGING,
        Regime.UNDEFINED,
    ]


def test_matches_independent_derivation_on_real_data(eth: Candles) -> None:
    p = RegimeParams(rank_window=288, ma_period=30)
    codes = classify_regime(eth.high, eth.low, eth.close, p)
    assert codes.dtype == np.int8
    h, lo, c = eth.high, eth.low, eth.close
    adx = talib.ADX(h, lo, c, p.adx_period)
    atr = talib.ATR(h, lo, c, p.atr_period)
    ma = pd.Series(talib.SMA(c, p.ma_period))
    slope = ((ma - ma.shift(p.slope_period)) / (p.slope_period * atr)).to_numpy()
    upper, middle, lower = talib.BBANDS(c, p.bb_period, p.bb_dev, p.bb_dev)

    def rank(x: np.ndarray) -> np.ndarray:
        return (
            pd.Series(x)
            .rolling(p.rank_window)
            .apply(lambda w: np.mean(w <= w[-1]), raw=True)
            .to_numpy()
        )

    atr_rank, bbw_rank = rank(atr / c), rank((upper - lower) / middle)
    expected = np.full(len(c), Regime.UNDEFINED, dtype=np.int8)
    ready = ~(np.isnan(adx) | np.isnan(slope) | np.isnan(atr_rank) | np.isnan(bbw_rank))
    trend = ready & (adx >= p.adx_trend) & (np.abs(slope) >= p.slope_min)
    volatile = ready & ~trend & ((atr_rank >= 0.9) | (bbw_rank >= 0.9))
    quiet = ready & ~trend & ~volatile & (atr_rank <= 0.1) & (bbw_rank <= 0.1)
    expected[ready] = Regime.RANGING
    expected[trend & (slope > 0)] = Regime.TRENDING_UP
    expected[trend & (slope < 0)] = Regime.TRENDING_DOWN
    expected[volatile] = Regime.VOLATILE
    expected[quiet] = Regime.QUIET
    agree = np.mean(codes == expected)
    # ADX/ATR/BBANDS of ours and TA-Lib's agree to ~1e-12, so only exact threshold ties may differ.
    assert agree > 0.999, agree
    assert set(np.unique(codes[ready])) == {r.value for r in Regime if r is not Regime.UNDEFINED}


def test_causal(eth: Candles) -> None:
    data = eth.head(1500)
    params = RegimeParams(rank_window=100)
    assert_causal(
        lambda h, lo, c: classify_regime(h, lo, c, params), [data.high, data.low, data.close]
    )


def test_market_breadth_hand_checked() -> None:
    closes = np.array([[1.0, np.nan], [2.0, 5.0], [3.0, 4.0], [1.0, 6.0]])
    out = market_breadth(closes, period=2)
    # bar 1: A above (2 > 1.5), B undefined; bar 2: A above, B below; bar 3: A below, B above.
    np.testing.assert_array_equal(out, [np.nan, 1.0, 0.5, 0.5])


def test_market_breadth_on_six_pairs(shared_data: Path) -> None:
    frames = {}
    for pair in PAIRS:
        c = load_candles(shared_data / f"candles/{pair}_BTC-5m.feather")
        frames[pair] = pd.Series(c.close, index=c.timestamps)
    grid = pd.DataFrame(frames).sort_index().ffill()  # forward-fill the real gaps of some pairs
    out = market_breadth({k: grid[k].to_numpy() for k in PAIRS}, period=48)
    assert np.isnan(out[:47]).all()
    assert not np.isnan(out[47:]).any()
    assert set(np.unique(np.round(out[47:] * 6))) <= set(range(7))
    above = grid > grid.apply(lambda col: talib.SMA(col.to_numpy(), 48))
    np.testing.assert_allclose(out[47:], above.mean(axis=1).to_numpy()[47:], atol=1e-12)
    np.testing.assert_array_equal(market_breadth(grid.to_numpy(), 48), out)
    assert_causal(lambda m: market_breadth(m, 48), [grid.to_numpy()[:2000]])


def test_bad_input_is_named() -> None:
    with pytest.raises(UserError, match="quiet_rank < volatile_rank"):
        RegimeParams(quiet_rank=0.9, volatile_rank=0.5)
    with pytest.raises(UserError, match="adx_trend must be between 0 and 100"):
        RegimeParams(adx_trend=250)
    with pytest.raises(UserError, match="rank_window must be at least 2"):
        RegimeParams(rank_window=1)
    with pytest.raises(TypeError):
        RegimeParams(14)  # type: ignore[misc]  # keyword-only
    ones = np.ones(50)
    with pytest.raises(UserError, match="close must be positive"):
        classify_regime(ones, ones, np.zeros(50))
    with pytest.raises(UserError, match="align the symbols on one bar grid"):
        market_breadth({"a": ones, "b": np.ones(49)})
    with pytest.raises(DataError, match="has a gap"):
        market_breadth(np.array([[1.0], [np.nan], [1.0]]), 2)
    with pytest.raises(UserError, match="2-D array"):
        market_breadth(ones, 5)
