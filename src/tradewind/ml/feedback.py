"""The feedback loop's arithmetic: how a model's recorded predictions turned out.

A prediction is recorded with its class probabilities; once its horizon has passed, the outcome
(the class that happened) is known. Over the latest ``window`` resolved predictions:

- **accuracy**: the share whose most likely class happened;
- **confidence gap**: mean confidence (the top probability) minus accuracy; positive means the
  model claims more than it delivers, which calibration can fix;
- **Brier score**: mean squared error of the probabilities against the one-hot outcome.

:func:`needs_recalibration` says when accuracy has fallen below a threshold (or the confidence
gap grown past a limit) over a full window; :func:`recalibrate` fits a fresh calibrator on those
recent predictions, which are out of sample for the model by construction (they were made live).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import UserError
from tradewind.ml.calibration import Calibrator

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class RollingQuality:
    """Per resolved prediction: rolling accuracy, confidence gap and Brier score (NaN until a
    full window)."""

    accuracy: FloatArray
    confidence_gap: FloatArray
    brier: FloatArray


def _rolling_mean(values: FloatArray, window: int) -> FloatArray:
    out = np.full(values.shape[0], np.nan)
    if values.shape[0] >= window:
        total = np.concatenate(([0.0], np.cumsum(values)))
        out[window - 1 :] = (total[window:] - total[:-window]) / window
    return out


def rolling_quality(
    proba: FloatArray, classes: IntArray, outcome: IntArray, window: int
) -> RollingQuality:
    """Rolling scores of resolved predictions ``proba`` (rows in time order) against ``outcome``.

    Raises
    ------
    UserError
        For mismatched shapes or a window below 1.
    """
    if window < 1:
        raise UserError(f"window must be >= 1, got {window}")
    if proba.ndim != 2 or proba.shape != (outcome.shape[0], classes.shape[0]):
        raise UserError(
            f"proba {proba.shape} must have one row per outcome ({outcome.shape[0]}) and one "
            f"column per class ({classes.shape[0]})"
        )
    predicted = classes[np.argmax(proba, axis=1)]
    hit = (predicted == outcome).astype(np.float64)
    top = proba.max(axis=1)
    truth = (outcome[:, None] == classes[None, :]).astype(np.float64)
    brier = ((proba - truth) ** 2).sum(axis=1)
    accuracy = _rolling_mean(hit, window)
    return RollingQuality(accuracy, _rolling_mean(top, window) - accuracy,
                          _rolling_mean(brier, window))  # fmt: skip


def needs_recalibration(
    quality: RollingQuality, *, min_accuracy: float, max_confidence_gap: float = 0.1
) -> bool:
    """Whether the latest full window fell below ``min_accuracy`` or claims too much confidence."""
    if quality.accuracy.shape[0] == 0 or np.isnan(quality.accuracy[-1]):
        return False
    return bool(
        quality.accuracy[-1] < min_accuracy or quality.confidence_gap[-1] > max_confidence_gap
    )


def recalibrate(
    raw_proba: FloatArray, classes: IntArray, outcome: IntArray, method: str = "platt"
) -> Calibrator:
    """A calibrator fitted on recent resolved predictions (the model's raw probabilities)."""
    return Calibrator(method).fit(raw_proba, outcome, classes)
