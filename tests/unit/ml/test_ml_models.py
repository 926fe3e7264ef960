"""Models: fit on real features, save in safe formats, load back to identical predictions."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tradewind.core.errors import DataError, UserError
from tradewind.ml.dataset import Dataset, build_dataset
from tradewind.ml.features import FeatureInputs, Standardiser
from tradewind.ml.lstm import LstmModel, LstmSettings, windows
from tradewind.ml.models import (
    ONNX_TOLERANCE,
    BoostingSettings,
    ForestSettings,
    LightGbmModel,
    RandomForestModel,
    load_model,
)
from tradewind.ml.targets import direction_labels
from tradewind.series.bars import BarSeries


@pytest.fixture(scope="module")
def data(eth_5m: BarSeries) -> tuple[Dataset, np.ndarray]:
    bars = eth_5m.head(4000)
    ds = build_dataset(FeatureInputs(bars), direction_labels(bars, 12), min_history=15)
    scaled = Standardiser.fit(ds.x[:2000]).transform(ds.matrix)
    return ds, scaled


@pytest.mark.parametrize(
    ("make", "state_file"),
    [
        (lambda: RandomForestModel(settings=ForestSettings(n_estimators=20)), "forest.skops"),
        (lambda: LightGbmModel(settings=BoostingSettings(num_boost_round=30)), "model.txt"),
    ],
)
def test_tree_models_round_trip(
    data: tuple[Dataset, np.ndarray], tmp_path: Path, make: object, state_file: str
) -> None:
    ds, scaled = data
    x = scaled[ds.bars]
    model = make()  # type: ignore[operator]
    model.fit(x[:2000], ds.y[:2000].astype(np.float64), ds.uniqueness[:2000])
    proba = model.predict_proba(x[2000:])
    assert np.array_equal(model.classes, np.unique(ds.y[:2000]))
    assert proba.shape == (x.shape[0] - 2000, model.classes.shape[0])
    assert np.allclose(proba.sum(axis=1), 1.0)
    model.save(tmp_path)
    assert (tmp_path / state_file).is_file()
    assert json.loads((tmp_path / "model.json").read_text())["type"] == model.name
    loaded = load_model(tmp_path)
    if isinstance(loaded, RandomForestModel):
        # A loaded forest predicts through its ONNX graph: equal to scikit-learn's to 1e-6.
        assert loaded.compiled
        assert not model.compiled
        assert np.abs(loaded.predict_proba(x[2000:]) - proba).max() <= ONNX_TOLERANCE
        assert np.array_equal(load_model(tmp_path).predict_proba(x), loaded.predict_proba(x))
    else:
        assert np.array_equal(loaded.predict_proba(x[2000:]), proba)
    imp = loaded.impurity_importance
    assert imp.shape == (x.shape[1],)
    assert imp.sum() == pytest.approx(1.0)


def test_regressors(data: tuple[Dataset, np.ndarray], tmp_path: Path) -> None:
    ds, scaled = data
    x = scaled[ds.bars]
    target = np.log(ds.matrix[ds.bars, 0] + 1.0)  # any real-valued column stands in
    for model in (
        RandomForestModel("regressor", ForestSettings(n_estimators=10)),
        LightGbmModel("regressor", BoostingSettings(num_boost_round=20)),
    ):
        model.fit(x[:2000], target[:2000])
        pred = model.predict(x[2000:])
        assert pred.shape == (x.shape[0] - 2000,)
        folder = tmp_path / model.name
        model.save(folder)
        assert np.array_equal(load_model(folder).predict(x[2000:]), pred)
        with pytest.raises(UserError, match="classifier"):
            model.predict_proba(x[:5])


def test_lstm_round_trip_loads_weights_only(
    data: tuple[Dataset, np.ndarray], tmp_path: Path
) -> None:
    ds, scaled = data
    w = windows(scaled, ds.bars, 16)
    assert w.shape == (ds.count, 16, scaled.shape[1])
    assert np.array_equal(w[5, -1], scaled[ds.bars[5]].astype(np.float32))
    model = LstmModel(LstmSettings(n_features=scaled.shape[1], hidden=16, epochs=1))
    model.fit(w[:1000], ds.y[:1000].astype(np.float64))
    proba = model.predict_proba(w[2000:])
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    model.save(tmp_path)
    loaded = load_model(tmp_path)
    assert np.array_equal(loaded.predict_proba(w[2000:]), proba)
    # A state dict with a wrong shape is refused with the file named.
    meta = json.loads((tmp_path / "model.json").read_text())
    meta["settings"]["hidden"] = 8
    (tmp_path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"lstm\.pt"):
        load_model(tmp_path)


def test_a_skops_file_with_an_unexpected_type_is_refused(
    data: tuple[Dataset, np.ndarray], tmp_path: Path
) -> None:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    ds, scaled = data
    model = RandomForestModel(settings=ForestSettings(n_estimators=5))
    model.fit(scaled[ds.bars][:500], ds.y[:500].astype(np.float64))
    model.save(tmp_path)
    sio.dump(LogisticRegression().fit(scaled[ds.bars][:500], ds.y[:500]), tmp_path / "forest.skops")
    assert zipfile.is_zipfile(tmp_path / "forest.skops")
    with pytest.raises(DataError, match="holds a LogisticRegression, not a RandomForestClassifier"):
        load_model(tmp_path)


def test_missing_and_unknown_models_are_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no saved model"):
        load_model(tmp_path)
    (tmp_path / "model.json").write_text(json.dumps({"type": "svm", "task": "classifier"}))
    with pytest.raises(DataError, match="unknown model type 'svm'"):
        load_model(tmp_path)


def test_a_registered_forest_trades_through_onnx_equal_to_scikit_learn(
    data: tuple[Dataset, np.ndarray], eth_5m: BarSeries, tmp_path: Path
) -> None:
    from tradewind.ml.artifact import ModelCard, bars_digest, make_pin
    from tradewind.ml.calibrated import CalibratedModel, fit_calibrated
    from tradewind.ml.study import StudySettings
    from tradewind.ml.targets import DIRECTION_NAMES
    from tradewind.strategies.builtin._direction import PinnedModels

    ds, _ = data
    bars = eth_5m.head(4000)
    card = ModelCard(
        model_type="", target="direction", horizon=12, features=(), parameters={},
        symbol=bars.symbol, timeframe=str(bars.timeframe), data_start_ts=int(bars.ts[0]),
        data_end_ts=int(bars.ts[-1]), data_hash=bars_digest(bars), code_version="test",
    )  # fmt: skip
    settings = StudySettings(forest=ForestSettings(n_estimators=60))
    fitted = fit_calibrated(ds, "random_forest", settings, card, class_names=DIRECTION_NAMES)
    digest = fitted.save(tmp_path / "m")
    assert (tmp_path / "m" / "forest.onnx").is_file()
    model = PinnedModels().get(make_pin(tmp_path / "m", digest))
    assert model.pipeline.model.compiled  # the strategies' path is the compiled one
    matrix = model.feature_matrix(FeatureInputs(eth_5m))
    rows = np.flatnonzero(np.isfinite(matrix).all(axis=1))
    assert rows.shape[0] > 4000
    compiled = model.probabilities(matrix, rows)
    # Trained for production, the forest already predicts through the graph it saves: the
    # trained model and its reload are bit-identical.
    assert fitted.pipeline.model.compiled
    assert np.array_equal(compiled, fitted.probabilities(matrix, rows))
    # The graph's probabilities equal scikit-learn's forest to 1e-6 (measured 3e-8: ONNX
    # Runtime's float32).
    scaled = model.pipeline.scaler.transform(matrix[rows])
    raw = np.abs(
        model.pipeline.model.predict_proba(scaled)
        - fitted.pipeline.model.estimator.predict_proba(scaled)
    )
    assert raw.max() <= ONNX_TOLERANCE
    assert raw.max() > 0  # not vacuous: two different engines
    # The graph file is part of the model's digest: a changed graph is refused.
    (tmp_path / "m" / "forest.onnx").write_bytes(b"not a graph")
    with pytest.raises(DataError, match="differ from the registered SHA-256"):
        CalibratedModel.load_verified(tmp_path / "m", digest)
