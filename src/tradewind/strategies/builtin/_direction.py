"""What the ML strategies share: walk-forward parameters, registered models loaded by pin, and
direction probabilities turned into signals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import UserError
from tradewind.ml.artifact import parse_pin
from tradewind.ml.calibrated import CalibratedModel
from tradewind.ml.calibration import Calibrator
from tradewind.ml.features import FeatureInputs
from tradewind.ml.gate import DissimilarityGate
from tradewind.ml.labels import DOWN, UP
from tradewind.ml.models import BoostingSettings, ForestSettings
from tradewind.ml.study import StudySettings
from tradewind.ml.walk_forward import (
    CLASSES,
    SETTLE_BARS,
    WalkForwardPredictor,
    WalkForwardSettings,
)
from tradewind.series.bars import BarSeries
from tradewind.strategies.base import Signals, Strategy
from tradewind.strategies.params import Param

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_FEATURES = (
    "ret_1,ret_5,ret_20,rsi_14,rv_30,natr_14,adx_14,di_spread_14,stoch_k,willr_14,cci_20,"
    "bb_position,bb_width,volume_z"
)
"""Features of fixed windows or short Wilder smoothing: after
:data:`~tradewind.ml.walk_forward.SETTLE_BARS` they no longer depend on where the series starts
(an EMA(50) gap still would, by about 1% of its value)."""

PINNED_WARMUP = 520
"""Bars a registered model's features may need (the regime features are the slowest)."""


def direction_signals(
    p_up: FloatArray, p_down: FloatArray, *, entry: float, exit_below: float, short: bool,
    confidence: FloatArray | None = None, familiar: npt.NDArray[np.bool_] | None = None,
) -> Signals:  # fmt: skip
    """Long when P(up) reaches ``entry`` (and beats P(down)); out when it falls below
    ``exit_below``; shorts mirrored. The confidence of a bar is the probability of its side
    unless given.

    NaN probabilities (no model, or the model's own training period) give no signal at all. Where
    ``familiar`` is False (the dissimilarity gate: the bar's features lie farther from the
    model's training rows than the gate's threshold) there is no entry: the model's answer there
    is an extrapolation. Exits still apply, so an open position is not stranded.
    """
    with np.errstate(invalid="ignore"):
        long_in = (p_up >= entry) & (p_up > p_down)
        long_out = p_up < exit_below
        short_in = (p_down >= entry) & (p_down > p_up)
        short_out = p_down < exit_below
    if familiar is not None:
        long_in &= familiar
        short_in &= familiar
    if confidence is None:
        confidence = np.where(p_up >= p_down, p_up, p_down)
    if not short:
        return Signals(entry_long=long_in, exit_long=long_out, confidence=confidence)
    return Signals(
        entry_long=long_in, exit_long=long_out, entry_short=short_in, exit_short=short_out,
        confidence=confidence,
    )  # fmt: skip


def split_list(text: str) -> list[str]:
    """The non-empty, stripped items of a comma-separated parameter."""
    return [item.strip() for item in text.split(",") if item.strip()]


@dataclass
class PinnedRows:
    """What a registered model said over one symbol's bars: the bars' times and closes (to know
    when they are the same bars again), the model's feature rows and its probabilities."""

    ts: IntArray
    close: FloatArray
    matrix: FloatArray
    proba: FloatArray
    familiar: npt.NDArray[np.bool_]
    """Per bar: within the model's dissimilarity gate (see :meth:`CalibratedModel.familiar`)."""


def _same_bars(rows: PinnedRows, ts: IntArray, close: FloatArray) -> bool:
    return bool(np.array_equal(rows.ts, ts) and np.array_equal(rows.close, close))


class PinnedModels:
    """Registered models by pin, each checked against its SHA-256 once, when first used.

    A session asks for the probabilities over all its bars at every close; rows it asked for
    before (the same bars, which causal features and models answer the same way) are kept, so
    each close computes its new bar's features from a bounded window of history
    (:func:`~tradewind.ml.features.history_bars`) and predicts that bar only. A recalibration
    (:meth:`recalibrate`, the feedback loop's answer to falling accuracy) applies to the rows
    predicted after it.
    """

    def __init__(self) -> None:
        self._loaded: dict[str, CalibratedModel] = {}
        self._gates: dict[str, DissimilarityGate | None] = {}
        self._rows: dict[tuple[str, str], PinnedRows] = {}
        self._recalibrated: dict[str, list[Calibrator]] = {}

    def get(self, pin: str) -> CalibratedModel:
        """The model the pin names (ModelIntegrityError if its files changed)."""
        if pin not in self._loaded:
            folder, digest = parse_pin(pin)
            model = CalibratedModel.load_verified(folder, digest)
            if model.card.target != "direction" or not {UP, DOWN} <= set(model.classes.tolist()):
                raise UserError(
                    f"model {folder} predicts {model.card.target!r}, not the direction "
                    "(up/down) these strategies trade"
                )
            self._loaded[pin] = model
            self._gates[pin] = model.gate()
        return self._loaded[pin]

    def rows(self, pin: str, bars: BarSeries) -> PinnedRows:
        """Feature rows and probabilities at every bar (see :meth:`probabilities`)."""
        model = self.get(pin)
        ts = np.asarray(bars.ts, dtype=np.int64)
        close = np.asarray(bars.close, dtype=np.float64)
        known = self._rows.get((pin, bars.symbol))
        if known is not None and _same_bars(known, ts, close):
            return known  # asked again at the same close (the session's feedback loop)
        done = 0
        if (
            known is not None
            and known.ts.shape[0] <= ts.shape[0]
            and np.array_equal(known.ts, ts[: known.ts.shape[0]])
            and np.array_equal(known.close, close[: known.ts.shape[0]])
        ):
            done = known.ts.shape[0]
        if known is not None and done > 0:
            # The new bars' rows from a bounded window of history: the features are causal, so
            # the rows before are the ones computed at their own closes.
            added = model.latest_rows(FeatureInputs(bars), ts.shape[0] - done)
            matrix = np.vstack([known.matrix[:done], added])
        else:
            matrix = model.feature_matrix(FeatureInputs(bars))
        fresh = np.arange(done, ts.shape[0], dtype=np.int64)
        new = model.probabilities(matrix, fresh)
        finite = np.isfinite(new).all(axis=1)
        for calibrator in self._recalibrated.get(pin, ()):
            new[finite] = calibrator.transform(new[finite])
        new[ts[fresh] <= model.card.data_end_ts] = np.nan
        near = model.familiar(matrix, fresh, self._gates[pin])
        if known is None or done == 0:
            proba, familiar = new, near
        else:
            proba = np.vstack([known.proba[:done], new])
            familiar = np.concatenate([known.familiar[:done], near])
        rows = PinnedRows(ts, close, matrix, proba, familiar)
        self._rows[(pin, bars.symbol)] = rows
        return rows

    def probabilities(self, pin: str, bars: BarSeries) -> tuple[FloatArray, IntArray]:
        """Class probabilities per bar and their classes, NaN up to the end of the model's
        training data (a prediction there would be in sample, which a backtest must not trade)."""
        return self.rows(pin, bars).proba.copy(), self.get(pin).classes

    def familiar(self, pin: str, bars: BarSeries) -> npt.NDArray[np.bool_]:
        """Per bar, whether its features lie within the model's dissimilarity gate (all bars for
        a model saved without reference rows)."""
        return self.rows(pin, bars).familiar.copy()

    def recalibrate(self, pin: str, calibrator: Calibrator) -> None:
        """Pass the probabilities of every later bar through ``calibrator`` too, after any
        earlier one (each is fitted on the recorded, resolved predictions made since the one
        before it: out of sample by construction)."""
        self._recalibrated.setdefault(pin, []).append(calibrator)


class WalkForwardStrategy(Strategy):
    """Base of the ML strategies: the walk-forward training parameters and their predictors."""

    features = Param(DEFAULT_FEATURES, doc="walk-forward: comma-separated feature names")
    horizon = Param(12, low=2, high=500, doc="walk-forward: triple-barrier horizon, bars")
    barrier = Param(1.0, low=0.25, high=5.0, doc="walk-forward: barrier, horizon volatilities")
    train_bars = Param(700, low=300, high=500_000, doc="walk-forward: bars per training window")
    retrain_every = Param(200, low=20, high=500_000, doc="walk-forward: bars between retrains")
    trees = Param(60, low=10, high=2000, doc="walk-forward: trees (forest) or boosting rounds")
    calibration = Param("platt", choices=("platt", "isotonic"),
                        doc="walk-forward: calibration (Platt is smooth on the few hundred "
                        "samples a window holds; isotonic steps)")  # fmt: skip
    short = Param(False, doc="also trade P(down) short", shorts_only=True)

    def __init__(self, **params: Any) -> None:
        self.pinned = PinnedModels()
        self._walk: dict[str, WalkForwardPredictor] = {}
        super().__init__(**params)

    def pins(self) -> list[str]:
        """The registered models this instance trades, by pin (none: walk-forward learners)."""
        return []

    def replace_pin(self, old: str, new: str) -> None:
        """Trade registered model ``new`` where ``old`` was (a rollback in a running session)."""
        raise UserError(f"{self.name} trades no registered model {old!r}")

    def walk_forward_settings(self, learner: str) -> WalkForwardSettings:
        """The walk-forward training of ``learner`` these parameters describe."""
        study = StudySettings(
            boosting=BoostingSettings(num_boost_round=int(self.trees), min_data_in_leaf=40),
            forest=ForestSettings(n_estimators=int(self.trees), min_samples_leaf=20),
            calibration=str(self.calibration),
        )
        return WalkForwardSettings(
            model=learner, features=tuple(split_list(str(self.features))),
            horizon=int(self.horizon), barrier=float(self.barrier),
            train_bars=int(self.train_bars), retrain_every=int(self.retrain_every), study=study,
        )  # fmt: skip

    def predictor(self, learner: str) -> WalkForwardPredictor:
        """The walk-forward predictor of ``learner`` (rebuilt when parameters change; its model
        cache lives with it)."""
        settings = self.walk_forward_settings(learner)
        found = self._walk.get(learner)
        if found is None or found.settings != settings:
            found = self._walk[learner] = self.make_predictor(settings)
        return found

    def make_predictor(self, settings: WalkForwardSettings) -> WalkForwardPredictor:
        """A new predictor (a test subclass swaps in a leaky one to show the check catches it)."""
        return WalkForwardPredictor(settings)

    def walk_forward_proba(self, learner: str, bars: BarSeries) -> tuple[FloatArray, IntArray]:
        """Walk-forward class probabilities per bar and their classes."""
        return self.predictor(learner).probabilities(bars), CLASSES

    def member_signal(
        self, member: str, bars: BarSeries, *, pinned: bool
    ) -> tuple[FloatArray, IntArray, npt.NDArray[np.bool_]]:
        """A registered model's (by pin) or a walk-forward learner's class probabilities per bar,
        their classes, and where its dissimilarity gate allows entries."""
        if pinned:
            proba, classes = self.pinned.probabilities(member, bars)
            return proba, classes, self.pinned.familiar(member, bars)
        proba, familiar = self.predictor(member).predict(bars)
        return proba, CLASSES, familiar

    def walk_forward_warmup(self) -> int:
        """Settling, a training window, and up to one window more before the first boundary."""
        return SETTLE_BARS + int(self.train_bars) + int(self.retrain_every)


def side_probabilities(proba: FloatArray, classes: IntArray) -> tuple[FloatArray, FloatArray]:
    """P(up) and P(down) columns of a probability matrix (copies)."""
    listed = classes.tolist()
    return proba[:, listed.index(UP)].copy(), proba[:, listed.index(DOWN)].copy()
