"""The model registry on SQLite and PostgreSQL: versions, promotion, rollback, refused files, and
the feedback loop's record of predictions and outcomes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tradewind.core.errors import UserError
from tradewind.core.timeframe import Timeframe
from tradewind.ml.artifact import ModelCard, ModelIntegrityError, bars_digest, file_digests
from tradewind.ml.calibrated import CalibratedModel, fit_calibrated
from tradewind.ml.dataset import build_dataset
from tradewind.ml.features import FeatureInputs, feature
from tradewind.ml.feedback import rolling_quality
from tradewind.ml.models import BoostingSettings
from tradewind.ml.study import StudySettings
from tradewind.ml.targets import DIRECTION_NAMES, direction_labels
from tradewind.persistence.engine import make_engine, upgrade
from tradewind.persistence.model_feedback import (
    due_predictions,
    record_prediction,
    resolve_prediction,
    resolved_predictions,
)
from tradewind.persistence.model_registry import (
    next_version,
    promote_model,
    register_model,
    registered_model,
    registered_models,
    rollback_model,
)
from tradewind.series.bars import BarSeries
from tradewind.testing.candles import load_candles

FEATURES = ("ret_1", "ret_5", "rsi_14", "ema_gap_50", "rv_30", "bb_width")


@pytest.fixture(scope="module")
def eth(shared_data: Path) -> BarSeries:
    c = load_candles(shared_data / "candles" / "ETH_BTC-5m.feather")
    return BarSeries("ETH/BTC", Timeframe.parse("5m"), c.timestamps, c.open, c.high, c.low,
                     c.close, c.volume)  # fmt: skip


def _fit(bars: BarSeries, seed: int) -> CalibratedModel:
    ds = build_dataset(FeatureInputs(bars), direction_labels(bars, 12),
                       tuple(feature(f) for f in FEATURES), sample_step=2)  # fmt: skip
    settings = StudySettings(boosting=BoostingSettings(num_boost_round=25, min_data_in_leaf=20,
                                                       seed=seed))  # fmt: skip
    card = ModelCard(
        model_type="", target="direction", horizon=12, features=(), parameters={"seed": seed},
        symbol=bars.symbol, timeframe=str(bars.timeframe), data_start_ts=int(bars.ts[0]),
        data_end_ts=int(bars.ts[-1]), data_hash=bars_digest(bars), code_version="0.test",
    )  # fmt: skip
    return fit_calibrated(ds, "lightgbm", settings, card, class_names=DIRECTION_NAMES)


def test_promote_rollback_and_reload_give_bit_identical_predictions(
    db_url: str, eth: BarSeries, tmp_path: Path
) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    later = FeatureInputs(eth.head(2400))
    fitted: dict[int, CalibratedModel] = {}
    expected: dict[int, np.ndarray] = {}
    for seed in (1, 2, 3):
        model = _fit(eth.head(1200 + 100 * seed), seed)
        version = next_version(engine, "eth-dir")
        assert version == seed
        folder = tmp_path / "models" / f"v{version}"
        model.save(folder)
        entry = register_model(engine, name="eth-dir", version=version, card=model.card,
                               folder=folder, files=file_digests(folder))  # fmt: skip
        assert entry.stage == "candidate"
        assert entry.card == model.card  # the card round-trips through the table
        fitted[version] = model
        expected[version] = model.probabilities(model.feature_matrix(later))
    assert not np.array_equal(expected[1], expected[2], equal_nan=True)  # the versions differ

    def production() -> tuple[int, np.ndarray]:
        entry = registered_model(engine, "eth-dir")
        loaded = CalibratedModel.load_verified(entry.path, entry.sha256, entry.files)
        return entry.version, loaded.probabilities(loaded.feature_matrix(later))

    with pytest.raises(UserError, match="no production version"):
        production()
    for version in (1, 2, 3):
        promote_model(engine, "eth-dir", version)
    stages = {e.version: e.stage for e in registered_models(engine, "eth-dir")}
    assert stages == {1: "archived", 2: "archived", 3: "production"}
    version, proba = production()
    assert version == 3
    assert np.array_equal(proba, expected[3], equal_nan=True)

    removed, restored = rollback_model(engine, "eth-dir")
    assert (removed.version, removed.stage, restored.version) == (3, "rolled_back", 2)
    version, proba = production()
    assert version == 2
    assert np.array_equal(proba, expected[2], equal_nan=True)
    assert np.isfinite(proba[-200:]).all()

    assert rollback_model(engine, "eth-dir")[1].version == 1
    with pytest.raises(UserError, match="nothing to roll back to"):
        rollback_model(engine, "eth-dir")
    promote_model(engine, "eth-dir", 3)  # a rolled-back version may be promoted again
    assert registered_model(engine, "eth-dir").version == 3
    with pytest.raises(UserError, match="already registered"):
        register_model(engine, name="eth-dir", version=3, card=fitted[3].card,
                       folder=tmp_path / "models" / "v3", files={})  # fmt: skip
    engine.dispose()


def test_a_model_file_changed_on_disk_is_refused(
    sqlite_db: str, eth: BarSeries, tmp_path: Path
) -> None:
    engine = make_engine(sqlite_db)
    upgrade(engine)
    model = _fit(eth.head(1300), 7)
    folder = tmp_path / "m"
    model.save(folder)
    entry = register_model(engine, name="m", version=1, card=model.card, folder=folder,
                           files=file_digests(folder))  # fmt: skip
    entry.verify()
    data = bytearray((folder / "model.txt").read_bytes())
    data[len(data) // 2] ^= 1  # one bit
    (folder / "model.txt").write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match=r"changed: model\.txt"):
        CalibratedModel.load_verified(entry.path, entry.sha256, entry.files)
    engine.dispose()


def test_predictions_are_recorded_resolved_and_scored(
    db_url: str, eth: BarSeries, tmp_path: Path
) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    model = _fit(eth.head(1300), 5)
    model.save(tmp_path / "m")
    entry = register_model(engine, name="live", version=1, card=model.card,
                           folder=tmp_path / "m", files=file_digests(tmp_path / "m"))  # fmt: skip
    bars = eth.head(1800)
    proba = model.probabilities(model.feature_matrix(FeatureInputs(bars)))
    classes = model.classes.tolist()
    for i in range(1400, 1700):
        assert record_prediction(
            engine, model_id=entry.model_id, symbol="ETH/BTC", bar_ts=int(bars.ts[i]),
            due_ts=int(bars.ts[i + 12]), classes=classes, probabilities=proba[i].tolist(),
        )  # fmt: skip
    # A restarted session predicting the same bar again does not count it twice.
    assert not record_prediction(
        engine, model_id=entry.model_id, symbol="ETH/BTC", bar_ts=int(bars.ts[1400]),
        due_ts=int(bars.ts[1412]), classes=classes, probabilities=proba[1400].tolist(),
    )  # fmt: skip
    due = due_predictions(engine, entry.model_id, int(bars.ts[1650]))
    assert [d.bar_ts for d in due] == [int(t) for t in bars.ts[1400:1639]]
    labels = direction_labels(bars, 12)
    index = {int(t): i for i, t in enumerate(bars.ts)}
    for d in due:
        resolve_prediction(engine, d.prediction_id, int(labels.value[index[d.bar_ts]]))
    resolve_prediction(engine, due[0].prediction_id, 99)  # an outcome is recorded once
    scored = resolved_predictions(engine, entry.model_id)
    assert scored.bar_ts.tolist() == [d.bar_ts for d in due]
    assert np.array_equal(scored.probabilities, proba[1400:1639])  # floats round-trip exactly
    assert np.array_equal(scored.outcome, labels.value[1400:1639].astype(np.int64))
    quality = rolling_quality(scored.probabilities, scored.classes, scored.outcome, window=100)
    hit = scored.classes[np.argmax(proba[1539:1639], axis=1)] == scored.outcome[-100:]
    assert quality.accuracy[-1] == pytest.approx(hit.mean())
    assert resolved_predictions(engine, entry.model_id, limit=10).bar_ts.tolist() == [
        d.bar_ts for d in due[-10:]
    ]
    engine.dispose()
