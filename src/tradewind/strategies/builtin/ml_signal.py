"""Trade a model's calibrated direction probability, its confidence sizing the position.

Two sources of the model, one rule:

- ``model`` empty (the default): walk-forward retraining inside the run
  (:mod:`tradewind.ml.walk_forward`): every ``retrain_every`` bars a model is trained on the
  ``train_bars`` bars before, on labels whose horizon ends before the window starts, and predicts
  the window.
- ``model`` a pin (``PATH#SHA256``, printed by ``tradewind ml pin NAME``): a registered model,
  its files checked against the SHA-256 before use; bars up to the end of its training data get
  no signal (a prediction there is in sample).

Long when the calibrated P(up) reaches ``entry`` and beats P(down); flat when it falls below
``exit_below``; with ``short``, the mirror for P(down). No entry where the dissimilarity gate
finds the bar's features farther from the model's training rows than the gate's threshold
(:class:`~tradewind.ml.gate.DissimilarityGate`, its default settings: the 99th percentile of the
training rows' nearest-neighbour distances times 1.5, in the model's standardised feature
space). The probability of the side goes with each entry as its confidence, for the risk engine's
confidence sizing. The same ``signals`` run in a
backtest and, over the bars seen so far, in a paper or live session; both are causal and
deterministic (fixed seeds, one thread).
"""

from __future__ import annotations

import numpy as np

from tradewind.ml.artifact import parse_pin
from tradewind.series.bars import BarSeries, FloatArray
from tradewind.strategies.base import Signals, require
from tradewind.strategies.builtin._direction import (
    PINNED_WARMUP,
    WalkForwardStrategy,
    direction_signals,
    side_probabilities,
)
from tradewind.strategies.params import Param
from tradewind.strategies.registry import register


@register
class MlSignal(WalkForwardStrategy):
    """A calibrated direction model's signal, retrained walk-forward or loaded by pin."""

    name = "ml_signal"
    description = "ML direction model (walk-forward retrained or registered), confidence-sized"
    model = Param("", doc="registered model pin PATH#SHA256; empty: walk-forward retraining")
    learner = Param("lightgbm", choices=("lightgbm", "random_forest"),
                    doc="walk-forward: the model trained in each window")  # fmt: skip
    entry = Param(0.55, low=0.34, high=0.99, doc="calibrated probability needed to enter")
    exit_below = Param(0.45, low=0.0, high=0.99, doc="exit when the side's probability is below")

    def validate(self) -> None:
        """Exit below entry; a pin must be one; the walk-forward settings must fit together."""
        require(self.exit_below < self.entry,
                f"exit_below ({self.exit_below}) must be below entry ({self.entry})")  # fmt: skip
        if self.model:
            parse_pin(str(self.model))
        else:
            self.walk_forward_settings(str(self.learner))

    @property
    def warmup(self) -> int:
        """A registered model's features' warm-up; walk-forward: settling, a training window and
        up to one window more before the first retraining boundary."""
        return PINNED_WARMUP if self.model else self.walk_forward_warmup()

    def indicators(self, bars: BarSeries) -> dict[str, FloatArray]:
        """The calibrated P(up) and P(down) per bar (NaN where no model may speak), and
        ``familiar``: 1 where the dissimilarity gate lets the model's signal enter, else 0."""
        pinned = bool(self.model)
        member = str(self.model) if pinned else str(self.learner)
        proba, classes, familiar = self.member_signal(member, bars, pinned=pinned)
        p_up, p_down = side_probabilities(proba, classes)
        return {"p_up": p_up, "p_down": p_down, "familiar": familiar.astype(np.float64)}

    def pins(self) -> list[str]:
        """The pinned model, if any."""
        return [str(self.model)] if self.model else []

    def replace_pin(self, old: str, new: str) -> None:
        """Trade ``new`` instead of the pinned ``old``."""
        if str(self.model) != old:
            super().replace_pin(old, new)
        self.update_params(model=new)

    def signals(self, bars: BarSeries) -> Signals:
        """Entries where a side's probability reaches ``entry``, exits below ``exit_below``."""
        p = self.indicators(bars)
        return direction_signals(p["p_up"], p["p_down"], entry=float(self.entry),
                                 exit_below=float(self.exit_below), short=bool(self.short),
                                 familiar=p["familiar"] > 0)  # fmt: skip
