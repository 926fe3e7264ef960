"""The study end to end on real bars: the bundled month and one 5m file, CI-sized models.

These are the CI training runs the issue asks for (LSTM hidden 16, 2 epochs). They assert the
study's honesty properties, never that a model wins: scores are out of sample, baselines are
computed on the same rows, and a planted signal is found (so a loss to the baseline is a finding,
not a broken pipeline).
"""

from __future__ import annotations

import numpy as np
import pytest

from tradewind.ml.dataset import build_dataset
from tradewind.ml.features import FEATURES, Feature, FeatureInputs
from tradewind.ml.labels import forward_return
from tradewind.ml.models import BoostingSettings, ForestSettings
from tradewind.ml.regression import regression_labels, run_regression_study
from tradewind.ml.study import StudySettings, run_study
from tradewind.ml.targets import target_labels
from tradewind.series.bars import BarSeries

CI = StudySettings(
    n_splits=3,
    forest=ForestSettings(n_estimators=40, max_depth=6),
    boosting=BoostingSettings(num_boost_round=60),
    sequence_length=16,
    lstm_hidden=16,
    lstm_epochs=2,
    permutation_repeats=1,
)
BAR_FEATURES = tuple(f for f in FEATURES if not f.needs_flow)


def test_direction_study_on_the_bundled_month(btc_month: BarSeries) -> None:
    labels, names = target_labels(btc_month, "direction", 30)
    ds = build_dataset(FeatureInputs(btc_month), labels, min_history=15, sample_step=15)
    report = run_study(
        ds, CI, title="BTC-PERP 1m", target="direction", horizon=30, class_names=names
    )
    assert report.samples > 2500
    assert [m.name for m in report.models] == ["random_forest", "lightgbm", "lstm"]
    assert set(report.baselines) == {"majority class", "persistence"}
    for m in report.models:
        assert m.scores.count == report.test_samples == report.baselines["persistence"].count
        assert 0.0 <= m.scores.accuracy <= 1.0
        assert np.isfinite(m.scores.log_loss)
        assert len(m.fold_accuracy) == report.splits == 3
        assert 0.5 < m.gate_share <= 1.0
        assert m.calibrated is not None
        assert m.reliability_raw is not None
        assert m.train_seconds > 0
        assert report.verdict(m) in ("beats the baselines", "does not beat the baselines")
    forest = report.models[0]
    assert forest.impurity is not None
    assert forest.impurity.shape == (len(report.features),)
    assert forest.permutation is not None


@pytest.mark.parametrize("target", ["regime", "strategy"])
def test_regime_and_strategy_studies_on_a_5m_file(eth_5m: BarSeries, target: str) -> None:
    labels, names = target_labels(eth_5m, target, 12)
    ds = build_dataset(FeatureInputs(eth_5m), labels, min_history=15, sample_step=3)
    settings = StudySettings(
        models=("lightgbm", "lstm"), n_splits=3, boosting=CI.boosting, sequence_length=16,
        lstm_hidden=16, lstm_epochs=2, permutation_repeats=0,
    )  # fmt: skip
    report = run_study(
        ds, settings, title="ETH/BTC 5m", target=target, horizon=12, class_names=names
    )
    assert set(report.class_counts) <= set(names)
    assert len(report.class_counts) >= 3
    for m in report.models:
        assert m.scores.count == report.test_samples > 500


def test_a_planted_signal_beats_the_baselines(eth_5m: BarSeries) -> None:
    """With a feature that knows the answer, the same pipeline reports a clear win."""
    labels, names = target_labels(eth_5m, "direction", 12)
    fwd = forward_return(eth_5m.close, 12).value
    oracle = Feature("oracle", lambda x: fwd[: len(x.bars)], "the forward return itself")
    ds = build_dataset(FeatureInputs(eth_5m), labels, (*BAR_FEATURES[:3], oracle), sample_step=2)
    settings = StudySettings(models=("lightgbm",), n_splits=3, boosting=CI.boosting)
    report = run_study(
        ds, settings, title="oracle", target="direction", horizon=12, class_names=names
    )
    model = report.models[0]
    assert report.verdict(model) == "beats the baselines"
    assert model.scores.accuracy > 0.9


@pytest.mark.parametrize("target", ["return", "mfe", "mae"])
def test_regression_targets_through_the_same_walk_forward(eth_5m: BarSeries, target: str) -> None:
    made = regression_labels(eth_5m, target, 12)
    ds = build_dataset(FeatureInputs(eth_5m), made, sample_step=3)
    settings = StudySettings(
        models=("random_forest", "lightgbm"), n_splits=3,
        forest=ForestSettings(n_estimators=20, max_depth=6), boosting=CI.boosting,
    )  # fmt: skip
    report = run_regression_study(ds, made.value[ds.bars], settings, title="ETH/BTC 5m",
                                  target=target, horizon=12)  # fmt: skip
    assert set(report.models) == {"random_forest", "lightgbm"}
    assert report.baseline.count > 500
    # The training mean is not the test window's own mean: its R² is at most about zero.
    assert report.baseline.r2 <= 0.01
    for name, s in report.models.items():
        assert s.count == report.baseline.count
        assert np.isfinite(s.mae)
        assert s.rmse >= s.mae
        assert report.verdict(name) in ("beats the baseline", "does not beat the baseline")
    if target != "return":
        # Excursions scale with volatility, which the features see: the models find that.
        assert max(s.correlation for s in report.models.values()) > 0.1
