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

from tradewind.core.errors import DataError, UserError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

METHODS = ("isotonic", "platt")


class Calibrator:
    """Isotonic regression or Platt scaling (a logistic fit on the log-odds), per class.

    Once fitted, each class's map is plain numbers (isotonic: the step thresholds, read by linear
    interpolation and clipped at the ends, as scikit-learn reads them; Platt: a slope and an
    intercept), so :meth:`state` saves it as JSON and a reloaded calibrator gives bit-identical
    probabilities.
    """

    def __init__(self, method: str = "isotonic") -> None:
        if method not in METHODS:
            raise UserError(
                f"calibration method must be one of {', '.join(METHODS)}, got {method!r}"
            )
        self.method = method
        self._maps: list[tuple[str, FloatArray, FloatArray]] = []

    def fit(self, proba: FloatArray, y: IntArray, classes: IntArray) -> Calibrator:
        """Fit on out-of-sample probabilities ``proba`` and the labels that followed."""
        from sklearn.isotonic import IsotonicRegression

        self._maps = []
        for k, c in enumerate(classes):
            hit = (y == c).astype(np.float64)
            if hit.min() == hit.max():
                self._maps.append(("constant", np.array([hit[0]]), np.empty(0)))
            elif self.method == "isotonic":
                iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
                iso.fit(proba[:, k], hit)
                x_at = np.asarray(iso.X_thresholds_, dtype=np.float64)
                y_at = np.asarray(iso.y_thresholds_, dtype=np.float64)
                self._maps.append(("isotonic", x_at, y_at))
            else:
                self._maps.append(("platt", _platt(_logit(proba[:, k]), hit), np.empty(0)))
        return self

    @property
    def fitted(self) -> bool:
        """Whether :meth:`fit` (or :meth:`from_state`) has given it its maps."""
        return bool(self._maps)

    def transform(self, proba: FloatArray) -> FloatArray:
        """Calibrated probabilities, rows summing to 1."""
        if len(self._maps) != proba.shape[1]:
            raise UserError("the calibrator is not fitted for this many classes")
        cols = []
        for k, (kind, a, b) in enumerate(self._maps):
            if kind == "constant":
                cols.append(np.full(proba.shape[0], a[0]))
            elif kind == "isotonic":
                cols.append(np.interp(proba[:, k], a, b))
            else:
                cols.append(_sigmoid(a[0] * _logit(proba[:, k]) + a[1]))
        out = np.clip(np.column_stack(cols), 1e-6, 1.0)
        return np.asarray(out / out.sum(axis=1, keepdims=True), dtype=np.float64)

    def state(self) -> dict[str, Any]:
        """The fitted maps as JSON-ready numbers (floats round-trip exactly through JSON)."""
        return {
            "method": self.method,
            "maps": [[kind, a.tolist(), b.tolist()] for kind, a, b in self._maps],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Calibrator:
        """A calibrator from :meth:`state`'s output (DataError when it is malformed)."""
        try:
            made = cls(str(state["method"]))
            for kind, a, b in state["maps"]:
                if kind not in ("constant", "isotonic", "platt"):
                    raise ValueError(f"unknown map {kind!r}")
                made._maps.append(
                    (str(kind), np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
                )
        except (KeyError, TypeError, ValueError, UserError) as exc:
            raise DataError(f"malformed calibration ({exc})") from None
        return made


def _sigmoid(z: FloatArray) -> FloatArray:
    # tanh form: no overflow for large |z|.
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)), dtype=np.float64)


def _platt(x: FloatArray, hit: FloatArray, iterations: int = 50) -> FloatArray:
    """Slope and intercept of ``P(hit) = sigmoid(a x + b)`` by Newton's method on the log loss.

    A tiny ridge (1e-6) keeps the 2x2 system solvable when ``x`` separates the outcomes or is
    constant, where the unpenalised fit has no unique answer; each step is halved until the loss
    falls, so a near-singular step cannot throw the fit away. Two parameters need no
    general-purpose optimiser.
    """

    def loss(a: float, b: float) -> float:
        p = np.clip(_sigmoid(a * x + b), 1e-15, 1 - 1e-15)
        ridge = 0.5e-6 * (a * a + b * b)
        return float(-np.sum(hit * np.log(p) + (1 - hit) * np.log(1 - p)) + ridge)

    a, b = 1.0, 0.0
    current = loss(a, b)
    for _ in range(iterations):
        p = _sigmoid(a * x + b)
        r = p - hit
        w = p * (1.0 - p)
        gradient = np.array([r @ x + 1e-6 * a, r.sum() + 1e-6 * b])
        hessian = np.array([[w @ (x * x) + 1e-6, w @ x], [w @ x, w.sum() + 1e-6]])
        step = np.linalg.solve(hessian, gradient)
        scale = 1.0
        while scale > 1e-6:
            trial = loss(a - scale * float(step[0]), b - scale * float(step[1]))
            if trial <= current:
                break
            scale /= 2.0
        else:
            break
        a, b = a - scale * float(step[0]), b - scale * float(step[1])
        improved, current = current - trial, trial
        if improved < 1e-12 * max(1.0, abs(current)):
            break
    return np.array([a, b])


def _logit(p: FloatArray) -> FloatArray:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(q / (1 - q)), dtype=np.float64)


MIN_BIN_COUNT = 30
"""Fewest predictions a reliability bin may hold: below it a bin's observed frequency is mostly
noise (its standard error at 30 is up to 0.09)."""


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
    prob: FloatArray, outcome: npt.NDArray[np.bool_], bins: int = 10, *,
    min_count: int = MIN_BIN_COUNT,
) -> ReliabilityCurve:  # fmt: skip
    """Bin predicted probabilities of one event into equal-count (quantile) bins.

    At most ``bins`` bins, each holding at least ``min_count`` predictions: fewer bins when
    there are fewer than ``bins x min_count`` predictions, none below ``min_count``. Equal-width
    bins left the extremes, where a model is rarely confident, with a handful of predictions
    whose observed frequency is noise. Bins are consecutive in predicted probability (ties are
    split by order, so two bins may share a value at their edge).
    """
    p = np.asarray(prob, dtype=np.float64)
    hit = np.asarray(outcome, dtype=np.float64)
    if min_count < 1 or bins < 1:
        raise UserError("reliability bins need bins >= 1 and min_count >= 1")
    k = min(bins, p.shape[0] // min_count)
    if k == 0:
        empty = np.empty(0)
        return ReliabilityCurve(empty, empty.copy(), np.empty(0, dtype=np.int64))
    order = np.argsort(p, kind="stable")
    # array_split's parts differ by at most one row: each holds n // k >= min_count.
    parts = np.array_split(order, k)
    return ReliabilityCurve(
        np.array([p[part].mean() for part in parts]),
        np.array([hit[part].mean() for part in parts]),
        np.array([part.shape[0] for part in parts], dtype=np.int64),
    )
