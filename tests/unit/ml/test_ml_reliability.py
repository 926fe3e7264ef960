"""Reliability curves: equal-count bins, none below the minimum, every count shown."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tradewind.ml.calibration import MIN_BIN_COUNT, reliability_curve
from tradewind.ml.dataset import build_dataset
from tradewind.ml.features import FeatureInputs, feature
from tradewind.ml.models import ForestSettings
from tradewind.ml.report import render_html
from tradewind.ml.study import StudySettings, run_study
from tradewind.ml.targets import DIRECTION_NAMES, direction_labels
from tradewind.series.bars import BarSeries


def test_skewed_probabilities_get_equal_count_bins() -> None:
    # A model that is rarely confident (fixed seed): most predictions near 0.5, a few near the
    # ends, where equal-width bins held a handful each.
    rng = np.random.default_rng(3)
    prob = np.clip(0.5 + 0.08 * rng.standard_normal(1000), 0.0, 1.0)
    outcome = rng.random(1000) < prob
    equal_width = np.bincount(np.clip((prob * 10).astype(int), 0, 9), minlength=10)
    assert 0 < equal_width[equal_width > 0].min() < MIN_BIN_COUNT  # the old bins were sparse
    curve = reliability_curve(prob, outcome)
    assert curve.count.shape == (10,)
    assert curve.count.min() >= MIN_BIN_COUNT
    assert int(curve.count.sum()) == 1000
    assert np.all(np.diff(curve.predicted) >= 0)
    small = reliability_curve(prob[:100], outcome[:100])
    assert small.count.shape == (100 // MIN_BIN_COUNT,)
    assert small.count.min() >= MIN_BIN_COUNT
    assert reliability_curve(prob[:10], outcome[:10]).count.shape == (0,)
    with pytest.raises(Exception, match="min_count"):
        reliability_curve(prob, outcome, min_count=0)


def test_no_plotted_bin_of_a_real_study_is_below_the_minimum(eth_5m: BarSeries) -> None:
    bars = eth_5m.head(3000)
    ds = build_dataset(FeatureInputs(bars), direction_labels(bars, 12),
                       tuple(feature(f) for f in ("ret_1", "ret_5", "rsi_14", "rv_30")),
                       sample_step=2)  # fmt: skip
    settings = StudySettings(models=("random_forest",), n_splits=3, permutation_repeats=0,
                             forest=ForestSettings(n_estimators=15, max_depth=5))  # fmt: skip
    report = run_study(ds, settings, title="ETH/BTC", target="direction", horizon=12,
                       class_names=DIRECTION_NAMES)  # fmt: skip
    model = report.models[0]
    assert model.reliability_raw is not None
    assert model.reliability_calibrated is not None
    page = render_html([report])
    plotted = [int(n) for n in re.findall(r'data-count="(\d+)"', page)]
    shown = model.reliability_raw.count.tolist() + model.reliability_calibrated.count.tolist()
    assert sorted(plotted) == sorted(shown)
    assert len(plotted) >= 10
    assert min(plotted) >= MIN_BIN_COUNT
    for n in plotted:  # every bin's count is written out for the reader, not only hovered
        assert f"<td>{n}</td>" in page
