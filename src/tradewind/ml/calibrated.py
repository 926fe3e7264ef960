"""A classifier with its calibration and card: what the registry stores and strategies trade.

:func:`fit_calibrated` splits a data set's samples in time into three consecutive parts:

- the first ``1 - holdout`` share trains the scaler and the model (purged: every training
  label ends, plus the embargo, before the first held-out bar);
- the first half of the holdout fits the calibrator on the model's out-of-sample probabilities;
- the second half scores the model, raw and calibrated, beside the majority-class baseline.

So the card's metrics are out of sample for the model and for its calibrator alike. The model is
not refitted on the held-out samples: the calibrator belongs to the model it was fitted on.

:meth:`CalibratedModel.probabilities` gives calibrated class probabilities at every bar of a
feature matrix (NaN rows where a feature is still warming up), vectorised, for strategies;
:meth:`CalibratedModel.familiar` says at which bars the inputs lie within the dissimilarity gate's
reach of the training rows kept with the model (the strategies enter only there).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import DataError, UserError
from tradewind.ml.artifact import (
    CARD_FILE,
    ModelCard,
    folder_digest,
    verify_folder,
)
from tradewind.ml.calibration import Calibrator
from tradewind.ml.dataset import Dataset
from tradewind.ml.drift import choose_monitored
from tradewind.ml.features import (
    FeatureInputs,
    Standardiser,
    feature,
    feature_matrix,
    latest_rows,
)
from tradewind.ml.gate import DissimilarityGate, GateSettings
from tradewind.ml.models import RandomForestModel
from tradewind.ml.study import StudySettings, fit_model, model_inputs
from tradewind.ml.training import TrainedPipeline
from tradewind.ml.validation import majority_baseline, score

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CALIBRATION_FILE = "calibration.json"
REFERENCE_FILE = "reference.npy"
REFERENCE_ROWS = 2000
"""Training feature rows kept with a model (evenly spaced), the reference its drift is measured
against in a session."""


@dataclass(frozen=True, slots=True)
class CalibratedModel:
    """A trained pipeline, the calibrator fitted on its out-of-sample predictions, and its card."""

    pipeline: TrainedPipeline
    calibrator: Calibrator
    card: ModelCard
    reference: FloatArray | None = None
    """Up to :data:`REFERENCE_ROWS` training feature rows (unscaled, in feature order); None for
    a model saved without them (its drift cannot be measured)."""

    @property
    def classes(self) -> IntArray:
        """The class labels of the probability columns (sorted)."""
        return np.asarray(self.pipeline.model.classes, dtype=np.int64)

    def feature_matrix(self, inputs: FeatureInputs) -> FloatArray:
        """This model's features over ``inputs``, in its column order (causal)."""
        chosen = tuple(feature(name) for name in self.pipeline.features)
        matrix, _ = feature_matrix(inputs, chosen)
        return matrix

    def latest_rows(self, inputs: FeatureInputs, count: int) -> FloatArray:
        """This model's feature rows of the last ``count`` bars of ``inputs``, from a bounded
        window of history (:func:`~tradewind.ml.features.latest_rows`)."""
        return latest_rows(inputs, tuple(feature(n) for n in self.pipeline.features), count)

    def probabilities(self, matrix: FloatArray, rows: IntArray | None = None) -> FloatArray:
        """Calibrated probabilities at ``rows`` of ``matrix`` (all rows by default).

        A row whose features (or, for the LSTM, any row of its window) are incomplete is NaN.
        Each row's answer depends on the matrix rows up to it only.
        """
        n = matrix.shape[0]
        chosen = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
        out = np.full((chosen.shape[0], self.classes.shape[0]), np.nan)
        complete = np.isfinite(matrix).all(axis=1)
        length = self.pipeline.sequence_length
        if self.pipeline.model.name == "lstm":
            # run[i]: how many of rows i-length+1..i are complete; a window needs all of them.
            run = np.convolve(complete.astype(np.int64), np.ones(length, np.int64))[:n]
            complete = run == length
        ok = complete[chosen]
        usable = chosen[ok]
        if usable.shape[0] == 0:
            return out
        if self.pipeline.model.name == "lstm":
            from tradewind.ml.lstm import windows

            scaled = self.pipeline.scaler.transform(matrix)
            x = np.asarray(windows(scaled, usable, length), dtype=np.float64)
        else:
            # Only the rows asked for (element-wise: the same values as scaling every row).
            x = self.pipeline.scaler.transform(matrix[usable])
        raw = np.asarray(self.pipeline.model.predict_proba(x), dtype=np.float64)
        out[ok] = self.calibrator.transform(raw)
        return out

    def gate(self, settings: GateSettings | None = None) -> DissimilarityGate | None:
        """The dissimilarity gate over this model's reference training rows, scaled as the model
        scales them (None for a model saved without reference rows: nothing to compare with)."""
        if self.reference is None:
            return None
        rows = self.reference[np.isfinite(self.reference).all(axis=1)]
        if rows.shape[0] < 2:
            return None
        return DissimilarityGate(settings).fit(self.pipeline.scaler.transform(rows))

    def familiar(
        self, matrix: FloatArray, rows: IntArray, gate: DissimilarityGate | None
    ) -> npt.NDArray[np.bool_]:
        """Whether each of ``rows`` lies within ``gate``'s reach of the training data (all True
        without a gate; False where a feature is still warming up)."""
        chosen = np.asarray(rows, dtype=np.int64)
        out = np.isfinite(matrix[chosen]).all(axis=1)
        if gate is not None and out.any():
            scaled = self.pipeline.scaler.transform(matrix[chosen[out]])
            out[out] = gate.allows(scaled)
        return out

    def save(self, folder: Path) -> str:
        """Write every file into ``folder`` (which must be empty or new); return its digest."""
        if folder.exists() and any(folder.iterdir()):
            raise UserError(f"{folder} is not empty: a model folder is written once")
        folder.mkdir(parents=True, exist_ok=True)
        self.pipeline.save(folder)
        (folder / CALIBRATION_FILE).write_text(json.dumps(self.calibrator.state(), indent=2))
        (folder / CARD_FILE).write_text(self.card.to_json())
        if self.reference is not None:
            np.save(folder / REFERENCE_FILE, self.reference, allow_pickle=False)
        return folder_digest(folder)

    @classmethod
    def load_verified(
        cls, folder: Path, digest: str, manifest: dict[str, str] | None = None
    ) -> CalibratedModel:
        """Check the folder's SHA-256 against ``digest``, then load it.

        Raises
        ------
        ModelIntegrityError
            When any file differs from the digest (nothing is read before the check).
        DataError
            When a file is malformed.
        """
        verify_folder(folder, digest, manifest)
        pipeline = TrainedPipeline.load(folder)
        try:
            state = json.loads((folder / CALIBRATION_FILE).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"{folder / CALIBRATION_FILE}: unreadable ({exc})") from None
        card = ModelCard.from_json((folder / CARD_FILE).read_text(), str(folder / CARD_FILE))
        reference = None
        if (folder / REFERENCE_FILE).exists():
            try:
                reference = np.load(folder / REFERENCE_FILE, allow_pickle=False)
            except (OSError, ValueError) as exc:
                raise DataError(f"{folder / REFERENCE_FILE}: unreadable ({exc})") from None
            if reference.ndim != 2 or reference.shape[1] != len(pipeline.features):
                raise DataError(
                    f"{folder / REFERENCE_FILE}: {reference.shape} is not one column per feature"
                )
        return cls(pipeline, Calibrator.from_state(state), card, reference)


@dataclass(frozen=True, slots=True)
class HoldoutSplit:
    """Sample positions: training (purged), calibration, and scoring."""

    train: IntArray
    calibrate: IntArray
    validate: IntArray


def holdout_split(ds: Dataset, holdout: float, embargo: int) -> HoldoutSplit:
    """Train on the first ``1 - holdout`` share, calibrate and score on the two halves after it.

    Raises
    ------
    UserError
        When a part would be empty.
    """
    if not 0 < holdout < 1:
        raise UserError(f"holdout must be a share in (0, 1), got {holdout!r}")
    first = ds.count - int(ds.count * holdout)
    held = np.arange(first, ds.count, dtype=np.int64)
    half = held.shape[0] // 2
    candidates = np.arange(first, dtype=np.int64)
    if half < 10:
        raise UserError(f"a holdout of {held.shape[0]} samples is too small to calibrate and score")
    train = candidates[ds.end[candidates] + embargo < ds.bars[first]]
    if train.shape[0] < 20:
        raise UserError(
            f"{ds.count} samples leave too few to train ({train.shape[0]}), calibrate and score "
            f"({half} each) honestly: use more bars or a smaller sample step"
        )
    return HoldoutSplit(train, held[:half], held[half:])


def fit_calibrated(
    ds: Dataset,
    model_name: str,
    settings: StudySettings,
    card: ModelCard,
    *,
    class_names: dict[int, str],
    holdout: float = 0.3,
    embargo: int = 0,
    monitor: bool = True,
) -> CalibratedModel:
    """Train, calibrate and score one classifier on ``ds`` (see the module docstring).

    ``card`` describes the data; its model type, features and metrics are filled in here, and
    with ``monitor`` the features its drift check will watch (a model retrained inside a
    backtest is never watched: it skips that check).
    """
    split = holdout_split(ds, holdout, embargo)
    scaler = Standardiser.fit(ds.matrix[ds.bars[split.train]])
    scaled = scaler.transform(ds.matrix)
    length = settings.sequence_length

    def rows(which: IntArray) -> FloatArray:
        return model_inputs(model_name, scaled, ds, which, length)

    model = fit_model(model_name, ds, scaled, split.train, settings)
    if isinstance(model, RandomForestModel):
        # Calibrate and validate through the compiled graph production predicts with, so the
        # trained model and its reload give bit-identical probabilities.
        model.compile()
    classes = np.asarray(model.classes, dtype=np.int64)
    # A class the training part never saw has no column: samples of it cannot be scored.
    calibrate = split.calibrate[np.isin(ds.y[split.calibrate], classes)]
    calibrator = Calibrator(settings.calibration).fit(
        np.asarray(model.predict_proba(rows(calibrate)), dtype=np.float64),
        ds.y[calibrate],
        classes,
    )
    validate = split.validate[np.isin(ds.y[split.validate], classes)]
    y_val = ds.y[validate]
    raw = np.asarray(model.predict_proba(rows(validate)), dtype=np.float64)
    raw_scores = score(y_val, raw, classes)
    calibrated_scores = score(y_val, calibrator.transform(raw), classes)
    baseline = score(y_val, majority_baseline(ds.y[split.train], y_val.shape[0], classes), classes)
    metrics = {
        "accuracy": raw_scores.accuracy,
        "log_loss": raw_scores.log_loss,
        "auc": raw_scores.auc,
        "brier": raw_scores.brier,
        "calibrated_accuracy": calibrated_scores.accuracy,
        "calibrated_log_loss": calibrated_scores.log_loss,
        "calibrated_brier": calibrated_scores.brier,
        "baseline_accuracy": baseline.accuracy,
        "baseline_log_loss": baseline.log_loss,
        "train_samples": float(split.train.shape[0]),
        "calibration_samples": float(calibrate.shape[0]),
        "validation_samples": float(y_val.shape[0]),
    }
    pipeline = TrainedPipeline(
        model, scaler, ds.names, card.target, card.horizon, class_names, length
    )
    kept = ds.bars[split.train]
    if kept.shape[0] > REFERENCE_ROWS:
        kept = kept[np.linspace(0, kept.shape[0] - 1, REFERENCE_ROWS).round().astype(np.int64)]
    reference = ds.matrix[kept].astype(np.float64)
    # The training period's every bar, in order: the stationarity check slides windows over it
    # as a session's drift check slides over its latest bars.
    period = ds.matrix[int(ds.bars[split.train[0]]) : int(ds.bars[split.train[-1]]) + 1]
    monitored = choose_monitored(period, reference, ds.names).monitored if monitor else None
    filled = replace(card, model_type=model_name, features=ds.names, metrics=metrics,
                     monitored=monitored)  # fmt: skip
    return CalibratedModel(pipeline, calibrator, filled, reference)
