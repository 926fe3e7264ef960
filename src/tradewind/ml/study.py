"""The honest study: every model through the same purged walk-forward, beside naive baselines.

For each test window of :func:`~tradewind.ml.validation.purged_walk_forward`, and for each model:
the scaler and the dissimilarity gate are fitted on the training rows, the model is trained with
uniqueness weights (times balanced class weights with ``balance_classes``: they trade accuracy for
recall of rare classes, so they are off by default), and it predicts the test rows it has never seen.
The scaler and gate of a window are fitted once and shared by every model. A random forest's trees
each draw a bootstrap of the window's mean label uniqueness as a share of its rows (with
``bootstrap_uniqueness``; López de Prado's remedy for overlapping labels: a full-size bootstrap of
samples that share most of their label spans holds near-copies, so its trees are alike and slow
to grow). The scores
are computed over all test windows together, next to the majority-class and persistence baselines
computed on the same rows. Nothing is tuned on the test windows: settings are fixed before the
study runs, and a model that does not beat its baseline is reported as such.

Calibration is judged out of sample too: a calibrator fitted on the first half of the test windows'
predictions is applied to the second half. Importance: impurity (from the last window's model)
and permutation (on the last test window).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import UserError
from tradewind.ml.calibration import Calibrator, ReliabilityCurve, reliability_curve
from tradewind.ml.dataset import Dataset
from tradewind.ml.features import Standardiser
from tradewind.ml.gate import DissimilarityGate, GateSettings
from tradewind.ml.importance import permutation_importance
from tradewind.ml.labels import class_weights
from tradewind.ml.models import BoostingSettings, ForestSettings, LightGbmModel, RandomForestModel
from tradewind.ml.validation import (
    Scores,
    Split,
    majority_baseline,
    persistence_baseline,
    purged_walk_forward,
    score,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MODEL_NAMES = ("random_forest", "lightgbm", "lstm")


@dataclass(frozen=True, slots=True, kw_only=True)
class StudySettings:
    """Everything fixed before a study runs (nothing here is chosen by looking at test scores)."""

    models: tuple[str, ...] = MODEL_NAMES
    n_splits: int = 5
    embargo: int | None = None
    min_train: float = 0.4
    forest: ForestSettings = field(default_factory=ForestSettings)
    boosting: BoostingSettings = field(default_factory=BoostingSettings)
    sequence_length: int = 32
    lstm_hidden: int = 32
    lstm_epochs: int = 2
    balance_classes: bool = False
    bootstrap_uniqueness: bool = True
    calibration: str = "isotonic"
    gate: GateSettings = field(default_factory=GateSettings)
    permutation_repeats: int = 2

    def __post_init__(self) -> None:
        unknown = [m for m in self.models if m not in MODEL_NAMES]
        if unknown:
            raise UserError(
                f"unknown model(s) {', '.join(unknown)}; known: {', '.join(MODEL_NAMES)}"
            )
        if self.lstm_hidden < 1 or self.lstm_epochs < 1 or self.sequence_length < 2:
            raise UserError("LSTM hidden size and epochs must be >= 1, sequence length >= 2")


@dataclass(frozen=True, slots=True)
class ModelReport:
    """One model's out-of-sample results over all walk-forward test windows."""

    name: str
    scores: Scores
    fold_accuracy: tuple[float, ...]
    train_seconds: float
    gate_share: float
    gated_scores: Scores | None
    calibrated: Scores | None
    uncalibrated_late: Scores | None
    reliability_raw: ReliabilityCurve | None
    reliability_calibrated: ReliabilityCurve | None
    impurity: FloatArray | None
    permutation: FloatArray | None


@dataclass(frozen=True, slots=True)
class StudyReport:
    """A whole study: what was asked, the baselines and every model, out of sample."""

    title: str
    target: str
    bars: int
    samples: int
    test_samples: int
    horizon: int
    embargo: int
    class_names: dict[int, str]
    class_counts: dict[int, int]
    features: tuple[str, ...]
    splits: int
    baselines: dict[str, Scores]
    models: tuple[ModelReport, ...]

    def best_baseline(self) -> tuple[str, Scores]:
        """The baseline with the lowest log loss (the one a model must beat)."""
        name = min(self.baselines, key=lambda k: self.baselines[k].log_loss)
        return name, self.baselines[name]

    def verdict(self, model: ModelReport) -> str:
        """'beats' when the model's log loss and accuracy both beat every baseline, else 'does not'."""
        beats = all(
            model.scores.log_loss < b.log_loss and model.scores.accuracy > b.accuracy
            for b in self.baselines.values()
        )
        return "beats the baselines" if beats else "does not beat the baselines"


def sample_weights(ds: Dataset, train: IntArray, balance: bool) -> FloatArray:
    """Uniqueness weights of the training samples (times balanced class weights), mean 1."""
    w = ds.uniqueness[train]
    if balance:
        cw = class_weights(ds.y[train])
        w = w * np.array([cw[int(c)] for c in ds.y[train]])
    return np.asarray(w / w.mean(), dtype=np.float64)


def forest_bootstrap(ds: Dataset, train: IntArray, settings: StudySettings) -> ForestSettings:
    """The forest settings for one training window: with ``bootstrap_uniqueness``, each tree
    draws the window's mean label uniqueness as a share of its rows (never so few that a tree
    cannot split twice)."""
    if not settings.bootstrap_uniqueness or train.shape[0] == 0:
        return settings.forest
    floor = 4 * settings.forest.min_samples_leaf / train.shape[0]
    share = float(min(1.0, max(float(ds.uniqueness[train].mean()), floor)))
    return replace(settings.forest, max_samples=share)


def make_model(
    name: str, settings: StudySettings, n_features: int, *, task: str = "classifier",
    forest: ForestSettings | None = None,
) -> Any:  # fmt: skip
    """A fresh, unfitted model of the named kind with the study's settings (``forest``
    overrides the forest's, e.g. by :func:`forest_bootstrap`)."""
    if name == "random_forest":
        return RandomForestModel(task, forest or settings.forest)
    if name == "lightgbm":
        return LightGbmModel(task, settings.boosting)
    if task != "classifier":
        raise UserError(f"{name} is a classifier only")
    from tradewind.ml.lstm import LstmModel, LstmSettings

    return LstmModel(
        LstmSettings(
            n_features=n_features, hidden=settings.lstm_hidden, epochs=settings.lstm_epochs
        )
    )


def fit_model(
    name: str, ds: Dataset, scaled: FloatArray, train: IntArray, settings: StudySettings, *,
    y: npt.NDArray[np.float64] | None = None, task: str = "classifier",
) -> Any:  # fmt: skip
    """Train one model on the ``train`` samples of ``ds``: the one way the study, production
    training and the backtest's walk-forward fit a model.

    ``scaled`` is the feature matrix after the scaler of the training rows. The samples are
    uniqueness-weighted (:func:`sample_weights`) and a forest draws its trees' bootstraps as
    :func:`forest_bootstrap` says (one setting, ``bootstrap_uniqueness``), so a model trained here
    for production is the model the study measured, given the same rows and seed. ``y`` replaces
    the data set's labels (a regression target; class balancing applies to classifiers only).
    """
    forest = forest_bootstrap(ds, train, settings)
    model = make_model(name, settings, ds.matrix.shape[1], task=task, forest=forest)
    target = ds.y.astype(np.float64) if y is None else np.asarray(y, dtype=np.float64)
    model.fit(
        model_inputs(name, scaled, ds, train, settings.sequence_length),
        target[train],
        sample_weights(ds, train, settings.balance_classes and task == "classifier"),
    )
    return model


def model_inputs(
    name: str, scaled: FloatArray, ds: Dataset, rows: IntArray, length: int
) -> FloatArray:
    """Rows for the tree models; windows of ``length`` rows for the LSTM."""
    if name != "lstm":
        return np.asarray(scaled[ds.bars[rows]], dtype=np.float64)
    from tradewind.ml.lstm import windows

    return np.asarray(windows(scaled, ds.bars[rows], length), dtype=np.float64)


def _full_proba(proba: FloatArray, model_classes: IntArray, classes: IntArray) -> FloatArray:
    """Place a model's columns (classes seen in training) among all the study's classes."""
    out = np.zeros((proba.shape[0], classes.shape[0]))
    for k, c in enumerate(model_classes):
        out[:, int(np.searchsorted(classes, c))] = proba[:, k]
    return out


def _calibration(
    proba: FloatArray, y: IntArray, classes: IntArray, folds: IntArray, method: str
) -> tuple[Scores | None, Scores | None, ReliabilityCurve | None, ReliabilityCurve | None]:
    fold_ids = np.unique(folds)
    if fold_ids.shape[0] < 2:
        return None, None, None, None
    early = folds < fold_ids[fold_ids.shape[0] // 2]
    late = ~early
    if np.unique(y[early]).shape[0] < 2:
        return None, None, None, None
    calibrator = Calibrator(method).fit(proba[early], y[early], classes)
    calibrated = calibrator.transform(proba[late])
    # Reliability of the most frequent non-neutral class (UP for direction labels).
    k = int(np.argmax([np.sum(y == c) if c != 0 else -1 for c in classes]))
    outcome = y[late] == classes[k]
    return (
        score(y[late], calibrated, classes),
        score(y[late], proba[late], classes),
        reliability_curve(proba[late][:, k], outcome),
        reliability_curve(calibrated[:, k], outcome),
    )


def run_study(
    ds: Dataset,
    settings: StudySettings,
    *,
    title: str,
    target: str,
    horizon: int,
    class_names: dict[int, str],
    progress: Callable[[str], None] | None = None,
) -> StudyReport:
    """Run every model and baseline through the purged, embargoed walk-forward."""
    embargo = horizon if settings.embargo is None else settings.embargo
    splits = purged_walk_forward(
        ds.bars, ds.end, n_splits=settings.n_splits, embargo=embargo, min_train=settings.min_train
    )
    if not splits:
        raise UserError("no walk-forward split has training data: use more bars")
    classes = ds.classes
    test = np.concatenate([s.test for s in splits])
    folds = np.concatenate([np.full(s.test.shape[0], k) for k, s in enumerate(splits)])
    y_test = ds.y[test]
    majority = np.vstack(
        [majority_baseline(ds.y[s.train], s.test.shape[0], classes) for s in splits]
    )
    persistence = np.vstack(
        [persistence_baseline(ds.y, ds.bars, ds.end, s.train, s.test, classes) for s in splits]
    )
    baselines = {
        "majority class": score(y_test, majority, classes),
        "persistence": score(y_test, persistence, classes),
    }
    windows = [_window(ds, split, settings) for split in splits]
    reports = []
    for name in settings.models:
        if progress:
            progress(f"{name}: {len(splits)} walk-forward windows")
        reports.append(_run_model(name, ds, windows, settings, classes, test, folds))
    return StudyReport(
        title=title,
        target=target,
        bars=int(ds.matrix.shape[0]),
        samples=ds.count,
        test_samples=int(test.shape[0]),
        horizon=horizon,
        embargo=embargo,
        class_names=class_names,
        class_counts={int(c): int(np.sum(ds.y == c)) for c in classes},
        features=ds.names,
        splits=len(splits),
        baselines=baselines,
        models=tuple(reports),
    )


@dataclass(frozen=True, slots=True)
class _Window:
    """One walk-forward window's split, its scaled matrix and which test rows the gate allows
    (fitted on the training rows once, shared by every model)."""

    split: Split
    scaled: FloatArray
    allowed: npt.NDArray[np.bool_]


def _window(ds: Dataset, split: Split, settings: StudySettings) -> _Window:
    scaled = Standardiser.fit(ds.matrix[ds.bars[split.train]]).transform(ds.matrix)
    gate = DissimilarityGate(settings.gate).fit(scaled[ds.bars[split.train]])
    return _Window(split, scaled, gate.allows(scaled[ds.bars[split.test]]))


def _run_model(
    name: str,
    ds: Dataset,
    windows: list[_Window],
    settings: StudySettings,
    classes: IntArray,
    test: IntArray,
    folds: IntArray,
) -> ModelReport:
    length = settings.sequence_length
    probas, allowed, fold_acc = [], [], []
    train_seconds = 0.0
    model: Any = None
    last_x = np.empty(0)
    for window in windows:
        split, scaled = window.split, window.scaled
        train = split.train
        x_test = model_inputs(name, scaled, ds, split.test, length)
        started = time.perf_counter()
        model = fit_model(name, ds, scaled, train, settings)
        train_seconds = time.perf_counter() - started
        proba = _full_proba(model.predict_proba(x_test), model.classes, classes)
        probas.append(proba)
        allowed.append(window.allowed)
        fold_acc.append(float(np.mean(classes[np.argmax(proba, axis=1)] == ds.y[split.test])))
        last_x = x_test
    proba_all = np.vstack(probas)
    allowed_all = np.concatenate(allowed)
    y_test = ds.y[test]
    gated = (
        score(y_test[allowed_all], proba_all[allowed_all], classes) if allowed_all.any() else None
    )
    calibrated, raw_late, rel_raw, rel_cal = _calibration(
        proba_all, y_test, classes, folds, settings.calibration
    )
    impurity = getattr(model, "impurity_importance", None)
    permutation = None
    if name != "lstm" and settings.permutation_repeats > 0:
        last = windows[-1].split.test
        permutation = permutation_importance(
            lambda x: _full_proba(model.predict_proba(x), model.classes, classes),
            last_x,
            ds.y[last],
            classes,
            repeats=settings.permutation_repeats,
        )
    return ModelReport(
        name=name,
        scores=score(y_test, proba_all, classes),
        fold_accuracy=tuple(fold_acc),
        train_seconds=train_seconds,
        gate_share=float(allowed_all.mean()),
        gated_scores=gated,
        calibrated=calibrated,
        uncalibrated_late=raw_late,
        reliability_raw=rel_raw,
        reliability_calibrated=rel_cal,
        impurity=None if impurity is None else np.asarray(impurity, dtype=np.float64),
        permutation=permutation,
    )
