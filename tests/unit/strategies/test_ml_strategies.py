"""The ML strategies on real candles: walk-forward predictions that never see the future, a
registered model traded by pin, confidence reaching the risk engine's sizing, regime switching."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tradewind.backtest import backtest
from tradewind.core.errors import UserError
from tradewind.core.timeframe import Timeframe
from tradewind.indicators.regime import classify_regime
from tradewind.ml.artifact import ModelCard, ModelIntegrityError, bars_digest, make_pin
from tradewind.ml.calibrated import fit_calibrated
from tradewind.ml.dataset import build_dataset
from tradewind.ml.features import FeatureInputs, feature
from tradewind.ml.models import BoostingSettings
from tradewind.ml.study import StudySettings
from tradewind.ml.targets import DIRECTION_NAMES, direction_labels
from tradewind.ml.walk_forward import WalkForwardPredictor, WalkForwardSettings
from tradewind.optimize.lookahead import lookahead_analysis, strategy_columns
from tradewind.series.bars import BarSeries
from tradewind.strategies import get_strategy
from tradewind.strategies.builtin.ml_signal import MlSignal
from tradewind.testing.candles import load_candles

SMALL = {"train_bars": 800, "retrain_every": 300, "trees": 40}


@pytest.fixture(scope="module")
def eth_path(shared_data: Path) -> Path:
    return shared_data / "candles" / "ETH_BTC-5m.feather"


@pytest.fixture(scope="module")
def eth(eth_path: Path) -> BarSeries:
    c = load_candles(eth_path)
    return BarSeries("ETH/BTC", Timeframe.parse("5m"), c.timestamps, c.open, c.high, c.low,
                     c.close, c.volume).head(2600)  # fmt: skip


@pytest.fixture(scope="module")
def walk() -> MlSignal:
    """One instance for the module, so its window models are trained once."""
    return MlSignal(**SMALL)  # type: ignore[arg-type]


def _first_difference(strategy: MlSignal, bars: BarSeries, cuts: list[int]) -> str | None:
    """Compare every column on the full bars with each truncated copy, and with a copy whose
    bars after the cut are replaced by other real bars (the same bars reversed in time)."""
    full = strategy_columns(strategy, bars)
    for cut in cuts:
        shown = {"truncated": strategy_columns(strategy, bars.head(cut))}
        later = np.arange(len(bars))
        later[cut:] = later[cut:][::-1]
        other = BarSeries(bars.symbol, bars.timeframe, bars.ts, bars.open[later],
                          bars.high[later], bars.low[later], bars.close[later],
                          bars.volume[later])  # fmt: skip
        shown["future replaced"] = {
            k: v[:cut] for k, v in strategy_columns(strategy, other).items()
        }
        for how, part in shown.items():
            for name, values in full.items():
                same = (values[:cut] == part[name]) | (
                    np.isnan(values[:cut]) & np.isnan(part[name])
                )
                if not same.all():
                    return f"{name} at bar {int(np.flatnonzero(~same)[0])} ({how} at {cut})"
    return None


def _window_cuts(strategy: MlSignal, bars: BarSeries) -> list[int]:
    # Right after a retraining boundary is where a label reaching into the window would show.
    starts = strategy.predictor("lightgbm").boundaries(bars)
    return [int(b) + k for b in starts if b >= 800 for k in (1, 6)][:6]


def test_every_walk_forward_prediction_comes_from_a_model_of_the_past(
    walk: MlSignal, eth: BarSeries
) -> None:
    p = walk.indicators(eth)
    predicted = np.isfinite(p["p_up"])
    assert predicted.sum() > 1000  # not vacuous: most bars after the first window are predicted
    assert not predicted[:800].any()  # nothing before a full training window exists
    assert walk.predictor("lightgbm").trained >= 5
    assert _first_difference(walk, eth, _window_cuts(walk, eth)) is None
    assert lookahead_analysis(walk, eth, cuts=4).passed
    signals = walk.signals(eth)
    entries = signals.arrays(len(eth))[0]
    assert entries.sum() > 10
    confidence = signals.confidence_array(len(eth))
    assert confidence is not None
    assert (confidence[entries] >= 0.55).all()
    assert (confidence[entries] <= 1).all()


class LeakyPredictor(WalkForwardPredictor):
    """Lets training labels read up to ``horizon`` bars into the window they predict."""

    def label_limit(self, boundary: int) -> int:
        return boundary + self.settings.horizon


class LeakyMlSignal(MlSignal):
    def make_predictor(self, settings: WalkForwardSettings) -> WalkForwardPredictor:
        return LeakyPredictor(settings)


def test_the_check_catches_a_label_reaching_into_the_window(eth: BarSeries) -> None:
    leaky = LeakyMlSignal(**SMALL)  # type: ignore[arg-type]
    found = _first_difference(leaky, eth, _window_cuts(leaky, eth))
    assert found is not None
    assert found.startswith("p_")


def _registered(bars: BarSeries, folder: Path) -> str:
    ds = build_dataset(FeatureInputs(bars), direction_labels(bars, 12),
                       tuple(feature(f) for f in ("ret_1", "ret_5", "rsi_14", "rv_30")))  # fmt: skip
    card = ModelCard(
        model_type="", target="direction", horizon=12, features=(), parameters={},
        symbol=bars.symbol, timeframe=str(bars.timeframe), data_start_ts=int(bars.ts[0]),
        data_end_ts=int(bars.ts[-1]), data_hash=bars_digest(bars), code_version="test",
    )  # fmt: skip
    settings = StudySettings(boosting=BoostingSettings(num_boost_round=30, min_data_in_leaf=20))
    model = fit_calibrated(ds, "lightgbm", settings, card, class_names=DIRECTION_NAMES)
    return make_pin(folder, model.save(folder))


def test_a_registered_model_trades_only_after_its_training_data(
    eth: BarSeries, tmp_path: Path
) -> None:
    pin = _registered(eth.head(1500), tmp_path / "m")
    strategy = get_strategy("ml_signal")(model=pin, entry=0.5, exit_below=0.4)
    p = strategy.indicators(eth)
    assert not np.isfinite(p["p_up"][:1500]).any()  # in sample: never traded
    assert np.isfinite(p["p_up"][1500:]).all()
    assert lookahead_analysis(strategy, eth, cuts=4).passed
    (tmp_path / "m" / "calibration.json").write_text("{}")
    with pytest.raises(ModelIntegrityError, match="refusing to load"):
        get_strategy("ml_signal")(model=pin).signals(eth)
    with pytest.raises(UserError, match="PATH#SHA256"):
        get_strategy("ml_signal")(model="just/a/folder")


def test_confidence_reaches_the_risk_engines_confidence_sizing(eth_path: Path) -> None:
    strategy = MlSignal(**SMALL, entry=0.5, exit_below=0.45)  # type: ignore[arg-type]
    seen = _check_confidence_sizing(strategy, eth_path, 0.1, 0.5)
    assert len(seen) >= 5
    # Not vacuous: real confidences (an entry without one would get the floor), not all equal.
    assert min(seen) >= 0.5
    assert len(set(seen)) > 1


def test_regime_switch_trades_each_regimes_builtin_and_closes_on_handover(eth: BarSeries) -> None:
    strategy = get_strategy("regime_switch")(trending="ema_cross", ranging="sma_cross")
    n = len(eth)
    long_in, long_out, _, _ = strategy.signals(eth).arrays(n)
    regime = classify_regime(eth.high, eth.low, eth.close)
    ema = get_strategy("ema_cross")().signals(eth).arrays(n)[0]
    sma = get_strategy("sma_cross")().signals(eth).arrays(n)[0]
    trending = (regime == 0) | (regime == 1)
    ranging = regime == 2
    assert long_in.sum() > 5
    assert np.array_equal(long_in, (ema & trending) | (sma & ranging))
    changes = np.flatnonzero(np.diff(strategy.indicators(eth)["active"]) != 0) + 1
    assert changes.size > 5
    assert long_out[changes].all()
    assert lookahead_analysis(strategy, eth, cuts=6).passed
    with pytest.raises(UserError, match="must be one of"):
        get_strategy("regime_switch")(ranging="martingale")


def _check_confidence_sizing(strategy: object, path: Path, floor: float, cap: float) -> list[float]:
    """Backtest with confidence sizing; every entry sized by its signal bar's confidence."""
    result = backtest(strategy, str(path), fee=0.0,  # type: ignore[arg-type]
                      risk={"sizing": {"model": "confidence", "floor": floor, "cap": cap}})  # fmt: skip
    trades = result.trades
    symbol = str(trades["symbol"].iloc[0])
    frame = result.close[symbol]
    bars = BarSeries.from_frame(frame, symbol, Timeframe.parse("5m"))
    confidence = strategy.signals(bars).confidence_array(len(bars))  # type: ignore[attr-defined]
    assert confidence is not None
    opens = frame.index.as_unit("ms").asi8
    equity = 100_000.0
    seen = []
    for row in trades.itertuples():
        # Filled at the next open: the signal (and its confidence) is the bar before.
        signal_bar = int(np.searchsorted(opens, row.entry_time.value // 1_000_000)) - 1
        seen.append(float(confidence[signal_bar]))
        expected = equity * (floor + (cap - floor) * confidence[signal_bar])
        assert row.quantity * frame["close"].iloc[signal_bar] == pytest.approx(expected, rel=1e-3)
        equity += row.pnl
    return seen


def test_an_ensemble_of_registered_models_votes_with_a_070_threshold(
    eth: BarSeries, eth_path: Path, tmp_path: Path
) -> None:
    pins = [_registered(eth.head(1500 + 100 * k), tmp_path / f"m{k}") for k in range(3)]
    ensemble = get_strategy("ml_ensemble")(models=",".join(pins), weights="2,1,1")
    assert ensemble.threshold == 0.70
    vote = ensemble.indicators(eth)
    assert not np.isfinite(vote["confidence"][:1700]).any()  # until every member is out of sample
    assert np.isfinite(vote["confidence"][1700:]).all()
    signals = ensemble.signals(eth)
    entries = signals.arrays(len(eth))[0]
    confidence = signals.confidence_array(len(eth))
    assert confidence is not None
    assert (confidence[entries] >= 0.70).all()
    loose = get_strategy("ml_ensemble")(models=",".join(pins), threshold=0.5, exit_below=0.4)
    assert loose.signals(eth).arrays(len(eth))[0].sum() >= entries.sum()
    with pytest.raises(UserError, match="3 positive weights"):
        get_strategy("ml_ensemble")(models=",".join(pins), weights="1,1")


def test_a_walk_forward_ensemble_sizes_by_the_votes_confidence(eth_path: Path) -> None:
    ensemble = get_strategy("ml_ensemble")(
        learners="lightgbm,random_forest", weights="2,1", threshold=0.55, exit_below=0.45, **SMALL
    )
    seen = _check_confidence_sizing(ensemble, eth_path, 0.1, 0.5)
    assert len(seen) >= 3
    assert min(seen) >= 0.55
    assert len(set(seen)) > 1
