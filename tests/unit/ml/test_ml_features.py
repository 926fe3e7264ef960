"""Features: every declared feature is causal (truncation test) on real bars; a leak is named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.book.features import bar_features
from tradewind.book.readers.trades import decode_binance_trades_parquet
from tradewind.core.errors import UserError
from tradewind.core.timeframe import Timeframe
from tradewind.ml.features import (
    FEATURES,
    Feature,
    FeatureInputs,
    FeatureLeakError,
    Standardiser,
    assert_features_causal,
    available_features,
    feature_matrix,
)
from tradewind.series.bars import BarSeries
from tradewind.testing.causality import sample_bars

BAR_ONLY = tuple(f for f in FEATURES if not f.needs_flow)


def test_every_bar_feature_is_causal_on_real_5m_bars(eth_5m: BarSeries) -> None:
    inputs = FeatureInputs(eth_5m.head(3000))
    matrix, names = feature_matrix(inputs, BAR_ONLY)
    # Not vacuous: after warm-up every feature has values, and they vary.
    settled = matrix[400:]
    for j, name in enumerate(names):
        assert np.isfinite(settled[:, j]).mean() > 0.9, name
        assert np.nanstd(settled[:, j]) > 0, name
    bars = [*sample_bars(3000, 12, seed=3), 199, 200, 201, 2999]
    assert_features_causal(inputs, BAR_ONLY, sorted(set(bars)))


def test_a_feature_reading_the_next_close_fails_the_truncation_test_by_name(
    eth_5m: BarSeries,
) -> None:
    def next_close_return(x: FeatureInputs) -> np.ndarray:
        c = x.bars.close
        out = np.full(c.shape[0], np.nan)
        out[:-1] = np.log(c[1:] / c[:-1])
        return out

    leaky = Feature("next_close_return", next_close_return, "log(close[t+1] / close[t])")
    inputs = FeatureInputs(eth_5m.head(500))
    with pytest.raises(FeatureLeakError, match="'next_close_return' is not causal") as caught:
        assert_features_causal(inputs, (*BAR_ONLY[:3], leaky), [100, 250])
    assert caught.value.feature == "next_close_return"
    assert caught.value.bar == 100


def test_flow_features_from_real_trades_are_causal(shared_data: Path) -> None:
    tape = decode_binance_trades_parquet(shared_data / "trades" / "binance-btcusdt-trades.parquet")
    tf = Timeframe.parse("1s")
    flow = bar_features(tf, trades=tape, whale_min_history=50, whale_window=300)
    # Bars from the same trades: each second's first/max/min/last price and traded amount.
    ts = flow["ts"]
    slot = np.searchsorted(ts, tape.ts, side="right") - 1
    volume = np.bincount(slot, weights=tape.amount, minlength=ts.shape[0])
    has = volume > 0
    last_price = np.full(ts.shape[0], np.nan)
    last_price[slot] = tape.price
    close = pd.Series(last_price).ffill().bfill().to_numpy(dtype=np.float64)
    high = close.copy()
    low = close.copy()
    np.maximum.at(high, slot, tape.price)
    np.minimum.at(low, slot, tape.price)
    bars = BarSeries("BTC/USDT", tf, ts, close.copy(), high, low, close, volume)
    inputs = FeatureInputs(bars, {"volume_delta": flow["volume_delta"]})
    chosen = [f for f in available_features(inputs) if f.needs_flow]
    assert [f.name for f in chosen] == ["flow_delta"]
    matrix, _ = feature_matrix(inputs, chosen)
    assert np.nanmax(np.abs(matrix[has, 0])) <= 1.0 + 1e-9
    assert np.isfinite(matrix[has, 0]).all()
    assert_features_causal(inputs, chosen, sample_bars(ts.shape[0], 8))


def test_a_flow_feature_without_its_column_is_refused(eth_5m: BarSeries) -> None:
    inputs = FeatureInputs(eth_5m.head(100))
    flow = [f for f in FEATURES if f.name == "book_imbalance"]
    assert flow[0] not in available_features(inputs)
    with pytest.raises(UserError, match="needs flow column"):
        feature_matrix(inputs, flow)


def test_the_scaler_uses_only_the_training_rows(eth_5m: BarSeries) -> None:
    matrix, _ = feature_matrix(FeatureInputs(eth_5m.head(2000)), BAR_ONLY)
    train = matrix[300:1500]
    scaler = Standardiser.fit(train)
    changed = matrix.copy()
    changed[1500:] *= 1000.0  # a wildly different test window
    again = Standardiser.fit(changed[300:1500])
    assert np.array_equal(scaler.mean, again.mean)
    assert np.array_equal(scaler.scale, again.scale)
    scaled = scaler.transform(train)
    assert np.allclose(np.nanmean(scaled, axis=0), 0.0, atol=1e-9)
