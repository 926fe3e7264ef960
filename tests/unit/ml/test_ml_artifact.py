"""Saved models: calibrated, carded, hashed; reloaded bit-identical; a changed file refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tradewind.core.errors import UserError
from tradewind.ml.artifact import (
    ModelCard,
    ModelIntegrityError,
    bars_digest,
    folder_digest,
    make_pin,
    parse_pin,
)
from tradewind.ml.calibrated import CalibratedModel, fit_calibrated
from tradewind.ml.dataset import build_dataset
from tradewind.ml.features import FeatureInputs, feature
from tradewind.ml.models import BoostingSettings, ForestSettings
from tradewind.ml.study import StudySettings
from tradewind.ml.targets import DIRECTION_NAMES, direction_labels
from tradewind.series.bars import BarSeries

FEATURES = ("ret_1", "ret_5", "ret_20", "rsi_14", "ema_gap_50", "rv_30", "natr_14", "bb_width")
SMALL = StudySettings(
    boosting=BoostingSettings(num_boost_round=30, min_data_in_leaf=20),
    forest=ForestSettings(n_estimators=20, min_samples_leaf=10),
    lstm_hidden=8, lstm_epochs=1, sequence_length=8,
)  # fmt: skip


def _card(bars: BarSeries) -> ModelCard:
    return ModelCard(
        model_type="", target="direction", horizon=12, features=(), parameters={"barrier": 1.0},
        symbol=bars.symbol, timeframe=str(bars.timeframe), data_start_ts=int(bars.ts[0]),
        data_end_ts=int(bars.ts[-1]), data_hash=bars_digest(bars), code_version="test",
    )  # fmt: skip


def trained(bars: BarSeries, model: str) -> CalibratedModel:
    """A small calibrated direction model on ``bars``."""
    labels = direction_labels(bars, 12)
    ds = build_dataset(
        FeatureInputs(bars), labels, tuple(feature(f) for f in FEATURES),
        min_history=SMALL.sequence_length - 1, sample_step=2,
    )  # fmt: skip
    return fit_calibrated(ds, model, SMALL, _card(bars), class_names=DIRECTION_NAMES)


@pytest.mark.parametrize("model", ["lightgbm", "random_forest", "lstm"])
def test_a_saved_model_reloads_with_bit_identical_probabilities(
    eth_5m: BarSeries, tmp_path: Path, model: str
) -> None:
    bars = eth_5m.head(1500)
    fitted = trained(bars, model)
    later = FeatureInputs(eth_5m.head(2000))
    matrix = fitted.feature_matrix(later)
    before = fitted.probabilities(matrix)
    digest = fitted.save(tmp_path / "m")
    loaded = CalibratedModel.load_verified(tmp_path / "m", digest)
    after = loaded.probabilities(loaded.feature_matrix(later))
    assert np.array_equal(before, after, equal_nan=True)
    assert np.isfinite(after[1600:]).all()  # not vacuous: real numbers, rows summing to 1
    assert np.allclose(after[1600:].sum(axis=1), 1.0)
    assert loaded.card == fitted.card
    assert loaded.card.model_type == model
    assert loaded.card.metrics["validation_samples"] > 0
    assert 0 < loaded.card.metrics["accuracy"] < 1


def test_a_changed_file_is_refused_by_name(eth_5m: BarSeries, tmp_path: Path) -> None:
    fitted = trained(eth_5m.head(1200), "lightgbm")
    folder = tmp_path / "m"
    digest = fitted.save(folder)
    from tradewind.ml.artifact import file_digests

    manifest = file_digests(folder)
    text = (folder / "model.txt").read_text()
    (folder / "model.txt").write_text(text.replace("learning_rate", "learning_rate ", 1))
    with pytest.raises(ModelIntegrityError, match=r"changed: model\.txt.*refusing to load"):
        CalibratedModel.load_verified(folder, digest, manifest)
    (folder / "model.txt").write_text(text)
    CalibratedModel.load_verified(folder, digest, manifest)  # restored: accepted again
    (folder / "extra.pkl").write_bytes(b"x")
    with pytest.raises(ModelIntegrityError, match=r"added: extra\.pkl"):
        CalibratedModel.load_verified(folder, digest, manifest)
    assert folder_digest(folder) != digest


def test_pins_round_trip_and_bad_pins_are_named(tmp_path: Path) -> None:
    digest = "ab" * 32
    assert parse_pin(make_pin(tmp_path / "x#y", digest)) == (tmp_path / "x#y", digest)
    for bad in ("nohash", f"{tmp_path}#1234", f"#{digest}"):
        with pytest.raises(UserError, match="PATH#SHA256"):
            parse_pin(bad)
