"""ML models on the bundled BTC-PERP month: training time per model and inference per closed bar.

Training: the direction target (triple barrier, horizon 30) on every 5th bar of the month (about
8,900 samples, 30 features), each model fitted once with the study's default settings (random
forest 200 trees, LightGBM 200 rounds, LSTM hidden 32, 2 epochs, windows of 32 bars).

Inside a session (the issue's budget where it counts): ``ml_signal`` trading a registered LightGBM
model, asked for its signals over its history (22,000 bars and growing) at each new bar (the
driver's call; only the new bar is predicted, its features computed from a bounded window of
history, :func:`~tradewind.ml.features.history_bars`), beside what recomputing the features over
the whole history would cost per bar, and the feedback loop that records, resolves and scores its
prediction in a SQLite bot database.

Inference per closed bar: one row (the LSTM: one window) through the fitted model, the way a live
strategy asks at each bar close; the feature computation is timed separately (it is shared by
every model). Targets from the issue: LightGBM <= 1 ms, LSTM <= 10 ms. For the random forest,
scikit-learn's figure, and a compiled predictor (ONNX Runtime through skl2onnx, when installed)
whose probabilities are checked equal to scikit-learn's to 1e-6 before it is timed.
"""

from __future__ import annotations

import importlib.util
import time
from typing import Any

import numpy as np

from benchmarks.common import Row, best_time
from tradewind.core.timeframe import Timeframe
from tradewind.data.bundled import BUNDLED_SYMBOL, load_bundled
from tradewind.ml.dataset import build_dataset
from tradewind.ml.features import (
    FeatureInputs,
    Standardiser,
    feature,
    feature_matrix,
    history_bars,
)
from tradewind.ml.study import StudySettings, make_model, model_inputs, sample_weights
from tradewind.ml.targets import target_labels
from tradewind.series.bars import BarSeries

GROUP = "ml"


def _onnx_forest(estimator: Any, n_features: int) -> Any | None:
    """An ONNX Runtime session for the forest, or None when skl2onnx/onnxruntime are missing."""
    if (
        importlib.util.find_spec("skl2onnx") is None
        or importlib.util.find_spec("onnxruntime") is None
    ):
        return None
    import onnxruntime as ort
    from skl2onnx import to_onnx

    onnx_model = to_onnx(
        estimator,
        np.zeros((1, n_features), dtype=np.float64),
        options={id(estimator): {"zipmap": False}},
        target_opset=17,
    )
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(onnx_model.SerializeToString(), options)


def run(quick: bool) -> list[Row]:
    """Train each model once, then time one-bar inference; check the compiled forest first."""
    frame, _ = load_bundled()
    bars = BarSeries.from_frame(frame, BUNDLED_SYMBOL, Timeframe.parse("1m"))
    labels, _ = target_labels(bars, "direction", 30)
    step = 20 if quick else 5
    ds = build_dataset(FeatureInputs(bars), labels, min_history=31, sample_step=step)
    settings = StudySettings()
    everything = np.arange(ds.count, dtype=np.int64)
    scaled = Standardiser.fit(ds.x).transform(ds.matrix)
    weights = sample_weights(ds, everything, False)
    rows = []
    fitted: dict[str, Any] = {}
    for name in ("random_forest", "lightgbm", "lstm"):
        model = make_model(name, settings, ds.matrix.shape[1])
        x = model_inputs(name, scaled, ds, everything, settings.sequence_length)
        started = time.perf_counter()
        model.fit(x, ds.y.astype(np.float64), weights)
        rows.append(
            Row(
                GROUP,
                f"train {name} ({ds.count} samples)",
                time.perf_counter() - started,
                note=f"{ds.matrix.shape[1]} features, BTC-PERP 1m month",
            )
        )
        fitted[name] = model
    last = np.array([ds.bars[-1]], dtype=np.int64)
    row = scaled[last]
    window = model_inputs("lstm", scaled, ds, np.array([ds.count - 1]), settings.sequence_length)
    forest, booster, lstm = fitted["random_forest"], fitted["lightgbm"], fitted["lstm"]
    # One bar at a time: one thread each (thread start-up dominates a single row).
    import torch

    torch.set_num_threads(1)
    rows.append(Row(GROUP, "inference/bar lightgbm", best_time(lambda: booster.predict_proba(row)),
                    target="<= 1 ms"))  # fmt: skip
    rows.append(Row(GROUP, "inference/bar random forest (sklearn)",
                    best_time(lambda: forest.predict_proba(row)), note="200 trees, n_jobs=1"))  # fmt: skip
    session = _onnx_forest(forest.estimator, ds.matrix.shape[1])
    if session is not None:
        sample = scaled[ds.bars[-2000:]]
        expected = forest.predict_proba(sample)
        got = session.run(["probabilities"], {"X": sample})[0]
        worst = float(np.max(np.abs(got - expected)))
        if worst > 1e-6:
            raise AssertionError(f"ONNX forest differs from scikit-learn by {worst:.2e}")
        rows.append(Row(GROUP, "inference/bar random forest (ONNX Runtime)",
                        best_time(lambda: session.run(["probabilities"], {"X": row})),
                        target="<= 1 ms", note=f"max |p - sklearn| {worst:.1e}"))  # fmt: skip
    else:
        rows.append(Row(GROUP, "inference/bar random forest (ONNX Runtime)", float("nan"),
                        note="skl2onnx/onnxruntime not installed"))  # fmt: skip
    rows.append(Row(GROUP, "inference/bar lstm", best_time(lambda: lstm.predict_proba(window)),
                    target="<= 10 ms", note="hidden 32, window 32, 1 thread"))  # fmt: skip
    rows.extend(_in_session(bars, quick))
    tail = FeatureInputs(bars.slice(len(bars) - 2000, len(bars)))
    rows.append(Row(GROUP, "features for one bar (2000-bar history)",
                    best_time(lambda: feature_matrix(tail), repeat=3),
                    note="all 30 bar features recomputed over the history"))  # fmt: skip
    return rows


def _in_session(bars: BarSeries, quick: bool) -> list[Row]:
    """Per closed bar in a session: ml_signal's signals, and the feedback loop's bookkeeping."""
    import tempfile
    from pathlib import Path

    from tradewind.config import MlConfig
    from tradewind.ml.artifact import ModelCard, bars_digest, file_digests
    from tradewind.ml.calibrated import fit_calibrated
    from tradewind.ml.models import BoostingSettings
    from tradewind.ml.targets import DIRECTION_NAMES
    from tradewind.ops.model_watch import ModelWatch
    from tradewind.persistence.bots import open_bot
    from tradewind.persistence.model_registry import register_model
    from tradewind.strategies.builtin.ml_signal import MlSignal

    train = bars.head(20_000)
    labels, _ = target_labels(train, "direction", 12)
    ds = build_dataset(FeatureInputs(train), labels, min_history=31, sample_step=5)
    card = ModelCard(
        model_type="", target="direction", horizon=12, features=(), parameters={},
        symbol=train.symbol, timeframe=str(train.timeframe), data_start_ts=int(train.ts[0]),
        data_end_ts=int(train.ts[-1]), data_hash=bars_digest(train), code_version="bench",
    )  # fmt: skip
    settings = StudySettings(boosting=BoostingSettings(num_boost_round=200))
    model = fit_calibrated(ds, "lightgbm", settings, card, class_names=DIRECTION_NAMES)
    features = tuple(feature(name) for name in model.pipeline.features)
    steps = 50 if quick else 200
    start = 22_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        model.save(folder)
        bot = open_bot("bench", bots_dir=Path(tmp) / "bots")
        entry = register_model(bot.engine, name="bench", version=1, card=model.card,
                               folder=folder, files=file_digests(folder))  # fmt: skip
        strategy = MlSignal(model=entry.pin)
        watch = ModelWatch(bot.engine, [strategy], MlConfig(), lambda topic, payload: None)
        # A session's history grows bar by bar from its warm-up (it never slides).
        history = [bars.slice(0, k) for k in range(start, start + steps + 1)]
        strategy.signals(history[0])
        first = history[0]
        # The first close loads what the loop uses (SciPy's KS test, compiled label kernels).
        watch.on_close({first.symbol: first}, {first.symbol: len(first) - 1}, int(first.ts[-1]))
        target_labels(first, "direction", 12)
        began = time.perf_counter()
        for window in history[1:]:
            strategy.signals(window)
        signals = (time.perf_counter() - began) / steps
        began = time.perf_counter()
        for window in history[1:]:
            watch.on_close({window.symbol: window}, {window.symbol: len(window) - 1},
                           int(window.ts[-1]))  # fmt: skip
        loop = (time.perf_counter() - began) / steps
        recorded = watch.views()[0]["predictions"]
        whole = best_time(lambda: strategy.pinned.get(entry.pin).feature_matrix(
            FeatureInputs(history[-1])), repeat=3)  # fmt: skip
        bot.engine.dispose()
    if recorded != steps + 1:
        raise AssertionError(f"the feedback loop recorded {recorded} of {steps + 1} predictions")
    return [
        Row(GROUP, f"session/bar ml_signal signals (lightgbm, {start:,}-bar history)", signals,
            target="<= 1 ms inference",
            note=f"the new bar's features from the last {history_bars(features, bars.timeframe):,}"
            " bars; the new bar predicted"),
        Row(GROUP, f"session/bar features over the whole {start:,}-bar history", whole,
            note="what each bar cost before the bounded window (the model's features)"),
        Row(GROUP, "session/bar feedback loop (record, resolve, score; SQLite)", loop,
            note="model_predictions in the bot database"),
    ]  # fmt: skip
