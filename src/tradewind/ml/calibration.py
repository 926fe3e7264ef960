"""Probability calibration fitted out of sample, and reliability curves.

A model's raw probabilities are often over- or under-confident. A calibrator maps them to
observed frequencies; it must be fitted on predictions the model made out of sample (earlier
walk-forward test windows) and judged on later ones, or it memorises the test set.
Multi-class: one-vs-rest per class, then the row renormalised to sum to 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import UserError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

METHODS = ("isotonic", "platt")


class Calibrator:
    """Isotonic regression or Platt scaling (a logistic fit on the log-odds), per class."""

    def __init__(self, method: str = "isotonic") -> None:
        if method not in METHODS:
            raise UserError(
                f"calibration method must be one of {', '.join(METHODS)}, got {method!r}"
            )
        self.method = method
        self._maps: list[Any] = []

    def fit(self, proba: FloatArray, y: IntArray, classes: IntArray) -> Calibrator:
        """Fit on out-of-sample probabilities ``proba`` and the labels that followed."""
        from sklearn.isotonic import IsotonicRegression
        from sklearn.linear_model import LogisticRegression

        self._maps = []
        for k, c in enumerate(classes):
            hit = (y == c).astype(np.float64)
            if self.method == "isotonic":
                mapping: Any = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
                mapping.fit(proba[:, k], hit)
            elif hit.min() == hit.max():
                mapping = float(hit[0])
            else:
                mapping = LogisticRegression(C=1e6).fit(_logit(proba[:, k])[:, None], hit)
            self._maps.append(mapping)
        return self

    def transform(self, proba: FloatArray) -> FloatArray:
        """Calibrated probabilities, rows summing to 1."""
        if len(self._maps) != proba.shape[1]:
            raise UserError("the calibrator is not fitted for this many classes")
        cols = []
        for k, mapping in enumerate(self._maps):
            if isinstance(mapping, float):
                cols.append(np.full(proba.shape[0], mapping))
            elif self.method == "isotonic":
                cols.append(np.asarray(mapping.predict(proba[:, k]), dtype=np.float64))
            else:
                cols.append(mapping.predict_proba(_logit(proba[:, k])[:, None])[:, 1])
        out = np.clip(np.column_stack(cols), 1e-6, 1.0)
        return np.asarray(out / out.sum(axis=1, keepdims=True), dtype=np.float64)


def _logit(p: FloatArray) -> FloatArray:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(q / (1 - q)), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class ReliabilityCurve:
    """Per probability bin: mean predicted probability, observed frequency, sample count."""

    predicted: FloatArray
    observed: FloatArray
    count: IntArray

    @property
    def calibration_error(self) -> float:
        """Expected calibration error: count-weighted mean |observed - predicted|."""
        total = int(self.count.sum())
        if total == 0:
            return float("nan")
        return float(np.sum(self.count * np.abs(self.observed - self.predicted)) / total)


def reliability_curve(
    prob: FloatArray, outcome: npt.NDArray[np.bool_], bins: int = 10
) -> ReliabilityCurve:
    """Bin predicted probabilities of one event into ``bins`` equal-width bins (empty bins dropped)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(prob, edges[1:-1]), 0, bins - 1)
    count = np.bincount(which, minlength=bins)
    keep = count > 0
    pred = np.bincount(which, weights=prob, minlength=bins)[keep] / count[keep]
    obs = np.bincount(which, weights=outcome.astype(np.float64), minlength=bins)[keep] / count[keep]
    return ReliabilityCurve(pred, obs, count[keep].astype(np.int64))
