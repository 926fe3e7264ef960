"""The optimiser's compiled sweeps score a market whose fees are charged in the base (Binance
spot's default, as ``data import`` records it) exactly as the event engine runs it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tradewind.core.instrument import FeeSide, MarketType
from tradewind.data.grid import infer_price_step
from tradewind.data.meta import MetaOverrides, imported_meta
from tradewind.optimize.evaluate import KERNEL, Evaluator
from tradewind.optimize.market import prepare_market
from tradewind.strategies.registry import load_strategy


def test_crossing_and_signal_sweeps_equal_the_event_engine(shared_data: Path) -> None:
    frame = pd.read_feather(shared_data / "candles" / "ETH_BTC-5m.feather")
    instrument = imported_meta(
        symbol="ETH/BTC", exchange="binance", source="test", overrides=MetaOverrides(),
        market_type=MarketType.SPOT,
        inferred_price_step=infer_price_step(*[frame[c] for c in ("open", "high", "low", "close")]),
    ).instrument  # fmt: skip
    assert instrument.fee_side is FeeSide.GET
    market = prepare_market(frame, symbol="ETH/BTC", timeframe="5m",
                            instruments={"ETH/BTC": instrument}, cash=1, stake="40%")  # fmt: skip
    points = [{"fast": 6, "slow": 417}, {"fast": 3, "slow": 8}, {"fast": 16, "slow": 46}]

    for name in ("sma_cross", "supertrend_follow"):
        evaluator = Evaluator(load_strategy(name), market)
        chosen = points if name == "sma_cross" else [{"period": 10}, {"period": 4}]
        scored = evaluator.evaluate(chosen)
        assert list(scored.engines) == [KERNEL] * len(chosen)  # no fallback to the event engine
        for row, point in zip(scored.metrics, chosen, strict=True):
            event, _, result = evaluator.run_event(point, None)
            assert row[7] == event[7] >= 10, (name, point)
            assert np.isclose(row[0], event[0], rtol=1e-12), (name, point, row[0], event[0])
            assert result.health is not None
            assert result.health.ok
