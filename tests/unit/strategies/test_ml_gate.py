"""The dissimilarity gate in the ML strategies: no entry where the inputs are unlike the training
data, on real candles with a real regime shift spliced in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tradewind.core.timeframe import Timeframe
from tradewind.ml.artifact import ModelCard, bars_digest, make_pin
from tradewind.ml.calibrated import fit_calibrated
from tradewind.ml.dataset import build_dataset
from tradewind.ml.features import FeatureInputs, feature
from tradewind.ml.models import BoostingSettings
from tradewind.ml.study import StudySettings
from tradewind.ml.targets import DIRECTION_NAMES, direction_labels
from tradewind.series.bars import BarSeries
from tradewind.strategies import get_strategy
from tradewind.strategies.builtin._direction import direction_signals
from tradewind.testing.candles import load_candles

TRAINED = 1500
SHIFT = 2000
FEATURES = ("ret_1", "ret_5", "rsi_14", "rv_30", "natr_14", "bb_width")


@pytest.fixture(scope="module")
def eth(shared_data: Path) -> BarSeries:
    c = load_candles(shared_data / "candles" / "ETH_BTC-5m.feather")
    return BarSeries("ETH/BTC", Timeframe.parse("5m"), c.timestamps, c.open, c.high, c.low,
                     c.close, c.volume).head(2600)  # fmt: skip


def _wilder(bars: BarSeries, start: int, k: float) -> BarSeries:
    """The same bars, every move from ``start`` on ``k`` times as large (log returns and each
    bar's open, high and low relative to its close): a market far more volatile than before."""
    log_close = np.log(bars.close)
    moves = np.diff(log_close, prepend=log_close[0])
    moves[start:] *= k
    close = np.exp(log_close[0] + np.cumsum(moves))
    close[:start] = bars.close[:start]

    def rel(x: np.ndarray) -> np.ndarray:
        out = x.copy()
        out[start:] = close[start:] * (x[start:] / bars.close[start:]) ** k
        return out

    return BarSeries(bars.symbol, bars.timeframe, bars.ts, rel(bars.open), rel(bars.high),
                     rel(bars.low), close, bars.volume)  # fmt: skip


def _registered(bars: BarSeries, folder: Path) -> str:
    ds = build_dataset(FeatureInputs(bars), direction_labels(bars, 12),
                       tuple(feature(f) for f in FEATURES))  # fmt: skip
    card = ModelCard(
        model_type="", target="direction", horizon=12, features=(), parameters={},
        symbol=bars.symbol, timeframe=str(bars.timeframe), data_start_ts=int(bars.ts[0]),
        data_end_ts=int(bars.ts[-1]), data_hash=bars_digest(bars), code_version="test",
    )  # fmt: skip
    settings = StudySettings(boosting=BoostingSettings(num_boost_round=30, min_data_in_leaf=20))
    model = fit_calibrated(ds, "lightgbm", settings, card, class_names=DIRECTION_NAMES)
    return make_pin(folder, model.save(folder))


def test_a_registered_model_enters_only_where_its_inputs_are_familiar(
    eth: BarSeries, tmp_path: Path
) -> None:
    pin = _registered(eth.head(TRAINED), tmp_path / "m")
    strategy = get_strategy("ml_signal")(model=pin, entry=0.45, exit_below=0.35)
    # Clean continuation of the same market: the gate lets nearly every bar through.
    clean = strategy.indicators(eth)["familiar"][TRAINED:]
    assert clean.mean() > 0.8
    shifted = _wilder(eth, SHIFT, 8.0)
    p = strategy.indicators(shifted)
    familiar = p["familiar"] > 0
    late = np.arange(len(shifted)) >= SHIFT + 40  # past the look-back of every feature
    assert not familiar[late].any()  # eight times the volatility: nothing like the training rows
    # Not vacuous: the model still gives probabilities there, and ungated they would enter.
    ungated = direction_signals(p["p_up"], p["p_down"], entry=0.45, exit_below=0.35, short=False)
    assert ungated.arrays(len(shifted))[0][late].sum() > 5
    entries, exits, _, _ = strategy.signals(shifted).arrays(len(shifted))
    assert not entries[late].any()
    assert entries[TRAINED:SHIFT].sum() > 0  # before the shift it still trades
    assert np.array_equal(exits, ungated.arrays(len(shifted))[1])  # exits are never held back


def test_a_walk_forward_model_is_gated_by_its_own_training_window(eth: BarSeries) -> None:
    strategy = get_strategy("ml_signal")(train_bars=800, retrain_every=300, trees=30,
                                         entry=0.45, exit_below=0.35)  # fmt: skip
    clean = strategy.indicators(eth)["familiar"] > 0
    shifted = _wilder(eth, SHIFT, 8.0)
    p = strategy.indicators(shifted)
    familiar = p["familiar"] > 0
    predicted = np.isfinite(p["p_up"])
    assert predicted.sum() > 1000
    assert clean[predicted].mean() > 0.5
    assert np.array_equal(familiar[:SHIFT], clean[:SHIFT])  # the gate is causal too
    # The window whose model was trained before the shift: the volatile bars are unfamiliar to
    # it, where some of the clean bars of the same stretch were not.
    boundaries = strategy.predictor("lightgbm").boundaries(shifted)
    window = np.arange(SHIFT + 40, int(boundaries[boundaries > SHIFT][0]))
    assert window.shape[0] > 20
    assert predicted[window].all()
    assert not familiar[window].any()
    assert clean[window].any()
    entries = strategy.signals(shifted).arrays(len(shifted))[0]
    assert not entries[window].any()


def test_an_ensemble_enters_only_where_every_member_is_familiar(
    eth: BarSeries, tmp_path: Path
) -> None:
    pins = [_registered(eth.head(TRAINED + 100 * k), tmp_path / f"m{k}") for k in range(2)]
    ensemble = get_strategy("ml_ensemble")(models=",".join(pins), threshold=0.45,
                                           exit_below=0.35)  # fmt: skip
    shifted = _wilder(eth, SHIFT, 8.0)
    familiar = ensemble.indicators(shifted)["familiar"] > 0
    each = [ensemble.pinned.familiar(pin, shifted) for pin in pins]
    assert np.array_equal(familiar, each[0] & each[1])
    late = np.arange(len(shifted)) >= SHIFT + 40
    assert not familiar[late].any()
    assert not ensemble.signals(shifted).arrays(len(shifted))[0][late].any()
