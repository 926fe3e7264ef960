"""Drift (PSI, KS) on real features, with a shift injected; the feedback loop's arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from tradewind.core.errors import UserError
from tradewind.ml.drift import feature_drift, ks, psi
from tradewind.ml.features import FeatureInputs, feature, feature_matrix
from tradewind.ml.feedback import needs_recalibration, recalibrate, rolling_quality
from tradewind.ml.targets import direction_labels
from tradewind.ml.validation import score
from tradewind.series.bars import BarSeries

NAMES = ("ret_5", "rsi_14", "rv_30", "bb_width", "volume_z")


def _matrix(bars: BarSeries) -> np.ndarray:
    matrix, _ = feature_matrix(FeatureInputs(bars), tuple(feature(n) for n in NAMES))
    return matrix[np.isfinite(matrix).all(axis=1)]


def test_interleaved_rows_do_not_drift_and_a_shifted_feature_does(eth_5m: BarSeries) -> None:
    rows = _matrix(eth_5m.head(3000))
    reference, current = rows[0::2], rows[1::2]
    assert feature_drift(reference, current, NAMES).drifted == ()
    assert psi(reference[:, 1], reference[:, 1]) == 0.0
    shifted = current.copy()
    shifted[:, 2] *= 3.0  # volatility tripled, as in a crash
    report = feature_drift(reference, shifted, NAMES)
    assert report.drifted == ("rv_30",)
    by_name = {f.name: f for f in report.features}
    assert by_name["rv_30"].psi > 1.0
    # At its effective size (about a dozen independent values among 1,000 overlapping rows) the
    # p-value is far weaker than independent rows would claim, and still decisive.
    assert by_name["rv_30"].n_reference < 50
    assert by_name["rv_30"].p_value < 1e-3
    assert ks(reference[:, 2], shifted[:, 2], effective=False)[1] < 1e-6
    assert by_name["rsi_14"].psi < 0.1


def test_a_later_month_of_real_data_is_measured_not_assumed(eth_5m: BarSeries) -> None:
    early, late = _matrix(eth_5m.head(2000)), _matrix(eth_5m.slice(3760, 5760))
    statistic, p_value = ks(early[:, 2], late[:, 2])
    assert 0.0 <= statistic <= 1.0
    assert 0.0 <= p_value <= 1.0
    with pytest.raises(UserError, match="names"):
        feature_drift(early, late[:, :2], NAMES)
    with pytest.raises(UserError, match="at least 20"):
        psi(early[:5, 0], late[:, 0])


def test_accuracy_falls_recalibration_triggers_and_helps(eth_5m: BarSeries) -> None:
    bars = eth_5m.head(3000)
    labels = direction_labels(bars, 12)
    rsi = feature("rsi_14").compute(FeatureInputs(bars))
    ok = labels.defined & np.isfinite(rsi)
    outcome = labels.value[ok].astype(np.int64)
    classes = np.array([-1, 1])
    outcome = np.where(outcome == 0, 1, outcome)
    # A naive contrarian "model": P(up) from RSI (low RSI -> up), overconfident by design.
    p_up = np.clip(1.5 - 2.0 * rsi[ok], 0.02, 0.98)  # rsi_14 is RSI / 100
    proba = np.column_stack([1.0 - p_up, p_up])
    quality = rolling_quality(proba, classes, outcome, window=200)
    assert np.isnan(quality.accuracy[:199]).all()
    assert np.isfinite(quality.accuracy[199:]).all()
    hit = classes[np.argmax(proba, axis=1)] == outcome
    assert quality.accuracy[-1] == pytest.approx(hit[-200:].mean())
    assert needs_recalibration(quality, min_accuracy=0.99)
    assert not needs_recalibration(quality, min_accuracy=0.0, max_confidence_gap=1.0)
    half = outcome.shape[0] // 2
    calibrator = recalibrate(proba[:half], classes, outcome[:half])
    before = score(outcome[half:], proba[half:], classes)
    after = score(outcome[half:], calibrator.transform(proba[half:]), classes)
    assert after.log_loss < before.log_loss  # fitted on earlier outcomes, judged on later ones
