"""One tick inference for every path, exact on the decimal grid of every real candle file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.backtest.inputs import bar_series, instruments_for, tick_of
from tradewind.core.instrument import MarketType
from tradewind.data.grid import DEFAULT_PRICE_STEP, infer_price_step, price_step_or_default
from tradewind.data.meta import MetaOverrides, imported_meta
from tradewind.testing.shared_data import candle_files

FILES = candle_files()


def _frame(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        frame = pd.read_csv(path)
        frame["date"] = pd.to_datetime(frame.pop("timestamp"), utc=True)
        return frame
    return pd.read_feather(path)


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_real_file_gets_its_exact_grid_on_every_path(path: Path, shared_data: Path) -> None:
    frame = _frame(path)
    prices = [frame[c] for c in ("open", "high", "low", "close")]

    inferred = infer_price_step(*prices)
    from_frame = tick_of(bar_series(frame, "X/Y", None))
    imported = imported_meta(
        symbol="X/Y", exchange="binance", source=str(path), overrides=MetaOverrides(),
        market_type=MarketType.SPOT, inferred_price_step=inferred,
    ).instrument.price_step  # fmt: skip

    assert inferred is not None
    assert from_frame == imported == inferred
    # Every price is a whole number of ticks (within a few float ulps of the file's computed
    # prices), and the ticks share no factor: no coarser tick has that property.
    values = np.unique(np.concatenate([np.asarray(p, dtype=np.float64) for p in prices]))
    units = values / float(inferred)
    assert np.abs(units - np.round(units)).max() <= 1e-6
    assert int(np.gcd.reduce(np.round(units).astype(np.int64))) == 1


@pytest.mark.parametrize(
    "name", [p.name for p in FILES if p.name.endswith("BTC-5m.feather")] + ["XRP_ETH-5m.feather"]
)
def test_eight_decimal_prices_give_a_tick_of_1e_8_not_1e_9(name: str, shared_data: Path) -> None:
    frame = _frame(shared_data / "candles" / name)
    series = bar_series(frame, "X/BTC", None)

    (instrument,) = instruments_for({"X/BTC": series}, None, None).values()

    assert instrument.price_step == Decimal("1E-8")


def test_grid_is_the_common_divisor_not_the_smallest_difference() -> None:
    # Prices on a 0.125 grid whose smallest difference is 0.25, and a 0.05 grid read from floats
    # whose differences are binary noise (0.15 - 0.1 = 0.04999999999999999).
    assert infer_price_step([100.125, 100.375, 100.625]) == Decimal("0.125")
    assert infer_price_step(np.array([0.1, 0.15, 0.3])) == Decimal("0.05")
    assert infer_price_step([0.0994, 0.09947]) == Decimal("0.00007")  # 1420 and 1421 ticks
    assert infer_price_step([0.0994, 0.09941]) == Decimal("0.00001")
    assert infer_price_step([4.070000000000001e-05, 4.071e-05]) == Decimal("1E-8")
    assert infer_price_step([20.0, 30.0, 50.0]) == Decimal("10")


def test_prices_that_tell_nothing_fall_back_to_the_default() -> None:
    assert infer_price_step([np.nan, 0.0, -1.0]) is None
    assert price_step_or_default([np.nan]) == DEFAULT_PRICE_STEP
    # More decimals than any exchange's grid: not read as a tick.
    assert infer_price_step([1.0 / 3.0, 2.0 / 3.0]) is None
