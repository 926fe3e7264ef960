"""The study and production train a model the same way: one fitting function, one bootstrap.

The study measured forests whose trees each draw a bootstrap of the window's mean label
uniqueness; production used to train full-size bootstraps, so the model promoted was not the
model measured. Both now fit through :func:`~tradewind.ml.study.fit_model`: on the same rows with
the same seed they give the same forest, tree for tree.
"""

from __future__ import annotations

import numpy as np

from tradewind.ml.artifact import ModelCard
from tradewind.ml.calibrated import fit_calibrated, holdout_split
from tradewind.ml.dataset import build_dataset
from tradewind.ml.features import FeatureInputs, Standardiser, feature
from tradewind.ml.models import ForestSettings
from tradewind.ml.study import StudySettings, fit_model, forest_bootstrap, run_study
from tradewind.ml.targets import DIRECTION_NAMES, direction_labels
from tradewind.ml.training import train_pipeline
from tradewind.ml.validation import purged_walk_forward
from tradewind.series.bars import BarSeries

FEATURES = ("ret_1", "ret_5", "rsi_14", "rv_30", "bb_position", "volume_z")
HORIZON = 12
SETTINGS = StudySettings(
    models=("random_forest",), n_splits=2,
    forest=ForestSettings(n_estimators=15, max_depth=5, min_samples_leaf=20, seed=11),
    permutation_repeats=0,
)  # fmt: skip


def _dataset(bars: BarSeries):  # type: ignore[no-untyped-def]
    return build_dataset(FeatureInputs(bars), direction_labels(bars, HORIZON),
                         tuple(feature(f) for f in FEATURES), sample_step=2)  # fmt: skip


def _trees(model: object) -> list[tuple[int, ...]]:
    """Each tree's structure and the rows its bootstrap drew, compared exactly."""
    estimator = model._fitted()  # type: ignore[attr-defined]
    return [
        (t.tree_.node_count, *t.tree_.feature.tolist(), *np.round(t.tree_.threshold, 12).tolist())
        for t in estimator.estimators_
    ]  # fmt: skip


def test_the_study_and_production_train_the_same_forest(eth_5m: BarSeries) -> None:
    bars = eth_5m.head(2400)
    ds = _dataset(bars)
    # The study's last walk-forward window, refitted as production fits it.
    report = run_study(ds, SETTINGS, title="parity", target="direction", horizon=HORIZON,
                       class_names=DIRECTION_NAMES)  # fmt: skip
    last = purged_walk_forward(ds.bars, ds.end, n_splits=2, embargo=HORIZON,
                               min_train=SETTINGS.min_train)[-1]  # fmt: skip
    scaled = Standardiser.fit(ds.matrix[ds.bars[last.train]]).transform(ds.matrix)
    refit = fit_model("random_forest", ds, scaled, last.train, SETTINGS)
    assert report.models[0].impurity is not None
    np.testing.assert_array_equal(report.models[0].impurity, refit.impurity_importance)

    # Production (the registry's training) on the same data and seed: the same bootstrap share
    # (the label uniqueness, well below a full bootstrap) and the same trees.
    card = ModelCard(model_type="", target="direction", horizon=HORIZON, features=(),
                     parameters={}, symbol=bars.symbol, timeframe=str(bars.timeframe),
                     data_start_ts=int(bars.ts[0]), data_end_ts=int(bars.ts[-1]), data_hash="",
                     code_version="0.test")  # fmt: skip
    production = fit_calibrated(ds, "random_forest", SETTINGS, card, class_names=DIRECTION_NAMES)
    split = holdout_split(ds, 0.3, 0)
    share = forest_bootstrap(ds, split.train, SETTINGS).max_samples
    assert share is not None
    assert share < 0.5
    assert production.pipeline.model._fitted().max_samples == share
    scaler = Standardiser.fit(ds.matrix[ds.bars[split.train]])
    study_way = fit_model("random_forest", ds, scaler.transform(ds.matrix), split.train, SETTINGS)
    assert _trees(production.pipeline.model) == _trees(study_way)

    # And the whole-data pipeline (`tradewind ml train`) draws the same share of its rows.
    everything = np.arange(ds.count, dtype=np.int64)
    pipeline = train_pipeline(ds, "random_forest", SETTINGS, target="direction",
                              horizon=HORIZON, class_names=DIRECTION_NAMES)  # fmt: skip
    assert (
        pipeline.model._fitted().max_samples
        == forest_bootstrap(ds, everything, SETTINGS).max_samples
    )
