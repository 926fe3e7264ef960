"""Regression targets through the same purged walk-forward: forward return, MFE and MAE.

Gradient-boosted and random-forest regressors predict the log return over the horizon, or the
maximum favourable / adverse excursion (the distances a take-profit and a stop would need). The
naive baseline predicts the training window's mean. Scores are out of sample over all test windows:
mean absolute error, root mean squared error, R² against the test rows' own mean (negative when
worse than knowing that mean), and the correlation of prediction and outcome.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import UserError
from tradewind.ml.dataset import Dataset
from tradewind.ml.features import Standardiser
from tradewind.ml.labels import Labels, excursions, forward_return
from tradewind.ml.study import StudySettings, fit_model
from tradewind.ml.validation import purged_walk_forward
from tradewind.series.bars import BarSeries

FloatArray = npt.NDArray[np.float64]

REGRESSION_TARGETS = ("return", "mfe", "mae")
REGRESSORS = ("random_forest", "lightgbm")


def regression_labels(bars: BarSeries, target: str, horizon: int) -> Labels:
    """Forward log return, or MFE / MAE (fractions of the entry) over ``horizon`` bars."""
    if target == "return":
        return forward_return(bars.close, horizon)
    if target in ("mfe", "mae"):
        mfe, mae = excursions(bars.high, bars.low, bars.close, horizon)
        return mfe if target == "mfe" else mae
    raise UserError(f"unknown regression target {target!r}; known: {', '.join(REGRESSION_TARGETS)}")


@dataclass(frozen=True, slots=True)
class RegressionScores:
    """Out-of-sample regression scores."""

    mae: float
    rmse: float
    r2: float
    correlation: float
    count: int


def regression_scores(y: FloatArray, pred: FloatArray) -> RegressionScores:
    """MAE, RMSE, R² (1 - SSE / SST about y's own mean) and Pearson correlation."""
    err = pred - y
    sst = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(err**2)) / sst if sst > 0 else float("nan")
    corr = float(np.corrcoef(pred, y)[0, 1]) if np.std(pred) > 0 and np.std(y) > 0 else float("nan")
    return RegressionScores(
        float(np.mean(np.abs(err))), float(np.sqrt(np.mean(err**2))), r2, corr, int(y.shape[0])
    )


@dataclass(frozen=True, slots=True)
class RegressionReport:
    """A regression study: the training-mean baseline and each regressor, out of sample."""

    title: str
    target: str
    horizon: int
    samples: int
    splits: int
    baseline: RegressionScores
    models: dict[str, RegressionScores]
    train_seconds: dict[str, float]

    def verdict(self, name: str) -> str:
        """'beats the baseline' when the model's MAE and RMSE are both lower, else 'does not'."""
        m = self.models[name]
        beats = m.mae < self.baseline.mae and m.rmse < self.baseline.rmse
        return "beats the baseline" if beats else "does not beat the baseline"


def run_regression_study(
    ds: Dataset,
    y: FloatArray,
    settings: StudySettings,
    *,
    title: str,
    target: str,
    horizon: int,
) -> RegressionReport:
    """Walk-forward (purged, embargoed) regression of ``y`` (one value per sample of ``ds``)."""
    if y.shape != (ds.count,):
        raise UserError(f"y has {y.shape}, expected one value per sample ({ds.count})")
    embargo = horizon if settings.embargo is None else settings.embargo
    splits = purged_walk_forward(
        ds.bars, ds.end, n_splits=settings.n_splits, embargo=embargo, min_train=settings.min_train
    )
    if not splits:
        raise UserError("no walk-forward split has training data: use more bars")
    test = np.concatenate([s.test for s in splits])
    baseline = np.concatenate([np.full(s.test.shape[0], y[s.train].mean()) for s in splits])
    names = [m for m in settings.models if m in REGRESSORS]
    predictions: dict[str, list[FloatArray]] = {m: [] for m in names}
    seconds: dict[str, float] = {}
    for split in splits:
        scaled = Standardiser.fit(ds.matrix[ds.bars[split.train]]).transform(ds.matrix)
        for name in names:
            started = time.perf_counter()
            model = fit_model(name, ds, scaled, split.train, settings, y=y, task="regressor")
            seconds[name] = time.perf_counter() - started
            predictions[name].append(model.predict(scaled[ds.bars[split.test]]))
    return RegressionReport(
        title=title,
        target=target,
        horizon=horizon,
        samples=ds.count,
        splits=len(splits),
        baseline=regression_scores(y[test], baseline),
        models={m: regression_scores(y[test], np.concatenate(p)) for m, p in predictions.items()},
        train_seconds=seconds,
    )
