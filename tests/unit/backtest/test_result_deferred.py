"""What a result builds only when read (issue 15's speed item: compute what the caller asked
for): the data's SHA-256 and the report's bar frames. Read, they are what they always were."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tradewind
from tradewind.backtest.inputs import bar_series, instruments_for, on_price_grid
from tradewind.backtest.results import bars_frame, data_hash
from tradewind.series.bars import BarSeries


@pytest.fixture(scope="module")
def candles(shared_data: Path) -> pd.DataFrame:
    return pd.read_feather(shared_data / "candles" / "ETH_BTC-5m.feather").head(3000)


@pytest.mark.parametrize("engine", ["kernel", "event"])
def test_the_data_hash_is_computed_when_read_and_is_the_data_s(
    candles: pd.DataFrame, engine: str
) -> None:
    result = tradewind.backtest(
        "sma_cross", candles, symbol="ETH/BTC", timeframe="5m", fee=0.001, engine=engine
    )
    assert "data_hash" in result.deferred_meta  # not paid by a run nobody reads
    keys = list(object.__getattribute__(result, "meta"))
    expected = data_hash({"ETH/BTC": _snapped(candles)})
    assert result.meta["data_hash"] == expected
    assert list(result.meta) == keys  # filled in where it stood, not appended
    assert result.deferred_meta == {}
    # A result crosses processes (jobs, the optimiser's workers) with its hash still deferred.
    fresh = tradewind.backtest(
        "sma_cross", candles, symbol="ETH/BTC", timeframe="5m", fee=0.001, engine=engine
    )
    copied = pickle.loads(pickle.dumps(fresh))  # noqa: S301 - our own object, in memory
    assert copied.meta["data_hash"] == expected
    assert result.to_json_dict()["meta"]["data_hash"] == expected


def test_bar_frames_are_built_on_first_read_and_equal_the_bars(candles: pd.DataFrame) -> None:
    result = tradewind.backtest(
        "sma_cross", candles, symbol="ETH/BTC", timeframe="5m", fee=0.001, engine="kernel"
    )
    assert list(result.close) == ["ETH/BTC"]
    assert len(result.close) == 1
    frame = result.close["ETH/BTC"]
    assert frame is result.close["ETH/BTC"]  # built once
    pd.testing.assert_frame_equal(frame, bars_frame(_snapped(candles)))
    assert result.close.get("XRP/BTC") is None
    # The recorded closes, read as the decimals they stand for (float noise aside).
    assert np.allclose(frame["close"].to_numpy(), candles["close"].to_numpy(), rtol=1e-12, atol=0)


def _snapped(candles: pd.DataFrame) -> BarSeries:
    """The series as the run holds it (prices put on the inferred tick)."""
    bars = {"ETH/BTC": bar_series(candles, "ETH/BTC", "5m")}
    on_price_grid(bars, instruments_for(bars, None, None))
    return bars["ETH/BTC"]
