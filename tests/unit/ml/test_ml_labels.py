"""Labels on real bars, checked against direct per-bar loops."""

from __future__ import annotations

import numpy as np
import pytest

from tradewind.core.errors import UserError
from tradewind.ml.labels import (
    class_weights,
    excursions,
    fixed_horizon,
    forward_return,
    triple_barrier,
    uniqueness_weights,
)
from tradewind.series.bars import BarSeries


def test_fixed_horizon_classes_follow_the_dead_zone(eth_5m: BarSeries) -> None:
    c = eth_5m.close[:2000]
    labels = fixed_horizon(c, 12, 0.002)
    for t in (0, 500, 1987):
        r = np.log(c[t + 12] / c[t])
        expected = 1 if r > 0.002 else -1 if r < -0.002 else 0
        assert labels.value[t] == expected
        assert labels.end[t] == t + 12
    assert np.isnan(labels.value[-12:]).all()
    counts = {k: int(np.sum(labels.value == k)) for k in (-1, 0, 1)}
    assert min(counts.values()) > 100, counts


def test_triple_barrier_matches_a_direct_walk(eth_5m: BarSeries) -> None:
    h, lo, c = eth_5m.high[:3000], eth_5m.low[:3000], eth_5m.close[:3000]
    vol = np.full(c.shape[0], np.nan)
    r = np.diff(np.log(c))
    for t in range(50, c.shape[0]):
        vol[t] = np.std(r[t - 50 : t]) * np.sqrt(20)
    labels = triple_barrier(h, lo, c, vol, 20, up=1.5, down=1.0)
    seen = {-1: 0, 1: 0, 0: 0}
    for t in range(50, 2980, 7):
        upper, lower = c[t] * np.exp(1.5 * vol[t]), c[t] * np.exp(-1.0 * vol[t])
        expected, end = np.sign(c[t + 20] - c[t]), t + 20
        for k in range(t + 1, t + 21):
            if lo[k] <= lower:
                expected, end = -1.0, k
                break
            if h[k] >= upper:
                expected, end = 1.0, k
                break
        assert labels.value[t] == expected, t
        assert labels.end[t] == end, t
        seen[int(expected)] += 1
    assert seen[1] > 20, seen
    assert seen[-1] > 20, seen
    assert np.isnan(labels.value[:50]).all()


def test_regression_targets(eth_5m: BarSeries) -> None:
    h, lo, c = eth_5m.high[:500], eth_5m.low[:500], eth_5m.close[:500]
    ret = forward_return(c, 10)
    mfe, mae = excursions(h, lo, c, 10)
    for t in (0, 123, 489):
        assert ret.value[t] == pytest.approx(np.log(c[t + 10] / c[t]))
        assert mfe.value[t] == pytest.approx(max(h[t + 1 : t + 11].max() / c[t] - 1, 0))
        assert mae.value[t] == pytest.approx(max(1 - lo[t + 1 : t + 11].min() / c[t], 0))
    assert np.isnan(mfe.value[490:]).all()


def test_uniqueness_weights_discount_overlap() -> None:
    start = np.array([0, 1, 2, 10], dtype=np.int64)
    end = np.array([2, 3, 4, 12], dtype=np.int64)
    w = uniqueness_weights(start, end, 13)
    # Bar concurrency: 0:1, 1:2, 2:3, 3:2, 4:1, 10..12:1.
    assert w[0] == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    assert w[1] == pytest.approx((1 / 2 + 1 / 3 + 1 / 2) / 3)
    assert w[2] == pytest.approx((1 / 3 + 1 / 2 + 1) / 3)
    assert w[3] == 1.0


def test_class_weights_balance_the_classes() -> None:
    y = np.array([1, 1, 1, 0, -1, -1], dtype=np.int64)
    w = class_weights(y)
    assert w == {-1: 1.0, 0: 2.0, 1: 6 / 9}
    total = {c: w[c] * int(np.sum(y == c)) for c in w}
    assert len(set(np.round(list(total.values()), 9))) == 1


def test_bad_label_arguments_are_named() -> None:
    c = np.linspace(1, 2, 50)
    with pytest.raises(UserError, match="horizon"):
        fixed_horizon(c, 0, 0.0)
    with pytest.raises(UserError, match="dead_zone"):
        fixed_horizon(c, 5, -1.0)
    with pytest.raises(UserError, match="barrier"):
        triple_barrier(c, c, c, np.ones(50), 5, up=0.0)
