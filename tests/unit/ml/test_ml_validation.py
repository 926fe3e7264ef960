"""Splits that cannot leak, scores against hand computations, and the overlapping-label leak test."""

from __future__ import annotations

import numpy as np
import pytest

from tradewind.ml.features import Feature, FeatureInputs, FeatureLeakError, assert_features_causal
from tradewind.ml.labels import fixed_horizon
from tradewind.ml.models import ForestSettings, RandomForestModel
from tradewind.ml.validation import (
    check_purged,
    combinatorial_purged,
    majority_baseline,
    persistence_baseline,
    purged_walk_forward,
    score,
    unpurged_kfold,
)
from tradewind.series.bars import BarSeries

CLASSES = np.array([-1, 0, 1], dtype=np.int64)


def _spans(n: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    bars = np.arange(n, dtype=np.int64)
    return bars, np.minimum(bars + h, n + h)


def test_walk_forward_trains_on_the_past_only_ending_horizon_plus_embargo_before() -> None:
    bars, end = _spans(1000, 12)
    splits = purged_walk_forward(bars, end, n_splits=4, embargo=5, min_train=0.4)
    assert len(splits) == 4
    covered = np.concatenate([s.test for s in splits])
    assert np.array_equal(covered, np.arange(400, 1000))
    for s in splits:
        assert int(s.train.max()) == int(s.test[0]) - 12 - 5 - 1
        check_purged(s, bars, end, 5)


def test_combinatorial_splits_purge_both_sides_of_each_test_block() -> None:
    bars, end = _spans(600, 10)
    splits = combinatorial_purged(bars, end, n_groups=6, n_test=2, embargo=4)
    assert len(splits) == 15
    for s in splits:
        check_purged(s, bars, end, 4)
        assert np.intersect1d(s.train, s.test).shape[0] == 0
        assert s.train.shape[0] > 200


def test_check_purged_catches_an_unpurged_split() -> None:
    bars, end = _spans(500, 10)
    leaky = unpurged_kfold(500, n_splits=5)[0]
    with pytest.raises(AssertionError, match="within 0 bars of the test window"):
        check_purged(leaky, bars, end, 0)


def test_scores_match_hand_computations() -> None:
    y = np.array([1, -1, 1, 0], dtype=np.int64)
    proba = np.array([[0.1, 0.2, 0.7], [0.6, 0.2, 0.2], [0.5, 0.1, 0.4], [0.2, 0.5, 0.3]])
    s = score(y, proba, CLASSES)
    assert s.accuracy == 0.75
    assert s.log_loss == pytest.approx(-np.mean(np.log([0.7, 0.6, 0.4, 0.5])))
    truth = np.array([[0, 0, 1], [1, 0, 0], [0, 0, 1], [0, 1, 0]])
    assert s.brier == pytest.approx(np.mean(((proba - truth) ** 2).sum(axis=1)))
    # AUC per class by counting ordered pairs: class 1 scores 0.7,0.4 vs 0.2,0.3 -> 1.0.
    assert s.auc == pytest.approx(np.mean([1.0, 1.0, 1.0]))


def test_baselines() -> None:
    y = np.array([1, 1, 1, -1, -1, -1, 1, 1], dtype=np.int64)
    bars = np.arange(8, dtype=np.int64)
    end = bars + 1
    train, test = np.arange(0, 5), np.arange(6, 8)
    major = majority_baseline(y[train], 2, CLASSES)
    assert np.allclose(major, [[0.4, 0.0, 0.6]] * 2)
    persist = persistence_baseline(y, bars, end, train, test, CLASSES)
    # At bar 6 the latest known label is y[5] = -1 (its span ended at bar 6); at bar 7 it is y[6].
    # In training, 3 of 5 labels equal their latest known one: that share goes to the persisted
    # class, the rest to the others by training frequency.
    assert np.allclose(persist, [[0.6, 0.0, 0.4], [0.4, 0.0, 0.6]])
    assert np.allclose(persist.sum(axis=1), 1.0)


def _rf(x: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray) -> float:
    model = RandomForestModel("classifier", ForestSettings(n_estimators=30, min_samples_leaf=3))
    model.fit(x[train], y[train].astype(np.float64))
    return float(np.mean(model.predict(x[test]) == y[test]))


def test_overlapping_label_leak_lifts_unpurged_kfold_but_not_purged_cv(eth_5m: BarSeries) -> None:
    """A model that can read the previous overlapping label looks skilful only without purging.

    The feature is the bar's position in time: with shuffled K-fold, the bars just before and
    after each test bar are in training, and their labels (sharing 29 of 30 bars) equal the test
    label; the forest reads them off. Purged and embargoed CV removes those neighbours, and the
    accuracy falls to the baseline's.
    """
    h = 30
    close = eth_5m.close[:6000]
    labels = fixed_horizon(close, h, 0.0)
    keep = labels.defined
    y = labels.value[keep].astype(np.int64)
    bars = np.flatnonzero(keep).astype(np.int64)
    end = labels.end[keep]
    x = bars[:, None].astype(np.float64)
    classes = np.unique(y)

    def mean_accuracy(splits: list) -> tuple[float, float]:
        acc, base = [], []
        for s in splits:
            acc.append(_rf(x, y, s.train, s.test))
            major = majority_baseline(y[s.train], s.test.shape[0], classes)
            base.append(score(y[s.test], major, classes).accuracy)
        return float(np.mean(acc)), float(np.mean(base))

    leaky, leaky_base = mean_accuracy(unpurged_kfold(bars.shape[0], n_splits=5))
    purged, purged_base = mean_accuracy(
        combinatorial_purged(bars, end, n_groups=6, n_test=1, embargo=h)
    )
    assert leaky > leaky_base + 0.2, (leaky, leaky_base)
    assert purged < purged_base + 0.05, (purged, purged_base)


def test_a_feature_equal_to_the_previous_label_is_caught_by_the_truncation_test(
    eth_5m: BarSeries,
) -> None:
    """Purging cannot catch a feature that reads the future; the truncation test does."""

    def previous_label(x: FeatureInputs) -> np.ndarray:
        value = (
            fixed_horizon(x.bars.close, 10, 0.0).value
            if len(x.bars) > 10
            else np.full(len(x.bars), np.nan)
        )
        return np.concatenate(([np.nan], value[:-1]))

    feature = Feature("previous_label", previous_label, "label of bar t-1 (reads close[t+9])")
    with pytest.raises(FeatureLeakError, match="previous_label"):
        assert_features_causal(FeatureInputs(eth_5m.head(400)), (feature,), [200, 300])
