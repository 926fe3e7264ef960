"""The model registry on SQLite and PostgreSQL: versions, promotion, rollback, refused files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tradewind.bars import BarSeries
from tradewind.core.errors import UserError
from tradewind.core.timeframe import Timeframe
from tradewind.ml.artifact import ModelCard, ModelIntegrityError, bars_digest, file_digests
from tradewind.ml.calibrated import CalibratedModel, fit_calibrated
from tradewind.ml.dataset import build_dataset
from tradewind.ml.features import FeatureInputs, feature
from tradewind.ml.models import BoostingSettings
from tradewind.ml.study import StudySettings
from tradewind.ml.targets import DIRECTION_NAMES, direction_labels
from tradewind.persistence.engine import make_engine, upgrade
from tradewind.persistence.model_registry import (
    next_version,
    promote_model,
    register_model,
    registered_model,
    registered_models,
    rollback_model,
)
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
