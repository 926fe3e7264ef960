"""Walk-forward retraining for strategies: every prediction by a model trained on the past only.

Time is cut into windows of ``retrain_every`` bars, aligned to UTC (window ``k`` holds the bars
whose open time ``ts`` satisfies ``ts // (retrain_every x timeframe) == k``), so the cuts do not
move when a series starts earlier or later, or grows bar by bar in a live session. For the window
starting at bar ``b``:

- the training samples are every ``sample_step``-th bar ``i`` (counted back from ``b``) in
  ``[b - train_bars, b)`` whose features are complete
  and settled (:data:`SETTLE_BARS` from the series' start) and whose label is known by bar ``b``:
  ``i + horizon < b`` (a triple-barrier label reads bars up to ``i + horizon``), so nothing from
  the window or after it reaches the model; a window without a full training span gets none;
- :func:`~tradewind.ml.calibrated.fit_calibrated` trains, calibrates and scores a model on them;
- that model predicts the window's bars, with features computed causally;
- its dissimilarity gate (fitted on its training rows) says which of the window's bars are
  familiar enough for the strategies to enter on.

The result at bar ``t`` therefore depends on bars ``0..t`` only, and equals what a live session
computes at ``t``: the lookahead analysis (truncated copies) checks it, and a test shows it catches
a variant that lets labels reach into the window. Models are cached by the exact bytes they are
trained on (feature rows, labels, label spans relative to the window), so a session that asks
again bar after bar trains each window once, and a cache hit is always the model a retrain would
give.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import UserError
from tradewind.ml.artifact import ModelCard
from tradewind.ml.calibrated import CalibratedModel, fit_calibrated
from tradewind.ml.dataset import Dataset
from tradewind.ml.features import FeatureInputs, feature, feature_matrix
from tradewind.ml.gate import DissimilarityGate
from tradewind.ml.labels import uniqueness_weights
from tradewind.ml.study import StudySettings
from tradewind.ml.targets import DIRECTION_NAMES, direction_labels
from tradewind.series.bars import BarSeries

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CLASSES: IntArray = np.array(sorted(DIRECTION_NAMES), dtype=np.int64)
"""The columns of every probability matrix here: DOWN (-1), NEUTRAL (0), UP (+1)."""

MIN_SAMPLES = 100
"""Fewer usable training samples than this in a window: no model, no predictions there."""

SETTLE_BARS = 300
"""Bars from the start of a series before its rows may be trained on: recursive features (EMA,
Wilder's RSI and ADX) depend on where the series starts until their seed is forgotten (EMA(50)
keeps e^-12 of it after 300 bars), and a model trained on unsettled rows would differ between a
backtest and a session whose history starts later."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WalkForwardSettings:
    """What each window's model is and how it is trained (see the module docstring)."""

    model: str = "lightgbm"
    features: tuple[str, ...]
    horizon: int = 12
    barrier: float = 1.0
    train_bars: int = 2000
    retrain_every: int = 1000
    sample_step: int = 2
    holdout: float = 0.3
    study: StudySettings = field(default_factory=StudySettings)

    def __post_init__(self) -> None:
        if self.model not in ("lightgbm", "random_forest"):
            raise UserError(
                f"walk-forward model must be lightgbm or random_forest, got {self.model!r}"
            )
        for name in self.features:
            feature(name)
        if self.sample_step < 1 or self.retrain_every < 1:
            raise UserError("sample_step and retrain_every must be >= 1")
        if (self.train_bars - self.horizon) // self.sample_step < MIN_SAMPLES:
            raise UserError(
                f"train_bars ({self.train_bars}) less the horizon ({self.horizon}) must hold "
                f"{MIN_SAMPLES} samples every {self.sample_step} bars"
            )


class WalkForwardPredictor:
    """Calibrated direction probabilities at every bar, each from a model trained before it."""

    def __init__(self, settings: WalkForwardSettings, *, cache_size: int = 64) -> None:
        self.settings = settings
        self._chosen = tuple(feature(name) for name in settings.features)
        self._cache: OrderedDict[str, tuple[CalibratedModel, DissimilarityGate | None] | None] = (
            OrderedDict()
        )
        self._cache_size = cache_size
        self.trained = 0
        """How many models this predictor has trained (cache misses), for tests and logs."""

    def label_limit(self, boundary: int) -> int:
        """Every training label's horizon must end before this bar: the window's first bar.

        A subclass that returns more lets labels read the window's bars: the lookahead test
        shows that such a leak is caught.
        """
        return boundary

    def boundaries(self, bars: BarSeries) -> IntArray:
        """The first bar of each window (UTC-aligned), the first bar of the series included."""
        period = self.settings.retrain_every * bars.timeframe.ms
        window = np.asarray(bars.ts, dtype=np.int64) // period
        starts = np.flatnonzero(np.diff(window) != 0) + 1
        return np.concatenate(([0], starts)).astype(np.int64)

    def probabilities(self, bars: BarSeries) -> FloatArray:
        """``float64[bars, 3]``: P(DOWN), P(NEUTRAL), P(UP) per bar (NaN where no model yet)."""
        return self.predict(bars)[0]

    def predict(self, bars: BarSeries) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
        """The probabilities of :meth:`probabilities`, and per bar whether its features lie within
        the dissimilarity gate of its window's model (fitted on that model's training rows)."""
        s = self.settings
        n = len(bars)
        out = np.full((n, CLASSES.shape[0]), np.nan)
        familiar = np.zeros(n, dtype=np.bool_)
        if n == 0:
            return out, familiar
        matrix, names = feature_matrix(FeatureInputs(bars), self._chosen)
        # Rounded to float32's 7 digits: a settled feature still differs by ~1e-10 between two
        # start points (summation order), and a tree can split on such a difference.
        matrix = matrix.astype(np.float32).astype(np.float64)
        if n <= s.horizon:
            return out, familiar
        labels = direction_labels(bars, s.horizon, barrier=s.barrier)
        complete = np.isfinite(matrix).all(axis=1) & labels.defined
        starts = self.boundaries(bars)
        stops = np.concatenate((starts[1:], [n]))
        for b, stop in zip(starts, stops, strict=True):
            if b < s.train_bars + SETTLE_BARS:
                continue
            lo = int(b) - s.train_bars
            # Every sample_step-th bar counted back from the boundary, so the choice does not
            # depend on where the series starts; neighbours' labels overlap almost entirely.
            rows = np.arange(b - 1, lo - 1, -s.sample_step, dtype=np.int64)[::-1]
            # By the horizon, not by where a barrier was touched: a label is only *known* once its
            # whole horizon has passed (before that it could still change or be undefined).
            rows = rows[complete[rows] & (rows + s.horizon < self.label_limit(int(b)))]
            fitted = self._model(bars, matrix, names, rows, labels.value, labels.end, lo)
            if fitted is None:
                continue
            model, gate = fitted
            window = np.arange(b, stop, dtype=np.int64)
            proba = model.probabilities(matrix, window)
            familiar[window] = model.familiar(matrix, window, gate)
            # A class this window's training never saw has probability 0.
            block = np.zeros((window.shape[0], CLASSES.shape[0]))
            block[:, np.searchsorted(CLASSES, model.classes)] = proba
            block[~np.isfinite(proba).all(axis=1)] = np.nan
            out[window] = block
        return out, familiar

    def _model(
        self, bars: BarSeries, matrix: FloatArray, names: tuple[str, ...], rows: IntArray,
        value: FloatArray, end: IntArray, lo: int,
    ) -> tuple[CalibratedModel, DissimilarityGate | None] | None:  # fmt: skip
        y = value[rows].astype(np.int64)
        key = self._key(matrix[rows], y, rows - lo, end[rows] - lo)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        fitted = None
        if rows.shape[0] >= MIN_SAMPLES and np.unique(y).shape[0] >= 2:
            model = self._fit(bars, matrix, names, rows, y, end[rows])
            fitted = (model, model.gate(self.settings.study.gate))
            self.trained += 1
        self._cache[key] = fitted
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return fitted

    def _key(self, *arrays: npt.NDArray[np.generic]) -> str:
        digest = hashlib.sha256(repr(self.settings).encode())
        for array in arrays:
            digest.update(np.ascontiguousarray(array).tobytes())
            digest.update(b"|")
        return digest.hexdigest()

    def _fit(
        self, bars: BarSeries, matrix: FloatArray, names: tuple[str, ...], rows: IntArray,
        y: IntArray, end: IntArray,
    ) -> CalibratedModel:  # fmt: skip
        s = self.settings
        ds = Dataset(
            matrix, names, rows, end, y, uniqueness_weights(rows, end, matrix.shape[0]),
            np.unique(y),
        )  # fmt: skip
        card = ModelCard(
            model_type=s.model, target="direction", horizon=s.horizon, features=names,
            parameters={"barrier": s.barrier}, symbol=bars.symbol, timeframe=str(bars.timeframe),
            data_start_ts=int(bars.ts[rows[0]]), data_end_ts=int(bars.ts[int(end.max())]),
            data_hash="", code_version="",
        )  # fmt: skip
        return fit_calibrated(
            ds,
            s.model,
            s.study,
            card,
            class_names=DIRECTION_NAMES,
            holdout=s.holdout,
            monitor=False,
        )
